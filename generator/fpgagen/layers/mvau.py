"""Matrix-vector-activation unit (MVAU): folded matrix-vector product plus thresholds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import packing
from ..datatypes import DataType, int_type, signed_bits_for
from .base import HWLayer, check_divides, divisors, thresholds_apply
from .memory import memory_cost

__all__ = ["MVAU"]


class MVAU(HWLayer):
    """``out = act(W @ x)`` for each of ``num_vectors`` input vectors.

    * ``weights``: integer matrix ``(MH, MW)`` of ``w_dtype`` values;
    * ``thresholds``: ``(MH, N)`` ascending integers, or None for the raw accumulator;
    * XNOR-popcount mode when input and weights are both BIPOLAR: the accumulator is the
      number of agreeing pairs in ``[0, MW]``.
    """

    op_type = "MVAU"
    rtl_module = "mvau"

    def __init__(self, name, weights, in_dtype: DataType, w_dtype: DataType, *,
                 in_range=None, thresholds=None, out_bias: int = 0,
                 out_dtype: DataType | None = None, num_vectors: int = 1, pe: int = 1,
                 simd: int = 1, ram_style: str = "auto"):
        super().__init__(name)
        self.weights = np.asarray(weights, dtype=np.int64)
        self.in_dtype = in_dtype
        self.w_dtype = w_dtype
        self.in_range = tuple(in_range) if in_range is not None else (in_dtype.min, in_dtype.max)
        self.num_vectors = int(num_vectors)
        self.ram_style = ram_style
        if not w_dtype.allowed(self.weights):
            raise ValueError(f"{name}: weights do not fit {w_dtype}")
        self.pe, self.simd = 1, 1
        self.set_thresholds(thresholds, out_bias, out_dtype)
        self.set_folding(PE=pe, SIMD=simd)

    # -- shape ------------------------------------------------------------------------------
    @property
    def mw(self) -> int:
        return self.weights.shape[1]

    @property
    def mh(self) -> int:
        return self.weights.shape[0]

    in_channels = property(lambda self: self.mw)
    out_channels = property(lambda self: self.mh)
    in_elems = property(lambda self: self.simd)
    out_elems = property(lambda self: self.pe)

    @property
    def xnor(self) -> bool:
        return self.in_dtype.is_bipolar and self.w_dtype.is_bipolar

    # -- accumulator -----------------------------------------------------------------------
    def acc_range(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-output-channel reachable accumulator range [lo, hi] (cached per weights)."""
        key = (id(self.weights), self.in_range, self.xnor)
        cache = getattr(self, "_acc_cache", None)
        if cache is not None and cache[0] == key:
            return cache[1]
        r = self._acc_range()
        self._acc_cache = (key, r)
        return r

    def _acc_range(self) -> tuple[np.ndarray, np.ndarray]:
        if self.xnor:
            return np.zeros(self.mh, np.int64), np.full(self.mh, self.mw, np.int64)
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
            self.thresholds = None
            self.out_bias = 0
            self.out_dtype = None  # resolved lazily from acc_bits
        else:
            t = np.asarray(thresholds, dtype=np.int64)
            if t.ndim != 2 or t.shape[0] != self.mh:
                raise ValueError(f"{self.name}: thresholds must be ({self.mh}, N), got {t.shape}")
            if np.any(np.diff(t, axis=1) < 0):
                raise ValueError(f"{self.name}: thresholds must be ascending")
            self.thresholds = t
            self.out_bias = int(out_bias)
            self.out_dtype = out_dtype
        if self.thresholds is None:
            self.out_dtype = int_type(self.acc_bits)

    def accumulate(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.int64)
        lo, hi = self.acc_range()
        if max(abs(int(lo.min())), abs(int(hi.max()))) < 2**52:
            # exact in float64 (every partial sum is an integer below 2^53), and BLAS-fast
            dot = np.rint(x.astype(np.float64) @ self.weights.T.astype(np.float64))
            dot = dot.astype(np.int64)
        else:  # pragma: no cover - accumulators wider than 52 bits
            dot = x @ self.weights.T
        if self.xnor:
            return (self.mw + dot) // 2
        return dot

    def execute(self, x):
        acc = self.accumulate(x)
        if self.thresholds is None:
            return acc
        return thresholds_apply(acc, self.thresholds, self.out_bias, self.out_dtype)

    # -- folding ----------------------------------------------------------------------------
    def folding(self):
        return {"PE": self.pe, "SIMD": self.simd}

    def folding_options(self):
        return {"PE": divisors(self.mh), "SIMD": divisors(self.mw)}

    def set_folding(self, PE=None, SIMD=None, **kw):
        super().set_folding(**kw)
        if PE is not None:
            check_divides(self, "PE", PE, self.mh, "MH (output features)")
            self.pe = int(PE)
        if SIMD is not None:
            check_divides(self, "SIMD", SIMD, self.mw, "MW (input features)")
            self.simd = int(SIMD)

    @property
    def nf(self) -> int:
        return self.mh // self.pe

    @property
    def sf(self) -> int:
        return self.mw // self.simd

    # -- costs --------------------------------------------------------------------------------
    def expected_cycles(self) -> int:
        return self.num_vectors * self.nf * self.sf

    def weight_memory(self) -> dict:
        return memory_cost(self.nf * self.sf, self.pe * self.simd * self.w_dtype.bits,
                           self.ram_style)

    def resources(self):
        """Resource estimate from the calibrated cost model (docs/cost_model.md)."""
        from ..cost.model import estimate

        return estimate(self)

    # -- backends -----------------------------------------------------------------------------
    def weight_words(self) -> np.ndarray:
        """Weight memory words (see docs/conventions.md), as a uint8 matrix."""
        w = self.weights.reshape(self.nf, self.pe, self.sf, self.simd)
        w = w.transpose(0, 2, 1, 3)  # nf, sf, pe, simd
        return packing.pack(w, self.w_dtype, self.pe * self.simd)

    def threshold_words(self) -> np.ndarray:
        n = self.thresholds.shape[1]
        t = self.thresholds.reshape(self.nf, self.pe, n)
        return packing.pack(t, int_type(self.acc_bits), self.pe * n)

    def write_memories(self, outdir):
        outdir = Path(outdir)
        paths = []
        wp = outdir / f"{self.name}_weights.mem"
        wp.write_text("\n".join(packing.to_hex(self.weight_words(),
                                               self.pe * self.simd * self.w_dtype.bits)) + "\n")
        paths.append(wp)
        if self.thresholds is not None:
            tp = outdir / f"{self.name}_thresholds.mem"
            bits = self.pe * self.thresholds.shape[1] * self.acc_bits
            tp.write_text("\n".join(packing.to_hex(self.threshold_words(), bits)) + "\n")
            paths.append(tp)
        return paths

    def rtl_params(self, mem_dir):
        n_thr = 0 if self.thresholds is None else int(self.thresholds.shape[1])
        return {
            "MW": self.mw, "MH": self.mh, "SIMD": self.simd, "PE": self.pe,
            "IN_BITS": self.in_dtype.bits, "IN_SIGNED": int(self.in_dtype.signed
                                                            and not self.in_dtype.is_bipolar),
            "IN_BIPOLAR": int(self.in_dtype.is_bipolar),
            "W_BITS": self.w_dtype.bits, "W_SIGNED": int(self.w_dtype.signed
                                                         and not self.w_dtype.is_bipolar),
            "W_BIPOLAR": int(self.w_dtype.is_bipolar),
            "ACC_BITS": self.acc_bits, "N_THRES": n_thr,
            "OUT_BITS": self.out_dtype.bits, "OUT_BIAS": self.out_bias,
            "WEIGHT_FILE": f"{mem_dir}/{self.name}_weights.mem",
            "THRES_FILE": f"{mem_dir}/{self.name}_thresholds.mem" if n_thr else "",
            "RAM_STYLE": self.weight_memory()["style"],
        }

    def to_dict(self):
        d = super().to_dict()
        d.update({"w_dtype": str(self.w_dtype), "MW": self.mw, "MH": self.mh,
                  "acc_bits": self.acc_bits, "xnor": self.xnor,
                  "n_thresholds": 0 if self.thresholds is None else
                  int(self.thresholds.shape[1]), "out_bias": self.out_bias,
                  "weight_memory": self.weight_memory()["style"]})
        return d
