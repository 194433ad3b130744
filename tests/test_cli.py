"""Command-line contract: exit codes, one-line errors, no partial output folders."""

import json

import numpy as np
import onnx
import pytest
from fpgagen.cli import main

from tests.support.qonnx_graphs import small_mlp


@pytest.fixture
def model(tmp_path):
    p = tmp_path / "mlp.onnx"
    onnx.save(small_mlp(), p)
    return p


def _err(capsys):
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # exactly one line
    assert "Traceback" not in err
    return err


def test_build_writes_outputs(model, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["build", str(model), "--board", "zcu104", "-o", str(out)]) == 0
    d = json.loads((out / "dataflow.json").read_text())
    assert d["board"] == "zcu104" and d["layers"]
    for l in d["layers"]:
        assert {
            "type",
            "in_shape",
            "out_shape",
            "in_dtype",
            "out_dtype",
            "folding",
            "expected_cycles",
            "resources",
        } <= set(l)
        assert l["resources"]["lut"] > 0
    assert (out / "rtl" / f"{d['rtl']['top']}.v").is_file()
    assert (out / "sim" / "fpgagen_tb.v").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no temp left
    # folding.json round-trips through --folding
    out2 = tmp_path / "out2"
    assert (
        main(
            [
                "build",
                str(model),
                "--board",
                "zcu104",
                "-o",
                str(out2),
                "--folding",
                str(out / "folding.json"),
            ]
        )
        == 0
    )
    d2 = json.loads((out2 / "dataflow.json").read_text())
    assert [l["folding"] for l in d2["layers"]] == [l["folding"] for l in d["layers"]]


def test_verify_golden_with_outputs(model, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["build", str(model), "--board", "zcu104", "-o", str(out)]) == 0
    from fpgagen.flow import load_build

    df, _ = load_build(out)
    x = np.random.default_rng(0).uniform(-2, 2, (8, 16)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", df.golden(x)["y"])
    assert (
        main(
            [
                "verify",
                str(out),
                "--inputs",
                str(tmp_path / "x.npy"),
                "--outputs",
                str(tmp_path / "y.npy"),
            ]
        )
        == 0
    )
    np.save(tmp_path / "y_bad.npy", df.golden(x)["y"] + 1.0)
    assert (
        main(
            [
                "verify",
                str(out),
                "--inputs",
                str(tmp_path / "x.npy"),
                "--outputs",
                str(tmp_path / "y_bad.npy"),
            ]
        )
        == 1
    )
    assert "disagrees with the golden model" in _err(capsys)


@pytest.mark.parametrize(
    "args, pattern",
    [
        (["build", "nope.onnx", "--board", "zcu104", "-o", "OUT"], "nope.onnx: no such file"),
        (
            ["build", "MODEL", "--board", "zcu999", "-o", "OUT"],
            "unknown board 'zcu999'; available: ",
        ),
        (
            ["build", "MODEL", "--board", "zcu104", "-o", "OUT", "--clock-mhz", "900"],
            r"--clock-mhz 900.0 is out of range",
        ),
        (
            ["build", "MODEL", "--board", "zcu104", "-o", "OUT", "--folding", "missing.json"],
            "missing.json: no such folding file",
        ),
        (
            ["estimate", "MODEL", "--board", "zcu104", "--fps", "-3"],
            "argument --fps: .-3. is out of range",
        ),
        (["verify", "OUT", "--inputs", "x.npy"], "not an fpgagen build folder"),
    ],
)
def test_bad_input_one_line_exit_2(args, pattern, model, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = [str(model) if a == "MODEL" else a for a in args]
    try:
        code = main(args)
    except SystemExit as e:  # usage errors (argparse) exit the same way
        code = e.code
    assert code == 2
    err = _err(capsys)
    assert err.startswith("fpgagen: error: ")
    import re

    assert re.search(pattern, err), err
    assert not (tmp_path / "OUT").exists()


def test_not_onnx_leaves_no_outdir(tmp_path, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00\x01garbage")
    assert main(["build", str(bad), "--board", "zcu104", "-o", str(tmp_path / "o")]) == 2
    assert "not an ONNX model" in _err(capsys)
    assert not (tmp_path / "o").exists()


def test_unsupported_op_exit_2(tmp_path, capsys):
    p = tmp_path / "m.onnx"
    onnx.save(small_mlp(extra=lambda b, h: b.node("Sigmoid", [h])), p)
    assert main(["build", str(p), "--board", "zcu104", "-o", str(tmp_path / "o")]) == 2
    assert "(op Sigmoid) is not supported; supported ops:" in _err(capsys)
    assert not (tmp_path / "o").exists()


def test_estimate_and_boards(model, capsys):
    assert main(["estimate", str(model), "--board", "zcu104", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["expected_cycles_per_frame"] == max(l["expected_cycles"] for l in d["layers"])
    assert main(["boards"]) == 0
    assert "zcu104" in capsys.readouterr().out
