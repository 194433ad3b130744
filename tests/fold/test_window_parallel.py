"""Window-parallel sliding windows as a folding dimension (issue 21): the joint SIMD x PAR
validation and its one-line errors (layer, folding file, CLI), the golden cycle model and the
need function of a PAR > 1 window, the optimiser choosing PAR > 1 when the window binds, and
what binds a design (a layer's structure or the resource the next faster design exceeds)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import onnx
import pytest
from fpgagen.boards import load_board
from fpgagen.cli import main
from fpgagen.datatypes import int_type
from fpgagen.errors import FoldingError
from fpgagen.flow import make_dataflow
from fpgagen.fold.optimize import layer_options, optimize
from fpgagen.fold.simple import apply_folding_file
from fpgagen.frontend import load_model
from fpgagen.layers import SlidingWindow
from fpgagen.transforms.lower import lower

from tests.support.qonnx_graphs import small_cnn


def _swu(ch=4, simd=2, par=1, k=(3, 3), s=(1, 1), hw=(8, 8), mmv=1, ipar=1):
    return SlidingWindow("w", int_type(4), hw, ch, k, s, simd=simd, par=par, mmv=mmv, ipar=ipar)


def test_par_options_follow_simd():
    w = _swu()
    # CF = 2 words per pixel: a kernel row is 6 words; whole rows are 6, 12 (no: 2 does not
    # divide 3 rows) and 18
    assert w.par_options(2) == [1, 2, 3, 6, 18]
    assert w.par_options(4) == [1, 3, 9]
    assert w.par_options(1) == [1, 2, 3, 4, 6, 12, 36]
    assert w.folding_options() == {
        "SIMD": [1, 2, 4],
        "PAR": [1, 2, 3, 4, 6, 9, 12, 18, 36],
        "MMV": [1, 2, 3, 6],  # divisors of the output width 6
        "IPAR": [1, 2, 4, 8],  # powers of two dividing the frame's words
    }
    assert w.folding_valid(SIMD=4, PAR=9) and not w.folding_valid(SIMD=4, PAR=18)
    # MMV > 1 needs whole windows
    assert w.folding_valid(SIMD=4, PAR=9, MMV=3) and not w.folding_valid(SIMD=4, PAR=3, MMV=3)
    # every option the optimiser sees can be built, and they are all the valid combinations
    opts = layer_options(w)
    combos = {tuple(sorted(dict(o.folding).items())) for o in opts}
    single = [c for c in combos if dict(c)["MMV"] == 1 and dict(c)["IPAR"] == 1]
    assert len(single) == sum(len(w.par_options(s)) for s in (1, 2, 4))
    assert all(w.folding_valid(**dict(c)) for c in combos)
    # at SIMD 4 (CF 1): 3 PAR x 4 IPAR, plus 3 more MMV for the whole window x 4 IPAR
    assert sum(dict(c)["SIMD"] == 4 for c in combos) == 3 * 4 + 3 * 4


def test_bad_par_is_one_line():
    w = _swu()
    with pytest.raises(FoldingError) as e:
        w.set_folding(SIMD=4, PAR=18)
    msg = str(e.value)
    assert "\n" not in msg
    assert "layer w (SlidingWindow): PAR=18" in msg and "allowed: [1, 3, 9]" in msg
    assert w.folding() == {"SIMD": 2, "PAR": 1, "MMV": 1, "IPAR": 1}  # unchanged
    with pytest.raises(FoldingError, match="no folding parameters"):
        w.set_folding(PE=2)
    # a new SIMD alone drops a PAR it no longer allows
    w.set_folding(SIMD=2, PAR=18, MMV=2)
    w.set_folding(SIMD=4)
    assert w.folding() == {"SIMD": 4, "PAR": 1, "MMV": 1, "IPAR": 1}
    with pytest.raises(FoldingError, match=r"MMV=2 needs whole windows per output pixel, PAR=9"):
        w.set_folding(PAR=3, MMV=2)
    with pytest.raises(FoldingError, match=r"MMV=4 does not divide the output width 6"):
        w.set_folding(PAR=9, MMV=4)
    with pytest.raises(FoldingError, match=r"IPAR=3 is not a power of two dividing the 64"):
        w.set_folding(IPAR=3)


def test_cycles_words_and_need():
    w = _swu(par=3)
    assert (w.in_elems, w.out_elems) == (2, 6)
    assert w.out_words_per_frame == 36 * 9 * 2 // 3
    assert w.expected_cycles() == max(64 * 2, 36 * 6)
    ref = _swu(par=1)
    n1, n3 = ref.need(), w.need()
    # a PAR word needs what its last window word needs
    np.testing.assert_array_equal(n3, n1[2::3])
    w.set_folding(SIMD=2, PAR=18)  # whole windows: one word per output pixel
    assert w.out_words_per_frame == 36 and w.expected_cycles() == 128
    np.testing.assert_array_equal(w.need(), n1[17::18])
    assert "8x8 pixels x 2 words / IPAR 1 = 128" in w.limit_reason()


def test_multi_pixel_words_cycles_and_need():
    w = _swu(simd=2, par=18, mmv=3, ipar=4)
    assert (w.in_elems, w.out_elems) == (8, 2 * 18 * 3)
    assert (w.in_words_per_frame, w.out_words_per_frame) == (32, 12)
    assert w.expected_cycles() == 32
    n1 = _swu(simd=2).need()  # in words of 2 elements, per window word
    # an output word needs the last word of its third window, in input words of 4 words
    np.testing.assert_array_equal(w.need(), -(-n1[53::54] // 4))


def test_mvau_mmv():
    from fpgagen.datatypes import BIPOLAR
    from fpgagen.layers import MVAU

    rng = np.random.default_rng(0)
    m = MVAU("m", rng.choice([-1, 1], (8, 18)), BIPOLAR, BIPOLAR, num_vectors=36, pe=8, simd=18)
    assert m.folding_options()["MMV"] == [1, 2, 3, 4, 6, 9, 12]
    m.set_folding(MMV=4)
    assert (m.in_elems, m.out_elems, m.lanes, m.expected_cycles()) == (72, 32, 4, 9)
    assert m.hw_params()["NV"] == 9  # per lane
    one = MVAU("o", m.weights, BIPOLAR, BIPOLAR, num_vectors=36, pe=8, simd=18)
    assert m.resources()["lut"] >= 3 * one.resources()["lut"]  # the datapath per pixel
    with pytest.raises(FoldingError, match=r"MMV=4 needs the layer fully unrolled"):
        m.set_folding(PE=4, SIMD=18, MMV=4)
    m.set_folding(PE=4)  # PE alone drops the MMV it no longer allows
    assert m.folding() == {"PE": 4, "SIMD": 18, "MMV": 1}
    with pytest.raises(FoldingError, match=r"MMV=5 does not divide the 36 vectors"):
        m.set_folding(PE=8, MMV=5)
    # a single vector per frame (fully connected): no MMV parameter
    fc = MVAU("f", m.weights, BIPOLAR, BIPOLAR)
    assert fc.folding() == {"PE": 1, "SIMD": 1} and "MMV" not in fc.folding_options()


def test_golden_unchanged_by_par():
    """PAR only regroups words: the values of the stream are the same."""
    x = np.random.default_rng(0).integers(-8, 8, (2, 64, 4))
    np.testing.assert_array_equal(_swu(par=1).execute(x), _swu(par=18).execute(x))


def test_folding_file_par_errors(tmp_path):
    path = tmp_path / "plain.onnx"
    onnx.save(small_cnn("plain"), path)
    df = lower(load_model(path))
    swu = next(l for l in df.layers if l.op_type == "SlidingWindow")
    f = tmp_path / "f.json"
    f.write_text(json.dumps({"layers": {swu.name: {"SIMD": 3, "PAR": 2}}}))
    with pytest.raises(FoldingError, match=rf"layer {swu.name} \(SlidingWindow\): PAR=2"):
        apply_folding_file(df, f)
    f.write_text(json.dumps({"layers": {swu.name: {"SIMD": 3, "PAR": 9}}}))
    apply_folding_file(df, f)
    assert swu.folding() == {"SIMD": 3, "PAR": 9, "MMV": 1, "IPAR": 1} and swu.out_elems == 27


def test_cli_bad_par_exit_2(tmp_path, capsys):
    path = tmp_path / "plain.onnx"
    onnx.save(small_cnn("plain"), path)
    name = next(l.name for l in lower(load_model(path)).layers if l.op_type == "SlidingWindow")
    f = tmp_path / "f.json"
    f.write_text(json.dumps({"layers": {name: {"SIMD": 1, "PAR": 5}}}))
    rc = main(
        ["build", str(path), "--board", "zcu104", "-o", str(tmp_path / "o"), "--folding", str(f)]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.count("\n") == 0
    assert str(f) in err and "PAR=5" in err and "allowed: [1, 3, 9, 27]" in err


def test_optimiser_uses_par_when_the_window_binds(tmp_path):
    """At a target below what one window word per cycle gives, the first window goes
    window-parallel, and its consumer takes the whole window per cycle."""
    path = tmp_path / "plain.onnx"
    onnx.save(small_cnn("plain"), path)
    df = lower(load_model(path))
    swu = next(l for l in df.layers if l.op_type == "SlidingWindow")
    one = swu.num_vectors * swu.k_h * swu.k_w  # output words at SIMD = CH, PAR = 1
    res = optimize(df, load_board("zcu104"), one // 3)
    assert res["fits"] and res["cycles"] <= one // 3
    assert swu.par > 1 and swu.expected_cycles() <= one // 3


def test_binding_structure_and_resource(tmp_path):
    path = tmp_path / "plain.onnx"
    onnx.save(small_cnn("plain"), path)
    base = lower(load_model(path))
    big = load_board("aws-f1")
    res = optimize(lower(load_model(path)), big, None)
    b = res["binding"]
    # on a large board the fastest folding of every layer fits: a layer's structure binds
    assert b["kind"] == "structure" and res["limiting"] == f"layer {b['layer']}"
    assert "at its fastest folding" in b["detail"] and "\n" not in b["detail"]
    # a board cut to a few thousand LUTs: LUTs stop the next faster design
    z = load_board("zcu104")
    # (4000: the most folded design with its FIFOs/DWCs, stitching glue and LUT band must fit)
    small = dataclasses.replace(z, resources=dataclasses.replace(z.resources, lut=4000))
    res2 = optimize(base, small, None)
    assert res2["fits"] and res2["cycles"] > res["cycles"]
    b2 = res2["binding"]
    assert b2["kind"] == "resource" and b2["resource"] == "lut"
    assert res2["limiting"].startswith("lut ") and "over the 70% cap" in b2["detail"]
    df = make_dataflow(path, small, io="stream")
    assert df.meta["optimizer"]["binding"]["kind"] == "resource"
