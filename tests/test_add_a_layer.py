"""Adding a hardware layer the way docs/architecture.md ("How to add a layer") says: a layer
class and a lowering rule, nothing else in fpgagen. The toy layer is a register slice
(rtl/axis_skid.v; in HLS the width converter's copy, dwc.h with equal word sizes) that a
lowering rule puts where an ONNX Identity node named ``toy*`` sits on a stream. The model is
built for both backends, the golden model and the RTL simulation agree with ONNX, and the
toy layer reaches the report, the cost model, FIFO sizing and the HLS design."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import onnx
import pytest
from fpgagen import flow
from fpgagen.cost.model import estimate
from fpgagen.datatypes import uint_type
from fpgagen.layers import LAYER_TYPES, HWLayer
from fpgagen.transforms.lower import LoweringRule, lowering_rule, unregister_rule

from tests.support.qonnx_graphs import GraphBuilder


@pytest.fixture(scope="module")
def toy():
    """Define (and so register) the toy layer and its lowering rule; undo both afterwards, so
    that the rest of the session sees only fpgagen's own layers."""

    # -- 1. the layer class (fpgagen/layers/<file>.py in a real addition) -----------------------
    class ToySkid(HWLayer):
        """A register slice: every word passes unchanged, one cycle later."""

        op_type = "ToySkid"
        rtl_module = "axis_skid"
        fold_param = "PE"
        moves_values = True
        rtl_names = ("WIDTH",)
        hls_names = ("IN_ELEMS=ELEMS", "OUT_ELEMS=ELEMS", "BITS", "ELEMS_PER_FRAME")
        hls_lib = "dwc.h"
        hls_func = "dwc"
        cost_coef = "DuplicateStreams"  # the same register-per-bit structure

        def __init__(self, name, dtype, channels, num_vectors=1, pe=1):
            super().__init__(name)
            self.in_dtype = self.out_dtype = dtype
            self.ch, self.num_vectors = int(channels), int(num_vectors)
            self.pe = 1
            self.set_folding(PE=pe)

        in_channels = property(lambda self: self.ch)
        out_channels = property(lambda self: self.ch)
        in_elems = property(lambda self: self.pe)
        out_elems = property(lambda self: self.pe)

        def execute(self, x):
            return x

        def expected_cycles(self):
            return self.in_words_per_frame

        def hw_params(self):
            return {
                "WIDTH": self.in_width,
                "ELEMS": self.pe,
                "BITS": self.in_dtype.bits,
                "ELEMS_PER_FRAME": self.num_vectors * self.ch,
            }

        def need(self):
            return self._need_streaming()

        def cost_features(self, cm):
            w = self.in_width
            return {
                "lut": {"const": 1.0, "width": w},
                "ff": {"const": 1.0, "width": w},
                "mem": {"bram18": 0, "uram": 0, "dsp": 0},
            }

    # -- 2. the lowering rule (fpgagen/transforms/lower/<family>.py in a real addition) ---------
    class LowerToyIdentity(LoweringRule):
        """An Identity node named ``toy*`` on a stream becomes a ToySkid."""

        ops = ("Identity",)
        priority = 100

        def applies(self, lw, node):
            return node.name.startswith("toy")

        def lower(self, lw, node, x):
            lay = ToySkid(lw.uniq(node.name), x.dtype, len(x.lo), x.num_vectors)
            (stream,) = lw.add(lay, [x.stream])
            return dataclasses.replace(x, src=lay, stream=stream)

    lowering_rule(LowerToyIdentity)
    yield ToySkid
    unregister_rule(LowerToyIdentity)
    del LAYER_TYPES[ToySkid.op_type]


def _model(path):
    """x -> Quant -> MatMul -> Relu -> Quant -> Identity "toy_skid" -> MatMul -> out."""
    rng = np.random.default_rng(3)
    b = GraphBuilder([1, 12])
    x = b.quant("x", 0.125, 4)
    h = b.node("MatMul", [x, b.qweight(rng.integers(-3, 4, (12, 8)) * 0.5, 0.5, 4)])
    h = b.node("Relu", [h])
    h = b.quant(h, 0.25, 4, signed=0)
    h = b.node("Identity", [h])
    b.nodes[-1].name = "toy_skid"
    b.node("MatMul", [h, b.qweight(rng.integers(-3, 4, (8, 5)) * 0.5, 0.5, 4)])
    onnx.save(b.model([1, 5]), path)
    return path


def test_toy_layer_is_registered(toy):
    assert LAYER_TYPES["ToySkid"] is toy
    lay = toy("t", uint_type(4), 8, pe=2)
    assert lay.rtl_params("mem") == {"WIDTH": 8}
    assert estimate(lay)["lut"] > 0
    assert list(lay.need()) == [1, 2, 3, 4]


@pytest.mark.rtl
@pytest.mark.hls
def test_toy_layer_builds_and_verifies(tmp_path, toy):
    onnx_path = _model(tmp_path / "toy.onnx")
    out = tmp_path / "build"
    df = flow.build(onnx_path, "zcu104", out, progress=lambda *_: None)
    toys = [l for l in df.layers if isinstance(l, toy)]
    assert len(toys) == 1
    toy = toys[0]
    # RTL: an axis_skid instance with the layer's width
    top = next((out / "rtl").glob("*_top.v")).read_text()
    inst = top[top.index("axis_skid") : top.index(toy.name, top.index("axis_skid"))]
    assert f".WIDTH({toy.in_width})" in inst
    assert (out / "rtl" / "axis_skid.v").is_file()
    # HLS: a process calling the dwc copy with the layer's configuration
    (hdr,) = [p for p in (out / "hls" / "layers").glob("*.h") if "toy_skid" in p.name]
    text = hdr.read_text()
    assert "fpgagen::dwc<" in text
    assert f"static const unsigned IN_ELEMS = {toy.pe};" in text
    assert f"static const unsigned OUT_ELEMS = {toy.pe};" in text
    # the report counts it as a compute stage of the cost model's estimate
    rep = json.loads((out / "report.json").read_text())
    (row,) = [r for r in rep["layers"] if r["type"] == "ToySkid"]
    assert row["resources"]["lut"] == estimate(toy)["lut"] and not row["plumbing"]
    # golden model, RTL simulation and HLS C simulation agree bit for bit with ONNX
    x = np.random.default_rng(0).uniform(-1, 1, (6, 12)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    for backend in ("golden", "rtl", "hls"):
        r = flow.verify(out, tmp_path / "x.npy", backend=backend, progress=lambda *_: None)
        assert r["ok"] and r["frames"] == 6, r
