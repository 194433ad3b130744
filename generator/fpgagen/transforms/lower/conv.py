"""Conv with quantized constant weights on a quantized feature map: [padding ->] sliding window
-> MVAU (dense or grouped convolution, per-kernel-pixel SYQ scales as group multipliers), or a
VVAU for a depthwise convolution."""

from __future__ import annotations

from fractions import Fraction
from math import gcd

import numpy as np

from ...datatypes import TERNARY
from ...errors import UnsupportedModelError
from ...ir import Node
from ...layers import VVAU
from .core import LoweringRule, lowering_rule
from .matmul import input_affine, make_mvau, quantized_weights, uniform_input
from .values import IntV
from .windows import attr_pair, pad_stage, pad_value, sliding_window

__all__ = ["MAX_GROUP_MULT", "LowerConv", "pixel_scales"]

#: largest group multiplier of a grouped MVAU (exclusive): 16-bit unsigned multipliers
MAX_GROUP_MULT = 2**16


def pixel_scales(lw, node: Node, scale, wshape, group: int):
    """Per-kernel-pixel weight scales of a Conv (SYQ) as integer group multipliers.

    ``scale`` broadcasts to the weight shape ``(OC, IC, KH, KW)`` and varies over the kernel
    pixels. Supported: constant over the input channels, every value ``m * 2^-F`` with a
    positive integer ``m``, a convolution with ``group == 1``. Returns ``(mult, s_row)``:
    ``mult`` is ``(OC, KH*KW)`` (pixel ``ky*KW + kx``, the MVAU's column-group order) and
    ``s_row`` the per-output-channel float64 factor, so that ``scale[o, :, ky, kx] ==
    s_row[o] * mult[o, ky*KW + kx]`` exactly; ``s_row[o] = c[o] * 2^-F`` where ``c[o]`` is the
    greatest common divisor of the row's integers (the smallest multipliers). ``lw`` is
    anything with ``where(node)`` (a Lowering or a Graph).
    """
    oc, _icg, kh, kw = wshape
    s = np.broadcast_to(np.asarray(scale, dtype=np.float64), wshape)
    where = lw.where(node)
    supported = (
        "supported weight scales are per-tensor, per-output-channel (OC, 1, 1, 1) or "
        "per-kernel-pixel (1 or OC, 1, KH, KW) fixed-point values m * 2^-F"
    )
    if np.any(s != s[:, :1]):
        raise UnsupportedModelError(
            f"{where}: weight scale varies over the input channels; {supported}"
        )
    if group != 1:
        raise UnsupportedModelError(
            f"{where}: per-kernel-pixel weight scales on a grouped/depthwise convolution "
            f"(group={group}) are not supported; only with group=1 ({supported})"
        )
    px = s[:, 0].reshape(oc, kh * kw)
    if not np.all(np.isfinite(px)) or np.any(px <= 0):
        bad = px[~(np.isfinite(px) & (px > 0))].ravel()[0]
        raise UnsupportedModelError(
            f"{where}: per-kernel-pixel weight scale {bad:g} is not positive; {supported}"
        )
    fr = {v: Fraction(v) for v in np.unique(px).tolist()}  # exact: denominators 2^k
    den = max(f.denominator for f in fr.values())
    ints = np.array([[int(fr[v] * den) for v in row] for row in px.tolist()], dtype=object)
    c = [0] * oc
    for o in range(oc):
        for v in ints[o]:
            c[o] = gcd(c[o], int(v))
    mult = np.array([[int(v) // c[o] for v in ints[o]] for o in range(oc)], dtype=np.int64)
    if mult.max() >= MAX_GROUP_MULT:
        o, p = np.unravel_index(int(np.argmax(mult)), mult.shape)
        raise UnsupportedModelError(
            f"{where}: per-kernel-pixel weight scales {px[o].tolist()} of output channel {o} "
            f"are not fixed-point values m * 2^-F with a common F and m < {MAX_GROUP_MULT} "
            f"(they need m = {int(mult[o, p])}); {supported}"
        )
    s_row = np.array([float(Fraction(c[o], den)) for o in range(oc)])
    assert np.array_equal(s_row[:, None] * mult, px)  # exact decomposition
    return mult, s_row


@lowering_rule
class LowerConv(LoweringRule):
    """2D Conv (dilation 1, explicit pads) of a quantized feature map; a bias is added on the
    host after the thresholds' input."""

    ops = ("Conv",)

    def lower(self, lw, node: Node, x: IntV) -> IntV:
        at = node.attrs
        if len(x.shape) != 4:
            raise UnsupportedModelError(f"{lw.where(node)}: only 2D convolutions are supported")
        if not x.quantized:
            raise UnsupportedModelError(
                f"{lw.where(node)} consumes a non-quantized tensor; put a quantizer in front"
            )
        dil = attr_pair(node, "dilations", [1, 1])
        if dil != (1, 1):
            raise UnsupportedModelError(
                f"{lw.where(node)}: attribute dilations={list(dil)} is not supported; only "
                "dilation 1"
            )
        if at.get("auto_pad", "NOTSET") not in ("NOTSET", b"NOTSET"):
            raise UnsupportedModelError(
                f"{lw.where(node)}: attribute auto_pad={at['auto_pad']!r} is not supported; "
                "export with explicit pads"
            )
        q = quantized_weights(lw, node, node.inputs[1])
        codes = q.codes  # (OC, IC/g, KH, KW)
        oc, icg, kh, kw = codes.shape
        group = int(at.get("group", 1))
        ic = x.channels
        if icg * group != ic:
            raise UnsupportedModelError(f"{lw.where(node)}: weight/input channel mismatch")
        s_full = np.broadcast_to(q.scale, codes.shape).reshape(oc, -1)
        group_mult = None
        if np.any(s_full != s_full[:, :1]):
            # SYQ: one scale per kernel pixel (and possibly per output channel)
            group_mult, s_row = pixel_scales(lw, node, q.scale, codes.shape, group)
            s_full = np.broadcast_to(s_row[:, None], s_full.shape)
        pads = [int(p) for p in at.get("pads", [0, 0, 0, 0])]
        stride = attr_pair(node, "strides", [1, 1])
        hw = x.spatial
        stream = x.stream
        if any(pads):
            stream, hw = pad_stage(lw, node, x, stream, hw, pads, pad_value(lw, node, x, "Conv"))
        swu = sliding_window(lw, node, x, hw, (kh, kw), stride)
        if (kh, kw) != (1, 1) or stride != (1, 1):
            (stream,) = lw.add(swu, [stream])  # a 1x1/1 convolution needs no window
        if group == ic == oc and icg == 1:
            return self.depthwise(lw, node, x, q, codes, s_full[:, 0], stream, swu)
        if group == 1:
            wmat = codes.transpose(0, 2, 3, 1).reshape(oc, kh * kw * ic)
        else:
            if q.dtype.is_bipolar:
                raise UnsupportedModelError(
                    f"{lw.where(node)}: grouped/depthwise convolution with BIPOLAR weights is "
                    "not supported; use ternary or integer weights"
                )
            full = np.zeros((oc, kh, kw, ic), dtype=np.int64)
            per = oc // group
            for o in range(oc):
                gi = o // per
                full[o, :, :, gi * icg : (gi + 1) * icg] = codes[o].transpose(1, 2, 0)
            wmat = full.reshape(oc, kh * kw * ic)
        lay, ka, kb = make_mvau(
            lw,
            node,
            x,
            wmat.astype(np.int64),
            q.dtype,
            s_full[:, 0].astype(np.float64),
            swu.num_vectors,
            stream,
            group_mult=group_mult,
        )
        lay.conv = {"kernel": [kh, kw], "stride": list(stride), "pads": pads, "group": group}
        lo, hi = lay.acc_range()
        shape = lw.shape(node.outputs[0])
        if shape[2:] != (swu.ofm_h, swu.ofm_w):
            raise UnsupportedModelError(f"{lw.where(node)}: unexpected output shape {shape}")
        v = IntV(lay, lay.outs[0], lay.out_dtype, shape, lo, hi, ka, kb)
        self.bias(lw, node, v, oc)
        return v

    @staticmethod
    def bias(lw, node: Node, v: IntV, channels: int) -> None:
        if len(node.inputs) > 2 and node.inputs[2]:
            value = np.asarray(lw.consts[node.inputs[2]], np.float32).reshape(1, channels, 1, 1)
            lw.add_bias(v, node, "conv_bias", value)

    def depthwise(self, lw, node, x, q, codes, s_w, stream, swu) -> IntV:
        """Depthwise convolution: a VVAU after the sliding window (one filter per channel)."""
        a, b = uniform_input(lw, node, x)
        c = x.channels
        w = codes.reshape(c, -1).astype(np.int64)  # (C, KH*KW), window position ky*KW + kx
        w_dtype = TERNARY if q.dtype.name == "INT2" and w.min() >= -1 else q.dtype
        lay = VVAU(
            lw.uniq(node.name or "vvau"),
            w,
            x.dtype,
            w_dtype,
            in_range=(int(np.min(x.lo)), int(np.max(x.hi))),
            num_vectors=swu.num_vectors,
        )
        lw.add(lay, [stream])
        s_w = np.asarray(s_w, dtype=np.float64)
        rowsum = w.sum(axis=1).astype(np.float64)
        ka, kb = input_affine(a, b, s_w, rowsum, w.shape[1], lay.xnor)
        lo, hi = lay.acc_range()
        v = IntV(lay, lay.outs[0], lay.out_dtype, lw.shape(node.outputs[0]), lo, hi, ka, kb)
        self.bias(lw, node, v, c)
        return v
