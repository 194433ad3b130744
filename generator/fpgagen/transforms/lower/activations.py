"""Activations: elementwise float ops on a stream (kept as the stream's float function) and
quantizers on a stream (integer thresholds).

A quantizer (Quant, BipolarQuant, Trunc) on an integer stream becomes, for each channel and
output level, the least integer whose float image quantizes to at least that level (bisection
over the exact integer range, :func:`~.quantizers.thresholds`). The thresholds attach to the
producing MVAU/VVAU, or become a standalone Thresholding layer, or nothing when the mapping is
the identity. Channels whose function decreases are negated in the weights.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np

from ...datatypes import int_type, uint_type
from ...errors import UnsupportedModelError
from ...ir import Node
from ...layers import Thresholding
from .core import LoweringRule, lowering_rule
from .head import QUANTIZERS
from .pooling import emit_maxpool
from .quantizers import Quantizer, codes_on, out_scale, quantizer, thresholds
from .values import IntV

__all__ = ["ELEMENTWISE", "LowerElementwise", "LowerQuantizer"]

ELEMENTWISE = ("Mul", "Add", "Sub", "Div", "Neg", "Relu", "BatchNormalization", "Identity")


def _const_operand(lw, node: Node, channels: int) -> int:
    """Index of the tensor input; checks the constant operands are per-tensor or per-channel."""
    dyn = [i for i, t in enumerate(node.inputs) if t and t not in lw.consts]
    if len(dyn) != 1:
        raise UnsupportedModelError(
            f"{lw.where(node)}: needs exactly one non-constant input, has {len(dyn)}"
        )
    for t in node.inputs:
        if t and t in lw.consts:
            c = np.asarray(lw.consts[t])
            if c.size not in (1, channels) and node.op_type != "BatchNormalization":
                raise UnsupportedModelError(
                    f"{lw.where(node)}: constant {t!r} of shape {c.shape} is not per-tensor "
                    f"or per-channel ({channels} channels)"
                )
    return dyn[0]


def _sign_of(lw, node: Node, pos: int, channels: int) -> np.ndarray:
    """Per-channel monotonic direction (+1/-1) of an elementwise node w.r.t. its input."""
    one = np.ones(channels)
    op = node.op_type
    consts = [
        np.asarray(lw.consts[t], dtype=np.float64) for t in node.inputs if t and t in lw.consts
    ]

    def per_channel(c):
        return np.sign(
            np.broadcast_to(c.ravel(), (channels,)) if c.size > 1 else one * c.ravel()[0]
        )

    if op in ("Relu", "Identity", "Add"):
        return one
    if op == "Neg":
        return -one
    if op == "Sub":
        return one if pos == 0 else -one
    if op == "Mul":
        return per_channel(consts[0])
    if op == "Div":
        if pos != 0:
            raise UnsupportedModelError(
                f"{lw.where(node)}: division by a tensor is not monotonic; not supported"
            )
        return per_channel(consts[0])
    if op == "BatchNormalization":
        return per_channel(np.asarray(lw.consts[node.inputs[1]], dtype=np.float64))
    raise UnsupportedModelError(f"{lw.where(node)} is not supported here")


@lowering_rule
class LowerElementwise(LoweringRule):
    """An elementwise op with constant operands (per-tensor or per-channel) on a stream: no
    hardware; it joins the stream's float function and its monotonic direction."""

    ops = ELEMENTWISE
    takes_pooled = True

    def lower(self, lw, node: Node, x: IntV) -> IntV:
        pos = _const_operand(lw, node, x.channels)
        ins = list(node.inputs)
        ins[pos] = "__x__"
        pnode = Node(node.op_type, node.name, ins, ["__y__"], dict(node.attrs), node.domain)
        d = _sign_of(lw, node, pos, x.channels)
        v = copy.copy(x)
        v.shape = lw.shape(node.outputs[0])
        v.post = x.post + [pnode]
        v.direction = d if x.direction is None else x.direction * d
        return v


@lowering_rule
class LowerQuantizer(LoweringRule):
    """A quantizer on a stream: thresholds on the producing MVAU/VVAU, a Thresholding layer,
    or nothing (identity); deferred max-pools are emitted after it."""

    ops = QUANTIZERS
    takes_pooled = True

    def lower(self, lw, node: Node, x: IntV) -> IntV:
        qz = quantizer(lw, node)
        if node.op_type == "Trunc" and len(node.inputs) == 5:
            qz = _trunc_v1_type(lw, node, x, qz)
        c = len(x.lo)
        d = np.ones(c) if x.direction is None else np.asarray(x.direction, dtype=np.float64)
        d = np.where(x.a < 0, -d, d)
        d = np.where(x.a == 0, 1, d)
        if x.pending:
            if (d < 0).any():
                x = _negate_channels(x.src, x, d < 0)
        elif np.any(d < 0):
            raise UnsupportedModelError(
                f"{lw.where(node)}: re-quantisation with a negative scale is not supported"
            )
        shape = lw.shape(node.outputs[0])
        s, z = out_scale(lw, node, qz, shape)
        if x.perm is not None:
            s, z = (
                np.broadcast_to(s, (1,))[0] * np.ones(c),
                np.broadcast_to(z, (1,))[0] * np.ones(c),
            )
        out_bias = 0 if qz.dtype.is_bipolar else qz.qmin
        if not x.pending and _is_identity(lw, x, qz):
            v = copy.copy(x)
            v.shape, v.a, v.b, v.post, v.direction = shape, s, -s * z, [], None
            return v
        t = thresholds(x, lw.consts, qz)
        if x.pending:
            lay = x.src
            lay.set_thresholds(t, out_bias, qz.dtype)
            stream = lay.outs[0]
        else:
            lay = Thresholding(
                lw.uniq(node.name or "thresholding"),
                t,
                x.dtype,
                qz.dtype,
                out_bias,
                num_vectors=x.num_vectors,
            )
            (stream,) = lw.add(lay, [x.stream])
        v = IntV(
            lay,
            stream,
            qz.dtype,
            shape,
            np.full(c, qz.qmin),
            np.full(c, qz.qmax),
            s,
            -s * z,
            perm=x.perm,
        )
        for pnode, k, st, pads in x.pools:
            v = emit_maxpool(lw, pnode, v, k, st, pads)
        if v.shape != shape:
            raise UnsupportedModelError(f"{lw.where(node)}: unexpected output shape {shape}")
        return v


def _trunc_v1_type(lw, node: Node, x: IntV, qz: Quantizer) -> Quantizer:
    """Trunc v1 does not clip: its codes span what the input's range gives. Signed when some
    can be negative, else unsigned, of the node's output bit width."""
    ends = codes_on(x, lw.consts, qz, np.stack([np.asarray(x.lo), np.asarray(x.hi)]))
    lo, hi = int(ends.min()), int(ends.max())
    bits = qz.dtype.bits
    dtype = int_type(bits) if lo < 0 else uint_type(bits)
    if lo < dtype.min or hi > dtype.max:
        raise UnsupportedModelError(
            f"{lw.where(node)}: Trunc (v1) gives codes {lo}..{hi} on its input, more than its "
            f"{bits}-bit output holds; check the input bit width or use Trunc v2"
        )
    return dataclasses.replace(qz, dtype=dtype, qmin=dtype.min, qmax=dtype.max)


def _is_identity(lw, x: IntV, qz: Quantizer) -> bool:
    """True when re-quantising ``x`` gives back exactly its integer values."""
    if qz.dtype != x.dtype or len(x.lo) > 4096:
        return False
    lo, hi = int(np.min(x.lo)), int(np.max(x.hi))
    if (lo, hi) != (qz.qmin, qz.qmax) or hi - lo > 255:
        return False
    q = np.broadcast_to(np.arange(lo, hi + 1)[:, None], (hi - lo + 1, len(x.lo)))
    return bool(np.array_equal(codes_on(x, lw.consts, qz, q), q))


def _negate_channels(lay, x: IntV, neg: np.ndarray) -> IntV:
    """Negate the weight rows of decreasing channels so every channel increases."""
    w = lay.weights.copy()
    w[neg] = -w[neg]
    w_dtype = lay.w_dtype
    if not w_dtype.allowed(w):
        w_dtype = int_type(w_dtype.bits + 1)
    lay.weights, lay.w_dtype = w, w_dtype
    a = np.where(neg, -x.a, x.a)
    b = np.where(neg, x.b + x.a * lay.mw, x.b) if lay.xnor_popcount else x.b
    lo, hi = lay.acc_range()
    v = copy.copy(x)
    v.lo, v.hi, v.a, v.b, v.direction = lo, hi, a, b, np.ones_like(x.a)
    return v
