"""Float reference executor for the IR (numpy, float32, ONNX/QONNX semantics).

It mirrors how QONNX's executor evaluates each op (same operation order, float32), so the
host-side parts of a model (input pre-processing and the first quantizer) give identical
integer codes, and constant folding gives the same constants. The op table itself lives in
:mod:`fpgagen.hostops` (numpy only), shared with the host head/tail and the board runtime.
"""

from __future__ import annotations

import numpy as np

from .. import hostops
from ..errors import UnsupportedModelError
from ..hostops import ROUNDING, quant_codes, quant_int_range, trunc_codes
from ..ir import Graph, Node

__all__ = [
    "ROUNDING",
    "execute",
    "quant_codes",
    "quant_int_range",
    "quantizer_codes",
    "run_node",
    "trunc_codes",
]


def quantizer_codes(node: Node, args):
    """Codes (before de-quantisation) of a Quant or Trunc node on ``args`` (x first)."""
    if node.op_type not in ("Quant", "Trunc"):
        raise ValueError(node.op_type)
    return hostops.quantizer_codes(node.op_type, node.attrs, args)


def run_node(node: Node, args: list) -> np.ndarray:
    """Evaluate one node on float inputs."""
    if node.op_type not in hostops.OPS:
        raise UnsupportedModelError(f"{node.describe()} cannot be evaluated by the float executor")
    return hostops.run_op(node.op_type, node.attrs, args)


def execute(graph: Graph, inputs: dict, upto: str | None = None) -> dict:
    """Execute the graph; returns a dict with every tensor's value (constants included)."""
    ctx = dict(graph.consts)
    ctx.update({k: np.asarray(v, dtype=np.float32) for k, v in inputs.items()})
    for node in graph.nodes:
        ctx[node.outputs[0]] = run_node(node, [ctx[i] for i in node.inputs if i != ""])
        if upto is not None and node.outputs[0] == upto:
            break
    return ctx
