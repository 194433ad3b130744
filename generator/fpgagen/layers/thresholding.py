"""Standalone multi-threshold activation (re-quantisation of an integer stream)."""

from __future__ import annotations

import numpy as np

from .. import packing
from ..datatypes import DataType, int_type, signed_bits_for
from ..errors import FpgagenError
from . import npkernels
from .base import HWLayer, thresholds_apply
from .hw import Memory, SignedInt, dtype_fields
from .memory import memory_style

__all__ = ["Thresholding"]


class Thresholding(HWLayer):
    """``out[c] = out_bias + #{k : x[c] >= T[c, k]}`` on a stream of ``channels``-vectors."""

    op_type = "Thresholding"
    rtl_module = "thresholding"
    fold_param = "PE"
    cpu_op = "threshold"

    def cpu_spec(self, consts: dict, prefix: str) -> dict:
        tn = f"{prefix}{self.name}.thresholds"
        consts[tn] = np.asarray(self.thresholds, dtype=np.int64)
        return {
            "op": self.cpu_op,
            "name": self.name,
            "thresholds": tn,
            "out_bias": int(self.out_bias),
            "bipolar_out": self.out_dtype.is_bipolar,
        }

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

    def threshold_words(self) -> np.ndarray:
        """Threshold memory words (docs/conventions.md): line = channel fold."""
        n = self.thresholds.shape[1]
        nf = self.in_channels // self.pe
        return packing.pack(
            self.thresholds.reshape(nf, self.pe, n), int_type(self.t_bits), self.pe * n
        )

    def hw_params(self) -> dict:
        n = int(self.thresholds.shape[1])
        tbits = self.pe * n * self.t_bits
        return {
            "C": self.in_channels,
            "PE": self.pe,
            "NV": self.num_vectors,
            **dtype_fields("IN", self.in_dtype),
            "T_BITS": self.t_bits,
            "N_THRES": n,
            "OUT_BITS": self.out_dtype.bits,
            "OUT_BIAS": SignedInt(0 if self.out_dtype.is_bipolar else self.out_bias),
            "thresholds": Memory(
                "thresholds",
                self.threshold_words(),
                tbits,
                self.pe,
                memory_style(self.in_channels // self.pe, tbits),
            ),
        }

    rtl_names = (
        "C",
        "PE",
        "IN_BITS",
        "IN_SIGNED",
        "T_BITS",
        "N_THRES",
        "OUT_BITS",
        "OUT_BIAS",
        "THRES_FILE=thresholds",
    )
    hls_names = (
        "CH=C",
        "PE",
        "NV",
        "IN_KIND",
        "IN_BITS",
        "T_BITS",
        "N_THRES",
        "OUT_BIAS",
        "OUT_BITS",
        "T_CB=thresholds.cb",
        "T_NC=thresholds.nc",
    )
    hls_lib = "thresholding.h"
    hls_func = "thresholding"
    # the threshold ROM, comparators and count are the MVAU's (rtl/mt_count.v): one
    # coefficient set for both, fitted on all their designs (docs/cost_model.md)
    cost_coef = "MVAU"
    hls_template = "hls_layer_thresholding.h.j2"

    def check_hw(self) -> None:
        n_thr = int(self.thresholds.shape[1])
        if n_thr < 1:
            raise FpgagenError(
                f"layer {self.name} (Thresholding): needs at least one threshold per channel"
            )
        if self.out_dtype.is_bipolar and n_thr != 1:
            raise FpgagenError(
                f"layer {self.name} (Thresholding): a BIPOLAR output needs exactly 1 threshold "
                f"per channel, got {n_thr}"
            )

    def need(self) -> np.ndarray:
        return self._need_streaming()

    def work(self) -> dict:
        w = super().work()
        if self.thresholds.size:
            w["threshold_bits"] = int(self.thresholds.size) * int(self.t_bits)
        return w

    def cost_features(self, cm) -> dict:
        l = self
        pe = l.pe
        nf = l.in_channels // pe
        tb, ib, ob = l.t_bits, l.in_dtype.bits, l.out_dtype.bits
        f = {
            "const": 1.0,
            "ctrl": cm.counter_bits(nf),
            # comparator bank, count, output register and skid per PE with its share of a
            # soft-logic threshold memory (cm.act_features: Yosys on this module in
            # isolation), by the comparison's width (cm.mt_count_width)
            "act": 0.0,
            "act_rom": 0.0,
        }
        tmem = dict(cm.NO_MEMORY)
        tvar = tdist = 0
        if nf > 1:  # mapped with its varying bits, costed with its distinct columns
            tvar, tdist = cm.threshold_columns(l.thresholds, pe, tb)
            tmem = cm.map_memory(nf, tvar, True, "auto")
        n_eff = cm.distinct_thresholds(l.thresholds, pe)  # equal columns share a comparator
        width = cm.mt_count_width(l.in_dtype)
        a = cm.act_features(n_eff, width, nf, tdist / pe, tmem["kind"], "thresholding", pe)
        f["act"] = pe * a["act"]
        f["act_rom"] = pe * a["act_rom"]
        ff = {
            "const": 1.0,
            "ctrl": cm.counter_bits(nf),
            "in": pe * ib,
            "thr": cm.mem_ffs(tmem, nf, tvar, True) if nf > 1 else 0.0,
            "out": pe * ob,
        }
        return {"lut": f, "ff": ff, "mem": {"bram18": tmem["bram18"], "uram": 0, "dsp": 0}}

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
