"""YOLOv2 region-layer decoding, non-maximum suppression and training targets (numpy only).

The network output follows darknet's ``[region]`` layout: for a grid of ``H x W`` cells and
``A`` anchors, channel ``a*(5+C) + k`` of the ``(A*(5+C), H, W)`` tensor holds, for anchor
``a``, ``k = 0..3``: ``tx, ty, tw, th``, ``k = 4``: the objectness logit, ``k = 5..``: the
``C`` class scores.  A cell ``(row, col)`` and anchor ``(pw, ph)`` (in grid cells) give the box

    cx = (col + sigmoid(tx)) / W * input_w        w = pw * exp(tw) / W * input_w
    cy = (row + sigmoid(ty)) / H * input_h        h = ph * exp(th) / H * input_h

and the class scores ``sigmoid(obj) * softmax(classes)``.  :func:`detect` keeps
(box, class) pairs whose score reaches ``score_threshold`` and suppresses, per class, every box
overlapping a higher-scoring one by more than ``iou_threshold`` (greedy NMS).

:func:`region_targets` is the inverse used for training (see
:func:`fpgagen.models.detector.region_loss`).  Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "VOC_ANCHORS",
    "VOC_CLASSES",
    "Detections",
    "box_iou",
    "decode_region",
    "detect",
    "nms",
    "region_targets",
    "sigmoid",
    "softmax",
]

#: tiny-yolo-voc anchors (width, height) in grid cells (32 input pixels each)
VOC_ANCHORS = np.array([[1.08, 1.19], [3.42, 4.41], [6.63, 11.38], [9.42, 5.11], [16.62, 10.52]])

#: Pascal VOC class names in the order of the YOLOv2 VOC models
VOC_CLASSES = (
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)


def sigmoid(x) -> np.ndarray:
    """Logistic function, without overflow warnings for large ``|x|``."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softmax(x, axis: int = -1) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _size_pair(input_size) -> tuple[float, float]:
    """``(height, width)`` from an int or a pair."""
    if np.ndim(input_size) == 0:
        return float(input_size), float(input_size)
    h, w = input_size
    return float(h), float(w)


def _split_output(output, num_anchors: int, num_classes: int) -> np.ndarray:
    out = np.asarray(output, dtype=np.float64)
    if out.ndim == 4:
        if out.shape[0] != 1:
            raise ValueError(f"decode one image at a time; got a batch of {out.shape[0]}")
        out = out[0]
    if out.ndim != 3:
        raise ValueError(f"expected a (A*(5+C), H, W) region output, got shape {out.shape}")
    ch, h, w = out.shape
    if ch != num_anchors * (5 + num_classes):
        raise ValueError(
            f"region output has {ch} channels; {num_anchors} anchors x "
            f"(5 + {num_classes} classes) = {num_anchors * (5 + num_classes)}"
        )
    return out.reshape(num_anchors, 5 + num_classes, h, w)


def decode_region(output, input_size=416, anchors=VOC_ANCHORS, num_classes: int = 20) -> dict:
    """Decode one region output ``(A*(5+C), H, W)`` (or ``(1, ...)``) without thresholds.

    Returns ``dict(boxes (A, H, W, 4) as x1, y1, x2, y2 in input pixels, objectness (A, H, W),
    class_probs (A, H, W, C) (softmax), scores (A, H, W, C) = objectness * class_probs)``.
    """
    anchors = np.asarray(anchors, dtype=np.float64).reshape(-1, 2)
    p = _split_output(output, len(anchors), num_classes)
    _, _, gh, gw = p.shape
    in_h, in_w = _size_pair(input_size)
    rows, cols = np.meshgrid(np.arange(gh), np.arange(gw), indexing="ij")
    cx = (cols + sigmoid(p[:, 0])) / gw * in_w
    cy = (rows + sigmoid(p[:, 1])) / gh * in_h
    bw = anchors[:, 0, None, None] * np.exp(p[:, 2]) / gw * in_w
    bh = anchors[:, 1, None, None] * np.exp(p[:, 3]) / gh * in_h
    boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=-1)
    obj = sigmoid(p[:, 4])
    probs = softmax(p[:, 5:], axis=1).transpose(0, 2, 3, 1)  # (A, H, W, C)
    return dict(boxes=boxes, objectness=obj, class_probs=probs, scores=obj[..., None] * probs)


def box_iou(a, b) -> np.ndarray:
    """Intersection over union of boxes ``a (N, 4)`` and ``b (M, 4)`` (x1, y1, x2, y2): ``(N, M)``.

    Degenerate boxes (zero area) have IoU 0 with everything.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def nms(boxes, scores, iou_threshold: float = 0.45) -> np.ndarray:
    """Greedy non-maximum suppression; indices of the kept boxes, highest score first.

    A box is dropped when its IoU with an already kept (higher-scoring) box is greater than
    ``iou_threshold``.  Equal scores keep the lower index first (stable order).
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(boxes) != len(scores):
        raise ValueError(f"{len(boxes)} boxes but {len(scores)} scores")
    order = np.argsort(-scores, kind="stable")
    keep = []
    while len(order):
        i = order[0]
        keep.append(int(i))
        if len(order) == 1:
            break
        ious = box_iou(boxes[i : i + 1], boxes[order[1:]])[0]
        order = order[1:][ious <= iou_threshold]
    return np.array(keep, dtype=np.int64)


@dataclass
class Detections:
    """Detections of one image, highest score first.

    ``boxes (K, 4)`` x1, y1, x2, y2 in input pixels, ``scores (K,)``, ``classes (K,)`` (int).
    """

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)

    def to_list(self, class_names=None) -> list[dict]:
        """``[dict(box=[x1, y1, x2, y2], score, cls[, name])]`` for reports and JSON."""
        out = []
        for b, s, c in zip(self.boxes, self.scores, self.classes):
            d = dict(box=[float(v) for v in b], score=float(s), cls=int(c))
            if class_names is not None:
                d["name"] = class_names[int(c)]
            out.append(d)
        return out


def detect(
    output,
    input_size=416,
    anchors=VOC_ANCHORS,
    num_classes: int = 20,
    score_threshold: float = 0.3,
    iou_threshold: float = 0.45,
    max_detections: int = 100,
    clip: bool = True,
) -> Detections:
    """Decode one region output and return its detections (per-class NMS).

    Every (box, class) pair with ``objectness * class_prob >= score_threshold`` is a candidate
    (one box may be a candidate for several classes, as in darknet); :func:`nms` runs per class;
    the survivors are sorted by score and cut to ``max_detections``.  With ``clip`` the boxes
    are clipped to the image.
    """
    dec = decode_region(output, input_size, anchors, num_classes)
    boxes = dec["boxes"].reshape(-1, 4)
    scores = dec["scores"].reshape(-1, num_classes)
    if clip:
        in_h, in_w = _size_pair(input_size)
        boxes = boxes.copy()
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0.0, in_w)
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0.0, in_h)
    kb, ks, kc = [], [], []
    for c in range(num_classes):
        cand = np.flatnonzero(scores[:, c] >= score_threshold)
        if len(cand) == 0:
            continue
        keep = cand[nms(boxes[cand], scores[cand, c], iou_threshold)]
        kb.append(boxes[keep])
        ks.append(scores[keep, c])
        kc.append(np.full(len(keep), c, dtype=np.int64))
    if not ks:
        return Detections(np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=np.int64))
    b, s, c = np.concatenate(kb), np.concatenate(ks), np.concatenate(kc)
    order = np.argsort(-s, kind="stable")[:max_detections]
    return Detections(b[order], s[order], c[order])


def region_targets(
    boxes, labels, grid, input_size, anchors=VOC_ANCHORS, num_classes: int = 20
) -> dict:
    """Training targets of a batch for the region layer (YOLOv2 assignment).

    ``boxes[i]``: ``(k_i, 4)`` x1, y1, x2, y2 in input pixels of image ``i``; ``labels[i]``:
    ``(k_i,)`` class indices; ``grid``: ``(H, W)`` cells (or an int); ``input_size``: the
    image ``(height, width)`` (or an int).  Each truth box is assigned to the cell containing
    its centre and to the anchor whose shape (both centred) has the highest IoU with it (a later
    box replaces an earlier one on the same cell and anchor).  Returns a dict of arrays with
    shape ``(N, A, H, W)``: ``mask`` (bool, responsible predictions), ``tx, ty`` (centre offset
    in the cell, in [0, 1)), ``tw, th`` (``log(size / anchor)``), ``scale`` (``2 - w*h``, the
    truth's area as a fraction of the image), ``cls`` (int64); and ``boxes``: per image the
    truth boxes as ``(k_i, 4)`` (cx, cy, w, h) in grid cells.
    """
    anchors = np.asarray(anchors, dtype=np.float64).reshape(-1, 2)
    gh, gw = (int(grid), int(grid)) if np.ndim(grid) == 0 else (int(grid[0]), int(grid[1]))
    in_h, in_w = _size_pair(input_size)
    n, a = len(boxes), len(anchors)
    shape = (n, a, gh, gw)
    t = dict(
        mask=np.zeros(shape, dtype=bool),
        tx=np.zeros(shape),
        ty=np.zeros(shape),
        tw=np.zeros(shape),
        th=np.zeros(shape),
        scale=np.zeros(shape),
        cls=np.zeros(shape, dtype=np.int64),
        boxes=[],
    )
    for i, (bx, lb) in enumerate(zip(boxes, labels)):
        bx = np.asarray(bx, dtype=np.float64).reshape(-1, 4)
        lb = np.asarray(lb, dtype=np.int64).reshape(-1)
        if len(bx) != len(lb):
            raise ValueError(f"image {i}: {len(bx)} boxes but {len(lb)} labels")
        if len(lb) and (lb.min() < 0 or lb.max() >= num_classes):
            raise ValueError(f"image {i}: labels {lb.tolist()} outside 0..{num_classes - 1}")
        cx = (bx[:, 0] + bx[:, 2]) / 2 / in_w * gw
        cy = (bx[:, 1] + bx[:, 3]) / 2 / in_h * gh
        w = (bx[:, 2] - bx[:, 0]) / in_w * gw
        h = (bx[:, 3] - bx[:, 1]) / in_h * gh
        if np.any(w <= 0) or np.any(h <= 0):
            raise ValueError(f"image {i}: boxes must have x2 > x1 and y2 > y1")
        t["boxes"].append(np.stack([cx, cy, w, h], axis=1))
        for k in range(len(lb)):
            col = min(max(int(np.floor(cx[k])), 0), gw - 1)
            row = min(max(int(np.floor(cy[k])), 0), gh - 1)
            inter = np.minimum(w[k], anchors[:, 0]) * np.minimum(h[k], anchors[:, 1])
            shape_iou = inter / (w[k] * h[k] + anchors[:, 0] * anchors[:, 1] - inter)
            j = int(np.argmax(shape_iou))
            t["mask"][i, j, row, col] = True
            t["tx"][i, j, row, col] = cx[k] - col
            t["ty"][i, j, row, col] = cy[k] - row
            t["tw"][i, j, row, col] = np.log(w[k] / anchors[j, 0])
            t["th"][i, j, row, col] = np.log(h[k] / anchors[j, 1])
            t["scale"][i, j, row, col] = 2.0 - (w[k] / gw) * (h[k] / gh)
            t["cls"][i, j, row, col] = lb[k]
    return t
