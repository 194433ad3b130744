"""Float reference executor for the IR (numpy, float32, ONNX/QONNX semantics).

It mirrors how QONNX's executor evaluates each op (same operation order, float32), so the
host-side parts of a model (input pre-processing and the first quantizer) give identical
integer codes, and constant folding gives the same constants.
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedModelError
from ..ir import Graph, Node

__all__ = ["ROUNDING", "execute", "quant_int_range", "run_node"]


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


def trunc_codes(
    x,
    scale,
    zeropt,
    in_bits,
    out_scale_or_bits,
    out_bits=None,
    *,
    signed=True,
    narrow=False,
    rounding="FLOOR",
):
    """Integer codes of QONNX Trunc (v2 with an output scale, or v1), as QONNX computes them."""
    y = np.round(x / scale + zeropt)
    if out_bits is None:  # v1: Trunc(x, scale, zeropt, in_bits, out_bits)
        out_bits = out_scale_or_bits
        y = y / np.float32(2.0 ** (float(in_bits) - float(out_bits)))
        return ROUNDING[rounding.upper()](y)
    ts = 2 ** np.round(np.log2(out_scale_or_bits / scale))
    y = y / ts
    lo, hi = quant_int_range(signed, narrow, int(out_bits))
    y = np.where(y > hi, np.asarray(hi, dtype=y.dtype), y)
    y = np.where(y < lo, np.asarray(lo, dtype=y.dtype), y)
    return ROUNDING[rounding.upper()](y)


def quantizer_codes(node, args):
    """Codes (before de-quantisation) of a Quant or Trunc node on ``args`` (x first)."""
    a = node.attrs
    x = np.asarray(args[0], dtype=np.float32)
    if node.op_type == "Quant":
        return quant_codes(
            x,
            args[1],
            args[2],
            float(np.asarray(args[3]).ravel()[0]),
            bool(a.get("signed", 1)),
            bool(a.get("narrow", 0)),
            a.get("rounding_mode", "ROUND"),
        )
    if node.op_type == "Trunc":
        rm = a.get("rounding_mode", "FLOOR")
        if len(args) == 6:
            return trunc_codes(
                x,
                args[1],
                args[2],
                args[3],
                args[4],
                args[5],
                signed=bool(a.get("signed", 1)),
                narrow=bool(a.get("narrow", 0)),
                rounding=rm,
            )
        return trunc_codes(x, args[1], args[2], args[3], args[4], rounding=rm)
    raise ValueError(node.op_type)


def _trunc(node, x, scale, zeropt, in_bits, *rest):
    codes = quantizer_codes(node, [x, scale, zeropt, in_bits, *rest])
    if len(rest) == 2:
        out_scale = rest[0]
        ts = 2 ** np.round(np.log2(out_scale / scale))
        return (codes - zeropt / ts) * out_scale
    # v1 keeps the input scale (QONNX's Trunc v1; v2 made the output scale explicit)
    return (codes - zeropt) * scale


def _conv(node, x, w, b=None):
    at = node.attrs
    g = int(at.get("group", 1))
    pads = at.get("pads", [0, 0, 0, 0])
    sh, sw = at.get("strides", [1, 1])
    dh, dw = at.get("dilations", [1, 1])
    x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    n, c, h, wd = x.shape
    oc, icg, kh, kw = w.shape
    oh = (h - dh * (kh - 1) - 1) // sh + 1
    ow = (wd - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, oc, oh, ow), dtype=np.float32)
    per = oc // g
    for gi in range(g):
        xs = x[:, gi * icg : (gi + 1) * icg]
        cols = np.stack(
            [
                xs[
                    :,
                    :,
                    ky * dh : ky * dh + sh * (oh - 1) + 1 : sh,
                    kx * dw : kx * dw + sw * (ow - 1) + 1 : sw,
                ]
                for ky in range(kh)
                for kx in range(kw)
            ],
            axis=2,
        )  # n, icg, k, oh, ow
        wg = w[gi * per : (gi + 1) * per].reshape(per, icg, kh * kw)
        out[:, gi * per : (gi + 1) * per] = np.einsum("nckhw,ock->nohw", cols, wg)
    if b is not None:
        out = out + b.reshape(1, -1, 1, 1)
    return out


def _pool(node, x, reduce):
    at = node.attrs
    kh, kw = at["kernel_shape"]
    sh, sw = at.get("strides", [1, 1])
    pads = list(at.get("pads", [0, 0, 0, 0]))
    n, c, h, w = x.shape
    if at.get("ceil_mode", 0):
        pads[2] += (-(h + pads[0] + pads[2] - kh)) % sh
        pads[3] += (-(w + pads[1] + pads[3] - kw)) % sw
    fill = -np.inf if reduce == "max" else 0.0
    x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])), constant_values=fill)
    oh = (x.shape[2] - kh) // sh + 1
    ow = (x.shape[3] - kw) // sw + 1
    wins = np.stack(
        [
            x[:, :, ky : ky + sh * (oh - 1) + 1 : sh, kx : kx + sw * (ow - 1) + 1 : sw]
            for ky in range(kh)
            for kx in range(kw)
        ],
        axis=0,
    )
    if reduce == "max":
        return wins.max(axis=0)
    return wins.sum(axis=0) / np.float32(kh * kw)


def _argmax_shape(n, x):
    axis = n.attrs.get("axis", 0) % x.ndim
    shape = list(x.shape)
    if n.attrs.get("keepdims", 1):
        shape[axis] = 1
    else:
        del shape[axis]
    return shape


def _quant(node, x, scale, zeropt, bits):
    a = node.attrs
    codes = quant_codes(
        x,
        scale,
        zeropt,
        float(bits),
        bool(a.get("signed", 1)),
        bool(a.get("narrow", 0)),
        a.get("rounding_mode", "ROUND"),
    )
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
    "Trunc": _trunc,
    "Conv": _conv,
    "MaxPool": lambda n, x: _pool(n, x, "max"),
    "AveragePool": lambda n, x: _pool(n, x, "avg"),
    "GlobalAveragePool": lambda n, x: x.mean(axis=(2, 3), keepdims=True),
    "TopK": lambda n, x, k: np.argsort(-x, axis=-1, kind="stable")[..., : int(np.ravel(k)[0])],
    "ArgMax": lambda n, x: np.argmax(x, axis=n.attrs.get("axis", 0)).reshape(_argmax_shape(n, x)),
    "Log": lambda n, x: np.log(x),
    "Ceil": lambda n, x: np.ceil(x),
    "Floor": lambda n, x: np.floor(x),
}


def run_node(node: Node, args: list) -> np.ndarray:
    """Evaluate one node on float inputs."""
    fn = _OPS.get(node.op_type)
    if fn is None:
        raise UnsupportedModelError(f"{node.describe()} cannot be evaluated by the float executor")
    args = [
        np.asarray(a, dtype=np.float32) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
        for a in args
    ]
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
