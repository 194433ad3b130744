"""Tinier-YOLO-style quantized object detector (Brevitas), its YOLOv2 loss and a training helper.

The topology follows Xilinx's Tinier-YOLO (the W1A3 network of the QNN-MO-PYNQ demo, itself
derived from Tincy YOLO / Tiny-YOLOv2 for Pascal VOC): the first layer's max pool is replaced
by a stride-2 convolution, leaky ReLUs by ReLUs, and the last three 3x3 layers have 512
instead of 1024 channels.  At the 416x416 input (``channels`` as listed, ``width=1``)::

    layer  op                                  output        weights     activations
    in     x in [0, 1] -> QuantIdentity        416x416x3     -           UINT8 (scale 1/255)
    0      conv 3x3 /2 pad 1, BN, QuantReLU    208x208x16    int8 (CPU)  UINT3
    1      conv 3x3 pad 1, BN, QuantReLU,      104x104x64    binary      UINT3
           maxpool 2/2
    2      conv 3x3, BN, QuantReLU, maxpool    52x52x64      binary      UINT3
    3      conv 3x3, BN, QuantReLU, maxpool    26x26x128     binary      UINT3
    4      conv 3x3, BN, QuantReLU, maxpool    13x13x256     binary      UINT3
    5      conv 3x3, BN, QuantReLU,            13x13x512     binary      UINT3
           maxpool 2/1 (pad right/bottom)
    6      conv 3x3, BN, QuantReLU             13x13x512     binary      UINT3
    7      conv 3x3, BN, QuantReLU             13x13x512     binary      UINT3
    8      conv 1x1 + bias (linear)            13x13x125     int8 (CPU)  float
    out    YOLOv2 region layout: channel a*(5+C) + k, k = tx, ty, tw, th, objectness,
           C class scores; decoded by :func:`fpgagen.yolo.detect`

* ``weights`` / ``abits`` choose the quantizers of layers 1-7 (any kind of
  :func:`fpgagen.models.quantizers.weight_quant_kwargs`; ``abits`` bits of an unsigned
  QuantReLU with constant scale ``act_max / (2^abits - 1)``).  ``abits = 1`` is the bipolar
  sign instead (Brevitas exports every 1-bit quantizer as BipolarQuant, so a 1-bit QuantReLU
  would not export faithfully); fpgagen then refuses the zero-padded convolutions, because
  0.0 is not a bipolar value -- W1A1 is a torch/QONNX model only.  The first and last layers
  keep ``first_weights`` / ``last_weights`` (int8) -- in the video pipeline they run on the
  CPU (:meth:`TinierYOLO.split`), the FPGA runs layers 1-7.
* The grid is ``input_hw / 32`` (13 at 416); ``input_hw`` must be a multiple of 32, so tests
  can use 64x64 (2x2 grid).  ``width`` multiplies every hidden channel count (tests use
  0.125).
* The stride-1 max pool is darknet's: windows ``(i, i+1)`` with the row/column past the edge
  ignored.  It is exported as one ONNX ``MaxPool`` with ``pads = [0, 0, 1, 1]`` (torch cannot
  express asymmetric pooling pads; :class:`DarknetMaxPool` emits it directly); on UINT codes
  this lowers to FMPadding (smallest code) -> SlidingWindow -> Pool.

Presets (:func:`make_detector`, :data:`DETECTOR_PRESETS`)::

    tinier_yolo (= tinier_yolo_w1a3)  binary   3-bit   the Tinier-YOLO configuration
    tinier_yolo_w1a1                  binary   bipolar (does not lower: zero padding)
    tinier_yolo_w1a2                  binary   2-bit
    tinier_yolo_w2a2                  int2     2-bit
    tinier_yolo_ternary               ternary  3-bit
    tinier_yolo_syq                   syq      3-bit   per-kernel-pixel scales (grouped MVAU)

Training: :func:`region_loss` is the YOLOv2 region loss (targets from
:func:`fpgagen.yolo.region_targets`) and :func:`train_detector` a small deterministic loop
for smoke tests on :func:`fpgagen.models.datasets.synthetic_shapes_detection`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from brevitas.nn import QuantConv2d, QuantIdentity, QuantReLU
from brevitas.quant import SignedBinaryActPerTensorConst
from torch import nn

from ..yolo import VOC_ANCHORS, region_targets
from .mlp import UnsignedActConst
from .quantizers import (
    CLIPPED_KINDS,
    optimizer_param_groups,
    randomize_syq_scales,
    weight_quant_kwargs,
)

__all__ = [
    "DETECTOR_PRESETS",
    "TINIER_YOLO_LAYERS",
    "DarknetMaxPool",
    "TinierYOLO",
    "make_detector",
    "region_loss",
    "train_detector",
]

#: (output channels, max pool after the activation: None, 2 = 2x2/2, 1 = darknet's 2x2/1) of
#: the 3x3 convolutions; the first one has stride 2 (it replaces Tiny-YOLO's first max pool)
TINIER_YOLO_LAYERS = (
    (16, None),
    (64, 2),
    (64, 2),
    (128, 2),
    (256, 2),
    (512, 1),
    (512, None),
    (512, None),
)


# --------------------------------------------------------------------------------------------
# darknet's stride-1 max pool
# --------------------------------------------------------------------------------------------
class _PadMaxPool(torch.autograd.Function):
    """2x2/1 max pool padded by one row/column at the bottom/right (ONNX export only)."""

    @staticmethod
    def forward(ctx, x):
        return F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=float("-inf")), 2, 1)

    @staticmethod
    def symbolic(g, x):
        return g.op("MaxPool", x, kernel_shape_i=[2, 2], strides_i=[1, 1], pads_i=[0, 0, 1, 1])


class DarknetMaxPool(nn.Module):
    """Darknet ``[maxpool] size=2 stride=1``: ``y[i, j] = max x[i:i+2, j:j+2]`` (same size).

    Positions past the bottom/right edge are ignored (padding with -inf).  Exported as a single
    ONNX ``MaxPool(kernel 2x2, strides 1, pads [0, 0, 1, 1])``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():
            return _PadMaxPool.apply(x)
        return F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=float("-inf")), 2, 1)


# --------------------------------------------------------------------------------------------
# the network
# --------------------------------------------------------------------------------------------
def _relu_act(bits: int, act_max: float) -> nn.Module:
    """Hidden activation: unsigned QuantReLU, or the bipolar sign for 1 bit (see below)."""
    if bits < 1:
        raise ValueError(f"activation bits must be >= 1, got {bits}")
    if bits == 1:
        # Brevitas exports every 1-bit quantizer as BipolarQuant (+-1), also an unsigned
        # QuantReLU, so 1-bit activations are the bipolar sign as in the bnn_pynq W1A1 nets
        return QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=False)
    return QuantReLU(
        act_quant=UnsignedActConst,
        bit_width=int(bits),
        max_val=float(act_max),
        return_quant_tensor=False,
    )


def _in_act(bits: int, act_max: float) -> QuantIdentity:
    """A quantizer equal to :func:`_relu_act` on its outputs (for the split parts' inputs)."""
    if bits == 1:
        return QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=False)
    return QuantIdentity(
        act_quant=UnsignedActConst,
        bit_width=int(bits),
        max_val=float(act_max),
        return_quant_tensor=False,
    )


class _Sequential(nn.Sequential):
    """``nn.Sequential`` with the attributes :func:`export_qonnx_model` users expect."""

    def __init__(self, *mods, input_shape=None):
        super().__init__(*mods)
        self.input_shape = input_shape


class TinierYOLO(nn.Module):
    """Tinier-YOLO-style detector; see the module docstring for the layer list.

    Args:
        weights: weight quantizer kind of the hidden layers 1-7.
        abits: bits of the hidden (unsigned, QuantReLU) activations, also the output of layer 0.
        input_hw: input height = width, a multiple of 32 (416 -> 13x13 grid).
        num_classes: classes (20 for Pascal VOC).
        anchors: ``(A, 2)`` anchor widths/heights in grid cells (default the tiny-yolo-voc
            anchors, :data:`fpgagen.yolo.VOC_ANCHORS`); the output has ``A * (5 + C)`` channels.
        width: multiplier of every hidden channel count.
        first_weights / last_weights: weight kinds of the first 3x3 and the last 1x1
            convolution (CPU layers).
        in_bits: bits of the unsigned input quantizer (scale ``1 / (2^in_bits - 1)``).
        act_max: largest activation value (constant scale ``act_max / (2^abits - 1)``).
        syq_group: SYQ group of the hidden 3x3 convolutions ("auto" = per kernel pixel).
        channels: output channels and pools of the 3x3 layers (:data:`TINIER_YOLO_LAYERS`).
    """

    def __init__(
        self,
        weights: str = "binary",
        abits: int = 3,
        input_hw: int = 416,
        num_classes: int = 20,
        anchors=VOC_ANCHORS,
        width: float = 1.0,
        first_weights: str = "int8",
        last_weights: str = "int8",
        in_bits: int = 8,
        act_max: float = 1.0,
        syq_group: str = "auto",
        channels=TINIER_YOLO_LAYERS,
        in_ch: int = 3,
    ):
        super().__init__()
        input_hw = int(input_hw)
        if input_hw % 32 or input_hw < 32:
            raise ValueError(f"input_hw must be a positive multiple of 32, got {input_hw}")
        self.weights = weights
        self.abits = int(abits)
        self.num_classes = int(num_classes)
        self.anchors = np.asarray(anchors, dtype=np.float64).reshape(-1, 2)
        self.num_anchors = len(self.anchors)
        self.input_shape = (1, int(in_ch), input_hw, input_hw)
        self.grid = input_hw // 32
        self.act_max = float(act_max)

        self.inp = QuantIdentity(
            act_quant=UnsignedActConst,
            bit_width=int(in_bits),
            max_val=1.0,
            return_quant_tensor=False,
        )
        blocks = []
        c = int(in_ch)
        for i, (oc, pool) in enumerate(channels):
            oc = max(1, int(round(oc * width)))
            if i == 0:
                wq = weight_quant_kwargs(first_weights)
            else:
                wq = weight_quant_kwargs(weights, group=syq_group)
            mods = [
                QuantConv2d(c, oc, 3, stride=2 if i == 0 else 1, padding=1, bias=False, **wq),
                nn.BatchNorm2d(oc),
                _relu_act(self.abits, self.act_max),
            ]
            if pool == 2:
                mods.append(nn.MaxPool2d(2))
            elif pool == 1:
                mods.append(DarknetMaxPool())
            elif pool is not None:
                raise ValueError(f"layer {i}: pool must be None, 1 or 2, got {pool!r}")
            blocks.append(nn.Sequential(*mods))
            c = oc
        self.first = blocks[0]
        self.body = nn.Sequential(*blocks[1:])
        self.head = QuantConv2d(
            c,
            self.num_anchors * (5 + self.num_classes),
            1,
            bias=True,
            **weight_quant_kwargs(last_weights),
        )
        self._kinds = {id(self.first[0]): first_weights, id(self.head): last_weights}
        for m in self.modules():
            if isinstance(m, QuantConv2d):
                kind = self._kinds.get(id(m), weights)
                if kind in CLIPPED_KINDS:
                    nn.init.uniform_(m.weight, -1.0, 1.0)
                else:
                    fan_in = m.weight[0].numel()
                    bound = 1.0 / math.sqrt(fan_in)
                    nn.init.uniform_(m.weight, -bound, bound)
        with torch.no_grad():
            self.head.bias.zero_()

    # -- helpers -----------------------------------------------------------------------------
    @property
    def out_channels(self) -> int:
        return self.num_anchors * (5 + self.num_classes)

    def quant_convs(self) -> list[QuantConv2d]:
        return [m for m in self.modules() if isinstance(m, QuantConv2d)]

    def clip_weights(self, min_val: float = -1.0, max_val: float = 1.0) -> None:
        """Clamp the latent weights of the layers whose kind binarises/ternarises them."""
        with torch.no_grad():
            for m in self.quant_convs():
                if self._kinds.get(id(m), self.weights) in CLIPPED_KINDS:
                    m.weight.clamp_(min_val, max_val)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.first(self.inp(x))))

    def split(self) -> dict:
        """The CPU/FPGA partition of the video pipeline, sharing this model's parameters.

        Returns ``dict(cpu_head=..., fpga=..., cpu_tail=...)`` (each an ``nn.Sequential`` with
        an ``input_shape``): ``cpu_head`` = input quantizer + layer 0 (output: the UINT
        activations of layer 0), ``fpga`` = a quantizer identical to layer 0's activation
        quantizer (a no-op on ``cpu_head``'s output, it only tells the exporter the input
        codes) + layers 1-7, ``cpu_tail`` = the same quantizer + the 1x1 head convolution.
        ``cpu_tail(fpga(cpu_head(x))) == model(x)``; export ``fpga`` for the accelerator.
        The parts start in this model's train/eval mode; switching one switches the shared
        layers of all.
        """
        h, w = self.input_shape[2:]
        c0 = self.first[0].out_channels
        c7 = self.head.in_channels
        g = self.grid
        parts = dict(
            cpu_head=_Sequential(self.inp, self.first, input_shape=self.input_shape),
            fpga=_Sequential(
                _in_act(self.abits, self.act_max), self.body, input_shape=(1, c0, h // 2, w // 2)
            ),
            cpu_tail=_Sequential(
                _in_act(self.abits, self.act_max), self.head, input_shape=(1, c7, g, g)
            ),
        )
        for p in parts.values():  # the parts share modules: keep one train/eval mode
            p.train(self.training)
        return parts


# --------------------------------------------------------------------------------------------
# presets
# --------------------------------------------------------------------------------------------
DETECTOR_PRESETS: dict[str, dict] = {
    "tinier_yolo": dict(weights="binary", abits=3),
    "tinier_yolo_w1a3": dict(weights="binary", abits=3),
    "tinier_yolo_w1a1": dict(weights="binary", abits=1),
    "tinier_yolo_w1a2": dict(weights="binary", abits=2),
    "tinier_yolo_w2a2": dict(weights="int2", abits=2),
    "tinier_yolo_ternary": dict(weights="ternary", abits=3),
    "tinier_yolo_syq": dict(weights="syq", abits=3),
}


def make_detector(
    name: str = "tinier_yolo",
    seed: int | None = 0,
    random_bn: bool = True,
    n_calib: int = 8,
    **overrides,
) -> TinierYOLO:
    """Build detector preset ``name`` (eval mode); ``overrides`` replace constructor arguments.

    E.g. ``make_detector("tinier_yolo", input_hw=64, width=0.125)`` for a small test model.
    ``seed`` seeds torch before initialisation; with ``random_bn`` the BatchNorm layers get
    random but sensible statistics from :func:`fpgagen.models.cnn.randomize_bn2d` calibrated
    on ``n_calib`` synthetic images (so an untrained model gives input-dependent outputs), and
    learned SYQ scales random per-group values (:func:`~fpgagen.models.quantizers.randomize_syq_scales`).
    """
    if name not in DETECTOR_PRESETS:
        raise KeyError(f"unknown detector preset {name!r}; available: {sorted(DETECTOR_PRESETS)}")
    kwargs = dict(DETECTOR_PRESETS[name])
    kwargs.update(overrides)
    if seed is not None:
        torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = TinierYOLO(**kwargs)
    model.preset = name
    if random_bn:
        from .cnn import randomize_bn2d

        randomize_syq_scales(model, 0 if seed is None else seed)
        randomize_bn2d(model, 0 if seed is None else seed, n_calib=n_calib)
    return model.eval()


# --------------------------------------------------------------------------------------------
# YOLOv2 region loss
# --------------------------------------------------------------------------------------------
def _iou_cxcywh(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Elementwise IoU of broadcastable boxes ``a (..., 4)``, ``b (..., 4)`` in (cx, cy, w, h)."""
    iw = (
        torch.minimum(a[..., 0] + a[..., 2] / 2, b[..., 0] + b[..., 2] / 2)
        - torch.maximum(a[..., 0] - a[..., 2] / 2, b[..., 0] - b[..., 2] / 2)
    ).clamp_min(0)
    ih = (
        torch.minimum(a[..., 1] + a[..., 3] / 2, b[..., 1] + b[..., 3] / 2)
        - torch.maximum(a[..., 1] - a[..., 3] / 2, b[..., 1] - b[..., 3] / 2)
    ).clamp_min(0)
    inter = iw * ih
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter
    return inter / union.clamp_min(1e-12)


def region_loss(
    output: torch.Tensor,
    targets: dict,
    anchors=VOC_ANCHORS,
    num_classes: int = 20,
    object_scale: float = 5.0,
    noobject_scale: float = 1.0,
    coord_scale: float = 1.0,
    class_scale: float = 1.0,
    ignore_thresh: float = 0.6,
    rescore: bool = True,
) -> torch.Tensor:
    """YOLOv2 region loss (darknet ``[region]``, tiny-yolo-voc settings), averaged over the batch.

    ``output``: ``(N, A*(5+C), H, W)`` raw network output; ``targets``: the dict of
    :func:`fpgagen.yolo.region_targets` for the same grid.  With ``sx = sigmoid(tx)`` etc.,
    each ground-truth box is the responsibility of one prediction (its centre cell, the anchor
    of the best shape IoU) and contributes::

        coord_scale * (2 - w*h) * ((sx - tx*)^2 + (sy - ty*)^2 + (tw - tw*)^2 + (th - th*)^2)
        + object_scale * (sigmoid(obj) - t)^2     t = IoU(predicted box, truth) if rescore else 1
        + class_scale * cross_entropy(class scores, label)

    (``w*h`` the truth's area as a fraction of the image; the class term has darknet's softmax
    delta as its gradient).  Every other prediction adds ``noobject_scale * sigmoid(obj)^2``
    unless its box overlaps some truth of its image with IoU > ``ignore_thresh``.  Darknet's
    warm-up term pulling early predictions to the anchor shapes is left out.
    """
    anchors_t = torch.as_tensor(np.asarray(anchors, dtype=np.float32).reshape(-1, 2))
    n, ch, h, w = output.shape
    a = len(anchors_t)
    if ch != a * (5 + num_classes):
        raise ValueError(f"output has {ch} channels, expected {a} anchors x (5 + {num_classes})")
    p = output.view(n, a, 5 + num_classes, h, w)
    sx, sy = torch.sigmoid(p[:, :, 0]), torch.sigmoid(p[:, :, 1])
    tw, th = p[:, :, 2], p[:, :, 3]
    conf = torch.sigmoid(p[:, :, 4])
    logits = p[:, :, 5:]  # (N, A, C, H, W)

    mask = torch.as_tensor(targets["mask"], dtype=torch.bool)
    if mask.shape != (n, a, h, w):
        raise ValueError(f"targets are for shape {tuple(mask.shape)}, output is {(n, a, h, w)}")
    tx_t = torch.as_tensor(targets["tx"], dtype=torch.float32)
    ty_t = torch.as_tensor(targets["ty"], dtype=torch.float32)
    tw_t = torch.as_tensor(targets["tw"], dtype=torch.float32)
    th_t = torch.as_tensor(targets["th"], dtype=torch.float32)
    wscale = torch.as_tensor(targets["scale"], dtype=torch.float32)
    cls_t = torch.as_tensor(targets["cls"], dtype=torch.int64)

    # predicted boxes in grid units (no gradient: used for IoUs only)
    with torch.no_grad():
        gy, gx = torch.meshgrid(
            torch.arange(h, dtype=torch.float32),
            torch.arange(w, dtype=torch.float32),
            indexing="ij",
        )
        pbox = torch.stack(
            [
                gx + sx,
                gy + sy,
                anchors_t[:, 0].view(1, a, 1, 1) * torch.exp(tw.clamp(max=10.0)),
                anchors_t[:, 1].view(1, a, 1, 1) * torch.exp(th.clamp(max=10.0)),
            ],
            dim=-1,
        )  # (N, A, H, W, 4)
        ignore = torch.zeros((n, a, h, w), dtype=torch.bool)
        iou_resp = torch.zeros((n, a, h, w))
        for i, gt in enumerate(targets["boxes"]):
            if len(gt) == 0:
                continue
            gt = torch.as_tensor(np.asarray(gt, dtype=np.float32))
            ious = _iou_cxcywh(pbox[i].unsqueeze(-2), gt)  # (A, H, W, M)
            ignore[i] = ious.max(-1).values > ignore_thresh
        if rescore and mask.any():
            tbox = torch.stack(
                [
                    gx.expand(n, a, h, w) + tx_t,
                    gy.expand(n, a, h, w) + ty_t,
                    anchors_t[:, 0].view(1, a, 1, 1) * torch.exp(tw_t),
                    anchors_t[:, 1].view(1, a, 1, 1) * torch.exp(th_t),
                ],
                dim=-1,
            )
            iou_resp[mask] = _iou_cxcywh(pbox[mask], tbox[mask])

    noobj = ~mask & ~ignore
    loss_noobj = noobject_scale * (conf[noobj] ** 2).sum()
    obj_t = iou_resp[mask] if rescore else torch.ones(int(mask.sum()))
    loss_obj = object_scale * ((conf[mask] - obj_t) ** 2).sum()
    sq = (sx - tx_t) ** 2 + (sy - ty_t) ** 2 + (tw - tw_t) ** 2 + (th - th_t) ** 2
    loss_coord = coord_scale * (wscale[mask] * sq[mask]).sum()
    if mask.any():
        lg = logits.permute(0, 1, 3, 4, 2)[mask]  # (K, C)
        loss_cls = class_scale * F.cross_entropy(lg, cls_t[mask], reduction="sum")
    else:
        loss_cls = output.sum() * 0.0
    return (loss_noobj + loss_obj + loss_coord + loss_cls) / n


# --------------------------------------------------------------------------------------------
# training helper
# --------------------------------------------------------------------------------------------
def train_detector(
    model: TinierYOLO,
    images,
    boxes,
    labels,
    steps: int = 20,
    lr: float = 2e-3,
    batch_size: int = 8,
    seed: int = 0,
    num_threads: int | None = None,
    **loss_kwargs,
) -> dict:
    """Train ``model`` in place for ``steps`` Adam steps with :func:`region_loss`.

    ``images``: float32 ``(N, 3, H, W)`` in [0, 1] with ``H = W = model.input_shape[2]``;
    ``boxes[i]``: ``(k_i, 4)`` ground-truth boxes ``x1, y1, x2, y2`` in pixels; ``labels[i]``:
    ``(k_i,)`` classes (e.g. :func:`fpgagen.models.datasets.synthetic_shapes_detection`).
    Batches are drawn in a fixed shuffled order (deterministic for ``seed``); binary/ternary
    latent weights are clamped to [-1, 1] after every step.  Returns ``dict(losses, seconds)``
    (the loss of every step) and leaves the model in eval mode.
    """
    import time

    x_all = torch.as_tensor(np.asarray(images, dtype=np.float32))
    n_img, _, hh, ww = x_all.shape
    if (hh, ww) != tuple(model.input_shape[2:]):
        raise ValueError(f"images are {hh}x{ww}, the model expects {model.input_shape[2:]}")
    if len(boxes) != n_img or len(labels) != n_img:
        raise ValueError("images, boxes and labels must have the same length")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    old_threads = torch.get_num_threads()
    if num_threads:
        torch.set_num_threads(num_threads)
    opt = torch.optim.Adam(optimizer_param_groups(model), lr=lr)
    losses = []
    t0 = time.time()
    order = torch.randperm(n_img, generator=gen)
    pos = 0
    try:
        model.train()
        for _ in range(int(steps)):
            if pos + batch_size > n_img:
                order, pos = torch.randperm(n_img, generator=gen), 0
            idx = order[pos : pos + batch_size].tolist()
            pos += batch_size
            tgt = region_targets(
                [boxes[i] for i in idx],
                [labels[i] for i in idx],
                grid=(model.grid, model.grid),
                input_size=(hh, ww),
                anchors=model.anchors,
                num_classes=model.num_classes,
            )
            out = model(x_all[idx])
            loss = region_loss(
                out, tgt, anchors=model.anchors, num_classes=model.num_classes, **loss_kwargs
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            model.clip_weights(-1.0, 1.0)
            losses.append(float(loss.detach()))
    finally:
        if num_threads:
            torch.set_num_threads(old_threads)
        model.eval()
    return dict(losses=losses, seconds=time.time() - t0)
