"""Fixtures of the video pipeline tests: a small detector (64x64 input, 2x2 grid, 3 classes,
random BatchNorm statistics) with its detector metadata, built for the ZCU104, and a clip."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("cv2")


def _quiet(_s):
    pass


@pytest.fixture(scope="session")
def det_build(tmp_path_factory):
    """``(outdir, onnx path)`` of the small detector built with --backend rtl (auto CPU split)."""
    from fpgagen.flow import build
    from fpgagen.models.cli_detector import export_detector
    from fpgagen.models.detector import make_detector

    root = tmp_path_factory.mktemp("det")
    net = make_detector(
        "tinier_yolo",
        input_hw=64,
        width=0.125,
        num_classes=3,
        anchors=np.array([[0.8, 0.8], [1.4, 1.0], [1.0, 1.6]]),
        seed=5,
    )
    onnx_path = export_detector(net, root / "det.onnx")
    out = root / "build"
    build(onnx_path, "zcu104", out, backend="rtl", progress=_quiet)
    return out, onnx_path


@pytest.fixture(scope="session")
def clip(tmp_path_factory):
    """``(path, truth)``: a 5-frame 80x64 mp4 of moving shapes."""
    from fpgagen.models.clip import make_clip

    p = tmp_path_factory.mktemp("clip") / "clip.mp4"
    truth = make_clip(p, frames=5, width=80, height=64, objects=2, num_classes=3, seed=1)
    return p, truth
