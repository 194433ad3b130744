"""Tinier-YOLO-style detector (fpgagen.models.detector): every preset exports and QONNX matches
PyTorch (reduced 64x64 models), the reduced detectors lower and their golden model equals
QONNX, the CPU/FPGA split composes to the full model, the YOLOv2 loss is right on hand-built
predictions and decreases in a short training run, and the full 416x416 network (and its FPGA
part) gets a sensible estimate.  No 416x416 QONNX execution (too slow for the suite)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("brevitas")
pytest.importorskip("qonnx")

from fpgagen.boards import load_board  # noqa: E402
from fpgagen.errors import UnsupportedModelError  # noqa: E402
from fpgagen.flow import argmax_agree, estimate, make_dataflow  # noqa: E402
from fpgagen.models.cnn import cifar_like_images  # noqa: E402
from fpgagen.models.datasets import synthetic_shapes_detection  # noqa: E402
from fpgagen.models.detector import (  # noqa: E402
    DETECTOR_PRESETS,
    DarknetMaxPool,
    TinierYOLO,
    make_detector,
    region_loss,
    train_detector,
)
from fpgagen.models.export import export_qonnx_model, load_clean_model, qonnx_execute  # noqa: E402
from fpgagen.yolo import VOC_ANCHORS, detect, region_targets  # noqa: E402

from tests.support.torch_qonnx import assert_torch_matches_qonnx  # noqa: E402

pytestmark = pytest.mark.torch

NAMES = sorted(DETECTOR_PRESETS)
SMALL = dict(input_hw=64, width=0.125)
#: weight kind of every preset's hidden layers
HIDDEN_W = {n: p["weights"] for n, p in DETECTOR_PRESETS.items()}

_MODELS: dict = {}


def _det(tmp_path_factory, name, **kw):
    """(model, onnx path) of ``make_detector(name, **SMALL, **kw)`` (cached per session)."""
    kw = {**SMALL, **kw}
    key = (name, tuple(sorted(kw.items())))
    if key not in _MODELS:
        model = make_detector(name, **kw)
        d = tmp_path_factory.mktemp("detector")
        tag = "_".join(f"{k}{v}" for k, v in sorted(kw.items()))
        _MODELS[key] = (
            model,
            export_qonnx_model(model, model.input_shape, d / f"{name}{tag}.onnx"),
        )
    return _MODELS[key]


@pytest.fixture(scope="module")
def images64():
    return cifar_like_images(4, seed=2, size=64)


@pytest.fixture(scope="module")
def full416(tmp_path_factory):
    """The 416x416 Tinier-YOLO (BN at defaults) and its FPGA part, exported (not executed)."""
    model = make_detector("tinier_yolo", random_bn=False)
    d = tmp_path_factory.mktemp("detector416")
    fpga = model.split()["fpga"]
    return dict(
        model=model,
        path=export_qonnx_model(model, model.input_shape, d / "tinier_yolo.onnx"),
        fpga_path=export_qonnx_model(fpga, fpga.input_shape, d / "tinier_yolo_fpga.onnx"),
    )


# --------------------------------------------------------------------------------------------
# export, torch == QONNX, golden == QONNX (reduced size)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_detector_preset_exports_and_matches_torch(name, tmp_path_factory, images64):
    model, path = _det(tmp_path_factory, name)
    assert model.grid == 2 and model.out_channels == 125
    mw = load_clean_model(path)
    ops = [n.op_type for n in mw.graph.node]
    assert ops.count("Conv") == 9 and ops.count("MaxPool") == 5
    assert tuple(mw.get_tensor_shape(mw.graph.output[0].name)) == (1, 125, 2, 2)
    err, _ = assert_torch_matches_qonnx(model, path, images64)
    assert err <= 1e-4


@pytest.mark.parametrize(
    "name",
    [n for n in NAMES if n not in ("tinier_yolo_w1a1", "tinier_yolo_w1a3")]
    + ["tinier_yolo_syq_row"],
)
def test_small_detector_golden_matches_qonnx(name, tmp_path_factory, images64):
    kw = {}
    if name == "tinier_yolo_syq_row":
        name, kw["syq_group"] = "tinier_yolo_syq", "row"
    _, path = _det(tmp_path_factory, name, **kw)
    df = make_dataflow(path, load_board("zcu104"), fps=1000)
    ref = qonnx_execute(path, images64)
    gold = df.golden(images64)
    assert gold["y"].shape == ref.shape == (4, 125, 2, 2)
    np.testing.assert_allclose(gold["y"], ref, atol=1e-4 * max(1.0, np.abs(ref).max()), rtol=0)
    assert argmax_agree(gold["y"].reshape(4, -1), ref.reshape(4, -1))
    mvaus = [l for l in df.layers if l.op_type == "MVAU"]
    assert len(mvaus) == 9  # every convolution, the 8-bit first and last included
    assert [l.w_dtype.name for l in mvaus[:1] + mvaus[-1:]] == ["INT8", "INT8"]
    assert mvaus[0].in_dtype.name == "UINT8"
    if HIDDEN_W[name] == "binary":
        assert {l.w_dtype.name for l in mvaus[1:-1]} == {"BIPOLAR"}
    if name == "tinier_yolo_syq":
        grouped = [l.grouped for l in mvaus]
        if kw:  # per-row scales fold into the thresholds
            assert not any(grouped)
        else:  # per-kernel-pixel scales: grouped MVAUs for the hidden 3x3 convolutions
            assert grouped == [False] + [True] * 7 + [False]
    # the stride-1 max pool lowers with a bottom/right padding of the smallest code
    pads = [l for l in df.layers if l.op_type == "FMPadding" and "MaxPool" in l.name]
    assert len(pads) == 1


def test_w1a1_detector_padding_is_refused(tmp_path_factory):
    """Bipolar activations cannot represent the 0.0 of the zero padding: refused by name."""
    _, path = _det(tmp_path_factory, "tinier_yolo_w1a1")
    with pytest.raises(UnsupportedModelError, match=r"pads with 0.0, which this BIPOLAR stream"):
        make_dataflow(path, load_board("zcu104"), fps=1000)


def test_preset_aliases_and_errors():
    assert DETECTOR_PRESETS["tinier_yolo"] == DETECTOR_PRESETS["tinier_yolo_w1a3"]
    with pytest.raises(KeyError, match="unknown detector preset"):
        make_detector("yolo9000")
    with pytest.raises(ValueError, match="multiple of 32"):
        TinierYOLO(input_hw=100)
    m = make_detector(
        "tinier_yolo", input_hw=96, num_classes=6, anchors=VOC_ANCHORS[:3], random_bn=False
    )
    assert m.grid == 3 and m.out_channels == 3 * 11
    assert [b[0].out_channels for b in [m.first, *m.body]] == [16, 64, 64, 128, 256, 512, 512, 512]


# --------------------------------------------------------------------------------------------
# CPU / FPGA split and the darknet max pool
# --------------------------------------------------------------------------------------------
def test_split_composes_and_fpga_part_lowers(tmp_path, images64):
    model = make_detector("tinier_yolo", input_hw=64, width=0.25, seed=4)
    parts = model.split()
    x = torch.as_tensor(images64)
    with torch.no_grad():
        h = parts["cpu_head"](x)
        y = parts["cpu_tail"](parts["fpga"](h))
        np.testing.assert_array_equal(y.numpy(), model(x).numpy())
        # the head's output is on the 3-bit grid the FPGA part's input quantizer expects
        codes = np.round(h.numpy() * 7)
        np.testing.assert_allclose(codes / 7, h.numpy(), atol=1e-6, rtol=0)
        assert codes.min() == 0 and codes.max() == 7
    fpga = parts["fpga"]
    assert fpga.input_shape == (1, 4, 32, 32)
    path = export_qonnx_model(fpga, fpga.input_shape, tmp_path / "fpga.onnx")
    df = make_dataflow(path, load_board("zcu104"), fps=1000)
    mvaus = [l for l in df.layers if l.op_type == "MVAU"]
    assert len(mvaus) == 7 and {l.w_dtype.name for l in mvaus} == {"BIPOLAR"}
    assert df.to_dict()["input"]["hw_dtype"] == "UINT3"
    hn = h.numpy()
    gold = df.golden(hn)
    ref = qonnx_execute(path, hn)
    np.testing.assert_allclose(gold["y"], ref, atol=1e-6, rtol=0)
    with torch.no_grad():
        np.testing.assert_allclose(ref, parts["fpga"](h).numpy(), atol=1e-6, rtol=0)


def test_darknet_maxpool():
    x = torch.randn(2, 3, 5, 4)
    y = DarknetMaxPool()(x)
    assert y.shape == x.shape
    ref = torch.full((2, 3, 6, 5), -np.inf)
    ref[:, :, :5, :4] = x
    for i in range(5):
        for j in range(4):
            assert torch.equal(y[:, :, i, j], ref[:, :, i : i + 2, j : j + 2].amax(dim=(2, 3)))


# --------------------------------------------------------------------------------------------
# YOLOv2 loss and training
# --------------------------------------------------------------------------------------------
def _perfect_output(t, num_classes, grid):
    """Region logits that reproduce targets ``t`` exactly (objectness 1 on the truth cells)."""
    n, a = t["mask"].shape[:2]
    out = np.zeros((n, a, 5 + num_classes, grid, grid))
    out[:, :, 4] = -30.0
    m = t["mask"]
    eps = 1e-12
    out[:, :, 0][m] = np.log((t["tx"][m] + eps) / (1 - t["tx"][m] + eps))
    out[:, :, 1][m] = np.log((t["ty"][m] + eps) / (1 - t["ty"][m] + eps))
    out[:, :, 2][m] = t["tw"][m]
    out[:, :, 3][m] = t["th"][m]
    out[:, :, 4][m] = 30.0
    idx = np.nonzero(m)
    out[idx[0], idx[1], 5 + t["cls"][m], idx[2], idx[3]] = 40.0
    return torch.tensor(out.reshape(n, -1, grid, grid), dtype=torch.float32)


def test_region_loss_on_hand_built_predictions():
    boxes = [
        np.array([[100.0, 120.0, 180.0, 300.0], [10.0, 10.0, 60.0, 40.0]]),
        np.array([[200.0, 200.0, 400.0, 380.0]]),
    ]
    labels = [np.array([5, 9]), np.array([0])]
    t = region_targets(boxes, labels, grid=13, input_size=416)
    perfect = _perfect_output(t, 20, 13)
    # rescore=False: objectness target 1, so a perfect prediction costs (almost) nothing
    assert float(region_loss(perfect, t, rescore=False)) < 1e-6
    # rescore=True: target = IoU(pred, truth) = 1 for a perfect box as well
    assert float(region_loss(perfect, t)) < 1e-6
    # the decoded detections are the truth boxes
    det = detect(perfect[0].numpy(), score_threshold=0.5)
    np.testing.assert_allclose(det.boxes[np.argsort(det.classes)], boxes[0], atol=1e-3)

    # each error raises the loss by the expected amount
    bad = perfect.clone().view(2, 5, 25, 13, 13)
    a, r, c = (int(v) for v in np.argwhere(t["mask"][0])[0])
    bad[0, a, 2, r, c] += 0.5  # tw off by 0.5: coord_scale * (2 - w*h) * 0.25 / batch 2
    lo = float(region_loss(bad.view(2, 125, 13, 13), t, rescore=False))
    np.testing.assert_allclose(lo, t["scale"][0, a, r, c] * 0.25 / 2, rtol=1e-4)
    bad = perfect.clone().view(2, 5, 25, 13, 13)
    bad[1, 0, 4, 0, 0] = 0.0  # a background prediction at objectness 0.5: noobject 0.25 / 2
    np.testing.assert_allclose(
        float(region_loss(bad.view(2, 125, 13, 13), t, rescore=False)), 0.125, rtol=1e-5
    )
    bad = perfect.clone().view(2, 5, 25, 13, 13)
    bad[0, a, 5:, r, c] = 0.0  # uniform classes: cross entropy log(20) / 2
    np.testing.assert_allclose(
        float(region_loss(bad.view(2, 125, 13, 13), t, rescore=False)), np.log(20) / 2, rtol=1e-5
    )
    with pytest.raises(ValueError, match="expected 5 anchors"):
        region_loss(torch.zeros(2, 124, 13, 13), t)


def test_training_smoke_loss_decreases():
    imgs, boxes, labels = synthetic_shapes_detection(32, size=64, num_classes=6, seed=0)
    model = make_detector(
        "tinier_yolo", input_hw=64, width=0.25, num_classes=6, seed=1, random_bn=False
    )
    res = train_detector(model, imgs, boxes, labels, steps=30, batch_size=8, lr=3e-3, seed=0)
    losses = res["losses"]
    assert len(losses) == 30 and all(np.isfinite(losses))
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5]), losses
    assert not model.training
    # binary latent weights stay clipped
    w = model.body[0][0].weight.detach()
    assert float(w.abs().max()) <= 1.0
    with pytest.raises(ValueError, match="the model expects"):
        train_detector(model, imgs[:, :, :32, :32], boxes, labels, steps=1)


# --------------------------------------------------------------------------------------------
# the full 416x416 network
# --------------------------------------------------------------------------------------------
#: multiply-accumulates per frame of Tinier-YOLO at 416x416 (layers 0..8)
MACS_416 = [
    208 * 208 * 16 * 27,
    208 * 208 * 64 * 144,
    104 * 104 * 64 * 576,
    52 * 52 * 128 * 576,
    26 * 26 * 256 * 1152,
    13 * 13 * 512 * 2304,
    13 * 13 * 512 * 4608,
    13 * 13 * 512 * 4608,
    13 * 13 * 125 * 512,
]


@pytest.mark.slow
def test_full_416_detector_structure_and_estimate(full416):
    mw = load_clean_model(full416["path"])
    assert tuple(mw.get_tensor_shape(mw.graph.output[0].name)) == (1, 125, 13, 13)
    pools = [
        {a.name: list(a.ints) for a in n.attribute} for n in mw.graph.node if n.op_type == "MaxPool"
    ]
    assert [p["strides"] for p in pools] == [[2, 2]] * 4 + [[1, 1]]
    assert [p.get("pads", [0] * 4) for p in pools] == [[0, 0, 0, 0]] * 4 + [[0, 0, 1, 1]]

    # the whole network (first/last 8-bit layers in hardware as well) on a ZCU102
    # --io stream: the fastest design within the cap (with the memory path, the default
    # stops at the I/O bound: the host packs 416 x 416 x 3 bytes per frame)
    d = estimate(full416["path"], "zcu102", io="stream")
    rep = d["report"]
    assert rep["macs_per_frame"] == sum(MACS_416)  # 2.2 GMAC = 4.4 GOp per frame
    assert rep["fits_cap"]
    # faster than the old wall of the first sliding window (208*208 windows x 9 pixels, one
    # pixel per cycle): its window-parallel mode emits several window pixels per cycle (259,584
    # cycles here, LUTs with their band binding); several whole windows per cycle (MMV) would
    # need the layer fully unrolled, which this LUT budget does not allow
    d_cycles = d["expected_cycles_per_frame"]
    assert 208 * 208 <= d_cycles < 208 * 208 * 9
    assert 0 < d["resources"]["dsp"] and d["resources"]["bram18"] > 300  # ~6 Mbit of weights
    io = estimate(full416["path"], "zcu102")["report"]
    assert io["binds"] == "host" and io["predicted_fps"] == io["io"]["io_fps"] < rep["fps"]
    assert io["io"]["in_bytes_per_frame"] == 416 * 416 * 3

    # the FPGA part of the video pipeline (layers 1-7), simple folding for 150 fps
    d = estimate(full416["fpga_path"], "zcu102", fps=150, strategy="simple")
    assert d["input"]["hw_dtype"] == "UINT3" and d["input"]["shape"] == [1, 16, 208, 208]
    assert d["report"]["macs_per_frame"] == sum(MACS_416[1:-1])
    assert d["resources"]["dsp"] == 0  # binary weights x 3-bit activations: no multipliers
    assert d["expected_fps"] >= 150 and d["report"]["fits_cap"]
