"""Short test/demo clips: coloured shapes moving over a photo (``make_clip``).

The shapes are the classes of ``fpgagen train --model tinier_yolo --dataset shapes``
(:data:`fpgagen.models.cli_detector.SHAPE_CLASS_NAMES`: colour x rectangle/ellipse); each
moves on a straight line and bounces off the borders. Needs OpenCV and scikit-image (the
photo backgrounds).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..video.videoio import DEFAULT_FOURCC, VideoError

__all__ = ["make_clip"]


def make_clip(
    path,
    frames: int = 24,
    width: int = 160,
    height: int = 120,
    objects: int = 3,
    num_classes: int = 6,
    seed: int = 0,
    fps: float = 10.0,
    fourcc: str | None = None,
) -> list[dict]:
    """Write a clip to ``path`` (``.mp4``: mp4v, ``.avi``: MJPG, or a folder of PNGs) and
    return the ground truth per frame: ``[{"frame": i, "boxes": [[x1, y1, x2, y2, class]]}]``."""
    import cv2

    from .datasets import SHAPE_COLOURS, SHAPE_KINDS, photo_background

    rng = np.random.default_rng(seed)
    bg = photo_background(rng, height, width)  # (3, H, W) RGB in [0, 1]
    bg = (bg.transpose(1, 2, 0)[:, :, ::-1] * 255).round().astype(np.uint8)  # BGR
    lo, hi = int(0.15 * min(width, height)), int(0.4 * min(width, height))
    objs = []
    for _ in range(objects):
        w, h = (int(v) for v in rng.integers(lo, hi + 1, size=2))
        objs.append(
            dict(
                cls=int(rng.integers(num_classes)),
                w=w,
                h=h,
                x=float(rng.uniform(0, width - w)),
                y=float(rng.uniform(0, height - h)),
                vx=float(rng.uniform(-4, 4)),
                vy=float(rng.uniform(-3, 3)),
            )
        )
    p = Path(path)
    folder = p.suffix == ""
    writer = None
    if folder:
        p.mkdir(parents=True, exist_ok=True)
    else:
        code = fourcc or DEFAULT_FOURCC.get(p.suffix.lower())
        if code is None:
            raise VideoError(f"{p}: unknown video container; use .mp4 or .avi or a folder")
        writer = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*code), fps, (width, height))
        if not writer.isOpened():
            raise VideoError(f"{p}: OpenCV cannot write codec {code!r} here")
    truth = []
    try:
        for i in range(frames):
            img = bg.copy()
            boxes = []
            for o in objs:
                x1, y1 = int(round(o["x"])), int(round(o["y"]))
                x2, y2 = x1 + o["w"], y1 + o["h"]
                col = tuple(int(round(255 * c)) for c in SHAPE_COLOURS[o["cls"] // 2][::-1])
                if SHAPE_KINDS[o["cls"] % 2] == "rectangle":
                    cv2.rectangle(img, (x1, y1), (x2 - 1, y2 - 1), col, -1)
                else:
                    centre = ((x1 + x2 - 1) // 2, (y1 + y2 - 1) // 2)
                    cv2.ellipse(img, centre, (o["w"] // 2, o["h"] // 2), 0, 0, 360, col, -1)
                boxes.append([x1, y1, x2, y2, o["cls"]])
                for k, lim, size in (("x", width, "w"), ("y", height, "h")):
                    v = "v" + k
                    o[k] += o[v]
                    if o[k] < 0 or o[k] + o[size] > lim:
                        o[v] = -o[v]
                        o[k] = min(max(o[k], 0.0), lim - o[size])
            if folder:
                cv2.imwrite(str(p / f"frame_{i:04d}.png"), img)
            else:
                writer.write(img)
            truth.append({"frame": i, "boxes": boxes})
    finally:
        if writer is not None:
            writer.release()
    return truth
