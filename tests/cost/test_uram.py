"""Weights in UltraRAM (issue 20, first part): URAM counting, the folding file's ram_style,
the refusal on boards without URAM and at build time, and the optimiser's choice."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from fpgagen.boards import load_board
from fpgagen.cost.model import estimate, map_memory
from fpgagen.dataflow import Dataflow
from fpgagen.datatypes import DataType
from fpgagen.errors import FoldingError, FpgagenError
from fpgagen.fold import apply_folding_file, folding_dict
from fpgagen.fold.uram import optimize_uram
from fpgagen.layers.memory import uram_blocks
from fpgagen.layers.mvau import MVAU
from fpgagen.layers.vvau import VVAU


def _mvau(mw, mh, pe, simd, w_t="INT4", style="ultra", name="m", seed=0):
    rng = np.random.default_rng(seed)
    wd = DataType(w_t)
    w = rng.integers(wd.min, wd.max + 1, size=(mh, mw))
    return MVAU(name, w, DataType("UINT4"), wd, pe=pe, simd=simd, ram_style=style)


@pytest.mark.parametrize(
    "depth, width, blocks",
    [
        (1, 1, 1),
        (4096, 72, 1),  # exactly one URAM288
        (4097, 72, 2),  # depth cascade
        (4096, 73, 2),  # width cascade: a second block for one bit
        (4097, 73, 4),
        (32768, 4, 8),  # narrow words are not packed two to a 72-bit word
        (512, 288, 4),
    ],
)
def test_uram_blocks_hand_computed(depth, width, blocks):
    assert uram_blocks(depth, width) == blocks
    m = map_memory(depth, width, True, "ultra")
    assert (m["kind"], m["uram"], m["bram18"]) == ("uram", blocks, 0)


def test_auto_memory_never_goes_to_uram():
    """Yosys infers URAM288 only with ``synth_xilinx -uram``, which fpgagen's script does not
    pass: an ``auto`` ROM or RAM goes to block RAM (the tenth hold-out set's 2739 x 40 FIFO:
    4 RAMB36 in Yosys, where the model had taken one URAM by memory_libmap's costs); only an
    explicit ``ultra`` memory is URAM."""
    assert map_memory(8192, 72, True, "auto")["uram"] == 0
    fifo = map_memory(2739, 40, False, "auto")
    assert (fifo["kind"], fifo["bram18"], fifo["uram"]) == ("bram", 8, 0)
    big = map_memory(65536, 72, False, "auto")
    assert big["kind"] == "bram" and big["uram"] == 0
    assert map_memory(2739, 40, False, "ultra")["uram"] == 1


@pytest.mark.parametrize(
    "mw, mh, pe, simd, w_t, blocks",
    [
        # depth NF*SF = 32*16 = 512, width PE*SIMD*4 = 32 bits: one block
        (64, 64, 2, 4, "INT4", 1),
        # depth 16*8 = 128, width 4*8*4 = 128 bits: two blocks side by side
        (64, 64, 4, 8, "INT4", 2),
        # depth 64*512 = 32768, width 2*2 = 4 bits: eight blocks deep
        (1024, 64, 1, 2, "INT2", 8),
    ],
)
def test_mvau_uram_counts(mw, mh, pe, simd, w_t, blocks):
    l = _mvau(mw, mh, pe, simd, w_t)
    r = estimate(l)
    assert r["uram"] == blocks
    block = _mvau(mw, mh, pe, simd, w_t, style="block")
    # the weights leave BRAM; the rest of the layer (thresholds, buffer) stays where it was
    assert r["bram18"] < estimate(block)["bram18"]


def test_vvau_uram_count():
    rng = np.random.default_rng(0)
    # 64 channels, 3x3 window, PE 1: depth 9*64 = 576, width 4 bits -> one block
    w = rng.integers(-8, 8, size=(64, 9))
    l = VVAU("v", w, DataType("UINT4"), DataType("INT4"), pe=1, ram_style="ultra")
    assert estimate(l)["uram"] == 1


def _df(*layers):
    return Dataflow("t", "t.onnx", None, list(layers), None)


def test_folding_file_round_trip(tmp_path):
    a, b = _mvau(64, 64, 2, 4, name="a"), _mvau(64, 64, 2, 4, style="auto", name="b")
    d = folding_dict(_df(a, b))
    assert d["layers"]["a"] == {"PE": 2, "SIMD": 4, "ram_style": "ultra"}
    assert "ram_style" not in d["layers"]["b"]
    p = tmp_path / "folding.json"
    p.write_text(json.dumps(d))
    a2, b2 = _mvau(64, 64, 1, 1, style="auto", name="a"), _mvau(64, 64, 1, 1, name="b")
    apply_folding_file(_df(a2, b2), p)
    assert (a2.pe, a2.simd, a2.ram_style, a2.weight_ram_style) == (2, 4, "ultra", "ultra")
    assert b2.ram_style == "ultra"  # not listed: unchanged


def test_folding_file_bad_style(tmp_path):
    p = tmp_path / "f.json"
    p.write_text(json.dumps({"layers": {"a": {"ram_style": "huge"}}}))
    with pytest.raises(FoldingError, match=r"ram_style 'huge'.*allowed: auto, distributed"):
        apply_folding_file(_df(_mvau(64, 64, 1, 1, name="a")), p)


@pytest.mark.parametrize("board", ["zcu102", "ultra96"])
def test_refused_on_board_without_uram(board, preset_onnx):
    from fpgagen.flow import make_dataflow

    path = preset_onnx("tiny_w2a2", 0)
    df = make_dataflow(path, load_board("zcu104"), folding={})
    name = next(l.name for l in df.layers if l.op_type == "MVAU")
    make_dataflow(path, load_board("zcu104"), folding={name: {"ram_style": "ultra"}})
    with pytest.raises(FpgagenError, match=rf"board {board} has 0 URAM") as e:
        make_dataflow(path, load_board(board), folding={name: {"ram_style": "ultra"}})
    assert "\n" not in str(e.value) and name in str(e.value)


def test_ultra_in_both_backends():
    """URAM weights are a RAM the kernel loads through its weight stream, in RTL (RAM_STYLE
    ultra) and in HLS (a URAM-bound table loaded from the layer's weight stream)."""
    from fpgagen.codegen.hls import layer_context

    m = _mvau(64, 64, 2, 4)
    assert m.rtl_params("mem")["RAM_STYLE"] == "ultra"
    ctx = layer_context(m)
    assert ctx["wstream"]["load"] and ctx["wstream"]["bits"] == m.weight_word_bits
    assert ctx["weights"]["depth"] == m.nf * m.sf


def test_optimiser_moves_weights_to_uram_when_bram_binds():
    """Two big-weight MVAUs (weights pinned to block RAM, so that the folding search does not
    move them to LUTs) on a ZCU104 shrunk to 8 BRAM18: BRAM binds, so the optimiser puts the
    weights in URAM and reaches a faster folding than BRAM alone allows."""
    z = load_board("zcu104")
    small = dataclasses.replace(z, resources=dataclasses.replace(z.resources, bram36=4))
    layers = [
        _mvau(256, 256, 1, 1, "INT8", style="block", name=n, seed=i) for i, n in enumerate("ab")
    ]
    df = _df(*layers)
    from fpgagen.fold.optimize import optimize

    plain = optimize(df, small, None, cap=0.7)
    assert plain["limiting"].startswith("bram18")
    for l in layers:
        l.set_folding(PE=1, SIMD=1)
    res = optimize_uram(df, small, None, cap=0.7)
    assert res["fits"] and res["uram_layers"]
    assert res["cycles"] < plain["cycles"]
    assert all(df.layer(n).ram_style == "ultra" for n in res["uram_layers"])
    assert 0 < res["totals"]["uram"] <= 0.7 * z.resources.uram
    # without URAM on the board nothing moves
    none = dataclasses.replace(small, resources=dataclasses.replace(small.resources, uram=0))
    for l in layers:
        l.ram_style = "auto"
    assert optimize_uram(df, none, None, cap=0.7)["uram_layers"] == []


def test_uram_planning_computes_each_layers_options_once_per_style(monkeypatch):
    """optimize_uram re-optimises after every move; the layers' folding options (costly for
    big weight matrices) are computed once per layer and weight style, and the result is the
    one without the memo."""
    from fpgagen.fold import optimize as opt_mod

    z = load_board("zcu104")
    small = dataclasses.replace(z, resources=dataclasses.replace(z.resources, bram36=4))

    def net():
        return _df(
            *[
                _mvau(256, 256, 1, 1, "INT8", style="block", name=n, seed=i)
                for i, n in enumerate("ab")
            ]
        )

    calls = []
    real = opt_mod.layer_options
    monkeypatch.setattr(opt_mod, "layer_options", lambda l: calls.append(l.name) or real(l))
    df = net()
    res = optimize_uram(df, small, None, cap=0.7)
    assert len(res["uram_layers"]) >= 1
    # each layer: once as "block", once more for each layer moved to "ultra"
    assert sorted(calls) == sorted(["a", "b", *res["uram_layers"]]), calls
    # the memo changes nothing: same result as separate optimize calls without it
    monkeypatch.setattr(opt_mod, "cached_options", lambda l, cache: real(l))
    ref_df = net()
    ref = optimize_uram(ref_df, small, None, cap=0.7)
    assert (ref["cycles"], ref["uram_layers"], ref["totals"]) == (
        res["cycles"],
        res["uram_layers"],
        res["totals"],
    )
    assert [l.folding() for l in ref_df.layers] == [l.folding() for l in df.layers]


def test_estimate_cli_weights_uram(tmp_path, preset_onnx):
    """`fpgagen estimate --weights-uram` on a ZCU104 cut to 6 BRAM18, 6k LUTs and a slow host: TFC's
    weights cannot all sit in BRAM or LUTs (the folding search also tries LUTs for them), so URAM takes the first layer and the planned
    design is twice as fast; the JSON names the layer and the URAM utilisation."""
    import subprocess
    import sys

    text = (load_board("zcu104").path).read_text()
    text = text.replace("bram36: 312", "bram36: 3").replace("lut: 230400", "lut: 6000")
    # and a host 10x slower than the ZCU104's model: the I/O bound lies above what the small
    # memory allows (with the ZCU104's own host, 1,024 cycles without URAM reach it)
    text = text.replace("slowdown: 8.0", "slowdown: 80.0")
    board = tmp_path / "small.yaml"
    board.write_text(text.replace("name: zcu104", "name: zcu104_small"))
    model = preset_onnx("tfc_w1a1")
    out = {}
    for flag in ([], ["--weights-uram"]):
        p = subprocess.run(
            [sys.executable, "-m", "fpgagen", "estimate", str(model), "--board", str(board)]
            + flag
            + ["--json"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert p.returncode == 0, p.stderr
        out[bool(flag)] = json.loads(p.stdout)
    plain, uram = out[False], out[True]
    assert plain["optimizer"]["limiting"].startswith("bram18")
    assert plain["utilisation"]["uram"] == 0
    assert uram["optimizer"]["uram_layers"]
    assert 0 < uram["utilisation"]["uram"] <= 0.7
    assert uram["expected_cycles_per_frame"] < plain["expected_cycles_per_frame"]
