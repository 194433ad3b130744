"""Vector-vector-activation unit (VVAU): depthwise convolution, one filter per channel."""

from __future__ import annotations

import numpy as np

from .. import packing
from ..datatypes import DataType
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

    def rtl_params(self, mem_dir):
        return {"CH": self.ch, "PE": self.pe, "K": self.k, **self.accumulator_params(mem_dir)}

    def to_dict(self):
        d = super().to_dict()
        d.update({"window": self.k, **self.accumulator_dict()})
        return d
