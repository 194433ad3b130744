"""Matrix-vector-activation unit (MVAU): folded matrix-vector product plus thresholds."""

from __future__ import annotations

import numpy as np

from .. import packing
from ..datatypes import DataType
from .accum import AccumulatorMixin
from .base import HWLayer, check_divides, divisors
from .memory import memory_style

__all__ = ["MVAU"]


class MVAU(AccumulatorMixin, HWLayer):
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
    mw = property(lambda self: self.weights.shape[1])
    mh = property(lambda self: self.weights.shape[0])
    in_channels = property(lambda self: self.mw)
    out_channels = property(lambda self: self.mh)
    in_elems = property(lambda self: self.simd)
    out_elems = property(lambda self: self.pe)

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

    @property
    def weight_ram_style(self) -> str:
        return memory_style(self.nf * self.sf, self.weight_word_bits, self.ram_style)

    # -- backends -----------------------------------------------------------------------------
    @property
    def weight_word_bits(self) -> int:
        return self.pe * self.simd * self.w_dtype.bits

    def weight_words(self) -> np.ndarray:
        """Weight memory words (see docs/conventions.md), as a uint8 matrix."""
        w = self.weights.reshape(self.nf, self.pe, self.sf, self.simd)
        w = w.transpose(0, 2, 1, 3)  # nf, sf, pe, simd
        return packing.pack(w, self.w_dtype, self.pe * self.simd)

    def rtl_params(self, mem_dir):
        return {"MW": self.mw, "MH": self.mh, "SIMD": self.simd, "PE": self.pe,
                **self.accumulator_params(mem_dir)}

    def to_dict(self):
        d = super().to_dict()
        d.update({"MW": self.mw, "MH": self.mh, **self.accumulator_dict()})
        return d
