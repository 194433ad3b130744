"""Weight quantizers for Brevitas layers: binary, ternary with a threshold, SYQ, low-bit ints.

Every model-zoo network takes its weight quantizer from :func:`weight_quant_kwargs` (pass the
result to ``QuantLinear`` / ``QuantConv2d``), so one name means the same thing everywhere:

=============  ====================================================================  ==========
kind           forward (``W`` the latent float weights of one layer)                  QONNX op
=============  ====================================================================  ==========
binary         ``sign(W)``, constant scale 1 (Brevitas ``SignedBinaryWeight...``)     BipolarQuant
ternary        ``alpha * T(W)``, ``T(W) = sign(W) * [|W| > eta]``,                      Quant 2b narrow
               ``eta = eta_frac * max|W|`` (0.05), ``alpha`` = mean ``|W|`` above eta
               (one per layer, not learned)
syq            SYQ ternary: ``alpha_g * T(W)`` with a *learned* ``alpha_g`` per group    Quant 2b narrow
syq_binary     SYQ binary: ``alpha_g * sign(W)``, learned ``alpha_g`` per group         BipolarQuant
int2           signed 2-bit {-2..1}, per-tensor float scale (Brevitas)                 Quant 2b
int4 / int8    signed narrow-range int, per-tensor float scale (Brevitas)              Quant
=============  ====================================================================  ==========

SYQ (Faraone et al., "SYQ: Learning Symmetric Quantization For Efficient Deep Neural Networks",
CVPR 2018).  Groups: ``"row"`` -- one scale per output channel (per row of a fully-connected
weight matrix; scale shape ``(OC, 1)`` / ``(OC, 1, 1, 1)``); ``"pixel"`` -- one scale per kernel
pixel of a convolution, shared by all channels (shape ``(1, 1, kh, kw)``); ``"layer"`` -- one
scale.  ``group="auto"`` is "pixel" for convolutions with a kernel larger than 1x1 and "row"
otherwise.  Gradients follow the paper: straight-through for the sign, ``dL/dW = alpha_g dL/dQ``
for kept weights and ``dL/dQ`` for pruned ones (so they can come back), and
``dL/dalpha_g = sum over the group of T(W) dL/dQ``.

Initial scales: SYQ's learned scales start at 1.0 (``alpha_init="one"``), so SYQ's weight
gradient starts out as the plain straight-through gradient (``alpha * dL/dQ = dL/dQ``) and the
scales then learn where the loss depends on them; ``alpha_init="mean"`` starts each group at its
mean ``|W|`` above eta instead (plain ternary always uses the mean, recomputed every step).
On TFC the "one" start with :func:`optimizer_param_groups` matches plain ternary while the
"mean" start was 0.16 points below it (docs/accuracy.md).

Training the scales: a layer followed by BatchNorm cannot see its per-row scales (BatchNorm
normalises them away), so their gradient is zero up to float rounding (~1e-8).  Adam with its
default ``eps = 1e-8`` turns such noise into steps of about the learning rate, a random walk of
the scales.  :func:`optimizer_param_groups` gives the scales their own group with
``eps = 1e-5`` (and no weight decay): scales with a real gradient (the last layer's, or
per-pixel scales) train as before, BatchNorm-cancelled ones stay where they are.

Fixed point: every scale is ``m * 2**-F`` with an integer ``m >= 1`` and one ``F`` per layer,
chosen when the scales are first initialised so that the largest initial ``m`` is in
[128, 256) (8 significant bits).  The forward pass rounds ``alpha * 2**F`` (straight-through),
so the values Brevitas exports are exactly the values the hardware multiplies by: per-row
scales fold into thresholds and per-pixel scales become the grouped MVAU's integer multipliers.

Export: Brevitas exports the latent float weights, not the quantized ones.  Call
:func:`bake_quantized_weights` on a copy of the model before exporting (``export_qonnx_model``
does it): it replaces each latent weight by its quantized value ``alpha * T(W)``, so the QONNX
``Quant(W, alpha)`` node reproduces ``T(W)`` exactly.

Sparsity: a layer's :class:`ThresholdWeightQuant` also holds an optional fixed ``mask`` (set by
quantisation pruning in :mod:`fpgagen.models.sparse`); masked weights are forced to 0.
"""

from __future__ import annotations

import math

import torch
from brevitas.inject import ExtendedInjector, value
from brevitas.proxy import WeightQuantProxyFromInjector
from brevitas.quant import SignedBinaryWeightPerTensorConst
from brevitas.quant.scaled_int import Int8WeightPerTensorFloat
from torch import nn

__all__ = [
    "WEIGHT_KINDS",
    "ThresholdWeightQuant",
    "bake_quantized_weights",
    "optimizer_param_groups",
    "randomize_syq_scales",
    "threshold_quantizers",
    "weight_quant_kwargs",
    "weight_stats",
]

WEIGHT_KINDS = ("binary", "ternary", "syq", "syq_binary", "int2", "int4", "int8")

#: latent-weight clamp range used while training the kinds that binarise/ternarise the sign
CLIPPED_KINDS = ("binary", "ternary", "syq", "syq_binary", "int2")

MANTISSA_BITS = 8

#: Adam epsilon of the learned-scale parameter group (see :func:`optimizer_param_groups`)
SCALE_ADAM_EPS = 1e-5

ALPHA_INITS = ("one", "mean")


# --------------------------------------------------------------------------------------------
# autograd functions
# --------------------------------------------------------------------------------------------
class _RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, g):
        return g


class _SymQuant(torch.autograd.Function):
    """``Q = alpha * T(W)`` with SYQ's gradients (see the module docstring).

    ``t`` is the already computed ternary/binary code tensor (no gradient); ``alpha`` has the
    group shape and broadcasts against ``w``.  With ``learn_alpha`` False the weight gradient is
    the plain straight-through ``dL/dQ`` and alpha gets none (plain ternary).
    """

    @staticmethod
    def forward(ctx, w, alpha, t, learn_alpha: bool):
        ctx.save_for_backward(alpha, t)
        ctx.learn_alpha = learn_alpha
        return alpha * t

    @staticmethod
    def backward(ctx, g):
        alpha, t = ctx.saved_tensors
        if not ctx.learn_alpha:
            return g, None, None, None
        kept = t != 0
        grad_w = torch.where(kept, alpha * g, g)
        grad_alpha = (g * t).sum_to_size(alpha.shape)
        return grad_w, grad_alpha, None, None


# --------------------------------------------------------------------------------------------
# the tensor quantizer
# --------------------------------------------------------------------------------------------
def _group_shape(weight: torch.Tensor, group: str) -> tuple:
    shape = tuple(weight.shape)
    if group == "auto":
        group = "pixel" if len(shape) == 4 and shape[2] * shape[3] > 1 else "row"
    if group == "layer":
        return ()
    if group == "row":
        return (shape[0],) + (1,) * (len(shape) - 1)
    if group == "pixel":
        if len(shape) != 4:
            raise ValueError(f"SYQ group 'pixel' needs a convolution weight, got shape {shape}")
        return (1, 1, shape[2], shape[3])
    raise ValueError(f"unknown SYQ group {group!r}; use 'auto', 'row', 'pixel' or 'layer'")


class ThresholdWeightQuant(nn.Module):
    """Ternary/binary weights with fixed-point scales, as a Brevitas ``tensor_quant``.

    Returns ``(value, scale, zero_point, bit_width)`` as Brevitas expects.  ``alpha`` (the
    latent scales, group shaped) and the fraction bits ``F`` are initialised from the weights
    on the first call (so a model re-initialised after construction still gets sensible
    scales).
    """

    def __init__(
        self,
        weight_shape,
        ternary: bool,
        learn_alpha: bool,
        group: str = "auto",
        eta_frac: float = 0.05,
        alpha_init: str = "one",
    ):
        super().__init__()
        if alpha_init not in ALPHA_INITS:
            raise ValueError(f"unknown SYQ alpha_init {alpha_init!r}; use 'one' or 'mean'")
        self.ternary = bool(ternary)
        self.learn_alpha = bool(learn_alpha)
        self.eta_frac = float(eta_frac)
        self.alpha_init = alpha_init if learn_alpha else "mean"
        gshape = _group_shape(torch.empty(weight_shape), group if learn_alpha else "layer")
        self.alpha = nn.Parameter(torch.ones(gshape), requires_grad=learn_alpha)
        self.register_buffer("frac_bits", torch.tensor(0, dtype=torch.int64))
        self.register_buffer("initialized", torch.tensor(False))
        self.register_buffer("baked", torch.tensor(False))
        self.mask = None  # optional fixed keep-mask (bool, weight shaped) from pruning

    # -- helpers ----------------------------------------------------------------------------
    def eta(self, w: torch.Tensor) -> torch.Tensor:
        return self.eta_frac * w.detach().abs().max()

    def codes(self, w: torch.Tensor) -> torch.Tensor:
        """The integer codes T(W) (float tensor of -1/0/+1, or -1/+1 for binary)."""
        w = w.detach()
        if self.baked:
            a = self.scale().detach()
            t = torch.round(w / a).clamp(-1, 1)
            return t if self.ternary else torch.where(t >= 0, 1.0, -1.0)
        if self.ternary:
            t = torch.where(w.abs() > self.eta(w), torch.sign(w), torch.zeros_like(w))
        else:
            t = torch.where(w >= 0, torch.ones_like(w), -torch.ones_like(w))
        if self.mask is not None:
            t = t * self.mask.to(t.dtype)
        return t

    @torch.no_grad()
    def _init_from(self, w: torch.Tensor) -> None:
        if self.alpha_init == "one":
            a = torch.ones_like(self.alpha)
        else:  # the group's mean |W| over its kept weights
            t = self.codes(w)
            num = (w.abs() * t.abs()).sum_to_size(self.alpha.shape)
            den = t.abs().sum_to_size(self.alpha.shape).clamp_min(1.0)
            a = (num / den).clamp_min(1e-8)
        self.set_scales(a)

    @torch.no_grad()
    def set_scales(self, a: torch.Tensor) -> None:
        """Set the latent scales to ``a`` (group shaped, > 0) and pick ``F`` for 8 significant
        bits of the largest one."""
        a = torch.as_tensor(a, dtype=self.alpha.dtype).reshape(self.alpha.shape)
        if not bool((a > 0).all()):
            raise ValueError("SYQ scales must be positive")
        self.frac_bits.fill_(MANTISSA_BITS - 1 - math.floor(math.log2(float(a.max()))))
        self.alpha.copy_(a)
        self.initialized.fill_(True)

    def scale(self) -> torch.Tensor:
        """The fixed-point scales ``m * 2**-F`` (straight-through rounding of ``alpha``)."""
        step = 2.0 ** -int(self.frac_bits)
        m = _RoundSTE.apply(self.alpha / step).clamp_min(1.0)
        return m * step

    def forward(self, w: torch.Tensor):
        if not self.learn_alpha and not self.baked:
            self._init_from(w)  # plain ternary: alpha follows the weights, one per layer
        elif not self.initialized:
            self._init_from(w)
        t = self.codes(w)
        a = self.scale()
        q = _SymQuant.apply(w, a, t, self.learn_alpha)
        zero = torch.zeros((), dtype=w.dtype, device=w.device)
        bits = torch.tensor(2.0 if self.ternary else 1.0, device=w.device)
        return q, a.detach() if not self.training else a, zero, bits

    def extra_repr(self) -> str:
        kind = ("syq " if self.learn_alpha else "") + ("ternary" if self.ternary else "binary")
        return (
            f"{kind}, scales={tuple(self.alpha.shape)}, eta_frac={self.eta_frac}, "
            f"alpha_init={self.alpha_init}"
        )


class ThresholdWeightBase(ExtendedInjector):
    """Brevitas injector for :class:`ThresholdWeightQuant` (use the subclasses below)."""

    proxy_class = WeightQuantProxyFromInjector
    signed = True
    syq_group = "auto"
    eta_frac = 0.05
    alpha_init = "one"

    @value
    def tensor_quant(module, ternary, learn_alpha, syq_group, eta_frac, alpha_init):
        return ThresholdWeightQuant(
            tuple(module.weight.shape), ternary, learn_alpha, syq_group, eta_frac, alpha_init
        )


class TernaryThresholdWeight(ThresholdWeightBase):
    """Plain ternary: threshold eta = eta_frac * max|W|, one fixed-point scale per layer."""

    ternary = True
    learn_alpha = False
    narrow_range = True
    bit_width = 2


class SYQTernaryWeight(TernaryThresholdWeight):
    """SYQ ternary: learned fixed-point scale per group (``syq_group``)."""

    learn_alpha = True


class SYQBinaryWeight(ThresholdWeightBase):
    """SYQ binary: sign(W) times a learned fixed-point scale per group (``syq_group``)."""

    ternary = False
    learn_alpha = True
    narrow_range = False
    bit_width = 1


# --------------------------------------------------------------------------------------------
# Brevitas built-in quantizers used by the other kinds
# --------------------------------------------------------------------------------------------
class BinaryWeightUnitScale(SignedBinaryWeightPerTensorConst):
    """Binary (+-1) weights with a constant scale of 1.0 (brevitas' default constant is 0.1)."""

    scaling_const = 1.0


class NarrowIntWeightPerTensor(Int8WeightPerTensorFloat):
    """Signed narrow-range int weights, per-tensor float scale from max|w| (bit_width set per use)."""


def weight_quant_kwargs(
    kind: str, group: str = "auto", eta_frac: float = 0.05, alpha_init: str = "one"
) -> dict:
    """Keyword arguments for ``QuantLinear``/``QuantConv2d`` giving weight quantizer ``kind``.

    ``eta_frac`` applies to the threshold quantizers (ternary, syq, syq_binary); ``group`` and
    ``alpha_init`` ("one" or "mean") to the SYQ ones.
    """
    if kind == "float":  # unquantized (float pre-training before quantisation-aware training)
        return dict(weight_quant=None)
    if kind == "binary":
        return dict(weight_quant=BinaryWeightUnitScale)
    if kind == "ternary":
        return dict(weight_quant=TernaryThresholdWeight.let(eta_frac=eta_frac))
    if kind in ("syq", "syq_binary"):
        inj = SYQTernaryWeight if kind == "syq" else SYQBinaryWeight
        return dict(weight_quant=inj.let(syq_group=group, eta_frac=eta_frac, alpha_init=alpha_init))
    bits = {"int2": 2, "int4": 4, "int8": 8}.get(kind)
    if bits is None:
        raise ValueError(f"unknown weights {kind!r}; expected one of {', '.join(WEIGHT_KINDS)}")
    kw = dict(weight_quant=NarrowIntWeightPerTensor, weight_bit_width=bits)
    if kind == "int2":  # full 2-bit range {-2, -1, 0, 1}
        kw["weight_narrow_range"] = False
    return kw


# --------------------------------------------------------------------------------------------
# model-level helpers
# --------------------------------------------------------------------------------------------
def threshold_quantizers(model: nn.Module):
    """``(layer, ThresholdWeightQuant)`` for every layer of ``model`` using one."""
    out = []
    for m in model.modules():
        proxy = getattr(m, "weight_quant", None)
        tq = getattr(proxy, "tensor_quant", None)
        if isinstance(tq, ThresholdWeightQuant):
            out.append((m, tq))
    return out


@torch.no_grad()
def bake_quantized_weights(model: nn.Module) -> nn.Module:
    """Replace the latent weights of threshold-quantized layers by ``alpha * T(W)`` (in place).

    After baking, the quantizer derives ``T`` from ``round(W / alpha)``, so Brevitas and the
    exported ``Quant(W, alpha)`` node agree exactly.  Use on a copy (the latent weights are
    lost); :func:`fpgagen.models.export.export_qonnx_model` does this for you.
    """
    was = model.training
    model.eval()
    for layer, tq in threshold_quantizers(model):
        if not tq.initialized:
            tq._init_from(layer.weight)
        q = tq.scale() * tq.codes(layer.weight)
        layer.weight.copy_(q)
        tq.baked.fill_(True)
        tq.mask = None
    model.train(was)
    return model


@torch.no_grad()
def weight_stats(model: nn.Module) -> dict:
    """Zero fraction of the quantized weights of every threshold-quantized layer and overall.

    Returns ``dict(layers=[dict(name, shape, zeros, total, sparsity)], zeros, total, sparsity)``.
    """
    names = {id(m): n for n, m in model.named_modules()}
    rows, zeros, total = [], 0, 0
    for layer, tq in threshold_quantizers(model):
        t = tq.codes(layer.weight)
        z, n = int((t == 0).sum()), t.numel()
        rows.append(
            dict(
                name=names.get(id(layer), "?"),
                shape=list(t.shape),
                zeros=z,
                total=n,
                sparsity=z / n,
            )
        )
        zeros += z
        total += n
    return dict(layers=rows, zeros=zeros, total=total, sparsity=zeros / total if total else 0.0)


def optimizer_param_groups(model: nn.Module, weight_decay: float = 0.0) -> list[dict]:
    """Parameter groups for ``torch.optim.Adam``: the learned SYQ scales apart from the rest.

    The scales get ``eps = SCALE_ADAM_EPS`` (1e-5) and no weight decay (see the module
    docstring: BatchNorm-cancelled scales would otherwise random-walk on rounding noise); every
    other parameter keeps the optimizer defaults and ``weight_decay``.
    """
    scales = [tq.alpha for _, tq in threshold_quantizers(model) if tq.alpha.requires_grad]
    ids = {id(p) for p in scales}
    rest = [p for p in model.parameters() if id(p) not in ids]
    groups = [dict(params=rest, weight_decay=weight_decay)]
    if scales:
        groups.append(dict(params=scales, eps=SCALE_ADAM_EPS, weight_decay=0.0))
    return groups


@torch.no_grad()
def randomize_syq_scales(model: nn.Module, seed: int = 0, spread: float = 0.5) -> nn.Module:
    """Give the learned SYQ scales of an *untrained* model random values in [1 - spread, 1 + spread].

    Trained SYQ scales differ per group; freshly initialised ones are all 1.0, which would
    lower like a single per-layer scale.  The untrained zoo presets call this (next to their
    random BatchNorm statistics) so that exported graphs exercise per-group scales.
    """
    gen = torch.Generator().manual_seed(seed)
    for _i, (_layer, tq) in enumerate(threshold_quantizers(model)):
        if not tq.learn_alpha:
            continue
        r = torch.rand(tq.alpha.shape, generator=gen)
        tq.set_scales(1.0 + spread * (2.0 * r - 1.0))
    return model
