"""Branching: duplicate a stream into two, add two streams elementwise (residual blocks)."""

from __future__ import annotations

import numpy as np

from ..datatypes import DataType, int_type, uint_type
from ..errors import FpgagenError
from .base import HWLayer
from .hw import dtype_fields

__all__ = ["AddStreams", "DuplicateStreams"]


class DuplicateStreams(HWLayer):
    """Every input word goes to both outputs (lockstep, 2 words of slack per output)."""

    op_type = "DuplicateStreams"
    rtl_module = "duplicate_stream"
    out_ports = ("m0_axis", "m1_axis")

    def __init__(self, name, dtype: DataType, channels, elems, num_vectors):
        super().__init__(name)
        self.in_dtype = self.out_dtype = dtype
        self.ch, self.elems, self.num_vectors = int(channels), int(elems), int(num_vectors)

    in_channels = property(lambda self: self.ch)
    out_channels = property(lambda self: self.ch)
    in_elems = property(lambda self: self.elems)
    out_elems = property(lambda self: self.elems)

    def execute(self, x):
        return x

    def execute_streams(self, xs):
        (x,) = xs
        return [x, x.copy()]

    def expected_cycles(self):
        return self.in_words_per_frame

    def hw_params(self) -> dict:
        return {"WIDTH": self.in_width, "WORDS": self.in_words_per_frame}

    rtl_names = ("WIDTH",)
    hls_names = ("WIDTH", "WORDS")
    hls_lib = "branch.h"
    hls_func = "duplicate_streams"
    #: rtl/duplicate_stream.v has 2 skid registers per output, the HLS process none
    hls_out_slack = 2
    moves_values = True

    def check_hw(self) -> None:
        if self.in_width != self.out_width:
            raise FpgagenError(
                f"layer {self.name} (DuplicateStreams): input and output words differ"
            )

    def need(self) -> np.ndarray:
        return self._need_streaming()

    def cost_features(self, cm) -> dict:
        l = self
        w = l.in_width
        return {
            "lut": {"const": 1.0, "width": w},
            "ff": {"const": 1.0, "width": w},
            "mem": {"bram18": 0, "uram": 0, "dsp": 0},
        }


class AddStreams(HWLayer):
    """Elementwise sum of two integer streams of the same shape and type."""

    op_type = "AddStreams"
    rtl_module = "add_streams"
    fold_param = "PE"
    in_ports = ("s0_axis", "s1_axis")

    def __init__(self, name, dtype: DataType, channels, num_vectors, pe=1):
        super().__init__(name)
        if dtype.is_bipolar:
            raise ValueError(f"{name}: adding BIPOLAR streams is not supported")
        self.in_dtype = dtype
        bits = dtype.bits + 1
        self.out_dtype = int_type(bits) if dtype.signed else uint_type(bits)
        self.ch, self.num_vectors = int(channels), int(num_vectors)
        self.pe = 1
        self.set_folding(PE=pe)

    in_channels = property(lambda self: self.ch)
    out_channels = property(lambda self: self.ch)
    in_elems = property(lambda self: self.pe)
    out_elems = property(lambda self: self.pe)

    def execute(self, x):  # pragma: no cover - two inputs, see execute_streams
        raise TypeError("AddStreams has two inputs")

    def execute_streams(self, xs):
        a, b = xs
        return [np.asarray(a, np.int64) + np.asarray(b, np.int64)]

    def expected_cycles(self):
        return self.in_words_per_frame

    def hw_params(self) -> dict:
        return {
            "PE": self.pe,
            "WORDS": self.in_words_per_frame,
            **dtype_fields("IN", self.in_dtype),
            "OUT_BITS": self.out_dtype.bits,
        }

    rtl_names = ("PE", "IN_BITS", "IN_SIGNED", "OUT_BITS")
    hls_names = ("PE", "WORDS", "IN_BITS", "IN_SIGNED", "OUT_BITS")
    hls_lib = "branch.h"
    hls_func = "add_streams"

    def check_hw(self) -> None:
        if self.in_dtype.is_bipolar:
            raise FpgagenError(f"layer {self.name} (AddStreams): BIPOLAR inputs are not supported")
        if self.out_dtype.bits < self.in_dtype.bits or self.in_elems != self.out_elems:
            raise FpgagenError(
                f"layer {self.name} (AddStreams): output {self.out_dtype} x {self.out_elems} "
                f"does not extend input {self.in_dtype} x {self.in_elems}"
            )

    def need(self) -> np.ndarray:
        return self._need_streaming()

    def cost_features(self, cm) -> dict:
        l = self
        w = l.pe * l.out_dtype.bits
        return {
            "lut": {"const": 1.0, "width": w},
            "ff": {"const": 1.0, "width": w},
            "mem": {"bram18": 0, "uram": 0, "dsp": 0},
        }
