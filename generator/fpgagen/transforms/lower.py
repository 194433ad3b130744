"""Streamline and lower a QONNX graph to the hardware dataflow.

The pass walks the graph once, in topological order, tracking what every tensor *is*:

* ``FloatV`` — a float tensor on the host, before the first quantizer (input pre-processing);
* ``IntV`` — an integer stream ``q`` produced by the head or a hardware layer, together with the
  float function that gives the ONNX tensor from it: ``post(float32(a * q + b))``, where
  ``a, b`` are per-channel and ``post`` is a list of elementwise ONNX nodes (BatchNormalization,
  Mul, Add, Sub, Div, Relu...) evaluated exactly as ONNX does.

Rules (see docs/streamlining.md):

* a quantizer on a ``FloatV`` becomes the host head; its integer codes enter the hardware;
* ``MatMul``/``Gemm`` with quantized constant weights on a de-quantized ``IntV`` becomes an MVAU;
  input and weight scales, zero points and the XNOR popcount offset go into ``a, b``;
* a quantizer on an ``IntV`` becomes integer thresholds: for each channel and output level the
  smallest accumulator value whose float image quantizes to at least that level, found by
  bisection over the exact integer range. They attach to the producing MVAU, or become a
  standalone Thresholding layer. Channels whose function decreases are negated in the weights;
* whatever follows the last hardware layer becomes the host tail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..dataflow import Dataflow, HostHead, HostTail
from ..datatypes import BIPOLAR, TERNARY, DataType, int_type, uint_type
from ..errors import UnsupportedModelError
from ..frontend import float_exec
from ..ir import Graph, Node
from ..layers import MVAU, Thresholding, sanitize
from .base import Transformation

__all__ = ["LowerToDataflow", "lower"]

MAX_ACT_BITS = 8
MAX_WEIGHT_BITS = 8
ELEMENTWISE = ("Mul", "Add", "Sub", "Div", "Neg", "Relu", "BatchNormalization", "Identity")


@dataclass
class FloatV:
    shape: tuple


@dataclass
class IntV:
    src: object  # "head" or a HWLayer
    shape: tuple
    lo: np.ndarray  # per-channel integer range of the stream values
    hi: np.ndarray
    a: np.ndarray  # per-channel float64 affine from integers to float
    b: np.ndarray
    post: list = field(default_factory=list)  # elementwise nodes (inputs: "__x__" + consts)
    direction: np.ndarray | None = None  # +1/-1 per channel: monotonic direction of post

    @property
    def channels(self) -> int:
        return int(np.prod(self.shape[1:]))

    @property
    def pending(self) -> bool:
        """True when the stream is a raw MVAU accumulator that can still take thresholds."""
        return isinstance(self.src, MVAU) and self.src.thresholds is None


class LowerToDataflow(Transformation):
    """IR graph -> :class:`~fpgagen.dataflow.Dataflow` (one-shot pass)."""

    def apply(self, graph: Graph):
        return lower(graph), True


def _const_operand(graph: Graph, node: Node, channels: int) -> tuple[int, np.ndarray]:
    """Index of the tensor input and check the const operands are per-channel."""
    dyn = [i for i, t in enumerate(node.inputs) if t and t not in graph.consts]
    if len(dyn) != 1:
        raise UnsupportedModelError(
            f"{graph.where(node)}: needs exactly one non-constant input, has {len(dyn)}"
        )
    for t in node.inputs:
        if t and t in graph.consts:
            c = np.asarray(graph.consts[t])
            if c.size not in (1, channels) and node.op_type != "BatchNormalization":
                raise UnsupportedModelError(
                    f"{graph.where(node)}: constant {t!r} of shape {c.shape} is not per-tensor "
                    f"or per-channel ({channels} channels)"
                )
    return dyn[0]


def _sign_of(graph: Graph, node: Node, pos: int, channels: int) -> np.ndarray:
    """Per-channel monotonic direction (+1/-1) of an elementwise node w.r.t. its input."""
    one = np.ones(channels)
    op = node.op_type
    c = None
    consts = [np.asarray(graph.consts[t], dtype=np.float64) for t in node.inputs
              if t and t in graph.consts]
    if consts:
        c = consts[0]
    if op in ("Relu", "Identity") or (op == "Add"):
        return one
    if op == "Neg":
        return -one
    if op == "Sub":
        return one if pos == 0 else -one
    if op == "Mul":
        return np.sign(np.broadcast_to(c.ravel(), (channels,)) if c.size > 1 else one * c.ravel()[0])
    if op == "Div":
        if pos != 0:
            raise UnsupportedModelError(
                f"{graph.where(node)}: division by a tensor is not monotonic; not supported"
            )
        return np.sign(np.broadcast_to(c.ravel(), (channels,)) if c.size > 1 else one * c.ravel()[0])
    if op == "BatchNormalization":
        gamma = np.asarray(graph.consts[node.inputs[1]], dtype=np.float64).ravel()
        return np.sign(np.broadcast_to(gamma, (channels,)))
    raise UnsupportedModelError(f"{graph.where(node)} is not supported after a MatMul")


def _quant_params(graph: Graph, node: Node):
    """(dtype, qmin, qmax, scale, zeropt, signed, narrow, rounding, bits) of a quantizer."""
    for t in node.inputs[1:]:
        if t not in graph.consts:
            raise UnsupportedModelError(
                f"{graph.where(node)}: scale/zero-point/bit-width input {t!r} must be constant"
            )
    scale = np.asarray(graph.consts[node.inputs[1]], dtype=np.float32)
    if np.any(scale <= 0) or not np.all(np.isfinite(scale)):
        raise UnsupportedModelError(
            f"{graph.where(node)}: scale {scale.ravel()[:4]} must be positive and finite"
        )
    if node.op_type == "BipolarQuant":
        return BIPOLAR, -1, 1, scale, np.zeros_like(scale)
    zp = np.asarray(graph.consts[node.inputs[2]], dtype=np.float32)
    bits = float(np.asarray(graph.consts[node.inputs[3]]).ravel()[0])
    a = node.attrs
    signed, narrow = bool(a.get("signed", 1)), bool(a.get("narrow", 0))
    rm = str(a.get("rounding_mode", "ROUND")).upper()
    if rm not in float_exec.ROUNDING:
        raise UnsupportedModelError(
            f"{graph.where(node)}: rounding_mode {rm!r} not supported; use one of "
            f"{', '.join(float_exec.ROUNDING)}"
        )
    if bits != int(bits) or bits < 1:
        raise UnsupportedModelError(f"{graph.where(node)}: bit width {bits} must be an integer")
    if bits > MAX_ACT_BITS:
        raise UnsupportedModelError(
            f"{graph.where(node)}: activation bit width {int(bits)} is not supported; "
            f"use 1..{MAX_ACT_BITS} bits"
        )
    if np.any(zp != np.round(zp)):
        raise UnsupportedModelError(f"{graph.where(node)}: zero point must be an integer")
    bits = int(bits)
    if bits == 1 and signed:
        return BIPOLAR, -1, 1, scale, zp
    lo, hi = float_exec.quant_int_range(signed, narrow, bits)
    dtype = int_type(bits) if signed else uint_type(bits)
    if signed and bits == 1:
        dtype = BIPOLAR
    return dtype, lo, hi, scale, zp


def _codes_of(node: Node, graph: Graph, x: np.ndarray) -> np.ndarray:
    """Integer codes the quantizer gives for float32 ``x`` (exactly as QONNX computes them)."""
    if node.op_type == "BipolarQuant":
        return np.where(x >= 0, 1, -1)
    a = node.attrs
    return float_exec.quant_codes(
        x, graph.consts[node.inputs[1]], graph.consts[node.inputs[2]],
        float(np.asarray(graph.consts[node.inputs[3]]).ravel()[0]), bool(a.get("signed", 1)),
        bool(a.get("narrow", 0)), a.get("rounding_mode", "ROUND"))


def _is_bipolar_quant(graph: Graph, node: Node) -> bool:
    return node.op_type == "BipolarQuant" or _quant_params(graph, node)[0].is_bipolar


def _eval_post(v: IntV, graph: Graph, q: np.ndarray) -> np.ndarray:
    """Float image of integer values ``q`` of shape (K, C): post(float32(a*q + b))."""
    x = (v.a * q.astype(np.float64) + v.b).astype(np.float32)
    extra = len(v.shape) - 2
    x = x.reshape(x.shape + (1,) * extra) if extra > 0 else x
    for node in v.post:
        x = float_exec.run_node(node, [x if t == "__x__" else graph.consts[t]
                                       for t in node.inputs if t])
    return x.reshape(q.shape)


def _thresholds(v: IntV, graph: Graph, qnode: Node, qmin: int, qmax: int) -> np.ndarray:
    """Ascending thresholds (C, qmax-qmin): min integer reaching each output level."""
    c = v.channels
    # BIPOLAR {-1, +1}: one threshold, at the level +1
    levels = np.array([1]) if qnode.op_type == "BipolarQuant" or (qmin, qmax) == (-1, 1) and \
        _is_bipolar_quant(graph, qnode) else np.arange(qmin + 1, qmax + 1)
    n = levels.size
    lo = np.broadcast_to(v.lo, (c,)).astype(np.int64)
    hi = np.broadcast_to(v.hi, (c,)).astype(np.int64)
    left = np.broadcast_to(lo, (n, c)).copy()
    right = np.broadcast_to(hi + 1, (n, c)).copy()  # hi+1: never reached
    lv = levels[:, None]
    for _ in range(80):
        active = left < right
        if not active.any():
            break
        mid = (left + right) // 2
        codes = _codes_of(qnode, graph, _eval_post(v, graph, mid))
        ok = codes >= lv
        right = np.where(active & ok, mid, right)
        left = np.where(active & ~ok, mid + 1, left)
    else:  # pragma: no cover - the range is at most 2^40 wide
        raise AssertionError("threshold bisection did not converge")
    t = left.T.copy()
    return np.maximum.accumulate(t, axis=1)


class _Lowering:
    def __init__(self, graph: Graph):
        self.g = graph
        self.vals: dict = {}
        self.layers: list = []
        self.head: HostHead | None = None
        self.head_nodes: list = []
        self.names: set = set()
        self.consumers = {}
        for n in graph.nodes:
            for t in n.inputs:
                self.consumers.setdefault(t, []).append(n)

    def uniq(self, base: str) -> str:
        name = sanitize(base)
        k, out = 0, name
        while out in self.names:
            k += 1
            out = f"{name}_{k}"
        self.names.add(out)
        return out

    def run(self) -> Dataflow:
        g = self.g
        inp = g.inputs[0]
        self.vals[inp] = FloatV(g.shapes[inp])
        for node in g.nodes:
            ins = [self.vals.get(t) for t in node.inputs if t and t not in g.consts]
            for t in node.inputs:
                if t and t not in g.consts and len(self.consumers.get(t, [])) > 1 and \
                        isinstance(self.vals.get(t), IntV):
                    raise UnsupportedModelError(
                        f"{g.where(node)}: tensor {t!r} feeds {len(self.consumers[t])} nodes; "
                        "branching graphs are not supported yet"
                    )
            if any(isinstance(v, FloatV) for v in ins) or not ins:
                self.float_node(node)
            else:
                self.int_node(node)
        out = self.vals[g.outputs[0]]
        if not isinstance(out, IntV) or not self.layers:
            raise UnsupportedModelError(
                f"{g.source}: no quantized layer found; the model must contain a quantized "
                "MatMul/Gemm (export it with Brevitas quantized layers)"
            )
        return self.finish(out)

    def stream_dtype(self, x: IntV) -> DataType:
        return self.head.dtype if x.src == "head" else x.src.out_dtype

    # -- host head -----------------------------------------------------------------------------
    def float_node(self, node: Node):
        g = self.g
        if node.op_type in ("Quant", "BipolarQuant"):
            if self.head is not None:
                raise UnsupportedModelError(
                    f"{g.where(node)}: a second quantizer on a float input; only one input "
                    "quantizer is supported"
                )
            dtype, qmin, qmax, scale, zp = _quant_params(g, node)
            shape = g.shapes[node.outputs[0]]
            c = int(np.prod(shape[1:]))
            self.head = HostHead(g.inputs[0], tuple(g.shapes[g.inputs[0]]), list(self.head_nodes),
                                 dict(g.consts), node, dtype, c)
            s = np.broadcast_to(scale.astype(np.float64), shape).reshape(-1)
            z = np.broadcast_to(zp.astype(np.float64), shape).reshape(-1)
            self.vals[node.outputs[0]] = IntV("head", shape, np.full(c, qmin), np.full(c, qmax),
                                              s, -s * z)
            return
        if node.op_type in ("MatMul", "Gemm"):
            raise UnsupportedModelError(
                f"{g.where(node)} consumes a float (non-quantized) tensor; put a quantizer "
                "(e.g. brevitas QuantIdentity) in front of it"
            )
        self.head_nodes.append(node)
        self.vals[node.outputs[0]] = FloatV(g.shapes[node.outputs[0]])

    # -- integer part --------------------------------------------------------------------------
    def int_node(self, node: Node):
        g = self.g
        op = node.op_type
        x = self.vals[[t for t in node.inputs if t and t not in g.consts][0]]
        out = node.outputs[0]
        if op in ("Reshape", "Flatten"):
            if x.post:
                raise UnsupportedModelError(
                    f"{g.where(node)}: reshape between elementwise ops is not supported"
                )
            self.vals[out] = IntV(x.src, g.shapes[out], x.lo, x.hi, x.a, x.b, [], x.direction)
            return
        if op == "Transpose":
            raise UnsupportedModelError(
                f"{g.where(node)}: Transpose of an activation tensor is not supported yet"
            )
        if op in ELEMENTWISE:
            pos = _const_operand(g, node, x.channels)
            ins = list(node.inputs)
            ins[pos] = "__x__"
            pnode = Node(op, node.name, ins, ["__y__"], dict(node.attrs), node.domain)
            d = _sign_of(g, node, pos, x.channels)
            self.vals[out] = IntV(x.src, g.shapes[out], x.lo, x.hi, x.a, x.b, x.post + [pnode],
                                  d if x.direction is None else x.direction * d)
            return
        if op in ("MatMul", "Gemm"):
            self.vals[out] = self.matmul(node, x)
            return
        if op in ("Quant", "BipolarQuant"):
            self.vals[out] = self.quantize(node, x)
            return
        raise UnsupportedModelError(f"{g.where(node)} is not supported here")

    def matmul(self, node: Node, x: IntV) -> IntV:
        g = self.g
        if x.pending or x.post:
            raise UnsupportedModelError(
                f"{g.where(node)} consumes a non-quantized tensor; every MatMul/Gemm input must "
                "come straight from a quantizer"
            )
        wname = node.inputs[1]
        if wname not in g.qconsts:
            raise UnsupportedModelError(
                f"{g.where(node)}: weight {wname!r} is not a quantized constant; use a Brevitas "
                "QuantLinear with integer/binary/ternary weights"
            )
        q = g.qconsts[wname]
        codes, scale, zp = q.codes, q.scale, q.zeropt
        at = node.attrs
        if op_is_gemm := node.op_type == "Gemm":
            if at.get("transA", 0):
                raise UnsupportedModelError(f"{g.where(node)}: transA=1 is not supported")
            if at.get("transB", 0):
                codes, scale, zp = codes.T, scale.T, zp.T
        if codes.ndim != 2:
            raise UnsupportedModelError(f"{g.where(node)}: weight must be a matrix")
        if np.any(zp != 0):
            raise UnsupportedModelError(f"{g.where(node)}: weight zero point must be 0")
        if q.dtype.bits > MAX_WEIGHT_BITS:
            raise UnsupportedModelError(
                f"{g.where(node)}: weight type {q.dtype} is not supported; use at most "
                f"{MAX_WEIGHT_BITS}-bit weights"
            )
        # per-output-channel weight scale (constant along the input axis)
        if np.any(scale != scale[:1, :]):
            raise UnsupportedModelError(
                f"{g.where(node)}: weight scale varies along the input axis; only per-tensor "
                "or per-output-channel scales are supported"
            )
        s_w = scale[0, :].astype(np.float64)
        a_in = np.unique(np.asarray(x.a)), np.unique(np.asarray(x.b))
        if a_in[0].size != 1 or a_in[1].size != 1:
            raise UnsupportedModelError(
                f"{g.where(node)}: input scale/zero point must be per-tensor, got per-channel"
            )
        a, b = float(a_in[0][0]), float(a_in[1][0])
        w = codes.T.astype(np.int64)  # (MH, MW)
        mh, mw = w.shape
        if x.channels != mw:
            raise UnsupportedModelError(
                f"{g.where(node)}: input has {x.channels} features, weight expects {mw}"
            )
        in_dtype = self.stream_dtype(x)
        w_dtype = q.dtype
        if w_dtype.name == "INT2" and w.min() >= -1:
            w_dtype = TERNARY
        name = self.uniq(node.name or "mvau")
        lay = MVAU(name, w, in_dtype, w_dtype, in_range=(int(x.lo.min()), int(x.hi.max())))
        rowsum = w.sum(axis=1).astype(np.float64)
        alpha = float(at.get("alpha", 1.0)) if op_is_gemm else 1.0
        if lay.xnor:  # dot = 2*popcount - MW
            ka = alpha * 2 * a * s_w
            kb = alpha * (-mw * a * s_w + b * s_w * rowsum)
        else:
            ka = alpha * a * s_w
            kb = alpha * b * s_w * rowsum
        self.layers.append(lay)
        lo, hi = lay.acc_range()
        v = IntV(lay, g.shapes[node.outputs[0]], lo, hi, ka, kb)
        if op_is_gemm and len(node.inputs) > 2 and node.inputs[2]:
            cname = node.inputs[2]
            bias = np.asarray(g.consts[cname], np.float32) * np.float32(at.get("beta", 1.0))
            key = f"{cname}__gemm_bias"
            g.consts[key] = bias
            if bias.size not in (1, mh):
                raise UnsupportedModelError(f"{g.where(node)}: bias must be per-channel")
            v.post = [Node("Add", node.name + "_bias", ["__x__", key], ["__y__"])]
            v.direction = np.ones(mh)
        return v

    def quantize(self, node: Node, x: IntV) -> IntV:
        g = self.g
        dtype, qmin, qmax, scale, zp = _quant_params(g, node)
        c = x.channels
        d = np.ones(c) if x.direction is None else np.asarray(x.direction, dtype=np.float64)
        d = np.where(np.sign(x.a) < 0, -d, d) * np.where(x.a == 0, 0, 1) + np.where(x.a == 0, 1, 0)
        if x.pending:
            lay = x.src
            neg = d < 0
            if neg.any():
                x = self._negate_channels(lay, x, neg)
        elif np.any(d < 0):
            raise UnsupportedModelError(
                f"{g.where(node)}: re-quantisation with a negative scale is not supported"
            )
        t = _thresholds(x, g, node, qmin, qmax)
        out_bias = 0 if dtype.is_bipolar else qmin
        if x.pending:
            lay = x.src
            lay.set_thresholds(t, out_bias, dtype)
        else:
            in_dtype = self.stream_dtype(x)
            lay = Thresholding(self.uniq(node.name or "thresholding"), t, in_dtype, dtype,
                               out_bias)
            self.layers.append(lay)
        shape = g.shapes[node.outputs[0]]
        s = np.broadcast_to(scale.astype(np.float64), shape).reshape(-1)
        z = np.broadcast_to(zp.astype(np.float64), shape).reshape(-1)
        return IntV(lay, shape, np.full(c, qmin), np.full(c, qmax), s, -s * z)

    def _negate_channels(self, lay: MVAU, x: IntV, neg: np.ndarray) -> IntV:
        """Negate the weight rows of decreasing channels so every channel increases."""
        w = lay.weights.copy()
        w[neg] = -w[neg]
        w_dtype = lay.w_dtype
        if not w_dtype.allowed(w):
            w_dtype = int_type(w_dtype.bits + 1)
        lay.weights, lay.w_dtype = w, w_dtype
        a = np.where(neg, -x.a, x.a)
        b = np.where(neg, x.b + x.a * lay.mw, x.b) if lay.xnor else x.b
        lo, hi = lay.acc_range()
        return IntV(lay, x.shape, lo, hi, a, b, x.post, np.ones_like(x.a))

    def finish(self, out: IntV) -> Dataflow:
        g = self.g
        if out.pending:
            out.src.set_thresholds(None)
        tail = HostTail(np.broadcast_to(out.a, (out.channels,)).copy(),
                        np.broadcast_to(out.b, (out.channels,)).copy(), out.post, dict(g.consts),
                        tuple(g.shapes[g.outputs[0]]), tuple(out.shape))
        if self.layers and self.layers[-1] is not out.src:
            raise UnsupportedModelError(f"{g.source}: the graph output is not the last layer")
        name = sanitize(g.source.rsplit("/", 1)[-1].rsplit(".", 1)[0])
        return Dataflow(name, g.source, self.head, self.layers, tail)


def lower(graph: Graph) -> Dataflow:
    """Lower a loaded IR graph to an (unfolded) dataflow."""
    return _Lowering(graph).run()
