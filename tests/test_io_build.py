"""The default build stops where the board can feed it: the cheapest fold reaching the I/O
bound (fpgagen.cost.io), a target above the memory path refused unless ``--io stream``, and
the bounds in report.json / report.html / dataflow.json."""

from __future__ import annotations

import copy
import json

import pytest
from fpgagen.boards import load_board
from fpgagen.cli import main
from fpgagen.cost.io import io_target_cycles, roofline
from fpgagen.flow import make_dataflow, plumbed_totals
from fpgagen.fold.optimize import DEFAULT_CAP, _budget, _total_cost, layer_options, optimize
from fpgagen.frontend import load_model
from fpgagen.transforms.lower import lower


@pytest.fixture(scope="module")
def tfc(preset_onnx):
    return preset_onnx("tfc_w1a1")


@pytest.mark.parametrize("name", ["tfc_w1a1", "sfc_w1a1"])
def test_default_zcu104_build_is_the_cheapest_fold_reaching_the_io_bound(name, preset_onnx):
    """The chosen fold reaches the host bound of the board; the next cheaper fold exists and
    falls short of it (TFC-W1A1: 3,584 cycles, 55.8 kfps at 200 MHz)."""
    tfc = preset_onnx(name)
    board = load_board("zcu104")
    clock = board.default_mhz
    df = make_dataflow(tfc, board)
    rf = roofline(df, board)
    assert df.meta["optimizer"]["goal"] == "io"
    # TFC-W1A1: 784 bipolar inputs = 98 bytes per frame, 10 outputs; the host binds on Zynq
    assert rf["in_bytes_per_frame"] == 98.0 and rf["binding"] == "host"
    assert rf["compute_fps"] >= rf["io_fps"] and rf["predicted_fps"] == rf["io_fps"]
    assert rf["binds"] == "host" and rf["memory_fps"] > 100 * rf["io_fps"]
    target = io_target_cycles(rf, clock)
    chosen_cycles = df.expected_cycles()
    assert chosen_cycles <= target

    budget = _budget(board, DEFAULT_CAP)
    chosen_cost = _total_cost(plumbed_totals(df), budget)
    base = lower(load_model(tfc))
    cands = sorted(
        {
            o.cycles
            for l in base.layers
            if l.folding_options()
            for o in layer_options(l)
            if o.cycles > chosen_cycles
        }
    )
    reach = [c for c in cands if c <= target]
    short = [c for c in cands if c > target]
    assert short, "a fold slower than the bound must exist"
    for c in reach:  # reaches the bound: never cheaper than the chosen fold
        res = optimize(copy.deepcopy(base), board, c, plumbing=plumbed_totals)
        cost = _total_cost(res["totals"], budget)
        assert clock * 1e6 / res["cycles"] >= rf["io_fps"]
        assert cost >= chosen_cost - 1e-9, (c, cost, chosen_cost)
    # the next cheaper fold (slower folds can cost the same: the next one that costs less)
    cheaper = None
    for c in short:
        res = optimize(copy.deepcopy(base), board, c, plumbing=plumbed_totals)
        cost = _total_cost(res["totals"], budget)
        assert cost <= chosen_cost + 1e-9
        if cost < chosen_cost - 1e-9:
            cheaper = (c, cost, clock * 1e6 / res["cycles"])
            break
    assert cheaper is not None and cheaper[2] < rf["io_fps"], (cheaper, rf["io_fps"])


def test_fps_above_the_memory_path_is_refused_unless_stream(tfc, capsys):
    # 98 B/frame through a 128-bit port at 200 MHz: 3.2 GB/s / 98 B = 32.65 Mfps
    assert main(["estimate", str(tfc), "--board", "zcu104", "--fps", "5e7"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("fpgagen: error: ")
    assert "50,000,000 fps is more than the memory path of zcu104 can carry" in err
    assert "the I/O bound is 32,653,061 fps, set by the kernel bus" in err
    assert "--io stream" in err
    assert main(["estimate", str(tfc), "--board", "zcu104", "--fps", "5e7", "--io", "stream"]) == 0
    out = capsys.readouterr().out
    assert "no I/O bound" in out and "bound by compute" in out


def test_fps_above_the_host_bound_is_built_and_reported(tfc, tmp_path, capsys):
    out = tmp_path / "b"
    args = ["build", str(tfc), "--board", "zcu104", "-o", str(out), "--backend", "rtl"]
    assert main(args + ["--fps", "200000"]) == 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["compute_fps"] >= 200000 > rep["io"]["io_fps"]
    assert rep["predicted_fps"] == rep["io"]["io_fps"] and rep["binds"] == "host"
    assert "bound by host" in capsys.readouterr().out


def test_default_build_report_names_the_bound(tfc, tmp_path):
    out = tmp_path / "b"
    assert main(["build", str(tfc), "--board", "zcu104", "-o", str(out), "--backend", "rtl"]) == 0
    rep = json.loads((out / "report.json").read_text())
    meta = json.loads((out / "dataflow.json").read_text())
    assert rep["binds"] == "host" and rep["predicted_fps"] == pytest.approx(rep["io"]["io_fps"])
    assert meta["io"]["mode"] == "memory" and meta["io"]["predicted_fps"] == rep["predicted_fps"]
    names = [b["name"] for b in rep["io"]["bounds"]]
    assert names == ["kernel bus", "DDR", "host"]
    page = (out / "report.html").read_text()
    assert "<h2>Roofline</h2>" in page and "bound by host" in page
    for n in ("compute", "kernel bus", "DDR", "host"):
        assert f'<td class="l">{n}</td>' in page
    assert "UG1267" in page  # the sources of the board's figures


@pytest.mark.parametrize("board", ["zcu104", "zcu102", "ultra96", "aws-f1"])
def test_every_board_report_has_compute_and_io_bounds(tfc, board):
    from fpgagen.report import format_table, make_report

    b = load_board(board)
    df = make_dataflow(tfc, b)
    rep = make_report(df, b)
    assert rep["compute_fps"] == pytest.approx(rep["fps"])
    assert rep["io"]["io_fps"] > 0 and rep["binds"] in ("compute", rep["io"]["binding"])
    assert rep["predicted_fps"] == pytest.approx(min(rep["compute_fps"], rep["io"]["io_fps"]))
    assert "roofline: compute bound" in format_table(rep)
    if board == "aws-f1":
        assert "PCIe" in [x["name"] for x in rep["io"]["bounds"]]


def test_io_bound_faster_than_any_folding_builds_the_fastest_design(tmp_path):
    """A small CNN on F1: its I/O bound lies above the fastest folding (98 cycles would be
    needed, 100 is the least the 8x8 image's padding layer allows), so the default build
    takes the fastest design within the budget and reports that compute binds; an explicit
    target that fast is still refused."""
    import onnx
    from fpgagen.errors import FpgagenError
    from fpgagen.flow import estimate

    from tests.support.qonnx_graphs import small_cnn

    p = tmp_path / "m.onnx"
    onnx.save(small_cnn("plain"), p)
    d = estimate(p, "aws-f1")
    rep = d["report"]
    assert rep["io"]["io_fps"] > rep["compute_fps"] and rep["binds"] == "compute"
    assert d["optimizer"]["goal"] == "budget" and rep["predicted_fps"] == rep["compute_fps"]
    fastest = d["expected_cycles_per_frame"]
    need = rf"cannot be reached on aws-f1: the fastest foldable design needs {fastest} cycles"
    with pytest.raises(FpgagenError, match=need):
        estimate(p, "aws-f1", target_cycles_=fastest - 1)
