"""TopK indices / ArgMax over the class scores: a LabelSelect on the integer scores."""

from __future__ import annotations

import numpy as np

from ...errors import UnsupportedModelError
from ...ir import Node
from ...layers import LabelSelect
from .core import LoweringRule, lowering_rule
from .values import IntV

__all__ = ["LowerLabelSelect"]


@lowering_rule
class LowerLabelSelect(LoweringRule):
    """TopK (constant k, largest first) or ArgMax along the class axis of ``(N, classes)``
    scores that are an increasing per-tensor function of the integers."""

    ops = ("TopK", "ArgMax")

    def lower(self, lw, node: Node, x: IntV) -> IntV:
        at = node.attrs
        consts = lw.consts
        if len(x.shape) != 2:
            raise UnsupportedModelError(f"{lw.where(node)}: only (N, classes) scores are supported")
        if node.op_type == "TopK":
            k = int(np.ravel(consts[node.inputs[1]])[0]) if node.inputs[1] in consts else None
            ok = at.get("axis", -1) in (-1, 1) and at.get("largest", 1) == 1
        else:
            k = 1
            ok = at.get("axis", 0) in (-1, 1) and not at.get("select_last_index", 0)
        if k is None or not ok:
            raise UnsupportedModelError(
                f"{lw.where(node)}: only a constant k along the class axis, largest first, is "
                "supported"
            )
        scalar_post = all(
            np.asarray(consts[t]).size == 1 for n in x.post for t in n.inputs if t in consts
        )
        d = np.ones(len(x.lo)) if x.direction is None else x.direction
        if (
            x.pools
            or x.uniform() is None
            or x.uniform()[0] <= 0
            or not scalar_post
            or np.any(d < 0)
        ):
            raise UnsupportedModelError(
                f"{lw.where(node)}: the class scores must be an increasing per-tensor function "
                "of the integers (no per-class scales) for a hardware label select"
            )
        if x.pending:
            x.src.set_thresholds(None)
        lay = LabelSelect(lw.uniq(node.name or "label_select"), x.dtype, len(x.lo), k)
        (stream,) = lw.add(lay, [x.stream])
        return IntV(
            lay,
            stream,
            lay.out_dtype,
            lw.shape(node.outputs[0]),
            np.zeros(k, np.int64),
            np.full(k, len(x.lo) - 1),
            np.ones(k),
            np.zeros(k),
        )
