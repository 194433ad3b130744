"""RTL test of rtl/duplicate_stream.v: both outputs carry the input stream unchanged under
idle and independent back-pressure; one word per cycle; the skew between the outputs is at
most 2 words and a long stall of one output does not lose or block words."""

from __future__ import annotations

import json
import os
import random

import cocotb
import pytest
from cocotb.triggers import RisingEdge
from fpgagen.sim.axis_tb import AxisSink, AxisSource, reset, start_clock

CONFIGS = {
    "w8": {"WIDTH": 8},
    "w37": {"WIDTH": 37},
}


@pytest.mark.rtl
@pytest.mark.parametrize("name", list(CONFIGS))
def test_duplicate_stream(name, tmp_path, rtl_build_root):
    from fpgagen.sim.runner import run_module_test

    params = CONFIGS[name]
    run_module_test(
        "duplicate_stream",
        params,
        __file__,
        tmp_path,
        rtl_build_root,
        {"FPGAGEN_TB_PARAMS": json.dumps(params)},
    )


# ---- cocotb side (runs inside the simulator) ---------------------------------------------


def _words(n: int, seed: int) -> list[int]:
    width = json.loads(os.environ["FPGAGEN_TB_PARAMS"])["WIDTH"]
    rng = random.Random(seed)
    return [rng.getrandbits(width) for _ in range(n)]


async def _start(dut, idle: float, bp0: float, bp1: float, seed: int):
    """Clock, reset, one source on s_axis and a sink on each output."""
    counter = start_clock(dut)
    await reset(dut, m_prefix="m0_axis")
    src = AxisSource(dut, "s_axis", idle=idle, seed=seed)
    sinks = (
        AxisSink(dut, "m0_axis", backpressure=bp0, seed=seed + 1),
        AxisSink(dut, "m1_axis", backpressure=bp1, seed=seed + 2),
    )
    return counter, src, sinks


async def _collect(dut, counter, src, sinks, n: int, drain: int = 16):
    """Wait until both sinks hold n words (timeout), then check no extra words follow."""
    edge = RisingEdge(dut.clk)
    start, timeout = counter.cycle, 100 + 30 * n
    while min(len(s.words) for s in sinks) < n:
        if counter.cycle - start > timeout:
            raise AssertionError(
                f"timeout: {src.sent}/{n} input words accepted, outputs got "
                f"{len(sinks[0].words)} and {len(sinks[1].words)} words"
            )
        await edge
    for _ in range(drain):
        await edge
    for k, s in enumerate(sinks):
        assert len(s.words) == n, f"m{k}_axis: {len(s.words) - n} unexpected extra words"


@cocotb.test()
async def duplicate_random_stream(dut):
    """Idle and different random back-pressure per output: both get every word in order."""
    words = _words(400, seed=1)
    counter, src, sinks = await _start(dut, idle=0.3, bp0=0.5, bp1=0.2, seed=8)
    src.send(words)
    await _collect(dut, counter, src, sinks, len(words))
    for k, s in enumerate(sinks):
        for i, (got, exp) in enumerate(zip(s.words, words)):
            assert got == exp, f"m{k}_axis word {i}: got {got:#x}, expected {exp:#x}"


@cocotb.test()
async def duplicate_throughput(dut):
    """Both outputs always ready: one word per cycle on each."""
    words = _words(100, seed=2)
    counter, src, sinks = await _start(dut, idle=0.0, bp0=0.0, bp1=0.0, seed=9)
    src.send(words)
    await _collect(dut, counter, src, sinks, len(words))
    for k, s in enumerate(sinks):
        assert s.words == words
        span = s.cycles[-1] - s.cycles[0]
        assert span == len(words) - 1, f"m{k}_axis: {len(words)} words took {span + 1} cycles"


@cocotb.test()
async def duplicate_one_output_stalled(dut):
    """m0 blocked for 60 cycles: m1 gets exactly 2 words ahead, then everything arrives."""
    words = _words(50, seed=3)
    counter, src, sinks = await _start(dut, idle=0.0, bp0=1.0, bp1=0.0, seed=10)
    src.send(words)
    for _ in range(60):
        await RisingEdge(dut.clk)
    assert len(sinks[0].words) == 0
    assert len(sinks[1].words) == 2, f"m1 got {len(sinks[1].words)} words while m0 was blocked"
    sinks[0].backpressure = 0.0
    await _collect(dut, counter, src, sinks, len(words))
    assert sinks[0].words == words and sinks[1].words == words
