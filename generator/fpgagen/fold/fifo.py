"""Analytic FIFO sizing for the skip branches of residual blocks.

For every layer we know, word by word, how many input words it must have consumed before it
can emit output word ``j`` of a frame (its *need* function). Composing the needs along a
branch gives, for the branch's output word ``j``, the number of words it must draw from the
DuplicateStreams that feeds both branches. The add can only consume word ``j`` of the short
branch together with word ``j`` of the long one, so the short branch must buffer

    lag = max_j ( need_long(j) - need_short(j) )

words to avoid a deadlock. To also keep the long branch's read-ahead (line buffers, FIFOs)
from stalling the duplicate, the FIFO gets ``2 * lag + MARGIN`` words (measured on the
residual test network: 1x lag runs 46% slow, 1.5x-2x reaches the bottleneck's rate). FINN
finds such depths by simulation; here they cost a few numpy operations per layer.
"""

from __future__ import annotations

import numpy as np

from ..transforms.base import Transformation

__all__ = ["MARGIN", "SizeSkipFIFOs", "branch_need", "need"]

#: extra words on top of the analytic depth (duplicate slack, pipeline registers)
MARGIN = 8


def need(layer) -> np.ndarray:
    """``need[j]``: input words consumed before output word ``j`` (one frame) can appear
    (the layer's own :meth:`~fpgagen.layers.base.HWLayer.need`)."""
    return layer.need()


def branch_need(layers: list, n_out: int) -> np.ndarray:
    """Compose the needs of ``layers`` (in stream order) for their last layer's outputs."""
    k = np.arange(n_out, dtype=np.int64)
    for l in reversed(layers):
        nd = need(l)
        k = nd[np.minimum(k, len(nd) - 1)] - 1
    return k + 1


def _branch(df, stream: str) -> tuple[list, object]:
    """Layers from the nearest fork (a layer with several outputs) to ``stream`` (exclusive),
    and that fork."""
    out = []
    p = df.producer(stream)
    while p is not None and len(p.out_ports) < 2:
        out.append(p)
        if len(p.ins) != 1:
            return out, None
        p = df.producer(p.ins[0])
    return list(reversed(out)), p


class SizeSkipFIFOs(Transformation):
    """Deepen the short branch's FIFO of every residual Add so it cannot deadlock."""

    def apply(self, df):
        changed = False
        for add in [l for l in df.layers if len(l.in_ports) == 2]:  # joins (residual adds)
            (b0, d0), (b1, d1) = _branch(df, add.ins[0]), _branch(df, add.ins[1])
            if d0 is None or d0 is not d1:
                continue
            n = add.in_words_per_frame
            n0, n1 = branch_need(b0, n), branch_need(b1, n)
            short, gap = (b1, n0 - n1) if (n0 - n1).max() >= (n1 - n0).max() else (b0, n1 - n0)
            fifos = [l for l in short if l.buffer_depth is not None]
            if not fifos:
                continue
            depth = 2 * int(gap.max()) + MARGIN
            # the gap is in duplicate-output words; the FIFO right after the duplicate uses them
            f = fifos[0]
            if depth > f.buffer_depth:
                f.buffer_depth = depth
                f.sized_for = add.name
                changed = True
        return df, changed
