"""RTL test of rtl/kernel_read_mux.v (in a wrapper adding the AXI IDs): three read masters
share one AXI read port served by cocotbext-axi's AxiRamRead with 30% random pauses on AR and
R; each master issues random bursts (random idle between requests) and takes its data with
30% random back-pressure. Every master gets exactly the bytes of its own bursts, in order,
with RLAST on each burst's last beat, and the order FIFO (4 places) never loses a burst."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

N, BUS = 3, 64
BYTES = BUS // 8


@pytest.mark.rtl
def test_kernel_read_mux(tmp_path, rtl_build_root):
    from fpgagen.codegen.rtl import module_files
    from fpgagen.sim.runner import run_cocotb

    here = Path(__file__).parent
    run_cocotb(
        [here / "tb_kernel_read_mux.v", *module_files("kernel_read_mux")],
        "tb_kernel_read_mux",
        {"N": N, "DATA_BITS": BUS, "ORDER_DEPTH": 4},
        Path(__file__),
        tmp_path,
        build_root=rtl_build_root,
        public_top_only=True,
    )


# ---- cocotb side (runs inside the simulator) ---------------------------------------------


def _pauses(seed: int, p: float):
    rng = random.Random(seed)
    return itertools.cycle([rng.random() < p for _ in range(997)])


@cocotb.test()
async def read_mux_three_masters(dut):
    from cocotbext.axi import AxiRamRead, AxiReadBus

    rng = random.Random(21)
    cocotb.start_soon(Clock(dut.clk, 4, unit="ns").start())
    dut.rst.value = 1
    dut.s_arvalid.value = 0
    dut.s_rready.value = 0
    ram = AxiRamRead(AxiReadBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=1 << 16)
    ram.ar_channel.set_pause_generator(_pauses(1, 0.3))
    ram.r_channel.set_pause_generator(_pauses(2, 0.3))
    image = bytes(rng.getrandbits(8) for _ in range(1 << 16))
    ram.write(0, image)
    reqs, expect = [], []
    for _ in range(N):
        lst, beats = [], []
        for _ in range(12):
            length = rng.randint(1, 16)
            addr = rng.randrange(0, (1 << 16) - 4096, BYTES)
            addr = min(addr, (addr | 4095) + 1 - length * BYTES)  # stay inside the 4 KB page
            lst.append((addr, length))
            beats += [
                (int.from_bytes(image[a : a + BYTES], "little"), b == length - 1)
                for b, a in enumerate(range(addr, addr + length * BYTES, BYTES))
            ]
        reqs.append(lst)
        expect.append(beats)
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    got = [[] for _ in range(N)]
    cur = [None] * N
    total = sum(len(e) for e in expect)
    for _ in range(40 * total + 1000):
        addr = length = valid = 0
        for i in range(N):
            if cur[i] is None and reqs[i] and rng.random() < 0.5:
                cur[i] = reqs[i].pop(0)
            if cur[i] is not None:
                addr |= cur[i][0] << (64 * i)
                length |= (cur[i][1] - 1) << (8 * i)
                valid |= 1 << i
        ready = sum((rng.random() >= 0.3) << i for i in range(N))
        dut.s_araddr.value = addr
        dut.s_arlen.value = length
        dut.s_arvalid.value = valid
        dut.s_rready.value = ready
        await ReadOnly()
        arready = int(dut.s_arready.value)
        rvalid = int(dut.s_rvalid.value)
        assert bin(rvalid).count("1") <= 1, f"rvalid to several masters: {rvalid:b}"
        for i in range(N):
            if valid >> i & 1 and arready >> i & 1:
                cur[i] = None
            if rvalid >> i & 1 and ready >> i & 1:
                got[i].append((int(dut.s_rdata.value), bool(dut.s_rlast.value)))
        await RisingEdge(dut.clk)
        if sum(len(g) for g in got) == total and not any(reqs) and cur == [None] * N:
            break
    for i in range(N):
        assert len(got[i]) == len(expect[i]), f"master {i}: {len(got[i])}/{len(expect[i])} beats"
        for k, (g, e) in enumerate(zip(got[i], expect[i])):
            assert g == e, f"master {i} beat {k}: got {g}, expected {e}"
