"""fpgagen.report: report.json consistency, latency model, HTML (SVG, escaping), table."""

import json

import markupsafe
import onnx
import pytest
from fpgagen.boards import load_board
from fpgagen.flow import make_dataflow
from fpgagen.report import format_table, latency_profile, make_report, write_report

from tests.support.qonnx_graphs import small_cnn, small_mlp

RES = ("lut", "ff", "bram18", "uram", "dsp")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("report_models")
    out = {}
    for name, m in (("mlp", small_mlp()), ("residual", small_cnn("residual"))):
        out[name] = d / f"{name}.onnx"
        onnx.save(m, out[name])
    return out


@pytest.mark.parametrize("name", ["mlp", "residual"])
def test_report_consistent(models, name):
    board = load_board("zcu104")
    df = make_dataflow(models[name], board)
    rep = make_report(df, board, 200.0)
    json.loads(json.dumps(rep))  # plain JSON (no inf/nan, no numpy types)
    for k in (
        "name",
        "board",
        "clock_mhz",
        "cap",
        "cycles_per_frame",
        "fps",
        "bottleneck",
        "latency",
        "macs_per_frame",
        "ops_per_frame",
        "bops_per_frame",
        "tops",
        "weight_bits",
        "resources",
        "utilisation",
        "limiting",
        "layers",
    ):
        assert k in rep, k
    assert [l["name"] for l in rep["layers"]] == [l.name for l in df.layers]
    for l in rep["layers"]:
        assert {
            "name",
            "type",
            "folding",
            "cycles",
            "latency",
            "resources",
            "macs",
            "bops",
            "weight_bits",
        } <= set(l)
        assert set(l["resources"]) == set(RES)
    # totals = sum of layers, utilisation = totals / board
    for k in RES:
        assert rep["resources"][k] == sum(l["resources"][k] for l in rep["layers"])
    assert rep["resources"] == {k: df.total_resources()[k] for k in RES}
    assert rep["utilisation"]["lut"] == pytest.approx(rep["resources"]["lut"] / board.resources.lut)
    assert rep["utilisation"]["bram18"] == pytest.approx(
        rep["resources"]["bram18"] / board.resources.bram18
    )
    # throughput: bottleneck = max cycles, fps = clock / cycles
    cycles = max(l["cycles"] for l in rep["layers"])
    assert rep["cycles_per_frame"] == cycles == df.expected_cycles()
    assert rep["bottleneck"]["cycles"] == cycles
    assert (
        next(l for l in rep["layers"] if l["name"] == rep["bottleneck"]["name"])["cycles"] == cycles
    )
    assert rep["fps"] == pytest.approx(200e6 / cycles)
    # work: BOPs = MACs x weight bits x activation bits, TOp/s = 2 MACs x fps
    macs = bops = wbits = 0
    for l in df.layers:
        if l.op_type in ("MVAU", "VVAU"):
            macs += l.num_vectors * l.weights.size
            bops += l.num_vectors * l.weights.size * l.w_dtype.bits * l.in_dtype.bits
            wbits += l.weights.size * l.w_dtype.bits
    assert macs > 0
    assert (rep["macs_per_frame"], rep["bops_per_frame"], rep["weight_bits"]) == (macs, bops, wbits)
    assert rep["bops_per_frame"] == sum(l["bops"] for l in rep["layers"])
    assert rep["ops_per_frame"] == 2 * macs
    assert rep["tops"] == pytest.approx(2 * macs * rep["fps"] / 1e12)
    # latency: cycles and microseconds agree; every layer finishes before the frame is out
    lat = rep["latency"]
    assert lat["us"] == pytest.approx(lat["cycles"] / 200.0)
    assert 0 < lat["first_output_cycles"] <= lat["cycles"]
    for l in rep["layers"]:
        t = l["latency"]
        assert 0 <= t["first_in"] < t["first_out"] <= t["last_out"] < lat["cycles"]
    # a frame cannot leave faster than the slowest layer processes it
    assert lat["cycles"] >= 0.5 * cycles


def test_latency_folded_mlp(models):
    """PE=SIMD=1 MLP 16 -> 12 -> 5: 192 cycles for layer 1, then 5 neurons of 12 cycles."""
    board = load_board("zcu104")
    fold = {"layers": {}}
    df = make_dataflow(models["mlp"], board, strategy="simple")
    for l in df.compute_layers:
        if l.op_type == "MVAU":
            fold["layers"][l.name] = {"PE": 1, "SIMD": 1}
    df = make_dataflow(models["mlp"], board, folding=fold)
    lat = latency_profile(df)
    mv = [l for l in df.layers if l.op_type == "MVAU"]
    assert [l.expected_cycles() for l in mv] == [192, 60]
    # layer 2 needs all 12 inputs before its first neuron, then 4 more neurons x 12 cycles
    assert 192 + 48 <= lat["latency_cycles"] <= 192 + 48 + 12
    l1, l2 = lat["layers"][mv[0].name], lat["layers"][mv[1].name]
    assert l1["first_out"] >= 16 and l2["first_out"] > l1["last_out"]


def test_html_svg_and_escaping(models, tmp_path):
    board = load_board("ultra96")
    df = make_dataflow(models["residual"], board)
    hostile = "<script>alert('x')</script>&\"quoted\""
    df.name = hostile
    mv = next(l for l in df.layers if l.op_type == "MVAU")
    mv.name = hostile + "_layer"  # bypasses the identifier check on purpose
    rep = make_report(df, board)
    assert rep["clock_mhz"] == df.meta["clock_mhz"]
    jp, hp = write_report(rep, tmp_path / "r")
    assert json.loads(jp.read_text())["name"] == hostile
    page = hp.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") >= 5  # utilisation, cycles, LUT, BRAM18/DSP, timeline
    assert "<script" not in page
    assert str(markupsafe.escape(hostile + "_layer")) in page  # Jinja2's autoescape
    assert "cap 70%" in page
    assert str(markupsafe.escape(rep["bottleneck"]["name"])) in page  # named, escaped


def test_format_table(models):
    board = load_board("zcu104")
    df = make_dataflow(models["residual"], board)
    rep = make_report(df, board, 200)
    txt = format_table(rep)
    lines = txt.splitlines()
    assert lines[0].split()[:4] == ["layer", "type", "folding", "cycles"]
    assert "BOPs" in lines[0] and "LUT" in lines[0]
    # header, one line per layer, total, LUT band (docs/cost_model.md), board, roofline, latency
    assert len(lines) == len(df.layers) + 6
    assert any(l.startswith("LUT ") and "+-" in l and "Vivado" in l for l in lines)
    assert f"bottleneck {rep['bottleneck']['name']}" in txt
    roof = next(x for x in lines if x.startswith("roofline: "))
    assert f"compute bound {rep['compute_fps']:,.0f} fps" in roof
    assert f"I/O bound {rep['io']['io_fps']:,.0f} fps ({rep['io']['binding']})" in roof
    assert roof.endswith(f"predicted {rep['predicted_fps']:,.0f} fps, bound by {rep['binds']}")
    assert f"latency {rep['latency']['cycles']} cycles" in txt
    assert "TOp/s" in txt
