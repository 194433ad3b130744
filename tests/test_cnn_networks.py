"""Acceptance tests of the convolutional path on Brevitas networks, RTL and HLS.

The bnn_pynq CNV networks (W1A1, W2A2), a ResNet-style network (two residual blocks, ternary
weights, 4-bit activations) and a depthwise-separable network are exported by Brevitas,
built with the CLI, and verified with ``fpgagen verify --backend rtl`` on 8 images: every
output word equal to the golden model, the golden model equal to QONNX's executor on the
original ONNX, and measured cycles per frame within 5% of dataflow.json; then the HLS C++ of
the same build passes ``--backend hls`` on the same images.
"""

import json

import numpy as np
import pytest

pytest.importorskip("torch")

from fpgagen.cli import main
from fpgagen.flow import verify
from fpgagen.models.export import qonnx_execute

pytestmark = [pytest.mark.rtl, pytest.mark.hls, pytest.mark.torch, pytest.mark.slow]

# network, target fps at the ZCU104's 200 MHz (keeps each simulation to ~20k cycles/frame)
NETWORKS = [("cnv_w1a1", 10000), ("cnv_w2a2", 10000), ("resnet_t4", 10000), ("dwsep_w4a4", 10000)]


@pytest.mark.parametrize("name, fps", NETWORKS, ids=[n for n, _ in NETWORKS])
def test_cnn_rtl_bit_exact(name, fps, cnn_onnx, cifar_like_samples, tmp_path):
    onnx_path = cnn_onnx(name, 0)
    x = cifar_like_samples[:8]
    out = tmp_path / "build"
    assert (
        main(
            [
                "build",
                str(onnx_path),
                "--board",
                "zcu104",
                "-o",
                str(out),
                "--fps",
                str(fps),
                "--backend",
                "both",
            ]
        )
        == 0
    )
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", qonnx_execute(onnx_path, x))
    rep = verify(out, tmp_path / "x.npy", backend="rtl", outputs=tmp_path / "y.npy", progress=print)
    assert rep["mismatched_frames"] == 0 and rep["stress_mismatched_frames"] == 0
    assert rep["onnx_max_abs_err"] <= 1e-4 and rep["onnx_argmax_equal"]
    assert abs(rep["cycles_error"]) <= 0.05, rep
    rep = verify(out, tmp_path / "x.npy", backend="hls", outputs=tmp_path / "y.npy", progress=print)
    assert rep["mismatched_frames"] == 0
    d = json.loads((out / "dataflow.json").read_text())
    types = {l["type"] for l in d["layers"]}
    if name == "resnet_t4":
        assert {"DuplicateStreams", "AddStreams"} <= types
    if name == "dwsep_w4a4":
        assert "VVAU" in types
