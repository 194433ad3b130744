"""End to end: Brevitas MLPs -> fpgagen build -> Verilator RTL, bit-exact and on time.

These are the acceptance tests of the MLP path: each network is exported by Brevitas, built
for the ZCU104 with the CLI, verified with ``fpgagen verify --backend rtl`` on 16 inputs
against the golden model and against QONNX's executor on the original ONNX, and the measured
cycles per frame must be within 5% of dataflow.json's expectation.
"""

import json

import numpy as np
import pytest

pytest.importorskip("torch")

from fpgagen.cli import main
from fpgagen.flow import load_build, verify
from fpgagen.models.export import qonnx_execute

pytestmark = [pytest.mark.rtl, pytest.mark.hls, pytest.mark.torch]

CASES = [
    # preset, folding override (None = default rule), description
    ("tfc_w1a1", None),  # 784-64-64-64-10 binary weights and activations (XNOR-popcount)
    ("tfc_w2a2", None),  # full-range 2-bit weights, 2-bit activations
    ("tfc_w1a2", None),  # binary weights, 2-bit activations
    ("mlp_ternary_odd", None),  # ternary weights, odd widths 64-40-24-10
    ("tiny_w4a4", {"PE": 4, "SIMD": 8}),  # int4, folding from a JSON file
]


@pytest.mark.parametrize("name, fold", CASES, ids=[c[0] for c in CASES])
def test_brevitas_mlp_rtl_bit_exact(
    name, fold, preset_onnx, tmp_path, mnist_samples, digits_samples, capsys
):
    onnx_path = preset_onnx(name, 0)
    x = (mnist_samples if name.startswith(("tfc", "mlp")) else digits_samples)[0][:16]
    out = tmp_path / "build"
    args = ["build", str(onnx_path), "--board", "zcu104", "-o", str(out), "--backend", "both"]
    if fold:
        from fpgagen.boards import load_board
        from fpgagen.flow import make_dataflow

        df0 = make_dataflow(onnx_path, load_board("zcu104"))
        spec = {"layers": {l.name: dict(fold) for l in df0.compute_layers[:2]}}
        (tmp_path / "fold.json").write_text(json.dumps(spec))
        args += ["--folding", str(tmp_path / "fold.json")]
    else:  # 1 Mfps at 200 MHz: 200 cycles per frame (the default is the fastest that fits)
        args += ["--fps", "1000000"]
    assert main(args) == 0
    y_ref = qonnx_execute(onnx_path, x)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y_ref)
    # the CLI contract: exit 0 when RTL == golden and golden == ONNX outputs
    assert (
        main(
            [
                "verify",
                str(out),
                "--inputs",
                str(tmp_path / "x.npy"),
                "--backend",
                "rtl",
                "--outputs",
                str(tmp_path / "y.npy"),
            ]
        )
        == 0
    )
    rep = verify(
        out,
        tmp_path / "x.npy",
        backend="rtl",
        outputs=tmp_path / "y.npy",
        stress=False,
        progress=lambda s: None,
    )
    assert rep["mismatched_frames"] == 0
    assert rep["onnx_max_abs_err"] <= 1e-4 and rep["onnx_argmax_equal"]
    assert abs(rep["cycles_error"]) <= 0.05, rep
    # the HLS C++ of the same build agrees too
    assert (
        main(
            [
                "verify",
                str(out),
                "--inputs",
                str(tmp_path / "x.npy"),
                "--backend",
                "hls",
                "--outputs",
                str(tmp_path / "y.npy"),
            ]
        )
        == 0
    )
    if fold:
        df, _ = load_build(out)
        assert df.compute_layers[0].folding() == fold


def test_rtl_mismatch_is_detected(preset_onnx, tmp_path, digits_samples):
    """Corrupt the generated weight memory (every bit flipped): verify must fail with exit 1."""
    onnx_path = preset_onnx("tiny_w1a1", 0)
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
                "--backend",
                "rtl",
                "--fps",
                "10000000",
            ]
        )
        == 0
    )
    mem = sorted((out / "rtl" / "mem").glob("*_weights.mem"))[0]
    lines = mem.read_text().split()
    mask = (1 << (4 * len(lines[0]))) - 1
    lines = [format(int(w, 16) ^ mask, f"0{len(w)}x") for w in lines]
    mem.write_text("\n".join(lines) + "\n")
    np.save(tmp_path / "x.npy", digits_samples[0])
    assert (
        main(
            [
                "verify",
                str(out),
                "--inputs",
                str(tmp_path / "x.npy"),
                "--backend",
                "rtl",
                "--no-stress",
            ]
        )
        == 1
    )
