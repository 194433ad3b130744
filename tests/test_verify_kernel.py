"""``fpgagen verify --backend kernel`` end to end: an MLP on a 128-bit bus (ZCU104) and a
narrow CNV-like CNN on a 512-bit bus (AWS F1), bit-exact against the golden model through the
memory-mapped kernel under nominal memory, random latency and 30% pauses on every AXI channel,
and with an injected SLVERR that must end in ap_done + STATUS (no hang); the kernel's cycles
are reported next to the stream-only design's."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from fpgagen.cli import main
from fpgagen.flow import verify

from tests.support.qonnx_graphs import small_cnn, small_mlp

pytestmark = pytest.mark.rtl


@pytest.mark.parametrize(
    "kind, board, shape, n",
    [("mlp", "zcu104", (16,), 40), ("cnn", "aws-f1", (3, 8, 8), 5)],
)
def test_verify_backend_kernel(kind, board, shape, n, tmp_path, capsys):
    model = small_mlp() if kind == "mlp" else small_cnn("plain")
    onnx.save(model, tmp_path / "m.onnx")
    out = tmp_path / "build"
    assert main(["build", str(tmp_path / "m.onnx"), "--board", board, "-o", str(out)]) == 0
    meta = json.loads((out / "dataflow.json").read_text())
    assert meta["kernel"]["bus_bits"] == (128 if board == "zcu104" else 512)
    x = np.random.default_rng(3).uniform(-1, 1, (n, *shape)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    capsys.readouterr()
    assert (
        main(["verify", str(out), "--inputs", str(tmp_path / "x.npy"), "--backend", "kernel"]) == 0
    )
    text = capsys.readouterr().out
    assert f"kernel: {n}/{n} frames bit-exact" in text
    assert "30% random pauses on every AXI channel" in text and "STATUS = 0x1" in text
    rep = verify(out, tmp_path / "x.npy", backend="kernel", stress=False, progress=lambda s: None)
    assert rep["mismatched_frames"] == 0 and rep["kernel_status"] == 0
    assert rep["kernel_protocol_violations"] == 0
    # the kernel streams the same frames: its cycles are the stream's plus a bounded overhead
    assert rep["stream_cycles"] <= rep["kernel_cycles"] <= rep["stream_cycles"] + 400, rep


def test_verify_backend_kernel_needs_rtl(tmp_path, capsys):
    onnx.save(small_mlp(), tmp_path / "m.onnx")
    out = tmp_path / "build"
    assert (
        main(
            [
                "build",
                str(tmp_path / "m.onnx"),
                "--board",
                "zcu104",
                "-o",
                str(out),
                "--backend",
                "hls",
            ]
        )
        == 0
    )
    np.save(tmp_path / "x.npy", np.zeros((2, 16), np.float32))
    capsys.readouterr()
    assert (
        main(["verify", str(out), "--inputs", str(tmp_path / "x.npy"), "--backend", "kernel"]) == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "without the rtl backend" in err
