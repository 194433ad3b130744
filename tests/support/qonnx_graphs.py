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
        self.nodes.append(helper.make_node(op, inputs, [out], name=f"{op}_{self.k}",
                                           domain=domain, **attrs))
        self.cur = out
        return out

    def quant(self, x, scale, bits, signed=1, narrow=0, zeropt=0.0):
        return self.node("Quant", [x, self.const(np.float32(scale)),
                                   self.const(np.float32(zeropt)),
                                   self.const(np.float32(bits))],
                         domain=QONNX_DOMAIN, signed=signed, narrow=narrow,
                         rounding_mode="ROUND")

    def bipolar(self, x, scale=1.0):
        return self.node("BipolarQuant", [x, self.const(np.float32(scale))],
                         domain=QONNX_DOMAIN)

    def qweight(self, w, scale, bits, narrow=1):
        """Float weights (in, out) through a Quant node (folded by the frontend)."""
        return self.quant(self.const(np.asarray(w, np.float32)), scale, bits, 1, narrow)

    def model(self, out_shape) -> onnx.ModelProto:
        g = helper.make_graph(
            self.nodes, "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, self.in_shape)],
            [helper.make_tensor_value_info(self.cur, TensorProto.FLOAT, list(out_shape))],
            self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                                helper.make_opsetid(QONNX_DOMAIN, 1)])
        m.ir_version = 8
        return m


def small_mlp(act_bits=4, w_bits=4, hidden=12, in_features=16, out_features=5, seed=0,
              extra=None) -> onnx.ModelProto:
    """x -> Quant -> MatMul -> BN -> Relu -> Quant -> MatMul -> Mul -> out."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder([1, in_features])
    x = b.quant("x", 0.125, act_bits)
    w1 = b.qweight(rng.integers(-3, 4, (in_features, hidden)) * 0.5, 0.5, w_bits)
    h = b.node("MatMul", [x, w1])
    h = b.node("BatchNormalization", [h, b.const(rng.uniform(-1, 1, hidden).astype(np.float32)),
                                      b.const(rng.normal(0, 1, hidden).astype(np.float32)),
                                      b.const(rng.normal(0, 1, hidden).astype(np.float32)),
                                      b.const(rng.uniform(0.5, 2, hidden).astype(np.float32))])
    h = b.node("Relu", [h])
    if extra:
        h = extra(b, h)
    h = b.quant(h, 0.25, act_bits, signed=0)
    w2 = b.qweight(rng.integers(-3, 4, (hidden, out_features)) * 0.5, 0.5, w_bits)
    y = b.node("MatMul", [h, w2])
    b.node("Mul", [y, b.const(np.float32(0.75))])
    return b.model([1, out_features])
