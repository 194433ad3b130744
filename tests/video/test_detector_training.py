"""Detection data, VOC mAP and ``fpgagen train --model tinier_yolo --dataset shapes``."""

from __future__ import annotations

import numpy as np
import pytest
from fpgagen.cli import main
from fpgagen.video.metrics import mean_ap, voc_ap


def test_voc_ap_all_point_interpolation():
    # 3 truths; detections in score order: TP, FP, TP, FP -> recall .33 .33 .67 .67,
    # precision 1 .5 .67 .5; envelope: 1 up to r=1/3, 2/3 up to r=2/3, 0 after
    ap = voc_ap([1 / 3, 1 / 3, 2 / 3, 2 / 3], [1.0, 0.5, 2 / 3, 0.5])
    assert ap == pytest.approx(1 / 3 * 1.0 + 1 / 3 * 2 / 3)


def test_mean_ap_matching_rules():
    truths = [(np.array([[0, 0, 10, 10], [20, 20, 30, 30]]), np.array([0, 1]))]
    perfect = [(np.array([[0, 0, 10, 10], [20, 20, 30, 30]]), np.array([0.9, 0.8]), [0, 1])]
    assert mean_ap(perfect, truths, 2)["map"] == 1.0
    # a duplicate of a matched truth is a false positive; a wrong class matches nothing
    dup = [
        (
            np.array([[0, 0, 10, 10], [1, 0, 10, 10], [20, 20, 30, 30]]),
            np.array([0.9, 0.95, 0.8]),
            [0, 0, 0],
        )
    ]
    r = mean_ap(dup, truths, 2)
    assert r["ap"][0] == pytest.approx(1.0) and r["ap"][1] == 0.0 and r["map"] == 0.5
    # IoU below 0.5 is a miss: box [0, 0, 10, 4] has IoU 0.4 with the truth
    miss = [(np.array([[0, 0, 10, 4]]), np.array([0.9]), [0])]
    assert mean_ap(miss, truths, 2)["ap"][0] == 0.0
    assert np.isnan(mean_ap(perfect, truths, 3)["ap"][2])  # no truth of class 2


def test_shapes_on_photos_dataset():
    pytest.importorskip("skimage")
    from fpgagen.models.datasets import synthetic_shapes_detection

    x, b, l = synthetic_shapes_detection(6, size=64, background="photos", seed=3)
    x2, b2, _ = synthetic_shapes_detection(6, size=64, background="photos", seed=3)
    assert x.shape == (6, 3, 64, 64) and np.array_equal(x, x2)  # deterministic
    assert all(len(bb) == len(ll) >= 1 for bb, ll in zip(b, l))
    assert all(np.all(bb[:, 2:] > bb[:, :2]) for bb in b)
    assert x.std(axis=(1, 2, 3)).min() > 0.05  # textured backgrounds, not flat grey


@pytest.mark.torch
@pytest.mark.slow
def test_train_tinier_yolo_cli_builds_a_detector(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("skimage")
    out = tmp_path / "det.onnx"
    rc = main(
        [
            "train",
            "--model",
            "tinier_yolo",
            "--dataset",
            "shapes",
            "--input-size",
            "32",
            "--width",
            "0.25",
            "--classes",
            "2",
            "--epochs",
            "1",
            "-o",
            str(out),
        ]
    )
    o = capsys.readouterr()
    assert rc == 0, o.err
    assert "mAP@0.5 float" in o.out and "hardware (golden)" in o.out
    from fpgagen.video.darknet import detector_meta

    meta = detector_meta(out)
    assert meta["input_size"] == 32 and meta["num_classes"] == 2 and len(meta["anchors"]) == 5
    assert meta["classes"] == ["red_rectangle", "red_ellipse"]
    rc = main(["estimate", str(out), "--board", "zcu104", "--json"])
    o = capsys.readouterr()
    assert rc == 0, o.err
    assert '"cpu_head": [\n      "first_first_0_Conv"' in o.out


@pytest.mark.parametrize(
    "args, msg",
    [
        (["--dataset", "mnist5k"], "trains on --dataset shapes"),
        (["--input-size", "100"], "--input-size 100: use a positive multiple of 32"),
        (["--abits", "1"], "--abits 1: the detector's hidden activations take 2..8 bits"),
    ],
)
def test_train_tinier_yolo_bad_arguments(args, msg, tmp_path, capsys):
    rc = main(["train", "--model", "tinier_yolo", *args, "-o", str(tmp_path / "d.onnx")])
    err = capsys.readouterr().err
    assert rc == 2 and msg in err and err.count("\n") == 1


def test_detector_options_refused_for_other_models(tmp_path, capsys):
    rc = main(["train", "--model", "tfc", "--width", "0.5", "-o", str(tmp_path / "m.onnx")])
    assert rc == 2 and "--width applies to --model tinier_yolo only" in capsys.readouterr().err


@pytest.mark.torch
def test_float_pretraining_then_binary_fine_tuning(tmp_path):
    """pretrain_epochs: float hidden weights first, then the binary quantizer (latent weights
    scaled into [-1, 1]); fresh data per epoch; the export is the binary network (the golden
    hardware model gives the float model's mAP) and the checkpoint holds every epoch."""
    pytest.importorskip("torch")
    pytest.importorskip("skimage")
    import onnx
    import torch
    from fpgagen.models.cli_detector import train_detector_and_export

    out, ck = tmp_path / "d.onnx", tmp_path / "d.pt"
    r = train_detector_and_export(
        out,
        epochs=3,
        input_size=32,
        width=0.25,
        num_classes=2,
        n_train=16,
        n_test=8,
        pretrain_epochs=2,
        eval_every=1,
        checkpoint=ck,
        progress=False,
        evaluate=("float", "golden"),
    )
    assert [h["phase"] for h in r["history"]] == ["float", "float", "binary"]
    assert all("map_float" in h for h in r["history"])
    assert r["map_golden"] == pytest.approx(r["map_float"], abs=1e-6)
    ops = {n.op_type for n in onnx.load(str(out)).graph.node}
    assert "BipolarQuant" in ops
    state = torch.load(ck, weights_only=False)
    assert len(state["history"]) == 3
    w = [v for k, v in state["state"].items() if k.startswith("body.") and k.endswith("0.weight")]
    assert w and all(float(t.abs().max()) <= 1.0 for t in w)
