"""HLS backend on convolutional and branching dataflows: bit-exact g++ C simulation against
``Dataflow.run_layers`` for the Brevitas bnn_pynq CNV (W1A1), the small QONNX CNNs of the RTL
tests (padding, max/average/global pools, depthwise, residual), and hand-built DAGs covering
every layer kind (FMPadding on INT and BIPOLAR streams, Pool max and sum on signed, unsigned
and BIPOLAR elements, GlobalAccPool, DuplicateStreams + AddStreams, LabelSelect), each under
two foldings; plus the graph checks of write_hls.
"""

from __future__ import annotations

import re

import numpy as np
import onnx
import pytest
from fpgagen.boards import load_board
from fpgagen.codegen.hls import sample_codes, write_hls
from fpgagen.dataflow import Dataflow
from fpgagen.datatypes import BIPOLAR, int_type, uint_type
from fpgagen.errors import FpgagenError
from fpgagen.flow import make_dataflow
from fpgagen.layers import (
    VVAU,
    AddStreams,
    DuplicateStreams,
    FMPadding,
    GlobalAccPool,
    LabelSelect,
    Pool,
    SlidingWindow,
    Thresholding,
)
from fpgagen.sim.hls_csim import compile_hls, simulate_hls
from fpgagen.transforms.base import apply_until_fixpoint
from fpgagen.transforms.streams import InsertDWCs, InsertFIFOs

from tests.support.qonnx_graphs import small_cnn

PART = "xczu7ev-ffvc1156-2-e"

pytestmark = [pytest.mark.hls, pytest.mark.usefixtures("ap_types")]


def _bit_exact(df, out, codes):
    info = write_hls(df, out, PART, 200.0)
    got = simulate_hls(out, df, codes)
    want = df.run_layers(codes)
    assert got.dtype == np.int64 and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    return info


def _no_warnings(info, out):
    """The cached build's compile.log holds the command line and g++'s stderr."""
    exe = compile_hls(out / "hls", info["top"])
    cmd, stderr = (exe.parent / "compile.log").read_text().split("\n", 1)
    assert "-Wall" in cmd.split() and "-Wextra" in cmd.split()
    assert "warning" not in stderr, stderr[:2000]


# -- Brevitas bnn_pynq CNV W1A1 ------------------------------------------------------------------
@pytest.mark.torch
def test_cnv_w1a1_bit_exact(tmp_path):
    pytest.importorskip("brevitas")
    models = pytest.importorskip("brevitas_examples.bnn_pynq.models")
    from fpgagen.models.export import export_qonnx_model

    m, _ = models.model_with_cfg("CNV_1W1A", pretrained=False)
    path = tmp_path / "cnv.onnx"
    export_qonnx_model(m.eval(), (1, 3, 32, 32), path)
    df = make_dataflow(path, load_board("zcu104"), fps=10000)
    types = {l.op_type for l in df.layers}
    assert {"SlidingWindow", "Pool", "MVAU", "DWC", "FIFO"} <= types
    x = np.random.default_rng(0).random((4, 3, 32, 32), dtype=np.float32)
    codes = df.hw_input(x)
    info = _bit_exact(df, tmp_path / "out", codes)
    _no_warnings(info, tmp_path / "out")
    # the self-checking testbench data follows the golden model too
    hls = tmp_path / "out" / "hls"
    assert (hls / "tb_expected.hex").read_text().count("\n") > 4
    assert "sliding_window<" in "".join(p.read_text() for p in (hls / "layers").glob("*.h"))


# -- small QONNX CNNs (the RTL CNN tests' graphs) ----------------------------------------------
def _pick(options, frac):
    return options[int(round(frac * (len(options) - 1)))]


def _cnn_folding(path, kind):
    """ "fast" (every PE/SIMD at its maximum, whole windows per word) or "mixed" (mid-range
    PE/SIMD and window-parallel words, DWCs)."""
    df = make_dataflow(path, load_board("zcu104"))
    fold = {}
    for i, l in enumerate(df.compute_layers):
        opts = l.folding_options()
        fr = (1.0, 1.0) if kind == "fast" else (0.5, 0.35) if i % 2 == 0 else (0.35, 0.7)
        f = {k: _pick(v, fr[j % 2]) for j, (k, v) in enumerate(sorted(opts.items()))}
        if not l.folding_valid(**f):  # PAR, MMV and IPAR depend on each other and on SIMD
            from fpgagen.fold.optimize import layer_options

            ok = sorted(
                {o.folding: o.cycles for o in layer_options(l)}.items(), key=lambda x: -x[1]
            )
            f = dict(_pick(ok, fr[0])[0])
        fold[l.name] = f
    return {"folding": fold}


@pytest.mark.parametrize(
    "graph", ["plain", "residual", "shortcut", "depthwise", "avgpool", "maxpool_ceil"]
)
@pytest.mark.parametrize("kind", ["fast", "mixed"])
def test_small_cnns_bit_exact(tmp_path, graph, kind):
    path = tmp_path / f"{graph}.onnx"
    onnx.save(small_cnn(graph), path)
    df = make_dataflow(path, load_board("zcu104"), **_cnn_folding(path, kind))
    x = np.random.default_rng(3).uniform(-1, 1, (6, 3, 8, 8)).astype(np.float32)
    codes = np.concatenate([df.hw_input(x), sample_codes(df, 6, seed=4)])
    _bit_exact(df, tmp_path / "out", codes)
    if graph == "residual":
        top = (tmp_path / "out" / "hls" / f"{df.name}_top.cpp").read_text()
        assert "fork slack" in top
        dup = [l for l in df.layers if l.op_type == "DuplicateStreams"]
        assert len(dup) == 1


# -- hand-built DAGs ----------------------------------------------------------------------------
def _dataflow(name, layers, edges) -> Dataflow:
    """Layers with their streams (``edges[layer] = (ins, outs)``), then FIFOs and DWCs."""
    for l in layers:
        l.ins, l.outs = (list(x) for x in edges[l.name])
    df = Dataflow(name, "hand-made", None, layers, None)
    df.check()
    df, _ = InsertFIFOs().apply(df)
    apply_until_fixpoint(df, InsertDWCs())
    df.check()
    return df


def _fold(layers, fold):
    for l in layers:
        opts = l.folding_options()
        if opts:
            key = next(iter(opts))
            l.set_folding(**{key: fold(l, opts[key])})


def _int_residual(fold) -> Dataflow:
    """INT4 7x6x4: FMPadding(-5) -> window 3x2/(2,1) -> max pool -> fork:
    [FMPadding(0) -> window 3x3 -> sum pool (INT8) -> Thresholding (INT4)] + skip -> AddStreams
    (INT5) -> GlobalAccPool -> LabelSelect (top 3)."""
    rng = np.random.default_rng(11)
    i4 = int_type(4)
    pad1 = FMPadding("pad1", i4, (7, 6), 4, (1, 0, 2, 1), -5)
    swu1 = SlidingWindow("swu1", i4, (pad1.ofm_h, pad1.ofm_w), 4, (3, 2), (2, 1))
    pmax = Pool("pmax", i4, 4, 6, "max", swu1.num_vectors)
    oh, ow = swu1.ofm_h, swu1.ofm_w
    dup = DuplicateStreams("dup", i4, 4, 1, oh * ow)
    pad2 = FMPadding("pad2", i4, (oh, ow), 4, (1, 1, 1, 1), 0)
    swu2 = SlidingWindow("swu2", i4, (oh + 2, ow + 2), 4, (3, 3), (1, 1))
    psum = Pool("psum", i4, 4, 9, "sum", oh * ow)
    assert psum.out_dtype == int_type(8)
    thr = Thresholding(
        "thr",
        np.sort(rng.integers(-60, 60, (4, 15)), axis=1),
        psum.out_dtype,
        i4,
        -8,
        num_vectors=oh * ow,
    )
    add = AddStreams("add", i4, 4, oh * ow)
    gap = GlobalAccPool("gap", add.out_dtype, 4, oh * ow)
    top = LabelSelect("top", gap.out_dtype, 4, 3)
    layers = [pad1, swu1, pmax, dup, pad2, swu2, psum, thr, add, gap, top]
    _fold(layers, fold)
    edges = {
        "pad1": (["s_in"], ["a"]),
        "swu1": (["a"], ["b"]),
        "pmax": (["b"], ["c"]),
        "dup": (["c"], ["skip", "br"]),
        "pad2": (["br"], ["d"]),
        "swu2": (["d"], ["e"]),
        "psum": (["e"], ["f"]),
        "thr": (["f"], ["g"]),
        "add": (["g", "skip"], ["h"]),
        "gap": (["h"], ["i"]),
        "top": (["i"], ["y"]),
    }
    return _dataflow("int_residual", layers, edges)


def _bipolar_pools(fold) -> Dataflow:
    """BIPOLAR 6x5x4: FMPadding(+1) -> window 2x2/2 -> max pool (OR) -> window 2x2/1 -> sum pool
    (count of +1) -> GlobalAccPool (UINT) -> LabelSelect (top 2)."""
    pad = FMPadding("pad", BIPOLAR, (6, 5), 4, (0, 1, 0, 0), 1)
    swu1 = SlidingWindow("swu1", BIPOLAR, (6, 6), 4, (2, 2), (2, 2))
    pmax = Pool("pmax", BIPOLAR, 4, 4, "max", 9)
    swu2 = SlidingWindow("swu2", BIPOLAR, (3, 3), 4, (2, 2), (1, 1))
    psum = Pool("psum", BIPOLAR, 4, 4, "sum", 4)
    gap = GlobalAccPool("gap", psum.out_dtype, 4, 4)
    top = LabelSelect("top", gap.out_dtype, 4, 2)
    layers = [pad, swu1, pmax, swu2, psum, gap, top]
    _fold(layers, fold)
    names = ["s_in"] + [f"t{i}" for i in range(len(layers))]
    edges = {l.name: ([names[i]], [names[i + 1]]) for i, l in enumerate(layers)}
    df = _dataflow("bipolar_pools", layers, edges)
    assert pmax.out_dtype == BIPOLAR and psum.out_dtype == uint_type(3)
    return df


def _depthwise(fold) -> Dataflow:
    """INT4 6x6x4: window 3x3 -> VVAU INT4 x INT3 (3 thresholds -> INT2, bias -2) -> window 2x2
    -> VVAU INT2 x BIPOLAR (1 threshold -> BIPOLAR) -> window 2x2 -> VVAU BIPOLAR x BIPOLAR (XNOR,
    raw count) -> Thresholding -> window 2x1/(1,1) -> VVAU BIPOLAR x INT2 (raw accumulator)."""
    rng = np.random.default_rng(13)
    i4, i3, i2 = int_type(4), int_type(3), int_type(2)
    swu1 = SlidingWindow("swu1", i4, (6, 6), 4, (3, 3), (1, 1))
    v1 = VVAU("v1", rng.integers(-4, 4, (4, 9)), i4, i3, num_vectors=16)
    v1.set_thresholds(np.sort(rng.integers(-40, 40, (4, 3)), axis=1), -2, i2)
    swu2 = SlidingWindow("swu2", i2, (4, 4), 4, (2, 2), (1, 1))
    v2 = VVAU("v2", rng.choice([-1, 1], (4, 4)), i2, BIPOLAR, num_vectors=9)
    v2.set_thresholds(rng.integers(-2, 3, (4, 1)), 0, BIPOLAR)
    swu3 = SlidingWindow("swu3", BIPOLAR, (3, 3), 4, (2, 2), (1, 1))
    v3 = VVAU("v3", rng.choice([-1, 1], (4, 4)), BIPOLAR, BIPOLAR, num_vectors=4)
    assert v3.xnor and v3.thresholds is None
    thr = Thresholding("thr", rng.integers(1, 4, (4, 1)), v3.out_dtype, BIPOLAR, num_vectors=4)
    swu4 = SlidingWindow("swu4", BIPOLAR, (2, 2), 4, (2, 1), (1, 1))
    v4 = VVAU("v4", rng.integers(-2, 2, (4, 2)), BIPOLAR, i2, num_vectors=2)
    layers = [swu1, v1, swu2, v2, swu3, v3, thr, swu4, v4]
    _fold(layers, fold)
    names = ["s_in"] + [f"t{i}" for i in range(len(layers))]
    edges = {l.name: ([names[i]], [names[i + 1]]) for i, l in enumerate(layers)}
    return _dataflow("depthwise", layers, edges)


FOLDS = {
    "serial": lambda l, opts: 1,
    "wide": lambda l, opts: (
        opts[-1] if l.op_type in ("Pool", "AddStreams", "VVAU") else opts[len(opts) // 2]
    ),
}


@pytest.mark.parametrize("design", [_int_residual, _bipolar_pools, _depthwise])
@pytest.mark.parametrize("fold", sorted(FOLDS))
def test_hand_built_dags_bit_exact(tmp_path, design, fold):
    df = design(FOLDS[fold])
    if fold == "wide":
        assert any(l.op_type == "DWC" for l in df.layers)
    codes = sample_codes(df, 16, seed=5)
    # extremes: all-minimum and all-maximum frames (saturated sums, ties in LabelSelect)
    dt = df.layers[0].in_dtype
    lo, hi = (-1, 1) if dt.is_bipolar else (dt.min, dt.max)
    codes = np.concatenate(
        [codes, np.full((1, codes.shape[1]), lo), np.full((1, codes.shape[1]), hi)]
    )
    info = _bit_exact(df, tmp_path, codes)
    if fold == "wide":
        _no_warnings(info, tmp_path)


def test_dag_top_wires_fork_and_join(tmp_path):
    df = _int_residual(FOLDS["serial"])
    info = write_hls(df, tmp_path, PART, 200.0)
    top = (tmp_path / "hls" / f"{info['top']}.cpp").read_text()
    calls = dict(re.findall(r"^\s+(L\d+_\w+)\(([^;]*)\);", top, re.M))
    dup = next(v for k, v in calls.items() if k.endswith("_dup"))
    add = next(v for k, v in calls.items() if k.endswith("_add"))
    d_in, d_out0, d_out1, _ = (a.strip() for a in dup.split(","))
    a_in0, a_in1, a_out, _ = (a.strip() for a in add.split(","))
    assert a_in1 == d_out0  # the skip: the dup's first output (through its FIFO) is add's 2nd in
    assert a_in0 != d_out1 and len({d_in, d_out0, d_out1, a_in0, a_out}) == 5
    # FIFO depth + the fork's slack on both dup outputs
    fifo = {l.ins[0]: l.depth for l in df.layers if l.op_type == "FIFO"}
    dup_l = next(l for l in df.layers if l.op_type == "DuplicateStreams")
    for s, cname in zip(dup_l.outs, (d_out0, d_out1)):
        m = re.search(rf"STREAM variable={cname} depth=(\d+)", top)
        assert int(m.group(1)) == fifo[s] + 2
    # every stream is declared once and used by exactly one writer and one reader
    names = re.findall(r"hls::stream<ap_uint<\d+> > (\w+)\(", top)
    assert len(names) == len(set(names))
    uses = re.findall(r"\b(" + "|".join(names) + r")\b", top.split("fpgagen::axis_to_stream")[1])
    assert all(uses.count(n) == 2 for n in names)


# -- graph checks --------------------------------------------------------------------------------
def _chain_df(layers):
    names = ["s_in"] + [f"t{i}" for i in range(len(layers))]
    for i, l in enumerate(layers):
        l.ins, l.outs = [names[i]], [names[i + 1]]
    return Dataflow("g", "hand-made", None, layers, None)


def test_stream_consumed_twice_is_rejected(tmp_path):
    i4 = int_type(4)
    a = FMPadding("a", i4, (2, 2), 2, (1, 1, 1, 1), 0)
    b = Pool("b", i4, 2, 1, "max", 16)
    c = Pool("c", i4, 2, 1, "max", 16)
    add = AddStreams("add", i4, 2, 16)
    a.ins, a.outs = ["s_in"], ["x"]
    b.ins, b.outs = ["x"], ["y"]
    c.ins, c.outs = ["x"], ["z"]
    add.ins, add.outs = ["y", "z"], ["o"]
    df = Dataflow("g", "hand-made", None, [a, b, c, add], None)
    with pytest.raises(
        FpgagenError,
        match=r"stream 'x' is consumed by both b and c; fork it "
        r"with a DuplicateStreams layer",
    ):
        write_hls(df, tmp_path, PART, 200.0)


def test_dangling_stream_and_port_count_are_rejected(tmp_path):
    i4 = int_type(4)
    dup = DuplicateStreams("dup", i4, 2, 1, 4)
    p = Pool("p", i4, 2, 1, "max", 4)
    df = _chain_df([dup, p])
    with pytest.raises(
        FpgagenError,
        match=r"layer dup \(DuplicateStreams\): has 1 input and 1 "
        r"output streams, needs 1 and 2",
    ):
        write_hls(df, tmp_path, PART, 200.0)
    dup.outs = ["t0", "lost"]
    with pytest.raises(FpgagenError, match=r"stream 'lost' \(from dup\) is never consumed"):
        write_hls(df, tmp_path, PART, 200.0)
    p.ins = ["nowhere"]
    with pytest.raises(
        FpgagenError,
        match=r"input stream 'nowhere' is not produced by an "
        r"earlier layer",
    ):
        write_hls(df, tmp_path, PART, 200.0)


@pytest.mark.parametrize("op,k", [("TopK", 3), ("ArgMax", 1)])
def test_label_select_from_onnx_bit_exact(tmp_path, op, k):
    """An MLP ending in TopK / ArgMax: the scores' LabelSelect in hardware."""
    from tests.support.qonnx_graphs import small_mlp

    m = small_mlp()
    g = m.graph
    last = g.output[0].name
    if op == "TopK":
        g.initializer.append(onnx.numpy_helper.from_array(np.array([k], np.int64), "k"))
        g.node.append(onnx.helper.make_node("TopK", [last, "k"], ["vals", "idx"], axis=-1))
    else:
        g.node.append(onnx.helper.make_node("ArgMax", [last], ["idx"], axis=1, keepdims=1))
    del g.output[:]
    g.output.append(onnx.helper.make_tensor_value_info("idx", onnx.TensorProto.INT64, None))
    p = tmp_path / "ls.onnx"
    onnx.save(m, p)
    ls = make_dataflow(p, load_board("zcu104")).compute_layers[-1]
    assert ls.op_type == "LabelSelect" and ls.k == k
    # all scores in one word (a DWC in front)
    df = make_dataflow(
        p, load_board("zcu104"), folding={ls.name: {"PE": ls.folding_options()["PE"][-1]}}
    )
    assert df.compute_layers[-1].pe == ls.ch
    x = np.random.default_rng(0).uniform(-2, 2, (16, 16)).astype(np.float32)
    codes = np.concatenate([df.hw_input(x), sample_codes(df, 8, seed=9)])
    _bit_exact(df, tmp_path / "out", codes)
