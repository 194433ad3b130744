"""Stream plumbing layers: FIFO and data-width converter."""

from __future__ import annotations

import numpy as np

from ..datatypes import DataType
from ..errors import FoldingError, FpgagenError
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

    plumbing = True
    moves_values = True

    @property
    def buffer_depth(self) -> int:
        return self.depth

    @buffer_depth.setter
    def buffer_depth(self, depth: int) -> None:
        self.depth = int(depth)

    def hw_params(self) -> dict:
        return {"WIDTH": self.in_width, "DEPTH": self.depth}

    rtl_names = ("WIDTH", "DEPTH")

    def need(self) -> np.ndarray:
        return self._need_streaming()

    def cost_features(self, cm) -> dict:
        l = self
        w, d = l.in_width, l.depth
        m = cm.map_memory(d, w, False, "auto")
        aw, cw = cm.counter_bits(d), cm.clog2(d + 2)
        # a pointer wraps at DEPTH - 1: free at a power of two, else an AND of DEPTH - 1's one
        # bits and a clear of the pointer bits (rtl/axis_fifo.v next_ptr), for both pointers;
        # DEPTH - 1 ends in as many ones as DEPTH ends in zeros, so p + 1 is already zero there
        # when the pointer wraps and only the bits above need the clear (without this a depth
        # of 24, 40, 48 or 56 was priced 4-9 LUTs high)
        wrap = 0 if d & (d - 1) == 0 else 2 * (aw - cm.trailing_zeros(d))
        f = {"const": 1.0, "ctrl": 2 * aw + cw, "mem": cm.mem_luts(m, d, w, False), "wrap": wrap}
        ff = {"const": 1.0, "ctrl": 2 * aw + cw, "data": w + (d * w if m["kind"] == "logic" else 0)}
        return {"lut": f, "ff": ff, "mem": {"bram18": m["bram18"], "uram": m["uram"], "dsp": 0}}

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

    plumbing = True
    moves_values = True

    def hw_params(self) -> dict:
        return {
            "IN_WIDTH": self.in_width,
            "OUT_WIDTH": self.out_width,
            "IN_ELEMS": self.in_elems,
            "OUT_ELEMS": self.out_elems,
            "BITS": self.in_dtype.bits,
            "ELEMS_PER_FRAME": self.num_vectors * self.in_channels,
        }

    rtl_names = ("IN_WIDTH", "OUT_WIDTH")
    hls_names = ("IN_ELEMS", "OUT_ELEMS", "BITS", "ELEMS_PER_FRAME")
    hls_lib = "dwc.h"
    hls_func = "dwc"

    def check_hw(self) -> None:
        if self.in_dtype != self.out_dtype:
            raise FpgagenError(
                f"layer {self.name} (DWC): input {self.in_dtype} and output {self.out_dtype} differ"
            )
        elems = self.num_vectors * self.in_channels
        if elems % self.in_elems or elems % self.out_elems:
            raise FpgagenError(
                f"layer {self.name} (DWC): {elems} elements per frame do not fill words of "
                f"{self.in_elems} and {self.out_elems} elements"
            )

    def max_word_bits(self) -> int:
        return self.in_width + self.out_width  # the regrouping buffer

    def need(self) -> np.ndarray:
        j = np.arange(self.out_words_per_frame, dtype=np.int64)
        return -(-(j + 1) * self.out_elems // self.in_elems)

    def cost_features(self, cm) -> dict:
        return {
            **cm.dwc_features(self.in_width, self.out_width),
            "mem": {"bram18": 0, "uram": 0, "dsp": 0},
        }
