"""Detection accuracy: Pascal VOC average precision (all-point interpolation) in numpy.

:func:`voc_ap` is the area under the precision/recall curve with precision made monotone
(VOC 2010 and later, "all points"); :func:`mean_ap` matches detections to ground truth per
class at an IoU threshold (0.5: mAP@0.5), greedily by descending score, each truth box
matched at most once (a second detection of it is a false positive), as the VOC devkit does
(no "difficult" boxes here).
"""

from __future__ import annotations

import numpy as np

__all__ = ["mean_ap", "voc_ap"]


def _iou(box, boxes) -> np.ndarray:
    iw = np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0])
    ih = np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = (
        (box[2] - box[0]) * (box[3] - box[1])
        + (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        - inter
    )
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def voc_ap(recall, precision) -> float:
    """All-point interpolated AP of a precision/recall curve (points in detection order)."""
    r = np.concatenate([[0.0], np.asarray(recall, dtype=np.float64), [1.0]])
    p = np.concatenate([[0.0], np.asarray(precision, dtype=np.float64), [0.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]  # precision envelope
    i = np.flatnonzero(r[1:] != r[:-1])
    return float(np.sum((r[i + 1] - r[i]) * p[i + 1]))


def mean_ap(detections, truths, num_classes: int, iou_threshold: float = 0.5) -> dict:
    """VOC mAP of ``detections`` against ``truths`` over the same images.

    ``detections[i]``: ``(boxes (k, 4) x1 y1 x2 y2, scores (k,), classes (k,))`` of image ``i``
    (e.g. a :class:`fpgagen.yolo.Detections`); ``truths[i]``: ``(boxes (m, 4), labels (m,))``.
    Returns ``dict(map, ap (per class, NaN for a class without truth), n_truth)``; ``map`` is
    the mean over the classes that have truth boxes.
    """
    if len(detections) != len(truths):
        raise ValueError(f"{len(detections)} detection lists but {len(truths)} images")
    aps = np.full(num_classes, np.nan)
    n_truth = np.zeros(num_classes, dtype=np.int64)
    for c in range(num_classes):
        gts, recs = {}, []
        for i, (tb, tl) in enumerate(truths):
            tb = np.asarray(tb, dtype=np.float64).reshape(-1, 4)
            sel = np.asarray(tl).reshape(-1) == c
            gts[i] = (tb[sel], np.zeros(int(sel.sum()), dtype=bool))
            n_truth[c] += int(sel.sum())
        for i, d in enumerate(detections):
            b, s, k = (d.boxes, d.scores, d.classes) if hasattr(d, "boxes") else d
            b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
            sel = np.asarray(k).reshape(-1) == c
            recs.extend((float(sc), i, bb) for sc, bb in zip(np.asarray(s)[sel], b[sel]))
        if n_truth[c] == 0:
            continue
        recs.sort(key=lambda t: -t[0])  # stable: equal scores keep image order
        tp = np.zeros(len(recs))
        for j, (_, i, bb) in enumerate(recs):
            tb, used = gts[i]
            if len(tb) == 0:
                continue
            ious = _iou(bb, tb)
            m = int(np.argmax(ious))
            if ious[m] >= iou_threshold and not used[m]:
                used[m] = True
                tp[j] = 1.0
        ctp = np.cumsum(tp)
        recall = ctp / n_truth[c]
        precision = ctp / np.arange(1, len(recs) + 1)
        aps[c] = voc_ap(recall, precision) if len(recs) else 0.0
    valid = n_truth > 0
    return dict(
        map=float(np.mean(aps[valid])) if valid.any() else float("nan"),
        ap=[float(a) for a in aps],
        n_truth=n_truth.tolist(),
    )
