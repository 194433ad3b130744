"""frontend/float_exec.py against QONNX's executor (``execute_onnx``: QONNX's own code for
the custom ops, onnxruntime for the standard ones), one op at a time.

The quantizers, elementwise and data-movement ops must agree bit for bit: the host head and
constant folding rely on it. Reductions (MatMul, Gemm, Conv, BatchNormalization, average
pools) may sum in another order than onnxruntime, so they get a float32 tolerance.
"""

import numpy as np
import onnx
import pytest
from fpgagen.frontend import float_exec
from fpgagen.ir import Graph, Node
from onnx import TensorProto, helper, numpy_helper

pytest.importorskip("qonnx")

QONNX = "qonnx.custom_op.general"
ROUNDINGS = ["ROUND", "HALF_EVEN", "CEIL", "FLOOR", "UP", "DOWN", "HALF_UP", "HALF_DOWN"]


def _model(op, x_shape, consts, attrs, domain="", n_out=1, qonnx_opset=2):
    """One-node model: input ``x`` then the constants (name -> array), as initializers."""
    names = ["x", *consts]
    outs = [f"y{i}" for i in range(n_out)]
    node = helper.make_node(op, names, outs, name="n", domain=domain, **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
        [
            helper.make_tensor_value_info(
                o, TensorProto.INT64 if int_out(op, i) else TensorProto.FLOAT, None
            )
            for i, o in enumerate(outs)
        ],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in consts.items()],
    )
    m = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX, qonnx_opset)],
    )
    m.ir_version = 8
    return m


def int_out(op, i):
    """Whether output ``i`` of ``op`` holds indices."""
    return op == "ArgMax" or (op == "TopK" and i == 1)


def _ir(model: onnx.ModelProto, out_index=0) -> Graph:
    """The IR of a one-node model, built here (not by the frontend): no folding, no checks."""
    (on,) = model.graph.node
    attrs = {}
    for a in on.attribute:
        v = helper.get_attribute_value(a)
        attrs[a.name] = v.decode() if isinstance(v, bytes) else v
    consts = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    node = Node(on.op_type, "n", list(on.input), [on.output[out_index]], attrs, on.domain)
    return Graph([node], ["x"], [on.output[out_index]], consts)


def _compare(model, x, out_index=0, exact=True):
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx

    x = np.asarray(x, np.float32)
    out = model.graph.node[0].output[out_index]
    from qonnx.transformation.infer_shapes import InferShapes

    ref = execute_onnx(ModelWrapper(model).transform(InferShapes()), {"x": x})[out]
    got = float_exec.execute(_ir(model, out_index), {"x": x})[out]
    assert got.shape == ref.shape
    if exact:
        np.testing.assert_array_equal(got, ref)
    else:
        np.testing.assert_allclose(got, ref, rtol=2e-6, atol=2e-6)
    return got


def _grid(scale, n=41, shape=None):
    """Values on and half-way between the quantizer's steps (where rounding modes differ),
    beyond its range on both sides."""
    x = (np.arange(n) - n // 2) / 2.0 * scale
    return x.reshape(shape or (1, n)).astype(np.float32)


@pytest.mark.parametrize("rounding", ROUNDINGS)
@pytest.mark.parametrize(
    "bits, signed, narrow, zeropt",
    [(2, 1, 0, 0.0), (3, 1, 1, 0.0), (4, 0, 0, 0.0), (4, 0, 1, 2.0), (8, 1, 0, -3.0)],
)
def test_quant(rounding, bits, signed, narrow, zeropt):
    scale = np.float32(0.375)
    m = _model(
        "Quant",
        (1, 41),
        {"s": scale, "z": np.float32(zeropt), "b": np.float32(bits)},
        dict(signed=signed, narrow=narrow, rounding_mode=rounding),
        QONNX,
    )
    _compare(m, _grid(scale, 41) * 5)
    _compare(m, np.random.default_rng(bits).normal(0, 2, (1, 41)))


def test_quant_per_channel_scale_and_one_bit():
    rng = np.random.default_rng(0)
    s = rng.uniform(0.1, 1, (1, 4, 1, 1)).astype(np.float32)
    m = _model(
        "Quant",
        (1, 4, 3, 3),
        {"s": s, "z": np.float32(0), "b": np.float32(3)},
        dict(signed=1, narrow=0, rounding_mode="ROUND"),
        QONNX,
    )
    _compare(m, rng.normal(0, 2, (1, 4, 3, 3)))
    one = _model(
        "Quant",
        (1, 9),
        {"s": np.float32(0.5), "z": np.float32(0), "b": np.float32(1)},
        dict(signed=1, narrow=0, rounding_mode="ROUND"),
        QONNX,
    )
    y = _compare(one, [[-1, -0.25, -0.0, 0.0, 0.25, 1, 3, -3, 0.5]])
    assert set(np.unique(y)) <= {-0.5, 0.5}


def test_bipolar_quant():
    m = _model("BipolarQuant", (1, 6), {"s": np.float32(0.75)}, {}, QONNX)
    _compare(m, [[-2, -0.1, 0, 0.1, 2, -0.0]])


@pytest.mark.parametrize("rounding", ["FLOOR", "ROUND", "CEIL"])
@pytest.mark.parametrize("signed, narrow", [(1, 0), (0, 0), (1, 1)])
def test_trunc_v2(rounding, signed, narrow):
    scale = np.float32(1 / 32)
    m = _model(
        "Trunc",
        (1, 41),
        {
            "s": scale,
            "z": np.float32(0),
            "ib": np.float32(8),
            "os": np.float32(1 / 4),
            "ob": np.float32(4),
        },
        dict(signed=signed, narrow=narrow, rounding_mode=rounding),
        QONNX,
    )
    _compare(m, _grid(1 / 4, 41) * 2.5)


@pytest.mark.parametrize("rounding", ["FLOOR", "ROUND"])
def test_trunc_v1(rounding):
    m = _model(
        "Trunc",
        (1, 41),
        {"s": np.float32(1 / 16), "z": np.float32(0), "ib": np.float32(8), "ob": np.float32(5)},
        dict(rounding_mode=rounding),
        QONNX,
        qonnx_opset=1,
    )
    _compare(m, _grid(1 / 16, 41) * 3)


RNG = np.random.default_rng(7)
X4 = RNG.normal(0, 1, (1, 3, 5, 5)).astype(np.float32)
C3 = RNG.uniform(0.5, 2, (1, 3, 1, 1)).astype(np.float32)

EXACT = {
    "Mul": ((1, 3, 5, 5), {"c": C3}, {}),
    "Add": ((1, 3, 5, 5), {"c": C3}, {}),
    "Sub": ((1, 3, 5, 5), {"c": C3}, {}),
    "Div": ((1, 3, 5, 5), {"c": C3}, {}),
    "Pow": ((1, 3, 5, 5), {"c": np.float32(2)}, {}),
    "Neg": ((1, 3, 5, 5), {}, {}),
    "Relu": ((1, 3, 5, 5), {}, {}),
    "Identity": ((1, 3, 5, 5), {}, {}),
    "Ceil": ((1, 3, 5, 5), {}, {}),
    "Floor": ((1, 3, 5, 5), {}, {}),
    "Reshape": ((1, 3, 5, 5), {"shape": np.array([1, -1], np.int64)}, {}),
    "Flatten": ((1, 3, 5, 5), {}, {"axis": 1}),
    "Transpose": ((1, 3, 5, 5), {}, {"perm": [0, 2, 3, 1]}),
    "MaxPool": (
        (1, 3, 5, 5),
        {},
        {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 0, 0], "ceil_mode": 1},
    ),
    "ArgMax": ((1, 3, 5, 5), {}, {"axis": 1, "keepdims": 0}),
}


@pytest.mark.parametrize("op", list(EXACT))
def test_exact_ops(op):
    shape, consts, attrs = EXACT[op]
    _compare(_model(op, shape, consts, attrs), X4.reshape(shape))


def test_positive_only_ops():
    x = np.abs(X4) + 0.1
    _compare(_model("Sqrt", X4.shape, {}, {}), x)
    _compare(_model("Log", X4.shape, {}, {}), x, exact=False)  # libm may differ by 1 ulp


def test_topk_indices():
    x = RNG.permutation(10).astype(np.float32).reshape(1, 10)
    m = _model("TopK", (1, 10), {"k": np.array([3], np.int64)}, {"axis": -1}, n_out=2)
    assert _compare(m, x, out_index=1).tolist() == [list(np.argsort(-x[0])[:3])]


W = RNG.integers(-3, 4, (4, 3, 3, 3)).astype(np.float32) * 0.25
CLOSE = {
    "MatMul": ((1, 6), {"w": RNG.normal(0, 1, (6, 4)).astype(np.float32)}, {}),
    "Gemm": (
        (1, 6),
        {
            "w": RNG.normal(0, 1, (4, 6)).astype(np.float32),
            "c": RNG.normal(0, 1, 4).astype(np.float32),
        },
        {"transB": 1, "alpha": 0.5, "beta": 2.0},
    ),
    "Conv": (
        (1, 3, 5, 5),
        {"w": W},
        {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [2, 2]},
    ),
    "Conv_group": (
        (1, 4, 5, 5),
        {"w": W[:, :1]},
        {"kernel_shape": [3, 3], "pads": [0, 1, 1, 0], "group": 4},
    ),
    "BatchNormalization": (
        (1, 3, 5, 5),
        {k: RNG.uniform(0.5, 2, 3).astype(np.float32) for k in ("g", "b", "m", "v")},
        {"epsilon": 1e-3},
    ),
    "AveragePool": (
        (1, 3, 5, 5),
        {},
        {"kernel_shape": [2, 2], "strides": [2, 2], "pads": [0, 0, 1, 1], "count_include_pad": 1},
    ),
    "GlobalAveragePool": ((1, 3, 5, 5), {}, {}),
}


@pytest.mark.parametrize("case", list(CLOSE))
def test_reductions(case):
    shape, consts, attrs = CLOSE[case]
    x = RNG.normal(0, 1, shape).astype(np.float32)
    _compare(_model(case.split("_")[0], shape, consts, attrs), x, exact=False)


def test_unknown_op_is_one_line():
    node = Node("Sigmoid", "s", ["x"], ["y"])
    with pytest.raises(Exception, match=r"node 's' \(op Sigmoid\) cannot be evaluated"):
        float_exec.run_node(node, [np.zeros(2, np.float32)])
