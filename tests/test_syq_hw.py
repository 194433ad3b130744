"""SYQ weight scales in hardware: per-kernel-pixel scales on a grouped MVAU.

SYQ (Faraone et al., CVPR 2018) exports binary (BipolarQuant) or ternary (2-bit narrow Quant)
weights with a learned scale per kernel pixel, shape (1 or OC, 1, KH, KW), and per-row scales
on fully-connected layers. Hand-built QONNX graphs (no torch): lowering, golden model against
QONNX's executor (exact: the scales are fixed point), the grouped MVAU's folding, cost and
arithmetic, the refused cases (one-line errors, CLI exit 2), and the RTL and HLS backends bit
exact with the expected cycles.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from fpgagen.boards import load_board
from fpgagen.cli import main
from fpgagen.cost.model import estimate
from fpgagen.datatypes import BIPOLAR, TERNARY, DataType
from fpgagen.errors import FoldingError, UnsupportedModelError
from fpgagen.flow import make_dataflow, verify
from fpgagen.frontend import load_model
from fpgagen.layers import MVAU
from fpgagen.transforms.lower import lower

from tests.support.qonnx_graphs import QONNX_DOMAIN, GraphBuilder, qonnx_reference


# ------------------------------------------------------------------------------------------
# graphs
# ------------------------------------------------------------------------------------------
def _bn(b, rng, x, c):
    """BatchNormalization with some negative gammas (decreasing channels are negated)."""
    gamma = rng.uniform(0.5, 1.5, c) * rng.choice([-1, 1], c)
    return b.node(
        "BatchNormalization",
        [
            x,
            b.const(gamma.astype(np.float32)),
            b.const(rng.normal(0, 0.5, c).astype(np.float32)),
            b.const(rng.normal(0, 0.5, c).astype(np.float32)),
            b.const(rng.uniform(0.5, 2, c).astype(np.float32)),
        ],
    )


def _bipolar_weight(b, w, scale):
    return b.node(
        "BipolarQuant",
        [b.const(np.asarray(w, np.float32)), b.const(np.asarray(scale, np.float32))],
        domain=QONNX_DOMAIN,
    )


def syq_cnn(seed: int = 0) -> onnx.ModelProto:
    """8x8x3 INT4 input -> 3x3 conv (pad 1), ternary weights with one scale per kernel pixel
    (1, 1, 3, 3) -> BN -> BipolarQuant -> 3x3 conv, binary weights with a scale per output
    channel and pixel (OC, 1, 3, 3) (XNOR) -> BN -> Relu -> UINT2 -> 2x2 max pool -> flatten
    -> fully-connected, binary weights with per-row scales (BipolarQuant, scale (1, 10))."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder([1, 3, 8, 8])
    x = b.quant("x", 1.0 / 8, 4)
    t1 = rng.integers(-1, 2, (8, 3, 3, 3))
    s1 = (rng.integers(1, 8, (1, 1, 3, 3)) * 2.0**-5).astype(np.float32)
    w1 = b.quant(b.const((t1 * s1).astype(np.float32)), s1, 2, 1, 1)
    h = b.node("Conv", [x, w1], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    h = b.bipolar(_bn(b, rng, h, 8))
    t2 = rng.choice([-1, 1], (8, 8, 3, 3))
    s2 = (rng.integers(1, 16, (8, 1, 3, 3)) * 2.0**-6).astype(np.float32)
    h = b.node("Conv", [h, _bipolar_weight(b, t2 * s2, s2)], kernel_shape=[3, 3])
    h = b.quant(b.node("Relu", [_bn(b, rng, h, 8)]), 0.25, 2, signed=0)
    h = b.node("MaxPool", [h], kernel_shape=[2, 2], strides=[2, 2])
    h = b.node("Flatten", [h], axis=1)
    t3 = rng.choice([-1, 1], (72, 10))
    s3 = (rng.integers(1, 8, (1, 10)) * 2.0**-4).astype(np.float32)
    b.node("MatMul", [h, _bipolar_weight(b, t3 * s3, s3)])
    return b.model([1, 10])


def per_channel_net(seed: int = 1) -> onnx.ModelProto:
    """Per-output-channel weight scales (no groups): a binary conv with a BipolarQuant scale
    (OC, 1, 1, 1), a ternary conv with a Quant scale (OC, 1, 1, 1), an FC with per-row Quant
    scales, each followed by thresholds."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder([1, 3, 6, 6])
    x = b.quant("x", 1.0 / 8, 4)
    s1 = (rng.integers(1, 8, (6, 1, 1, 1)) * 2.0**-4).astype(np.float32)
    t1 = rng.choice([-1, 1], (6, 3, 3, 3))
    h = b.node("Conv", [x, _bipolar_weight(b, t1 * s1, s1)], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    h = b.quant(b.node("Relu", [_bn(b, rng, h, 6)]), 0.5, 3, signed=0)
    s2 = (rng.integers(1, 8, (4, 1, 1, 1)) * 2.0**-3).astype(np.float32)
    t2 = rng.integers(-1, 2, (4, 6, 3, 3))
    w2 = b.quant(b.const((t2 * s2).astype(np.float32)), s2, 2, 1, 1)
    h = b.node("Conv", [h, w2], kernel_shape=[3, 3], strides=[2, 2])
    h = b.quant(_bn(b, rng, h, 4), 0.25, 3)
    h = b.node("Flatten", [h], axis=1)
    s3 = (rng.integers(1, 8, (1, 5)) * 2.0**-5).astype(np.float32)
    t3 = rng.integers(-1, 2, (16, 5))
    b.node("MatMul", [h, b.quant(b.const((t3 * s3).astype(np.float32)), s3, 2, 1, 1)])
    return b.model([1, 5])


def _conv_net(scale, *, group=1, ic=3, oc=4, ternary=True, seed=2) -> onnx.ModelProto:
    """One 3x3 conv with weight scale ``scale`` (for the refused cases)."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder([1, ic, 6, 6])
    x = b.quant("x", 1.0 / 8, 4)
    scale = np.asarray(scale, np.float32)
    t = (
        rng.integers(-1, 2, (oc, ic // group, 3, 3))
        if ternary
        else rng.choice([-1, 1], (oc, ic // group, 3, 3))
    )
    w = (t * scale).astype(np.float32)
    wq = b.quant(b.const(w), scale, 2, 1, 1) if ternary else _bipolar_weight(b, w, scale)
    b.node("Conv", [x, wq], kernel_shape=[3, 3], group=group)
    return b.model([1, oc, 4, 4])


@pytest.fixture(scope="module")
def syq_path(tmp_path_factory):
    p = tmp_path_factory.mktemp("syq") / "syq_cnn.onnx"
    onnx.save(syq_cnn(), p)
    return p


def _images(n, seed=1, shape=(3, 8, 8)):
    return np.random.default_rng(seed).uniform(-1, 1, (n,) + shape).astype(np.float32)


# ------------------------------------------------------------------------------------------
# lowering and golden model
# ------------------------------------------------------------------------------------------
def test_lowering_makes_grouped_mvaus(syq_path):
    df = lower(load_model(syq_path))
    mv = {l.name: l for l in df.layers if isinstance(l, MVAU)}
    c1, c2, fc = (mv[n] for n in sorted(mv, key=lambda n: int(n.rsplit("_", 1)[1])))
    # conv 1: 9 groups (kernel pixels) of IC = 3 columns, one multiplier set for every row
    assert c1.grouped and (c1.groups, c1.group_size) == (9, 3) and c1.w_dtype == TERNARY
    assert np.all(c1.group_mult == c1.group_mult[:1])  # (1, 1, 3, 3): shared by the rows
    # the integers are the scales' m with the common factor pulled out
    rng = np.random.default_rng(0)
    rng.integers(-1, 2, (8, 3, 3, 3))
    m1 = rng.integers(1, 8, (1, 1, 3, 3)).reshape(9)
    g = np.gcd.reduce(m1)
    assert np.array_equal(c1.group_mult[0], m1 // g)
    # conv 2: binary x bipolar = XNOR inside the groups, one multiplier per (row, pixel)
    assert c2.grouped and c2.xnor and not c2.xnor_popcount and (c2.groups, c2.group_size) == (9, 8)
    assert c2.mult_bits <= 4
    # FC: per-row scales fold into the thresholds/tail: a plain MVAU
    assert not fc.grouped and fc.w_dtype == BIPOLAR
    # the accumulator of a grouped layer covers the multipliers
    lo, hi = c1.acc_range()
    w = c1.acc_weights()
    assert np.array_equal(hi, np.maximum(-8 * w, 7 * w).sum(axis=1))  # INT4 inputs
    assert np.array_equal(lo, np.minimum(-8 * w, 7 * w).sum(axis=1))
    assert np.abs(w).max() == c1.group_mult.max() > 1


def test_golden_equals_qonnx_exactly(syq_path):
    df = lower(load_model(syq_path))
    x = _images(24)
    trace: dict = {}
    gold = df.golden(x)
    df.run_layers(gold["codes"], trace)
    y_ref = qonnx_reference(syq_path, x)
    # fixed-point scales: the float executor is exact, the golden model equals it bit for bit
    assert np.array_equal(gold["y"], y_ref), np.abs(gold["y"] - y_ref).max()
    # not degenerate: both grouped layers produce every output level
    mv = [l for l in df.layers if isinstance(l, MVAU) and l.grouped]
    assert set(np.unique(trace[mv[0].name])) == {-1, 1}
    assert set(np.unique(trace[mv[1].name])) == {0, 1, 2, 3}


def test_per_output_channel_scales_fold_into_thresholds(tmp_path):
    """BipolarQuant and Quant with (OC, 1, 1, 1) / per-row scales: plain MVAUs, exact."""
    p = tmp_path / "pc.onnx"
    onnx.save(per_channel_net(), p)
    df = lower(load_model(p))
    mv = [l for l in df.layers if isinstance(l, MVAU)]
    assert len(mv) == 3 and not any(l.grouped for l in mv)
    x = _images(16, shape=(3, 6, 6))
    assert np.array_equal(df.golden(x)["y"], qonnx_reference(p, x))


def test_pixel_scale_decomposition():
    from fpgagen.ir import Graph, Node
    from fpgagen.transforms.lower.conv import pixel_scales as _pixel_scales

    g = Graph(nodes=[], inputs=["x"], outputs=["y"], consts={}, source="m.onnx")
    node = Node("Conv", "c", ["x", "w"], ["y"], {}, "")
    # per pixel, shared: 3*2^-7, 6*2^-7, 12*2^-7, ... -> c = 3*2^-7, m = 1, 2, 4, ...
    s = (np.array([3, 6, 12, 3, 9, 3, 6, 3, 3]) * 2.0**-7).reshape(1, 1, 3, 3)
    mult, s_row = _pixel_scales(g, node, s.astype(np.float32), (2, 4, 3, 3), 1)
    assert mult.tolist() == [[1, 2, 4, 1, 3, 1, 2, 1, 1]] * 2
    assert s_row.tolist() == [3 * 2.0**-7] * 2
    # per (row, pixel), different exponents: F = 20, each row its own common factor
    s = np.stack([np.array([1, 2, 3, 4]) * 2.0**-20, np.array([8, 8, 8, 16]) * 2.0**-3])
    mult, s_row = _pixel_scales(g, node, s.reshape(2, 1, 2, 2).astype(np.float32), (2, 5, 2, 2), 1)
    assert mult.tolist() == [[1, 2, 3, 4], [1, 1, 1, 2]]
    assert s_row.tolist() == [2.0**-20, 1.0]
    assert np.array_equal(s_row[:, None] * mult, s.reshape(2, 4))


# ------------------------------------------------------------------------------------------
# the grouped MVAU layer: arithmetic of the hardware, folding, cost
# ------------------------------------------------------------------------------------------
def _stepwise(l: MVAU, x: np.ndarray) -> np.ndarray:
    """The hardware's schedule: per fold step the SIMD-lane dot product (XNOR: the popcount,
    turned into 2*pc - SIMD) times the row's multiplier of the step's group, summed modulo
    2^ACC_BITS and read back as a signed ACC_BITS number."""
    bits = l.acc_bits
    out = np.zeros((x.shape[0], l.mh), dtype=np.int64)
    spg = l.group_size // l.simd
    for sf in range(l.sf):
        cols = slice(sf * l.simd, (sf + 1) * l.simd)
        if l.xnor:
            pc = (x[:, None, cols] == l.weights[None, :, cols]).sum(axis=2)
            dot = 2 * pc - l.simd
        else:
            dot = x[:, cols] @ l.weights[:, cols].T
        out = (out + dot * l.group_mult[:, sf // spg][None, :]) % (1 << bits)
    return np.where(out >= 1 << (bits - 1), out - (1 << bits), out)


@pytest.mark.parametrize(
    "in_dt,w_dt",
    [("BIPOLAR", "BIPOLAR"), ("INT4", "TERNARY"), ("UINT2", "BIPOLAR"), ("BIPOLAR", "TERNARY")],
)
def test_grouped_accumulate_matches_the_step_schedule(in_dt, w_dt):
    rng = np.random.default_rng(3)
    ind, wd = DataType(in_dt), DataType(w_dt)

    def vals(dt, shape):
        return (
            rng.choice([-1, 1], shape) if dt.is_bipolar else rng.integers(dt.min, dt.max + 1, shape)
        )

    w = vals(wd, (6, 24))
    mult = rng.integers(1, 2**10, (6, 4))
    for simd in (1, 2, 3, 6):
        l = MVAU("g", w, ind, wd, group_mult=mult, simd=simd, pe=3)
        x = vals(ind, (20, 24))
        acc = l.accumulate(x)
        assert np.array_equal(acc, _stepwise(l, x))
        lo, hi = l.acc_range()
        assert np.all(acc >= lo) and np.all(acc <= hi)
    # the XNOR accumulator of a grouped layer is signed, not a popcount
    if ind.is_bipolar and wd.is_bipolar:
        assert l.acc_range()[0].min() < 0


def test_grouped_folding_simd_divides_the_group_size():
    l = MVAU(
        "g",
        np.ones((4, 36), np.int64),
        DataType("INT4"),
        TERNARY,
        group_mult=np.ones((4, 9), np.int64),
    )
    assert l.folding_options() == {"PE": [1, 2, 4], "SIMD": [1, 2, 4]}
    l.set_folding(PE=2, SIMD=4)
    assert (l.nf, l.sf, l.expected_cycles()) == (2, 9, 18)
    with pytest.raises(
        FoldingError,
        match=r"layer g \(MVAU\): SIMD=12 does not divide the "
        r"group size \(MW/9 columns per multiplier\)=4; "
        r"allowed: \[1, 2, 4\]",
    ):
        l.set_folding(SIMD=12)


def test_folding_strategies_respect_groups(syq_path, tmp_path):
    board = load_board("zcu104")
    for strategy, fps in (
        ("optimize", None),
        ("optimize", 3e5),
        ("optimize", 1e4),
        ("simple", None),
        ("simple", 1e9),
        ("simple", 1e4),
    ):
        # io="stream": the unreachable 1e9 fps case tests the folding rule, not the memory bound
        df = make_dataflow(syq_path, board, fps=fps, strategy=strategy, io="stream")
        grouped = [l for l in df.layers if isinstance(l, MVAU) and l.grouped]
        assert len(grouped) == 2
        for l in grouped:
            assert l.group_size % l.simd == 0, (strategy, fps, l.folding())
        if fps == 1e9:  # unreachable: the fastest allowed folding, SIMD = the group size
            assert [l.simd for l in grouped] == [3, 8]
    bad = tmp_path / "fold.json"
    grouped = next(
        l for l in lower(load_model(syq_path)).layers if isinstance(l, MVAU) and l.grouped
    )
    bad.write_text(json.dumps({"layers": {grouped.name: {"SIMD": 27}}}))
    with pytest.raises(FoldingError, match="does not divide the group size"):
        make_dataflow(syq_path, board, folding=bad)


def test_cost_counts_one_multiplier_per_pe():
    rng = np.random.default_rng(0)
    w = rng.integers(-1, 2, (16, 27))
    plain = MVAU("p", w, DataType("INT4"), TERNARY, pe=4, simd=3)
    grouped = MVAU(
        "g",
        w,
        DataType("INT4"),
        TERNARY,
        pe=4,
        simd=3,
        group_mult=np.repeat(rng.integers(1, 8, (1, 9)), 16, axis=0),
    )
    ep, eg = estimate(plain), estimate(grouped)
    # INT4 x TERNARY over SIMD 3: an 8-bit dot product x a 4-bit multiplier -> 1 DSP per PE
    assert (ep["dsp"], eg["dsp"]) == (0, 4)
    assert eg["lut"] > ep["lut"] and eg["ff"] > ep["ff"]
    # XNOR over SIMD 1: a 2-bit dot product x 3 bits stays in LUTs
    x = MVAU(
        "x",
        rng.choice([-1, 1], (4, 9)),
        BIPOLAR,
        BIPOLAR,
        pe=2,
        simd=1,
        group_mult=rng.integers(1, 4, (4, 9)),
    )
    assert estimate(x)["dsp"] == 0
    assert grouped.to_dict()["groups"] == 9 and "9 groups of 3" in grouped.note


# ------------------------------------------------------------------------------------------
# refused cases: one-line errors naming the node, CLI exit 2
# ------------------------------------------------------------------------------------------
REFUSED = {
    "varies_over_ic": (
        dict(scale=np.arange(1, 4).reshape(1, 3, 1, 1) * 0.25),
        (
            r"node 'Conv_\d+' \(op Conv\): weight scale varies over the input "
            r"channels; supported weight scales are per-tensor"
        ),
    ),
    "depthwise": (
        dict(scale=(np.arange(1, 10) * 0.125).reshape(1, 1, 3, 3), group=4, ic=4),
        (
            r"node 'Conv_\d+' \(op Conv\): per-kernel-pixel weight scales on a "
            r"grouped/depthwise convolution \(group=4\) are not supported"
        ),
    ),
    "not_fixed_point": (
        dict(scale=(np.arange(1, 10) * 0.1).reshape(1, 1, 3, 3)),
        (
            r"node 'Conv_\d+' \(op Conv\): per-kernel-pixel weight scales .* are "
            r"not fixed-point values m \* 2\^-F with a common F and m < 65536"
        ),
    ),
    "negative": (
        dict(scale=(np.arange(-4, 5) * 0.125 + 0.0625).reshape(1, 1, 3, 3), ternary=False),
        (
            r"node 'Conv_\d+' \(op Conv\): per-kernel-pixel weight scale -0.4375 is not "
            r"positive"
        ),
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_scales(case, tmp_path, capsys):
    kw, msg = REFUSED[case]
    p = tmp_path / f"{case}.onnx"
    onnx.save(_conv_net(**kw), p)
    with pytest.raises(UnsupportedModelError, match=msg):
        lower(load_model(p))
    assert main(["build", str(p), "--board", "zcu104", "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("fpgagen: error: ") and str(p) in err
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------------------
# backends: RTL (Verilator) and HLS (g++), bit exact, cycles within 5 %
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def syq_build(syq_path, tmp_path_factory):
    """`fpgagen build` with both backends, and 8 images with their QONNX outputs."""
    d = tmp_path_factory.mktemp("syq_build")
    out = d / "b"
    assert (
        main(
            [
                "build",
                str(syq_path),
                "--board",
                "zcu104",
                "-o",
                str(out),
                "--backend",
                "both",
                "--fps",
                "150000",
            ]
        )
        == 0
    )
    x = _images(8, seed=2)
    np.save(d / "x.npy", x)
    np.save(d / "y.npy", qonnx_reference(syq_path, x))
    return out, d / "x.npy", d / "y.npy"


def test_build_records_groups(syq_build):
    out, _, _ = syq_build
    meta = json.loads((out / "dataflow.json").read_text())
    grouped = [l for l in meta["layers"] if l.get("groups")]
    assert [l["groups"] for l in grouped] == [9, 9]
    top = next((out / "rtl").glob("*_top.v")).read_text()
    for l in grouped:
        assert (out / "rtl" / "mem" / f"{l['name']}_mults.mem").is_file()
        assert f'.MULT_FILE("mem/{l["name"]}_mults.mem")' in top
    assert top.count(".MULT_BITS(") == 2  # the plain MVAU keeps the module's defaults
    rep = json.loads((out / "report.json").read_text())
    assert sum("groups" in l.get("note", "") for l in rep["layers"]) == 2


@pytest.mark.rtl
def test_rtl_bit_exact_and_on_time(syq_build):
    out, x, y = syq_build
    rep = verify(out, x, backend="rtl", outputs=y, progress=lambda s: None)
    assert rep["onnx_max_abs_err"] == 0.0
    assert rep["mismatched_frames"] == 0 and rep["stress_mismatched_frames"] == 0
    assert abs(rep["cycles_error"]) <= 0.05, rep


@pytest.mark.rtl
def test_rtl_serial_folding(syq_path, tmp_path):
    """SIMD = 1 (several steps per group) and PE = 1: the slowest folding, still exact."""
    df = lower(load_model(syq_path))
    fold = {"layers": {l.name: {"PE": 1, "SIMD": 1} for l in df.layers if isinstance(l, MVAU)}}
    (tmp_path / "fold.json").write_text(json.dumps(fold))
    out = tmp_path / "b"
    assert (
        main(
            [
                "build",
                str(syq_path),
                "--board",
                "zcu104",
                "-o",
                str(out),
                "--backend",
                "rtl",
                "--folding",
                str(tmp_path / "fold.json"),
            ]
        )
        == 0
    )
    np.save(tmp_path / "x.npy", _images(3, seed=5))
    rep = verify(out, tmp_path / "x.npy", backend="rtl", progress=lambda s: None)
    assert rep["mismatched_frames"] == 0 and rep["stress_mismatched_frames"] == 0
    assert abs(rep["cycles_error"]) <= 0.05, rep


@pytest.mark.hls
def test_hls_bit_exact(syq_build, ap_types):
    out, x, y = syq_build
    rep = verify(out, x, backend="hls", outputs=y, progress=lambda s: None)
    assert rep["mismatched_frames"] == 0 and rep["onnx_max_abs_err"] == 0.0


@pytest.mark.hls
def test_hls_compiles_without_warnings(syq_build, ap_types):
    from fpgagen.sim.hls_csim import compile_hls

    out, _, _ = syq_build
    meta = json.loads((out / "dataflow.json").read_text())
    headers = [p.read_text() for p in (out / "hls" / "layers").iterdir()]
    assert sum("fpgagen::mvau_grouped<" in h for h in headers) == 2
    assert sum("fpgagen::mvau<" in h for h in headers) == 1
    compile_hls(out / "hls", meta["hls"]["top"], extra_flags=("-Werror",))


@pytest.mark.rtl
@pytest.mark.hls
@pytest.mark.torch
@pytest.mark.slow
def test_brevitas_cnv_syq_bit_exact(cnn_onnx, cifar_like_samples, ap_types, tmp_path):
    """The Brevitas SYQ CNV preset (ternary weights, learned per-kernel-pixel scales, 2-bit
    activations; fpgagen.models.cnn "cnv_syq"): six grouped MVAUs, golden == QONNX exactly,
    RTL and HLS bit exact, cycles within 5 %."""
    pytest.importorskip("torch")
    onnx_path = cnn_onnx("cnv_syq", 0)
    df = lower(load_model(onnx_path))
    grouped = [l for l in df.layers if isinstance(l, MVAU) and l.grouped]
    assert len(grouped) == 6 and all(l.groups == 9 for l in grouped)
    x = cifar_like_samples[:4]
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
                "--fps",
                "10000",
                "--backend",
                "both",
            ]
        )
        == 0
    )
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", qonnx_reference(onnx_path, x))
    rep = verify(
        out, tmp_path / "x.npy", backend="rtl", outputs=tmp_path / "y.npy", progress=lambda s: None
    )
    assert rep["onnx_max_abs_err"] == 0.0 and rep["onnx_argmax_equal"]
    assert rep["mismatched_frames"] == 0 and rep["stress_mismatched_frames"] == 0
    assert abs(rep["cycles_error"]) <= 0.05, rep
    rep = verify(out, tmp_path / "x.npy", backend="hls", progress=lambda s: None)
    assert rep["mismatched_frames"] == 0
