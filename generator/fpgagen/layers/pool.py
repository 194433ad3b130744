"""Pooling: window max/sum after a sliding window, global sum, and label select."""

from __future__ import annotations

import numpy as np

from ..datatypes import DataType, int_type, uint_type
from .base import HWLayer

__all__ = ["GlobalAccPool", "LabelSelect", "Pool"]


def _bits_unsigned_field(dtype: DataType) -> tuple[int, int]:
    """(IN_BITS, IN_SIGNED) as the pooling RTL sees a stream element."""
    if dtype.is_bipolar:
        return 1, 0
    return dtype.bits, int(dtype.signed)


class Pool(HWLayer):
    """Per-channel max or sum over the ``k`` window elements a SlidingWindow emits per pixel."""

    op_type = "Pool"
    rtl_module = "pool"
    fold_param = "PE"

    def __init__(
        self,
        name,
        dtype: DataType,
        channels,
        k,
        mode: str,
        num_vectors,
        pe=1,
        out_dtype: DataType | None = None,
    ):
        super().__init__(name)
        if mode not in ("max", "sum"):
            raise ValueError(f"{name}: mode must be max or sum")
        self.in_dtype = dtype
        self.mode = mode
        self.ch, self.k = int(channels), int(k)
        self.num_vectors = int(num_vectors)
        if mode == "max":
            self.out_dtype = dtype
        elif out_dtype is not None:
            self.out_dtype = out_dtype
        else:
            lo, hi = (0, 1) if dtype.is_bipolar else (dtype.min, dtype.max)
            self.out_dtype = (int_type if lo < 0 else uint_type)(
                max(1, (max(abs(lo), hi) * self.k).bit_length()) + (1 if lo < 0 else 0)
            )
        self.pe = 1
        self.set_folding(PE=pe)

    in_channels = property(lambda self: self.k * self.ch)
    out_channels = property(lambda self: self.ch)
    in_elems = property(lambda self: self.pe)
    out_elems = property(lambda self: self.pe)

    def execute(self, x):
        n = x.shape[0]
        w = np.asarray(x).reshape(n, self.num_vectors, self.k, self.ch)
        if self.mode == "max":
            return w.max(axis=2)
        if self.in_dtype.is_bipolar:  # the RTL sums the bits (count of +1)
            return ((w + 1) // 2).sum(axis=2)
        return w.sum(axis=2)

    def expected_cycles(self):
        return self.in_words_per_frame

    def rtl_params(self, mem_dir):
        ib, sg = _bits_unsigned_field(self.in_dtype)
        return {
            "CH": self.ch,
            "PE": self.pe,
            "K": self.k,
            "IN_BITS": ib,
            "IN_SIGNED": sg,
            "OUT_BITS": self.out_dtype.bits,
            "MODE": 0 if self.mode == "max" else 1,
        }

    def to_dict(self):
        d = super().to_dict()
        d.update({"mode": self.mode, "window": self.k})
        return d


class GlobalAccPool(HWLayer):
    """Per-channel sum over all pixels of a frame (global average pooling before scaling)."""

    op_type = "GlobalAccPool"
    rtl_module = "global_acc_pool"
    fold_param = "PE"

    def __init__(self, name, dtype: DataType, channels, n_pix, pe=1):
        super().__init__(name)
        self.in_dtype = dtype
        self.ch, self.n_pix = int(channels), int(n_pix)
        lo, hi = (0, 1) if dtype.is_bipolar else (dtype.min, dtype.max)
        self.out_dtype = (int_type if lo < 0 else uint_type)(
            max(1, (max(abs(lo), hi) * self.n_pix).bit_length()) + (1 if lo < 0 else 0)
        )
        self.num_vectors = 1
        self.pe = 1
        self.set_folding(PE=pe)

    in_channels = property(lambda self: self.ch)
    out_channels = property(lambda self: self.ch)
    in_elems = property(lambda self: self.pe)
    out_elems = property(lambda self: self.pe)

    def in_vectors(self):
        return self.n_pix

    def execute(self, x):
        n = x.shape[0]
        w = np.asarray(x).reshape(n, self.n_pix, self.ch)
        if self.in_dtype.is_bipolar:
            w = (w + 1) // 2
        return w.sum(axis=1).reshape(n, 1, self.ch)

    def expected_cycles(self):
        return self.in_words_per_frame

    def rtl_params(self, mem_dir):
        ib, sg = _bits_unsigned_field(self.in_dtype)
        return {
            "N_PIX": self.n_pix,
            "CH": self.ch,
            "PE": self.pe,
            "IN_BITS": ib,
            "IN_SIGNED": sg,
            "OUT_BITS": self.out_dtype.bits,
        }


class LabelSelect(HWLayer):
    """Indices of the ``k`` largest scores (descending, ties to the lower index)."""

    op_type = "LabelSelect"
    rtl_module = "label_select"
    fold_param = "PE"
    fold_what = "classes"

    def __init__(self, name, dtype: DataType, channels, k, pe=1):
        super().__init__(name)
        self.in_dtype = dtype
        self.ch, self.k = int(channels), int(k)
        self.out_dtype = uint_type(max(1, (self.ch - 1).bit_length()))
        self.num_vectors = 1
        self.pe = 1
        self.set_folding(PE=pe)

    in_channels = property(lambda self: self.ch)
    out_channels = property(lambda self: self.k)
    in_elems = property(lambda self: self.pe)
    out_elems = property(lambda self: 1)

    def execute(self, x):
        n = x.shape[0]
        s = np.asarray(x, dtype=np.int64).reshape(n, self.ch)  # -s: no unsigned wrap-around
        order = np.argsort(-s, axis=1, kind="stable")[:, : self.k]
        return order.reshape(n, 1, self.k)

    def expected_cycles(self):
        return max(self.ch // self.pe, self.k + 1)

    def rtl_params(self, mem_dir):
        ib, sg = _bits_unsigned_field(self.in_dtype)
        return {
            "CH": self.ch,
            "PE": self.pe,
            "IN_BITS": ib,
            "IN_SIGNED": sg,
            "K": self.k,
            "IDX_BITS": self.out_dtype.bits,
        }
