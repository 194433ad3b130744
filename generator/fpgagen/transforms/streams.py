"""Stream plumbing passes: data-width converters and FIFOs between layers."""

from __future__ import annotations

from ..layers import DWC, FIFO
from .base import Transformation

__all__ = ["InsertDWCs", "InsertFIFOs"]


class InsertDWCs(Transformation):
    """Insert a DWC wherever a producer's word (PE elements) differs from the consumer's (SIMD)."""

    def apply(self, df):
        out, changed = [], False
        for i, l in enumerate(df.layers):
            if out and l.op_type != "DWC" and out[-1].op_type != "DWC" and \
                    out[-1].out_elems != l.in_elems:
                p = out[-1]
                out.append(DWC(f"dwc_{i}", p.out_dtype, p.out_channels, p.out_elems, l.in_elems,
                               p.num_vectors))
                changed = True
            out.append(l)
        df.layers = out
        return df, changed


class InsertFIFOs(Transformation):
    """Insert FIFOs at the accelerator's input and output and between compute layers."""

    def __init__(self, io_depth: int = 32, inner_depth: int = 2):
        self.io_depth, self.inner_depth = io_depth, inner_depth

    def apply(self, df):
        if any(l.op_type == "FIFO" for l in df.layers):
            return df, False
        ls = df.layers
        first, last = ls[0], ls[-1]
        out = [FIFO("fifo_in", first.in_dtype, first.in_channels, first.in_elems,
                    self.io_depth, first.num_vectors)]
        for i, l in enumerate(ls):
            out.append(l)
            if i + 1 < len(ls):
                # one whole vector (pixel) of the producer: a consumer MVAU takes its input
                # vector only between two vectors, so the producer must be able to finish one
                depth = max(self.inner_depth, l.out_channels // l.out_elems + 2)
                out.append(FIFO(f"fifo_{i}", l.out_dtype, l.out_channels, l.out_elems,
                                depth, l.num_vectors))
        out.append(FIFO("fifo_out", last.out_dtype, last.out_channels, last.out_elems,
                        self.io_depth, last.num_vectors))
        df.layers = out
        return df, True
