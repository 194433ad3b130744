"""Tests for fpgagen.models.cnn: every CNN preset exports to QONNX with supported ops only,
QONNX's executor matches PyTorch, fpgagen lowers it and its golden model matches QONNX."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("brevitas")
pytest.importorskip("qonnx")

from fpgagen.boards import load_board  # noqa: E402
from fpgagen.flow import argmax_agree, make_dataflow  # noqa: E402
from fpgagen.frontend import load_model  # noqa: E402
from fpgagen.models.cnn import CNN_PRESETS, cifar_like_images, make_cnn, randomize_bn2d  # noqa: E402
from fpgagen.models.export import load_clean_model, qonnx_execute, torch_predict  # noqa: E402
from fpgagen.transforms.lower import lower  # noqa: E402

pytestmark = pytest.mark.torch

NAMES = sorted(CNN_PRESETS)
#: ops allowed on activations (what fpgagen lowers)
DYNAMIC_OPS = {
    "Quant",
    "BipolarQuant",
    "Trunc",
    "Conv",
    "MatMul",
    "Gemm",
    "BatchNormalization",
    "Relu",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "Mul",
    "Add",
    "Sub",
    "Div",
    "Reshape",
    "Flatten",
}
#: ops the raw export may contain only on constants (folded by the frontend / QONNX cleanup)
CONST_ONLY_OPS = {"Pow", "Sqrt", "Log", "Ceil", "Floor", "Transpose"}

_QONNX_OUT: dict = {}


def _x4(samples):
    return samples[:4]


def _qonnx_out(path, x):
    key = str(path)
    if key not in _QONNX_OUT:
        _QONNX_OUT[key] = qonnx_execute(path, x)
    return _QONNX_OUT[key]


def _producers(mw):
    return {o: n for n in mw.graph.node for o in n.output}


@pytest.mark.parametrize("name", NAMES)
def test_cnn_preset_exports_and_matches_torch(name, cnn_onnx, cnn_torch, cifar_like_samples):
    import onnx

    path = cnn_onnx(name)
    model = cnn_torch(name)
    raw_ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert raw_ops <= DYNAMIC_OPS | CONST_ONLY_OPS, raw_ops - DYNAMIC_OPS - CONST_ONLY_OPS
    mw = load_clean_model(path)
    ops = [n.op_type for n in mw.graph.node]
    assert set(ops) <= DYNAMIC_OPS, set(ops) - DYNAMIC_OPS
    assert "Conv" in ops
    assert tuple(mw.get_tensor_shape(mw.graph.input[0].name)) == model.input_shape
    graph = load_model(path)  # the frontend refuses unsupported ops
    assert not {n.op_type for n in graph.nodes} & CONST_ONLY_OPS

    x = _x4(cifar_like_samples)
    y_ref = torch_predict(model, x)
    y_q = _qonnx_out(path, x)
    assert y_q.shape == (4, 10)
    np.testing.assert_allclose(y_q, y_ref, atol=1e-4, rtol=0)
    assert argmax_agree(y_q, y_ref) and argmax_agree(y_ref, y_q)
    assert np.ptp(y_ref, axis=0).max() > 0, "outputs constant over inputs"


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", NAMES)
def test_cnn_golden_matches_qonnx(name, seed, cnn_onnx, cifar_like_samples):
    path = cnn_onnx(name, seed)
    lower(load_model(path))  # raises UnsupportedModelError on a refused pattern
    df = make_dataflow(path, load_board("zcu104"), fps=1000)
    x = _x4(cifar_like_samples)
    ref = _qonnx_out(path, x)
    gold = df.golden(x)
    y = gold["y"]
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, atol=1e-4, rtol=0)
    assert argmax_agree(y, ref)
    assert len({tuple(r) for r in gold["hw_out"]}) > 1, "hardware output constant over inputs"


def test_resnet_residual_adds_share_one_scale(cnn_onnx):
    """Both inputs of each Add come straight from quantizers with one scale; lowered to
    DuplicateStreams + AddStreams."""
    path = cnn_onnx("resnet_t4")
    mw = load_clean_model(path)
    prod = _producers(mw)
    adds = [
        n
        for n in mw.graph.node
        if n.op_type == "Add" and all(mw.get_initializer(i) is None for i in n.input)
    ]
    assert len(adds) == 2
    for add in adds:
        quants = [prod[i] for i in add.input]
        assert all(q.op_type == "Quant" for q in quants)
        scales = [float(mw.get_initializer(q.input[1])) for q in quants]
        assert scales == [0.125, 0.125]
        assert [int(mw.get_initializer(q.input[3])) for q in quants] == [4, 4]
    kinds = [l.op_type for l in lower(load_model(path)).layers]
    assert kinds.count("AddStreams") == 2 and kinds.count("DuplicateStreams") == 2
    assert "GlobalAccPool" in kinds and "Pool" in kinds


def test_dwsep_has_depthwise_convs_and_trunc_pool(cnn_onnx):
    mw = load_clean_model(cnn_onnx("dwsep_w4a4"))
    convs = [n for n in mw.graph.node if n.op_type == "Conv"]
    groups = [next((a.i for a in n.attribute if a.name == "group"), 1) for n in convs]
    strides = [list(next(a.ints for a in n.attribute if a.name == "strides")) for n in convs]
    assert groups == [1, 8, 1, 16, 1]
    assert [2, 2] in strides
    prod = _producers(mw)
    trunc = [n for n in mw.graph.node if n.op_type == "Trunc"]
    assert len(trunc) == 1 and prod[trunc[0].input[0]].op_type == "GlobalAveragePool"
    # depthwise weights are 4-bit, not binary
    for n in convs:
        wq = prod[n.input[1]]
        assert wq.op_type == "Quant" and int(mw.get_initializer(wq.input[3])) == 4


def test_randomize_bn2d_gives_spread_stats_and_negative_gammas():
    model = make_cnn("dwsep_w4a4", seed=3)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(bns) == 5
    for bn in bns:
        assert (bn.weight < 0).any() and (bn.weight > 0).any()
        assert bn.running_var.min() > 0 and bn.running_mean.std() > 0
    fresh = make_cnn("dwsep_w4a4", seed=3, random_bn=False)
    assert all(
        float(m.weight.detach().min()) == 1.0
        for m in fresh.modules()
        if isinstance(m, torch.nn.BatchNorm2d)
    )
    randomize_bn2d(fresh, seed=3)
    for a, b in zip(bns, [m for m in fresh.modules() if isinstance(m, torch.nn.BatchNorm2d)]):
        assert torch.equal(a.weight, b.weight) and torch.equal(a.running_mean, b.running_mean)


def test_cnv_tensornorm_randomized(cnn_torch):
    model = cnn_torch("cnv_w1a1")
    tn = model.linear_features[-1]
    assert type(tn).__name__ == "TensorNorm"
    assert float(tn.running_var.detach()) != 1.0 and float(tn.bias.detach()) != 0.0


def test_cifar_like_images_and_make_cnn_errors(cifar_like_samples):
    x = cifar_like_samples
    assert x.shape == (8, 3, 32, 32) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0
    np.testing.assert_array_equal(x, cifar_like_images(8, seed=0))
    assert not np.array_equal(x, cifar_like_images(8, seed=1))
    assert len({round(float(v), 4) for v in x.mean((1, 2, 3))}) == 8
    with pytest.raises(KeyError, match="unknown CNN preset"):
        make_cnn("nope")
