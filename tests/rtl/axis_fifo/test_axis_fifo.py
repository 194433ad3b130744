"""RTL test of rtl/axis_fifo.v: order, no loss/duplication under idle and back-pressure,
full throughput, capacity (count)."""

from __future__ import annotations

import json
import os
import random

import cocotb
import pytest
from cocotb.triggers import ReadOnly, RisingEdge
from fpgagen.sim.axis_tb import reset, run_stream, start_clock

CONFIGS = {
    "w8_d2": {"WIDTH": 8, "DEPTH": 2, "RAM_STYLE": "auto"},
    "w37_d13": {"WIDTH": 37, "DEPTH": 13, "RAM_STYLE": "distributed"},
    # the wrap and full tests AND the one bits of DEPTH - 1 (here 10011): a power of two and
    # a depth whose pointer could pass a value with those bits set if it ran past DEPTH - 1
    "w5_d20": {"WIDTH": 5, "DEPTH": 20, "RAM_STYLE": "auto"},
    "w3_d16": {"WIDTH": 3, "DEPTH": 16, "RAM_STYLE": "registers"},
}


@pytest.mark.rtl
@pytest.mark.parametrize("name", list(CONFIGS))
def test_axis_fifo(name, tmp_path, rtl_build_root):
    from fpgagen.sim.runner import run_module_test

    params = CONFIGS[name]
    run_module_test(
        "axis_fifo",
        params,
        __file__,
        tmp_path,
        rtl_build_root,
        {"FPGAGEN_TB_PARAMS": json.dumps(params)},
    )


# ---- cocotb side (runs inside the simulator) ---------------------------------------------


def _params():
    return json.loads(os.environ["FPGAGEN_TB_PARAMS"])


@cocotb.test()
async def fifo_random_stream(dut):
    """Random words with idle and back-pressure come out unchanged and in order."""
    p = _params()
    rng = random.Random(1)
    words = [rng.getrandbits(p["WIDTH"]) for _ in range(300)]
    out, _ = await run_stream(dut, words, len(words), idle=0.3, backpressure=0.5, seed=3)
    for i, (got, exp) in enumerate(zip(out, words)):
        assert got == exp, f"word {i}: got {got:#x}, expected {exp:#x}"


@cocotb.test()
async def fifo_throughput(dut):
    """Without idle/back-pressure one word leaves per cycle."""
    p = _params()
    words = list(range(100))
    words = [w & ((1 << p["WIDTH"]) - 1) for w in words]
    out, cycles = await run_stream(dut, words, len(words), idle=0.0, backpressure=0.0)
    assert out == words
    span = cycles[-1] - cycles[0]
    assert span == len(words) - 1, f"{len(words)} words took {span + 1} cycles"


@cocotb.test()
async def fifo_capacity(dut):
    """With the output blocked the FIFO takes exactly DEPTH + 1 words and counts them."""
    p = _params()
    start_clock(dut)
    await reset(dut)
    n = 0
    dut.s_axis_tdata.value = 0
    dut.s_axis_tvalid.value = 1
    for _ in range(3 * p["DEPTH"] + 10):
        await ReadOnly()
        taken = bool(dut.s_axis_tready.value)
        await RisingEdge(dut.clk)
        if taken:
            n += 1
        dut.s_axis_tdata.value = n & ((1 << p["WIDTH"]) - 1)
    dut.s_axis_tvalid.value = 0
    await ReadOnly()
    assert n == p["DEPTH"] + 1, f"FIFO accepted {n} words, capacity should be {p['DEPTH'] + 1}"
    assert int(dut.count.value) == n, f"count is {int(dut.count.value)}, holds {n}"
