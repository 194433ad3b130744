"""RTL test of rtl/kernel_weight_stream.v (in a wrapper adding the AXI IDs) (kernel_axi_read as a ring + kernel_unpack) against
cocotbext-axi's AxiRamRead with random pauses on AR and R: the layer's weight words come out in
order, repeated REPEATS times per frame for every frame of two back-to-back runs, under random
back-pressure on the weight stream; the region's copies wrap across bursts and a 4 KB page."""

from __future__ import annotations

import itertools
import json
import math
import os
import random

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

CONFIGS = {
    # word narrower than the bus, ring of 3 copies crossing bursts of 4 beats
    "w24_bus32": {
        "BUS_BITS": 32,
        "WORD_BITS": 24,
        "WORDS": 5,
        "REPEATS": 3,
        "BURST_BEATS": 4,
        "FIFO_DEPTH": 8,
        "MAX_OUTSTANDING": 2,
    },
    # word wider than the bus
    "w100_bus64": {
        "BUS_BITS": 64,
        "WORD_BITS": 100,
        "WORDS": 3,
        "REPEATS": 2,
        "BURST_BEATS": 16,
        "FIFO_DEPTH": 32,
        "MAX_OUTSTANDING": 4,
    },
}
REGION = 0x1000 - 24  # region offset from the buffer: crosses a 4 KB page (bus aligned)
FRAMES = (2, 3)


def _complete(p: dict) -> dict:
    copies = p["BUS_BITS"] // math.gcd(p["WORDS"] * p["WORD_BITS"], p["BUS_BITS"])
    p = dict(p)
    p["RING_BEATS"] = copies * p["WORDS"] * p["WORD_BITS"] // p["BUS_BITS"]
    p["OFFSET"] = REGION - REGION % (p["BUS_BITS"] // 8)
    return p


@pytest.mark.rtl
@pytest.mark.parametrize("name", list(CONFIGS))
def test_kernel_weight_stream(name, tmp_path, rtl_build_root):
    from pathlib import Path

    from fpgagen.codegen.rtl import module_files
    from fpgagen.sim.runner import run_cocotb

    params = _complete(CONFIGS[name])
    here = Path(__file__).parent
    run_cocotb(
        [here / "tb_kernel_weight_stream.v", *module_files("kernel_weight_stream")],
        "tb_kernel_weight_stream",
        params,
        Path(__file__),
        tmp_path,
        build_root=rtl_build_root,
        extra_env={"FPGAGEN_TB_PARAMS": json.dumps(params)},
        public_top_only=True,  # cocotbext-axi finds the AXI ports among the top's signals only
    )


# ---- cocotb side (runs inside the simulator) ---------------------------------------------


def _pauses(seed: int, p: float):
    rng = random.Random(seed)
    return itertools.cycle([rng.random() < p for _ in range(997)])


@cocotb.test()
async def weight_stream_frames(dut):
    """n frames x REPEATS x the layer's words, in order, for two runs back to back."""
    from cocotbext.axi import AxiRamRead, AxiReadBus

    p = json.loads(os.environ["FPGAGEN_TB_PARAMS"])
    bus, wb, nw = p["BUS_BITS"], p["WORD_BITS"], p["WORDS"]
    rng = random.Random(5)
    words = [rng.getrandbits(wb) for _ in range(nw)]
    copies = p["RING_BEATS"] * bus // (nw * wb)
    ring = 0
    for i, w in enumerate(words * copies):
        ring |= w << (i * wb)
    base = 0x2000
    cocotb.start_soon(Clock(dut.clk, 4, unit="ns").start())
    dut.rst.value = 1
    dut.start.value = 0
    dut.m_axis_tready.value = 0
    ram = AxiRamRead(AxiReadBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=1 << 15)
    ram.ar_channel.set_pause_generator(_pauses(1, 0.3))
    ram.r_channel.set_pause_generator(_pauses(2, 0.3))
    ram.write(base + p["OFFSET"], ring.to_bytes(p["RING_BEATS"] * bus // 8, "little"))
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)
    ready = _pauses(3, 0.4)
    for n in FRAMES:
        dut.addr.value = base
        dut.frames.value = n
        dut.start.value = 1
        await RisingEdge(dut.clk)
        dut.start.value = 0
        got = []
        expect = words * (p["REPEATS"] * n)
        for _ in range(200 * len(expect) + 2000):
            dut.m_axis_tready.value = int(not next(ready))
            await ReadOnly()
            if dut.m_axis_tvalid.value and dut.m_axis_tready.value:
                got.append(int(dut.m_axis_tdata.value))
            await RisingEdge(dut.clk)
            if len(got) == len(expect):
                break
        dut.m_axis_tready.value = 1
        for _ in range(20):  # nothing more, and the reader becomes idle
            await ReadOnly()
            assert not dut.m_axis_tvalid.value, "a word beyond the run"
            await RisingEdge(dut.clk)
        await ReadOnly()
        assert int(dut.idle.value) == 1 and int(dut.error.value) == 0
        assert got == expect, f"{n} frames: {len(got)}/{len(expect)} words; first bad " + str(
            next((i for i, (a, b) in enumerate(zip(got, expect)) if a != b), None)
        )
        await RisingEdge(dut.clk)
