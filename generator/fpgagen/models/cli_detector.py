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
DEFAULTS = dict(input_size=96, width=0.5, num_classes=6, anchors=5, n_train=1536, n_test=256)


def _class_names(num_classes: int) -> list[str]:
    from .datasets import SHAPE_KINDS

    colours = ("red", "green", "blue", "yellow", "magenta", "cyan")
    return [f"{colours[c // 2]}_{SHAPE_KINDS[c % 2]}" for c in range(num_classes)]


SHAPE_CLASS_NAMES = tuple(_class_names(12))


def shapes_split(input_size: int, n_train: int, n_test: int, num_classes: int, seed: int = 0):
    """``(train, test)``, each ``(images, boxes, labels)`` of shapes on photos (disjoint seeds)."""
    from .datasets import synthetic_shapes_detection

    kw = dict(size=input_size, num_classes=num_classes, background="photos", max_objects=3)
    kw.update(min_frac=0.2, max_frac=0.6)
    train = synthetic_shapes_detection(n_train, seed=2 * seed + 1, **kw)
    test = synthetic_shapes_detection(n_test, seed=2 * seed + 2, **kw)
    return train, test


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
) -> dict:
    """Train the detector, export it to ``output`` (QONNX with the detector metadata) and
    return the summary (losses, seconds, mAP@0.5 on the held-out split for each of
    ``evaluate`` in ``float``, ``qonnx``, ``golden``)."""
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
    from ..yolo import region_targets
    from .detector import TinierYOLO, region_loss
    from .quantizers import optimizer_param_groups

    t0 = time.time()
    (x_tr, b_tr, l_tr), test = shapes_split(input_size, n_train, n_test, num_classes, seed)
    anchors = kmeans_anchors(b_tr, 32.0, num_anchors, seed)
    torch.manual_seed(seed)
    net = TinierYOLO(
        weights=weights,
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
    x_all = torch.as_tensor(x_tr)
    steps_per_epoch = max(1, n_train // batch_size)
    total = epochs * steps_per_epoch
    opt = torch.optim.Adam(optimizer_param_groups(net), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total))
    )
    gen = torch.Generator().manual_seed(seed)
    losses = []
    net.train()
    for ep in range(epochs):
        order = torch.randperm(n_train, generator=gen)
        ep_loss = 0.0
        for s in range(steps_per_epoch):
            idx = order[s * batch_size : (s + 1) * batch_size].tolist()
            xb = x_all[idx]
            bb = [b_tr[i].copy() for i in idx]
            flip = torch.rand(len(idx), generator=gen) < 0.5  # horizontal flip
            if flip.any():
                xb = xb.clone()
                xb[flip] = xb[flip].flip(-1)
                for j in np.flatnonzero(flip.numpy()):
                    bb[j][:, [0, 2]] = input_size - bb[j][:, [2, 0]]
            tgt = region_targets(
                bb,
                [l_tr[i] for i in idx],
                grid=net.grid,
                input_size=input_size,
                anchors=anchors,
                num_classes=num_classes,
            )
            loss = region_loss(net(xb), tgt, anchors=anchors, num_classes=num_classes)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            net.clip_weights(-1.0, 1.0)
            ep_loss += float(loss.detach())
        losses.append(ep_loss / steps_per_epoch)
        if progress:
            print(
                f"epoch {ep + 1}/{epochs}: loss {losses[-1]:.3f} ({time.time() - t0:.0f} s)",
                flush=True,
            )
    net.eval()
    res = dict(
        losses=losses,
        train_seconds=round(time.time() - t0, 1),
        train_size=n_train,
        test_size=n_test,
        meta=meta,
    )
    x_te, b_te, l_te = test
    if "float" in evaluate:
        from .export import torch_predict

        y = np.concatenate([torch_predict(net, x_te[i : i + 64]) for i in range(0, n_test, 64)])
        res["map_float"] = mean_ap_of(y, (b_te, l_te), meta)["map"]
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
        epochs=args.epochs,
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
