"""Streamline and lower a QONNX graph to the hardware dataflow.

The pass walks the graph once, in topological order, tracking what every tensor *is*:

* ``FloatV`` — a float tensor on the host, before the first quantizer (input pre-processing);
* ``IntV`` — an integer stream ``q`` produced by the head or a hardware layer, together with the
  float function that gives the ONNX tensor from it: ``post(float32(a * q + b))``, where
  ``a, b`` are per-channel and ``post`` is a list of elementwise ONNX nodes (BatchNormalization,
  Mul, Add, Sub, Div, Relu...) evaluated exactly as ONNX does.

Feature maps are NCHW in ONNX and travel NHWC in hardware: an ``IntV`` of shape ``(1, C, H, W)``
is a stream of ``H*W`` vectors of ``C`` channels. Rules (see docs/streamlining.md):

* a quantizer on a ``FloatV`` becomes the host head; its integer codes enter the hardware;
* ``MatMul``/``Gemm`` with quantized constant weights on a de-quantized ``IntV`` becomes an MVAU;
  ``Conv`` becomes [padding ->] sliding window -> MVAU; input and weight scales, zero points and
  the XNOR popcount offset go into ``a, b``;
* a quantizer (Quant, BipolarQuant, Trunc) on an ``IntV`` becomes integer thresholds: for each
  channel and output level the smallest integer whose float image quantizes to at least that
  level, found by bisection over the exact integer range. They attach to the producing MVAU,
  or become a standalone Thresholding layer (or nothing, when the mapping is the identity).
  Channels whose function decreases are negated in the weights;
* MaxPool runs on the quantized codes (after the thresholds, which is exact because the
  quantizer is monotonic); average pools sum in hardware and scale in ``a``;
* ``Add`` of two quantized streams with the same scale becomes AddStreams; a tensor used twice
  is duplicated in hardware;
* whatever follows the last hardware layer becomes the host tail.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from ..dataflow import Dataflow, HostHead, HostTail
from ..datatypes import BIPOLAR, TERNARY, DataType, int_type, uint_type
from ..errors import UnsupportedModelError
from ..frontend import float_exec
from ..ir import Graph, Node
from ..layers import (
    MVAU,
    VVAU,
    AddStreams,
    DuplicateStreams,
    FMPadding,
    GlobalAccPool,
    LabelSelect,
    Pool,
    SlidingWindow,
    Thresholding,
    sanitize,
)
from .base import Transformation

__all__ = ["LowerToDataflow", "lower"]

MAX_ACT_BITS = 8
MAX_WEIGHT_BITS = 8
ELEMENTWISE = ("Mul", "Add", "Sub", "Div", "Neg", "Relu", "BatchNormalization", "Identity")
QUANTIZERS = ("Quant", "BipolarQuant", "Trunc")


@dataclass
class FloatV:
    shape: tuple


@dataclass
class IntV:
    src: object  # "head" or the HWLayer producing the stream
    stream: str  # name of the stream carrying q
    dtype: DataType  # type of the stream elements
    shape: tuple  # ONNX shape, (1, C) or (1, C, H, W)
    lo: np.ndarray  # per-channel integer range of the stream values
    hi: np.ndarray
    a: np.ndarray  # per-channel float64 affine from integers to float
    b: np.ndarray
    post: list = field(default_factory=list)  # elementwise nodes (inputs: "__x__" + consts)
    direction: np.ndarray | None = None  # +1/-1 per channel: monotonic direction of post
    perm: np.ndarray | None = None  # flattened maps: ONNX feature index of each stream element
    pools: list = field(default_factory=list)  # max-pools deferred until after thresholds

    @property
    def channels(self) -> int:
        return int(self.shape[1])

    @property
    def spatial(self) -> tuple:
        return tuple(int(s) for s in self.shape[2:])

    @property
    def num_vectors(self) -> int:
        return int(np.prod(self.shape[2:], dtype=np.int64)) if len(self.shape) > 2 else 1

    @property
    def pending(self) -> bool:
        """True when the stream is a raw MVAU accumulator that can still take thresholds."""
        return isinstance(self.src, (MVAU, VVAU)) and self.src.thresholds is None

    @property
    def quantized(self) -> bool:
        """A plain de-quantized stream: no pending accumulator, no elementwise ops."""
        return not self.pending and not self.post and not self.pools

    def uniform(self) -> tuple[float, float] | None:
        a, b = np.unique(self.a), np.unique(self.b)
        return (float(a[0]), float(b[0])) if a.size == 1 and b.size == 1 else None


class LowerToDataflow(Transformation):
    """IR graph -> :class:`~fpgagen.dataflow.Dataflow` (one-shot pass)."""

    def apply(self, graph: Graph):
        return lower(graph), True


def _per_channel(arr, shape) -> np.ndarray:
    """A constant broadcast against a tensor of ``shape`` -> one value per channel (axis 1)."""
    arr = np.asarray(arr, dtype=np.float64)
    full = np.broadcast_to(arr, shape)
    c = full.reshape(shape[0], shape[1], -1)[0]
    if np.any(c != c[:, :1]):
        raise ValueError("varies inside a channel")
    return c[:, 0].copy()


def _const_operand(graph: Graph, node: Node, channels: int) -> int:
    """Index of the tensor input; checks the constant operands are per-tensor or per-channel."""
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
    consts = [
        np.asarray(graph.consts[t], dtype=np.float64)
        for t in node.inputs
        if t and t in graph.consts
    ]

    def per_channel(c):
        return np.sign(
            np.broadcast_to(c.ravel(), (channels,)) if c.size > 1 else one * c.ravel()[0]
        )

    if op in ("Relu", "Identity", "Add"):
        return one
    if op == "Neg":
        return -one
    if op == "Sub":
        return one if pos == 0 else -one
    if op == "Mul":
        return per_channel(consts[0])
    if op == "Div":
        if pos != 0:
            raise UnsupportedModelError(
                f"{graph.where(node)}: division by a tensor is not monotonic; not supported"
            )
        return per_channel(consts[0])
    if op == "BatchNormalization":
        return per_channel(np.asarray(graph.consts[node.inputs[1]], dtype=np.float64))
    raise UnsupportedModelError(f"{graph.where(node)} is not supported here")


@dataclass
class _Quantizer:
    """What lowering needs to know about a Quant / BipolarQuant / Trunc node."""

    node: Node
    dtype: DataType
    qmin: int
    qmax: int
    out_scale: np.ndarray  # float32, broadcastable to the tensor
    out_zeropt: np.ndarray
    graph: Graph

    def codes(self, x: np.ndarray) -> np.ndarray:
        """Integer codes for float32 ``x``, computed exactly as QONNX computes them."""
        g, n = self.graph, self.node
        if n.op_type == "BipolarQuant":
            return np.where(x >= 0, 1, -1)
        args = [x] + [g.consts[t] for t in n.inputs[1:]]
        return float_exec.quantizer_codes(n, args)

    @property
    def levels(self) -> np.ndarray:
        if self.dtype.is_bipolar:
            return np.array([1])
        return np.arange(self.qmin + 1, self.qmax + 1)


def _quantizer(graph: Graph, node: Node) -> _Quantizer:
    for t in node.inputs[1:]:
        if t and t not in graph.consts:
            raise UnsupportedModelError(
                f"{graph.where(node)}: quantizer parameter {t!r} must be constant"
            )
    scale = np.asarray(graph.consts[node.inputs[1]], dtype=np.float32)
    if np.any(scale <= 0) or not np.all(np.isfinite(scale)):
        raise UnsupportedModelError(
            f"{graph.where(node)}: scale {scale.ravel()[:4]} must be positive and finite"
        )
    if node.op_type == "BipolarQuant":
        return _Quantizer(node, BIPOLAR, -1, 1, scale, np.zeros_like(scale), graph)
    a = node.attrs
    signed, narrow = bool(a.get("signed", 1)), bool(a.get("narrow", 0))
    rm = str(a.get("rounding_mode", "ROUND")).upper()
    if rm not in float_exec.ROUNDING:
        raise UnsupportedModelError(
            f"{graph.where(node)}: rounding_mode {rm!r} is not supported; use one of "
            f"{', '.join(float_exec.ROUNDING)}"
        )
    zp = np.asarray(graph.consts[node.inputs[2]], dtype=np.float32)
    if node.op_type == "Trunc":  # the output bit width decides the type
        out_bits_t = node.inputs[5] if len(node.inputs) == 6 else node.inputs[4]
        bits = float(np.asarray(graph.consts[out_bits_t]).ravel()[0])
        if len(node.inputs) == 6:
            out_scale = np.asarray(graph.consts[node.inputs[4]], dtype=np.float32)
            ts = 2.0 ** np.round(np.log2(out_scale / scale))
            out_zp = zp / ts
        else:
            ibw = float(np.asarray(graph.consts[node.inputs[3]]).ravel()[0])
            ts = 2.0 ** (ibw - bits)
            out_scale, out_zp = scale * np.float32(ts), zp
            signed, narrow = True, False
    else:
        bits = float(np.asarray(graph.consts[node.inputs[3]]).ravel()[0])
        out_scale, out_zp = scale, zp
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
    if bits == 1 and signed and node.op_type == "Quant":
        return _Quantizer(node, BIPOLAR, -1, 1, out_scale, out_zp, graph)
    lo, hi = float_exec.quant_int_range(signed, narrow, bits)
    dtype = int_type(bits) if signed else uint_type(bits)
    return _Quantizer(node, dtype, lo, hi, out_scale, out_zp, graph)


def _eval_post(v: IntV, graph: Graph, q: np.ndarray) -> np.ndarray:
    """Float image of integer values ``q`` of shape (K, C): post(float32(a*q + b))."""
    x = (v.a * q.astype(np.float64) + v.b).astype(np.float32)
    extra = len(v.shape) - 2
    x = x.reshape(x.shape + (1,) * extra) if extra > 0 else x
    for node in v.post:
        x = float_exec.run_node(
            node, [x if t == "__x__" else graph.consts[t] for t in node.inputs if t]
        )
    return x.reshape(q.shape)


def _codes_on(v: IntV, graph: Graph, qz: _Quantizer, q: np.ndarray) -> np.ndarray:
    x = _eval_post(v, graph, q)
    extra = len(v.shape) - 2
    xs = x.reshape(x.shape + (1,) * extra) if extra > 0 else x
    return np.asarray(qz.codes(xs)).reshape(q.shape)


def _thresholds(v: IntV, graph: Graph, qz: _Quantizer) -> np.ndarray:
    """Ascending thresholds (C, levels): min integer reaching each output level."""
    c = len(v.lo)
    levels = qz.levels
    n = levels.size
    lo = np.asarray(v.lo, dtype=np.int64)
    hi = np.asarray(v.hi, dtype=np.int64)
    left = np.broadcast_to(lo, (n, c)).copy()
    right = np.broadcast_to(hi + 1, (n, c)).copy()  # hi+1: never reached
    lv = levels[:, None]
    for _ in range(80):
        active = left < right
        if not active.any():
            break
        mid = (left + right) // 2
        ok = _codes_on(v, graph, qz, mid) >= lv
        right = np.where(active & ok, mid, right)
        left = np.where(active & ~ok, mid + 1, left)
    else:  # pragma: no cover - the range is at most 2^40 wide
        raise AssertionError("threshold bisection did not converge")
    return np.maximum.accumulate(left.T.copy(), axis=1)


#: largest group multiplier of a grouped MVAU (exclusive): 16-bit unsigned multipliers
MAX_GROUP_MULT = 2**16


def _pixel_scales(graph: Graph, node: Node, scale, wshape, group: int):
    """Per-kernel-pixel weight scales of a Conv (SYQ) as integer group multipliers.

    ``scale`` broadcasts to the weight shape ``(OC, IC, KH, KW)`` and varies over the kernel
    pixels. Supported: constant over the input channels, every value ``m * 2^-F`` with a
    positive integer ``m``, a convolution with ``group == 1``. Returns ``(mult, s_row)``:
    ``mult`` is ``(OC, KH*KW)`` (pixel ``ky*KW + kx``, the MVAU's column-group order) and
    ``s_row`` the per-output-channel float64 factor, so that ``scale[o, :, ky, kx] ==
    s_row[o] * mult[o, ky*KW + kx]`` exactly; ``s_row[o] = c[o] * 2^-F`` where ``c[o]`` is the
    greatest common divisor of the row's integers (the smallest multipliers).
    """
    from fractions import Fraction
    from math import gcd

    oc, icg, kh, kw = wshape
    s = np.broadcast_to(np.asarray(scale, dtype=np.float64), wshape)
    where = graph.where(node)
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


def _attr_pair(node: Node, name: str, default) -> tuple[int, int]:
    v = node.attrs.get(name, default)
    return int(v[0]), int(v[1])


class _Lowering:
    def __init__(self, graph: Graph):
        self.g = graph
        self.vals: dict = {}
        self.layers: list = []
        self.head: HostHead | None = None
        self.head_nodes: list = []
        self.names: set = set()
        self.uses: dict = {}
        self.forks: dict = {}
        for n in graph.nodes:
            for t in n.inputs:
                if t and t not in graph.consts:
                    self.uses[t] = self.uses.get(t, 0) + 1

    # -- helpers -------------------------------------------------------------------------------
    def uniq(self, base: str) -> str:
        name = sanitize(base)
        k, out = 0, name
        while out in self.names:
            k += 1
            out = f"{name}_{k}"
        self.names.add(out)
        return out

    def add(self, layer, ins: list) -> list:
        layer.ins = list(ins)
        layer.outs = [f"s_{layer.name}"] + [
            f"s_{layer.name}_{i}" for i in range(1, len(layer.out_ports))
        ]
        self.layers.append(layer)
        return layer.outs

    def take(self, tensor: str, node: Node) -> IntV:
        """The value of ``tensor`` for one consumer (duplicating streams used several times)."""
        v = self.vals[tensor]
        n = self.uses.get(tensor, 1)
        if not isinstance(v, IntV) or n <= 1:
            return v
        if tensor not in self.forks:
            if v.pools:
                raise UnsupportedModelError(
                    f"{self.g.where(node)}: a max-pooled accumulator feeds several nodes"
                )
            if v.pending:
                v.src.set_thresholds(None)
            copies, stream = [], v.stream
            for _i in range(n - 1):
                dup = DuplicateStreams(
                    self.uniq(f"dup_{tensor}"), v.dtype, v.channels, 1, v.num_vectors
                )
                o0, o1 = self.add(dup, [stream])
                copies.append(o0)
                stream = o1
            copies.append(stream)
            self.forks[tensor] = [copy.copy(v) for _ in copies]
            for c, s in zip(self.forks[tensor], copies):
                c.stream, c.src = s, "dup"
        return self.forks[tensor].pop(0)

    def dyn_inputs(self, node: Node) -> list:
        return [t for t in node.inputs if t and t not in self.g.consts]

    def run(self) -> Dataflow:
        g = self.g
        inp = g.inputs[0]
        self.vals[inp] = FloatV(g.shapes[inp])
        for node in g.nodes:
            ins = [self.vals.get(t) for t in self.dyn_inputs(node)]
            if any(isinstance(v, FloatV) for v in ins) or not ins:
                if any(isinstance(v, IntV) for v in ins):
                    raise UnsupportedModelError(
                        f"{g.where(node)} mixes float host-side and quantized tensors"
                    )
                self.float_node(node)
            else:
                self.int_node(node)
        out = self.vals[g.outputs[0]]
        if not isinstance(out, IntV) or not self.layers:
            raise UnsupportedModelError(
                f"{g.source}: no quantized layer found; the model must contain a quantized "
                "MatMul/Gemm/Conv (export it with Brevitas quantized layers)"
            )
        return self.finish(out)

    # -- host head -----------------------------------------------------------------------------
    def float_node(self, node: Node):
        g = self.g
        if node.op_type in QUANTIZERS:
            if self.head is not None:
                raise UnsupportedModelError(
                    f"{g.where(node)}: a second quantizer on a float input; only one input "
                    "quantizer is supported"
                )
            qz = _quantizer(g, node)
            shape = tuple(g.shapes[node.outputs[0]])
            if len(shape) not in (2, 4):
                raise UnsupportedModelError(
                    f"{g.where(node)}: input tensors of rank {len(shape)} are not supported; "
                    "use (N, C) or (N, C, H, W)"
                )
            c = shape[1]
            s, z = self._out_scale(node, qz, shape)
            self.head = HostHead(
                g.inputs[0],
                tuple(g.shapes[g.inputs[0]]),
                list(self.head_nodes),
                dict(g.consts),
                node,
                qz.dtype,
                int(np.prod(shape[1:])),
            )
            self.head.nhwc_shape = (shape[1],) + tuple(shape[2:])
            self.vals[node.outputs[0]] = IntV(
                "head",
                Dataflow.INPUT,
                qz.dtype,
                shape,
                np.full(c, qz.qmin),
                np.full(c, qz.qmax),
                s,
                -s * z,
            )
            return
        if node.op_type in ("MatMul", "Gemm", "Conv"):
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
        dyn = self.dyn_inputs(node)
        out = node.outputs[0]
        if op == "Add" and len(dyn) == 2:
            self.vals[out] = self.add_streams(
                node, self.take(dyn[0], node), self.take(dyn[1], node)
            )
            return
        x = self.take(dyn[0], node)
        if x.pools and op not in ELEMENTWISE + QUANTIZERS + ("MaxPool",):
            raise UnsupportedModelError(
                f"{g.where(node)}: a MaxPool on an accumulator must be followed by a quantizer"
            )
        if op in ("Reshape", "Flatten"):
            self.vals[out] = self.reshape(node, x)
        elif op == "Transpose":
            raise UnsupportedModelError(
                f"{g.where(node)}: Transpose of an activation tensor is not supported"
            )
        elif op in ELEMENTWISE:
            pos = _const_operand(g, node, x.channels)
            ins = list(node.inputs)
            ins[pos] = "__x__"
            pnode = Node(op, node.name, ins, ["__y__"], dict(node.attrs), node.domain)
            d = _sign_of(g, node, pos, x.channels)
            v = copy.copy(x)
            v.shape = tuple(g.shapes[out])
            v.post = x.post + [pnode]
            v.direction = d if x.direction is None else x.direction * d
            self.vals[out] = v
        elif op in ("MatMul", "Gemm"):
            self.vals[out] = self.matmul(node, x)
        elif op == "Conv":
            self.vals[out] = self.conv(node, x)
        elif op in QUANTIZERS:
            self.vals[out] = self.quantize(node, x)
        elif op == "MaxPool":
            self.vals[out] = self.maxpool(node, x)
        elif op in ("AveragePool", "GlobalAveragePool"):
            self.vals[out] = self.avgpool(node, x)
        elif op in ("TopK", "ArgMax"):
            self.vals[out] = self.label_select(node, x)
        else:
            raise UnsupportedModelError(f"{g.where(node)} is not supported here")

    def reshape(self, node: Node, x: IntV) -> IntV:
        g = self.g
        shape = tuple(g.shapes[node.outputs[0]])
        v = copy.copy(x)
        v.shape = shape
        if len(x.shape) == 2 or (len(x.shape) > 2 and x.num_vectors == 1 and len(shape) == 2):
            if len(shape) != 2:
                raise UnsupportedModelError(
                    f"{g.where(node)}: reshaping to {shape} is not supported; only flattening "
                    "to (N, features)"
                )
            return v
        if len(shape) != 2 or shape[1] != x.channels * x.num_vectors:
            raise UnsupportedModelError(
                f"{g.where(node)}: reshaping {x.shape} to {shape} is not supported; only "
                "flattening a feature map to (N, C*H*W)"
            )
        if not x.quantized or x.perm is not None:
            raise UnsupportedModelError(
                f"{g.where(node)}: flattening is supported on quantized feature maps only"
            )
        c, hw = x.channels, x.num_vectors
        # stream position i = p*C + ch (pixel p, channel ch) is ONNX feature ch*HW + p
        pix, ch = np.divmod(np.arange(c * hw), c)
        v.perm = ch * hw + pix
        v.lo, v.hi, v.a, v.b = (np.asarray(t)[ch] for t in (x.lo, x.hi, x.a, x.b))
        return v

    def _weights(self, node: Node, name: str):
        g = self.g
        if name not in g.qconsts:
            raise UnsupportedModelError(
                f"{g.where(node)}: weight {name!r} is not a quantized constant; use Brevitas "
                "quantized layers with integer/binary/ternary weights"
            )
        q = g.qconsts[name]
        if np.any(q.zeropt != 0):
            raise UnsupportedModelError(f"{g.where(node)}: weight zero point must be 0")
        if q.dtype.bits > MAX_WEIGHT_BITS:
            raise UnsupportedModelError(
                f"{g.where(node)}: weight type {q.dtype} is not supported; use at most "
                f"{MAX_WEIGHT_BITS}-bit weights"
            )
        return q

    def _mvau(
        self,
        node: Node,
        x: IntV,
        w: np.ndarray,
        w_dtype: DataType,
        s_w: np.ndarray,
        num_vectors: int,
        in_stream: str,
        alpha: float = 1.0,
        group_mult=None,
    ) -> tuple:
        """Create an MVAU for integer weights ``w`` (MH, MW); returns (layer, a, b).

        The float weights are ``s_w[o] * w[o, k]``, or with ``group_mult`` (MH, G)
        ``s_w[o] * group_mult[o, k // (MW/G)] * w[o, k]`` (a grouped MVAU)."""
        g = self.g
        ab = x.uniform()
        if ab is None:
            raise UnsupportedModelError(
                f"{g.where(node)}: input scale/zero point must be per-tensor, got per-channel"
            )
        a, b = ab
        if w_dtype.name == "INT2" and w.min() >= -1:
            w_dtype = TERNARY
        if not w_dtype.allowed(w):
            w_dtype = DataType("INT8") if w_dtype.is_bipolar else w_dtype
        lay = MVAU(
            self.uniq(node.name or "mvau"),
            w,
            x.dtype,
            w_dtype,
            in_range=(int(np.min(x.lo)), int(np.max(x.hi))),
            num_vectors=num_vectors,
            group_mult=group_mult,
        )
        self.add(lay, [in_stream])
        mh, mw = w.shape
        rowsum = lay.acc_weights().sum(axis=1).astype(np.float64)
        if lay.xnor_popcount:  # dot = 2*popcount - MW
            ka = alpha * 2 * a * s_w
            kb = alpha * (-mw * a * s_w + b * s_w * rowsum)
        else:
            ka = alpha * a * s_w
            kb = alpha * b * s_w * rowsum
        return lay, ka, kb

    def matmul(self, node: Node, x: IntV) -> IntV:
        g = self.g
        if not x.quantized:
            raise UnsupportedModelError(
                f"{g.where(node)} consumes a non-quantized tensor; every MatMul/Gemm input must "
                "come straight from a quantizer"
            )
        if len(x.shape) != 2:
            raise UnsupportedModelError(
                f"{g.where(node)}: MatMul on a tensor of shape {x.shape}; flatten it first"
            )
        q = self._weights(node, node.inputs[1])
        codes, scale = q.codes, q.scale
        at = node.attrs
        is_gemm = node.op_type == "Gemm"
        if is_gemm:
            if at.get("transA", 0):
                raise UnsupportedModelError(f"{g.where(node)}: transA=1 is not supported")
            if at.get("transB", 0):
                codes, scale = codes.T, scale.T
        if codes.ndim != 2:
            raise UnsupportedModelError(f"{g.where(node)}: weight must be a matrix")
        if np.any(scale != scale[:1, :]):
            raise UnsupportedModelError(
                f"{g.where(node)}: weight scale varies along the input axis; only per-tensor "
                "or per-output-channel scales are supported"
            )
        if codes.shape[0] != len(x.lo):
            raise UnsupportedModelError(
                f"{g.where(node)}: input has {len(x.lo)} features, weight expects {codes.shape[0]}"
            )
        if x.perm is not None:
            codes = codes[x.perm, :]
        w = codes.T.astype(np.int64)  # (MH, MW) in stream order
        alpha = float(at.get("alpha", 1.0)) if is_gemm else 1.0
        lay, ka, kb = self._mvau(
            node, x, w, q.dtype, scale[0, :].astype(np.float64), 1, x.stream, alpha
        )
        lo, hi = lay.acc_range()
        shape = tuple(g.shapes[node.outputs[0]])
        v = IntV(lay, lay.outs[0], lay.out_dtype, shape, lo, hi, ka, kb)
        if is_gemm and len(node.inputs) > 2 and node.inputs[2]:
            bias = np.asarray(g.consts[node.inputs[2]], np.float32) * np.float32(
                at.get("beta", 1.0)
            )
            if bias.size not in (1, w.shape[0]):
                raise UnsupportedModelError(f"{g.where(node)}: bias must be per-channel")
            key = f"{node.inputs[2]}__gemm_bias"
            g.consts[key] = bias
            v.post = [Node("Add", node.name + "_bias", ["__x__", key], ["__y__"])]
            v.direction = np.ones(w.shape[0])
        return v

    def _pad_value(self, node: Node, x: IntV, what: str) -> int:
        a, b = x.uniform()
        z = -b / a
        if x.dtype.is_bipolar or z != np.round(z) or not x.dtype.allowed([z]):
            raise UnsupportedModelError(
                f"{self.g.where(node)}: {what} pads with 0.0, which this {x.dtype} stream "
                "cannot represent; remove the padding or use a signed/unsigned int quantizer"
            )
        return int(z)

    def conv(self, node: Node, x: IntV) -> IntV:
        g = self.g
        at = node.attrs
        if len(x.shape) != 4:
            raise UnsupportedModelError(f"{g.where(node)}: only 2D convolutions are supported")
        if not x.quantized:
            raise UnsupportedModelError(
                f"{g.where(node)} consumes a non-quantized tensor; put a quantizer in front"
            )
        dil = _attr_pair(node, "dilations", [1, 1])
        if dil != (1, 1):
            raise UnsupportedModelError(
                f"{g.where(node)}: attribute dilations={list(dil)} is not supported; only "
                "dilation 1"
            )
        if at.get("auto_pad", "NOTSET") not in ("NOTSET", b"NOTSET"):
            raise UnsupportedModelError(
                f"{g.where(node)}: attribute auto_pad={at['auto_pad']!r} is not supported; "
                "export with explicit pads"
            )
        q = self._weights(node, node.inputs[1])
        codes = q.codes  # (OC, IC/g, KH, KW)
        oc, icg, kh, kw = codes.shape
        group = int(at.get("group", 1))
        ic = x.channels
        if icg * group != ic:
            raise UnsupportedModelError(f"{g.where(node)}: weight/input channel mismatch")
        s_full = np.broadcast_to(q.scale, codes.shape).reshape(oc, -1)
        group_mult = None
        if np.any(s_full != s_full[:, :1]):
            # SYQ: one scale per kernel pixel (and possibly per output channel)
            group_mult, s_row = _pixel_scales(g, node, q.scale, codes.shape, group)
            s_full = np.broadcast_to(s_row[:, None], s_full.shape)
        pads = [int(p) for p in at.get("pads", [0, 0, 0, 0])]
        stride = _attr_pair(node, "strides", [1, 1])
        h, w_ = x.spatial
        stream = x.stream
        if any(pads):
            pv = self._pad_value(node, x, "Conv")
            pad = FMPadding(self.uniq(f"{node.name}_pad"), x.dtype, (h, w_), ic, pads, pv)
            (stream,) = self.add(pad, [stream])
            h, w_ = pad.ofm_h, pad.ofm_w
        swu = SlidingWindow(self.uniq(f"{node.name}_swu"), x.dtype, (h, w_), ic, (kh, kw), stride)
        if (kh, kw) != (1, 1) or stride != (1, 1):
            (stream,) = self.add(swu, [stream])  # a 1x1/1 convolution needs no window
        if group == ic == oc and icg == 1:
            return self._depthwise(node, x, q, codes, s_full[:, 0], stream, swu)
        if group == 1:
            wmat = codes.transpose(0, 2, 3, 1).reshape(oc, kh * kw * ic)
            w_dtype = q.dtype
        else:
            if q.dtype.is_bipolar:
                raise UnsupportedModelError(
                    f"{g.where(node)}: grouped/depthwise convolution with BIPOLAR weights is "
                    "not supported; use ternary or integer weights"
                )
            full = np.zeros((oc, kh, kw, ic), dtype=np.int64)
            per = oc // group
            for o in range(oc):
                gi = o // per
                full[o, :, :, gi * icg : (gi + 1) * icg] = codes[o].transpose(1, 2, 0)
            wmat = full.reshape(oc, kh * kw * ic)
            w_dtype = q.dtype
        lay, ka, kb = self._mvau(
            node,
            x,
            wmat.astype(np.int64),
            w_dtype,
            s_full[:, 0].astype(np.float64),
            swu.num_vectors,
            stream,
            group_mult=group_mult,
        )
        lay.conv = {"kernel": [kh, kw], "stride": list(stride), "pads": pads, "group": group}
        lo, hi = lay.acc_range()
        shape = tuple(g.shapes[node.outputs[0]])
        if shape[2:] != (swu.ofm_h, swu.ofm_w):
            raise UnsupportedModelError(f"{g.where(node)}: unexpected output shape {shape}")
        v = IntV(lay, lay.outs[0], lay.out_dtype, shape, lo, hi, ka, kb)
        if len(node.inputs) > 2 and node.inputs[2]:
            key = f"{node.inputs[2]}__conv_bias"
            g.consts[key] = np.asarray(g.consts[node.inputs[2]], np.float32).reshape(1, oc, 1, 1)
            v.post = [Node("Add", node.name + "_bias", ["__x__", key], ["__y__"])]
            v.direction = np.ones(oc)
        return v

    def _depthwise(self, node, x, q, codes, s_w, stream, swu) -> IntV:
        """Depthwise convolution: a VVAU after the sliding window (one filter per channel)."""
        g = self.g
        ab = x.uniform()
        if ab is None:
            raise UnsupportedModelError(
                f"{g.where(node)}: input scale/zero point must be per-tensor, got per-channel"
            )
        a, b = ab
        c = x.channels
        w = codes.reshape(c, -1).astype(np.int64)  # (C, KH*KW), window position ky*KW + kx
        w_dtype = TERNARY if q.dtype.name == "INT2" and w.min() >= -1 else q.dtype
        lay = VVAU(
            self.uniq(node.name or "vvau"),
            w,
            x.dtype,
            w_dtype,
            in_range=(int(np.min(x.lo)), int(np.max(x.hi))),
            num_vectors=swu.num_vectors,
        )
        self.add(lay, [stream])
        k = w.shape[1]
        s_w = np.asarray(s_w, dtype=np.float64)
        rowsum = w.sum(axis=1).astype(np.float64)
        if lay.xnor:
            ka, kb = 2 * a * s_w, -k * a * s_w + b * s_w * rowsum
        else:
            ka, kb = a * s_w, b * s_w * rowsum
        lo, hi = lay.acc_range()
        shape = tuple(g.shapes[node.outputs[0]])
        v = IntV(lay, lay.outs[0], lay.out_dtype, shape, lo, hi, ka, kb)
        if len(node.inputs) > 2 and node.inputs[2]:
            key = f"{node.inputs[2]}__conv_bias"
            g.consts[key] = np.asarray(g.consts[node.inputs[2]], np.float32).reshape(1, c, 1, 1)
            v.post = [Node("Add", node.name + "_bias", ["__x__", key], ["__y__"])]
            v.direction = np.ones(c)
        return v

    def _pool_window(self, node: Node, x: IntV):
        at = node.attrs
        k = _attr_pair(node, "kernel_shape", None)
        s = _attr_pair(node, "strides", [1, 1])
        if tuple(at.get("dilations", [1, 1])) != (1, 1):
            raise UnsupportedModelError(
                f"{self.g.where(node)}: attribute dilations={list(at['dilations'])} is not "
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

    def _emit_maxpool(self, node: Node, x: IntV, k, s, pads) -> IntV:
        h, w = x.spatial
        stream = x.stream
        if any(pads):
            lo = -1 if x.dtype.is_bipolar else x.dtype.min
            pad = FMPadding(self.uniq(f"{node.name}_pad"), x.dtype, (h, w), x.channels, pads, lo)
            (stream,) = self.add(pad, [stream])
            h, w = pad.ofm_h, pad.ofm_w
        swu = SlidingWindow(self.uniq(f"{node.name}_swu"), x.dtype, (h, w), x.channels, k, s)
        (stream,) = self.add(swu, [stream])
        pool = Pool(
            self.uniq(node.name or "maxpool"),
            x.dtype,
            x.channels,
            k[0] * k[1],
            "max",
            swu.num_vectors,
        )
        (stream,) = self.add(pool, [stream])
        v = copy.copy(x)
        v.src, v.stream = pool, stream
        v.shape = (1, x.channels, swu.ofm_h, swu.ofm_w)
        return v

    def maxpool(self, node: Node, x: IntV) -> IntV:
        g = self.g
        k, s, pads = self._pool_window(node, x)
        shape = tuple(g.shapes[node.outputs[0]])
        if x.pending or x.pools:
            # max-pool commutes with the (monotonic) quantizer that must follow: pool the codes
            v = copy.copy(x)
            v.pools = x.pools + [(node, k, s, pads)]
            v.shape = shape
            return v
        if not x.quantized:
            raise UnsupportedModelError(
                f"{g.where(node)}: MaxPool after elementwise ops on a quantized tensor is not "
                "supported"
            )
        if tuple(x.a.min(keepdims=True)) <= (0,):
            raise UnsupportedModelError(f"{g.where(node)}: MaxPool on a negative scale")
        v = self._emit_maxpool(node, x, k, s, pads)
        if v.shape != shape:
            raise UnsupportedModelError(f"{g.where(node)}: unexpected output shape {shape}")
        return v

    def avgpool(self, node: Node, x: IntV) -> IntV:
        g = self.g
        if not x.quantized or len(x.shape) != 4:
            raise UnsupportedModelError(
                f"{g.where(node)}: average pooling needs a quantized (N, C, H, W) input"
            )
        ab = x.uniform()
        a, b = ab if ab is not None else (x.a, x.b)
        h, w = x.spatial
        if node.op_type == "GlobalAveragePool":
            lay = GlobalAccPool(self.uniq(node.name or "gap"), x.dtype, x.channels, h * w)
            (stream,) = self.add(lay, [x.stream])
            kk, shape_hw = h * w, (1, 1)
        else:
            k, s, pads = self._pool_window(node, x)
            stream = x.stream
            if any(pads):
                if not node.attrs.get("count_include_pad", 0):
                    raise UnsupportedModelError(
                        f"{g.where(node)}: padding with count_include_pad=0 is not supported"
                    )
                pv = self._pad_value(node, x, "AveragePool")
                pad = FMPadding(
                    self.uniq(f"{node.name}_pad"), x.dtype, (h, w), x.channels, pads, pv
                )
                (stream,) = self.add(pad, [stream])
                h, w = pad.ofm_h, pad.ofm_w
            swu = SlidingWindow(self.uniq(f"{node.name}_swu"), x.dtype, (h, w), x.channels, k, s)
            (stream,) = self.add(swu, [stream])
            lay = Pool(
                self.uniq(node.name or "avgpool"),
                x.dtype,
                x.channels,
                k[0] * k[1],
                "sum",
                swu.num_vectors,
            )
            (stream,) = self.add(lay, [stream])
            kk, shape_hw = k[0] * k[1], (swu.ofm_h, swu.ofm_w)
        shape = tuple(g.shapes[node.outputs[0]])
        if shape[2:] != shape_hw:
            raise UnsupportedModelError(f"{g.where(node)}: unexpected output shape {shape}")
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

    def label_select(self, node: Node, x: IntV) -> IntV:
        """TopK indices / ArgMax over the classes: a LabelSelect on the integer scores."""
        g = self.g
        at = node.attrs
        if len(x.shape) != 2:
            raise UnsupportedModelError(f"{g.where(node)}: only (N, classes) scores are supported")
        if node.op_type == "TopK":
            k = int(np.ravel(g.consts[node.inputs[1]])[0]) if node.inputs[1] in g.consts else None
            ok = at.get("axis", -1) in (-1, 1) and at.get("largest", 1) == 1
        else:
            k = 1
            ok = at.get("axis", 0) in (-1, 1) and not at.get("select_last_index", 0)
        if k is None or not ok:
            raise UnsupportedModelError(
                f"{g.where(node)}: only a constant k along the class axis, largest first, is "
                "supported"
            )
        scalar_post = all(
            np.asarray(g.consts[t]).size == 1 for n in x.post for t in n.inputs if t in g.consts
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
                f"{g.where(node)}: the class scores must be an increasing per-tensor function of "
                "the integers (no per-class scales) for a hardware label select"
            )
        if x.pending:
            x.src.set_thresholds(None)
        lay = LabelSelect(self.uniq(node.name or "label_select"), x.dtype, len(x.lo), k)
        (stream,) = self.add(lay, [x.stream])
        return IntV(
            lay,
            stream,
            lay.out_dtype,
            tuple(g.shapes[node.outputs[0]]),
            np.zeros(k, np.int64),
            np.full(k, len(x.lo) - 1),
            np.ones(k),
            np.zeros(k),
        )

    def add_streams(self, node: Node, x: IntV, y: IntV) -> IntV:
        g = self.g
        for v in (x, y):
            if not v.quantized:
                raise UnsupportedModelError(
                    f"{g.where(node)}: both inputs of a residual Add must come straight from "
                    "quantizers (re-quantize the branch before the Add)"
                )
        ax, ay = x.uniform(), y.uniform()
        if ax is None or ay is None or not np.isclose(ax[0], ay[0], rtol=0, atol=0):
            raise UnsupportedModelError(
                f"{g.where(node)}: the two inputs of Add have different scales "
                f"({x.a.ravel()[0]:g} and {y.a.ravel()[0]:g}); share one quantizer between the "
                "branches"
            )
        if x.dtype != y.dtype or x.shape != y.shape:
            raise UnsupportedModelError(
                f"{g.where(node)}: Add of {x.dtype}{list(x.shape)} and {y.dtype}{list(y.shape)}; "
                "both inputs must have the same type and shape"
            )
        lay = AddStreams(self.uniq(node.name or "add"), x.dtype, x.channels, x.num_vectors)
        (stream,) = self.add(lay, [x.stream, y.stream])
        c = x.channels
        return IntV(
            lay,
            stream,
            lay.out_dtype,
            tuple(g.shapes[node.outputs[0]]),
            np.asarray(x.lo) + np.asarray(y.lo),
            np.asarray(x.hi) + np.asarray(y.hi),
            np.full(c, ax[0]),
            np.full(c, ax[1] + ay[1]),
        )

    def quantize(self, node: Node, x: IntV) -> IntV:
        g = self.g
        qz = _quantizer(g, node)
        c = len(x.lo)
        d = np.ones(c) if x.direction is None else np.asarray(x.direction, dtype=np.float64)
        d = np.where(x.a < 0, -d, d)
        d = np.where(x.a == 0, 1, d)
        if x.pending:
            if (d < 0).any():
                x = self._negate_channels(x.src, x, d < 0)
        elif np.any(d < 0):
            raise UnsupportedModelError(
                f"{g.where(node)}: re-quantisation with a negative scale is not supported"
            )
        shape = tuple(g.shapes[node.outputs[0]])
        s, z = self._out_scale(node, qz, shape)
        if x.perm is not None:
            s, z = (
                np.broadcast_to(s, (1,))[0] * np.ones(c),
                np.broadcast_to(z, (1,))[0] * np.ones(c),
            )
        out_bias = 0 if qz.dtype.is_bipolar else qz.qmin
        if not x.pending and self._is_identity(x, qz):
            v = copy.copy(x)
            v.shape, v.a, v.b, v.post, v.direction = shape, s, -s * z, [], None
            return v
        t = _thresholds(x, g, qz)
        if x.pending:
            lay = x.src
            lay.set_thresholds(t, out_bias, qz.dtype)
            stream = lay.outs[0]
        else:
            lay = Thresholding(
                self.uniq(node.name or "thresholding"),
                t,
                x.dtype,
                qz.dtype,
                out_bias,
                num_vectors=x.num_vectors,
            )
            (stream,) = self.add(lay, [x.stream])
        v = IntV(
            lay,
            stream,
            qz.dtype,
            shape,
            np.full(c, qz.qmin),
            np.full(c, qz.qmax),
            s,
            -s * z,
            perm=x.perm,
        )
        for pnode, k, st, pads in x.pools:
            v = self._emit_maxpool(pnode, v, k, st, pads)
        if v.shape != shape:
            raise UnsupportedModelError(f"{g.where(node)}: unexpected output shape {shape}")
        return v

    def _out_scale(self, node: Node, qz: _Quantizer, shape) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel scale and zero point of a quantizer's output."""
        try:
            return _per_channel(qz.out_scale, shape), _per_channel(qz.out_zeropt, shape)
        except ValueError:
            raise UnsupportedModelError(
                f"{self.g.where(node)}: scale must be per-tensor or per-channel"
            ) from None

    def _is_identity(self, x: IntV, qz: _Quantizer) -> bool:
        """True when re-quantising ``x`` gives back exactly its integer values."""
        if qz.dtype != x.dtype or len(x.lo) > 4096:
            return False
        lo, hi = int(np.min(x.lo)), int(np.max(x.hi))
        if (lo, hi) != (qz.qmin, qz.qmax) or hi - lo > 255:
            return False
        q = np.broadcast_to(np.arange(lo, hi + 1)[:, None], (hi - lo + 1, len(x.lo)))
        return bool(np.array_equal(_codes_on(x, self.g, qz, q), q))

    def _negate_channels(self, lay, x: IntV, neg: np.ndarray) -> IntV:
        """Negate the weight rows of decreasing channels so every channel increases."""
        w = lay.weights.copy()
        w[neg] = -w[neg]
        w_dtype = lay.w_dtype
        if not w_dtype.allowed(w):
            w_dtype = int_type(w_dtype.bits + 1)
        lay.weights, lay.w_dtype = w, w_dtype
        a = np.where(neg, -x.a, x.a)
        b = np.where(neg, x.b + x.a * lay.mw, x.b) if lay.xnor_popcount else x.b
        lo, hi = lay.acc_range()
        v = copy.copy(x)
        v.lo, v.hi, v.a, v.b, v.direction = lo, hi, a, b, np.ones_like(x.a)
        return v

    def finish(self, out: IntV) -> Dataflow:
        g = self.g
        if out.pools:
            raise UnsupportedModelError(
                f"{g.source}: the model ends in a MaxPool on an accumulator; quantize first"
            )
        if out.pending:
            out.src.set_thresholds(None)
        if out.perm is not None and not np.array_equal(out.perm, np.arange(len(out.perm))):
            raise UnsupportedModelError(f"{g.source}: the output is a flattened feature map")
        c = len(out.lo)
        work = tuple(out.shape)
        if len(work) == 4:  # stream is NHWC; the tail works on NCHW
            work = ("nhwc",) + work
        tail = HostTail(
            np.broadcast_to(out.a, (c,)).copy(),
            np.broadcast_to(out.b, (c,)).copy(),
            out.post,
            dict(g.consts),
            tuple(g.shapes[g.outputs[0]]),
            work,
            integer=isinstance(out.src, LabelSelect),
        )
        producers = [l for l in self.layers if out.stream in l.outs]
        if not producers or producers[0] is not self.layers[-1]:
            raise UnsupportedModelError(f"{g.source}: the graph output is not the last layer")
        name = sanitize(g.source.rsplit("/", 1)[-1].rsplit(".", 1)[0])
        return Dataflow(name, g.source, self.head, self.layers, tail)


def lower(graph: Graph) -> Dataflow:
    """Lower a loaded IR graph to an (unfolded) dataflow."""
    return _Lowering(graph).run()
