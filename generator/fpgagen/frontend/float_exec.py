"""Float reference executor for the IR (numpy, float32, ONNX/QONNX semantics).

It mirrors how QONNX's executor evaluates each op (same operation order, float32), so the
host-side parts of a model (input pre-processing and the first quantizer) give identical
integer codes, and constant folding gives the same constants.
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedModelError
from ..ir import Graph, Node

__all__ = ["execute", "run_node", "quant_int_range", "ROUNDING"]


def _half_up(x):
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def _half_down(x):
    return np.sign(x) * np.ceil(np.abs(x) - 0.5)


ROUNDING = {
    "ROUND": np.round,
    "HALF_EVEN": np.round,
    "CEIL": np.ceil,
    "FLOOR": np.floor,
    "UP": lambda x: np.sign(x) * np.ceil(np.abs(x)),
    "DOWN": np.fix,
    "HALF_UP": _half_up,
    "HALF_DOWN": _half_down,
}


def quant_int_range(signed: bool, narrow: bool, bits: int) -> tuple[int, int]:
    """Integer range [min, max] of a QONNX Quant node."""
    if signed:
        lo = -(2 ** (bits - 1)) + (1 if narrow else 0)
        hi = 2 ** (bits - 1) - 1
    else:
        lo = 0
        hi = 2**bits - 1 - (1 if narrow else 0)
    return lo, hi


def quant_codes(x, scale, zeropt, bits, signed, narrow, rounding):
    """Integer codes of QONNX Quant (before de-quantisation), computed as QONNX does."""
    y = x / scale
    y = y + zeropt
    if bits == 1 and signed:
        return np.where(y >= 0.0, np.ones_like(y), -np.ones_like(y))
    lo, hi = quant_int_range(signed, narrow, int(bits))
    y = np.where(y > hi, np.asarray(hi, dtype=y.dtype), y)
    y = np.where(y < lo, np.asarray(lo, dtype=y.dtype), y)
    return ROUNDING[rounding.upper()](y)


def _quant(node, x, scale, zeropt, bits):
    a = node.attrs
    codes = quant_codes(x, scale, zeropt, float(bits), bool(a.get("signed", 1)),
                        bool(a.get("narrow", 0)), a.get("rounding_mode", "ROUND"))
    return (codes - zeropt) * scale


def _bn(node, x, g, b, m, v):
    eps = node.attrs.get("epsilon", 1e-5)
    shp = [1, -1] + [1] * (x.ndim - 2)
    g, b, m, v = (t.reshape(shp) for t in (g, b, m, v))
    return ((x - m) / np.sqrt(v + np.float32(eps))) * g + b


def _gemm(node, a, b, c=None):
    at = node.attrs
    if at.get("transA", 0):
        a = a.T
    if at.get("transB", 0):
        b = b.T
    y = np.float32(at.get("alpha", 1.0)) * (a @ b)
    if c is not None:
        y = y + np.float32(at.get("beta", 1.0)) * c
    return y


def _reshape(node, x, shape):
    shape = [int(s) for s in shape]
    if not node.attrs.get("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def _flatten(node, x):
    axis = node.attrs.get("axis", 1)
    if axis < 0:
        axis += x.ndim
    return x.reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), -1)


_OPS = {
    "Quant": _quant,
    "BipolarQuant": lambda n, x, s: np.where(x >= 0.0, np.ones_like(x), -np.ones_like(x)) * s,
    "MatMul": lambda n, a, b: np.matmul(a, b),
    "Gemm": _gemm,
    "BatchNormalization": _bn,
    "Relu": lambda n, x: np.maximum(x, np.zeros_like(x)),
    "Mul": lambda n, a, b: a * b,
    "Add": lambda n, a, b: a + b,
    "Sub": lambda n, a, b: a - b,
    "Div": lambda n, a, b: a / b,
    "Pow": lambda n, a, b: np.power(a, b),
    "Sqrt": lambda n, a: np.sqrt(a),
    "Neg": lambda n, a: -a,
    "Identity": lambda n, a: a,
    "Reshape": _reshape,
    "Flatten": _flatten,
    "Transpose": lambda n, x: np.transpose(x, n.attrs.get("perm")),
}


def run_node(node: Node, args: list) -> np.ndarray:
    """Evaluate one node on float inputs."""
    fn = _OPS.get(node.op_type)
    if fn is None:
        raise UnsupportedModelError(f"{node.describe()} cannot be evaluated by the float executor")
    args = [np.asarray(a, dtype=np.float32) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
            for a in args]
    out = fn(node, *args)
    out = np.asarray(out)
    if out.dtype.kind == "f":
        out = out.astype(np.float32)
    return out


def execute(graph: Graph, inputs: dict, upto: str | None = None) -> dict:
    """Execute the graph; returns a dict with every tensor's value (constants included)."""
    ctx = dict(graph.consts)
    ctx.update({k: np.asarray(v, dtype=np.float32) for k, v in inputs.items()})
    for node in graph.nodes:
        ctx[node.outputs[0]] = run_node(node, [ctx[i] for i in node.inputs if i != ""])
        if upto is not None and node.outputs[0] == upto:
            break
    return ctx
