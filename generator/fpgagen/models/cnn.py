"""Quantized convolutional networks (Brevitas) for the convolution support of fpgagen.

Presets (:func:`make_cnn`, :data:`CNN_PRESETS`)::

    name         input         structure                                        weights   acts
    cnv_w1a1     (1,3,32,32)   bnn_pynq CNV: 6 conv3x3 (64-64-128-128-256-256),  binary    1 bit
                               2 maxpools, 3 FC (256-512-512-10), TensorNorm     (input 8 bit)
    cnv_w2a2     (1,3,32,32)   same, CNV_2W2A                                    ternary   2 bit
    resnet_t4    (1,3,32,32)   stem conv3x3 3->8 + 2 residual blocks (8 ch),     ternary   4 bit
                               maxpool 2x2, global average pool, FC 8->10        (GAP: 8 bit)
    dwsep_w4a4   (1,3,32,32)   stem conv3x3 3->8 + 2 depthwise-separable         int4      4 bit
                               blocks (8->16 stride 1, 16->16 stride 2),
                               global average pool (TruncAdaptiveAvgPool2d),
                               FC 16->10

All outputs are the 10 raw class scores (N, 10).

:class:`QuantCNV` re-implements the CNV topology with any weight quantizer of
:func:`fpgagen.models.quantizers.weight_quant_kwargs`, ``abits`` activation bits and a channel
``width`` multiplier; its presets are in :data:`CNV_PRESETS` (also built by :func:`make_cnn`)::

    name            weights                                       acts
    cnv_w1a2        binary (+-1, scale 1)                         2 bit {-1, 0, 1}
    cnv_ternary     threshold ternary, one fixed-point scale/layer 2 bit
    cnv_syq         SYQ ternary: learned fixed-point scales per   2 bit
                    kernel pixel (convs) / per row (FCs)
    cnv_syq_binary  SYQ binary, same groups                       2 bit
    cnv_int2        int2 {-2..1}, per-tensor float scale          2 bit
    cnv_w4a4        int4 narrow, per-tensor float scale           4 bit (signed, scale 1/7)

  Layer by layer (``width`` = 1; every conv 3x3 without padding or bias)::

    x in [0, 1] -> 2x - 1 -> QuantIdentity 8 bit, scale 1/128 (Q1.7)
    conv 3->64, BN, act; conv 64->64, BN, act, maxpool 2       32 -> 30 -> 28 -> 14
    conv 64->128, BN, act; conv 128->128, BN, act, maxpool 2   14 -> 12 -> 10 -> 5
    conv 128->256, BN, act; conv 256->256, BN, act             5 -> 3 -> 1
    FC 256->512, BN, act; FC 512->512, BN, act; FC 512->10; TensorNorm (``tensornorm``)

  with act = BipolarQuant for ``abits=1`` (``QuantCNV("binary", 1)`` is bnn_pynq's CNV_1W1A)
  and a signed narrow-range quantizer with constant scale ``1/(2^(abits-1) - 1)`` otherwise.
  ``make_cnn("cnv_ternary", width=0.125)`` is the narrow version (8-8-16-16-32-32, FC 64-64)
  the tests simulate; ``syq_group="row"`` gives the SYQ convolutions per-output-channel scales.

:class:`QuantMnistCNN` is the same construction at MNIST size (:data:`MNIST_CNN_PRESETS`,
``mnist_cnn_{w1a1,w1a2,ternary,syq,syq_row,syq_binary}``; ``fpgagen train --model
mnist_cnn`` trains it)::

    x in [0, 1], (N, 1, 28, 28) -> 2x - 1 -> QuantIdentity 8 bit, scale 1/128 (Q1.7)
    conv 1->8, BN, act; conv 8->8, BN, act, maxpool 2          28 -> 26 -> 24 -> 12
    conv 8->16, BN, act; conv 16->16, BN, act, maxpool 2       12 -> 10 -> 8 -> 4
    FC 256->64, BN, act; FC 64->10; TensorNorm

  0.66 M multiply-accumulates per image; ``width`` scales the channels and the hidden FC,
  ``mnist_cnn_syq_row`` is ``mnist_cnn_syq`` with ``syq_group="row"``.

Every preset lowers with :func:`fpgagen.transforms.lower.lower`; :func:`make_cnn` gives the
BatchNorm layers random but sensible statistics (:func:`randomize_bn2d`) so untrained networks
produce input-dependent outputs.  ``model.input_shape`` is the export input shape, e.g.
``export_qonnx_model(model, model.input_shape, path)``.

``cnv_w1a1`` / ``cnv_w2a2`` are ``brevitas_examples.bnn_pynq.models.model_with_cfg("CNV_1W1A" /
"CNV_2W2A", pretrained=False)`` unchanged (input ``2x - 1`` then an 8-bit power-of-two-scaled
input quantizer, no padding, binary/ternary weights with constant scale 1).

:class:`QuantResNet` (``resnet_t4``), exported layer by layer::

    x in [0, 1] -> QuantIdentity (signed 4-bit, constant scale 1/8)     Quant
    stem:  QuantConv2d 3x3 pad 1 (ternary) -> BN -> QuantReLU(A)         Conv, BN, Relu, Quant
    block (x2), input h (the output of a quantizer A):
        branch = QuantConv2d 3x3 pad 1 (ternary) -> BN -> QuantReLU(A)
                 -> QuantConv2d 3x3 pad 1 (ternary) -> BN -> QuantIdentity(A)
        h = QuantReLU(A)(branch + h)                                     Add, Relu, Quant
    MaxPool 2x2 -> GlobalAveragePool (nn.AdaptiveAvgPool2d(1))
    -> QuantIdentity (signed 8-bit, constant scale 1/128) -> Flatten -> QuantLinear (ternary)

  Constraints fpgagen needs for the residual ``Add`` (AddStreams in hardware):

  * both inputs of every ``Add`` must come *straight* from quantizers (no BN, Mul, Relu... in
    between), so the hardware adds two integer streams;
  * the two quantizers must have the *same* scale and zero point and the same integer type.
    Here every activation quantizer around the adds (``A``) is the same constant-scale
    quantizer: signed 4-bit, scale 1/8 (a power of two, so the float arithmetic is exact).
    The QuantReLUs use that *signed* quantizer too (codes 0..7 of an INT4 stream) so that the
    skip (output of a QuantReLU) and the branch (output of a QuantIdentity, codes -8..7) have
    one type.  fpgagen refuses an unsigned QuantReLU on the skip: with its own constant scale
    (1/15) as "different scales", with the same scale 1/8 as "Add of INT4 and UINT4"; and it
    refuses a branch that ends in BatchNorm without a quantizer ("must come straight from
    quantizers");
  * the skip is the block input itself (no 1x1 projection), so block input/output channels are
    equal;
  * padded convolutions need 0.0 to be a representable code of the input stream (zero point 0;
    true for every quantizer here).

:class:`QuantDWSepNet` (``dwsep_w4a4``)::

    x in [0, 1] -> QuantIdentity (unsigned 4-bit, constant scale 1/15)
    stem:  QuantConv2d 3x3 pad 1 (int4) -> BN -> QuantReLU (unsigned 4-bit, constant scale)
    block (x2): QuantConv2d 3x3 pad 1 groups=C (depthwise, int4 per-channel scale; stride 1 in
                block 1, 2 in block 2) -> BN -> QuantReLU
                -> QuantConv2d 1x1 (pointwise, int4) -> BN -> QuantReLU
    TruncAdaptiveAvgPool2d(1, bit_width=4) (exported as GlobalAveragePool + Trunc: the sum over
    the 16x16 positions, 12 bits, shifted right back to 4 bits) -> Flatten -> QuantLinear (int4)

  Depthwise convolutions must not use binary (BIPOLAR) weights: fpgagen expands grouped
  weights into a dense matrix with zeros, which a bipolar type cannot represent.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from brevitas.core.scaling import ScalingImplType
from brevitas.nn import QuantConv2d, QuantIdentity, QuantLinear, QuantReLU, TruncAdaptiveAvgPool2d
from brevitas.quant.scaled_int import (
    Int8ActPerTensorFloat,
    Int8WeightPerChannelFloat,
    Int8WeightPerTensorFloat,
    Uint8ActPerTensorFloat,
)
from torch import nn

__all__ = [
    "CNN_PRESETS",
    "CNV_PRESETS",
    "MNIST_CNN_PRESETS",
    "DWSepBlock",
    "QuantCNV",
    "QuantDWSepNet",
    "QuantMnistCNN",
    "QuantResNet",
    "ResidualBlock",
    "cifar_like_images",
    "make_cnn",
    "randomize_bn2d",
]


# --------------------------------------------------------------------------------------------
# Quantizers
# --------------------------------------------------------------------------------------------
class TernaryWeight(Int8WeightPerTensorFloat):
    """2-bit narrow-range weights {-1, 0, +1}, per-tensor float scale max|w|."""

    bit_width = 2
    narrow_range = True


class Int4Weight(Int8WeightPerTensorFloat):
    """4-bit narrow-range weights (-7..7), per-tensor float scale max|w| / 7."""

    bit_width = 4
    narrow_range = True


class Int4WeightPerChannel(Int8WeightPerChannelFloat):
    """4-bit narrow-range weights (-7..7), per-output-channel float scale max|w_c| / 7."""

    bit_width = 4
    narrow_range = True


class SignedAct4Pow2(Int8ActPerTensorFloat):
    """Signed 4-bit activations (-8..7), constant scale 1/8: range [-1, 0.875]."""

    scaling_impl_type = ScalingImplType.CONST
    bit_width = 4
    narrow_range = False
    min_val = -1.0
    max_val = 0.875  # brevitas: scale = max_val / (2^(b-1) - 1) = 0.875 / 7 = 1/8


class SignedAct8Pow2(SignedAct4Pow2):
    """Signed 8-bit activations (-128..127), constant scale 1/128: range [-1, 127/128]."""

    bit_width = 8
    max_val = 127.0 / 128.0


class UnsignedAct4(Uint8ActPerTensorFloat):
    """Unsigned 4-bit activations (0..15), constant scale 1/15: range [0, 1]."""

    scaling_impl_type = ScalingImplType.CONST
    bit_width = 4
    max_val = 1.0


# --------------------------------------------------------------------------------------------
# ResNet-style network
# --------------------------------------------------------------------------------------------
def _sact() -> QuantIdentity:
    return QuantIdentity(act_quant=SignedAct4Pow2, return_quant_tensor=False)


def _srelu() -> QuantReLU:
    return QuantReLU(act_quant=SignedAct4Pow2, return_quant_tensor=False)


class ResidualBlock(nn.Module):
    """conv3x3 -> BN -> QuantReLU -> conv3x3 -> BN -> QuantIdentity, + skip, QuantReLU.

    The input must be the output of a quantizer with the :class:`SignedAct4Pow2` scale.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = QuantConv2d(
            channels, channels, 3, padding=1, bias=False, weight_quant=TernaryWeight
        )
        self.bn1 = nn.BatchNorm2d(channels)
        self.act1 = _srelu()
        self.conv2 = QuantConv2d(
            channels, channels, 3, padding=1, bias=False, weight_quant=TernaryWeight
        )
        self.bn2 = nn.BatchNorm2d(channels)
        self.q_branch = _sact()
        self.act_out = _srelu()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act1(self.bn1(self.conv1(x)))
        y = self.q_branch(self.bn2(self.conv2(y)))
        return self.act_out(y + x)


class QuantResNet(nn.Module):
    """Small ResNet-style network; see the module docstring (``resnet_t4``)."""

    def __init__(
        self,
        in_ch: int = 3,
        channels: int = 8,
        blocks: int = 2,
        num_classes: int = 10,
        input_hw: int = 32,
    ):
        super().__init__()
        self.input_shape = (1, in_ch, input_hw, input_hw)
        self.inp = _sact()
        self.stem = QuantConv2d(
            in_ch, channels, 3, padding=1, bias=False, weight_quant=TernaryWeight
        )
        self.stem_bn = nn.BatchNorm2d(channels)
        self.stem_act = _srelu()
        self.blocks = nn.Sequential(*[ResidualBlock(channels) for _ in range(blocks)])
        self.pool = nn.MaxPool2d(2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.gap_q = QuantIdentity(act_quant=SignedAct8Pow2, return_quant_tensor=False)
        self.fc = QuantLinear(channels, num_classes, bias=False, weight_quant=TernaryWeight)
        for m in self.modules():
            if isinstance(m, (QuantConv2d, QuantLinear)):
                nn.init.uniform_(m.weight, -1.0, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inp(x)
        x = self.stem_act(self.stem_bn(self.stem(x)))
        x = self.blocks(x)
        x = self.gap_q(self.gap(self.pool(x)))
        return self.fc(torch.flatten(x, 1))


# --------------------------------------------------------------------------------------------
# Depthwise-separable network
# --------------------------------------------------------------------------------------------
def _urelu(return_quant_tensor: bool = False) -> QuantReLU:
    return QuantReLU(act_quant=UnsignedAct4, return_quant_tensor=return_quant_tensor)


class DWSepBlock(nn.Module):
    """Depthwise conv3x3 (groups=C) -> BN -> QuantReLU -> pointwise conv1x1 -> BN -> QuantReLU."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, return_quant_tensor: bool = False):
        super().__init__()
        self.dw = QuantConv2d(
            in_ch,
            in_ch,
            3,
            stride=stride,
            padding=1,
            groups=in_ch,
            bias=False,
            weight_quant=Int4WeightPerChannel,
        )
        self.bn1 = nn.BatchNorm2d(in_ch)
        self.act1 = _urelu()
        self.pw = QuantConv2d(in_ch, out_ch, 1, bias=False, weight_quant=Int4Weight)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.act2 = _urelu(return_quant_tensor)

    def forward(self, x):
        x = self.act1(self.bn1(self.dw(x)))
        return self.act2(self.bn2(self.pw(x)))


class QuantDWSepNet(nn.Module):
    """MobileNet-style network; see the module docstring (``dwsep_w4a4``)."""

    def __init__(
        self,
        in_ch: int = 3,
        stem_ch: int = 8,
        channels: tuple = (16, 16),
        strides: tuple = (1, 2),
        num_classes: int = 10,
        input_hw: int = 32,
    ):
        super().__init__()
        self.input_shape = (1, in_ch, input_hw, input_hw)
        self.inp = QuantIdentity(act_quant=UnsignedAct4, return_quant_tensor=False)
        self.stem = QuantConv2d(in_ch, stem_ch, 3, padding=1, bias=False, weight_quant=Int4Weight)
        self.stem_bn = nn.BatchNorm2d(stem_ch)
        self.stem_act = _urelu()
        blocks, c = [], stem_ch
        for i, (oc, s) in enumerate(zip(channels, strides)):
            blocks.append(DWSepBlock(c, oc, s, return_quant_tensor=i == len(channels) - 1))
            c = oc
        self.blocks = nn.Sequential(*blocks)
        # GlobalAveragePool + Trunc: the sum over H*W keeps the input scale, shifted right
        # back to 4 bits
        self.gap = TruncAdaptiveAvgPool2d(1, bit_width=4, return_quant_tensor=False)
        self.fc = QuantLinear(c, num_classes, bias=False, weight_quant=Int4Weight)

    def forward(self, x):
        x = self.inp(x)
        x = self.stem_act(self.stem_bn(self.stem(x)))
        x = self.blocks(x)
        x = self.gap(x)
        return self.fc(torch.flatten(x, 1))


# --------------------------------------------------------------------------------------------
# QuantCNV: the bnn_pynq CNV topology with any weight quantizer
# --------------------------------------------------------------------------------------------
#: (output channels, maxpool after the activation) of the six 3x3 convolutions
CNV_CONVS = ((64, False), (64, True), (128, False), (128, True), (256, False), (256, False))
#: hidden widths of the fully-connected layers
CNV_FCS = (512, 512)


def _scaled(c: int, width: float) -> int:
    return max(1, int(round(c * width)))


def _min_input_hw(convs) -> int:
    """The smallest input size that leaves a 1x1 map after ``convs`` (unpadded 3x3 + pools)."""
    hw = 1
    for _, pool in reversed(tuple(convs)):
        hw = (2 * hw if pool else hw) + 2
    return hw


class QuantCNV(nn.Module):
    """The bnn_pynq CNV topology (see the module docstring) with a choice of quantizers.

    Args:
        weights: weight quantizer kind of every conv/FC layer
            (:func:`fpgagen.models.quantizers.weight_quant_kwargs`).
        abits: activation bits: 1 = bipolar (+-1, ``BipolarQuant``), >= 2 = signed
            narrow-range int with constant scale ``1/(2^(b-1) - 1)`` (2 bits: {-1, 0, +1}).
        width: channel multiplier of every conv/FC layer (``0.125`` = channels / 8); the
            output stays ``num_classes``.
        syq_group: SYQ group of the convolutions (``"auto"`` = per kernel pixel); the
            fully-connected layers always use ``"auto"`` (= per output row).
        tensornorm: scalar :class:`fpgagen.models.mlp.TensorNorm` after the last layer
            (else the raw scores of the last ``QuantLinear``).
        in_bits: input quantizer bits (8 = Q1.7 as in bnn_pynq: power-of-two scale
            ``2^-(b-1)``, range ``[-1, 1 - 2^-(b-1)]``) after ``2x - 1``.
        input_hw: input height = width (32 for CIFAR-10; the six unpadded convolutions and
            two pools must leave at least 1x1).
        convs: ``(output channels, maxpool 2 after the activation)`` of each unpadded 3x3
            convolution (default: CNV's six, :data:`CNV_CONVS`).
        fcs: widths of the hidden fully-connected layers (default :data:`CNV_FCS`).
    """

    def __init__(
        self,
        weights: str = "binary",
        abits: int = 1,
        width: float = 1.0,
        num_classes: int = 10,
        in_ch: int = 3,
        input_hw: int = 32,
        syq_group: str = "auto",
        tensornorm: bool = True,
        in_bits: int = 8,
        convs=CNV_CONVS,
        fcs=CNV_FCS,
    ):
        super().__init__()
        from .mlp import TensorNorm, _signed_act
        from .quantizers import weight_quant_kwargs

        self.weights = weights
        self.abits = int(abits)
        self.width = float(width)
        self.input_shape = (1, int(in_ch), int(input_hw), int(input_hw))
        conv_wq = weight_quant_kwargs(weights, group=syq_group)
        fc_wq = weight_quant_kwargs(weights)
        in_quant = SignedAct8Pow2.let(
            bit_width=int(in_bits), max_val=1.0 - 2.0 ** -(int(in_bits) - 1)
        )
        self.conv_features = nn.ModuleList(
            [QuantIdentity(act_quant=in_quant, return_quant_tensor=False)]
        )
        c, hw = int(in_ch), int(input_hw)
        self.convs = tuple((int(oc), bool(pool)) for oc, pool in convs)
        self.fcs = tuple(int(h) for h in fcs)
        for out_ch, pool in self.convs:
            oc = _scaled(out_ch, width)
            self.conv_features.append(QuantConv2d(c, oc, 3, bias=False, **conv_wq))
            self.conv_features.append(nn.BatchNorm2d(oc, eps=1e-4))
            self.conv_features.append(_signed_act(self.abits))
            hw -= 2
            if pool:
                self.conv_features.append(nn.MaxPool2d(2))
                hw //= 2
            c = oc
        if hw < 1:
            raise ValueError(
                f"input_hw={input_hw} is too small for {type(self).__name__} "
                f"(needs >= {_min_input_hw(self.convs)})"
            )
        self.linear_features = nn.ModuleList()
        fan_in = c * hw * hw
        for h in self.fcs:
            h = _scaled(h, width)
            self.linear_features.append(QuantLinear(fan_in, h, bias=False, **fc_wq))
            self.linear_features.append(nn.BatchNorm1d(h, eps=1e-4))
            self.linear_features.append(_signed_act(self.abits))
            fan_in = h
        self.linear_features.append(QuantLinear(fan_in, int(num_classes), bias=False, **fc_wq))
        if tensornorm:
            self.linear_features.append(TensorNorm())
        for m in self.modules():
            if isinstance(m, (QuantConv2d, QuantLinear)):
                nn.init.uniform_(m.weight, -1.0, 1.0)

    def quant_layers(self) -> list[nn.Module]:
        return [m for m in self.modules() if isinstance(m, (QuantConv2d, QuantLinear))]

    def clip_weights(self, min_val: float = -1.0, max_val: float = 1.0) -> None:
        """Clamp the latent float weights (binary/ternary training, as bnn_pynq)."""
        with torch.no_grad():
            for m in self.quant_layers():
                m.weight.clamp_(min_val, max_val)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or tuple(x.shape[1:]) != tuple(self.input_shape[1:]):
            raise ValueError(
                f"{type(self).__name__} takes images (N, "
                f"{', '.join(map(str, self.input_shape[1:]))}), got "
                f"{tuple(x.shape)}; reshape flattened rows with "
                f"x.reshape(-1, {', '.join(map(str, self.input_shape[1:]))})"
            )
        x = 2.0 * x - 1.0
        for m in self.conv_features:
            x = m(x)
        x = torch.flatten(x, 1)
        for m in self.linear_features:
            x = m(x)
        return x


# --------------------------------------------------------------------------------------------
# QuantMnistCNN: a small CNV-style network for 28x28 grey images
# --------------------------------------------------------------------------------------------
#: (output channels, maxpool after the activation) of the MNIST CNN's four 3x3 convolutions
MNIST_CNN_CONVS = ((8, False), (8, True), (16, False), (16, True))
#: hidden widths of the MNIST CNN's fully-connected layers
MNIST_CNN_FCS = (64,)


class QuantMnistCNN(QuantCNV):
    """:class:`QuantCNV`'s layers at MNIST size: 28x28x1 input, four unpadded 3x3 convolutions
    (8, 8, maxpool, 16, 16, maxpool: 28 -> 26 -> 24 -> 12 -> 10 -> 8 -> 4), one hidden FC of
    64, the last FC and TensorNorm.  Arguments as :class:`QuantCNV`; inputs are images
    ``(N, 1, 28, 28)`` in [0, 1] (reshape flattened MNIST rows first).
    """

    def __init__(
        self,
        weights: str = "syq",
        abits: int = 2,
        width: float = 1.0,
        num_classes: int = 10,
        in_ch: int = 1,
        input_hw: int = 28,
        syq_group: str = "auto",
        tensornorm: bool = True,
        in_bits: int = 8,
        convs=MNIST_CNN_CONVS,
        fcs=MNIST_CNN_FCS,
    ):
        super().__init__(
            weights=weights,
            abits=abits,
            width=width,
            num_classes=num_classes,
            in_ch=in_ch,
            input_hw=input_hw,
            syq_group=syq_group,
            tensornorm=tensornorm,
            in_bits=in_bits,
            convs=convs,
            fcs=fcs,
        )


# --------------------------------------------------------------------------------------------
# Synthetic images and random BatchNorm statistics
# --------------------------------------------------------------------------------------------
def cifar_like_images(n: int, seed: int = 0, size=32, channels: int = 3) -> np.ndarray:
    """``n`` synthetic CIFAR-like images, float32 (n, channels, H, W) in [0, 1].

    ``size`` is ``H = W`` or a pair ``(H, W)``.

    Each image is a random background colour with a linear gradient, one to three ellipses of
    random colours and mild Gaussian noise -- structured enough that different images give
    different activations (unlike uniform noise, whose statistics are all alike).
    Deterministic for a given ``seed``.
    """
    rng = np.random.default_rng(seed)
    h, w = (int(size), int(size)) if np.ndim(size) == 0 else (int(size[0]), int(size[1]))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    yy, xx = yy / max(h - 1, 1), xx / max(w - 1, 1)
    out = np.empty((n, channels, h, w), dtype=np.float32)
    for i in range(n):
        grad = rng.normal(0.0, 0.4, (channels, 2, 1, 1))
        img = rng.random((channels, 1, 1)) + grad[:, 0] * (xx - 0.5) + grad[:, 1] * (yy - 0.5)
        for _ in range(int(rng.integers(1, 4))):
            cy, cx = rng.random(2)
            ry, rx = 0.1 + 0.3 * rng.random(2)
            mask = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
            img[:, mask] = rng.random((channels, 1))
        img = img + rng.normal(0.0, 0.05, img.shape)
        out[i] = np.clip(img, 0.0, 1.0)
    return out


def _is_tensornorm(m: nn.Module) -> bool:
    return (
        type(m).__name__ == "TensorNorm"
        and hasattr(m, "running_mean")
        and m.running_mean.numel() == 1
    )


def randomize_bn2d(
    model: nn.Module,
    seed: int = 0,
    x_calib=None,
    n_calib: int = 16,
    neg_gamma_frac: float = 0.25,
    input_shape=None,
) -> nn.Module:
    """Like :func:`fpgagen.models.mlp.randomize_bn`, for BatchNorm1d/2d and TensorNorm layers.

    Every norm layer is calibrated in forward order (in one forward pass, each layer just
    before it runs) on ``x_calib`` (default: ``n_calib``
    :func:`cifar_like_images` (seed ``1000 + seed``) of ``input_shape``, default
    ``model.input_shape``; uniform noise for non-image shapes): with ``m`` and
    ``s`` the per-channel mean and std of the layer's input (over batch and spatial positions),
    running_mean = m + 0.5 s N(0,1), running_var = (s U(0.6, 1.6))^2, weight = U(0.5, 1.5)
    negated with probability ``neg_gamma_frac`` (at least one negative gamma per layer with
    more than one channel), bias = 0.3 N(0,1).  Both bnn_pynq's and fpgagen's TensorNorm get
    the same treatment with scalar statistics.  Returns the model in eval mode.
    """
    from .mlp import TensorNorm

    gen = torch.Generator().manual_seed(int(seed))
    if x_calib is None:
        shape = tuple(input_shape or model.input_shape)
        if len(shape) == 4:
            x_calib = cifar_like_images(n_calib, 1000 + int(seed), shape[2:], shape[1])
        else:
            x_calib = torch.rand((n_calib,) + shape[1:], generator=gen)
    x_calib = torch.as_tensor(
        np.asarray(x_calib) if not torch.is_tensor(x_calib) else x_calib, dtype=torch.float32
    )
    norms = [
        m
        for m in model.modules()
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, TensorNorm)) or _is_tensornorm(m)
    ]

    def calibrate(norm, inp):
        # runs right before ``norm`` in the forward pass, so later layers see its new output
        x = inp[0]
        x = (x.value if hasattr(x, "value") else x).detach()
        if isinstance(norm, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = norm.num_features
            xc = x.transpose(0, 1).reshape(c, -1)
            m = xc.mean(1)
            s = xc.std(1).clamp_min(1e-2)
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
        norm.weight.data.copy_(gamma * sign)
        norm.bias.data.copy_(beta)

    model.eval()
    handles = [n.register_forward_pre_hook(calibrate) for n in norms]
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model(x_calib)
    finally:
        for h in handles:
            h.remove()
    return model


# --------------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------------
CNN_PRESETS: dict[str, dict] = {
    "cnv_w1a1": dict(kind="bnn_pynq", cfg="CNV_1W1A", input_shape=(1, 3, 32, 32)),
    "cnv_w2a2": dict(kind="bnn_pynq", cfg="CNV_2W2A", input_shape=(1, 3, 32, 32)),
    "resnet_t4": dict(kind="resnet", input_shape=(1, 3, 32, 32), channels=8, blocks=2),
    "dwsep_w4a4": dict(
        kind="dwsep", input_shape=(1, 3, 32, 32), stem_ch=8, channels=(16, 16), strides=(1, 2)
    ),
}


#: the bnn_pynq CNV topology re-implemented (:class:`QuantCNV`) with other quantizers; built
#: by :func:`make_cnn` like the presets above (kept apart so that tests iterating over
#: :data:`CNN_PRESETS` stay as they are)
CNV_PRESETS: dict[str, dict] = {
    "cnv_w1a2": dict(kind="cnv", weights="binary", abits=2),
    "cnv_ternary": dict(kind="cnv", weights="ternary", abits=2),
    "cnv_syq": dict(kind="cnv", weights="syq", abits=2),
    "cnv_syq_binary": dict(kind="cnv", weights="syq_binary", abits=2),
    "cnv_int2": dict(kind="cnv", weights="int2", abits=2),
    "cnv_w4a4": dict(kind="cnv", weights="int4", abits=4),
}

#: :class:`QuantMnistCNN` presets (28x28x1 input), built by :func:`make_cnn`
MNIST_CNN_PRESETS: dict[str, dict] = {
    f"mnist_cnn_{name}": dict(kind="mnist_cnn", input_shape=(1, 1, 28, 28), **kw)
    for name, kw in (
        ("w1a1", dict(weights="binary", abits=1)),
        ("w1a2", dict(weights="binary", abits=2)),
        ("ternary", dict(weights="ternary", abits=2)),
        ("syq", dict(weights="syq", abits=2)),
        ("syq_row", dict(weights="syq", abits=2, syq_group="row")),
        ("syq_binary", dict(weights="syq_binary", abits=2)),
    )
}


def make_cnn(name: str, seed: int | None = 0, random_bn: bool = True, **overrides) -> nn.Module:
    """Build preset ``name`` of :data:`CNN_PRESETS`, :data:`CNV_PRESETS` or
    :data:`MNIST_CNN_PRESETS` in eval mode.

    ``seed`` (if not None) seeds torch before the weights are initialised and seeds
    :func:`randomize_bn2d` (applied when ``random_bn``).  ``overrides`` replace constructor
    arguments of the :class:`QuantCNV`, :class:`QuantMnistCNN`, :class:`QuantResNet` and
    :class:`QuantDWSepNet` presets (e.g. ``make_cnn("cnv_ternary", width=0.125)`` for a narrow CNV,
    ``syq_group="row"``, ``input_hw=...``); the bnn_pynq presets take none.  The model has an
    ``input_shape`` attribute (with batch dimension 1) for
    :func:`fpgagen.models.export.export_qonnx_model`.
    """
    presets = {**CNN_PRESETS, **CNV_PRESETS, **MNIST_CNN_PRESETS}
    if name not in presets:
        raise KeyError(f"unknown CNN preset {name!r}; available: {sorted(presets)}")
    p = dict(presets[name])
    kind = p.pop("kind")
    shape = tuple(p.pop("input_shape", (1, 3, 32, 32)))
    if "input_hw" in overrides:
        shape = shape[:2] + (int(overrides["input_hw"]),) * 2
    if "in_ch" in overrides:
        shape = (1, int(overrides["in_ch"])) + shape[2:]
    if overrides and kind == "bnn_pynq":
        raise ValueError(
            f"preset {name!r} is brevitas_examples' {p['cfg']} and takes no "
            f"overrides (got {sorted(overrides)})"
        )
    p.update(overrides)
    p.setdefault("in_ch", shape[1])
    p.setdefault("input_hw", shape[2])
    if seed is not None:
        torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "bnn_pynq":
            from brevitas_examples.bnn_pynq.models import model_with_cfg

            model, _ = model_with_cfg(p["cfg"], pretrained=False)
        elif kind == "cnv":
            model = QuantCNV(**p)
        elif kind == "mnist_cnn":
            model = QuantMnistCNN(**p)
        elif kind == "resnet":
            model = QuantResNet(**p)
        else:
            model = QuantDWSepNet(**p)
    model.input_shape = shape
    model.preset = name
    if random_bn:  # untrained: random per-group SYQ scales and BatchNorm statistics
        from .quantizers import randomize_syq_scales

        randomize_syq_scales(model, 0 if seed is None else seed)
        randomize_bn2d(model, 0 if seed is None else seed)
    return model.eval()
