"""Pooling: window max/sum after a sliding window, global sum, and label select."""

from __future__ import annotations

import numpy as np

from ..datatypes import DataType, int_type, uint_type
from ..errors import FpgagenError
from .base import HWLayer
from .hw import dtype_fields

__all__ = ["GlobalAccPool", "LabelSelect", "Pool"]


def _check_widening(l) -> None:
    ib = 1 if l.in_dtype.is_bipolar else l.in_dtype.bits
    if l.out_dtype.bits < ib:
        raise FpgagenError(
            f"layer {l.name} ({l.op_type}): output {l.out_dtype} is narrower than input "
            f"{l.in_dtype}"
        )


def _pool_cost(l, cm, k, mode: str = "sum") -> dict:
    """Cost features of rtl/pool.v and rtl/global_acc_pool.v (same structure; the global pool
    sums). LUT: ``ctrl`` (channel-group and window counters), ``sel`` (per output bit: the
    partial result's bypass mux, the first-element mux and the skid buffer's mux), ``carry``
    (per output bit of the adder or comparator when it has at least
    :data:`~fpgagen.cost.model.CARRY_MIN_BITS` bits: Yosys maps narrower ones to plain logic,
    wider ones to a carry chain with a LUT per bit), ``cmp`` (max: the select after the
    comparison, per output bit), ``mem`` (the partial-result LUTRAM) and ``sext`` (a sum of
    signed elements, per output bit: the adder takes the sign-extended element where an
    unsigned one is zero-extended; Yosys on a global pool of 4 PEs over 16, 256 and 4096
    pixels: INT4 182, 258 and 331 LUTs, UINT4 132, 190 and 256, one output bit fewer)."""
    pe = l.pe
    ib = 1 if l.in_dtype.is_bipolar else l.in_dtype.bits
    ob = l.out_dtype.bits
    cf = l.ch // pe
    owd = pe * ob
    m = cm.map_memory(cf, owd, False, "distributed")
    signed = l.in_dtype.signed and not l.in_dtype.is_bipolar
    f = {
        "const": 1.0,
        "ctrl": cm.counter_bits(cf) + cm.counter_bits(k),
        "sel": owd,
        "carry": owd if ob >= cm.CARRY_MIN_BITS else 0,
        "cmp": owd if mode == "max" else 0,
        "mem": cm.mem_luts(m, cf, owd, False),
        "sext": owd if signed and mode == "sum" else 0,
    }
    ff = {
        "const": 1.0,
        "ctrl": 2 * cm.counter_bits(cf) + cm.counter_bits(k),
        "data": pe * ib + 4 * owd,
    }
    return {"lut": f, "ff": ff, "mem": {"bram18": 0, "uram": 0, "dsp": 0}}


class Pool(HWLayer):
    """Per-channel max or sum over the ``k`` window elements a SlidingWindow emits per pixel."""

    op_type = "Pool"
    rtl_module = "pool"
    fold_param = "PE"
    cpu_op = "pool"

    def cpu_spec(self, consts: dict, prefix: str) -> dict:
        return {
            "op": self.cpu_op,
            "name": self.name,
            "mode": self.mode,
            "k": int(self.k),
            "ch": int(self.ch),
            "bipolar_in": self.in_dtype.is_bipolar,
        }

    def darknet_section(self, feeders: list, hwc: tuple) -> tuple[str, list, tuple]:
        """``[maxpool]``/``[avgpool]`` with the window of its feeding sliding window."""
        geo = {}
        for f in feeders:
            geo.update(f.window_geometry())
        if "kernel" not in geo:
            return super().darknet_section(feeders, hwc)
        (kh, kw), (sh, sw) = geo["kernel"], geo["stride"]
        pt, pl, pb, pr = geo.get("pads", [0, 0, 0, 0])
        h, w, c = hwc
        h, w = h + pt + pb, w + pl + pr
        name = "maxpool" if self.mode == "max" else "avgpool"
        return name, [("size", kh), ("stride", sh)], ((h - kh) // sh + 1, (w - kw) // sw + 1, c)

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

    def hw_params(self) -> dict:
        return {
            "CH": self.ch,
            "PE": self.pe,
            "K": self.k,
            "NV": self.num_vectors,
            **dtype_fields("IN", self.in_dtype),
            "OUT_BITS": self.out_dtype.bits,
            "MODE": 0 if self.mode == "max" else 1,
        }

    rtl_names = ("CH", "PE", "K", "IN_BITS", "IN_SIGNED", "OUT_BITS", "MODE")
    hls_names = ("CH", "PE", "K", "NV", "IN_BITS", "IN_SIGNED", "OUT_BITS", "MODE")
    hls_lib = "pool.h"
    hls_func = "pool"

    def check_hw(self) -> None:
        _check_widening(self)

    def need(self) -> np.ndarray:
        """Output word ``j`` needs the whole window of its pixel (K x CF words)."""
        cf = self.ch // self.pe
        j = np.arange(self.out_words_per_frame, dtype=np.int64)
        return (j // cf + 1) * self.k * cf

    def cost_features(self, cm) -> dict:
        return _pool_cost(self, cm, self.k, self.mode)

    def to_dict(self):
        d = super().to_dict()
        d.update({"mode": self.mode, "window": self.k})
        return d


class GlobalAccPool(HWLayer):
    """Per-channel sum over all pixels of a frame (global average pooling before scaling)."""

    op_type = "GlobalAccPool"
    rtl_module = "global_acc_pool"
    fold_param = "PE"

    def darknet_section(self, feeders: list, hwc: tuple) -> tuple[str, list, tuple]:
        return "avgpool", [], (1, 1, hwc[2])

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

    def hw_params(self) -> dict:
        return {
            "N_PIX": self.n_pix,
            "CH": self.ch,
            "PE": self.pe,
            **dtype_fields("IN", self.in_dtype),
            "OUT_BITS": self.out_dtype.bits,
        }

    rtl_names = hls_names = ("N_PIX", "CH", "PE", "IN_BITS", "IN_SIGNED", "OUT_BITS")
    hls_lib = "pool.h"
    hls_func = "global_acc_pool"

    def check_hw(self) -> None:
        _check_widening(self)

    def need(self) -> np.ndarray:
        return self._need_all()

    def cost_features(self, cm) -> dict:
        return _pool_cost(self, cm, self.n_pix)


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

    def hw_params(self) -> dict:
        return {
            "CH": self.ch,
            "PE": self.pe,
            "K": self.k,
            **dtype_fields("IN", self.in_dtype),
            "IDX_BITS": self.out_dtype.bits,
        }

    rtl_names = ("CH", "PE", "IN_BITS", "IN_SIGNED", "K", "IDX_BITS")
    hls_names = ("CH", "PE", "K", "IN_BITS", "IN_KIND", "IDX_BITS")
    hls_lib = "pool.h"
    hls_func = "label_select"

    def check_hw(self) -> None:
        if not 1 <= self.k <= self.ch or (1 << self.out_dtype.bits) < self.ch:
            raise FpgagenError(
                f"layer {self.name} (LabelSelect): K={self.k} must be in 1..{self.ch} and "
                f"{self.out_dtype} must hold every index below {self.ch}"
            )

    def need(self) -> np.ndarray:
        return self._need_all()

    def cost_features(self, cm) -> dict:
        """rtl/label_select.v: ``PE`` insertion steps into a list of ``K`` entries, each step
        ``K`` comparators of the score bits (``cmp``) and ``K`` entry muxes of the score and
        index bits (``mux``); the last step's entry 0 is a clock enable of its register (no
        mux); ``out``: the output shift register of ``K`` indices; ``ctrl``: the word counter,
        and the word's first index when ``PE`` is not a power of two (otherwise the counter
        shifted). With one word per frame (``PE = CH``) the list starts empty in every frame:
        step ``p`` compares with ``min(p, K)`` entries, the indices are constants (no index
        muxes) and the last step's scores are not kept."""
        l = self
        ib = l.in_dtype.bits
        idx = l.out_dtype.bits
        cf = l.ch // l.pe
        pe, k = l.pe, l.k
        if cf == 1:
            cmp = sum(min(p, k) for p in range(pe)) * ib
            mux = sum(min(p + 1, k) for p in range(1, pe - 1)) * ib
        else:
            cmp = pe * k * ib
            mux = ((pe - 1) * k + k - 1) * (ib + idx)
        base = 0 if pe & (pe - 1) == 0 else idx
        f = {
            "const": 1.0,
            "cmp": cmp,
            "mux": mux,
            "out": k * idx,
            "ctrl": cm.counter_bits(cf) + base,
        }
        # registers: the list (score, index, valid; none with one word per frame, whose list
        # is constant), the output indices and their count, the word counter (and index)
        ff = {
            "const": 1.0,
            "data": l.k * (ib + idx + 1) if cf > 1 else 0,
            "out": k * idx + cm.clog2(k + 1),
            "ctrl": cm.counter_bits(cf) + base,
        }
        return {"lut": f, "ff": ff, "mem": {"bram18": 0, "uram": 0, "dsp": 0}}
