"""fpgagen.yolo: YOLOv2 region decoding, NMS and training targets on hand-built outputs."""

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from fpgagen.yolo import (
    VOC_ANCHORS,
    VOC_CLASSES,
    box_iou,
    decode_region,
    detect,
    nms,
    region_targets,
    sigmoid,
    softmax,
)

A, C = 5, 20


def _logit(p):
    return float(np.log(p / (1 - p)))


def _empty(grid=13, anchors=A, classes=C):
    """Region output with every objectness logit at -12 (nothing detected)."""
    out = np.zeros((anchors, 5 + classes, grid, grid))
    out[:, 4] = -12.0
    return out


def _put(out, a, row, col, cls, tx=0.0, ty=0.0, tw=0.0, th=0.0, obj=6.0, cls_logit=8.0):
    out[a, 0:5, row, col] = [tx, ty, tw, th, obj]
    out[a, 5:, row, col] = 0.0
    out[a, 5 + cls, row, col] = cls_logit


def _flat(out):
    return out.reshape(-1, out.shape[2], out.shape[3])


def test_anchors_and_classes():
    assert VOC_ANCHORS.shape == (5, 2) and VOC_ANCHORS[0].tolist() == [1.08, 1.19]
    assert len(VOC_CLASSES) == 20 and VOC_CLASSES[14] == "person"


def test_decode_one_cell_geometry():
    out = _empty()
    _put(
        out,
        a=2,
        row=4,
        col=7,
        cls=3,
        tx=_logit(0.25),
        ty=_logit(0.75),
        tw=np.log(0.5),
        th=np.log(2.0),
    )
    dec = decode_region(_flat(out), input_size=416)
    assert dec["boxes"].shape == (5, 13, 13, 4) and dec["scores"].shape == (5, 13, 13, 20)
    cx, cy = (7 + 0.25) * 32, (4 + 0.75) * 32
    w, h = 6.63 * 0.5 * 32, 11.38 * 2.0 * 32
    np.testing.assert_allclose(
        dec["boxes"][2, 4, 7], [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], rtol=1e-12
    )
    np.testing.assert_allclose(dec["objectness"][2, 4, 7], sigmoid(6.0))
    p = dec["class_probs"][2, 4, 7]
    np.testing.assert_allclose(p.sum(), 1.0)
    np.testing.assert_allclose(p[3], np.exp(8) / (np.exp(8) + 19))
    np.testing.assert_allclose(dec["scores"][2, 4, 7], sigmoid(6.0) * p)
    # channel layout: anchor a's entries at channels a*25 .. a*25+24
    flat = _flat(out)
    assert flat[2 * 25 + 4, 4, 7] == 6.0 and flat[2 * 25 + 5 + 3, 4, 7] == 8.0
    # a batch of one is accepted as well
    np.testing.assert_array_equal(decode_region(flat[None])["boxes"], dec["boxes"])


def test_decode_non_square_input_and_grid():
    out = np.zeros((1, 7, 10, 13))
    _put(out, 0, row=9, col=12, cls=1)
    dec = decode_region(
        out.reshape(7, 10, 13), input_size=(320, 416), anchors=[[2.0, 1.0]], num_classes=2
    )
    np.testing.assert_allclose(
        dec["boxes"][0, 9, 12], [12.5 * 32 - 32, 9.5 * 32 - 16, 12.5 * 32 + 32, 9.5 * 32 + 16]
    )


def test_detect_single_object():
    out = _empty()
    _put(out, a=1, row=6, col=6, cls=14)
    det = detect(_flat(out), score_threshold=0.3)
    assert len(det) == 1 and det.classes.tolist() == [14]
    score = sigmoid(6.0) * np.exp(8) / (np.exp(8) + 19)
    np.testing.assert_allclose(det.scores, [score])
    cx = cy = 6.5 * 32
    w, h = 3.42 * 32, 4.41 * 32
    np.testing.assert_allclose(det.boxes[0], [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    assert det.to_list(VOC_CLASSES)[0]["name"] == "person"
    assert len(detect(_flat(out), score_threshold=score + 1e-9)) == 0
    assert len(detect(_flat(out), score_threshold=score)) == 1
    assert len(detect(_flat(_empty()))) == 0


def test_detect_nms_per_class():
    out = _empty()
    # the same object predicted by two neighbouring cells (same class, strong overlap)
    _put(out, a=1, row=6, col=6, cls=7, obj=6.0)
    _put(out, a=1, row=6, col=7, cls=7, tx=_logit(0.05), obj=4.0)
    # a different class on the same spot survives per-class NMS
    _put(out, a=2, row=6, col=6, cls=11, tw=np.log(3.42 / 6.63), th=np.log(4.41 / 11.38))
    # a far-away object of class 7 survives too
    _put(out, a=0, row=1, col=1, cls=7, obj=2.0)
    det = detect(_flat(out), score_threshold=0.3, iou_threshold=0.45)
    assert sorted(det.classes.tolist()) == [7, 7, 11]
    assert np.all(np.diff(det.scores) <= 0)  # sorted by score
    c7 = det.boxes[det.classes == 7]
    assert c7[:, 0].min() < 100 and c7[:, 0].max() > 100  # the strong one and the far one
    # without NMS (threshold 1) both overlapping class-7 boxes are reported
    assert (detect(_flat(out), iou_threshold=1.0).classes == 7).sum() == 3
    assert len(detect(_flat(out), max_detections=2)) == 2


def test_detect_one_box_several_classes():
    out = _empty()
    _put(out, a=0, row=3, col=3, cls=0, cls_logit=0.0)  # uniform classes
    out[0, 5:7, 3, 3] = 5.0  # two equally likely classes
    det = detect(_flat(out), score_threshold=0.3)
    assert det.classes.tolist() == [0, 1]  # equal scores: lower class first
    np.testing.assert_array_equal(det.boxes[0], det.boxes[1])


def test_detect_clips_to_image():
    out = _empty()
    _put(out, a=4, row=0, col=12, cls=2)  # 16.62 x 10.52 cells: larger than the image
    b = detect(_flat(out)).boxes[0]
    assert b[0] > 0 and b[1] == 0.0 and b[2] == 416.0 and b[3] < 416
    b = detect(_flat(out), clip=False).boxes[0]
    assert b[1] < 0 and b[2] > 416


def test_box_iou_and_nms():
    a = np.array([[0, 0, 2, 2], [1, 0, 3, 2], [10, 10, 11, 11], [5, 5, 5, 9]], dtype=float)
    iou = box_iou(a, a)
    np.testing.assert_allclose(iou[0, 1], 2 / 6)
    np.testing.assert_allclose(np.diag(iou)[:3], 1.0)
    assert iou[0, 2] == 0.0 and iou[3, 3] == 0.0  # disjoint, degenerate
    scores = np.array([0.5, 0.9, 0.5, 0.1])
    assert nms(a, scores, 0.3).tolist() == [1, 2, 3]
    assert nms(a, scores, 0.4).tolist() == [1, 0, 2, 3]  # 1/3 <= 0.4 keeps both
    # equal scores: the lower index is kept
    assert nms(a[:2], [0.7, 0.7], 0.3).tolist() == [0]
    assert nms(np.zeros((0, 4)), np.zeros(0)).tolist() == []
    with pytest.raises(ValueError, match="2 boxes but 1 scores"):
        nms(a[:2], [1.0])


def test_region_targets_roundtrip():
    """Targets written into a region output decode back to the truth boxes."""
    boxes = [np.array([[100.0, 120.0, 180.0, 300.0], [10.0, 10.0, 40.0, 30.0]]), np.zeros((0, 4))]
    labels = [np.array([5, 9]), np.zeros(0, dtype=np.int64)]
    t = region_targets(boxes, labels, grid=13, input_size=416)
    assert t["mask"].shape == (2, 5, 13, 13) and t["mask"].sum() == 2
    assert not t["mask"][1].any() and len(t["boxes"][1]) == 0
    # box 0: centre (140, 210) -> cell (6, 4); 2.5 x 5.625 cells -> anchor 1 (3.42 x 4.41)
    assert t["mask"][0, 1, 6, 4] and t["cls"][0, 1, 6, 4] == 5
    np.testing.assert_allclose(
        [t["tx"][0, 1, 6, 4], t["ty"][0, 1, 6, 4]], [140 / 32 - 4, 210 / 32 - 6]
    )
    np.testing.assert_allclose(t["tw"][0, 1, 6, 4], np.log(2.5 / 3.42))
    np.testing.assert_allclose(t["scale"][0, 1, 6, 4], 2 - (80 / 416) * (180 / 416))
    # small box -> anchor 0
    assert t["mask"][0, 0, 0, 0] and t["cls"][0, 0, 0, 0] == 9
    np.testing.assert_allclose(t["boxes"][0][0], [140 / 32, 210 / 32, 2.5, 5.625])

    out = _empty()
    for a, r, c in zip(*np.nonzero(t["mask"][0])):
        _put(
            out,
            a,
            r,
            c,
            int(t["cls"][0, a, r, c]),
            tx=_logit(t["tx"][0, a, r, c]),
            ty=_logit(t["ty"][0, a, r, c]),
            tw=t["tw"][0, a, r, c],
            th=t["th"][0, a, r, c],
        )
    det = detect(_flat(out), score_threshold=0.5)
    order = np.argsort(det.classes)
    assert det.classes[order].tolist() == [5, 9]
    np.testing.assert_allclose(det.boxes[order], boxes[0], atol=1e-9)


def test_region_targets_errors():
    with pytest.raises(ValueError, match="2 boxes but 1 labels"):
        region_targets([np.zeros((2, 4))], [np.zeros(1)], 13, 416)
    with pytest.raises(ValueError, match=r"outside 0..19"):
        region_targets([np.array([[0, 0, 10, 10]])], [np.array([20])], 13, 416)
    with pytest.raises(ValueError, match="x2 > x1"):
        region_targets([np.array([[5, 0, 5, 10]])], [np.array([1])], 13, 416)


def test_decode_errors():
    with pytest.raises(ValueError, match="124 channels; 5 anchors x"):
        decode_region(np.zeros((124, 13, 13)))
    with pytest.raises(ValueError, match="one image at a time"):
        decode_region(np.zeros((2, 125, 13, 13)))


def test_sigmoid_softmax_stable():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = sigmoid([-1000.0, 0.0, 1000.0])
        p = softmax([[1000.0, 0.0], [-1000.0, -1000.0]])
    np.testing.assert_allclose(s, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(p, [[1.0, 0.0], [0.5, 0.5]])


def test_yolo_module_needs_no_torch():
    gen = str(Path(__file__).resolve().parents[1] / "generator")
    code = (
        f"import sys; sys.path.insert(0, {gen!r}); import fpgagen.yolo; "
        "sys.exit(1 if 'torch' in sys.modules else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr


def test_synthetic_shapes_detection():
    from fpgagen.models.datasets import SHAPE_COLOURS, synthetic_shapes_detection

    imgs, boxes, labels = synthetic_shapes_detection(16, size=48, num_classes=6, seed=3)
    assert imgs.shape == (16, 3, 48, 48) and imgs.dtype == np.float32
    assert imgs.min() >= 0.0 and imgs.max() <= 1.0
    assert len(boxes) == len(labels) == 16
    counts = [len(b) for b in boxes]
    assert min(counts) >= 1 and max(counts) <= 3 and len(set(counts)) > 1
    all_labels = np.concatenate(labels)
    assert all_labels.dtype == np.int64 and set(all_labels.tolist()) <= set(range(6))
    assert len(set(all_labels.tolist())) >= 4
    for img, bx, lb in zip(imgs, boxes, labels):
        assert bx.dtype == np.float32 and bx.shape == (len(lb), 4)
        assert np.all(bx[:, 0] >= 0) and np.all(bx[:, 2] <= 48) and np.all(bx[:, 2] > bx[:, 0])
        assert np.all(bx[:, 1] >= 0) and np.all(bx[:, 3] <= 48) and np.all(bx[:, 3] > bx[:, 1])
        # the last object is drawn on top: its box is filled (rectangle) or its centre row and
        # column span the box (ellipse) in the class colour
        x1, y1, x2, y2 = bx[-1].astype(int)
        colour = np.asarray(SHAPE_COLOURS[lb[-1] // 2])[:, None]
        near = np.all(np.abs(img.reshape(3, -1) - colour) < 0.2, axis=0).reshape(48, 48)
        if lb[-1] % 2 == 0:
            assert near[y1:y2, x1:x2].all()
        else:
            assert near[(y1 + y2 - 1) // 2, x1:x2].all() and near[y1:y2, (x1 + x2 - 1) // 2].all()
            assert not near[y1, x1] and not near[y2 - 1, x2 - 1]  # corners are background
    a, b, c = synthetic_shapes_detection(16, size=48, num_classes=6, seed=3)
    assert np.array_equal(a, imgs) and all(np.array_equal(u, v) for u, v in zip(b, boxes))
    assert not np.array_equal(synthetic_shapes_detection(2, size=48, seed=4)[0], imgs[:2])
    t = region_targets(
        boxes, labels, grid=3, input_size=48, anchors=[[1, 1], [2, 2]], num_classes=6
    )
    assert t["mask"].sum() <= sum(counts) and t["mask"].sum() >= len(imgs)
    with pytest.raises(ValueError, match=r"num_classes must be 1..12"):
        synthetic_shapes_detection(1, num_classes=13)
