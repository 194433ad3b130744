"""HLS C++ backend: bit-exact g++ C simulation against the golden model, warnings, headers,
identifier sanitisation and error messages.

Every distinct design is one g++ build (~3-5 s), cached in $FPGAGEN_CACHE/hls.
"""

from __future__ import annotations

import subprocess

import numpy as np
import onnx
import pytest
from fpgagen.boards import load_board
from fpgagen.codegen.hls import sample_codes, write_hls
from fpgagen.codegen.templates import HEADER
from fpgagen.dataflow import Dataflow
from fpgagen.datatypes import BIPOLAR, int_type
from fpgagen.errors import FpgagenError
from fpgagen.flow import make_dataflow
from fpgagen.layers import DWC, FIFO, MVAU, Thresholding
from fpgagen.sim.hls_csim import compile_hls, simulate_hls

from tests.support.qonnx_graphs import GraphBuilder, small_mlp

PART = "xczu7ev-ffvc1156-2-e"

pytestmark = [pytest.mark.hls, pytest.mark.usefixtures("ap_types")]


# -- designs ------------------------------------------------------------------------------------
def _xnor_mlp() -> onnx.ModelProto:
    """bipolar x -> XNOR MatMul -> bipolar -> XNOR MatMul (raw popcount out)."""
    rng = np.random.default_rng(5)
    b = GraphBuilder([1, 16])
    x = b.bipolar("x")
    w1 = b.bipolar(b.const(rng.normal(size=(16, 12)).astype(np.float32)))
    h = b.node("MatMul", [x, w1])
    h = b.node("Add", [h, b.const(rng.integers(-3, 4, 12).astype(np.float32))])
    h = b.bipolar(h)
    w2 = b.bipolar(b.const(rng.normal(size=(12, 6)).astype(np.float32)))
    b.node("MatMul", [h, w2])
    return b.model([1, 6])


def _thresholding_graph() -> onnx.ModelProto:
    """A Quant after a Quant (a standalone Thresholding layer) feeding a MatMul."""
    b = GraphBuilder([1, 8])
    x = b.quant("x", 0.125, 4)
    x = b.quant(x, 0.5, 2)
    w = b.qweight(np.random.default_rng(3).integers(-2, 3, (8, 6)) * 0.5, 0.5, 4)
    b.node("MatMul", [x, w])
    return b.model([1, 6])


GRAPHS = {
    "mlp_a2": lambda: small_mlp(act_bits=2, w_bits=4),
    "mlp_a4": lambda: small_mlp(act_bits=4, w_bits=4),
    "mlp_a8": lambda: small_mlp(act_bits=8, w_bits=4),
    "xnor": _xnor_mlp,
    "thresholding": _thresholding_graph,
}


def _pick(options, frac):
    return options[int(round(frac * (len(options) - 1)))]


def _folding(model_path, kind: str):
    """None (the folding rule), "serial" (PE = SIMD = 1) or "mixed" (mid-range, needs DWCs)."""
    if kind == "default":
        return None
    df = make_dataflow(model_path, load_board("zcu104"))
    out = {}
    for i, l in enumerate(df.compute_layers):
        opts = l.folding_options()
        if kind == "serial":
            out[l.name] = {k: 1 for k in opts}
        else:
            fr = (0.5, 0.35) if i % 2 == 0 else (0.35, 0.6)
            out[l.name] = {k: _pick(v, fr[j % 2]) for j, (k, v) in enumerate(sorted(opts.items()))}
    return out


def _check_bit_exact(model_path, kind, tmp_path, extra_codes=None):
    df = make_dataflow(model_path, load_board("zcu104"), folding=_folding(model_path, kind))
    info = write_hls(df, tmp_path, PART, 200.0)
    codes = sample_codes(df, 24, seed=11)
    if extra_codes is not None:
        codes = np.concatenate([codes, extra_codes(df)])
    got = simulate_hls(tmp_path, df, codes)
    want = df.run_layers(codes)
    assert got.dtype == np.int64 and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    return df, info


# -- bit exactness --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "graph,kind",
    [
        ("mlp_a2", "default"),
        ("mlp_a2", "mixed"),
        ("mlp_a4", "default"),
        ("mlp_a4", "mixed"),
        ("mlp_a4", "serial"),
        ("mlp_a8", "default"),
        ("mlp_a8", "mixed"),
        ("xnor", "default"),
        ("xnor", "mixed"),
        ("thresholding", "default"),
        ("thresholding", "mixed"),
    ],
)
def test_hand_built_graphs_bit_exact(tmp_path, graph, kind):
    p = tmp_path / f"{graph}.onnx"
    onnx.save(GRAPHS[graph](), p)
    df, _ = _check_bit_exact(p, kind, tmp_path / "out")
    if graph == "xnor":
        assert df.compute_layers[0].xnor
    if kind == "mixed" and graph.startswith("mlp"):
        assert any(l.op_type == "DWC" for l in df.layers)


@pytest.mark.torch
@pytest.mark.parametrize(
    "preset,kind",
    [
        ("tiny_w1a1", "default"),
        ("tiny_w1a1", "mixed"),
        ("tiny_w1a1", "serial"),
        ("tiny_w1a2", "default"),
        ("tiny_w1a2", "mixed"),
        ("tiny_w2a2", "default"),
        ("tiny_w2a2", "mixed"),
        ("tiny_ternary_odd", "default"),
        ("tiny_ternary_odd", "serial"),
        ("tiny_w4a4", "default"),
        ("tiny_w4a4", "mixed"),
    ],
)
def test_brevitas_presets_bit_exact(preset_onnx, tmp_path, preset, kind):
    pytest.importorskip("brevitas")
    path = preset_onnx(preset)

    def realistic(df):  # codes from float inputs through the host head, as on the board
        x = np.random.default_rng(3).uniform(0, 1, (8,) + tuple(df.head.input_shape[1:]))
        return df.hw_input(x.astype(np.float32))

    df, _ = _check_bit_exact(path, kind, tmp_path, extra_codes=realistic)
    if kind == "mixed":  # the default folding rule may or may not need width converters
        assert any(l.op_type == "DWC" for l in df.layers)


# -- a hand-made dataflow with every layer kind and arithmetic mode -----------------------------
def _kitchen_sink(names=None, df_name="kitchen_sink") -> Dataflow:
    """FIFO, Thresholding (INT8 -> BIPOLAR), DWC, XNOR MVAU (-> BIPOLAR), DWC, BIPOLAR x INT3
    MVAU (-> INT2, negative bias), DWC, INT2 x BIPOLAR MVAU (raw accumulator), FIFO."""
    rng = np.random.default_rng(7)
    names = names or [
        "fifo_in",
        "thr",
        "dwc_a",
        "xnor",
        "dwc_b",
        "bip_in",
        "dwc_c",
        "bip_w",
        "fifo_out",
    ]
    i8, i3, i2 = int_type(8), int_type(3), int_type(2)
    thr = Thresholding(names[1], np.sort(rng.integers(-60, 60, (12, 1)), axis=1), i8, BIPOLAR, pe=3)
    m1 = MVAU(
        names[3],
        rng.choice([-1, 1], (8, 12)),
        BIPOLAR,
        BIPOLAR,
        thresholds=rng.integers(3, 10, (8, 1)),
        out_dtype=BIPOLAR,
        pe=2,
        simd=4,
    )
    m2 = MVAU(
        names[5],
        rng.integers(-4, 4, (10, 8)),
        BIPOLAR,
        i3,
        thresholds=np.sort(rng.integers(-12, 12, (10, 3)), axis=1),
        out_bias=-2,
        out_dtype=i2,
        pe=5,
        simd=4,
    )
    m3 = MVAU(names[7], rng.choice([-1, 1], (6, 10)), i2, BIPOLAR, pe=3, simd=2)
    layers = [
        FIFO(names[0], i8, 12, 3, 8),
        thr,
        DWC(names[2], BIPOLAR, 12, 3, 4),
        m1,
        DWC(names[4], BIPOLAR, 8, 2, 4),
        m2,
        DWC(names[6], i2, 10, 5, 2),
        m3,
        FIFO(names[8], m3.out_dtype, 6, 3, 4),
    ]
    return chain(Dataflow(df_name, "hand-made", None, layers, None))


def chain(df: Dataflow) -> Dataflow:
    """Name the streams of a hand-made chain of layers (ins/outs of the dataflow graph)."""
    prev = getattr(df, "INPUT", "s_in")
    for i, l in enumerate(df.layers):
        l.ins, l.outs = [prev], [f"s_{i}"]
        prev = l.outs[0]
    return df


def test_every_layer_kind_bit_exact(tmp_path):
    df = _kitchen_sink()
    info = write_hls(df, tmp_path, PART, 250.0)
    codes = sample_codes(df, 40, seed=1)
    np.testing.assert_array_equal(simulate_hls(tmp_path, df, codes), df.run_layers(codes))
    # the generated testbench checks itself against tb_expected.hex (Vitis csim/cosim do this)
    exe = compile_hls(tmp_path / "hls", info["top"])
    res = subprocess.run(
        [str(exe), "tb_input.hex", "tb_output.hex", "tb_expected.hex"],
        cwd=tmp_path / "hls",
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    assert "PASS" in res.stdout
    # and it fails (exit 1, naming the word) when the expected outputs are wrong
    exp = (tmp_path / "hls" / "tb_expected.hex").read_text().splitlines()
    first = next(i for i, l in enumerate(exp) if not l.startswith("//"))
    exp[first] = format(int(exp[first], 16) ^ 1, f"0{len(exp[first])}x")
    (tmp_path / "hls" / "bad.hex").write_text("\n".join(exp) + "\n")
    res = subprocess.run(
        [str(exe), "tb_input.hex", "out.hex", "bad.hex"],
        cwd=tmp_path / "hls",
        capture_output=True,
        text=True,
    )
    assert res.returncode == 1 and "output word 0" in res.stderr


def test_compiles_without_warnings(tmp_path):
    """g++ -std=c++14 -O2 -Wall -Wextra -Werror on the design with every layer kind."""
    df = _kitchen_sink()
    info = write_hls(df, tmp_path, PART, 200.0)
    exe = compile_hls(
        tmp_path / "hls", info["top"], extra_flags=("-Werror",), cache_root=tmp_path / "cache"
    )
    cmd, stderr = (exe.parent / "compile.log").read_text().split("\n", 1)
    assert "-Wall" in cmd.split() and "-Wextra" in cmd.split()
    assert "warning" not in stderr


def test_every_file_starts_with_header(tmp_path):
    df = _kitchen_sink()
    info = write_hls(df, tmp_path, PART, 200.0)
    files = set(info["files"])
    on_disk = {str(p.relative_to(tmp_path)) for p in (tmp_path / "hls").rglob("*") if p.is_file()}
    assert files == on_disk
    for rel in [
        "hls/fpgagen/mvau.h",
        "hls/fpgagen/dwc.h",
        "hls/fpgagen/thresholding.h",
        "hls/fpgagen/streams.h",
        "hls/layers.h",
        "hls/kitchen_sink_top.cpp",
        "hls/kitchen_sink_top.h",
        "hls/tb.cpp",
        "hls/run_hls.tcl",
        "hls/Makefile",
        "hls/tb_input.hex",
        "hls/tb_expected.hex",
    ]:
        assert rel in files
    for rel in files:
        first = (tmp_path / rel).read_text().splitlines()[0]
        assert first in (f"// {HEADER}", f"# {HEADER}"), (rel, first)
    assert info["top"] == "kitchen_sink_top"


def test_nasty_names_cannot_break_cpp(tmp_path):
    """Layer names that are C++ keywords or clash with generated names still compile."""
    names = ["int", "main", "_", "L3_top", "std", "s_in", "__x__", "fpgagen", "return"]
    df = _kitchen_sink(names, df_name="3 L3 top;#include <x>")
    info = write_hls(df, tmp_path, PART, 200.0)
    assert info["top"] == "n_3_L3_top_include_x_top"
    codes = sample_codes(df, 5, seed=2)
    np.testing.assert_array_equal(simulate_hls(tmp_path, df, codes), df.run_layers(codes))


@pytest.mark.parametrize("bad", ['x"); system("rm -rf /', "a b", "1abc", "é"])
def test_invalid_layer_name_is_rejected(tmp_path, bad):
    df = _kitchen_sink()
    df.layers[3].name = bad
    with pytest.raises(FpgagenError, match=r"layer 3 name .* is not a valid identifier"):
        write_hls(df, tmp_path, PART, 200.0)


def test_unsupported_op_type(tmp_path):
    df = _kitchen_sink()

    class Conv(FIFO):
        op_type = "ConvolutionInputGenerator"

    df.layers[0] = Conv("swu", int_type(8), 12, 3, 2)
    chain(df)
    with pytest.raises(
        FpgagenError,
        match=r"layer swu: op_type 'ConvolutionInputGenerator' is not "
        r"supported by the HLS backend; supported: AddStreams, DWC, "
        r"DuplicateStreams, FIFO, FMPadding, GlobalAccPool, "
        r"LabelSelect, MVAU, Pool, SlidingWindow, "
        r"Thresholding, VVAU",
    ):
        write_hls(df, tmp_path, PART, 200.0)


@pytest.mark.parametrize(
    "part,clock,msg",
    [
        ("xc7z020 ; exec rm", 100.0, "is not a valid part name"),
        (PART, 0.0, "out of range"),
    ],
)
def test_bad_part_or_clock(tmp_path, part, clock, msg):
    with pytest.raises(FpgagenError, match=msg):
        write_hls(_kitchen_sink(), tmp_path, part, clock)


def test_compile_error_is_one_line(tmp_path):
    from fpgagen.errors import SimulationError

    df = _kitchen_sink()
    info = write_hls(df, tmp_path, PART, 200.0)
    top_cpp = tmp_path / "hls" / f"{info['top']}.cpp"
    top_cpp.write_text(top_cpp.read_text() + "\nthis is not C++;\n")
    with pytest.raises(
        SimulationError,
        match=r"g\+\+ failed to compile the HLS C simulation of "
        r"kitchen_sink_top: .*error",
    ) as e:
        simulate_hls(tmp_path, df, sample_codes(df, 1))
    assert "\n" not in str(e.value)
