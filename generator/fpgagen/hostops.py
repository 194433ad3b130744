"""Host-side numerics: float ops with ONNX/QONNX semantics, the host head and the host tail.

This is the one implementation of what runs on the processor around the accelerator:

* the float op table (numpy, float32, the operation order of QONNX's executor) behind
  :mod:`fpgagen.frontend.float_exec`;
* :func:`run_head`: float inputs in the ONNX model's input layout -> the integer codes the
  accelerator consumes (pre-processing nodes, then the input quantizer; NCHW tensors are
  streamed NHWC);
* :func:`run_tail`: the accelerator's output integers -> what the ONNX model outputs
  (``post(float32(a * v + b))`` reshaped to the ONNX output).

Head and tail are described by plain dicts (*specs*: JSON-able, written to a build's
``deploy/design.json``) plus a dict of constant arrays. A node is
``{"op": str, "inputs": [names], "outputs": [names], "attrs": {...}}``.

It imports nothing but numpy, so that the runtime vendored into ``deploy/`` carries an
identical copy (the board has no fpgagen and no torch).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "OPS",
    "ROUNDING",
    "HostOpsError",
    "head_const_names",
    "quant_codes",
    "quant_int_range",
    "quantizer_codes",
    "run_head",
    "run_op",
    "run_tail",
    "tail_const_names",
    "trunc_codes",
]


class HostOpsError(ValueError):
    """Bad input to a host op, the head or the tail (the message is one line)."""


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


def quantizer_codes(op_type: str, attrs: dict, args):
    """Codes (before de-quantisation) of a Quant, BipolarQuant or Trunc node (x first)."""
    a = attrs
    x = np.asarray(args[0], dtype=np.float32)
    if op_type == "BipolarQuant":
        return np.where(x >= 0, 1, -1)
    if op_type == "Quant":
        return quant_codes(
            x,
            args[1],
            args[2],
            float(np.asarray(args[3]).ravel()[0]),
            bool(a.get("signed", 1)),
            bool(a.get("narrow", 0)),
            a.get("rounding_mode", "ROUND"),
        )
    if op_type == "Trunc":
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
    raise ValueError(op_type)


# -- the float op table: fn(attrs, *args) ----------------------------------------------------------
def _trunc(at, x, scale, zeropt, in_bits, *rest):
    codes = quantizer_codes("Trunc", at, [x, scale, zeropt, in_bits, *rest])
    if len(rest) == 2:
        out_scale = rest[0]
        ts = 2 ** np.round(np.log2(out_scale / scale))
        return (codes - zeropt / ts) * out_scale
    # v1 keeps the input scale (QONNX's Trunc v1; v2 made the output scale explicit)
    return (codes - zeropt) * scale


def _conv(at, x, w, b=None):
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


def _pool(at, x, reduce):
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


def _argmax_shape(at, x):
    axis = at.get("axis", 0) % x.ndim
    shape = list(x.shape)
    if at.get("keepdims", 1):
        shape[axis] = 1
    else:
        del shape[axis]
    return shape


def _quant(at, x, scale, zeropt, bits):
    codes = quant_codes(
        x,
        scale,
        zeropt,
        float(bits),
        bool(at.get("signed", 1)),
        bool(at.get("narrow", 0)),
        at.get("rounding_mode", "ROUND"),
    )
    return (codes - zeropt) * scale


def _bn(at, x, g, b, m, v):
    eps = at.get("epsilon", 1e-5)
    shp = [1, -1] + [1] * (x.ndim - 2)
    g, b, m, v = (t.reshape(shp) for t in (g, b, m, v))
    return ((x - m) / np.sqrt(v + np.float32(eps))) * g + b


def _gemm(at, a, b, c=None):
    if at.get("transA", 0):
        a = a.T
    if at.get("transB", 0):
        b = b.T
    y = np.float32(at.get("alpha", 1.0)) * (a @ b)
    if c is not None:
        y = y + np.float32(at.get("beta", 1.0)) * c
    return y


def _reshape(at, x, shape):
    shape = [int(s) for s in shape]
    if not at.get("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def _flatten(at, x):
    axis = at.get("axis", 1)
    if axis < 0:
        axis += x.ndim
    return x.reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), -1)


OPS = {
    "Quant": _quant,
    "BipolarQuant": lambda at, x, s: np.where(x >= 0.0, np.ones_like(x), -np.ones_like(x)) * s,
    "MatMul": lambda at, a, b: np.matmul(a, b),
    "Gemm": _gemm,
    "BatchNormalization": _bn,
    "Relu": lambda at, x: np.maximum(x, np.zeros_like(x)),
    "Mul": lambda at, a, b: a * b,
    "Add": lambda at, a, b: a + b,
    "Sub": lambda at, a, b: a - b,
    "Div": lambda at, a, b: a / b,
    "Pow": lambda at, a, b: np.power(a, b),
    "Sqrt": lambda at, a: np.sqrt(a),
    "Neg": lambda at, a: -a,
    "Identity": lambda at, a: a,
    "Reshape": _reshape,
    "Flatten": _flatten,
    "Transpose": lambda at, x: np.transpose(x, at.get("perm")),
    "Trunc": _trunc,
    "Conv": _conv,
    "MaxPool": lambda at, x: _pool(at, x, "max"),
    "AveragePool": lambda at, x: _pool(at, x, "avg"),
    "GlobalAveragePool": lambda at, x: x.mean(axis=(2, 3), keepdims=True),
    "TopK": lambda at, x, k: np.argsort(-x, axis=-1, kind="stable")[..., : int(np.ravel(k)[0])],
    "ArgMax": lambda at, x: np.argmax(x, axis=at.get("axis", 0)).reshape(_argmax_shape(at, x)),
    "Log": lambda at, x: np.log(x),
    "Ceil": lambda at, x: np.ceil(x),
    "Floor": lambda at, x: np.floor(x),
}
#: ops that quantize (the head ends in one of them)
QUANTIZERS = ("Quant", "BipolarQuant", "Trunc")


def run_op(op_type: str, attrs: dict, args: list) -> np.ndarray:
    """Evaluate one op on its inputs: float inputs as float32, a float result as float32."""
    fn = OPS.get(op_type)
    if fn is None:
        raise HostOpsError(f"op {op_type} is not a host op; supported: {', '.join(OPS)}")
    args = [
        np.asarray(a, dtype=np.float32) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
        for a in args
    ]
    out = np.asarray(fn(attrs, *args))
    if out.dtype.kind == "f":
        out = out.astype(np.float32)
    return out


def _run_nodes(nodes: list, ctx: dict) -> None:
    for n in nodes:
        ctx[n["outputs"][0]] = run_op(n["op"], n["attrs"], [ctx[t] for t in n["inputs"] if t])


def head_const_names(head: dict) -> list:
    """Names of the constants the head reads (its nodes' and its quantizer's inputs)."""
    produced = {head["input"]} | {o for n in head["nodes"] for o in n["outputs"]}
    names = []
    for n in [*head["nodes"], head["quant"]]:
        for t in n["inputs"][(1 if n is head["quant"] else 0) :]:
            if t and t not in produced and t not in names:
                names.append(t)
    return names


def tail_const_names(tail: dict) -> list:
    """Names of the constants the tail's post nodes read (``a`` and ``b`` are not included)."""
    names = []
    for n in tail["post"]:
        for t in n["inputs"]:
            if t and t != "__x__" and t not in names:
                names.append(t)
    return names


def run_head(x, head: dict, consts: dict) -> np.ndarray:
    """Float batch ``(N, ...)`` in the model's input layout -> codes ``(N, channels)`` int64.

    ``head``: ``{"input": name, "input_shape": ONNX shape (batch 1), "nodes": [node...],
    "quant": quantizer node, "channels": elements per frame}``. Each sample runs on its own,
    as the ONNX model does with batch 1; a 4-d (NCHW) code tensor is streamed NHWC.
    """
    x = np.asarray(x, dtype=np.float32)
    shape = tuple(head["input_shape"])
    per_sample = shape[1:]
    if x.ndim != len(shape) or x.shape[1:] != per_sample:
        raise HostOpsError(
            f"input batch has shape {x.shape}; the model expects (N, "
            f"{', '.join(map(str, per_sample))}) (its input {head['input']!r} is {shape})"
        )
    q = head["quant"]
    out = np.empty((x.shape[0], int(head["channels"])), dtype=np.int64)
    for i in range(x.shape[0]):
        ctx = dict(consts)
        ctx[head["input"]] = x[i : i + 1]
        _run_nodes(head["nodes"], ctx)
        codes = np.asarray(quantizer_codes(q["op"], q["attrs"], [ctx[t] for t in q["inputs"]]))
        if codes.ndim == 4:  # NCHW tensor -> NHWC stream
            codes = codes.transpose(0, 2, 3, 1)
        out[i] = codes.reshape(-1).astype(np.int64)
    return out


def run_tail(v, tail: dict, consts: dict) -> np.ndarray:
    """Accelerator output integers ``(N, C_out)`` -> the ONNX output ``(N, ...)``.

    ``tail``: ``{"a": name, "b": name (per-channel arrays in consts), "post": [node...]
    (``"__x__"`` names the running tensor), "out_shape": ONNX output shape (batch 1),
    "work_shape": shape the post nodes see (batch 1; ``["nhwc", 1, C, H, W]`` for an NHWC
    stream of an NCHW tensor), "integer": bool (the output is integers, e.g. class indices)}``.
    """
    v = np.asarray(v)
    n = v.shape[0]
    v = v.reshape(n, int(np.prod(v.shape[1:], dtype=np.int64)))  # also for n == 0
    out_shape = tuple(tail["out_shape"][1:])
    if tail.get("integer"):
        return v.astype(np.int64).reshape((n, *out_shape))
    a, b = np.asarray(consts[tail["a"]]), np.asarray(consts[tail["b"]])
    ws = tuple(tail["work_shape"])
    if ws and ws[0] == "nhwc":  # NHWC stream of an NCHW tensor
        _, _, c, h, w = ws
        base = a * v.reshape(n, h, w, c).astype(np.float64) + b
        x = base.astype(np.float32).transpose(0, 3, 1, 2)
    else:
        base = (a * v.astype(np.float64) + b).astype(np.float32)
        x = base.reshape((n, *ws[1:]))
    for node in tail["post"]:
        x = run_op(
            node["op"],
            node["attrs"],
            [x if t == "__x__" else consts[t] for t in node["inputs"] if t],
        )
    return x.reshape((n, *out_shape))
