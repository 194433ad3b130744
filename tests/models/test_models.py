"""Tests for fpgagen.models: presets export to QONNX, QONNX executor == PyTorch, quantizer
values, randomized BN makes untrained models non-trivial, datasets and a short training run."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("brevitas")
pytest.importorskip("qonnx")

from fpgagen.models.datasets import load_digits_split, load_mnist5k  # noqa: E402
from fpgagen.models.export import load_clean_model, qonnx_execute, torch_predict  # noqa: E402
from fpgagen.models.mlp import PRESETS, QuantMLP, TensorNorm, make_mlp, randomize_bn  # noqa: E402
from fpgagen.models.train import train  # noqa: E402

ALLOWED_OPS = {
    "Quant",
    "BipolarQuant",
    "MatMul",
    "Gemm",
    "BatchNormalization",
    "Relu",
    "Mul",
    "Add",
    "Sub",
    "Div",
    "Pow",
    "Sqrt",
    "Reshape",
    "Flatten",
    "Transpose",
}
QUANT_OPS = ("Quant", "BipolarQuant")


def _inputs(name, mnist_samples, digits_samples):
    """8 real samples + 8 uniform random inputs in [0, 1]."""
    n_in = PRESETS[name]["in_features"]
    real = (mnist_samples if n_in == 784 else digits_samples)[0][:8]
    rnd = np.random.RandomState(123).rand(8, n_in).astype(np.float32)
    return np.concatenate([real, rnd])


def _argmax_consistent(ref, other, atol=1e-4):
    """other's argmax is a (possibly tied, within atol) maximum of ref, row by row."""
    idx = other.argmax(1)
    return np.all(ref[np.arange(len(ref)), idx] >= ref.max(1) - atol)


def _weight_quant_nodes(mw):
    return [
        n
        for n in mw.graph.node
        if n.op_type in QUANT_OPS and mw.get_initializer(n.input[0]) is not None
    ]


def _attrs(node):
    import onnx

    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_exports_and_matches_torch(
    name, preset_onnx, preset_torch, mnist_samples, digits_samples
):
    import onnx

    path = preset_onnx(name)
    model = preset_torch(name)
    raw_ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert set(raw_ops) <= ALLOWED_OPS, raw_ops
    mw = load_clean_model(path)
    ops = [n.op_type for n in mw.graph.node]
    assert set(ops) <= ALLOWED_OPS, ops
    n_lin = len(PRESETS[name]["hidden"]) + 1
    assert ops.count("MatMul") == n_lin
    assert sum(op in QUANT_OPS for op in ops) == 2 * n_lin  # one weight + one act quant per layer
    assert tuple(mw.get_tensor_shape(mw.graph.input[0].name)) == (1, model.in_features)

    x = _inputs(name, mnist_samples, digits_samples)
    y_ref = torch_predict(model, x)
    y_q = qonnx_execute(path, x, model=mw)
    assert y_q.shape == (16, PRESETS[name]["out_features"])
    np.testing.assert_allclose(y_q, y_ref, atol=1e-4, rtol=0)
    assert _argmax_consistent(y_ref, y_q) and _argmax_consistent(y_q, y_ref)
    assert np.ptp(y_ref, axis=0).max() > 0, "outputs constant over inputs"


def test_qonnx_execute_batches_and_shapes(preset_onnx, preset_torch, digits_samples):
    path = preset_onnx("tiny_w1a1")
    x = digits_samples[0][:3]
    y_all = qonnx_execute(path, x)
    y_one = qonnx_execute(path, x[:1])
    assert y_all.shape == (3, 10) and y_one.shape == (1, 10)
    np.testing.assert_allclose(y_all[:1], y_one, atol=0)
    # (N, 1, 8, 8) images are accepted too (flattened per sample)
    np.testing.assert_allclose(qonnx_execute(path, x.reshape(3, 1, 8, 8)), y_all, atol=0)


@pytest.mark.parametrize("name", ["tiny_w2a2", "tiny_ternary_odd", "mlp_ternary_odd"])
def test_ternary_weights_are_ternary(name, preset_onnx, preset_torch):
    from qonnx.core.onnx_exec import execute_node  # noqa: F401  (qonnx import check)

    model = preset_torch(name)
    for lin in model.linear_layers():
        qw = lin.quant_weight()
        scale = float(qw.scale.detach())
        ints = qw.value.detach() / scale
        assert torch.allclose(ints, ints.round(), atol=1e-5)
        assert set(ints.round().unique().tolist()) == {-1.0, 0.0, 1.0}
        assert int(qw.bit_width) == 2
    mw = load_clean_model(preset_onnx(name))
    wq = _weight_quant_nodes(mw)
    assert len(wq) == len(model.linear_layers())
    for n in wq:
        a = _attrs(n)
        assert n.op_type == "Quant" and a["signed"] == 1 and a["narrow"] == 1
        w = mw.get_initializer(n.input[0])
        s = float(mw.get_initializer(n.input[1]))
        assert float(mw.get_initializer(n.input[2])) == 0.0
        assert float(mw.get_initializer(n.input[3])) == 2.0
        q = np.clip(np.round(w / s), -1, 1)  # narrow 2-bit signed: [-1, 1]
        assert set(np.unique(q).tolist()) == {-1.0, 0.0, 1.0}


@pytest.mark.parametrize("name", ["tiny_w1a1", "tfc_w1a2"])
def test_binary_weights_are_pm1(name, preset_torch):
    model = preset_torch(name)
    for lin in model.linear_layers():
        qw = lin.quant_weight()
        assert float(qw.scale.detach()) == 1.0
        assert set(qw.value.detach().unique().tolist()) == {-1.0, 1.0}


@pytest.mark.parametrize("name,bits", [("tiny_w4a4", 4), ("tiny_w8a8", 8)])
def test_int_weights_range(name, bits, preset_torch):
    qmax = 2 ** (bits - 1) - 1
    for lin in preset_torch(name).linear_layers():
        qw = lin.quant_weight()
        ints = (qw.value.detach() / qw.scale).round()
        assert ints.abs().max() == qmax  # max-abs scaling, narrow range
        assert ints.min() >= -qmax


@pytest.mark.parametrize("name", ["tfc_w1a1", "tfc_w1a2", "tiny_w2a2", "tiny_w4a4"])
def test_randomize_bn_nontrivial(name, preset_torch):
    model = preset_torch(name)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    gammas = torch.cat([b.weight.detach() for b in bns])
    assert (gammas < 0).any() and (gammas > 0).any()
    assert torch.cat([b.running_mean for b in bns]).abs().min() > 0
    tn = [m for m in model.modules() if isinstance(m, TensorNorm)]
    assert len(tn) == 1 and float(tn[0].running_var) != 1.0

    acts = []
    hooks = [
        m.register_forward_hook(lambda mod, i, o: acts.append(o.detach()))
        for m in model.features
        if type(m).__name__ in ("QuantIdentity", "QuantReLU")
    ]
    x = torch.rand(64, model.in_features, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    hidden = acts[1:]  # acts[0] is the input quantizer
    assert len(hidden) == len(PRESETS[name]["hidden"])
    for layer, a in enumerate(hidden):
        varying = float(((a.max(0).values - a.min(0).values) > 0).float().mean())
        values, counts = a.unique(return_counts=True)
        top = float(counts.max()) / a.numel()
        print(
            f"{name} hidden{layer}: {varying:.0%} of units vary over inputs, levels "
            f"{values.tolist()}, most common level {top:.0%}"
        )
        assert varying >= 0.5, f"layer {layer}: only {varying:.0%} of units vary"
        assert len(values) >= 2 and top < 0.9


def test_randomize_bn_deterministic():
    a = randomize_bn(make_mlp("tiny_w2a2", seed=3), seed=5)
    b = randomize_bn(make_mlp("tiny_w2a2", seed=3), seed=5)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)


def test_quant_mlp_options():
    m = QuantMLP(64, [12], 3, "int4", 3, input_preproc=False, tensornorm_tail=False, bn=False)
    assert not any(isinstance(x, (torch.nn.BatchNorm1d, TensorNorm)) for x in m.modules())
    assert m(torch.rand(2, 1, 8, 8)).shape == (2, 3)
    with pytest.raises(ValueError):
        QuantMLP(4, [4], 2, "int3", 2)
    with pytest.raises(KeyError):
        make_mlp("nope")


def test_datasets():
    xtr, ytr, xte, yte = load_mnist5k(0)
    assert xtr.shape == (4000, 784) and xte.shape == (1000, 784)
    assert xtr.dtype == np.float32 and 0.0 <= xtr.min() and xtr.max() <= 1.0 and xtr.max() > 0.99
    assert np.bincount(yte).tolist() == [100] * 10
    assert len({r.tobytes() for r in xte} & {r.tobytes() for r in xtr[:500]}) == 0
    xtr2, _, xte2, _ = load_mnist5k(0)
    assert np.array_equal(xte, xte2) and np.array_equal(xtr, xtr2)
    assert not np.array_equal(load_mnist5k(1)[2], xte)
    dtr, dytr, dte, dyte = load_digits_split(0)
    assert dtr.shape[1] == 64 and len(dtr) + len(dte) == 1797 and 300 < len(dte) < 420
    assert dtr.dtype == np.float32 and dtr.max() == 1.0 and dtr.min() == 0.0


def test_short_training_on_digits():
    data = load_digits_split(0)
    m1 = make_mlp("tiny_w1a1", seed=0)
    r1 = train(m1, data, epochs=1, lr=0.02, batch_size=32, seed=0, progress=False)
    print("tiny_w1a1, 1 epoch on digits:", {k: r1[k] for k in ("train_acc", "test_acc", "seconds")})
    assert r1["test_acc"] > 0.3  # chance is 0.1
    m2 = make_mlp("tiny_w1a1", seed=0)
    r2 = train(m2, data, epochs=1, lr=0.02, batch_size=32, seed=0, progress=False)
    assert r2["test_acc"] == r1["test_acc"]  # deterministic
    m3 = make_mlp("tiny_w4a4", seed=0)
    r3 = train(m3, data, epochs=1, lr=0.02, batch_size=32, seed=0, progress=False)
    print("tiny_w4a4, 1 epoch on digits:", {k: r3[k] for k in ("train_acc", "test_acc", "seconds")})
    assert r3["test_acc"] > 0.7
