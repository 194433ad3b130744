"""Reshape / Flatten of a stream (only to ``(N, features)``: a flattened feature map keeps its
NHWC stream order and records the ONNX feature index of each element); Transpose of an
activation tensor is rejected."""

from __future__ import annotations

import copy

import numpy as np

from ...errors import UnsupportedModelError
from ...ir import Node
from .core import LoweringRule, lowering_rule
from .values import IntV

__all__ = ["LowerFlatten", "RejectTranspose"]


@lowering_rule
class LowerFlatten(LoweringRule):
    """Reshape / Flatten to ``(N, features)``: no hardware, only the stream's bookkeeping."""

    ops = ("Reshape", "Flatten")

    def lower(self, lw, node: Node, x: IntV) -> IntV:
        shape = lw.shape(node.outputs[0])
        v = copy.copy(x)
        v.shape = shape
        if len(x.shape) == 2 or (len(x.shape) > 2 and x.num_vectors == 1 and len(shape) == 2):
            if len(shape) != 2:
                raise UnsupportedModelError(
                    f"{lw.where(node)}: reshaping to {shape} is not supported; only flattening "
                    "to (N, features)"
                )
            return v
        if len(shape) != 2 or shape[1] != x.channels * x.num_vectors:
            raise UnsupportedModelError(
                f"{lw.where(node)}: reshaping {x.shape} to {shape} is not supported; only "
                "flattening a feature map to (N, C*H*W)"
            )
        if not x.quantized or x.perm is not None:
            raise UnsupportedModelError(
                f"{lw.where(node)}: flattening is supported on quantized feature maps only"
            )
        c, hw = x.channels, x.num_vectors
        # stream position i = p*C + ch (pixel p, channel ch) is ONNX feature ch*HW + p
        pix, ch = np.divmod(np.arange(c * hw), c)
        v.perm = ch * hw + pix
        v.lo, v.hi, v.a, v.b = (np.asarray(t)[ch] for t in (x.lo, x.hi, x.a, x.b))
        return v


@lowering_rule
class RejectTranspose(LoweringRule):
    """Transpose of an activation tensor: not supported (a clear message, not the generic one)."""

    ops = ("Transpose",)

    def lower(self, lw, node: Node, x: IntV) -> IntV:
        raise UnsupportedModelError(
            f"{lw.where(node)}: Transpose of an activation tensor is not supported"
        )
