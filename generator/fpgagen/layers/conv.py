"""Convolution plumbing: sliding-window generator (im2col on a stream) and padding."""

from __future__ import annotations

import numpy as np

from .. import packing
from ..datatypes import DataType
from .base import HWLayer

__all__ = ["FMPadding", "SlidingWindow"]


class SlidingWindow(HWLayer):
    """im2col on an NHWC stream: for each output pixel, the K_H x K_W window, channels inner.

    Output vector of output pixel (oy, ox): elements ordered (ky, kx, c). Dilation 1, no
    padding (see :class:`FMPadding`).
    """

    op_type = "SlidingWindow"
    rtl_module = "sliding_window"
    fold_param = "SIMD"

    def __init__(self, name, dtype: DataType, ifm_hw, channels, kernel, stride, simd=1):
        super().__init__(name)
        self.in_dtype = self.out_dtype = dtype
        self.ifm_h, self.ifm_w = map(int, ifm_hw)
        self.ch = int(channels)
        self.k_h, self.k_w = map(int, kernel)
        self.s_h, self.s_w = map(int, stride)
        if self.k_h > self.ifm_h or self.k_w > self.ifm_w:
            raise ValueError(f"{name}: kernel {kernel} larger than the input {ifm_hw}")
        self.simd = 1
        self.set_folding(SIMD=simd)

    @property
    def ofm_h(self):
        return (self.ifm_h - self.k_h) // self.s_h + 1

    @property
    def ofm_w(self):
        return (self.ifm_w - self.k_w) // self.s_w + 1

    in_channels = property(lambda self: self.ch)
    out_channels = property(lambda self: self.k_h * self.k_w * self.ch)
    in_elems = property(lambda self: self.simd)
    out_elems = property(lambda self: self.simd)

    @property
    def num_vectors(self):  # output vectors; the input has ifm_h*ifm_w pixels
        return self.ofm_h * self.ofm_w

    def in_vectors(self):
        return self.ifm_h * self.ifm_w

    def execute(self, x):
        n = x.shape[0]
        img = np.asarray(x).reshape(n, self.ifm_h, self.ifm_w, self.ch)
        win = np.lib.stride_tricks.sliding_window_view(img, (self.k_h, self.k_w), axis=(1, 2))
        win = win[
            :,
            : (self.ofm_h - 1) * self.s_h + 1 : self.s_h,
            : (self.ofm_w - 1) * self.s_w + 1 : self.s_w,
        ]  # n, oh, ow, c, kh, kw
        win = win.transpose(0, 1, 2, 4, 5, 3)  # n, oh, ow, kh, kw, c
        return win.reshape(n, self.ofm_h * self.ofm_w, self.out_channels)

    def expected_cycles(self):
        return max(self.in_words_per_frame, self.out_words_per_frame)

    def buffer_words(self):
        cf = self.ch // self.simd
        return (self.k_h + min(self.s_h, self.k_h)) * self.ifm_w * cf

    def rtl_params(self, mem_dir):
        return {
            "IFM_H": self.ifm_h,
            "IFM_W": self.ifm_w,
            "CH": self.ch,
            "SIMD": self.simd,
            "K_H": self.k_h,
            "K_W": self.k_w,
            "STRIDE_H": self.s_h,
            "STRIDE_W": self.s_w,
            "ELEM_BITS": self.in_dtype.bits,
        }

    def to_dict(self):
        d = super().to_dict()
        d["in_shape"] = [self.ifm_h, self.ifm_w, self.ch]
        d["out_shape"] = [self.ofm_h, self.ofm_w, self.out_channels]
        d.update(
            {
                "kernel": [self.k_h, self.k_w],
                "stride": [self.s_h, self.s_w],
                "buffer_words": self.buffer_words(),
            }
        )
        return d


class FMPadding(HWLayer):
    """Adds a constant border around an NHWC feature map."""

    op_type = "FMPadding"
    rtl_module = "fm_padding"
    fold_param = "SIMD"

    def __init__(self, name, dtype: DataType, ifm_hw, channels, pads, value: int, simd=1):
        super().__init__(name)
        self.in_dtype = self.out_dtype = dtype
        self.ifm_h, self.ifm_w = map(int, ifm_hw)
        self.ch = int(channels)
        self.pt, self.pl, self.pb, self.pr = map(int, pads)  # ONNX order: top, left, bottom, right
        self.value = int(value)
        if not dtype.allowed([self.value]):
            raise ValueError(f"{name}: pad value {value} is not a {dtype}")
        self.simd = 1
        self.set_folding(SIMD=simd)

    @property
    def ofm_h(self):
        return self.ifm_h + self.pt + self.pb

    @property
    def ofm_w(self):
        return self.ifm_w + self.pl + self.pr

    in_channels = property(lambda self: self.ch)
    out_channels = property(lambda self: self.ch)
    in_elems = property(lambda self: self.simd)
    out_elems = property(lambda self: self.simd)
    num_vectors = property(lambda self: self.ofm_h * self.ofm_w)

    def in_vectors(self):
        return self.ifm_h * self.ifm_w

    def execute(self, x):
        n = x.shape[0]
        img = np.asarray(x).reshape(n, self.ifm_h, self.ifm_w, self.ch)
        out = np.pad(
            img,
            ((0, 0), (self.pt, self.pb), (self.pl, self.pr), (0, 0)),
            constant_values=self.value,
        )
        return out.reshape(n, self.ofm_h * self.ofm_w, self.ch)

    def expected_cycles(self):
        return self.out_words_per_frame

    def rtl_params(self, mem_dir):
        return {
            "IFM_H": self.ifm_h,
            "IFM_W": self.ifm_w,
            "CH": self.ch,
            "SIMD": self.simd,
            "PAD_TOP": self.pt,
            "PAD_BOTTOM": self.pb,
            "PAD_LEFT": self.pl,
            "PAD_RIGHT": self.pr,
            "ELEM_BITS": self.in_dtype.bits,
            "PAD_VALUE": int(packing.encode([self.value], self.in_dtype)[0]),
        }

    def to_dict(self):
        d = super().to_dict()
        d["in_shape"] = [self.ifm_h, self.ifm_w, self.ch]
        d["out_shape"] = [self.ofm_h, self.ofm_w, self.ch]
        d["pads"] = [self.pt, self.pl, self.pb, self.pr]
        return d
