"""Lowering as rules: the registry, the node-by-node pass, and that the input graph is never
changed (no torch)."""

import pickle

import numpy as np
import onnx
import pytest
from fpgagen.errors import UnsupportedModelError
from fpgagen.frontend import load_model
from fpgagen.transforms.base import apply_until_fixpoint
from fpgagen.transforms.lower import (
    Lowering,
    LoweringRule,
    LowerNextNode,
    lower,
    lowering_rule,
    rules_for,
    unregister_rule,
)

from tests.support.qonnx_graphs import GraphBuilder, small_cnn, small_mlp


def _load(tmp_path, model, name="m.onnx"):
    p = tmp_path / name
    onnx.save(model, p)
    return load_model(p)


def _gemm_bias_topk() -> onnx.ModelProto:
    """Quant -> Gemm(transB, alpha, bias, beta) -> Quant -> MatMul -> TopK: a Gemm bias and a
    label select on one graph."""
    rng = np.random.default_rng(4)
    b = GraphBuilder([1, 8])
    x = b.quant("x", 0.25, 3)
    w = b.qweight(rng.integers(-3, 4, (6, 8)) * 0.5, 0.5, 3)  # (out, in): transB=1
    bias = b.const(rng.normal(0, 1, 6).astype(np.float32))
    h = b.node("Gemm", [x, w, bias], transB=1, alpha=0.5, beta=2.0)
    h = b.quant(b.node("Relu", [h]), 0.25, 3, signed=0)
    w2 = b.qweight(rng.integers(-3, 4, (6, 4)) * 0.5, 0.5, 3)
    y = b.node("MatMul", [h, w2])
    b.node("TopK", [y, b.const(np.array([2], np.int64))], axis=-1, largest=1)
    return b.model([1, 2])


def _conv_bias() -> onnx.ModelProto:
    """Quant -> Conv(bias) -> Quant -> GlobalAveragePool -> Quant -> Flatten -> MatMul."""
    rng = np.random.default_rng(5)
    b = GraphBuilder([1, 2, 5, 5])
    x = b.quant("x", 0.125, 4)
    w = b.quant(b.const((rng.integers(-3, 4, (3, 2, 3, 3)) * 0.25).astype(np.float32)), 0.25, 4)
    bias = b.const(rng.normal(0, 1, 3).astype(np.float32))
    h = b.node("Conv", [x, w, bias], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])
    h = b.quant(h, 0.25, 4, signed=0)
    h = b.quant(b.node("GlobalAveragePool", [h]), 0.0625, 6)
    h = b.node("Flatten", [h], axis=1)
    b.node("MatMul", [h, b.qweight(rng.integers(-3, 4, (3, 4)) * 0.5, 0.5, 4)])
    return b.model([1, 4])


MODELS = {
    "mlp": small_mlp,
    "gemm_bias_topk": _gemm_bias_topk,
    "conv_bias": _conv_bias,
    **{
        f"cnn_{k}": (lambda k=k: small_cnn(k))
        for k in ("plain", "residual", "depthwise", "avgpool", "maxpool_ceil")
    },
}


@pytest.mark.parametrize("name", list(MODELS))
def test_lowering_leaves_the_graph_unchanged(name, tmp_path):
    g = _load(tmp_path, MODELS[name]())
    before = pickle.dumps(g)
    consts_before = set(g.consts)
    df1 = lower(g)
    assert set(g.consts) == consts_before  # e.g. no bias constants added
    assert pickle.dumps(g) == before  # nodes, attributes, constants, shapes: byte for byte
    # and a second run on the same graph gives the same dataflow
    df2 = lower(g)
    assert [(l.name, l.ins, l.outs) for l in df1.layers] == [
        (l.name, l.ins, l.outs) for l in df2.layers
    ]
    x = np.random.default_rng(0).uniform(-1, 1, (3,) + tuple(g.shapes["x"][1:]))
    x = x.astype(np.float32)
    np.testing.assert_array_equal(df1.golden(x)["y"], df2.golden(x)["y"])


def test_gemm_bias_is_exact_against_the_float_graph(tmp_path):
    from fpgagen.frontend import float_exec

    g = _load(tmp_path, _gemm_bias_topk())
    df = lower(g)
    assert [type(l).__name__ for l in df.layers] == ["MVAU", "MVAU", "LabelSelect"]
    x = np.random.default_rng(2).uniform(-1, 1, (16, 8)).astype(np.float32)
    got = df.golden(x)["y"]
    for i in range(16):
        ref = float_exec.execute(g, {"x": x[i : i + 1]})[g.outputs[0]]
        np.testing.assert_array_equal(got[i : i + 1], ref)


def test_every_op_family_has_a_rule():
    families = {
        "LowerMatMul": ("MatMul", "Gemm"),
        "LowerConv": ("Conv",),
        "LowerMaxPool": ("MaxPool",),
        "LowerAveragePool": ("AveragePool", "GlobalAveragePool"),
        "LowerResidualAdd": ("Add",),
        "LowerQuantizer": ("Quant", "BipolarQuant", "Trunc"),
        "LowerElementwise": ("Mul", "Add", "Sub", "Div", "Neg", "Relu", "BatchNormalization"),
        "LowerFlatten": ("Reshape", "Flatten"),
        "RejectTranspose": ("Transpose",),
        "LowerLabelSelect": ("TopK", "ArgMax"),
    }
    for cls, ops in families.items():
        for op in ops:
            assert cls in [type(r).__name__ for r in rules_for(op)], (cls, op)
    # the residual Add (two streams) is tried before the elementwise Add (stream + constant)
    assert [type(r).__name__ for r in rules_for("Add")] == ["LowerResidualAdd", "LowerElementwise"]
    assert rules_for("Sigmoid") == []


def test_the_pass_lowers_one_node_per_step(tmp_path):
    g = _load(tmp_path, small_mlp())
    lw, steps = Lowering(g), 0
    while True:
        lw, changed = LowerNextNode().apply(lw)
        if not changed:
            break
        steps += 1
    assert steps == len(g.nodes)
    assert [type(l).__name__ for l in lw.finish().layers] == ["MVAU", "MVAU"]
    with pytest.raises(RuntimeError, match="did not converge within 3 iterations"):
        apply_until_fixpoint(Lowering(g), LowerNextNode(), max_iterations=3)


def _transpose_mlp(*perms) -> onnx.ModelProto:
    rng = np.random.default_rng(1)
    b = GraphBuilder([1, 8])
    x = b.quant("x", 0.25, 3)
    for perm in perms:
        x = b.node("Transpose", [x], perm=perm)
    b.node("MatMul", [x, b.qweight(rng.integers(-3, 4, (8, 4)) * 0.5, 0.5, 3)])
    return b.model([1, 4])


def test_a_rule_registered_from_outside_takes_part(tmp_path):
    g = _load(tmp_path, _transpose_mlp([0, 1]))
    with pytest.raises(UnsupportedModelError, match="Transpose of an activation tensor"):
        lower(g)

    @lowering_rule
    class IdentityTranspose(LoweringRule):
        """Transpose with the identity permutation: nothing to do."""

        ops = ("Transpose",)
        priority = 5

        def applies(self, lw, node):
            return list(node.attrs.get("perm", [])) == list(range(len(lw.shape(node.inputs[0]))))

        def lower(self, lw, node, x):
            return x

    try:
        assert type(rules_for("Transpose")[0]) is IdentityTranspose
        df = lower(g)
        assert [type(l).__name__ for l in df.layers] == ["MVAU"]
        # the rule does not apply to a real permutation: the next rule rejects it
        g2 = _load(tmp_path, _transpose_mlp([1, 0], [1, 0]), "m2.onnx")
        with pytest.raises(UnsupportedModelError, match="Transpose of an activation tensor"):
            lower(g2)
    finally:
        unregister_rule(IdentityTranspose)
    assert [type(r).__name__ for r in rules_for("Transpose")] == ["RejectTranspose"]


def test_a_rule_needs_ops():
    with pytest.raises(TypeError, match="names no ONNX ops"):

        @lowering_rule
        class NoOps(LoweringRule):
            def lower(self, lw, node, x):
                return x


def test_an_op_without_a_rule_is_one_line(tmp_path):
    rng = np.random.default_rng(1)
    b = GraphBuilder([1, 8])
    x = b.quant("x", 0.25, 3)
    h = b.node("MatMul", [x, b.qweight(rng.integers(-3, 4, (8, 4)) * 0.5, 0.5, 3)])
    b.node("Sigmoid", [h])
    # the frontend names the op and lists what is supported
    with pytest.raises(UnsupportedModelError, match=r"node 'Sigmoid_11' \(op Sigmoid\) is not "):
        _load(tmp_path, b.model([1, 4]))
    # an op the frontend lets through but no rule lowers on a stream: the lowering's message
    g = _load(tmp_path, small_mlp(), "mlp.onnx").copy()
    mul = g.nodes[-1]
    assert mul.op_type == "Mul"
    mul.op_type = "Sigmoid"
    with pytest.raises(UnsupportedModelError) as e:
        lower(g)
    assert str(e.value) == f"{g.source}: node {mul.name!r} (op Sigmoid) is not supported here"


@pytest.mark.parametrize("signed", [1, 0])
def test_trunc_v1_is_exact_against_qonnx(signed, tmp_path):
    """AveragePool -> Trunc v1 (QONNX opset 1: the output keeps the input scale and is not
    clipped; on unsigned codes it gives 0..15 from 4 bits, which is UINT4, not INT4)."""
    from tests.support.qonnx_graphs import QONNX_DOMAIN, qonnx_reference

    rng = np.random.default_rng(6)
    b = GraphBuilder([1, 2, 4, 4])
    x = b.quant("x", 0.125, 4)
    w = rng.integers(-3 * signed, 4, (3, 2, 3, 3)) * 0.25
    w = b.quant(b.const(w.astype(np.float32)), 0.25, 4)
    h = b.node("Conv", [x, w], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    h = b.quant(h, 0.25, 4, signed=signed)
    h = b.node("AveragePool", [h], kernel_shape=[2, 2], strides=[2, 2])
    consts = [np.float32(0.25 / 4), np.float32(0), np.float32(6), np.float32(4)]
    h = b.node("Trunc", [h, *map(b.const, consts)], domain=QONNX_DOMAIN, rounding_mode="FLOOR")
    h = b.node("Flatten", [h], axis=1)
    b.node("MatMul", [h, b.qweight(rng.integers(-3, 4, (12, 3)) * 0.5, 0.5, 4)])
    m = b.model([1, 3])
    for op in m.opset_import:
        if op.domain == QONNX_DOMAIN:
            op.version = 1
    p = tmp_path / "trunc_v1.onnx"
    onnx.save(m, p)
    df = lower(load_model(p))
    assert [type(l).__name__ for l in df.layers] == [
        "FMPadding",
        "SlidingWindow",
        "MVAU",
        "SlidingWindow",
        "Pool",
        "Thresholding",
        "MVAU",
    ]
    assert str(df.layers[5].out_dtype) == ("INT4" if signed else "UINT4")
    xs = rng.uniform(-1 * signed, 1, (16, 2, 4, 4)).astype(np.float32)
    trace = {}
    df.run_layers(df.hw_input(xs), trace)
    assert trace[df.layers[5].name].max() > 7 or signed  # beyond INT4 on unsigned codes
    np.testing.assert_array_equal(df.golden(xs)["y"], qonnx_reference(p, xs))
