"""RTL test of the weight port s_wgt of rtl/mvau.v and rtl/vvau.v (RAM_STYLE "external" and
"ultra"), reusing the configurations and numpy references of tests/rtl/mvau and tests/rtl/vvau.

external: the weight lines stream in once per input vector (per pixel for the VVAU), from a
source with 40% random idle, while the input has 30% idle and the output 40% back-pressure;
the outputs equal the reference, so a step never runs ahead of its weight word and no word is
lost or repeated. ultra: the lines are streamed once (with idle) into the URAM before the
input starts; the outputs equal the reference under idle and back-pressure."""

from __future__ import annotations

import os

import cocotb
import pytest
from cocotb.triggers import RisingEdge
from fpgagen.sim.axis_tb import AxisSink, AxisSource, reset, start_clock

from tests.rtl.mvau import test_mvau as mv
from tests.rtl.vvau import test_vvau as vv

CASES = {
    # name: (module, base configuration, style)
    "mvau_ext_int4_ternary": ("mvau", "int4_ternary_int2out", "external"),
    "mvau_ext_xnor": ("mvau", "xnor_fold", "external"),
    "mvau_ultra_uint8_raw": ("mvau", "uint8_int8_raw", "ultra"),
    "vvau_ext_int4": ("vvau", "int4_int4_thres_pe2_cf2_k9", "external"),
    "vvau_ultra_ternary": ("vvau", "ternary_uint4_raw_pe1_cf3_k4", "ultra"),
}


def _case(name):
    module, base, style = CASES[name]
    if module == "mvau":
        params, (weight_hex, _), thres_hex, ins, exp, _, _ = mv._case(mv.CONFIGS[base])
        vectors = mv.N_VECTORS
    else:
        params, weight_hex, thres_hex, ins, exp = vv._case(vv.CONFIGS[base])
        vectors = vv.N_PIXELS
    params = {**params, "RAM_STYLE": style}
    return module, style, params, weight_hex, thres_hex, ins, exp, vectors


@pytest.mark.rtl
@pytest.mark.parametrize("name", list(CASES))
def test_weight_port(name, tmp_path, rtl_build_root):
    from fpgagen.sim.runner import run_module_test

    module, _, params, _, thres_hex, *_ = _case(name)
    if thres_hex:
        (tmp_path / mv.THRES_FILE).write_text("\n".join(thres_hex) + "\n")
    run_module_test(module, params, __file__, tmp_path, rtl_build_root, {"FPGAGEN_WP": name})


# ---- cocotb side (runs inside the simulator) ---------------------------------------------


@cocotb.test()
async def weight_port_stream(dut):
    """Outputs equal the reference with the weights on s_wgt (see the module docstring)."""
    _, style, _, weight_hex, _, ins, exp, vectors = _case(os.environ["FPGAGEN_WP"])
    lines = [int(h, 16) for h in weight_hex]
    counter = start_clock(dut)
    dut.s_wgt_tvalid.value = 0
    await reset(dut)
    wsrc = AxisSource(dut, "s_wgt", idle=0.4, seed=11)
    edge = RisingEdge(dut.clk)
    if style == "ultra":  # load once, then compute
        wsrc.send(lines)
        for _ in range(20 * len(lines) + 100):
            if wsrc.idle_now:
                break
            await edge
        assert wsrc.sent == len(lines), f"{wsrc.sent}/{len(lines)} weight lines loaded"
    else:
        wsrc.send(lines * vectors)
    src = AxisSource(dut, "s_axis", idle=0.3, seed=12)
    sink = AxisSink(dut, "m_axis", backpressure=0.4, seed=13)
    src.send(ins)
    start = counter.cycle
    limit = 400 + 40 * (len(ins) + len(exp) + len(lines) * vectors)
    while len(sink.words) < len(exp) and counter.cycle - start < limit:
        await edge
    sink.backpressure = 0.0
    for _ in range(16):
        await edge
    assert len(sink.words) == len(exp), (
        f"{len(sink.words)}/{len(exp)} output words, {src.sent}/{len(ins)} input words and "
        f"{wsrc.sent} weight lines taken"
    )
    for i, (got, e) in enumerate(zip(sink.words, exp)):
        assert got == e, f"output word {i}: got {got:#x}, expected {e:#x}"
    if style == "external":  # exactly the lines of every vector, nothing more
        assert wsrc.sent == len(lines) * vectors
    else:
        assert wsrc.sent == len(lines)
