"""``fpgagen train --model tinier_yolo --dataset shapes``: train the zoo detector, export QONNX.

The dataset is :func:`fpgagen.models.datasets.synthetic_shapes_detection` with photo
backgrounds (coloured rectangles and ellipses of ``num_classes`` classes at random positions
and scales on crops of scikit-image's bundled photos); the training split and the held-out
test split come from different seeds.  The anchors are fitted to the training boxes
(k-means with ``1 - IoU`` as the distance, as YOLOv2 chose its anchors).  The exported ONNX
carries the detector's description in its metadata (key :data:`META_KEY`: anchors, class
names, input size), which ``fpgagen build`` turns into the ``[region]`` section of
``network.cfg`` and the video pipeline reads.

Accuracy is VOC mAP@0.5 (:func:`fpgagen.video.metrics.mean_ap`) on the held-out split, for
the float (PyTorch) model here; :func:`evaluate_onnx_map` does it for the exported QONNX model
(QONNX's executor) and the golden hardware model.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from ..errors import FpgagenError

__all__ = [
    "DETECTOR_DATASETS",
    "DETECTOR_MODELS",
    "META_KEY",
    "SHAPE_CLASS_NAMES",
    "detections_of",
    "detector_description",
    "evaluate_onnx_map",
    "export_detector",
    "kmeans_anchors",
    "read_detector_meta",
    "shapes_split",
    "train_detector_and_export",
]

DETECTOR_MODELS = ("tinier_yolo",)
DETECTOR_DATASETS = ("shapes",)
from ..video.darknet import META_KEY, detector_meta  # noqa: E402

#: default configuration (what docs/video.md reports)
DEFAULTS = dict(
    input_size=96, width=0.5, num_classes=6, anchors=5, n_train=1536, n_test=256, epochs=30
)


def _class_names(num_classes: int) -> list[str]:
    from .datasets import SHAPE_KINDS

    colours = ("red", "green", "blue", "yellow", "magenta", "cyan")
    return [f"{colours[c // 2]}_{SHAPE_KINDS[c % 2]}" for c in range(num_classes)]


SHAPE_CLASS_NAMES = tuple(_class_names(12))


def shapes_split(
    input_size: int, n_train: int, n_test: int, num_classes: int, seed: int = 0, which="both"
):
    """``(train, test)``, each ``(images, boxes, labels)`` of shapes on photos (disjoint seeds:
    the training split's is odd, the test split's even; ``which="train"`` leaves test None)."""
    from .datasets import synthetic_shapes_detection

    kw = dict(size=input_size, num_classes=num_classes, background="photos", max_objects=3)
    kw.update(min_frac=0.2, max_frac=0.6)
    train = synthetic_shapes_detection(n_train, seed=2 * seed + 1, **kw)
    test = None if which == "train" else synthetic_shapes_detection(n_test, seed=2 * seed + 2, **kw)
    return train, test


def warmup_steps(n_train: int, batch_size: int) -> int:
    """Linear learning-rate warm-up of each training phase: half an epoch, at most 200 steps."""
    return max(1, min(200, n_train // batch_size // 2))


def _warmup_cosine(opt, total: int, warmup: int):
    import torch

    def f(s):
        if s < warmup:
            return (s + 1) / warmup
        t = min(s - warmup, total - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * t))

    return torch.optim.lr_scheduler.LambdaLR(opt, f)


def _train_epoch(net, opt, sched, x, boxes, labels, batch_size, anchors, gen) -> float:
    """One epoch of region-loss training with horizontal flips; returns the mean loss."""
    import torch

    from ..yolo import region_targets
    from .detector import region_loss

    n, size = len(x), x.shape[-1]
    x_all = torch.as_tensor(x)
    steps = max(1, n // batch_size)
    order = torch.randperm(n, generator=gen)
    total = 0.0
    net.train()
    for s in range(steps):
        idx = order[s * batch_size : (s + 1) * batch_size].tolist()
        xb = x_all[idx]
        bb = [np.asarray(boxes[i], dtype=np.float32).copy() for i in idx]
        flip = torch.rand(len(idx), generator=gen) < 0.5  # horizontal flip
        if flip.any():
            xb = xb.clone()
            xb[flip] = xb[flip].flip(-1)
            for j in np.flatnonzero(flip.numpy()):
                bb[j][:, [0, 2]] = size - bb[j][:, [2, 0]]
        tgt = region_targets(
            bb,
            [labels[i] for i in idx],
            grid=net.grid,
            input_size=size,
            anchors=anchors,
            num_classes=net.num_classes,
        )
        loss = region_loss(net(xb), tgt, anchors=anchors, num_classes=net.num_classes)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        net.clip_weights(-1.0, 1.0)
        total += float(loss.detach())
    return total / steps


def _float_map(net, x, boxes, labels, meta) -> float:
    """mAP@0.5 of the PyTorch model ``net`` on ``x`` (eval mode, restored afterwards)."""
    from .export import torch_predict

    was = net.training
    net.eval()
    y = np.concatenate([torch_predict(net, x[i : i + 64]) for i in range(0, len(x), 64)])
    net.train(was)
    return mean_ap_of(y, (boxes, labels), meta)["map"]


def _requantize(net, weights, abits, input_size, width, num_classes, anchors):
    """A copy of the float-pretrained ``net`` whose hidden layers quantize with ``weights``:
    each hidden convolution's latent weights scaled so that max |w| = 1 (the binary/ternary
    quantizers clip latent weights to [-1, 1]; the BatchNorm after it cancels the scale),
    the hidden BatchNorm running statistics reset (batch statistics drive training)."""
    import torch

    from .detector import TinierYOLO

    q = TinierYOLO(
        weights=weights,
        abits=abits,
        input_hw=input_size,
        width=width,
        num_classes=num_classes,
        anchors=anchors,
    )
    src = net.state_dict()
    dst = q.state_dict()
    with torch.no_grad():
        for k, v in dst.items():
            if k in src and src[k].shape == v.shape:
                v.copy_(src[k])
        for m in q.body.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.weight.div_(m.weight.abs().max().clamp_min(1e-12))
            elif isinstance(m, torch.nn.BatchNorm2d):
                m.reset_running_stats()
    q.clip_weights(-1.0, 1.0)
    return q


def kmeans_anchors(boxes, cell: float, k: int = 5, seed: int = 0, iters: int = 50) -> np.ndarray:
    """``k`` anchors (width, height) in grid cells of ``cell`` pixels: k-means over the box
    shapes with distance ``1 - IoU`` (boxes aligned at their centres); sorted by area."""
    wh = np.concatenate([np.asarray(b, dtype=np.float64).reshape(-1, 4) for b in boxes])
    wh = np.stack([wh[:, 2] - wh[:, 0], wh[:, 3] - wh[:, 1]], axis=1) / cell
    rng = np.random.default_rng(seed)
    cent = wh[rng.choice(len(wh), k, replace=False)]
    for _ in range(iters):
        inter = np.minimum(wh[:, None, 0], cent[None, :, 0]) * np.minimum(
            wh[:, None, 1], cent[None, :, 1]
        )
        iou = inter / (wh[:, None].prod(-1) + cent[None].prod(-1) - inter)
        a = np.argmax(iou, axis=1)
        new = np.array([wh[a == j].mean(0) if np.any(a == j) else cent[j] for j in range(k)])
        if np.allclose(new, cent):
            break
        cent = new
    return np.round(cent[np.argsort(cent.prod(1))], 3)


def detections_of(outputs, meta: dict, score_threshold: float = 0.005, iou: float = 0.45):
    """:func:`fpgagen.yolo.detect` of every region output ``(N, A*(5+C), H, W)``."""
    from ..yolo import detect

    return [
        detect(
            o,
            input_size=meta["input_size"],
            anchors=meta["anchors"],
            num_classes=meta["num_classes"],
            score_threshold=score_threshold,
            iou_threshold=iou,
        )
        for o in np.asarray(outputs)
    ]


read_detector_meta = detector_meta


def _write_meta(onnx_path, meta: dict) -> None:
    import onnx

    m = onnx.load(str(onnx_path))
    del m.metadata_props[:]
    e = m.metadata_props.add()
    e.key, e.value = META_KEY, json.dumps(meta)
    onnx.save(m, str(onnx_path))


def detector_description(net, classes=None) -> dict:
    """The metadata :func:`export_detector` stores for a :class:`TinierYOLO` ``net``."""
    n = int(net.num_classes)
    return dict(
        model="tinier_yolo",
        input_size=int(net.input_shape[2]),
        num_classes=n,
        anchors=np.asarray(net.anchors, dtype=float).tolist(),
        classes=list(classes or SHAPE_CLASS_NAMES[:n]),
    )


def export_detector(net, path, meta: dict | None = None) -> Path:
    """Export ``net`` to QONNX at ``path`` with the detector description in the ONNX
    metadata (``fpgagen build`` writes network.cfg's ``[region]`` from it)."""
    from .export import export_qonnx_model

    export_qonnx_model(net, net.input_shape, path)
    _write_meta(path, meta or detector_description(net))
    return Path(path)


def evaluate_onnx_map(onnx_path, images, truths, meta: dict, how: str = "golden") -> dict:
    """VOC mAP@0.5 of an exported detector on ``images`` (``(N, 3, S, S)`` in [0, 1]):
    ``how = "qonnx"`` runs QONNX's executor, ``"golden"`` the lowered hardware model."""
    if how == "qonnx":
        from .export import qonnx_execute

        out = qonnx_execute(onnx_path, images)
    elif how == "golden":
        from ..frontend import load_model
        from ..transforms.lower import lower

        df = lower(load_model(onnx_path))
        out = np.concatenate(
            [df.golden(images[i : i + 32])["y"] for i in range(0, len(images), 32)]
        )
    else:
        raise ValueError(f"how must be qonnx or golden, got {how!r}")
    out = out.reshape(len(images), -1, meta["input_size"] // 32, meta["input_size"] // 32)
    return mean_ap_of(out, truths, meta)


def mean_ap_of(outputs, truths, meta) -> dict:
    from ..video.metrics import mean_ap

    dets = detections_of(outputs, meta)
    return mean_ap(dets, list(zip(*truths)), meta["num_classes"])


def train_detector_and_export(
    output,
    model: str = "tinier_yolo",
    dataset: str = "shapes",
    epochs: int = 30,
    input_size: int = DEFAULTS["input_size"],
    width: float = DEFAULTS["width"],
    weights: str = "binary",
    abits: int = 3,
    num_classes: int = DEFAULTS["num_classes"],
    num_anchors: int = DEFAULTS["anchors"],
    n_train: int = DEFAULTS["n_train"],
    n_test: int = DEFAULTS["n_test"],
    batch_size: int = 8,
    lr: float = 5e-3,
    seed: int = 0,
    progress: bool = True,
    evaluate: tuple = ("float",),
    fresh_data: bool = True,
    pretrain_epochs: int = 0,
    eval_every: int = 0,
    checkpoint=None,
    latent_scale: float = 0.1,
) -> dict:
    """Train the detector, export it to ``output`` (QONNX with the detector metadata) and
    return the summary (losses, seconds, mAP@0.5 on the held-out split for each of
    ``evaluate`` in ``float``, ``qonnx``, ``golden``).

    Each epoch sees ``n_train`` images: with ``fresh_data`` a newly drawn set every epoch
    (the synthetic generator is cheap next to a training step), else the same set.  The first
    ``pretrain_epochs`` train with float hidden weights (activations quantized already); then
    the hidden layers get their ``weights`` quantizer (latent weights scaled to [-1, 1] per
    layer, BatchNorm statistics reset) and training continues quantisation-aware.  Every phase
    runs Adam with a linear warm-up (:func:`warmup_steps`) and cosine decay.  ``eval_every``
    epochs the float mAP@0.5 on the held-out split is printed; ``checkpoint`` (a path) gets
    the state after every epoch.  ``latent_scale`` scales the initial latent weights of the
    binarised/ternarised hidden layers (the model initialises them uniform in [-1, 1]; 0.1
    here): small latent weights flip sign after fewer optimizer steps, which a short
    training needs."""
    if model not in DETECTOR_MODELS:
        raise FpgagenError(f"unknown detector {model!r}; available: {', '.join(DETECTOR_MODELS)}")
    if dataset not in DETECTOR_DATASETS:
        raise FpgagenError(
            f"--model {model} trains on --dataset {' or '.join(DETECTOR_DATASETS)}, got {dataset!r}"
        )
    if input_size < 32 or input_size % 32:
        raise FpgagenError(f"--input-size {input_size}: use a positive multiple of 32 (e.g. 128)")
    if not 0 < width <= 4:
        raise FpgagenError(f"--width {width}: use a channel multiplier in (0, 4]")
    if not 2 <= abits <= 8:
        raise FpgagenError(
            f"--abits {abits}: the detector's hidden activations take 2..8 bits (1-bit "
            "activations cannot represent the zero padding)"
        )
    if not 1 <= num_classes <= len(SHAPE_CLASS_NAMES):
        raise FpgagenError(f"--classes {num_classes}: use 1..{len(SHAPE_CLASS_NAMES)}")
    if epochs < 1:
        raise FpgagenError(f"--epochs must be >= 1, got {epochs}")
    out = Path(output)
    if out.suffix != ".onnx":
        raise FpgagenError(f"{out}: the output must be an .onnx file")
    try:
        import brevitas  # noqa: F401
        import torch
    except ImportError:
        raise FpgagenError(
            "training needs torch and brevitas: pip install 'fpgagen[train]' (or make setup)"
        ) from None
    from .detector import TinierYOLO
    from .quantizers import optimizer_param_groups

    t0 = time.time()
    (x_tr, b_tr, l_tr), test = shapes_split(input_size, n_train, n_test, num_classes, seed)
    anchors = kmeans_anchors(b_tr, 32.0, num_anchors, seed)
    torch.manual_seed(seed)
    net = TinierYOLO(
        weights="float" if pretrain_epochs else weights,
        abits=abits,
        input_hw=input_size,
        width=width,
        num_classes=num_classes,
        anchors=anchors,
    )
    meta = dict(
        model=model,
        input_size=int(input_size),
        num_classes=int(num_classes),
        anchors=anchors.tolist(),
        classes=list(SHAPE_CLASS_NAMES[:num_classes]),
        weights=weights,
        abits=int(abits),
        width=float(width),
    )
    x_te, b_te, l_te = test
    gen = torch.Generator().manual_seed(seed)
    losses, history = [], []
    ckpt = Path(checkpoint) if checkpoint else None
    pre = min(int(pretrain_epochs), epochs - 1) if pretrain_epochs else 0
    phases = [("float", pre), (weights, epochs - pre)] if pre else [(weights, epochs)]
    ep = 0
    for phase, (kind, n_ep) in enumerate(phases):
        if phase:  # float pre-training done: the hidden layers get their quantizer
            net = _requantize(net, weights, abits, input_size, width, num_classes, anchors)
        if kind != "float" and latent_scale != 1.0:
            with torch.no_grad():
                for m in net.body.modules():
                    if isinstance(m, torch.nn.Conv2d):
                        m.weight.mul_(latent_scale)
        opt = torch.optim.Adam(optimizer_param_groups(net), lr=lr)
        sched = _warmup_cosine(
            opt, n_ep * (n_train // batch_size), warmup_steps(n_train, batch_size)
        )
        for _ in range(n_ep):
            if ep == 0 or not fresh_data:
                xs, bs, ls = x_tr, b_tr, l_tr
            else:  # a fresh training set every epoch (odd seeds; the test split's are even)
                xs, bs, ls = shapes_split(
                    input_size, n_train, 0, num_classes, seed + 1000 * ep, which="train"
                )[0]
            loss = _train_epoch(net, opt, sched, xs, bs, ls, batch_size, anchors, gen)
            losses.append(loss)
            ep += 1
            row = dict(epoch=ep, phase=kind, loss=round(loss, 4), seconds=round(time.time() - t0))
            if eval_every and (ep % eval_every == 0 or ep == epochs):
                row["map_float"] = round(_float_map(net, x_te, b_te, l_te, meta), 4)
            history.append(row)
            if progress:
                extra = f", held-out mAP@0.5 {row['map_float']:.3f}" if "map_float" in row else ""
                print(
                    f"epoch {ep}/{epochs} ({kind}): loss {loss:.3f}{extra} ({row['seconds']} s)",
                    flush=True,
                )
            if ckpt is not None:
                torch.save(dict(state=net.state_dict(), meta=meta, history=history), ckpt)
    net.eval()
    res = dict(
        losses=losses,
        train_seconds=round(time.time() - t0, 1),
        train_size=n_train,
        test_size=n_test,
        meta=meta,
    )
    res["history"] = history
    if "float" in evaluate:
        res["map_float"] = _float_map(net, x_te, b_te, l_te, meta)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        export_detector(net, tmp, meta)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    for how in ("qonnx", "golden"):
        if how in evaluate:
            res[f"map_{how}"] = evaluate_onnx_map(out, x_te, (b_te, l_te), meta, how)["map"]
    res["onnx"] = str(out)
    return res


def run_train_command(args) -> int:
    """``fpgagen train --model tinier_yolo ...`` (argparse namespace of the CLI)."""
    if args.dataset not in (None, *DETECTOR_DATASETS):
        raise FpgagenError(
            f"--model tinier_yolo trains on --dataset {' or '.join(DETECTOR_DATASETS)}, "
            f"got {args.dataset!r}"
        )
    for opt in ("sparse", "syq_group", "retrain_epochs"):
        if getattr(args, opt, None):
            raise FpgagenError(f"--{opt.replace('_', '-')} does not apply to --model tinier_yolo")
    r = train_detector_and_export(
        args.output,
        epochs=args.epochs or DEFAULTS["epochs"],
        input_size=args.input_size or DEFAULTS["input_size"],
        width=args.width or DEFAULTS["width"],
        weights=args.weights,
        abits=3 if args.abits is None else args.abits,
        num_classes=args.classes or DEFAULTS["num_classes"],
        lr=5e-3 if args.lr is None else args.lr,
        seed=args.seed,
        evaluate=("float", "golden"),
    )
    m = r["meta"]
    print(
        f"tinier_yolo {m['weights']} weights, {m['abits']}-bit activations, "
        f"{m['input_size']}x{m['input_size']} input, width {m['width']:g}, "
        f"{m['num_classes']} classes on shapes ({r['train_size']} train / {r['test_size']} "
        f"held-out): mAP@0.5 float {r['map_float']:.3f}, hardware (golden) "
        f"{r['map_golden']:.3f} ({r['train_seconds']:.0f} s); wrote {r['onnx']}"
    )
    return 0
