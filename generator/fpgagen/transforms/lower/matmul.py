"""MatMul / Gemm with quantized constant weights on a quantized stream: an MVAU.

Also the helpers every weight layer shares (weight checks, the MVAU constructor and the affine
``a, b`` that input and weight scales, zero points and the XNOR popcount offset give)."""

from __future__ import annotations

import numpy as np

from ...datatypes import TERNARY, DataType
from ...errors import UnsupportedModelError
from ...ir import Node
from ...layers import MVAU
from .core import LoweringRule, lowering_rule
from .values import IntV

__all__ = ["MAX_WEIGHT_BITS", "LowerMatMul", "input_affine", "make_mvau", "quantized_weights"]

MAX_WEIGHT_BITS = 8


def quantized_weights(lw, node: Node, name: str):
    """The :class:`~fpgagen.ir.QuantizedConst` of weight ``name``, checked for hardware."""
    if name not in lw.qconsts:
        raise UnsupportedModelError(
            f"{lw.where(node)}: weight {name!r} is not a quantized constant; use Brevitas "
            "quantized layers with integer/binary/ternary weights"
        )
    q = lw.qconsts[name]
    if np.any(q.zeropt != 0):
        raise UnsupportedModelError(f"{lw.where(node)}: weight zero point must be 0")
    if q.dtype.bits > MAX_WEIGHT_BITS:
        raise UnsupportedModelError(
            f"{lw.where(node)}: weight type {q.dtype} is not supported; use at most "
            f"{MAX_WEIGHT_BITS}-bit weights"
        )
    return q


def uniform_input(lw, node: Node, x: IntV) -> tuple[float, float]:
    """The per-tensor ``(a, b)`` of a weight layer's input (per-channel is not supported)."""
    ab = x.uniform()
    if ab is None:
        raise UnsupportedModelError(
            f"{lw.where(node)}: input scale/zero point must be per-tensor, got per-channel"
        )
    return ab


def input_affine(a, b, s_w, rowsum, k: int, xnor: bool, alpha: float = 1.0):
    """``(ka, kb)`` of a dot product of ``k`` inputs ``a*q + b`` with weights ``s_w * w``
    (``rowsum`` = sum of each row of ``w``); with ``xnor`` the layer computes popcounts,
    ``dot = 2*popcount - k``."""
    if xnor:
        return alpha * 2 * a * s_w, alpha * (-k * a * s_w + b * s_w * rowsum)
    return alpha * a * s_w, alpha * b * s_w * rowsum


def make_mvau(
    lw,
    node: Node,
    x: IntV,
    w: np.ndarray,
    w_dtype: DataType,
    s_w: np.ndarray,
    num_vectors: int,
    in_stream: str,
    alpha: float = 1.0,
    group_mult=None,
) -> tuple:
    """Add an MVAU for integer weights ``w`` (MH, MW) reading ``in_stream``; returns
    ``(layer, a, b)`` of its accumulator.

    The float weights are ``s_w[o] * w[o, k]``, or with ``group_mult`` (MH, G)
    ``s_w[o] * group_mult[o, k // (MW/G)] * w[o, k]`` (a grouped MVAU)."""
    a, b = uniform_input(lw, node, x)
    if w_dtype.name == "INT2" and w.min() >= -1:
        w_dtype = TERNARY
    if not w_dtype.allowed(w):
        w_dtype = DataType("INT8") if w_dtype.is_bipolar else w_dtype
    lay = MVAU(
        lw.uniq(node.name or "mvau"),
        w,
        x.dtype,
        w_dtype,
        in_range=(int(np.min(x.lo)), int(np.max(x.hi))),
        num_vectors=num_vectors,
        group_mult=group_mult,
    )
    lw.add(lay, [in_stream])
    rowsum = lay.acc_weights().sum(axis=1).astype(np.float64)
    ka, kb = input_affine(a, b, s_w, rowsum, w.shape[1], lay.xnor_popcount, alpha)
    return lay, ka, kb


@lowering_rule
class LowerMatMul(LoweringRule):
    """MatMul / Gemm of a quantized ``(N, features)`` stream by quantized constant weights:
    an MVAU; a Gemm bias (times ``beta``) is added on the host after the thresholds' input."""

    ops = ("MatMul", "Gemm")

    def lower(self, lw, node: Node, x: IntV) -> IntV:
        if not x.quantized:
            raise UnsupportedModelError(
                f"{lw.where(node)} consumes a non-quantized tensor; every MatMul/Gemm input "
                "must come straight from a quantizer"
            )
        if len(x.shape) != 2:
            raise UnsupportedModelError(
                f"{lw.where(node)}: MatMul on a tensor of shape {x.shape}; flatten it first"
            )
        q = quantized_weights(lw, node, node.inputs[1])
        codes, scale = q.codes, q.scale
        at = node.attrs
        is_gemm = node.op_type == "Gemm"
        if is_gemm:
            if at.get("transA", 0):
                raise UnsupportedModelError(f"{lw.where(node)}: transA=1 is not supported")
            if at.get("transB", 0):
                codes, scale = codes.T, scale.T
        if codes.ndim != 2:
            raise UnsupportedModelError(f"{lw.where(node)}: weight must be a matrix")
        if np.any(scale != scale[:1, :]):
            raise UnsupportedModelError(
                f"{lw.where(node)}: weight scale varies along the input axis; only per-tensor "
                "or per-output-channel scales are supported"
            )
        if codes.shape[0] != len(x.lo):
            raise UnsupportedModelError(
                f"{lw.where(node)}: input has {len(x.lo)} features, weight expects {codes.shape[0]}"
            )
        if x.perm is not None:
            codes = codes[x.perm, :]
        w = codes.T.astype(np.int64)  # (MH, MW) in stream order
        alpha = float(at.get("alpha", 1.0)) if is_gemm else 1.0
        lay, ka, kb = make_mvau(
            lw, node, x, w, q.dtype, scale[0, :].astype(np.float64), 1, x.stream, alpha
        )
        lo, hi = lay.acc_range()
        v = IntV(lay, lay.outs[0], lay.out_dtype, lw.shape(node.outputs[0]), lo, hi, ka, kb)
        if is_gemm and len(node.inputs) > 2 and node.inputs[2]:
            bias = np.asarray(lw.consts[node.inputs[2]], np.float32) * np.float32(
                at.get("beta", 1.0)
            )
            if bias.size not in (1, w.shape[0]):
                raise UnsupportedModelError(f"{lw.where(node)}: bias must be per-channel")
            lw.add_bias(v, node, "gemm_bias", bias)
        return v
