"""fpgagen.models.quantizers: threshold ternary and SYQ -- forward, gradients, fixed point, export."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from brevitas.nn import QuantConv2d, QuantIdentity, QuantLinear  # noqa: E402
from brevitas.quant import SignedBinaryActPerTensorConst  # noqa: E402
from fpgagen.models.quantizers import (  # noqa: E402
    SCALE_ADAM_EPS,
    ThresholdWeightQuant,
    bake_quantized_weights,
    optimizer_param_groups,
    randomize_syq_scales,
    threshold_quantizers,
    weight_quant_kwargs,
    weight_stats,
)
from torch import nn  # noqa: E402

pytestmark = pytest.mark.torch


def _tq(layer) -> ThresholdWeightQuant:
    return layer.weight_quant.tensor_quant


def _linear(kind, out=6, inp=20, seed=0):
    torch.manual_seed(seed)
    lin = QuantLinear(inp, out, bias=False, **weight_quant_kwargs(kind))
    nn.init.uniform_(lin.weight, -1, 1)
    return lin


def test_ternary_threshold_is_five_percent_of_max():
    lin = _linear("ternary", out=8, inp=50)
    with torch.no_grad():
        lin.weight[0, 0] = 1.0  # max|W| = 1 -> eta = 0.05
        lin.weight[0, 1] = 0.049
        lin.weight[0, 2] = -0.051
        lin.weight[0, 3] = 0.3  # rounding against a max|W| scale would give 0 here
    qw = lin.quant_weight()
    codes = (qw.value / qw.scale).detach()
    assert codes[0, 1] == 0 and codes[0, 2] == -1 and codes[0, 3] == 1
    w = lin.weight.detach()
    expect = torch.where(w.abs() > 0.05, torch.sign(w), torch.zeros_like(w))
    assert torch.equal(codes, expect)
    assert qw.scale.numel() == 1 and int(qw.bit_width) == 2


@pytest.mark.parametrize("kind", ["ternary", "syq", "syq_binary"])
def test_scales_are_fixed_point(kind):
    lin = _linear(kind)
    lin(torch.rand(3, 20))
    tq = _tq(lin)
    s = tq.scale().detach()
    m = s * 2.0 ** int(tq.frac_bits)
    assert torch.equal(m, m.round()) and bool((m >= 1).all())
    assert 128 <= float(m.max()) < 256  # 8 significant bits at initialisation


def test_group_shapes():
    lin = _linear("syq", out=6)
    lin(torch.rand(2, 20))
    assert tuple(_tq(lin).alpha.shape) == (6, 1)  # per row
    conv = QuantConv2d(3, 4, 3, bias=False, **weight_quant_kwargs("syq"))
    conv(torch.rand(1, 3, 5, 5))
    assert tuple(_tq(conv).alpha.shape) == (1, 1, 3, 3)  # per kernel pixel
    pw = QuantConv2d(3, 4, 1, bias=False, **weight_quant_kwargs("syq"))
    assert tuple(_tq(pw).alpha.shape) == (4, 1, 1, 1)  # 1x1: per output channel
    row = QuantConv2d(3, 4, 3, bias=False, **weight_quant_kwargs("syq", group="row"))
    assert tuple(_tq(row).alpha.shape) == (4, 1, 1, 1)
    with pytest.raises(ValueError, match="needs a convolution"):
        QuantLinear(4, 4, bias=False, **weight_quant_kwargs("syq", group="pixel"))


def test_syq_gradients_follow_the_paper():
    """dL/dW = alpha dL/dQ (kept), dL/dQ (pruned); dL/dalpha = sum_group T(W) dL/dQ."""
    lin = _linear("syq", out=4, inp=30)
    with torch.no_grad():
        lin.weight[:, :5] = 0.01  # pruned (below eta = 0.05 max|W|)
    lin.weight.grad = None
    q = lin.quant_weight().value
    g = torch.randn_like(q)
    q.backward(g)
    tq = _tq(lin)
    a = tq.scale().detach()
    t = tq.codes(lin.weight)
    assert bool((t[:, :5] == 0).all())
    expect_w = torch.where(t != 0, a * g, g)
    assert torch.allclose(lin.weight.grad, expect_w)
    assert torch.allclose(tq.alpha.grad, (g * t).sum(1, keepdim=True))


def test_plain_ternary_is_straight_through_without_learned_scale():
    lin = _linear("ternary")
    q = lin.quant_weight().value
    g = torch.randn_like(q)
    q.backward(g)
    assert torch.allclose(lin.weight.grad, g)
    assert _tq(lin).alpha.grad is None


def test_bake_keeps_the_quantized_values_and_weight_stats():
    lin = _linear("syq", out=5, inp=40)
    before = lin.quant_weight().value.detach().clone()
    stats = weight_stats(lin)
    bake_quantized_weights(lin)
    assert torch.equal(lin.weight.detach(), before)
    assert torch.equal(lin.quant_weight().value.detach(), before)
    zeros = int((before == 0).sum())
    assert stats["zeros"] == zeros and stats["total"] == 200
    assert stats["sparsity"] == pytest.approx(zeros / 200)


class _SyqConvNet(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.inp = QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=True)
        self.conv = QuantConv2d(3, 4, 3, bias=False, **weight_quant_kwargs(kind))
        self.act = QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=False)
        self.fc = QuantLinear(4 * 4 * 4, 5, bias=False, **weight_quant_kwargs(kind))

    def forward(self, x):
        return self.fc(self.act(self.conv(self.inp(2 * x - 1))).flatten(1))


@pytest.mark.parametrize("kind", ["syq", "syq_binary", "ternary"])
def test_export_reproduces_torch_exactly(kind, tmp_path):
    """Per-pixel and per-row scales survive the Brevitas export; QONNX == PyTorch."""
    from fpgagen.models.export import (
        export_qonnx_model,
        load_clean_model,
        qonnx_execute,
        torch_predict,
    )

    torch.manual_seed(1)
    net = _SyqConvNet(kind)
    for m in net.modules():
        if isinstance(m, (QuantConv2d, QuantLinear)):
            nn.init.uniform_(m.weight, -1, 1)
    x = torch.rand(4, 3, 6, 6)
    net.train()
    net(x).sum().backward()  # one training step's forward/backward initialises the scales
    randomize_syq_scales(net, seed=3)  # distinct per-pixel / per-row scales, as after training
    path = export_qonnx_model(net, (1, 3, 6, 6), tmp_path / "n.onnx")
    assert torch.equal(net.conv.weight, net.conv.weight)  # latent weights untouched by export
    assert not _tq(net.conv).baked
    np.testing.assert_array_equal(qonnx_execute(path, x.numpy()), torch_predict(net, x.numpy()))
    mw = load_clean_model(path)
    scales = [
        mw.get_initializer(n.input[1])
        for n in mw.graph.node
        if n.op_type in ("Quant", "BipolarQuant") and mw.get_initializer(n.input[0]) is not None
    ]
    shapes = sorted(tuple(np.shape(s)) for s in scales)
    if kind == "ternary":
        assert all(np.size(s) == 1 for s in scales)
    else:
        assert shapes == sorted([(1, 1, 3, 3), (5, 1)]) or (1, 1, 3, 3) in shapes
    assert len(threshold_quantizers(net)) == 2
    if kind != "ternary":
        assert all(len(np.unique(s)) > 1 for s in scales)


def test_syq_scales_start_at_one_or_at_the_group_mean():
    lin = _linear("syq", out=4, inp=30)
    lin(torch.rand(2, 30))
    tq = _tq(lin)
    assert torch.equal(tq.scale().detach(), torch.ones(4, 1)) and int(tq.frac_bits) == 7
    torch.manual_seed(0)
    mean = QuantLinear(30, 4, bias=False, **weight_quant_kwargs("syq", alpha_init="mean"))
    nn.init.uniform_(mean.weight, -1, 1)
    mean(torch.rand(2, 30))
    t = _tq(mean).codes(mean.weight)
    expect = (mean.weight.detach().abs() * t.abs()).sum(1, keepdim=True) / t.abs().sum(
        1, keepdim=True
    )
    step = 2.0 ** -int(_tq(mean).frac_bits)
    assert torch.allclose(_tq(mean).scale().detach(), expect, atol=step / 2)
    with pytest.raises(ValueError, match="alpha_init"):
        QuantLinear(4, 4, bias=False, **weight_quant_kwargs("syq", alpha_init="zero"))


def test_randomize_syq_scales_gives_distinct_fixed_point_scales():
    conv = QuantConv2d(3, 4, 3, bias=False, **weight_quant_kwargs("syq"))
    tern = QuantLinear(4, 4, bias=False, **weight_quant_kwargs("ternary"))
    randomize_syq_scales(nn.Sequential(conv, tern), seed=1)
    s = _tq(conv).scale().detach()
    assert s.shape == (1, 1, 3, 3) and len(torch.unique(s)) >= 6  # 8-bit values may collide
    assert float(s.min()) >= 0.5 - 1e-6 and float(s.max()) <= 1.5 + 1e-6
    m = s * 2.0 ** int(_tq(conv).frac_bits)
    assert torch.equal(m, m.round()) and 128 <= float(m.max()) < 256
    assert not _tq(tern).initialized  # plain ternary has no learned scales to set


class _BnMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = QuantLinear(12, 8, bias=False, **weight_quant_kwargs("syq"))
        self.bn = nn.BatchNorm1d(8)
        self.fc2 = QuantLinear(8, 3, bias=False, **weight_quant_kwargs("syq"))

    def forward(self, x):
        return self.fc2(torch.tanh(self.bn(self.fc1(x))))


def _train_scales(groups_fn, steps=60):
    torch.manual_seed(0)
    net = _BnMlp()
    x, y = torch.randn(64, 12), torch.randint(0, 3, (64,))
    net(x)
    opt = torch.optim.Adam(groups_fn(net), lr=0.02)
    before = [tq.alpha.detach().clone() for _, tq in threshold_quantizers(net)]
    for _ in range(steps):
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [
        float((tq.alpha.detach() - b).abs().max())
        for (_, tq), b in zip(threshold_quantizers(net), before)
    ]


def test_batchnorm_cancelled_scales_stay_put_with_the_scale_group():
    """fc1's per-row scales are normalised away by the BatchNorm (gradient ~1e-8): plain Adam
    (eps 1e-8) random-walks them by ~lr per step, the scale group (eps 1e-5) keeps them, and
    fc2's scales (a real gradient) learn either way."""
    hidden, last = _train_scales(lambda n: optimizer_param_groups(n))
    assert hidden < 0.01 and last > 0.05
    hidden_plain, last_plain = _train_scales(lambda n: n.parameters())
    assert hidden_plain > 10 * 0.01 and last_plain > 0.05
    groups = optimizer_param_groups(_BnMlp(), weight_decay=1e-4)
    assert [g.get("eps") for g in groups] == [None, SCALE_ADAM_EPS]
    assert [g["weight_decay"] for g in groups] == [1e-4, 0.0]
    assert len(groups[1]["params"]) == 2
