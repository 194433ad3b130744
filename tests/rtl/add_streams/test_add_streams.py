"""RTL test of rtl/add_streams.v against numpy elementwise sums: signed and unsigned inputs,
wider outputs; independent idle on the two inputs and back-pressure; a late input holds the
other; one word per cycle."""

from __future__ import annotations

import cocotb
import numpy as np
import pytest
from cocotb.triggers import RisingEdge
from fpgagen import packing
from fpgagen.datatypes import DataType
from fpgagen.sim.axis_tb import CONFIG_ENV, AxisSink, AxisSource, config_name, reset, start_clock

# PE, input type (both inputs), output type
CONFIGS = {
    "int4_pe3_int6": dict(PE=3, IN="INT4", OUT="INT6"),
    "uint3_pe2_uint4": dict(PE=2, IN="UINT3", OUT="UINT4"),
}
N_WORDS = 300


def _case(cfg: dict, seed: int = 0):
    """(parameters, input words of s0, of s1, expected output words)."""
    rng = np.random.default_rng(seed)
    in_dt, out_dt = DataType(cfg["IN"]), DataType(cfg["OUT"])
    a = rng.integers(in_dt.min, in_dt.max + 1, size=(N_WORDS, cfg["PE"]))
    b = rng.integers(in_dt.min, in_dt.max + 1, size=(N_WORDS, cfg["PE"]))
    params = {
        "PE": cfg["PE"],
        "IN_BITS": in_dt.bits,
        "IN_SIGNED": int(in_dt.signed),
        "OUT_BITS": out_dt.bits,
    }
    w0 = packing.words_to_ints(packing.pack(a, in_dt, cfg["PE"]))
    w1 = packing.words_to_ints(packing.pack(b, in_dt, cfg["PE"]))
    exp = packing.words_to_ints(packing.pack(a + b, out_dt, cfg["PE"]))
    return params, w0, w1, exp


@pytest.mark.rtl
@pytest.mark.parametrize("name", list(CONFIGS))
def test_add_streams(name, tmp_path, rtl_build_root):
    from fpgagen.sim.runner import run_module_test

    params, _, _, _ = _case(CONFIGS[name])
    run_module_test("add_streams", params, __file__, tmp_path, rtl_build_root, {CONFIG_ENV: name})


# ---- cocotb side (runs inside the simulator) ---------------------------------------------


def _current():
    return _case(CONFIGS[config_name()])


async def _start(dut, idle0: float, idle1: float, bp: float, seed: int):
    """Clock, reset, a source on each input and a sink on the output."""
    counter = start_clock(dut)
    dut.s1_axis_tvalid.value = 0
    dut.s1_axis_tdata.value = 0
    await reset(dut, s_prefix="s0_axis")
    srcs = (
        AxisSource(dut, "s0_axis", idle=idle0, seed=seed),
        AxisSource(dut, "s1_axis", idle=idle1, seed=seed + 1),
    )
    sink = AxisSink(dut, "m_axis", backpressure=bp, seed=seed + 2)
    return counter, srcs, sink


async def _collect(dut, counter, srcs, sink, n: int, drain: int = 16):
    """Wait for n output words (timeout), then check that no extra words follow."""
    edge = RisingEdge(dut.clk)
    start, timeout = counter.cycle, 100 + 30 * n
    while len(sink.words) < n:
        if counter.cycle - start > timeout:
            raise AssertionError(
                f"timeout: {srcs[0].sent} and {srcs[1].sent} input words accepted, "
                f"{len(sink.words)}/{n} output words"
            )
        await edge
    sink.backpressure = 0.0
    for _ in range(drain):
        await edge
    assert len(sink.words) == n, f"{len(sink.words) - n} unexpected extra output words"


@cocotb.test()
async def add_random_streams(dut):
    """Independent idle on both inputs, back-pressure: outputs equal the numpy sums."""
    _, w0, w1, exp = _current()
    counter, srcs, sink = await _start(dut, idle0=0.4, idle1=0.2, bp=0.3, seed=12)
    srcs[0].send(w0)
    srcs[1].send(w1)
    await _collect(dut, counter, srcs, sink, len(exp))
    for i, (got, e) in enumerate(zip(sink.words, exp)):
        assert got == e, f"output word {i}: got {got:#x}, expected {e:#x}"


@cocotb.test()
async def add_late_input(dut):
    """s1 starts 50 cycles late: s0 is not consumed meanwhile; then all sums are right."""
    _, w0, w1, exp = _current()
    counter, srcs, sink = await _start(dut, idle0=0.0, idle1=0.0, bp=0.0, seed=13)
    srcs[0].send(w0)
    for _ in range(50):
        await RisingEdge(dut.clk)
    assert srcs[0].sent == 0 and not sink.words, f"{srcs[0].sent} words taken from s0 alone"
    srcs[1].send(w1)
    await _collect(dut, counter, srcs, sink, len(exp))
    assert sink.words == exp


@cocotb.test()
async def add_throughput(dut):
    """Both inputs valid, output ready: one word per cycle."""
    _, w0, w1, exp = _current()
    counter, srcs, sink = await _start(dut, idle0=0.0, idle1=0.0, bp=0.0, seed=14)
    srcs[0].send(w0)
    srcs[1].send(w1)
    await _collect(dut, counter, srcs, sink, len(exp))
    assert sink.words == exp
    span = sink.cycles[-1] - sink.cycles[0]
    assert span == len(exp) - 1, f"{len(exp)} words took {span + 1} cycles"
