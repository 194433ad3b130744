"""Convolutional lowering on hand-built QONNX graphs: golden vs QONNX, then RTL in Verilator."""

import json

import numpy as np
import onnx
import pytest
from fpgagen.boards import load_board
from fpgagen.cli import main
from fpgagen.errors import UnsupportedModelError
from fpgagen.flow import make_dataflow, verify
from fpgagen.frontend import load_model
from fpgagen.transforms.lower import lower

from tests.support.qonnx_graphs import GraphBuilder, qonnx_reference, small_cnn

KINDS = ["plain", "residual", "shortcut", "depthwise", "avgpool", "maxpool_ceil"]


@pytest.fixture(scope="module")
def cnn_models(tmp_path_factory):
    d = tmp_path_factory.mktemp("cnn")
    out = {}
    for k in KINDS:
        out[k] = d / f"{k}.onnx"
        onnx.save(small_cnn(k), out[k])
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_golden_matches_qonnx(kind, cnn_models):
    path = cnn_models[kind]
    df = lower(load_model(path))
    x = np.random.default_rng(1).uniform(-1, 1, (8, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(df.golden(x)["y"], qonnx_reference(path, x), atol=1e-5)


def test_strided_1x1_shortcut_is_a_decimator(cnn_models):
    """A 1x1 stride-2 projection's window keeps every other pixel of every other row
    (rtl/window_decimate.v): no buffer memory, a quarter of the words out."""
    df = make_dataflow(cnn_models["shortcut"], load_board("zcu104"))
    wins = [l for l in df.layers if l.op_type == "SlidingWindow"]
    dec = [l for l in wins if l.decimates]
    assert len(dec) == 1 and dec[0].rtl_module == "window_decimate"
    assert (dec[0].ifm_h, dec[0].ofm_h, dec[0].s_h) == (8, 4, 2)
    assert 4 * dec[0].out_words_per_frame == dec[0].in_words_per_frame
    assert dec[0].expected_cycles() == dec[0].in_words_per_frame
    assert all(w.rtl_module == "sliding_window" for w in wins if w is not dec[0])
    assert dec[0].resources()["bram18"] == 0


def test_residual_structure_and_skip_fifo(cnn_models):
    df = make_dataflow(cnn_models["residual"], load_board("zcu104"))
    types = [l.op_type for l in df.layers]
    assert types.count("DuplicateStreams") == 1 and types.count("AddStreams") == 1
    add = next(l for l in df.layers if l.op_type == "AddStreams")
    sized = [l for l in df.layers if getattr(l, "sized_for", None) == add.name]
    assert len(sized) == 1
    # a 3x3 'same' conv on an 8-wide map needs at least one row and a bit of lag, twice
    assert sized[0].depth >= 2 * (8 + 2)


def test_dilation_is_refused(tmp_path):
    b = GraphBuilder([1, 2, 6, 6])
    x = b.quant("x", 0.5, 4)
    w = b.qweight(np.ones((2, 2, 3, 3)), 1.0, 2)
    b.node("Conv", [x, w], kernel_shape=[3, 3], dilations=[2, 2], pads=[0, 0, 0, 0])
    p = tmp_path / "d.onnx"
    onnx.save(b.model([1, 2, 2, 2]), p)
    with pytest.raises(
        UnsupportedModelError,
        match=r"node 'Conv_\d+' \(op Conv\): attribute dilations=\[2, 2\] is not "
        r"supported; only dilation 1",
    ):
        lower(load_model(p))


def test_bipolar_padding_is_refused(tmp_path):
    b = GraphBuilder([1, 2, 6, 6])
    x = b.bipolar("x")
    w = b.bipolar(b.const(np.ones((2, 2, 3, 3), np.float32)))
    b.node("Conv", [x, w], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    p = tmp_path / "p.onnx"
    onnx.save(b.model([1, 2, 6, 6]), p)
    with pytest.raises(UnsupportedModelError, match=r"pads with 0.0, which this BIPOLAR stream"):
        lower(load_model(p))


@pytest.mark.rtl
@pytest.mark.parametrize("kind", KINDS)
def test_rtl_bit_exact_and_on_time(kind, cnn_models, tmp_path, capsys):
    path = cnn_models[kind]
    out = tmp_path / "b"
    assert (
        main(
            [
                "build",
                str(path),
                "--board",
                "zcu104",
                "-o",
                str(out),
                "--backend",
                "rtl",
                "--fps",
                "300000",
            ]
        )
        == 0
    )
    x = np.random.default_rng(2).uniform(-1, 1, (8, 3, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", qonnx_reference(path, x))
    rep = verify(
        out, tmp_path / "x.npy", backend="rtl", outputs=tmp_path / "y.npy", progress=lambda s: None
    )
    assert rep["mismatched_frames"] == 0 and rep["stress_mismatched_frames"] == 0
    assert abs(rep["cycles_error"]) <= 0.05, rep
    d = json.loads((out / "dataflow.json").read_text())
    assert d["expected_cycles_per_frame"] <= 667


@pytest.mark.parametrize("op", ["TopK", "ArgMax"])
def test_label_select_golden(op, tmp_path):
    from tests.support.qonnx_graphs import small_mlp

    m = small_mlp()
    g = m.graph
    last = g.output[0].name
    if op == "TopK":
        k = onnx.numpy_helper.from_array(np.array([3], np.int64), "k3")
        g.initializer.append(k)
        g.node.append(onnx.helper.make_node("TopK", [last, "k3"], ["vals", "idx"], axis=-1))
    else:
        g.node.append(onnx.helper.make_node("ArgMax", [last], ["idx"], axis=1, keepdims=1))
    del g.output[:]
    g.output.append(onnx.helper.make_tensor_value_info("idx", onnx.TensorProto.INT64, None))
    p = tmp_path / "ls.onnx"
    onnx.save(m, p)
    df = make_dataflow(p, load_board("zcu104"))
    assert df.compute_layers[-1].op_type == "LabelSelect"
    x = np.random.default_rng(0).uniform(-2, 2, (16, 16)).astype(np.float32)
    scores = lower(load_model_no_topk(m, tmp_path)).golden(x)["y"]
    want = np.argsort(-scores, axis=1, kind="stable")[:, : (3 if op == "TopK" else 1)]
    np.testing.assert_array_equal(df.golden(x)["y"].reshape(16, -1), want)


def load_model_no_topk(m, tmp_path):
    m2 = onnx.ModelProto()
    m2.CopyFrom(m)
    g = m2.graph
    last = g.node[-1]
    del g.node[-1]
    del g.output[:]
    g.output.append(
        onnx.helper.make_tensor_value_info(last.input[0], onnx.TensorProto.FLOAT, [1, 5])
    )
    p = tmp_path / "scores.onnx"
    onnx.save(m2, p)
    return load_model(p)


@pytest.mark.rtl
def test_label_select_rtl(tmp_path):
    from tests.support.qonnx_graphs import small_mlp

    m = small_mlp()
    g = m.graph
    g.initializer.append(onnx.numpy_helper.from_array(np.array([2], np.int64), "k2"))
    g.node.append(onnx.helper.make_node("TopK", [g.output[0].name, "k2"], ["vals", "idx"]))
    del g.output[:]
    g.output.append(onnx.helper.make_tensor_value_info("idx", onnx.TensorProto.INT64, None))
    p = tmp_path / "ls.onnx"
    onnx.save(m, p)
    out = tmp_path / "b"
    assert main(["build", str(p), "--board", "zcu104", "-o", str(out), "--backend", "rtl"]) == 0
    np.save(
        tmp_path / "x.npy", np.random.default_rng(0).uniform(-2, 2, (12, 16)).astype(np.float32)
    )
    rep = verify(out, tmp_path / "x.npy", backend="rtl", progress=lambda s: None)
    assert rep["mismatched_frames"] == 0 and rep["stress_mismatched_frames"] == 0


@pytest.mark.rtl
def test_watchdog_names_full_and_empty_fifos(cnn_models, tmp_path):
    """A skip FIFO too shallow for the residual block deadlocks: the watchdog says where."""
    from fpgagen.codegen.rtl import write_rtl
    from fpgagen.errors import SimulationError
    from fpgagen.flow import load_build
    from fpgagen.sim.stitched import simulate

    out = tmp_path / "b"
    assert (
        main(
            [
                "build",
                str(cnn_models["residual"]),
                "--board",
                "zcu104",
                "-o",
                str(out),
                "--backend",
                "rtl",
                "--fps",
                "300000",
            ]
        )
        == 0
    )
    df, meta = load_build(out)
    skip = next(l for l in df.layers if getattr(l, "sized_for", None))
    skip.depth = 2
    meta["rtl"] = write_rtl(df, out)
    (out / "dataflow.json").write_text(json.dumps(meta))
    codes = df.hw_input(np.random.default_rng(0).uniform(-1, 1, (4, 3, 8, 8)).astype(np.float32))
    with pytest.raises(
        SimulationError,
        match=r"watchdog: no completion .* full FIFOs: .*"
        rf"{skip.name} \(3/3\)",
    ):
        simulate(out, df, codes)


@pytest.mark.rtl
def test_rtl_multi_pixel_bit_exact_and_on_time(cnn_models, tmp_path):
    """MMV and IPAR (issue 21): the first window takes two input words per cycle and emits two
    whole windows per word, its MVAU computes two pixels per cycle in two lanes, the pool's
    window takes four words and emits two windows; bit-exact with and without back-pressure,
    on time."""
    path = cnn_models["plain"]
    fold = tmp_path / "fold.json"
    fold.write_text(
        json.dumps(
            {
                "layers": {
                    "Conv_10_swu": {"SIMD": 3, "PAR": 9, "MMV": 2, "IPAR": 2},
                    "Conv_10": {"PE": 4, "SIMD": 27, "MMV": 2},
                    "MaxPool_21_swu": {"SIMD": 4, "PAR": 4, "MMV": 2, "IPAR": 4},
                }
            }
        )
    )
    out = tmp_path / "b"
    args = ["build", str(path), "--board", "zcu104", "-o", str(out), "--backend", "rtl"]
    assert main(args + ["--folding", str(fold)]) == 0
    top = next((out / "rtl").glob("*_top.v")).read_text()
    assert "Conv_10_inst_lane1" in top
    d = json.loads((out / "dataflow.json").read_text())
    swu = next(l for l in d["layers"] if l["name"] == "Conv_10_swu")
    assert (swu["in_width"], swu["out_width"]) == (2 * 3 * 4, 2 * 27 * 4)
    x = np.random.default_rng(5).uniform(-1, 1, (4, 3, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", qonnx_reference(path, x))
    rep = verify(
        out, tmp_path / "x.npy", backend="rtl", outputs=tmp_path / "y.npy", progress=lambda s: None
    )
    assert rep["mismatched_frames"] == 0 and rep["stress_mismatched_frames"] == 0
    assert abs(rep["cycles_error"]) <= 0.05, rep
