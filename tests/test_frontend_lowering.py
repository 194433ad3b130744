"""Frontend and lowering on hand-built QONNX graphs (no torch)."""

import numpy as np
import onnx
import pytest
from fpgagen.boards import load_board
from fpgagen.errors import FpgagenError, UnsupportedModelError
from fpgagen.flow import make_dataflow
from fpgagen.frontend import load_model
from fpgagen.layers import MVAU
from fpgagen.transforms.lower import lower

from tests.support.qonnx_graphs import GraphBuilder, small_mlp


def _save(tmp_path, model, name="m.onnx"):
    p = tmp_path / name
    onnx.save(model, p)
    return p


def _float_reference(model, x):
    """onnx's own reference evaluator with our Quant semantics for the custom ops."""
    from fpgagen.frontend import float_exec

    g = load_model_from_proto(model)
    return float_exec.execute(g, {"x": x})[g.outputs[0]]


def load_model_from_proto(model, tmp=[]):  # noqa: B006 - tiny cache of a temp dir
    import tempfile

    if not tmp:
        tmp.append(tempfile.mkdtemp())
    p = f"{tmp[0]}/m{len(tmp)}.onnx"
    tmp.append(p)
    onnx.save(model, p)
    return load_model(p)


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_small_mlp_is_exact(tmp_path, bits):
    m = small_mlp(act_bits=bits, w_bits=4)
    p = _save(tmp_path, m)
    df = lower(load_model(p))
    assert [type(l).__name__ for l in df.layers] == ["MVAU", "MVAU"]
    assert df.layers[0].thresholds.shape == (12, 2**bits - 1)
    assert df.layers[1].thresholds is None  # raw accumulator, the tail scales it
    x = np.random.default_rng(1).uniform(-2, 2, (64, 16)).astype(np.float32)
    ref = np.concatenate([_float_reference(m, x[i : i + 1]) for i in range(64)])
    np.testing.assert_array_equal(df.golden(x)["y"], ref)


def test_negative_bn_gamma_channels_are_negated(tmp_path):
    m = small_mlp(seed=3)
    p = _save(tmp_path, m)
    g = load_model(p)
    gamma = g.consts[next(n for n in g.nodes if n.op_type == "BatchNormalization").inputs[1]]
    assert (gamma < 0).any()
    df = lower(g)
    x = np.random.default_rng(2).uniform(-2, 2, (32, 16)).astype(np.float32)
    ref = np.concatenate([_float_reference(m, x[i : i + 1]) for i in range(32)])
    np.testing.assert_array_equal(df.golden(x)["y"], ref)
    assert np.all(np.diff(df.layers[0].thresholds, axis=1) >= 0)


def test_quant_after_quant_becomes_thresholding(tmp_path):
    b = GraphBuilder([1, 8])
    x = b.quant("x", 0.125, 4)
    x = b.quant(x, 0.5, 2)
    w = b.qweight(np.eye(8, 3) * 0.5, 0.5, 4)
    b.node("MatMul", [x, w])
    df = lower(load_model(_save(tmp_path, b.model([1, 3]))))
    assert [l.op_type for l in df.layers] == ["Thresholding", "MVAU"]
    xs = np.linspace(-1, 1, 8 * 9, dtype=np.float32).reshape(9, 8)
    ref = np.concatenate([_float_reference(b.model([1, 3]), xs[i : i + 1]) for i in range(9)])
    np.testing.assert_array_equal(df.golden(xs)["y"], ref)


def test_xnor_mode_detected(tmp_path):
    b = GraphBuilder([1, 8])
    x = b.bipolar("x")
    w = b.bipolar(b.const(np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)))
    h = b.node("MatMul", [x, w])
    b.bipolar(h)
    df = lower(load_model(_save(tmp_path, b.model([1, 4]))))
    (l,) = df.layers
    assert isinstance(l, MVAU) and l.xnor and str(l.out_dtype) == "BIPOLAR"


def test_unsupported_op_names_node(tmp_path):
    m = small_mlp(extra=lambda b, h: b.node("Tanh", [h]))
    with pytest.raises(
        UnsupportedModelError, match=r"node 'Tanh_\d+' \(op Tanh\) is not supported; supported ops"
    ):
        load_model(_save(tmp_path, m))


def test_activation_bit_width_too_large(tmp_path):
    m = small_mlp(act_bits=12)
    with pytest.raises(
        UnsupportedModelError, match=r"activation bit width 12 is not supported; use 1..8"
    ):
        lower(load_model(_save(tmp_path, m)))


def test_float_matmul_rejected(tmp_path):
    b = GraphBuilder([1, 4])
    w = b.qweight(np.ones((4, 2)), 1.0, 2)
    b.node("MatMul", ["x", w])
    with pytest.raises(UnsupportedModelError, match="consumes a float"):
        lower(load_model(_save(tmp_path, b.model([1, 2]))))


def test_not_onnx(tmp_path):
    p = tmp_path / "bad.onnx"
    p.write_text("hello")
    with pytest.raises(FpgagenError, match="not an ONNX model"):
        load_model(p)


def test_folding_must_divide(tmp_path):
    p = _save(tmp_path, small_mlp())
    f = tmp_path / "f.json"
    df = make_dataflow(p, load_board("zcu104"))
    name = df.compute_layers[0].name
    f.write_text(f'{{"layers": {{"{name}": {{"PE": 5}}}}}}')
    with pytest.raises(
        FpgagenError,
        match=rf"layer {name} \(MVAU\): PE=5 does not divide MH "
        r"\(output features\)=12; allowed: \[1, 2, 3, 4, 6, 12\]",
    ):
        make_dataflow(p, load_board("zcu104"), folding=f)
