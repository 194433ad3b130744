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

    Multi-pixel folding: ``MMV`` horizontally adjacent output pixels per output word (whole
    windows only: ``PAR`` is the window's words; ``MMV`` divides the output width) and
    ``IPAR`` input words per input word (a power of two dividing the frame's words). The
    stream order never changes; only the words get wider.
    """

    #: largest MMV / IPAR the optimiser considers
    MAX_MMV = 16
    MAX_IPAR = 8

    op_type = "SlidingWindow"
    feeds_next = True
    cpu_op = "window"

    def __init__(
        self,
        name,
        dtype: DataType,
        ifm_hw,
        channels,
        kernel,
        stride,
        simd=1,
        par: int = 1,
        mmv: int = 1,
        ipar: int = 1,
    ):
        super().__init__(name)
        self.in_dtype = self.out_dtype = dtype
        self.ifm_h, self.ifm_w = map(int, ifm_hw)
        self.ch = int(channels)
        self.k_h, self.k_w = map(int, kernel)
        self.s_h, self.s_w = map(int, stride)
        if self.k_h > self.ifm_h or self.k_w > self.ifm_w:
            raise ValueError(f"{name}: kernel {kernel} larger than the input {ifm_hw}")
        self.simd, self.par, self.mmv, self.ipar = 1, 1, 1, 1
        self.set_folding(SIMD=simd, PAR=par, MMV=mmv, IPAR=ipar)

    # -- folding: SIMD (input word), PAR (window words per output word), MMV (output pixels
    # per output word), IPAR (input words per input word) ---------------------------------
    def folding(self) -> dict:
        return {"SIMD": self.simd, "PAR": self.par, "MMV": self.mmv, "IPAR": self.ipar}

    def _window_words(self, simd: int) -> int:
        return self.k_h * self.k_w * (self.ch // simd)

    def mmv_options(self) -> list:
        """Allowed ``MMV`` (with ``PAR`` the whole window): the divisors of the output width."""
        return [d for d in divisors(self.ofm_w) if d <= max(1, self.MAX_MMV)]

    def ipar_options(self, simd: int | None = None) -> list:
        """Allowed ``IPAR`` for ``simd``: powers of two dividing the frame's input words."""
        words = self.ifm_h * self.ifm_w * (self.ch // (self.simd if simd is None else simd))
        return [p for p in (1, 2, 4, 8, 16) if p <= self.MAX_IPAR and words % p == 0]

    def par_options(self, simd: int | None = None) -> list:
        """Allowed ``PAR`` for ``simd`` (default: the current SIMD): the divisors of the
        kernel row's words ``K_W * CF`` and ``K_W * CF`` times each divisor of ``K_H``."""
        krow = self.k_w * (self.ch // (self.simd if simd is None else simd))
        return sorted(set(divisors(krow)) | {krow * m for m in divisors(self.k_h)})

    def folding_options(self) -> dict:
        simds = divisors(self.ch)
        return {
            "SIMD": simds,
            "PAR": sorted({p for s in simds for p in self.par_options(s)}),
            "MMV": self.mmv_options(),
            "IPAR": sorted({p for s in simds for p in self.ipar_options(s)}),
        }

    def folding_valid(self, SIMD=None, PAR=None, MMV=None, IPAR=None) -> bool:
        """Whether the combination can be built (``PAR`` and ``IPAR`` depend on ``SIMD``,
        ``MMV > 1`` needs ``PAR`` to be the whole window)."""
        simd = self.simd if SIMD is None else SIMD
        par = self.par if PAR is None else PAR
        mmv = self.mmv if MMV is None else MMV
        ipar = self.ipar if IPAR is None else IPAR
        return (
            self.ch % simd == 0
            and par in self.par_options(simd)
            and ipar in self.ipar_options(simd)
            and (mmv == 1 or (mmv in self.mmv_options() and par == self._window_words(simd)))
        )

    def set_folding(self, SIMD=None, PAR=None, MMV=None, IPAR=None, **kw) -> None:
        if kw:
            raise FoldingError(
                f"layer {self.name} ({self.op_type}) has no folding parameters "
                f"{sorted(kw)}; allowed: SIMD, PAR, MMV, IPAR"
            )
        simd = self.simd if SIMD is None else SIMD
        if SIMD is not None:
            check_divides(self, "SIMD", SIMD, self.ch, self.fold_what)
        par = self.par if PAR is None else PAR
        mmv = self.mmv if MMV is None else MMV
        ipar = self.ipar if IPAR is None else IPAR
        # a new SIMD (or PAR) alone keeps the others only where they are still allowed
        if PAR is None and par not in self.par_options(simd):
            par = 1
        if IPAR is None and ipar not in self.ipar_options(simd):
            ipar = 1
        if MMV is None and mmv > 1 and par != self._window_words(simd):
            mmv = 1
        where = f"layer {self.name} ({self.op_type})"

        def bad(v) -> bool:
            return isinstance(v, bool) or not isinstance(v, (int, np.integer))

        ok = self.par_options(simd)
        if bad(par) or par not in ok:
            krow = self.k_w * (self.ch // simd)
            raise FoldingError(
                f"{where}: PAR={par!r} is not a window-parallel factor for SIMD={simd} (a "
                f"kernel row is {krow} words, the kernel {self.k_h} rows); allowed: {ok}"
            )
        ok = self.ipar_options(simd)
        if bad(ipar) or ipar not in ok:
            raise FoldingError(
                f"{where}: IPAR={ipar!r} is not a power of two dividing the "
                f"{self.ifm_h * self.ifm_w * (self.ch // simd)} input words of a frame at "
                f"SIMD={simd}; allowed: {ok}"
            )
        if bad(mmv) or mmv < 1 or (mmv > 1 and mmv not in self.mmv_options()):
            raise FoldingError(
                f"{where}: MMV={mmv!r} does not divide the output width {self.ofm_w}; "
                f"allowed: {self.mmv_options()}"
            )
        if mmv > 1 and par != self._window_words(simd):
            raise FoldingError(
                f"{where}: MMV={mmv} needs whole windows per output pixel, "
                f"PAR={self._window_words(simd)} at SIMD={simd} (got PAR={par})"
            )
        self.simd, self.par, self.mmv, self.ipar = int(simd), int(par), int(mmv), int(ipar)

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
    in_elems = property(lambda self: self.simd * self.ipar)
    out_elems = property(lambda self: self.simd * self.par * self.mmv)

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
        words = (self.k_h + min(self.s_h, self.k_h)) * self.ifm_w * cf
        return -(-words // self.ipar) * self.ipar  # a whole number of bank rows

    def hls_buffer_words(self) -> int:
        """Line buffer words of the HLS process: the RTL buffer, at least one window span."""
        cf = self.ch // self.simd
        span = (self.k_h - 1) * self.ifm_w * cf + self.k_w * cf
        span += (self.mmv - 1) * self.s_w * cf + self.ipar - 1
        return max(int(self.buffer_words()), -(-span // self.ipar) * self.ipar)

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
            "MMV": self.mmv,
            "IPAR": self.ipar,
            "DEPTH": self.hls_buffer_words(),
        }

    #: parameters of rtl/sliding_window.v, and of rtl/window_decimate.v (a 1x1 window)
    WINDOW_NAMES = (
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
        "MMV",
        "IPAR",
    )
    DECIMATE_NAMES = ("IFM_H", "IFM_W", "CH", "SIMD", "STRIDE_H", "STRIDE_W", "ELEM_BITS")

    @property
    def decimates(self) -> bool:
        """A 1x1 window taking one word per output word (``PAR = MMV = IPAR = 1``: the 1x1
        stride-2 convolution of a residual shortcut) is rtl/window_decimate.v: every
        stride-th pixel of every stride-th row passes as it is, with no buffer."""
        return (self.k_h, self.k_w) == (1, 1) and self.par == self.mmv == self.ipar == 1

    @property
    def rtl_module(self) -> str:
        return "window_decimate" if self.decimates else "sliding_window"

    @property
    def rtl_names(self) -> tuple:
        return self.DECIMATE_NAMES if self.decimates else self.WINDOW_NAMES

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
        "MMV",
        "IPAR",
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
        lanes = self.par * self.mmv
        copies = f" x {lanes} copies" if lanes > 1 else ""
        return {
            "extra": f"buffer of {self.hls_buffer_words()} words of {self.in_width} bits{copies}"
        }

    def need(self) -> np.ndarray:
        """Output word ``j`` needs the input word of its last window element (and every
        earlier one: the input is read in order)."""
        j = np.arange(self.out_words_per_frame * self.par * self.mmv, dtype=np.int64)
        cf = self.ch // self.simd
        kk = self.k_h * self.k_w
        o, rem = np.divmod(j, kk * cf)
        kpos, cg = np.divmod(rem, cf)
        oy, ox = np.divmod(o, self.ofm_w)
        ky, kx = np.divmod(kpos, self.k_w)
        iy, ix = oy * self.s_h + ky, ox * self.s_w + kx
        words = np.maximum.accumulate(((iy * self.ifm_w + ix) * cf + cg) + 1)
        lanes = self.par * self.mmv
        return -(-words[lanes - 1 :: lanes] // self.ipar)  # input words of IPAR words

    def limit_reason(self) -> str:
        cf = self.ch // self.simd
        n_in, n_out = self.in_words_per_frame, self.out_words_per_frame
        if n_in >= n_out:
            return (
                f"reads one input word per cycle: {self.ifm_h}x{self.ifm_w} pixels x {cf} "
                f"words / IPAR {self.ipar} = {n_in} (SIMD {self.simd} of {self.ch} channels)"
            )
        return (
            f"writes one output word per cycle: {self.ofm_h}x{self.ofm_w} windows x "
            f"{self.k_h * self.k_w * cf // self.par} words / MMV {self.mmv} = {n_out} "
            f"(PAR {self.par})"
        )

    def cost_features(self, cm) -> dict:
        """The buffer memory once per read lane (``PAR * MMV`` copies, each ``IPAR`` banks of
        ``DEPTH / IPAR`` words with an ``IPAR``:1 read mux), a read-address adder per lane,
        the lanes' read register and the output register slice.

        LUT features, as rtl/sliding_window.v builds them: ``walk``, the bits of the window
        walk's counters (word in the kernel row, kernel row, output column and row, offset
        in the window, write row); ``walk_wrap``, the bits of those counters' ranges above
        their trailing zero bits, for the ranges that are not powers of two; ``addr``, the
        bits of the modulo-``DEPTH`` adders of the window base and, when a window takes
        several output words, of base + offset (shared by the lanes), each followed by a
        compare with and a subtract of ``DEPTH`` over the bits from its lowest set bit up;
        ``lane``, ``AW + 1`` bits per read lane (its constant offset modulo ``DEPTH``);
        ``lutram``, the LUTs of the LUTRAM cells (:func:`map_memory`); ``rdmux``, the read mux
        over the LUTRAM (or register) banks of one buffer copy (:func:`mux_luts` per bit);
        ``width``, the output skid buffer's and the ``IPAR`` bank select's mux bits.

        A 1x1 window (rtl/window_decimate.v, :attr:`decimates`) has no buffer: ``dec_walk``, the
        counters that decide which pixels pass (word and column, and the column's phase in
        the stride, when a stride is above 1; row and its phase when the vertical one is:
        with stride 1 every word passes and synthesis removes them all; a counter over one
        value is free), ``dec_const`` its handshake, and ``width``, the output skid buffer."""
        l = self
        width = l.simd * l.in_dtype.bits
        if l.decimates:
            cf = l.ch // l.simd
            walk = 0
            if l.s_h > 1 or l.s_w > 1:
                walk = cm.clog2(cf) + cm.clog2(l.ifm_w) + cm.clog2(l.s_w)
            if l.s_h > 1:
                walk += cm.clog2(l.ifm_h) + cm.clog2(l.s_h)
            # terms of their own: these counters and this handshake are not the window walk's
            f = {"dec_const": 1.0, "dec_walk": walk, "width": width}
            ff = {"const": 1.0, "ctrl": walk, "data": 2 * width}
            return {"lut": f, "ff": ff, "mem": {"bram18": 0, "uram": 0, "dsp": 0}}
        depth = l.buffer_words()
        bank = depth // l.ipar
        m = cm.map_memory(bank, width, False, "auto")
        cf = l.ch // l.simd
        lanes = l.par * l.mmv  # read lanes: one buffer copy each
        banks = lanes * l.ipar
        span = (l.k_h - 1) * l.ifm_w * cf + l.k_w * cf
        # (a counter over one value is a constant 1-bit register, which synthesis removes: a
        # 1x1 window has no word, row or offset counter)
        ranges = (l.k_w * cf, l.k_h, l.ofm_w, l.ofm_h, span, bank)
        walk = sum(cm.clog2(n) for n in ranges)
        # ... and their bits above the range's trailing zero bits, for a range that is not a
        # power of two: its wrap compare, and the offset and base adders' constant steps
        # (multiples of CF), leave the low zero bits alone. With power-of-two channel counts
        # Yosys spends markedly less (a 2x2/2 window over 10 x 10 x 120..136 channels:
        # 107-122 LUTs; over 128: 78)
        walk_wrap = sum(cm.clog2(n) - cm.trailing_zeros(n) for n in ranges if n > 1 and n & (n - 1))
        # a modulo-DEPTH add: AW + 1 bits, then `>= DEPTH` and `- DEPTH`, both only over the
        # bits from DEPTH's lowest set bit up (one bit for a power of two); the window base
        # has one, base + offset another when the window takes several output words (every
        # lane computes the same sum, which synthesis shares), and each lane adds its constant
        # offset within the group modulo DEPTH
        aw = cm.counter_bits(depth)
        mod_bits = aw + 1 - min(cm.trailing_zeros(depth), aw)
        steps = 2 if l.k_h * l.k_w * cf > l.par else 1
        addr = steps * (aw + 1 + 2 * mod_bits)
        if m["kind"] == "lutram":
            lutram, rdmux = banks * m["lutram_luts"], banks * width * cm.mux_luts(m["mult_a"])
        elif m["kind"] == "logic":  # registers and a word mux
            lutram, rdmux = 0, banks * width * cm.mux_luts(bank)
        else:
            lutram = rdmux = 0
        f = {
            "const": 1.0,
            "walk": walk,
            "walk_wrap": walk_wrap,
            "addr": addr,
            "lane": lanes * (aw + 1),
            "lutram": lutram,
            "rdmux": rdmux,
            "width": lanes * width * (1 + cm.mux_luts(l.ipar)),
        }
        # FF: the walk's registers, the window base, the signed fill level (it spans a frame
        # and the buffer) and the data registers
        fill_bits = cm.clog2(l.ifm_h * l.ifm_w * cf + depth + 2) + 1
        ff = {
            "const": 1.0,
            "ctrl": walk + cm.counter_bits(depth) + fill_bits,
            # output skid (2 words per lane), the read register of every LUTRAM/register bank
            # (a block RAM's is its own), a register buffer's words
            "data": lanes * 2 * width
            + (banks * width if m["kind"] in ("lutram", "logic") else 0)
            + banks * (bank * width if m["kind"] == "logic" else 0),
        }
        mem = {"bram18": banks * m["bram18"], "uram": banks * m["uram"], "dsp": 0}
        return {"lut": f, "ff": ff, "mem": mem}

    def to_dict(self):
        d = super().to_dict()
        d["in_shape"] = [self.ifm_h, self.ifm_w, self.ch]
        d["out_shape"] = [self.ofm_h, self.ofm_w, self.out_channels]
        d.update(
            {
                "kernel": [self.k_h, self.k_w],
                "stride": [self.s_h, self.s_w],
                "buffer_words": 0 if self.decimates else self.buffer_words(),
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
