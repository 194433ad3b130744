"""What the MVAU and the VVAU share: an integer accumulator per output channel followed by
optional thresholds (or the raw accumulator as output)."""

from __future__ import annotations

import numpy as np

from .. import packing
from ..datatypes import int_type, signed_bits_for
from ..errors import FpgagenError
from . import npkernels
from .base import thresholds_apply
from .hw import Memory, SignedInt, dtype_fields
from .memory import EXTERNAL, memory_style

__all__ = ["AccumulatorMixin"]


class AccumulatorMixin:
    """Needs ``weights`` (out channels x accumulation length), ``in_range``, ``in_dtype``,
    ``w_dtype``, ``pe`` and ``accumulate(x)``. Both operands BIPOLAR: XNOR-popcount, the
    accumulator counts agreeing pairs in ``[0, length]`` (unless the layer scales groups of
    columns by integer multipliers, see :class:`~fpgagen.layers.mvau.MVAU`: then the
    accumulator is the signed sum of the scaled +-1 products)."""

    #: columns are scaled by per-(row, group) integer multipliers (grouped MVAU)
    grouped = False

    @property
    def xnor(self) -> bool:
        """Both operands BIPOLAR: the hardware computes XNOR-popcounts."""
        return self.in_dtype.is_bipolar and self.w_dtype.is_bipolar

    @property
    def xnor_popcount(self) -> bool:
        """The accumulator is the popcount itself, in ``[0, length]`` (XNOR, not grouped)."""
        return self.xnor and not self.grouped

    def acc_weights(self) -> np.ndarray:
        """The integer matrix the accumulator is the product with (inputs as signed values,
        BIPOLAR as -1/+1): the weights, times the group multipliers of a grouped MVAU."""
        return self.weights

    def darknet_conv(self, hwc: tuple) -> tuple[str, list, tuple] | None:
        """The ``[convolutional]`` section of a layer lowered from a convolution (its ``conv``
        record: kernel, stride, pads, group), see ``HWLayer.darknet_section``; None without."""
        conv = getattr(self, "conv", None)
        if not conv:
            return None
        h, w, _ = hwc
        kh, kw = conv["kernel"]
        sh, sw = conv["stride"]
        pt, pl, pb, pr = (list(conv["pads"]) + [0, 0, 0, 0])[:4]
        oh = (h + pt + pb - kh) // sh + 1
        ow = (w + pl + pr - kw) // sw + 1
        thr = getattr(self, "thresholds", None) is not None
        keys: list = [("batch_normalize", 1)] if thr else []
        keys += [("filters", self.out_channels), ("size", kh), ("stride", sh)]
        keys += [("pad", 1 if pt == kh // 2 and pt > 0 else 0)]
        if not (pt == pb == pl == pr == (kh // 2 if pt else 0)):
            keys += [("padding", pt + pb)]
        if conv.get("group", 1) != 1:
            keys += [("groups", conv["group"])]
        keys += [("activation", "relu" if thr else "linear")]
        keys += [("fpgagen_weights", str(self.w_dtype))]
        return "convolutional", keys, (oh, ow, self.out_channels)

    @property
    def acc_length(self) -> int:
        return self.weights.shape[1]

    def acc_range(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-output-channel reachable accumulator range [lo, hi] (cached per weights)."""
        key = (
            id(self.weights),
            id(getattr(self, "group_mult", None)),
            self.in_range,
            self.xnor_popcount,
        )
        cache = getattr(self, "_acc_cache", None)
        if cache is not None and cache[0] == key:
            return cache[1]
        rows = self.weights.shape[0]
        if self.xnor_popcount:
            r = np.zeros(rows, np.int64), np.full(rows, self.acc_length, np.int64)
        else:
            lo_in, hi_in = self.in_range
            w = self.acc_weights()
            a, b = w * lo_in, w * hi_in
            r = np.minimum(a, b).sum(axis=1), np.maximum(a, b).sum(axis=1)
        self._acc_cache = (key, r)
        return r

    @property
    def acc_bits(self) -> int:
        """Signed width holding every accumulator value and every threshold."""
        lo, hi = self.acc_range()
        bits = signed_bits_for(int(lo.min()), int(hi.max()) + 1)
        if self.thresholds is not None and self.thresholds.size:
            bits = max(
                bits, signed_bits_for(int(self.thresholds.min()), int(self.thresholds.max()))
            )
        return bits

    def set_thresholds(self, thresholds, out_bias=0, out_dtype=None) -> None:
        """Attach ascending thresholds ``(out channels, N)``, or None for the raw accumulator."""
        if thresholds is None:
            self.thresholds, self.out_bias = None, 0
            self.out_dtype = int_type(self.acc_bits)
            return
        rows = self.weights.shape[0]
        t = np.asarray(thresholds, dtype=np.int64)
        if t.ndim != 2 or t.shape[0] != rows:
            raise ValueError(f"{self.name}: thresholds must be ({rows}, N), got {t.shape}")
        if np.any(np.diff(t, axis=1) < 0):
            raise ValueError(f"{self.name}: thresholds must be ascending")
        self.thresholds, self.out_bias, self.out_dtype = t, int(out_bias), out_dtype

    def execute(self, x):
        """Golden model, fast: one exact float GEMM (or per-window-position multiply-add for
        the VVAU) and thresholds in the accumulator domain (:mod:`.npkernels`); equal to
        :meth:`execute_reference`. Thresholded outputs come in the narrowest integer dtype."""
        arrays = (self.weights, getattr(self, "group_mult", None), self.thresholds)
        key = tuple(map(id, arrays))  # the cache holds the arrays: their ids stay unique
        key += (self.out_bias, str(self.out_dtype), str(self.in_dtype), str(self.w_dtype))
        cache = getattr(self, "_plan_cache", None)
        if cache is None or cache[0] != key:
            lo, hi = (-1, 1) if self.in_dtype.is_bipolar else (self.in_dtype.min, self.in_dtype.max)
            plan = npkernels.AccumulatorPlan(
                self.acc_weights(),
                lo,
                hi,
                popcount_len=self.acc_length if self.xnor_popcount else None,
                thresholds=self.thresholds,
                out_bias=self.out_bias,
                bipolar_out=self.thresholds is not None and self.out_dtype.is_bipolar,
            )
            self._plan_cache = cache = (key, plan, arrays)
        plan = cache[1]
        x = np.asarray(x)
        n = x.shape[0]
        if self.op_type == "VVAU":
            y = plan.depthwise(x.reshape(-1, self.k, self.ch))
        else:
            y = plan.matmul(x.reshape(-1, self.acc_length))
        return y.reshape(n, -1, y.shape[-1])

    def execute_reference(self, x):
        """Golden model, plain int64 arithmetic (the specification :meth:`execute` meets)."""
        acc = self.accumulate(x)
        if self.thresholds is None:
            return acc
        return thresholds_apply(acc, self.thresholds, self.out_bias, self.out_dtype)

    @property
    def n_thresholds(self) -> int:
        return 0 if self.thresholds is None else int(self.thresholds.shape[1])

    def threshold_words(self) -> np.ndarray:
        """Threshold memory words (docs/conventions.md): line = output-channel fold."""
        n = self.n_thresholds
        t = self.thresholds.reshape(-1, self.pe, n)
        return packing.pack(t, int_type(self.acc_bits), self.pe * n)

    def check_hw(self) -> None:
        n_thr = self.n_thresholds
        if self.out_dtype.is_bipolar and n_thr != 1:
            raise FpgagenError(
                f"layer {self.name} ({self.op_type}): a BIPOLAR output needs exactly 1 "
                f"threshold per channel, got {n_thr}"
            )

    def accumulator_hw(self) -> dict:
        """The hardware parameters both modules share: operand types, accumulator, output,
        weight and threshold memories (see :mod:`fpgagen.layers.hw`)."""
        n_thr = self.n_thresholds
        rows = self.weights.shape[0] // self.pe  # threshold memory lines
        tbits = self.pe * n_thr * self.acc_bits
        thres = Memory(
            "thresholds",
            self.threshold_words() if n_thr else None,
            tbits,
            self.pe,
            memory_style(rows, tbits),
        )
        return {
            **dtype_fields("IN", self.in_dtype),
            **dtype_fields("W", self.w_dtype),
            "ACC_BITS": self.acc_bits,
            "N_THRES": n_thr,
            "OUT_BITS": self.out_dtype.bits,
            "OUT_BIAS": SignedInt(0 if self.out_dtype.is_bipolar else self.out_bias),
            "weights": Memory(
                "weights",
                self.weight_words(),
                self.weight_word_bits,
                self.pe,
                self.weight_ram_style,
            ),
            "thresholds": thres,
            "RAM_STYLE": self.weight_ram_style,
        }

    #: the RTL parameters after the shape ones (both modules)
    RTL_ACC_NAMES = (
        "IN_BITS",
        "IN_SIGNED",
        "IN_BIPOLAR",
        "W_BITS",
        "W_SIGNED",
        "W_BIPOLAR",
        "ACC_BITS",
        "N_THRES",
        "OUT_BITS",
        "OUT_BIAS",
        "WEIGHT_FILE=weights",
        "THRES_FILE=thresholds",
        "RAM_STYLE",
    )
    #: the HLS configuration after the shape ones (both modules)
    HLS_ACC_NAMES = (
        "NV",
        "IN_KIND",
        "IN_BITS",
        "W_KIND",
        "W_BITS",
        "ACC_BITS",
        "N_THRES",
        "OUT_BIAS",
        "OUT_BITS",
        "W_CB=weights.cb",
        "W_NC=weights.nc",
        "T_ROWS=thresholds.depth",
        "T_CB=thresholds.cb",
        "T_NC=thresholds.nc",
    )
    hls_template = "hls_layer_mvau.h.j2"

    def hls_extra(self) -> dict:
        return {
            "mode": "XNOR-popcount" if self.xnor else "integer",
            "n_thres": self.n_thresholds,
            "mults": None,
        }

    def work(self) -> dict:
        """MACs: one per weight and input vector; BOPs = MACs x weight bits x input bits."""
        w = self.weights
        macs = int(self.num_vectors) * int(w.size)
        wbits, abits = self.w_dtype.bits, self.in_dtype.bits
        weight_bits = int(w.size) * wbits
        if self.grouped:  # grouped MVAU: its multiplier table too
            weight_bits += int(self.group_mult.size) * int(self.mult_bits)
        thr = self.thresholds
        threshold_bits = int(thr.size) * int(self.acc_bits) if thr is not None and thr.size else 0
        return {
            "macs": macs,
            "bops": macs * wbits * abits,
            "weight_bits": weight_bits,
            "threshold_bits": threshold_bits,
        }

    @property
    def external_weights(self) -> bool:
        """The weights stream in from DDR (``ram_style = "external"``), no weight memory."""
        return self.ram_style == EXTERNAL

    def weight_stream(self) -> dict:
        """What the layer consumes on its weight stream when external: ``word_bits`` (its
        weight memory width), ``words`` (memory lines, read in order once per input vector),
        ``repeats`` (input vectors per frame) and ``bits_per_frame``."""
        words = self.expected_cycles() // self.num_vectors
        bits = self.weight_word_bits
        return {
            "word_bits": int(bits),
            "words": int(words),
            "repeats": int(self.num_vectors),
            "bits_per_frame": int(bits) * int(words) * int(self.num_vectors),
        }

    def accumulator_dict(self) -> dict:
        return {
            "w_dtype": str(self.w_dtype),
            "acc_bits": self.acc_bits,
            "xnor": self.xnor,
            "n_thresholds": self.n_thresholds,
            "out_bias": self.out_bias,
            "weight_memory": self.weight_ram_style,
        }
