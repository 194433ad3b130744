"""Model-zoo CNVs (fpgagen.models.cnn.QuantCNV): every preset exports to QONNX, QONNX's executor
matches PyTorch, the narrow variants lower with fpgagen and their golden model equals QONNX,
and one narrow variant passes ``verify --backend rtl``.

Torch vs QONNX: both evaluate the same float graph, but in a different order of float32
operations; a value that lands (almost) exactly on a rounding boundary of an activation
quantizer can then round differently and change later layers.  :func:`assert_torch_matches_qonnx`
accepts a sample whose outputs differ only when that is the explanation: at the first
activation quantizer whose outputs differ, both inputs agree to float precision and only a
handful of codes differ.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("brevitas")
pytest.importorskip("qonnx")

from fpgagen.boards import load_board  # noqa: E402
from fpgagen.flow import argmax_agree, make_dataflow  # noqa: E402
from fpgagen.frontend import load_model  # noqa: E402
from fpgagen.models.cnn import (  # noqa: E402
    CNV_PRESETS,
    MNIST_CNN_PRESETS,
    QuantCNV,
    QuantMnistCNN,
    cifar_like_images,
    make_cnn,
)
from fpgagen.models.export import (  # noqa: E402
    export_qonnx_model,
    load_clean_model,
    qonnx_execute,
    torch_predict,
)

from tests.support.torch_qonnx import assert_torch_matches_qonnx  # noqa: E402

pytestmark = pytest.mark.torch

NAMES = sorted(CNV_PRESETS)
NARROW = 0.125
#: ops allowed on activations after QONNX cleanup (what fpgagen lowers)
DYNAMIC_OPS = {
    "Quant",
    "BipolarQuant",
    "Conv",
    "MatMul",
    "BatchNormalization",
    "Relu",
    "MaxPool",
    "Mul",
    "Add",
    "Sub",
    "Div",
    "Reshape",
    "Flatten",
}


# --------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------
_MODELS: dict = {}


def _cnv(tmp_path_factory, name, **kw):
    """(model, onnx path) of ``make_cnn(name, **kw)``, cached per session."""
    key = (name, tuple(sorted(kw.items())))
    if key not in _MODELS:
        model = make_cnn(name, **kw)
        d = tmp_path_factory.mktemp("zoo_cnv")
        tag = "_".join(f"{k}{v}" for k, v in sorted(kw.items()))
        path = export_qonnx_model(model, model.input_shape, d / f"{name}{tag}.onnx")
        _MODELS[key] = (model, path)
    return _MODELS[key]


@pytest.fixture(scope="module")
def samples():
    return cifar_like_images(4, seed=0)


# --------------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_cnv_preset_exports_and_matches_torch(name, tmp_path_factory, samples):
    model, path = _cnv(tmp_path_factory, name)
    assert isinstance(model, QuantCNV) and model.input_shape == (1, 3, 32, 32)
    mw = load_clean_model(path)
    ops = [n.op_type for n in mw.graph.node]
    assert set(ops) <= DYNAMIC_OPS, set(ops) - DYNAMIC_OPS
    assert ops.count("Conv") == 6 and ops.count("MatMul") == 3 and ops.count("MaxPool") == 2
    load_model(path)  # the frontend accepts it
    err, _ = assert_torch_matches_qonnx(model, path, samples)
    assert err <= 1e-4
    assert np.ptp(torch_predict(model, samples), axis=0).max() > 0, "outputs constant"


@pytest.mark.parametrize("name", NAMES + ["cnv_syq_row"])
def test_narrow_cnv_golden_matches_qonnx(name, tmp_path_factory, samples):
    kw = dict(width=NARROW)
    if name == "cnv_syq_row":
        name, kw["syq_group"] = "cnv_syq", "row"
    model, path = _cnv(tmp_path_factory, name, **kw)
    assert model.conv_features[1].out_channels == 8
    df = make_dataflow(path, load_board("zcu104"), fps=1000)
    ref = qonnx_execute(path, samples)
    gold = df.golden(samples)
    np.testing.assert_allclose(gold["y"], ref, atol=1e-4, rtol=0)
    assert argmax_agree(gold["y"], ref)
    assert len({tuple(r) for r in gold["hw_out"]}) > 1, "hardware output constant over inputs"
    mvaus = [l for l in df.layers if l.op_type == "MVAU"]
    assert len(mvaus) == 9
    grouped = [l.grouped for l in mvaus]
    if CNV_PRESETS[name]["weights"].startswith("syq") and kw.get("syq_group") != "row":
        assert grouped == [True] * 6 + [False] * 3  # per-kernel-pixel conv scales
    else:
        assert not any(grouped)


def test_cnv_syq_scale_shapes(tmp_path_factory):
    """SYQ: one fixed-point scale per kernel pixel on the convolutions, per row on the FCs."""
    for group, conv_shape in (("auto", (1, 1, 3, 3)), ("row", (8, 1, 1, 1))):
        _, path = _cnv(
            tmp_path_factory,
            "cnv_syq",
            width=NARROW,
            **({} if group == "auto" else {"syq_group": group}),
        )
        mw = load_clean_model(path)
        scales = [
            mw.get_initializer(n.input[1])
            for n in mw.graph.node
            if n.op_type == "Quant" and mw.get_initializer(n.input[0]) is not None
        ]
        assert [s.shape for s in scales[:1]] == [conv_shape]
        # per output row (QONNX's cleanup stores MatMul weights as (in, out): scale (1, out))
        assert [s.shape for s in scales[-3:]] == [(1, 64), (1, 64), (1, 10)]
        for s in scales:  # fixed point m * 2^-F, m in [1, 256)
            m = s.astype(np.float64) * 2.0**16
            assert np.all(m == np.round(m)) and s.min() > 0
        if group == "auto":
            assert len(np.unique(scales[0])) > 1


def test_quantcnv_binary_equals_bnn_pynq_cnv(samples):
    """QuantCNV(binary, abits=1) is the bnn_pynq CNV_1W1A: same parameters, same outputs (the
    TensorNorm's affine map is evaluated in a different float order: equal to a few ulp)."""
    ref = make_cnn("cnv_w1a1", seed=3)
    ours = QuantCNV(weights="binary", abits=1)
    missing, _ = ours.load_state_dict(ref.state_dict(), strict=False)
    params = {k for k, _ in ours.named_parameters()} | {k for k, _ in ours.named_buffers()}
    assert not (set(missing) & {k for k in params if "quant" not in k}), missing
    ours.eval()
    y_ref, y = torch_predict(ref, samples), torch_predict(ours, samples)
    np.testing.assert_allclose(y, y_ref, rtol=1e-6, atol=1e-6)
    assert np.array_equal(y.argmax(1), y_ref.argmax(1))


def test_make_cnn_overrides_and_errors():
    m = make_cnn("cnv_w1a2", width=0.25, random_bn=False)
    convs = [l for l in m.conv_features if isinstance(l, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 16, 32, 32, 64, 64]
    assert m.linear_features[0].in_features == 64 and m.linear_features[-2].out_features == 10
    with pytest.raises(ValueError, match="takes no overrides"):
        make_cnn("cnv_w1a1", width=0.5)
    with pytest.raises(ValueError, match="too small"):
        QuantCNV(input_hw=24)
    with pytest.raises(KeyError, match="unknown CNN preset"):
        make_cnn("cnv_w9a9")
    big = make_cnn("cnv_ternary", input_hw=36, width=NARROW, random_bn=False)
    assert big.input_shape == (1, 3, 36, 36)
    assert big.linear_features[0].in_features == 32 * 2 * 2


@pytest.mark.parametrize("name", sorted(MNIST_CNN_PRESETS))
def test_mnist_cnn_preset_torch_golden_qonnx(name, tmp_path_factory):
    """The MNIST CNN presets (28x28x1): torch == QONNX, golden == QONNX exactly (binary,
    ternary and fixed-point SYQ scales), grouped MVAUs exactly for per-pixel SYQ."""
    from fpgagen.models.datasets import as_images, load_mnist5k

    model, path = _cnv(tmp_path_factory, name)
    assert isinstance(model, QuantMnistCNN) and model.input_shape == (1, 1, 28, 28)
    ops = [n.op_type for n in load_clean_model(path).graph.node]
    assert ops.count("Conv") == 4 and ops.count("MatMul") == 2 and ops.count("MaxPool") == 2
    x = as_images(load_mnist5k(0))[2][:6]
    err, _ = assert_torch_matches_qonnx(model, path, x)
    assert err <= 1e-4
    df = make_dataflow(path, load_board("zcu104"), fps=30000)
    gold, ref = df.golden(x), qonnx_execute(path, x)
    assert np.array_equal(gold["y"], ref), np.abs(gold["y"] - ref).max()
    assert len({tuple(r) for r in gold["hw_out"]}) > 1, "hardware output constant over inputs"
    grouped = [l.grouped for l in df.layers if l.op_type == "MVAU"]
    per_pixel = (
        MNIST_CNN_PRESETS[name]["weights"].startswith("syq")
        and MNIST_CNN_PRESETS[name].get("syq_group", "auto") == "auto"
    )
    assert grouped == [per_pixel] * 4 + [False] * 2


def test_mnist_cnn_shapes_and_errors():
    m = make_cnn("mnist_cnn_ternary", random_bn=False)
    convs = [l for l in m.conv_features if isinstance(l, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(1, 8), (8, 8), (8, 16), (16, 16)]
    assert m.linear_features[0].in_features == 16 * 4 * 4  # 28 -> 26 -> 24 -> 12 -> 10 -> 8 -> 4
    assert (
        make_cnn("mnist_cnn_syq", width=2, random_bn=False).linear_features[0].out_features == 128
    )
    with pytest.raises(
        ValueError,
        match=r"QuantMnistCNN takes images \(N, 1, 28, 28\), got "
        r"\(2, 784\); reshape flattened rows with "
        r"x.reshape\(-1, 1, 28, 28\)",
    ):
        m(torch.zeros(2, 784))
    with pytest.raises(
        ValueError,
        match=r"input_hw=14 is too small for QuantMnistCNN "
        r"\(needs >= 16\)",
    ):
        QuantMnistCNN(input_hw=14)
    with pytest.raises(ValueError, match=r"too small for QuantCNV \(needs >= 32\)"):
        QuantCNV(input_hw=30)


@pytest.mark.rtl
@pytest.mark.slow
def test_narrow_cnv_rtl_bit_exact(tmp_path_factory, tmp_path):
    from fpgagen.cli import main
    from fpgagen.flow import verify

    _, path = _cnv(tmp_path_factory, "cnv_ternary", width=NARROW)
    x = cifar_like_images(3, seed=5)
    out = tmp_path / "build"
    assert (
        main(
            [
                "build",
                str(path),
                "--board",
                "zcu104",
                "-o",
                str(out),
                "--fps",
                "20000",
                "--backend",
                "rtl",
            ]
        )
        == 0
    )
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", qonnx_execute(path, x))
    rep = verify(out, tmp_path / "x.npy", backend="rtl", outputs=tmp_path / "y.npy", progress=print)
    assert rep["mismatched_frames"] == 0 and rep["stress_mismatched_frames"] == 0
    assert rep["onnx_max_abs_err"] <= 1e-4 and rep["onnx_argmax_equal"]
    assert abs(rep["cycles_error"]) <= 0.05, rep
