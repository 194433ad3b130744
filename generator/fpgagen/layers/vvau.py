"""Vector-vector-activation unit (VVAU): depthwise convolution, one filter per channel."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import packing
from ..datatypes import DataType, int_type, signed_bits_for
from .base import HWLayer, check_divides, divisors, thresholds_apply
from .memory import memory_cost

__all__ = ["VVAU"]


class VVAU(HWLayer):
    """``out[c] = act(sum_k x[k, c] * w[c, k])`` over the ``k`` window elements of a pixel.

    Input: the output of a SlidingWindow with SIMD = PE (window position outer, channels
    inner). ``weights`` is ``(channels, k)``; thresholds ``(channels, N)`` or None.
    Both operands BIPOLAR: XNOR-popcount, the accumulator counts agreeing pairs in [0, k].
    """

    op_type = "VVAU"
    rtl_module = "vvau"

    def __init__(self, name, weights, in_dtype: DataType, w_dtype: DataType, *, in_range=None,
                 num_vectors=1, pe=1, ram_style="auto"):
        super().__init__(name)
        self.weights = np.asarray(weights, dtype=np.int64)
        self.in_dtype, self.w_dtype = in_dtype, w_dtype
        self.in_range = tuple(in_range) if in_range is not None else (in_dtype.min, in_dtype.max)
        self.num_vectors = int(num_vectors)
        self.ram_style = ram_style
        self.thresholds = None
        self.out_bias = 0
        self.out_dtype = int_type(self.acc_bits)
        self.pe = 1
        self.set_folding(PE=pe)

    ch = property(lambda self: self.weights.shape[0])
    k = property(lambda self: self.weights.shape[1])
    in_channels = property(lambda self: self.k * self.ch)
    out_channels = property(lambda self: self.ch)
    in_elems = property(lambda self: self.pe)
    out_elems = property(lambda self: self.pe)
    xnor = property(lambda self: self.in_dtype.is_bipolar and self.w_dtype.is_bipolar)
    mw = property(lambda self: self.k)  # accumulation length (for the XNOR offset)

    def acc_range(self):
        if self.xnor:
            return np.zeros(self.ch, np.int64), np.full(self.ch, self.k, np.int64)
        lo_in, hi_in = self.in_range
        a, b = self.weights * lo_in, self.weights * hi_in
        return np.minimum(a, b).sum(axis=1), np.maximum(a, b).sum(axis=1)

    @property
    def acc_bits(self) -> int:
        lo, hi = self.acc_range()
        bits = signed_bits_for(int(lo.min()), int(hi.max()) + 1)
        if self.thresholds is not None and self.thresholds.size:
            bits = max(bits, signed_bits_for(int(self.thresholds.min()),
                                             int(self.thresholds.max())))
        return bits

    def set_thresholds(self, thresholds, out_bias=0, out_dtype=None) -> None:
        if thresholds is None:
            self.thresholds, self.out_bias = None, 0
            self.out_dtype = int_type(self.acc_bits)
            return
        t = np.asarray(thresholds, dtype=np.int64)
        if t.ndim != 2 or t.shape[0] != self.ch or np.any(np.diff(t, axis=1) < 0):
            raise ValueError(f"{self.name}: thresholds must be ascending ({self.ch}, N)")
        self.thresholds, self.out_bias, self.out_dtype = t, int(out_bias), out_dtype

    def accumulate(self, x):
        n = x.shape[0]
        xw = np.asarray(x, np.int64).reshape(n, -1, self.k, self.ch)
        dot = np.einsum("npkc,ck->npc", xw, self.weights)
        return (self.k + dot) // 2 if self.xnor else dot

    def execute(self, x):
        acc = self.accumulate(x)
        if self.thresholds is None:
            return acc
        return thresholds_apply(acc, self.thresholds, self.out_bias, self.out_dtype)

    def folding(self):
        return {"PE": self.pe}

    def folding_options(self):
        return {"PE": divisors(self.ch)}

    def set_folding(self, PE=None, **kw):
        super().set_folding(**kw)
        if PE is not None:
            check_divides(self, "PE", PE, self.ch, "channels")
            self.pe = int(PE)

    @property
    def cf(self):
        return self.ch // self.pe

    def expected_cycles(self):
        return self.num_vectors * self.k * self.cf

    def weight_memory(self):
        return memory_cost(self.k * self.cf, self.pe * self.w_dtype.bits, self.ram_style)

    def resources(self):
        """Resource estimate from the calibrated cost model (docs/cost_model.md)."""
        from ..cost.model import estimate

        return estimate(self)

    def weight_words(self):
        w = self.weights.T.reshape(self.k, self.cf, self.pe)  # (kpos, cg, p)
        return packing.pack(w, self.w_dtype, self.pe)

    def threshold_words(self):
        n = self.thresholds.shape[1]
        return packing.pack(self.thresholds.reshape(self.cf, self.pe, n), int_type(self.acc_bits),
                            self.pe * n)

    def write_memories(self, outdir):
        outdir = Path(outdir)
        wp = outdir / f"{self.name}_weights.mem"
        wp.write_text("\n".join(packing.to_hex(self.weight_words(),
                                               self.pe * self.w_dtype.bits)) + "\n")
        paths = [wp]
        if self.thresholds is not None:
            tp = outdir / f"{self.name}_thresholds.mem"
            bits = self.pe * self.thresholds.shape[1] * self.acc_bits
            tp.write_text("\n".join(packing.to_hex(self.threshold_words(), bits)) + "\n")
            paths.append(tp)
        return paths

    def rtl_params(self, mem_dir):
        n_thr = 0 if self.thresholds is None else int(self.thresholds.shape[1])
        bip = self.in_dtype.is_bipolar
        return {
            "CH": self.ch, "PE": self.pe, "K": self.k,
            "IN_BITS": self.in_dtype.bits, "IN_SIGNED": int(self.in_dtype.signed and not bip),
            "IN_BIPOLAR": int(bip), "W_BITS": self.w_dtype.bits,
            "W_SIGNED": int(self.w_dtype.signed and not self.w_dtype.is_bipolar),
            "W_BIPOLAR": int(self.w_dtype.is_bipolar), "ACC_BITS": self.acc_bits,
            "N_THRES": n_thr, "OUT_BITS": self.out_dtype.bits, "OUT_BIAS": self.out_bias,
            "WEIGHT_FILE": f"{mem_dir}/{self.name}_weights.mem",
            "THRES_FILE": f"{mem_dir}/{self.name}_thresholds.mem" if n_thr else "",
            "RAM_STYLE": self.weight_memory()["style"],
        }

    def to_dict(self):
        d = super().to_dict()
        d.update({"w_dtype": str(self.w_dtype), "window": self.k, "acc_bits": self.acc_bits,
                  "n_thresholds": 0 if self.thresholds is None else
                  int(self.thresholds.shape[1]), "out_bias": self.out_bias})
        return d
