"""Quantizer nodes and integer thresholds: the numerics shared by the host head and the
activation rules.

Functions here take the running :class:`~fpgagen.transforms.lower.core.Lowering` as ``lw``
(its ``consts`` hold the graph's constants plus those lowering added) and never change it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...datatypes import BIPOLAR, DataType, int_type, uint_type
from ...errors import UnsupportedModelError
from ...frontend import float_exec
from ...ir import Node
from .values import IntV

__all__ = [
    "MAX_ACT_BITS",
    "Quantizer",
    "codes_on",
    "eval_post",
    "out_scale",
    "per_channel",
    "quantizer",
    "thresholds",
]

MAX_ACT_BITS = 8


def per_channel(arr, shape) -> np.ndarray:
    """A constant broadcast against a tensor of ``shape`` -> one value per channel (axis 1).

    Raises ValueError when the constant varies inside a channel."""
    arr = np.asarray(arr, dtype=np.float64)
    full = np.broadcast_to(arr, shape)
    c = full.reshape(shape[0], shape[1], -1)[0]
    if np.any(c != c[:, :1]):
        raise ValueError("varies inside a channel")
    return c[:, 0].copy()


@dataclass
class Quantizer:
    """What lowering needs to know about a Quant / BipolarQuant / Trunc node."""

    node: Node
    dtype: DataType
    qmin: int
    qmax: int
    out_scale: np.ndarray  # float32, broadcastable to the tensor
    out_zeropt: np.ndarray
    consts: dict

    def codes(self, x: np.ndarray) -> np.ndarray:
        """Integer codes for float32 ``x``, computed exactly as QONNX computes them."""
        n = self.node
        if n.op_type == "BipolarQuant":
            return np.where(x >= 0, 1, -1)
        args = [x] + [self.consts[t] for t in n.inputs[1:]]
        return float_exec.quantizer_codes(n, args)

    @property
    def levels(self) -> np.ndarray:
        """The output levels a threshold is needed for (all but the lowest)."""
        if self.dtype.is_bipolar:
            return np.array([1])
        return np.arange(self.qmin + 1, self.qmax + 1)


def quantizer(lw, node: Node) -> Quantizer:
    """Read and check a quantizer node (constant parameters, supported bit width)."""
    consts = lw.consts
    for t in node.inputs[1:]:
        if t and t not in consts:
            raise UnsupportedModelError(
                f"{lw.where(node)}: quantizer parameter {t!r} must be constant"
            )
    scale = np.asarray(consts[node.inputs[1]], dtype=np.float32)
    if np.any(scale <= 0) or not np.all(np.isfinite(scale)):
        raise UnsupportedModelError(
            f"{lw.where(node)}: scale {scale.ravel()[:4]} must be positive and finite"
        )
    if node.op_type == "BipolarQuant":
        return Quantizer(node, BIPOLAR, -1, 1, scale, np.zeros_like(scale), consts)
    a = node.attrs
    signed, narrow = bool(a.get("signed", 1)), bool(a.get("narrow", 0))
    rm = str(a.get("rounding_mode", "ROUND")).upper()
    if rm not in float_exec.ROUNDING:
        raise UnsupportedModelError(
            f"{lw.where(node)}: rounding_mode {rm!r} is not supported; use one of "
            f"{', '.join(float_exec.ROUNDING)}"
        )
    zp = np.asarray(consts[node.inputs[2]], dtype=np.float32)
    if node.op_type == "Trunc":  # the output bit width decides the type
        out_bits_t = node.inputs[5] if len(node.inputs) == 6 else node.inputs[4]
        bits = float(np.asarray(consts[out_bits_t]).ravel()[0])
        if len(node.inputs) == 6:
            o_scale = np.asarray(consts[node.inputs[4]], dtype=np.float32)
            ts = 2.0 ** np.round(np.log2(o_scale / scale))
            o_zp = zp / ts
        else:  # v1: the output keeps the input scale (as QONNX executes it)
            o_scale, o_zp = scale, zp
            signed, narrow = True, False
    else:
        bits = float(np.asarray(consts[node.inputs[3]]).ravel()[0])
        o_scale, o_zp = scale, zp
    if bits != int(bits) or bits < 1:
        raise UnsupportedModelError(f"{lw.where(node)}: bit width {bits} must be an integer")
    if bits > MAX_ACT_BITS:
        raise UnsupportedModelError(
            f"{lw.where(node)}: activation bit width {int(bits)} is not supported; "
            f"use 1..{MAX_ACT_BITS} bits"
        )
    if np.any(zp != np.round(zp)):
        raise UnsupportedModelError(f"{lw.where(node)}: zero point must be an integer")
    bits = int(bits)
    if bits == 1 and signed and node.op_type == "Quant":
        return Quantizer(node, BIPOLAR, -1, 1, o_scale, o_zp, consts)
    lo, hi = float_exec.quant_int_range(signed, narrow, bits)
    dtype = int_type(bits) if signed else uint_type(bits)
    return Quantizer(node, dtype, lo, hi, o_scale, o_zp, consts)


def out_scale(lw, node: Node, qz: Quantizer, shape) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel scale and zero point of a quantizer's output of ONNX shape ``shape``."""
    try:
        return per_channel(qz.out_scale, shape), per_channel(qz.out_zeropt, shape)
    except ValueError:
        raise UnsupportedModelError(
            f"{lw.where(node)}: scale must be per-tensor or per-channel"
        ) from None


def eval_post(v: IntV, consts: dict, q: np.ndarray) -> np.ndarray:
    """Float image of integer values ``q`` of shape (K, C): post(float32(a*q + b))."""
    x = (v.a * q.astype(np.float64) + v.b).astype(np.float32)
    extra = len(v.shape) - 2
    x = x.reshape(x.shape + (1,) * extra) if extra > 0 else x
    for node in v.post:
        x = float_exec.run_node(node, [x if t == "__x__" else consts[t] for t in node.inputs if t])
    return x.reshape(q.shape)


def codes_on(v: IntV, consts: dict, qz: Quantizer, q: np.ndarray) -> np.ndarray:
    """The codes quantizer ``qz`` gives for the float image of integers ``q`` (K, C)."""
    x = eval_post(v, consts, q)
    extra = len(v.shape) - 2
    xs = x.reshape(x.shape + (1,) * extra) if extra > 0 else x
    return np.asarray(qz.codes(xs)).reshape(q.shape)


def thresholds(v: IntV, consts: dict, qz: Quantizer) -> np.ndarray:
    """Ascending thresholds (C, levels): the least integer reaching each output level.

    Found by bisection over the exact integer range ``[v.lo, v.hi]`` of every channel; a level
    never reached gets ``hi + 1``."""
    c = len(v.lo)
    levels = qz.levels
    n = levels.size
    lo = np.asarray(v.lo, dtype=np.int64)
    hi = np.asarray(v.hi, dtype=np.int64)
    left = np.broadcast_to(lo, (n, c)).copy()
    right = np.broadcast_to(hi + 1, (n, c)).copy()  # hi+1: never reached
    lv = levels[:, None]
    for _ in range(80):
        active = left < right
        if not active.any():
            break
        mid = (left + right) // 2
        ok = codes_on(v, consts, qz, mid) >= lv
        right = np.where(active & ok, mid, right)
        left = np.where(active & ~ok, mid + 1, left)
    else:  # pragma: no cover - the range is at most 2^40 wide
        raise AssertionError("threshold bisection did not converge")
    return np.maximum.accumulate(left.T.copy(), axis=1)
