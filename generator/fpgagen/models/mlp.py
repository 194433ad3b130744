"""Quantized MLPs (Brevitas) in the style of the bnn_pynq TFC/SFC/LFC networks.

Network structure of :class:`QuantMLP` (eval mode, i.e. as exported to QONNX)::

    x in [0, 1], shape (N, in_features)  (a (N, C, H, W) input is flattened first)
    -> 2*x - 1                              (if input_preproc; exported as Mul + Add)
    -> input quantizer                      (BipolarQuant if in_bits == 1, else Quant signed
                                             narrow int, constant scale = 1 / (2^(b-1) - 1))
    -> for each hidden width h:
         QuantLinear(bias=False)            (weight Quant/BipolarQuant -> MatMul)
         BatchNorm1d(h)                     (if bn; exported as BatchNormalization)
         activation quantizer               (same family as the input quantizer, abits bits)
    -> QuantLinear(bias=False) -> TensorNorm (if tensornorm_tail; scalar affine, exported as
                                              Sub/Mul/Add with constant operands)

Quantizers:

* weights: from :func:`fpgagen.models.quantizers.weight_quant_kwargs` -- "binary" (+-1, scale
  1, ``BipolarQuant``), "ternary" (threshold ternary, eta = 0.05 max|W|, one fixed-point scale
  per layer, ``Quant`` 2-bit narrow), "syq" / "syq_binary" (SYQ: learned fixed-point scale per
  output row), "int2" (full 2-bit range {-2..1}), "int4" / "int8" (narrow range, per-tensor
  float scale max|w| / (2^(b-1) - 1)).
* activations, abits == 1: SignedBinaryActPerTensorConst (bipolar +-1, scale 1.0, BipolarQuant).
* activations, abits >= 2: signed narrow-range int, constant scale 1/(2^(b-1)-1) (range [-1, 1],
  as bnn_pynq's CommonActQuant).  For abits == 2 the values are {-1, 0, +1} with scale 1.0.
  With ``act="relu"``, an unsigned QuantReLU with constant scale 1/(2^b - 1) (range [0, 1]) is
  used for the hidden activations instead.

Presets (:func:`make_mlp`)::

    name               in    hidden          out  weights   abits  in_bits
    tfc_w1a1           784   64-64-64        10   binary    1      1
    tfc_w1a2           784   64-64-64        10   binary    2      2
    tfc_w2a2           784   64-64-64        10   int2      2      2
    mlp_ternary_odd    784   64-40-24        10   ternary   2      2
    tiny_w1a1          64    32-16           10   binary    1      1
    tiny_w1a2          64    32-16           10   binary    2      2
    tiny_w2a2          64    32-16           10   ternary   2      2
    tiny_ternary_odd   64    24-20-12        10   ternary   2      2
    tiny_w4a4          64    32-16           10   int4      4      4
    tiny_w8a8          64    32              10   int8      8      8
    tiny_w4a4_relu     64    32-16           10   int4      4      4   (QuantReLU hidden acts)
    tiny_w2a2_nobn     64    32-16           10   ternary   2      2   (bn=False, no TensorNorm)

Model zoo: ``{tfc,sfc,lfc}_{w1a1,w1a2,w2a2,ternary,syq}`` -- the bnn_pynq widths (64, 256,
1024 per hidden layer, three hidden layers, 784 inputs) with binary weights and 1-/2-bit
activations, full-range 2-bit weights, threshold ternary or SYQ ternary weights (2-bit
activations).

The 784-input presets are for MNIST (28x28), the 64-input ones for sklearn's 8x8 digits.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from brevitas.core.scaling import ScalingImplType
from brevitas.nn import QuantIdentity, QuantLinear, QuantReLU
from brevitas.quant import SignedBinaryActPerTensorConst
from brevitas.quant.scaled_int import (
    Int8ActPerTensorFloat,
    Uint8ActPerTensorFloat,
)
from torch import nn

from .quantizers import CLIPPED_KINDS, WEIGHT_KINDS, weight_quant_kwargs

__all__ = [
    "PRESETS",
    "WEIGHT_TYPES",
    "QuantMLP",
    "TensorNorm",
    "make_mlp",
    "randomize_bn",
]

WEIGHT_TYPES = WEIGHT_KINDS


# --------------------------------------------------------------------------------------------
# Quantizers (weights: fpgagen.models.quantizers)
# --------------------------------------------------------------------------------------------
class SignedActConst(Int8ActPerTensorFloat):
    """Signed narrow-range int activations with a constant scale (range [min_val, max_val])."""

    scaling_impl_type = ScalingImplType.CONST
    narrow_range = True
    min_val = -1.0
    max_val = 1.0


class UnsignedActConst(Uint8ActPerTensorFloat):
    """Unsigned int activations (for QuantReLU) with a constant scale, range [0, max_val]."""

    scaling_impl_type = ScalingImplType.CONST
    max_val = 1.0


def _signed_act(bits: int) -> QuantIdentity:
    if bits == 1:
        return QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=False)
    if bits < 1:
        raise ValueError(f"activation bits must be >= 1, got {bits}")
    return QuantIdentity(act_quant=SignedActConst, bit_width=bits, return_quant_tensor=False)


def _relu_act(bits: int) -> QuantReLU:
    if bits < 1:
        raise ValueError(f"activation bits must be >= 1, got {bits}")
    return QuantReLU(act_quant=UnsignedActConst, bit_width=bits, return_quant_tensor=False)


# --------------------------------------------------------------------------------------------
# TensorNorm
# --------------------------------------------------------------------------------------------
class TensorNorm(nn.Module):
    """Scalar (whole-tensor) batch-norm-like affine: ``(x - mean) / sqrt(var + eps) * weight + bias``.

    ``weight``/``bias`` are learned scalars, ``running_mean``/``running_var`` are scalar running
    statistics updated in training mode.  In eval mode it is a per-tensor affine map; it is
    exported as Sub/Mul/Add whose second operands are constants (QONNX cleanup folds them).
    """

    def __init__(self, eps: float = 1e-4, momentum: float = 0.1):
        super().__init__()
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(1))
        self.bias = nn.Parameter(torch.zeros(1))
        self.register_buffer("running_mean", torch.zeros(1))
        self.register_buffer("running_var", torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            mean = x.mean()
            var = x.var(unbiased=False)
            with torch.no_grad():
                n = x.numel()
                unbiased = var * n / max(n - 1, 1)
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * unbiased)
            return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
        scale = self.weight / torch.sqrt(self.running_var + self.eps)
        return (x - self.running_mean) * scale + self.bias

    def extra_repr(self) -> str:
        return f"eps={self.eps}, momentum={self.momentum}"


# --------------------------------------------------------------------------------------------
# The MLP
# --------------------------------------------------------------------------------------------
class QuantMLP(nn.Module):
    """Quantized MLP; see the module docstring for the exact layer sequence.

    Args:
        in_features: number of input features (inputs of shape (N, C, H, W) are flattened).
        hidden: hidden layer widths.
        out_features: number of outputs (classes).
        weights: one of "binary", "ternary", "int2", "int4", "int8".
        abits: hidden activation bits (1 -> bipolar).
        input_preproc: apply ``2*x - 1`` to inputs (expected in [0, 1]).
        tensornorm_tail: append a :class:`TensorNorm` after the last linear layer.
        bn: BatchNorm1d after each hidden linear layer.
        in_bits: bits of the input quantizer (default: ``abits``); 1 -> bipolar.
        act: "signed" (QuantIdentity, range [-1, 1]) or "relu" (QuantReLU, range [0, 1]) for the
            hidden activations.  The input quantizer is always signed.
        dropout: dropout probability after the input quantizer and each hidden activation
            (training only; exports nothing).
    """

    def __init__(
        self,
        in_features: int,
        hidden: list[int],
        out_features: int,
        weights: str,
        abits: int,
        input_preproc: bool = True,
        tensornorm_tail: bool = True,
        bn: bool = True,
        in_bits: int | None = None,
        act: str = "signed",
        dropout: float = 0.0,
    ):
        super().__init__()
        if act not in ("signed", "relu"):
            raise ValueError(f"act must be 'signed' or 'relu', got {act!r}")
        self.in_features = int(in_features)
        self.hidden = [int(h) for h in hidden]
        self.out_features = int(out_features)
        self.weights = weights
        self.abits = int(abits)
        self.in_bits = int(in_bits if in_bits is not None else abits)
        self.input_preproc = bool(input_preproc)
        self.act = act
        wq = weight_quant_kwargs(weights)

        layers: list[nn.Module] = [_signed_act(self.in_bits)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        fan_in = self.in_features
        for h in self.hidden:
            layers.append(QuantLinear(fan_in, h, bias=False, **wq))
            if bn:
                layers.append(nn.BatchNorm1d(h))
            layers.append(_signed_act(self.abits) if act == "signed" else _relu_act(self.abits))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            fan_in = h
        layers.append(QuantLinear(fan_in, self.out_features, bias=False, **wq))
        if tensornorm_tail:
            layers.append(TensorNorm())
        self.features = nn.Sequential(*layers)

        for m in self.modules():
            if isinstance(m, QuantLinear):
                if weights in CLIPPED_KINDS:
                    nn.init.uniform_(m.weight, -1.0, 1.0)
                else:
                    bound = 1.0 / math.sqrt(m.in_features)
                    nn.init.uniform_(m.weight, -bound, bound)

    def linear_layers(self) -> list[QuantLinear]:
        return [m for m in self.features if isinstance(m, QuantLinear)]

    def clip_weights(self, min_val: float = -1.0, max_val: float = 1.0) -> None:
        """Clamp the latent float weights (useful for binary/ternary training, as in bnn_pynq)."""
        with torch.no_grad():
            for m in self.linear_layers():
                m.weight.clamp_(min_val, max_val)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2:
            x = torch.flatten(x, 1)
        if self.input_preproc:
            x = 2.0 * x - 1.0
        return self.features(x)


# --------------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------------
PRESETS: dict[str, dict] = {
    "tfc_w1a1": dict(
        in_features=784, hidden=[64, 64, 64], out_features=10, weights="binary", abits=1
    ),
    "tfc_w1a2": dict(
        in_features=784, hidden=[64, 64, 64], out_features=10, weights="binary", abits=2
    ),
    "tfc_w2a2": dict(
        in_features=784, hidden=[64, 64, 64], out_features=10, weights="int2", abits=2
    ),
    "mlp_ternary_odd": dict(
        in_features=784, hidden=[64, 40, 24], out_features=10, weights="ternary", abits=2
    ),
    "tiny_w1a1": dict(in_features=64, hidden=[32, 16], out_features=10, weights="binary", abits=1),
    "tiny_w1a2": dict(in_features=64, hidden=[32, 16], out_features=10, weights="binary", abits=2),
    "tiny_w2a2": dict(in_features=64, hidden=[32, 16], out_features=10, weights="ternary", abits=2),
    "tiny_ternary_odd": dict(
        in_features=64, hidden=[24, 20, 12], out_features=10, weights="ternary", abits=2
    ),
    "tiny_w4a4": dict(in_features=64, hidden=[32, 16], out_features=10, weights="int4", abits=4),
    "tiny_w8a8": dict(in_features=64, hidden=[32], out_features=10, weights="int8", abits=8),
    "tiny_w4a4_relu": dict(
        in_features=64, hidden=[32, 16], out_features=10, weights="int4", abits=4, act="relu"
    ),
    "tiny_w2a2_nobn": dict(
        in_features=64,
        hidden=[32, 16],
        out_features=10,
        weights="ternary",
        abits=2,
        bn=False,
        tensornorm_tail=False,
    ),
}


#: the bnn_pynq MLP family and the precision variants of the model zoo
MLP_WIDTHS = {"tfc": [64, 64, 64], "sfc": [256, 256, 256], "lfc": [1024, 1024, 1024]}
MLP_VARIANTS = {
    "w1a1": dict(weights="binary", abits=1),
    "w1a2": dict(weights="binary", abits=2),
    "w2a2": dict(weights="int2", abits=2),
    "ternary": dict(weights="ternary", abits=2),
    "syq": dict(weights="syq", abits=2),
}
for _net, _hidden in MLP_WIDTHS.items():
    for _var, _kw in MLP_VARIANTS.items():
        PRESETS.setdefault(
            f"{_net}_{_var}", dict(in_features=784, hidden=list(_hidden), out_features=10, **_kw)
        )


def make_mlp(name: str, seed: int | None = 0, **overrides) -> QuantMLP:
    """Build preset ``name`` (see the module docstring); ``overrides`` replace preset kwargs.

    ``seed`` (if not None) seeds torch before the weights are initialised.
    """
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; available: {sorted(PRESETS)}")
    kwargs = dict(PRESETS[name])
    kwargs.update(overrides)
    if seed is not None:
        torch.manual_seed(seed)
    return QuantMLP(**kwargs)


# --------------------------------------------------------------------------------------------
# Random BatchNorm statistics for untrained-model equivalence tests
# --------------------------------------------------------------------------------------------
def randomize_bn(
    model: nn.Module,
    seed: int = 0,
    x_calib: torch.Tensor | np.ndarray | None = None,
    n_calib: int = 256,
    neg_gamma_frac: float = 0.25,
) -> nn.Module:
    """Give every BatchNorm1d / TensorNorm random but sensible parameters and statistics.

    Each norm layer is calibrated in order on a batch of inputs (``x_calib``, default uniform
    random in [0, 1] of shape (n_calib, in_features)): with ``m`` and ``s`` the mean and std of
    the layer's input per channel,

    * running_mean = m + 0.5 * s * N(0, 1)   (so the thresholds are spread, not all at 0)
    * running_var  = (s * U(0.6, 1.6))^2
    * weight       = U(0.5, 1.5), negated with probability ``neg_gamma_frac``
    * bias         = 0.3 * N(0, 1)

    so the BN outputs are O(1) and land in several quantizer levels.  TensorNorm gets the same
    treatment with scalar statistics.  Weights are not modified.  Returns the model (in eval mode).
    """
    gen = torch.Generator().manual_seed(int(seed))
    in_features = getattr(model, "in_features", None)
    if x_calib is None:
        if in_features is None:
            raise ValueError("model has no in_features attribute; pass x_calib")
        x_calib = torch.rand(n_calib, in_features, generator=gen)
    x_calib = torch.as_tensor(
        np.asarray(x_calib) if not torch.is_tensor(x_calib) else x_calib, dtype=torch.float32
    )

    norms = [m for m in model.modules() if isinstance(m, (nn.BatchNorm1d, TensorNorm))]
    model.eval()
    for norm in norms:
        captured = {}

        def hook(mod, inp, _out, _c=captured):
            _c["x"] = inp[0].detach()

        handle = norm.register_forward_hook(hook)
        with torch.no_grad():
            model(x_calib)
        handle.remove()
        x = captured["x"]
        with torch.no_grad():
            if isinstance(norm, nn.BatchNorm1d):
                c = norm.num_features
                m = x.mean(0)
                s = x.std(0).clamp_min(1e-2)
            else:
                c = 1
                m = x.mean().reshape(1)
                s = x.std().clamp_min(1e-2).reshape(1)
            mean = m + 0.5 * s * torch.randn(c, generator=gen)
            std = s * (0.6 + torch.rand(c, generator=gen))
            gamma = 0.5 + torch.rand(c, generator=gen)
            sign = torch.where(torch.rand(c, generator=gen) < neg_gamma_frac, -1.0, 1.0)
            if c > 1 and neg_gamma_frac > 0 and not (sign < 0).any():
                sign[0] = -1.0  # guarantee at least one negative gamma
            beta = 0.3 * torch.randn(c, generator=gen)
            norm.running_mean.copy_(mean)
            norm.running_var.copy_(std * std)
            norm.weight.copy_(gamma * sign)
            norm.bias.copy_(beta)
    return model
