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
    """``need[j]``: input words consumed before output word ``j`` (one frame) can appear."""
    t = layer.op_type
    n_out = layer.out_words_per_frame
    j = np.arange(n_out, dtype=np.int64)
    if t in ("FIFO", "Thresholding", "DuplicateStreams", "AddStreams"):
        return j + 1
    if t == "DWC":
        return -(-(j + 1) * layer.out_elems // layer.in_elems)
    if t == "MVAU":
        nf, sf = layer.nf, layer.sf
        return (j // nf + 1) * sf
    if t in ("Pool", "VVAU"):
        cf = layer.ch // layer.pe
        return (j // cf + 1) * layer.k * cf
    if t in ("GlobalAccPool", "LabelSelect"):
        return np.full(n_out, layer.in_words_per_frame, dtype=np.int64)
    if t == "SlidingWindow":
        cf = layer.ch // layer.simd
        kk = layer.k_h * layer.k_w
        o, rem = np.divmod(j, kk * cf)
        kpos, cg = np.divmod(rem, cf)
        oy, ox = np.divmod(o, layer.ofm_w)
        ky, kx = np.divmod(kpos, layer.k_w)
        iy, ix = oy * layer.s_h + ky, ox * layer.s_w + kx
        return np.maximum.accumulate(((iy * layer.ifm_w + ix) * cf + cg) + 1)
    if t == "FMPadding":
        cf = layer.ch // layer.simd
        p, cg = np.divmod(j, cf)
        py, px = np.divmod(p, layer.ofm_w)
        iy, ix = py - layer.pt, px - layer.pl
        inside = (iy >= 0) & (iy < layer.ifm_h) & (ix >= 0) & (ix < layer.ifm_w)
        idx = np.where(
            inside, (np.clip(iy, 0, None) * layer.ifm_w + np.clip(ix, 0, None)) * cf + cg + 1, 0
        )
        return np.maximum.accumulate(idx)
    raise ValueError(f"no need function for {t}")


def branch_need(layers: list, n_out: int) -> np.ndarray:
    """Compose the needs of ``layers`` (in stream order) for their last layer's outputs."""
    k = np.arange(n_out, dtype=np.int64)
    for l in reversed(layers):
        nd = need(l)
        k = nd[np.minimum(k, len(nd) - 1)] - 1
    return k + 1


def _branch(df, stream: str) -> tuple[list, object]:
    """Layers from the nearest DuplicateStreams to ``stream`` (exclusive), and that dup."""
    out = []
    p = df.producer(stream)
    while p is not None and p.op_type != "DuplicateStreams":
        out.append(p)
        if len(p.ins) != 1:
            return out, None
        p = df.producer(p.ins[0])
    return list(reversed(out)), p


class SizeSkipFIFOs(Transformation):
    """Deepen the short branch's FIFO of every residual Add so it cannot deadlock."""

    def apply(self, df):
        changed = False
        for add in [l for l in df.layers if l.op_type == "AddStreams"]:
            (b0, d0), (b1, d1) = _branch(df, add.ins[0]), _branch(df, add.ins[1])
            if d0 is None or d0 is not d1:
                continue
            n = add.in_words_per_frame
            n0, n1 = branch_need(b0, n), branch_need(b1, n)
            short, gap = (b1, n0 - n1) if (n0 - n1).max() >= (n1 - n0).max() else (b0, n1 - n0)
            fifos = [l for l in short if l.op_type == "FIFO"]
            if not fifos:
                continue
            depth = 2 * int(gap.max()) + MARGIN
            # the gap is in duplicate-output words; the FIFO right after the duplicate uses them
            f = fifos[0]
            if depth > f.depth:
                f.depth = depth
                f.sized_for = add.name
                changed = True
        return df, changed
