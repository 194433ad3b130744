"""Add of two quantized streams with the same scale (a residual block's join): AddStreams.
The fork before it is the DuplicateStreams that ``Lowering.take`` inserts."""

from __future__ import annotations

import numpy as np

from ...errors import UnsupportedModelError
from ...ir import Node
from ...layers import AddStreams
from .core import LoweringRule, lowering_rule
from .values import IntV

__all__ = ["LowerResidualAdd"]


@lowering_rule
class LowerResidualAdd(LoweringRule):
    """``Add(x, y)`` of two streams (an Add with a constant is an elementwise op instead)."""

    ops = ("Add",)
    inputs = 2
    takes_pooled = True  # rejected below with the residual message
    priority = 10

    def applies(self, lw, node: Node) -> bool:
        return len(lw.dyn_inputs(node)) == 2

    def lower(self, lw, node: Node, x: IntV, y: IntV) -> IntV:
        for v in (x, y):
            if not v.quantized:
                raise UnsupportedModelError(
                    f"{lw.where(node)}: both inputs of a residual Add must come straight from "
                    "quantizers (re-quantize the branch before the Add)"
                )
        ax, ay = x.uniform(), y.uniform()
        if ax is None or ay is None or not np.isclose(ax[0], ay[0], rtol=0, atol=0):
            raise UnsupportedModelError(
                f"{lw.where(node)}: the two inputs of Add have different scales "
                f"({x.a.ravel()[0]:g} and {y.a.ravel()[0]:g}); share one quantizer between the "
                "branches"
            )
        if x.dtype != y.dtype or x.shape != y.shape:
            raise UnsupportedModelError(
                f"{lw.where(node)}: Add of {x.dtype}{list(x.shape)} and "
                f"{y.dtype}{list(y.shape)}; both inputs must have the same type and shape"
            )
        lay = AddStreams(lw.uniq(node.name or "add"), x.dtype, x.channels, x.num_vectors)
        (stream,) = lw.add(lay, [x.stream, y.stream])
        c = x.channels
        return IntV(
            lay,
            stream,
            lay.out_dtype,
            lw.shape(node.outputs[0]),
            np.asarray(x.lo) + np.asarray(y.lo),
            np.asarray(x.hi) + np.asarray(y.hi),
            np.full(c, ax[0]),
            np.full(c, ax[1] + ay[1]),
        )
