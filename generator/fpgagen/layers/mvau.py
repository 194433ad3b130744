"""Matrix-vector-activation unit (MVAU): folded matrix-vector product plus thresholds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import packing
from ..datatypes import DataType, uint_type
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
    * ``group_mult``: optional integer matrix ``(MH, G)`` of positive multipliers (grouped
      MVAU, for SYQ per-kernel-pixel weight scales): column ``k`` belongs to group
      ``k // (MW/G)`` and the accumulator is ``sum_g group_mult[o, g] * sum_{k in g}
      w[o, k] * x[k]`` with every input as its signed value (BIPOLAR as -1/+1, so an XNOR
      layer's accumulator is the signed, scaled sum, not a popcount). SIMD must divide the
      group size, so that every fold step lies inside one group: the hardware multiplies each
      step's SIMD-lane dot product by one multiplier per PE.
    """

    op_type = "MVAU"
    rtl_module = "mvau"

    def __init__(
        self,
        name,
        weights,
        in_dtype: DataType,
        w_dtype: DataType,
        *,
        in_range=None,
        thresholds=None,
        out_bias: int = 0,
        out_dtype: DataType | None = None,
        num_vectors: int = 1,
        pe: int = 1,
        simd: int = 1,
        ram_style: str = "auto",
        group_mult=None,
    ):
        super().__init__(name)
        self.weights = np.asarray(weights, dtype=np.int64)
        self.in_dtype = in_dtype
        self.w_dtype = w_dtype
        self.in_range = tuple(in_range) if in_range is not None else (in_dtype.min, in_dtype.max)
        self.num_vectors = int(num_vectors)
        self.ram_style = ram_style
        if not w_dtype.allowed(self.weights):
            raise ValueError(f"{name}: weights do not fit {w_dtype}")
        self.group_mult = None
        if group_mult is not None:
            m = np.asarray(group_mult, dtype=np.int64)
            mh, mw = self.weights.shape
            if m.ndim != 2 or m.shape[0] != mh or m.shape[1] < 1 or mw % m.shape[1]:
                raise ValueError(
                    f"{name}: group_mult must be (MH={mh}, G) with G dividing "
                    f"MW={mw}, got {m.shape}"
                )
            if m.min() < 1 or m.max() >= 2**32:
                raise ValueError(f"{name}: group multipliers must be in 1..2^32-1")
            self.group_mult = m
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

    # -- groups (SYQ per-kernel-pixel scales) ---------------------------------------------
    @property
    def grouped(self) -> bool:
        return self.group_mult is not None

    @property
    def groups(self) -> int:
        """Column groups sharing one multiplier per row (1 without multipliers)."""
        return 1 if self.group_mult is None else int(self.group_mult.shape[1])

    @property
    def group_size(self) -> int:
        return self.mw // self.groups

    @property
    def mult_bits(self) -> int:
        """Bits of an (unsigned) group multiplier; 0 without multipliers."""
        return 0 if self.group_mult is None else max(1, int(self.group_mult.max()).bit_length())

    def acc_weights(self) -> np.ndarray:
        if self.group_mult is None:
            return self.weights
        key = (id(self.weights), id(self.group_mult))
        cache = getattr(self, "_eff_cache", None)
        if cache is None or cache[0] != key:
            eff = self.weights * np.repeat(self.group_mult, self.group_size, axis=1)
            self._eff_cache = cache = (key, eff)
        return cache[1]

    def accumulate(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.int64)
        w = self.acc_weights()
        lo, hi = self.acc_range()
        if max(abs(int(lo.min())), abs(int(hi.max()))) < 2**52:
            # exact in float64 (every partial sum is an integer below 2^53), and BLAS-fast
            dot = np.rint(x.astype(np.float64) @ w.T.astype(np.float64))
            dot = dot.astype(np.int64)
        else:  # pragma: no cover - accumulators wider than 52 bits
            dot = x @ w.T
        if self.xnor_popcount:
            return (self.mw + dot) // 2
        return dot

    # -- folding ----------------------------------------------------------------------------
    def folding(self):
        return {"PE": self.pe, "SIMD": self.simd}

    def folding_options(self):
        return {"PE": divisors(self.mh), "SIMD": divisors(self.group_size)}

    def set_folding(self, PE=None, SIMD=None, **kw):
        super().set_folding(**kw)
        if PE is not None:
            check_divides(self, "PE", PE, self.mh, "MH (output features)")
            self.pe = int(PE)
        if SIMD is not None:
            if self.grouped:
                check_divides(
                    self,
                    "SIMD",
                    SIMD,
                    self.group_size,
                    f"the group size (MW/{self.groups} columns per multiplier)",
                )
            else:
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

    def mult_words(self) -> np.ndarray:
        """Group multiplier memory words: line ``nf*G + g`` holds, for PE ``p`` at bits
        ``[p*MULT_BITS +: MULT_BITS]`` (unsigned), the multiplier of output ``nf*PE + p`` and
        group ``g`` (docs/conventions.md)."""
        m = self.group_mult.reshape(self.nf, self.pe, self.groups).transpose(0, 2, 1)
        return packing.pack(m, uint_type(self.mult_bits), self.pe)

    def write_memories(self, outdir):
        paths = super().write_memories(outdir)
        if self.grouped:
            mp = Path(outdir) / f"{self.name}_mults.mem"
            mp.write_text(
                "\n".join(packing.to_hex(self.mult_words(), self.pe * self.mult_bits)) + "\n"
            )
            paths.append(mp)
        return paths

    def rtl_params(self, mem_dir):
        p = {
            "MW": self.mw,
            "MH": self.mh,
            "SIMD": self.simd,
            "PE": self.pe,
            **self.accumulator_params(mem_dir),
        }
        if self.grouped:  # absent otherwise: the module's defaults are the plain MVAU
            p.update(
                {
                    "GROUPS": self.groups,
                    "MULT_BITS": self.mult_bits,
                    "MULT_FILE": f"{mem_dir}/{self.name}_mults.mem",
                }
            )
        return p

    @property
    def note(self) -> str:
        """Short description of what the op name does not say (reports)."""
        if not self.grouped:
            return ""
        return f"{self.groups} groups of {self.group_size}, {self.mult_bits}-bit multipliers"

    def to_dict(self):
        d = super().to_dict()
        d.update({"MW": self.mw, "MH": self.mh, **self.accumulator_dict()})
        if self.grouped:
            d.update(
                {"groups": self.groups, "group_size": self.group_size, "mult_bits": self.mult_bits}
            )
        return d
