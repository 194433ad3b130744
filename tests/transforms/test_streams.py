"""Stream plumbing passes (transforms/streams.py) on hand-folded dataflows: where DWCs and
FIFOs go, their word sizes and depths (computed by hand below), and that the golden model is
unchanged by them."""

import numpy as np
import onnx
from fpgagen.frontend import load_model
from fpgagen.transforms.base import apply_until_fixpoint
from fpgagen.transforms.lower import lower
from fpgagen.transforms.streams import InsertDWCs, InsertFIFOs

from tests.support.qonnx_graphs import small_cnn, small_mlp


def _dataflow(tmp_path, model):
    p = tmp_path / "m.onnx"
    onnx.save(model, p)
    return lower(load_model(p))


def _summary(df):
    return [(type(l).__name__, l.name, l.ins, l.outs) for l in df.layers]


def test_dwc_between_unequal_words_and_fifo_depths(tmp_path):
    df = _dataflow(tmp_path, small_mlp())  # MVAU 16 -> 12, MVAU 12 -> 5
    m0, m1 = df.layers
    m0.set_folding(PE=3, SIMD=4)
    m1.set_folding(PE=5, SIMD=2)
    x = np.random.default_rng(0).uniform(-2, 2, (8, 16)).astype(np.float32)
    before = df.golden(x)["y"]

    df = apply_until_fixpoint(df, InsertDWCs())
    assert _summary(df) == [
        ("MVAU", m0.name, ["s_in"], [f"s_{m0.name}"]),
        ("DWC", "dwc_0", [f"s_{m0.name}"], [f"s_{m0.name}__dwc_0"]),
        ("MVAU", m1.name, [f"s_{m0.name}__dwc_0"], [f"s_{m1.name}"]),
    ]
    dwc = df.layers[1]
    assert (dwc.in_elems, dwc.out_elems, dwc.in_channels) == (3, 2, 12)
    assert dwc.in_dtype == m0.out_dtype

    df, changed = InsertFIFOs().apply(df)
    assert changed
    names = [l.name for l in df.layers]
    assert names == ["fifo_in", m0.name, "fifo_0", "dwc_0", "fifo_1", m1.name, "fifo_out"]
    fifos = {l.name: l for l in df.layers if type(l).__name__ == "FIFO"}
    # io FIFOs: 32 words of the first layer's input word / the last layer's output word
    assert (fifos["fifo_in"].depth, fifos["fifo_in"].elems) == (32, 4)
    assert (fifos["fifo_out"].depth, fifos["fifo_out"].elems) == (32, 5)
    # inner: 2 vectors (12 channels) in producer words + 16: 2 * 12/3 + 16 and 2 * 12/2 + 16
    assert (fifos["fifo_0"].depth, fifos["fifo_0"].elems) == (24, 3)
    assert (fifos["fifo_1"].depth, fifos["fifo_1"].elems) == (28, 2)
    assert df.layers[0].ins == ["s_in"] and df.layers[-1].outs == ["s_out"]
    df.check()
    # both passes are done: applying them again changes nothing
    assert InsertFIFOs().apply(df)[1] is False
    assert InsertDWCs().apply(df)[1] is False
    np.testing.assert_array_equal(df.golden(x)["y"], before)


def test_equal_words_need_no_dwc(tmp_path):
    df = _dataflow(tmp_path, small_mlp())
    m0, m1 = df.layers
    m0.set_folding(PE=4, SIMD=2)
    m1.set_folding(PE=1, SIMD=4)
    df, changed = InsertDWCs().apply(df)
    assert not changed and [l.name for l in df.layers] == [m0.name, m1.name]


def test_fifo_parameters_and_residual_fork(tmp_path):
    df = _dataflow(tmp_path, small_cnn("residual"))
    kinds = [type(l).__name__ for l in df.layers]
    x = np.random.default_rng(1).uniform(-1, 1, (2, 3, 8, 8)).astype(np.float32)
    before = df.golden(x)["y"]
    df = apply_until_fixpoint(df, InsertDWCs())  # unfolded: every word is one element
    assert [type(l).__name__ for l in df.layers] == kinds
    edges = sum(len(l.ins) for l in df.layers) - 1  # every input but the accelerator's
    df, _ = InsertFIFOs(io_depth=8, inner_depth=100, slack=3).apply(df)
    fifos = [l for l in df.layers if type(l).__name__ == "FIFO"]
    assert len(fifos) == edges + 2
    by_name = {f.name: f for f in fifos}
    assert by_name["fifo_in"].depth == by_name["fifo_out"].depth == 8
    for f in fifos:
        if f.name not in ("fifo_in", "fifo_out"):
            # 2 vectors of 4 channels, one element per word, + 3 < inner_depth: inner_depth wins
            assert f.depth == 100
    # the AddStreams reads two FIFOs, one per branch
    add = next(l for l in df.layers if type(l).__name__ == "AddStreams")
    assert all(type(df.producer(s)).__name__ == "FIFO" for s in add.ins)
    df.check()
    np.testing.assert_array_equal(df.golden(x)["y"], before)
