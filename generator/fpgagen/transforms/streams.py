"""Stream plumbing passes: data-width converters and FIFOs on the edges of the dataflow."""

from __future__ import annotations

from ..layers import DWC, FIFO
from .base import Transformation

__all__ = ["InsertDWCs", "InsertFIFOs"]


def _insert_on_input(df, layer, index: int, new_layer) -> None:
    """Put ``new_layer`` on input ``index`` of ``layer`` (before it in topological order)."""
    s = layer.ins[index]
    new_layer.ins, new_layer.outs = [s], [f"{s}__{new_layer.name}"]
    layer.ins[index] = new_layer.outs[0]
    df.layers.insert(df.layers.index(layer), new_layer)


class InsertDWCs(Transformation):
    """Insert a DWC on every edge whose producer word (PE elements) differs from the
    consumer's (SIMD elements)."""

    def apply(self, df):
        for l in list(df.layers):
            if l.op_type == "DWC":
                continue
            for i, s in enumerate(l.ins):
                p = df.producer(s)
                if p is None or p.op_type == "DWC" or p.out_elems == l.in_elems:
                    continue
                k = sum(1 for x in df.layers if x.op_type == "DWC")
                dwc = DWC(
                    f"dwc_{k}", p.out_dtype, p.out_channels, p.out_elems, l.in_elems, p.num_vectors
                )
                _insert_on_input(df, l, i, dwc)
                return df, True
        return df, False


class InsertFIFOs(Transformation):
    """FIFOs at the accelerator's input and output and on every edge between layers.

    An inner FIFO holds two whole vectors (pixels) of its producer or its consumer, whichever is
    longer, plus ``slack`` words: enough to decouple a producer that emits a vector in a burst
    from a consumer that takes it at its own pace. Measured on the MLP and CNN test networks:
    one vector + 2 words ran up to 12% below the bottleneck's rate, one vector + 16 words up to
    6%, two vectors + 16 words within 3%. Skip branches of
    residual blocks are resized by :class:`fpgagen.fold.fifo.SizeSkipFIFOs`.
    """

    def __init__(self, io_depth: int = 32, inner_depth: int = 2, slack: int = 16):
        self.io_depth, self.inner_depth, self.slack = io_depth, inner_depth, slack

    def apply(self, df):
        if any(l.op_type == "FIFO" for l in df.layers):
            return df, False
        k = 0
        for l in list(df.layers):
            for i, s in enumerate(l.ins):
                p = df.producer(s)
                if p is None:
                    continue
                # two vectors (of producer or consumer, in producer words) plus slack
                vec = max(p.out_channels, l.in_channels) // p.out_elems
                depth = max(self.inner_depth, 2 * vec + self.slack)
                _insert_on_input(
                    df,
                    l,
                    i,
                    FIFO(
                        f"fifo_{k}", p.out_dtype, p.out_channels, p.out_elems, depth, p.num_vectors
                    ),
                )
                k += 1
        first, last = df.layers[0], df.layers[-1]
        fin = FIFO(
            "fifo_in",
            first.in_dtype,
            first.in_channels,
            first.in_elems,
            self.io_depth,
            first.in_vectors(),
        )
        fin.ins, fin.outs = [df.INPUT], ["s_fifo_in"]
        first.ins = ["s_fifo_in"]
        df.layers.insert(0, fin)
        fout = FIFO(
            "fifo_out",
            last.out_dtype,
            last.out_channels,
            last.out_elems,
            self.io_depth,
            last.num_vectors,
        )
        fout.ins, fout.outs = [last.outs[0]], ["s_out"]
        df.layers.append(fout)
        return df, True
