"""External weights in the cost model (issue 20): no on-chip memory, their bandwidth
(weight bits x vectors per frame) in the I/O bounds, and the optimiser's --weights modes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from fpgagen.boards import load_board
from fpgagen.cost.io import io_bounds, weight_bytes
from fpgagen.cost.model import estimate, weight_streamer, weight_streamer_bram18
from fpgagen.dataflow import Dataflow
from fpgagen.datatypes import DataType
from fpgagen.fold.uram import optimize_weights
from fpgagen.layers.mvau import MVAU


def _mvau(mw, mh, style, name="m", seed=0, nv=1):
    w = np.random.default_rng(seed).integers(-128, 128, size=(mh, mw))
    return MVAU(name, w, DataType("UINT4"), DataType("INT8"), ram_style=style, num_vectors=nv)


def _df(*layers):
    return Dataflow("t", "t.onnx", None, list(layers), None)


def test_weight_streamer_costs_follow_yosys():
    """The kernel's weight streamer against Yosys runs of rtl/kernel_weight_stream.v (128-bit
    bus, benchmarks/cost/streamer.py, docs/cost_model.md "External weights"): FF within 2%;
    LUT within 5% for power-of-two words (their converter, an unload or collect of 4-70
    LUTs since the whole-word paths, maps 20-30 LUTs apart in and out of the streamer: 2%
    held when it was a 250-400 LUT gearbox), never under for other widths (the gearbox's
    slot mux); DSP and BRAM18 exact; plus 65 LUT / 2 FF for the layer's source on
    kernel_read_mux."""
    mux = 65, 2
    # (style, word bits, words, repeats) -> Yosys LUT, FF, DSP, BRAM18
    measured = {
        ("external", 32, 4608, 169): (504, 740, 2, 4),
        ("external", 8, 72, 1024): (498, 742, 2, 4),
        ("external", 256, 2304, 169): (468, 866, 2, 4),
        ("external", 24, 96, 169): (1047, 654, 4, 4),
        ("external", 72, 1152, 169): (2207, 751, 4, 4),
        ("external", 600, 64, 4): (11566, 1336, 2, 4),
        ("ultra", 32, 4608, 1): (362, 852, 0, 0),
        ("ultra", 256, 2304, 1): (327, 978, 0, 0),
    }
    for (style, wb, words, rep), (lut, ff, dsp, bram) in measured.items():
        ws = weight_streamer(style, {"word_bits": wb, "words": words, "repeats": rep})
        assert (ws["dsp"], ws["bram18"]) == (dsp, bram), (style, wb)
        assert abs(ws["ff"] - mux[1] - ff) <= 0.02 * ff, (style, wb, ws)
        if wb & (wb - 1) == 0:
            assert abs(ws["lut"] - mux[0] - lut) <= 0.05 * lut, (style, wb, ws)
        else:
            assert lut <= ws["lut"] - mux[0] <= 1.3 * lut, (style, wb, ws)
    assert weight_streamer("block", {"word_bits": 8, "words": 1, "repeats": 1})["lut"] == 0
    # a layer's estimate carries its streamer: same MVAU, external vs URAM vs block
    ext, ultra = _mvau(256, 256, "external", nv=9), _mvau(256, 256, "ultra", nv=9)
    we = weight_streamer("external", ext.weight_stream())
    assert we["dsp"] == 2 + 2 * (ext.weight_word_bits & (ext.weight_word_bits - 1) != 0)
    assert estimate(ext)["dsp"] >= we["dsp"] > 0
    assert estimate(ultra)["ff"] > weight_streamer("ultra", ultra.weight_stream())["ff"]


def test_external_costs_no_memory_but_bandwidth():
    on, ext = _mvau(256, 256, "block"), _mvau(256, 256, "external", nv=9)
    assert estimate(on)["bram18"] > 0
    e = estimate(ext)
    # no weight memory: only the kernel's weight streamer FIFO (4 bursts of 128-bit words)
    assert e["bram18"] == weight_streamer_bram18("external") == 4 and e.get("uram", 0) == 0
    assert weight_streamer_bram18("block") == 0
    # read once per input vector: 256 x 256 x 8 bits x 9 vectors
    assert weight_bytes(_df(ext)) == 256 * 256 * 8 * 9 / 8
    assert weight_bytes(_df(on)) == 0
    board = load_board("ultra96")
    b_on = io_bounds(_df(_mvau(256, 256, "block", nv=9)), board, 150.0)
    b_ext = io_bounds(_df(ext), board, 150.0)
    assert b_ext["weight_bytes_per_frame"] == 256 * 256 * 9
    ddr = {b["name"]: b for b in b_ext["bounds"]}["DDR"]
    fin, fout = b_ext["in_bytes_per_frame"], b_ext["out_bytes_per_frame"]
    assert ddr["fps"] == pytest.approx(board.io.ddr_gbps * 1e9 / (fin + fout + 256 * 256 * 9))
    assert "external weights" in ddr["why"]
    assert b_ext["memory_fps"] < b_on["memory_fps"] / 100


def test_optimiser_moves_largest_weights_off_chip_when_bram_binds():
    """Two big-weight MVAUs on an Ultra96 shrunk to 16 BRAM18 (no URAM): with --weights onchip
    BRAM binds; with external the largest weight memory streams from DDR and the design
    folds faster; the predicted fps (rate) picks the placement."""
    u = load_board("ultra96")
    small = dataclasses.replace(u, resources=dataclasses.replace(u.resources, bram36=8))
    a = _mvau(256, 256, "block", "a", 0)
    b = _mvau(512, 256, "block", "b", 1)
    df = _df(a, b)
    plain = optimize_weights(df, small, None, cap=0.7, mode="onchip")
    assert plain["limiting"].startswith("bram18") and plain["external_layers"] == []
    for l in (a, b):
        l.set_folding(PE=1, SIMD=1)
        l.ram_style = "block"
    seen = []

    def rate(r):
        seen.append(weight_bytes(df))
        return 200e6 / r["cycles"]

    res = optimize_weights(df, small, None, cap=0.7, mode="external", rate=rate)
    assert res["fits"] and "b" in res["external_layers"]  # the largest goes first
    assert b.ram_style == "external" and res["cycles"] < plain["cycles"]
    assert max(seen) > 0  # the rate saw the weights' bandwidth
    assert res["uram_layers"] == []


def test_estimate_cli_weights_external(tmp_path, preset_onnx):
    """`fpgagen estimate --weights external --io stream` (the fastest design within the cap) on
    a ZCU104 cut to 10 BRAM18 and 7k LUTs: TFC's weights do not fit on chip (BRAM or LUTs) at
    the fast foldings, so weight memories stream from DDR (each streamer costs ~800 LUTs, so
    6k would leave no room for one), whose bandwidth (the only I/O bound
    with --io stream) still allows more fps; the JSON names the layers, the design is faster,
    and the I/O record carries the weights' bytes per frame. On the Ultra96's slower LPDDR4
    the same move would lose (DDR bound below the on-chip design): nothing moves."""
    import json
    import subprocess
    import sys

    text = load_board("zcu104").path.read_text()
    text = text.replace("bram36: 312", "bram36: 5").replace("lut: 230400", "lut: 7000")
    board = tmp_path / "small.yaml"
    board.write_text(text.replace("name: zcu104", "name: zcu104_small"))
    model = preset_onnx("tfc_w1a1")
    out = {}
    for mode in ("onchip", "external"):
        p = subprocess.run(
            [sys.executable, "-m", "fpgagen", "estimate", str(model), "--board", str(board)]
            + ["--weights", mode, "--io", "stream", "--json"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert p.returncode == 0, p.stderr
        out[mode] = json.loads(p.stdout)
    plain, ext = out["onchip"], out["external"]
    assert plain["optimizer"]["external_layers"] == []
    assert ext["optimizer"]["external_layers"] and ext["optimizer"]["weights"] == "external"
    assert ext["expected_cycles_per_frame"] < plain["expected_cycles_per_frame"]
    assert ext["report"]["io"]["weight_bytes_per_frame"] > 0
    assert plain["report"]["io"]["weight_bytes_per_frame"] == 0
    assert ext["report"]["predicted_fps"] > plain["report"]["predicted_fps"]
    text = load_board("ultra96").path.read_text()
    text = text.replace("bram36: 216", "bram36: 8").replace("lut: 70560", "lut: 7000")
    board.write_text(text.replace("name: ultra96", "name: ultra96_small"))
    p = subprocess.run(
        [sys.executable, "-m", "fpgagen", "estimate", str(model), "--board", str(board)]
        + ["--weights", "external", "--io", "stream", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["optimizer"]["external_layers"] == []
