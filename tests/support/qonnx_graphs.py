"""Hand-built QONNX graphs (no torch needed) for frontend, lowering and CLI tests."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

QONNX_DOMAIN = "qonnx.custom_op.general"


class GraphBuilder:
    def __init__(self, in_shape):
        self.nodes, self.inits, self.k = [], [], 0
        self.in_shape = list(in_shape)
        self.cur = "x"

    def const(self, arr, name=None) -> str:
        self.k += 1
        name = name or f"c{self.k}"
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def node(self, op, inputs, domain="", **attrs) -> str:
        self.k += 1
        out = f"t{self.k}"
        self.nodes.append(
            helper.make_node(op, inputs, [out], name=f"{op}_{self.k}", domain=domain, **attrs)
        )
        self.cur = out
        return out

    def quant(self, x, scale, bits, signed=1, narrow=0, zeropt=0.0):
        return self.node(
            "Quant",
            [
                x,
                self.const(np.float32(scale)),
                self.const(np.float32(zeropt)),
                self.const(np.float32(bits)),
            ],
            domain=QONNX_DOMAIN,
            signed=signed,
            narrow=narrow,
            rounding_mode="ROUND",
        )

    def bipolar(self, x, scale=1.0):
        return self.node("BipolarQuant", [x, self.const(np.float32(scale))], domain=QONNX_DOMAIN)

    def qweight(self, w, scale, bits, narrow=1):
        """Float weights (in, out) through a Quant node (folded by the frontend)."""
        return self.quant(self.const(np.asarray(w, np.float32)), scale, bits, 1, narrow)

    def model(self, out_shape) -> onnx.ModelProto:
        g = helper.make_graph(
            self.nodes,
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, self.in_shape)],
            [helper.make_tensor_value_info(self.cur, TensorProto.FLOAT, list(out_shape))],
            self.inits,
        )
        m = helper.make_model(
            g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX_DOMAIN, 2)]
        )
        m.ir_version = 8
        return m


def small_mlp(
    act_bits=4, w_bits=4, hidden=12, in_features=16, out_features=5, seed=0, extra=None
) -> onnx.ModelProto:
    """x -> Quant -> MatMul -> BN -> Relu -> Quant -> MatMul -> Mul -> out."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder([1, in_features])
    x = b.quant("x", 0.125, act_bits)
    w1 = b.qweight(rng.integers(-3, 4, (in_features, hidden)) * 0.5, 0.5, w_bits)
    h = b.node("MatMul", [x, w1])
    h = b.node(
        "BatchNormalization",
        [
            h,
            b.const(rng.uniform(-1, 1, hidden).astype(np.float32)),
            b.const(rng.normal(0, 1, hidden).astype(np.float32)),
            b.const(rng.normal(0, 1, hidden).astype(np.float32)),
            b.const(rng.uniform(0.5, 2, hidden).astype(np.float32)),
        ],
    )
    h = b.node("Relu", [h])
    if extra:
        h = extra(b, h)
    h = b.quant(h, 0.25, act_bits, signed=0)
    w2 = b.qweight(rng.integers(-3, 4, (hidden, out_features)) * 0.5, 0.5, w_bits)
    y = b.node("MatMul", [h, w2])
    b.node("Mul", [y, b.const(np.float32(0.75))])
    return b.model([1, out_features])


def small_cnn(
    kind: str = "plain", seed: int = 0, act_bits: int = 4, hw: int = 8, ch: int = 4
) -> onnx.ModelProto:
    """Small NCHW networks exercising the convolutional lowering.

    kind: "plain" (conv pad 1 -> BN -> relu -> quant -> maxpool -> conv stride 2 -> GAP),
    "residual" (a residual block whose two branches share one quantizer scale), "shortcut"
    (a downsampling residual block: 3x3 stride-2 branch, 1x1 stride-2 projection),
    "depthwise" (depthwise 3x3 + pointwise 1x1), "avgpool" (AveragePool + Trunc),
    "maxpool_ceil" (3x3/2 max-pool with ceil_mode and padding).
    """
    rng = np.random.default_rng(seed)
    b = GraphBuilder([1, 3, hw, hw])
    s_act = 0.25

    def bn(x, c):
        return b.node(
            "BatchNormalization",
            [
                x,
                b.const(rng.uniform(-1.5, 1.5, c).astype(np.float32)),
                b.const(rng.normal(0, 0.5, c).astype(np.float32)),
                b.const(rng.normal(0, 1, c).astype(np.float32)),
                b.const(rng.uniform(1, 4, c).astype(np.float32)),
            ],
        )

    def conv(x, cin, cout, k=3, pad=1, stride=1, group=1, wbits=4):
        w = rng.integers(-3, 4, (cout, cin // group, k, k)) * 0.25
        wq = b.quant(b.const(w.astype(np.float32)), 0.25, wbits, 1, 1)
        return b.node(
            "Conv",
            [x, wq],
            kernel_shape=[k, k],
            pads=[pad] * 4,
            strides=[stride, stride],
            group=group,
            dilations=[1, 1],
        )

    x = b.quant("x", 1.0 / 8, act_bits)
    h = conv(x, 3, ch)
    h = b.node("Relu", [bn(h, ch)])
    h = b.quant(h, s_act, act_bits, signed=0)
    if kind == "residual":
        y = conv(h, ch, ch)
        y = b.node("Relu", [bn(y, ch)])
        y = b.quant(y, s_act, act_bits, signed=0)
        y = conv(y, ch, ch)
        y = b.quant(bn(y, ch), s_act, act_bits, signed=0)
        h = b.node("Add", [y, h])
        h = b.quant(b.node("Relu", [h]), s_act, act_bits, signed=0)
    elif kind == "shortcut":
        # a downsampling residual block: 3x3 stride-2 main branch, 1x1 stride-2 projection
        # shortcut (its window is rtl/window_decimate.v)
        y = conv(h, ch, ch, stride=2)
        y = b.quant(b.node("Relu", [bn(y, ch)]), s_act, act_bits, signed=0)
        y = conv(y, ch, ch)
        y = b.quant(bn(y, ch), s_act, act_bits, signed=0)
        p = conv(h, ch, ch, k=1, pad=0, stride=2)
        p = b.quant(bn(p, ch), s_act, act_bits, signed=0)
        h = b.node("Add", [y, p])
        h = b.quant(b.node("Relu", [h]), s_act, act_bits, signed=0)
    elif kind == "depthwise":
        h = conv(h, ch, ch, group=ch, stride=2)
        h = b.quant(b.node("Relu", [bn(h, ch)]), s_act, act_bits, signed=0)
        h = conv(h, ch, 2 * ch, k=1, pad=0)
        h = b.quant(b.node("Relu", [bn(h, 2 * ch)]), s_act, act_bits, signed=0)
        ch = 2 * ch
    elif kind == "avgpool":
        h = b.node("AveragePool", [h], kernel_shape=[2, 2], strides=[2, 2])
        h = b.node(
            "Trunc",
            [
                h,
                b.const(np.float32(s_act / 4)),
                b.const(np.float32(0)),
                b.const(np.float32(act_bits + 2)),
                b.const(np.float32(s_act)),
                b.const(np.float32(act_bits)),
            ],
            domain=QONNX_DOMAIN,
            rounding_mode="FLOOR",
            signed=0,
            narrow=0,
        )
    elif kind == "maxpool_ceil":
        h = b.node(
            "MaxPool", [h], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 0, 0], ceil_mode=1
        )
    if kind in ("plain",):
        h = b.node("MaxPool", [h], kernel_shape=[2, 2], strides=[2, 2])
        h = conv(h, ch, ch, pad=0, stride=2)
        h = b.quant(bn(h, ch), s_act, act_bits)
    h = b.node("GlobalAveragePool", [h])
    h = b.quant(h, s_act / 4, act_bits + 2)
    h = b.node("Flatten", [h], axis=1)
    w = b.qweight(rng.integers(-3, 4, (ch, 5)) * 0.5, 0.5, 4)
    b.node("MatMul", [h, w])
    return b.model([1, 5])


def feature_map_net() -> onnx.ModelProto:
    """Quant -> Conv (pad 1, stride 2) -> BN -> Quant: the output is an NCHW feature map with
    per-channel scales (the hardware streams it NHWC)."""
    rng = np.random.default_rng(3)
    b = GraphBuilder([1, 2, 6, 6])
    x = b.quant("x", 0.125, 4)
    w = b.quant(b.const((rng.integers(-3, 4, (3, 2, 3, 3)) * 0.25).astype(np.float32)), 0.25, 4)
    h = b.node("Conv", [x, w], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2])
    bn = [rng.uniform(0.5, 1.5, 3), rng.normal(0, 0.5, 3), rng.normal(0, 1, 3), [1, 2, 3]]
    h = b.node("BatchNormalization", [h, *(b.const(np.float32(v)) for v in bn)])
    b.quant(h, np.float32([[[[0.25]], [[0.5]], [[0.125]]]]), 3)
    return b.model([1, 3, 3, 3])


def topk_net() -> onnx.ModelProto:
    """small_mlp followed by TopK(3): the output is class indices (int64)."""
    m = small_mlp()
    g = m.graph
    g.initializer.append(onnx.numpy_helper.from_array(np.array([3], np.int64), "k3"))
    g.node.append(onnx.helper.make_node("TopK", [g.output[0].name, "k3"], ["v", "i"], axis=-1))
    del g.output[:]
    g.output.append(onnx.helper.make_tensor_value_info("i", onnx.TensorProto.INT64, [1, 3]))
    return m


def qonnx_reference(path, x: np.ndarray) -> np.ndarray:
    """QONNX's executor (after ``cleanup_model``) on batch ``x``, one sample at a time."""
    import pytest

    pytest.importorskip("qonnx")
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.util.cleanup import cleanup_model

    m = cleanup_model(ModelWrapper(str(path)))
    name = m.graph.input[0].name
    return np.concatenate(
        [execute_onnx(m, {name: x[i : i + 1]})[m.graph.output[0].name] for i in range(len(x))]
    )
