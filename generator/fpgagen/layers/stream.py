"""Stream plumbing layers: FIFO and data-width converter."""

from __future__ import annotations

from ..datatypes import DataType
from ..errors import FoldingError
from .base import HWLayer

__all__ = ["DWC", "FIFO"]


class FIFO(HWLayer):
    """A first-in first-out buffer of ``depth`` words between two layers."""

    op_type = "FIFO"
    rtl_module = "axis_fifo"

    def __init__(
        self, name, dtype: DataType, channels: int, elems: int, depth: int, num_vectors: int = 1
    ):
        super().__init__(name)
        if depth < 2:
            raise FoldingError(f"FIFO {name}: depth must be >= 2, got {depth}")
        self.in_dtype = self.out_dtype = dtype
        self.channels = channels
        self.elems = elems
        self.depth = int(depth)
        self.num_vectors = num_vectors

    in_channels = property(lambda self: self.channels)
    out_channels = property(lambda self: self.channels)
    in_elems = property(lambda self: self.elems)
    out_elems = property(lambda self: self.elems)

    def execute(self, x):
        return x

    def expected_cycles(self):
        return self.in_words_per_frame

    def rtl_params(self, mem_dir):
        return {"WIDTH": self.in_width, "DEPTH": self.depth}

    def to_dict(self):
        d = super().to_dict()
        d["depth"] = self.depth
        return d


class DWC(HWLayer):
    """Data-width converter: regroups ``in_elems`` into ``out_elems`` elements per word."""

    op_type = "DWC"
    rtl_module = "axis_dwc"

    def __init__(
        self,
        name,
        dtype: DataType,
        channels: int,
        in_elems: int,
        out_elems: int,
        num_vectors: int = 1,
    ):
        super().__init__(name)
        self.in_dtype = self.out_dtype = dtype
        self.channels = channels
        self._in, self._out = int(in_elems), int(out_elems)
        self.num_vectors = num_vectors

    in_channels = property(lambda self: self.channels)
    out_channels = property(lambda self: self.channels)
    in_elems = property(lambda self: self._in)
    out_elems = property(lambda self: self._out)

    def execute(self, x):
        return x

    def expected_cycles(self):
        return max(self.in_words_per_frame, self.out_words_per_frame)

    def rtl_params(self, mem_dir):
        return {"IN_WIDTH": self.in_width, "OUT_WIDTH": self.out_width}
