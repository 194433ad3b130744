"""fpgagen.scale: best design per board (performance vs device size)."""

import json

import onnx
import pytest
from fpgagen.boards import list_boards, load_board
from fpgagen.scale import format_scale_table, scale, write_scale

from tests.support.qonnx_graphs import small_mlp


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("scale_models")
    small, wide = d / "mlp.onnx", d / "wide.onnx"
    onnx.save(small_mlp(), small)
    # big enough that the boards reach different foldings
    onnx.save(small_mlp(in_features=256, hidden=512, out_features=10), wide)
    return {"mlp": small, "wide": wide}


def _dominates(a, b) -> bool:
    ra, rb = load_board(a).resources, load_board(b).resources
    return all(getattr(ra, k) >= getattr(rb, k) for k in ("lut", "ff", "bram36", "uram", "dsp"))


@pytest.mark.parametrize("name", ["mlp", "wide"])
def test_scale_all_boards(models, name):
    rows = scale(models[name])
    assert sorted(r["board"] for r in rows) == sorted(list_boards())
    luts = [r["board_resources"]["lut"] for r in rows]
    assert luts == sorted(luts)  # smallest board first
    by = {r["board"]: r for r in rows}
    for r in rows:
        assert r["fits"], r
        # what binds: a resource the next faster design would exceed, or a layer's structure
        b = r["binding"]
        if b["kind"] == "resource":
            assert r["limiting"].split()[0] == b["resource"]
            assert b["resource"] in ("lut", "ff", "bram18", "uram", "dsp")
            assert "over the 70% cap" in b["detail"]
        else:
            assert b["kind"] == "structure" and r["limiting"] == f"layer {b['layer']}"
            assert "at its fastest folding" in b["detail"]
        assert r["clock_mhz"] == load_board(r["board"]).default_mhz
        assert r["fps"] == pytest.approx(r["clock_mhz"] * 1e6 / r["cycles"])
        assert r["latency_us"] == pytest.approx(r["latency_cycles"] / r["clock_mhz"])
        assert r["tops"] > 0 and r["macs_per_cycle"] >= 1 and r["folding"]
        assert max(r["utilisation"][k] for k in ("lut", "bram18", "dsp")) <= r["cap"] + 1e-9
        # the roofline: compute bound (this design), I/O bound, the chosen point
        assert r["compute_fps"] == r["fps"] and r["io_fps"] > 0 and r["memory_fps"] > 0
        assert r["predicted_fps"] == pytest.approx(min(r["fps"], r["io_fps"]))
        assert r["binds"] in ("compute", r["io_binding"]) and r["io_reason"]
        ch = r["chosen"]
        assert ch["cycles"] >= r["cycles"] and ch["fps"] >= r["predicted_fps"] * (1 - 1e-9)
        # the chosen design is the cheapest reaching its cycles: no costlier (LUT, BRAM18 and
        # DSP fractions of the board) than the fastest one (it may trade BRAM18 for LUTs)
        br = r["board_resources"]
        fastest = sum(r["resources"][k] / max(1, br[k]) for k in ("lut", "bram18", "dsp"))
        assert sum(ch["utilisation"].values()) <= fastest + 1e-9
    txt = format_scale_table(rows)
    assert "I/O fps" in txt.splitlines()[0] and "binds" in txt.splitlines()[0]
    for r in rows:
        line = next(x for x in txt.splitlines() if x.startswith(r["board"]))
        assert f"{r['io_fps']:,.0f}" in line and f"{r['predicted_fps']:,.0f}" in line
    # a board with at least every resource of another and a clock as fast is never slower
    for big, small in (("aws-f1", "zcu102"), ("zcu102", "ultra96"), ("zcu104", "ultra96")):
        assert _dominates(big, small)
        assert by[big]["fps"] >= by[small]["fps"], (big, small)
        assert by[big]["cycles"] <= by[small]["cycles"], (big, small)
    if name == "wide":  # the larger devices do buy throughput here
        assert by["aws-f1"]["fps"] > by["ultra96"]["fps"] * 4


def test_scale_does_not_fit_and_outputs(models, tmp_path):
    rows = scale(models["wide"], cap=0.05)
    by = {r["board"]: r for r in rows}
    bad = by["ultra96"]
    assert not bad["fits"] and bad["fps"] is None and bad["tops"] is None
    assert "does not fit" in bad["error"] and bad["limiting"]
    assert bad["utilisation"] and max(bad["utilisation"][k] or 0 for k in bad["utilisation"]) > 0.05
    assert by["aws-f1"]["fits"]
    txt = format_scale_table(rows)
    assert "does not fit" in txt and "aws-f1" in txt and "cap 5%" in txt
    jp, hp = write_scale(rows, tmp_path / "s")
    doc = json.loads(jp.read_text())
    assert doc["cap"] == 0.05 and [b["board"] for b in doc["boards"]] == [r["board"] for r in rows]
    page = hp.read_text()
    assert page.count("<svg") == 3 and "does not fit" in page and "log scale" in page
    assert "<h2>Roofline</h2>" in page and "I/O bound" in page and "chosen (predicted)" in page


def test_scale_stream_has_no_io_bound(models):
    rows = scale(models["mlp"], boards=["zcu104"], io="stream")
    r = rows[0]
    assert r["io_fps"] is None and r["binds"] == "compute" and r["io_mode"] == "stream"
    assert r["predicted_fps"] == r["fps"] and r["chosen"]["cycles"] == r["cycles"]


def test_scale_subset_and_clock(models):
    rows = scale(models["mlp"], boards=["zcu104", "ultra96"], clock_mhz=240)
    assert [r["board"] for r in rows] == ["zcu104", "ultra96"]
    assert all(r["fits"] and r["clock_mhz"] == 240 for r in rows)
    rows = scale(models["mlp"], boards=["ultra96"], clock_mhz=400)
    assert not rows[0]["fits"] and "maximum" in rows[0]["error"]
    assert "error" in format_scale_table(rows)
