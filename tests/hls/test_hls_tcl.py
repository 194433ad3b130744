"""The generated Vitis HLS Tcl script and Makefile, run under tclsh with a strict stub of the
Vitis HLS commands (tests/tcl/vitis_hls_stub.tcl); no Xilinx tools needed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from fpgagen.boards import load_board
from fpgagen.codegen.hls import write_hls
from fpgagen.dataflow import Dataflow
from fpgagen.datatypes import int_type
from fpgagen.layers import DWC, FIFO, MVAU

from tests.support.tools import require

STUB = Path(__file__).resolve().parents[1] / "tcl" / "vitis_hls_stub.tcl"
TCLSH = shutil.which("tclsh")


@pytest.fixture(autouse=True)
def _tclsh():
    require(TCLSH is not None, "tclsh not installed")


def _dataflow(name="tcl_demo") -> Dataflow:
    rng = np.random.default_rng(0)
    i4 = int_type(4)
    m = MVAU("fc0", rng.integers(-3, 4, (6, 8)), i4, i4, pe=3, simd=2)
    layers = [
        FIFO("fifo_in", i4, 8, 4, 8),
        DWC("dwc_0", i4, 8, 4, 2),
        m,
        FIFO("fifo_out", m.out_dtype, 6, 3, 8),
    ]
    prev = getattr(Dataflow, "INPUT", "s_in")
    for i, l in enumerate(layers):  # stream names of the dataflow graph
        l.ins, l.outs = [prev], [f"s_{i}"]
        prev = l.outs[0]
    return Dataflow(name, "hand-made", None, layers, None)


def _run(hls_dir: Path, log: Path, steps: str | None = None, script: str = "run_hls.tcl"):
    env = dict(os.environ)
    env.pop("FPGAGEN_HLS_STEPS", None)
    if steps is not None:
        env["FPGAGEN_HLS_STEPS"] = steps
    # run from elsewhere: the script must cd to its own folder
    return subprocess.run(
        [TCLSH, str(STUB), str(log), str(hls_dir / script)],
        cwd="/",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


_SPLIT = (
    'set f [open [lindex $argv 0]]\nwhile {[gets $f line] >= 0} { puts [join $line "\\x1f"] }\n'
)


def _parse(log: Path) -> list[list[str]]:
    """The stub's log (one Tcl list per line) as Python lists, split by tclsh itself."""
    script = log.with_suffix(".split.tcl")
    script.write_text(_SPLIT)
    out = subprocess.run(
        [TCLSH, str(script), str(log)], capture_output=True, text=True, check=True
    ).stdout
    return [l.split("\x1f") for l in out.splitlines()]


@pytest.fixture
def design(tmp_path):
    board = load_board("zcu104")
    info = write_hls(_dataflow(), tmp_path, board.part, board.default_mhz)
    return tmp_path / "hls", info, board


def test_default_steps_csim_and_csynth(design, tmp_path):
    hls, info, board = design
    log = tmp_path / "calls.log"
    res = _run(hls, log)
    assert res.returncode == 0, res.stderr
    calls = _parse(log)
    names = [c[0] for c in calls]
    assert names == [
        "open_project",
        "set_top",
        "add_files",
        "add_files",
        "add_files",
        "add_files",
        "open_solution",
        "set_part",
        "create_clock",
        "csim_design",
        "csynth_design",
        "close_project",
        "exit",
    ]
    top = info["top"]
    assert calls[0] == ["open_project", "-reset", f"{top}_prj"]
    assert calls[1] == ["set_top", top]
    added = [c for c in calls if c[0] == "add_files"]
    assert added[0] == ["add_files", f"{top}.cpp", "-cflags", "-std=c++14"]
    assert added[1] == ["add_files", "-tb", "tb.cpp", "-cflags", "-std=c++14"]
    assert [c[-1] for c in added[2:]] == ["tb_input.hex", "tb_expected.hex"]
    for c in added:  # every file the script adds exists (the stub checks it, relative to hls/)
        f = c[2] if c[1] == "-tb" else c[1]
        assert (hls / f).is_file()
    assert ["set_part", board.part] in calls
    assert ["create_clock", "-period", "5", "-name", "default"] in calls  # 200 MHz board clock
    assert ["open_solution", "-reset", "-flow_target", "vivado", "sol1"] in calls
    assert ["csim_design", "-argv", "tb_input.hex tb_output.hex tb_expected.hex"] in calls
    assert calls[-1] == ["exit", "0"]


def test_all_steps(design, tmp_path):
    hls, info, _ = design
    log = tmp_path / "calls.log"
    res = _run(hls, log, "csim csynth cosim ip")
    assert res.returncode == 0, res.stderr
    calls = _parse(log)
    names = [c[0] for c in calls]
    assert names[names.index("create_clock") + 1 :] == [
        "csim_design",
        "csynth_design",
        "cosim_design",
        "export_design",
        "close_project",
        "exit",
    ]
    cosim = calls[names.index("cosim_design")]
    assert cosim[:3] == ["cosim_design", "-rtl", "verilog"]
    export = calls[names.index("export_design")]
    assert export[1:5] == ["-format", "ip_catalog", "-rtl", "verilog"]
    assert export[export.index("-display_name") + 1] == info["top"]


@pytest.mark.parametrize("steps", ["cosim", "ip"])
def test_cosim_and_ip_imply_csynth(design, tmp_path, steps):
    hls, _, _ = design
    log = tmp_path / "calls.log"
    res = _run(hls, log, steps)
    assert res.returncode == 0, res.stderr
    names = [c[0] for c in _parse(log)]
    assert "csynth_design" in names and "csim_design" not in names


def test_unknown_step_is_rejected(design, tmp_path):
    hls, _, _ = design
    res = _run(hls, tmp_path / "calls.log", "csim synth")
    assert res.returncode == 1
    assert "unknown step 'synth'" in res.stderr and "csim csynth cosim ip" in res.stderr


def test_clock_period_follows_the_clock(tmp_path):
    write_hls(_dataflow(), tmp_path, "xcu250-figd2104-2L-e", 300.0)
    log = tmp_path / "calls.log"
    assert _run(tmp_path / "hls", log).returncode == 0
    calls = _parse(log)
    assert ["create_clock", "-period", "3.333", "-name", "default"] in calls
    assert ["set_part", "xcu250-figd2104-2L-e"] in calls


@pytest.mark.parametrize(
    "line,msg",
    [
        ("csynth_design -bogus", "csynth_design: unknown option '-bogus'"),
        ("synth_design", "unknown command 'synth_design'"),
        ("open_solution -flow_target fpga s", "-flow_target 'fpga' is not one of"),
        ("add_files missing.cpp", "no such file 'missing.cpp'"),
    ],
)
def test_stub_is_strict(tmp_path, line, msg):
    (tmp_path / "s.tcl").write_text(f"open_project p\n{line}\n")
    res = _run(tmp_path, tmp_path / "calls.log", script="s.tcl")
    assert res.returncode != 0
    assert msg in res.stderr


def test_stub_enforces_order(tmp_path):
    (tmp_path / "s.tcl").write_text("open_project p\nopen_solution s\ncosim_design\n")
    res = _run(tmp_path, tmp_path / "calls.log", script="s.tcl")
    assert res.returncode != 0 and "cosim_design before csynth_design" in res.stderr


@pytest.mark.parametrize(
    "hls_tool,expect",
    [
        (None, "vitis_hls -f run_hls.tcl"),
        ("vitis-run", "vitis-run --mode hls --tcl run_hls.tcl"),
    ],
)
def test_makefile_targets(design, hls_tool, expect):
    hls, _, _ = design
    for target, steps in [
        ("csim", "csim"),
        ("csynth", "csynth"),
        ("cosim", "csynth cosim"),
        ("ip", "csynth ip"),
    ]:
        cmd = ["make", "-n", "-C", str(hls), target] + ([f"HLS={hls_tool}"] if hls_tool else [])
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        assert f'FPGAGEN_HLS_STEPS="{steps}" {expect}' in out
