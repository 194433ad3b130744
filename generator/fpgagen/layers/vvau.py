"""Vector-vector-activation unit (VVAU): depthwise convolution, one filter per channel."""

from __future__ import annotations

import numpy as np

from .. import packing
from ..datatypes import DataType
from ..errors import FpgagenError
from .accum import AccumulatorMixin
from .base import HWLayer
from .memory import memory_style

__all__ = ["VVAU"]


class VVAU(AccumulatorMixin, HWLayer):
    """``out[c] = act(sum_k x[k, c] * w[c, k])`` over the ``k`` window elements of a pixel.

    Input: the output of a SlidingWindow with SIMD = PE (window position outer, channels
    inner). ``weights`` is ``(channels, k)``; thresholds ``(channels, N)`` or None.
    Both operands BIPOLAR: XNOR-popcount, the accumulator counts agreeing pairs in [0, k].
    """

    op_type = "VVAU"
    rtl_module = "vvau"
    fold_param = "PE"

    def darknet_section(self, feeders: list, hwc: tuple) -> tuple[str, list, tuple]:
        return self.darknet_conv(hwc) or super().darknet_section(feeders, hwc)

    def __init__(
        self,
        name,
        weights,
        in_dtype: DataType,
        w_dtype: DataType,
        *,
        in_range=None,
        num_vectors=1,
        pe=1,
        ram_style="auto",
    ):
        super().__init__(name)
        self.weights = np.asarray(weights, dtype=np.int64)
        self.in_dtype, self.w_dtype = in_dtype, w_dtype
        self.in_range = tuple(in_range) if in_range is not None else (in_dtype.min, in_dtype.max)
        self.num_vectors = int(num_vectors)
        self.ram_style = ram_style
        self.thresholds = None
        self.set_thresholds(None)
        self.pe = 1
        self.set_folding(PE=pe)

    ch = property(lambda self: self.weights.shape[0])
    k = property(lambda self: self.weights.shape[1])
    in_channels = property(lambda self: self.k * self.ch)
    out_channels = property(lambda self: self.ch)
    in_elems = property(lambda self: self.pe)
    out_elems = property(lambda self: self.pe)
    mw = property(lambda self: self.k)  # accumulation length (for the XNOR offset)

    def accumulate(self, x):
        n = x.shape[0]
        xw = np.asarray(x, np.int64).reshape(n, -1, self.k, self.ch)
        dot = np.einsum("npkc,ck->npc", xw, self.weights)
        return (self.k + dot) // 2 if self.xnor else dot

    @property
    def cf(self):
        return self.ch // self.pe

    def expected_cycles(self):
        return self.num_vectors * self.k * self.cf

    @property
    def weight_ram_style(self) -> str:
        return memory_style(self.k * self.cf, self.weight_word_bits, self.ram_style)

    @property
    def weight_word_bits(self) -> int:
        return self.pe * self.w_dtype.bits

    def weight_words(self):
        """Weight memory words: line kpos*CF + cg holds the PE weights of channel group cg."""
        w = self.weights.T.reshape(self.k, self.cf, self.pe)  # (kpos, cg, p)
        return packing.pack(w, self.w_dtype, self.pe)

    def hw_params(self) -> dict:
        return {
            "CH": self.ch,
            "PE": self.pe,
            "K": self.k,
            "NV": self.num_vectors,
            **self.accumulator_hw(),
        }

    rtl_names = ("CH", "PE", "K", *AccumulatorMixin.RTL_ACC_NAMES)
    hls_names = ("CH", "PE", "K", *AccumulatorMixin.HLS_ACC_NAMES)
    hls_lib = "vvau.h"
    hls_func = "vvau"
    cost_coef = "MVAU"  # the same building blocks as the MVAU, expressed in its features

    def check_hw(self) -> None:
        super().check_hw()
        if not self.n_thresholds and self.out_dtype.bits != self.acc_bits:
            raise FpgagenError(
                f"layer {self.name} (VVAU): without thresholds the output is the "
                f"{self.acc_bits}-bit accumulator, not {self.out_dtype}"
            )

    def need(self) -> np.ndarray:
        """Output word ``j`` needs the whole window of its pixel (K x CF words)."""
        j = np.arange(self.out_words_per_frame, dtype=np.int64)
        return (j // self.cf + 1) * self.k * self.cf

    stitched_pes = property(lambda self: self.pe)

    def mac_lanes(self) -> tuple[int, str]:
        return self.pe, f"{self.pe}"

    def cost_features(self, cm) -> dict:
        """VVAU (depthwise): PE products per cycle, no adder tree, CF partial sums in a RAM.

        Expressed in the MVAU's features, so it uses the MVAU coefficients (the RTL blocks are
        the same: products, accumulator, threshold ROM and comparators).
        """
        l = self
        pe, k, cf = l.pe, l.k, l.cf
        acc = l.acc_bits
        xe, we, pb, kind = cm.mvau_operands(l)
        iw = pe * l.in_dtype.bits
        ww = pe * l.w_dtype.bits
        depth = k * cf
        n_thr = 0 if l.thresholds is None else int(l.thresholds.shape[1])
        style = l.weight_ram_style
        wmem = cm.map_memory(depth, ww, True, style)
        pmem = cm.map_memory(cf, pe * acc, False, "auto") if cf > 1 else dict(cm.NO_MEMORY)
        dsp = pe * cm.dsp_per_product(xe, we, acc) if kind == "mul" and depth > 1 else 0
        f = {
            "const": 1.0,
            "ctrl": cm.counter_bits(cf) + cm.counter_bits(k) + cm.counter_bits(depth),
            "ibuf": 0.0,
            "wrom_small": cm.mem_luts(wmem, depth, ww, True) if depth <= 4 else 0.0,
            "wrom": cm.mem_luts(wmem, depth, ww, True) if 4 < depth <= 64 else 0.0,
            "wrom_deep": cm.mem_luts(wmem, depth, ww, True) if depth > 64 else 0.0,
            # one product per PE (cm.dot_luts with one lane: Yosys on the block in isolation)
            "dot": pe * cm.dot_luts(l.in_dtype, l.w_dtype, 1, acc),
            "acc": pe * acc + (cm.mem_luts(pmem, cf, pe * acc, False) if cf > 1 else 0),
            # comparator bank, count, output register and skid per PE (cm.act_features)
            "act": 0.0,
            "act_rom": 0.0,
            "out": pe * l.out_dtype.bits if not n_thr else 0.0,
            "dsp": float(dsp),
        }
        tmem = dict(cm.NO_MEMORY)
        tvar = tdist = 0
        if n_thr:
            if cf > 1:  # mapped with its varying bits, costed with its distinct columns
                tvar, tdist = cm.threshold_columns(l.thresholds, pe, acc)
                tmem = cm.map_memory(cf, tvar, True, "auto")
            n_eff = cm.distinct_thresholds(l.thresholds, pe)  # equal columns share one
            a = cm.act_features(n_eff, acc, cf, tdist / pe, tmem["kind"], "act_out", pe)
            f["act"] = pe * a["act"]
            f["act_rom"] = pe * a["act_rom"]
        ff = {
            "const": 1.0,
            "ctrl": cm.counter_bits(cf) + cm.counter_bits(k) + cm.counter_bits(depth),
            "in": iw,
            "wreg": cm.mem_ffs(wmem, depth, ww, True),
            "dot": pe * min(acc, pb + 1),
            "acc": pe * acc + (pe * acc if cf > 1 and pmem["kind"] != "bram" else 0),
            "thr": (cm.mem_ffs(tmem, cf, tvar, True) if n_thr and cf > 1 else 0.0),
            "out": pe * l.out_dtype.bits,
        }
        mem = {
            "bram18": wmem["bram18"] + pmem["bram18"] + tmem["bram18"],
            "uram": wmem["uram"] + pmem.get("uram", 0),
            "dsp": dsp,
        }
        cm.add_weight_streamer(mem, style, l)
        return {"lut": f, "ff": ff, "mem": mem}

    def to_dict(self):
        d = super().to_dict()
        d.update({"window": self.k, **self.accumulator_dict()})
        return d
