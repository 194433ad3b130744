"""Convolution plumbing: sliding-window generator (im2col on a stream) and padding."""

from __future__ import annotations

import numpy as np

from .. import packing
from ..datatypes import DataType
from ..errors import FoldingError, FpgagenError
from .base import HWLayer, check_divides, divisors

__all__ = ["FMPadding", "SlidingWindow"]


class SlidingWindow(HWLayer):
    """im2col on an NHWC stream: for each output pixel, the K_H x K_W window, channels inner.

    Output vector of output pixel (oy, ox): elements ordered (ky, kx, c). Dilation 1, no
    padding (see :class:`FMPadding`).

    Folding: ``SIMD`` channels per input word (divides the channels) and ``PAR`` window words
    per output word (window-parallel mode: an output word carries ``PAR * SIMD`` elements, a
    window leaves in ``K_H * K_W * CF / PAR`` cycles, ``CF = channels / SIMD``). ``PAR``
    divides the words of a kernel row, ``K_W * CF``, or is ``K_W * CF`` times a divisor of
    ``K_H`` (whole kernel rows); the buffer memory is replicated ``PAR`` times.
    """

    op_type = "SlidingWindow"
    rtl_module = "sliding_window"
    feeds_next = True
    cpu_op = "window"

    def __init__(
        self, name, dtype: DataType, ifm_hw, channels, kernel, stride, simd=1, par: int = 1
    ):
        super().__init__(name)
        self.in_dtype = self.out_dtype = dtype
        self.ifm_h, self.ifm_w = map(int, ifm_hw)
        self.ch = int(channels)
        self.k_h, self.k_w = map(int, kernel)
        self.s_h, self.s_w = map(int, stride)
        if self.k_h > self.ifm_h or self.k_w > self.ifm_w:
            raise ValueError(f"{name}: kernel {kernel} larger than the input {ifm_hw}")
        self.simd, self.par = 1, 1
        self.set_folding(SIMD=simd, PAR=par)

    # -- folding: SIMD (input word) and PAR (window words per output word) ----------------
    def folding(self) -> dict:
        return {"SIMD": self.simd, "PAR": self.par}

    def par_options(self, simd: int | None = None) -> list:
        """Allowed ``PAR`` for ``simd`` (default: the current SIMD): the divisors of the
        kernel row's words ``K_W * CF`` and ``K_W * CF`` times each divisor of ``K_H``."""
        krow = self.k_w * (self.ch // (self.simd if simd is None else simd))
        return sorted(set(divisors(krow)) | {krow * m for m in divisors(self.k_h)})

    def folding_options(self) -> dict:
        simds = divisors(self.ch)
        return {"SIMD": simds, "PAR": sorted({p for s in simds for p in self.par_options(s)})}

    def folding_valid(self, SIMD=None, PAR=None) -> bool:
        """Whether the combination can be built (``PAR`` depends on ``SIMD``)."""
        simd = self.simd if SIMD is None else SIMD
        par = self.par if PAR is None else PAR
        return self.ch % simd == 0 and par in self.par_options(simd)

    def set_folding(self, SIMD=None, PAR=None, **kw) -> None:
        if kw:
            raise FoldingError(
                f"layer {self.name} ({self.op_type}) has no folding parameters "
                f"{sorted(kw)}; allowed: SIMD, PAR"
            )
        simd = self.simd if SIMD is None else SIMD
        if SIMD is not None:
            check_divides(self, "SIMD", SIMD, self.ch, self.fold_what)
        par = self.par if PAR is None else PAR
        if PAR is None and par not in self.par_options(simd):
            par = 1  # a new SIMD alone keeps PAR only where it is still allowed
        ok = self.par_options(simd)
        if isinstance(par, bool) or not isinstance(par, (int, np.integer)) or par not in ok:
            krow = self.k_w * (self.ch // simd)
            raise FoldingError(
                f"layer {self.name} ({self.op_type}): PAR={par!r} is not a window-parallel "
                f"factor for SIMD={simd} (a kernel row is {krow} words, the kernel "
                f"{self.k_h} rows); allowed: {ok}"
            )
        self.simd, self.par = int(simd), int(par)

    def cpu_spec(self, consts: dict, prefix: str) -> dict:
        return {
            "op": self.cpu_op,
            "name": self.name,
            "ifm_h": self.ifm_h,
            "ifm_w": self.ifm_w,
            "ch": self.ch,
            "kernel": [self.k_h, self.k_w],
            "stride": [self.s_h, self.s_w],
        }

    def window_geometry(self) -> dict:
        return {"kernel": [self.k_h, self.k_w], "stride": [self.s_h, self.s_w]}

    @property
    def ofm_h(self):
        return (self.ifm_h - self.k_h) // self.s_h + 1

    @property
    def ofm_w(self):
        return (self.ifm_w - self.k_w) // self.s_w + 1

    in_channels = property(lambda self: self.ch)
    out_channels = property(lambda self: self.k_h * self.k_w * self.ch)
    in_elems = property(lambda self: self.simd)
    out_elems = property(lambda self: self.simd * self.par)

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

    def hls_buffer_words(self) -> int:
        """Line buffer words of the HLS process: the RTL buffer, at least one window span."""
        cf = self.ch // self.simd
        span = (self.k_h - 1) * self.ifm_w * cf + self.k_w * cf
        return max(int(self.buffer_words()), span)

    def hw_params(self) -> dict:
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
            "PAR": self.par,
            "DEPTH": self.hls_buffer_words(),
        }

    rtl_names = (
        "IFM_H",
        "IFM_W",
        "CH",
        "SIMD",
        "K_H",
        "K_W",
        "STRIDE_H",
        "STRIDE_W",
        "ELEM_BITS",
        "PAR",
    )
    hls_names = (
        "IFM_H",
        "IFM_W",
        "CH",
        "SIMD",
        "K_H",
        "K_W",
        "S_H=STRIDE_H",
        "S_W=STRIDE_W",
        "BITS=ELEM_BITS",
        "PAR",
        "DEPTH",
    )
    hls_lib = "window.h"
    hls_func = "sliding_window"
    moves_values = True

    def check_hw(self) -> None:
        if self.in_dtype != self.out_dtype:
            raise FpgagenError(
                f"layer {self.name} (SlidingWindow): input {self.in_dtype} and output "
                f"{self.out_dtype} differ"
            )

    def hls_extra(self) -> dict:
        copies = f" x {self.par} copies" if self.par > 1 else ""
        return {
            "extra": f"buffer of {self.hls_buffer_words()} words of {self.in_width} bits{copies}"
        }

    def need(self) -> np.ndarray:
        """Output word ``j`` needs the input word of its last window element (and every
        earlier one: the input is read in order)."""
        j = np.arange(self.out_words_per_frame * self.par, dtype=np.int64)
        cf = self.ch // self.simd
        kk = self.k_h * self.k_w
        o, rem = np.divmod(j, kk * cf)
        kpos, cg = np.divmod(rem, cf)
        oy, ox = np.divmod(o, self.ofm_w)
        ky, kx = np.divmod(kpos, self.k_w)
        iy, ix = oy * self.s_h + ky, ox * self.s_w + kx
        words = np.maximum.accumulate(((iy * self.ifm_w + ix) * cf + cg) + 1)
        return words[self.par - 1 :: self.par]

    def limit_reason(self) -> str:
        cf = self.ch // self.simd
        n_in, n_out = self.in_words_per_frame, self.out_words_per_frame
        if n_in >= n_out:
            return (
                f"reads one input word per cycle: {self.ifm_h}x{self.ifm_w} pixels x {cf} "
                f"words = {n_in} (SIMD {self.simd} of {self.ch} channels)"
            )
        return (
            f"writes one output word per cycle: {self.ofm_h}x{self.ofm_w} windows x "
            f"{self.k_h * self.k_w * cf // self.par} words = {n_out} (PAR {self.par})"
        )

    def cost_features(self, cm) -> dict:
        """The buffer memory once per lane (``PAR`` copies), a read-address adder per lane,
        the ``PAR * SIMD``-element read register and output register slice."""
        l = self
        width = l.simd * l.in_dtype.bits
        depth = l.buffer_words()
        m = cm.map_memory(depth, width, False, "auto")
        cf = l.ch // l.simd
        par = l.par
        cnt = (
            cm.counter_bits(cf)
            + cm.counter_bits(l.k_w)
            + cm.counter_bits(l.k_h)
            + cm.counter_bits(l.ofm_w)
            + cm.counter_bits(l.ofm_h)
            + 2 * cm.counter_bits(depth)
            + cm.counter_bits(l.ifm_w)
            + cm.counter_bits(l.ifm_h)
            + 2 * (par - 1) * cm.counter_bits(depth)
        )
        f = {
            "const": 1.0,
            "ctrl": cnt,
            "mem": par * cm.mem_luts(m, depth, width, False),
            "width": par * width,
        }
        ff = {
            "const": 1.0,
            "ctrl": cnt,
            "data": par * (2 * width + (depth * width if m["kind"] == "logic" else 0)),
        }
        mem = {"bram18": par * m["bram18"], "uram": par * m["uram"], "dsp": 0}
        return {"lut": f, "ff": ff, "mem": mem}

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
    feeds_next = True
    cpu_op = "pad"

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

    def cpu_spec(self, consts: dict, prefix: str) -> dict:
        return {
            "op": self.cpu_op,
            "name": self.name,
            "ifm_h": self.ifm_h,
            "ifm_w": self.ifm_w,
            "ch": self.ch,
            "pads": [self.pt, self.pl, self.pb, self.pr],
            "value": int(self.value),
        }

    def window_geometry(self) -> dict:
        return {"pads": [self.pt, self.pl, self.pb, self.pr]}

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

    def hw_params(self) -> dict:
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

    rtl_names = (
        "IFM_H",
        "IFM_W",
        "CH",
        "SIMD",
        "PAD_TOP",
        "PAD_BOTTOM",
        "PAD_LEFT",
        "PAD_RIGHT",
        "ELEM_BITS",
        "PAD_VALUE",
    )
    hls_names = (
        "IFM_H",
        "IFM_W",
        "CH",
        "SIMD",
        "PAD_T=PAD_TOP",
        "PAD_B=PAD_BOTTOM",
        "PAD_L=PAD_LEFT",
        "PAD_R=PAD_RIGHT",
        "BITS=ELEM_BITS",
        "PAD=PAD_VALUE",
    )
    hls_lib = "window.h"
    hls_func = "fm_padding"
    moves_values = True

    def need(self) -> np.ndarray:
        """A border word needs nothing new; an inside word needs its input word."""
        j = np.arange(self.out_words_per_frame, dtype=np.int64)
        cf = self.ch // self.simd
        p, cg = np.divmod(j, cf)
        py, px = np.divmod(p, self.ofm_w)
        iy, ix = py - self.pt, px - self.pl
        inside = (iy >= 0) & (iy < self.ifm_h) & (ix >= 0) & (ix < self.ifm_w)
        idx = np.where(
            inside, (np.clip(iy, 0, None) * self.ifm_w + np.clip(ix, 0, None)) * cf + cg + 1, 0
        )
        return np.maximum.accumulate(idx)

    def cost_features(self, cm) -> dict:
        l = self
        width = l.simd * l.in_dtype.bits
        cnt = cm.counter_bits(l.ch // l.simd) + cm.counter_bits(l.ofm_w) + cm.counter_bits(l.ofm_h)
        f = {"const": 1.0, "ctrl": cnt, "width": width}
        ff = {"const": 1.0, "ctrl": cnt, "width": width}
        return {"lut": f, "ff": ff, "mem": {"bram18": 0, "uram": 0, "dsp": 0}}

    def to_dict(self):
        d = super().to_dict()
        d["in_shape"] = [self.ifm_h, self.ifm_w, self.ch]
        d["out_shape"] = [self.ofm_h, self.ofm_w, self.ch]
        d["pads"] = [self.pt, self.pl, self.pb, self.pr]
        return d
