"""Branching: duplicate a stream into two, add two streams elementwise (residual blocks)."""

from __future__ import annotations

import numpy as np

from ..datatypes import DataType, int_type, uint_type
from .base import HWLayer

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

    def rtl_params(self, mem_dir):
        return {"WIDTH": self.in_width}


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

    def rtl_params(self, mem_dir):
        return {
            "PE": self.pe,
            "IN_BITS": self.in_dtype.bits,
            "IN_SIGNED": int(self.in_dtype.signed),
            "OUT_BITS": self.out_dtype.bits,
        }
