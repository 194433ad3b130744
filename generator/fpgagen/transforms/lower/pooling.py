"""Pooling: MaxPool on the quantized codes ([padding ->] sliding window -> Pool "max"; deferred
past a pending accumulator until its thresholds, which is exact because the quantizer is
monotonic); AveragePool as a window sum and GlobalAveragePool as a per-channel frame sum, with
the division folded into the stream's scale."""

from __future__ import annotations

import copy

import numpy as np

from ...errors import UnsupportedModelError
from ...ir import Node
from ...layers import GlobalAccPool, Pool
from .core import LoweringRule, lowering_rule
from .values import IntV
from .windows import attr_pair, pad_stage, pad_value, sliding_window

__all__ = ["LowerAveragePool", "LowerMaxPool", "emit_maxpool", "pool_window"]


def pool_window(lw, node: Node, x: IntV):
    """``(kernel, stride, pads)`` of a pooling node; ``ceil_mode`` becomes extra end padding."""
    at = node.attrs
    k = attr_pair(node, "kernel_shape", None)
    s = attr_pair(node, "strides", [1, 1])
    if tuple(at.get("dilations", [1, 1])) != (1, 1):
        raise UnsupportedModelError(
            f"{lw.where(node)}: attribute dilations={list(at['dilations'])} is not "
            "supported; only dilation 1"
        )
    pads = [int(p) for p in at.get("pads", [0, 0, 0, 0])]
    if at.get("ceil_mode", 0):
        h, w = x.spatial
        for axis, (dim, kk, ss) in enumerate(((h, k[0], s[0]), (w, k[1], s[1]))):
            span = dim + pads[axis] + pads[axis + 2]
            extra = (-(span - kk)) % ss
            pads[axis + 2] += extra
    return k, s, pads


def emit_maxpool(lw, node: Node, x: IntV, k, s, pads) -> IntV:
    """Add [padding with the lowest code ->] sliding window -> Pool "max" on stream ``x``."""
    hw = x.spatial
    stream = x.stream
    if any(pads):
        lo = -1 if x.dtype.is_bipolar else x.dtype.min
        stream, hw = pad_stage(lw, node, x, stream, hw, pads, lo)
    swu = sliding_window(lw, node, x, hw, k, s)
    (stream,) = lw.add(swu, [stream])
    pool = Pool(
        lw.uniq(node.name or "maxpool"),
        x.dtype,
        x.channels,
        k[0] * k[1],
        "max",
        swu.num_vectors,
    )
    (stream,) = lw.add(pool, [stream])
    v = copy.copy(x)
    v.src, v.stream = pool, stream
    v.shape = (1, x.channels, swu.ofm_h, swu.ofm_w)
    return v


@lowering_rule
class LowerMaxPool(LoweringRule):
    """MaxPool of a quantized map, or deferred (``IntV.pools``) on a pending accumulator."""

    ops = ("MaxPool",)
    takes_pooled = True

    def lower(self, lw, node: Node, x: IntV) -> IntV:
        k, s, pads = pool_window(lw, node, x)
        shape = lw.shape(node.outputs[0])
        if x.pending or x.pools:
            # max-pool commutes with the (monotonic) quantizer that must follow: pool the codes
            v = copy.copy(x)
            v.pools = x.pools + [(node, k, s, pads)]
            v.shape = shape
            return v
        if not x.quantized:
            raise UnsupportedModelError(
                f"{lw.where(node)}: MaxPool after elementwise ops on a quantized tensor is not "
                "supported"
            )
        if tuple(x.a.min(keepdims=True)) <= (0,):
            raise UnsupportedModelError(f"{lw.where(node)}: MaxPool on a negative scale")
        v = emit_maxpool(lw, node, x, k, s, pads)
        if v.shape != shape:
            raise UnsupportedModelError(f"{lw.where(node)}: unexpected output shape {shape}")
        return v


@lowering_rule
class LowerAveragePool(LoweringRule):
    """AveragePool (count_include_pad when padded) and GlobalAveragePool of a quantized map:
    the hardware sums, the stream's scale divides."""

    ops = ("AveragePool", "GlobalAveragePool")

    def lower(self, lw, node: Node, x: IntV) -> IntV:
        if not x.quantized or len(x.shape) != 4:
            raise UnsupportedModelError(
                f"{lw.where(node)}: average pooling needs a quantized (N, C, H, W) input"
            )
        ab = x.uniform()
        a, b = ab if ab is not None else (x.a, x.b)
        h, w = x.spatial
        if node.op_type == "GlobalAveragePool":
            lay = GlobalAccPool(lw.uniq(node.name or "gap"), x.dtype, x.channels, h * w)
            (stream,) = lw.add(lay, [x.stream])
            kk, shape_hw = h * w, (1, 1)
        else:
            k, s, pads = pool_window(lw, node, x)
            stream, hw = x.stream, (h, w)
            if any(pads):
                if not node.attrs.get("count_include_pad", 0):
                    raise UnsupportedModelError(
                        f"{lw.where(node)}: padding with count_include_pad=0 is not supported"
                    )
                pv = pad_value(lw, node, x, "AveragePool")
                stream, hw = pad_stage(lw, node, x, stream, hw, pads, pv)
            swu = sliding_window(lw, node, x, hw, k, s)
            (stream,) = lw.add(swu, [stream])
            lay = Pool(
                lw.uniq(node.name or "avgpool"),
                x.dtype,
                x.channels,
                k[0] * k[1],
                "sum",
                swu.num_vectors,
            )
            (stream,) = lw.add(lay, [stream])
            kk, shape_hw = k[0] * k[1], (swu.ofm_h, swu.ofm_w)
        shape = lw.shape(node.outputs[0])
        if shape[2:] != shape_hw:
            raise UnsupportedModelError(f"{lw.where(node)}: unexpected output shape {shape}")
        a = np.broadcast_to(np.asarray(a, np.float64), (x.channels,))
        b = np.broadcast_to(np.asarray(b, np.float64), (x.channels,))
        if x.dtype.is_bipolar:  # the pool counts +1s: sum(q) = 2*count - K
            na, nb = 2 * a / kk, b - a
            lo, hi = np.zeros(x.channels), np.full(x.channels, kk)
        else:
            na, nb = a / kk, b
            lo, hi = kk * np.asarray(x.lo), kk * np.asarray(x.hi)
        return IntV(
            lay, stream, lay.out_dtype, shape, lo.astype(np.int64), hi.astype(np.int64), na, nb
        )
