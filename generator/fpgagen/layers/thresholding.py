"""Standalone multi-threshold activation (re-quantisation of an integer stream)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import packing
from ..datatypes import DataType, int_type, signed_bits_for
from . import npkernels
from .base import HWLayer, thresholds_apply

__all__ = ["Thresholding"]


class Thresholding(HWLayer):
    """``out[c] = out_bias + #{k : x[c] >= T[c, k]}`` on a stream of ``channels``-vectors."""

    op_type = "Thresholding"
    rtl_module = "thresholding"
    fold_param = "PE"

    def fold_total(self) -> int:
        return self.in_channels

    def __init__(
        self,
        name,
        thresholds,
        in_dtype: DataType,
        out_dtype: DataType,
        out_bias=0,
        *,
        num_vectors=1,
        pe=1,
    ):
        super().__init__(name)
        self.thresholds = np.asarray(thresholds, dtype=np.int64)
        if np.any(np.diff(self.thresholds, axis=1) < 0):
            raise ValueError(f"{name}: thresholds must be ascending")
        self.in_dtype = in_dtype
        self.out_dtype = out_dtype
        self.out_bias = int(out_bias)
        self.num_vectors = int(num_vectors)
        self.pe = 1
        self.set_folding(PE=pe)

    in_channels = property(lambda self: self.thresholds.shape[0])
    out_channels = property(lambda self: self.thresholds.shape[0])
    in_elems = property(lambda self: self.pe)
    out_elems = property(lambda self: self.pe)

    @property
    def t_bits(self) -> int:
        lo = min(int(self.thresholds.min()), self.in_dtype.min)
        hi = max(int(self.thresholds.max()), self.in_dtype.max + 1)
        return signed_bits_for(lo, hi)

    def execute(self, x):
        """Golden model, fast (:func:`.npkernels.count_thresholds` on the input's own integer
        dtype); equal to :meth:`execute_reference`, output in the narrowest integer dtype."""
        lo, hi = (-1, 1) if self.in_dtype.is_bipolar else (self.in_dtype.min, self.in_dtype.max)
        cnt = npkernels.count_thresholds(np.asarray(x), self.thresholds, lo, hi)
        if self.out_dtype.is_bipolar:
            return 2 * cnt.astype(np.int8) - 1
        n = self.thresholds.shape[1]
        return cnt.astype(npkernels.int_dtype(self.out_bias, self.out_bias + n)) + self.out_bias

    def execute_reference(self, x):
        """Golden model, plain int64 arithmetic (the specification :meth:`execute` meets)."""
        return thresholds_apply(
            np.asarray(x, np.int64), self.thresholds, self.out_bias, self.out_dtype
        )

    def expected_cycles(self):
        return self.num_vectors * self.in_channels // self.pe

    def write_memories(self, outdir):
        n = self.thresholds.shape[1]
        nf = self.in_channels // self.pe
        words = packing.pack(
            self.thresholds.reshape(nf, self.pe, n), int_type(self.t_bits), self.pe * n
        )
        p = Path(outdir) / f"{self.name}_thresholds.mem"
        p.write_text("\n".join(packing.to_hex(words, self.pe * n * self.t_bits)) + "\n")
        return [p]

    def rtl_params(self, mem_dir):
        return {
            "C": self.in_channels,
            "PE": self.pe,
            "IN_BITS": self.in_dtype.bits,
            "IN_SIGNED": int(self.in_dtype.signed and not self.in_dtype.is_bipolar),
            "T_BITS": self.t_bits,
            "N_THRES": int(self.thresholds.shape[1]),
            "OUT_BITS": self.out_dtype.bits,
            "OUT_BIAS": self.out_bias,
            "THRES_FILE": f"{mem_dir}/{self.name}_thresholds.mem",
        }

    def to_dict(self):
        d = super().to_dict()
        d.update(
            {
                "n_thresholds": int(self.thresholds.shape[1]),
                "out_bias": self.out_bias,
                "t_bits": self.t_bits,
            }
        )
        return d
