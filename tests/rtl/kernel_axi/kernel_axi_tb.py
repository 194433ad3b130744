"""cocotb side of test_kernel_axi.py (runs inside the simulator; imports only cocotb,
cocotbext-axi and fpgagen.abi, which imports nothing)."""

from __future__ import annotations

import itertools
import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam
from fpgagen import abi

IN_ADDR = 0x1000 - 48  # the input buffer crosses a 4 KB boundary
OUT_ADDR = 0x6000 + 16
ERR_ADDR = 0x9000


def _runs():
    return json.loads(os.environ["FPGAGEN_KERNEL_RUNS"])


def _pauses(seed: int, p: float):
    rng = random.Random(seed)
    return itertools.cycle([rng.random() < p for _ in range(997)])


async def _setup(dut):
    cocotb.start_soon(Clock(dut.ap_clk, 4, unit="ns").start())
    dut.ap_rst_n.value = 0
    await ClockCycles(dut.ap_clk, 8)
    dut.ap_rst_n.value = 1
    bus = AxiBus.from_prefix(dut, "m_axi_gmem")
    ram = AxiRam(bus, dut.ap_clk, dut.ap_rst_n, reset_active_level=False, size=1 << 16)
    channels = (
        ram.write_if.aw_channel,
        ram.write_if.w_channel,
        ram.write_if.b_channel,
        ram.read_if.ar_channel,
        ram.read_if.r_channel,
    )
    for i, ch in enumerate(channels):
        ch.set_pause_generator(_pauses(i + 1, 0.3))
    ctl = AxiLiteMaster(
        AxiLiteBus.from_prefix(dut, "s_axi_control"),
        dut.ap_clk,
        dut.ap_rst_n,
        reset_active_level=False,
    )
    await ClockCycles(dut.ap_clk, 4)
    return ram, ctl


async def _start(ctl, in_addr, out_addr, n):
    # the drivers' order (fpgagen.runtime): addresses, frame count, then ap_start
    await ctl.write_dword(abi.REG_IN_LO, in_addr & 0xFFFFFFFF)
    await ctl.write_dword(abi.REG_IN_HI, in_addr >> 32)
    await ctl.write_dword(abi.REG_OUT_LO, out_addr & 0xFFFFFFFF)
    await ctl.write_dword(abi.REG_OUT_HI, out_addr >> 32)
    await ctl.write_dword(abi.REG_N, n)
    await ctl.write_dword(abi.REG_CTRL, abi.CTRL_START)


async def _wait_done(dut, ctl, r):
    # poll as a driver does, at 1/8 of the expected run time, up to 4x that time + latency
    run = r["cycles"] * r["n"]
    step = max(16, run // 8)
    for _ in range(40 + (4 * run + 4000) // step):
        await ClockCycles(dut.ap_clk, step)
        if (await ctl.read_dword(abi.REG_CTRL)) & abi.CTRL_DONE:
            # ap_done is clear-on-read
            assert not (await ctl.read_dword(abi.REG_CTRL)) & abi.CTRL_DONE
            return
    raise AssertionError("the kernel did not signal ap_done")


@cocotb.test()
async def batches_back_to_back(dut):
    """Each run's output buffer equals the golden model's byte for byte; nothing is written
    past it; STATUS stays 0; runs follow each other without reset."""
    ram, ctl = await _setup(dut)
    assert (await ctl.read_dword(abi.REG_CTRL)) & abi.CTRL_IDLE
    for r in _runs():
        data, ref = bytes.fromhex(r["in"]), bytes.fromhex(r["out"])
        ram.write(IN_ADDR, data)
        ram.write(OUT_ADDR, b"\xa5" * (len(ref) + 64))
        await _start(ctl, IN_ADDR, OUT_ADDR, r["n"])
        await _wait_done(dut, ctl, r)
        assert ram.read(OUT_ADDR, len(ref)) == ref, f"{r['n']} frames: output differs"
        assert ram.read(OUT_ADDR + len(ref), 64) == b"\xa5" * 64
        assert (await ctl.read_dword(abi.REG_STATUS)) == 0
        assert (await ctl.read_dword(abi.REG_CTRL)) & abi.CTRL_IDLE


@cocotb.test()
async def interrupt_and_isr(dut):
    """GIE + IER route ap_done to `interrupt`; ISR is toggle-on-write."""
    ram, ctl = await _setup(dut)
    r = _runs()[0]
    ram.write(IN_ADDR, bytes.fromhex(r["in"]))
    await ctl.write_dword(abi.REG_GIE, 1)
    await ctl.write_dword(abi.REG_IER, 1)
    await _start(ctl, IN_ADDR, OUT_ADDR, r["n"])
    for _ in range(4 * r["cycles"] * r["n"] + 4000):
        await RisingEdge(dut.ap_clk)
        if dut.interrupt.value == 1:
            break
    else:
        raise AssertionError("no interrupt after the run")
    assert (await ctl.read_dword(abi.REG_ISR)) & 1
    await ctl.write_dword(abi.REG_ISR, 1)  # toggle on write: clears it
    assert not (await ctl.read_dword(abi.REG_ISR)) & 1
    await ClockCycles(dut.ap_clk, 2)
    assert dut.interrupt.value == 0
    assert ram.read(OUT_ADDR, len(r["out"]) // 2) == bytes.fromhex(r["out"])


@cocotb.test()
async def slverr_ends_in_status_not_hang(dut):
    """An SLVERR on the input buffer: the run still ends in ap_done with STATUS bit 0; the next
    clean run clears it and is correct."""
    ram, ctl = await _setup(dut)
    r = _runs()[-1]
    data, ref = bytes.fromhex(r["in"]), bytes.fromhex(r["out"])
    ram.write(ERR_ADDR, data)
    good_read = ram.read_if._read

    async def failing_read(address, length):
        if ERR_ADDR + 16 <= address < ERR_ADDR + 32:
            raise ValueError("injected SLVERR")
        return await good_read(address, length)

    ram.read_if._read = failing_read
    await _start(ctl, ERR_ADDR, OUT_ADDR, r["n"])
    await _wait_done(dut, ctl, r)
    assert (await ctl.read_dword(abi.REG_STATUS)) & abi.STATUS_READ_ERROR
    ram.read_if._read = good_read
    ram.write(IN_ADDR, data)
    await _start(ctl, IN_ADDR, OUT_ADDR, r["n"])
    await _wait_done(dut, ctl, r)
    assert (await ctl.read_dword(abi.REG_STATUS)) == 0
    assert ram.read(OUT_ADDR, len(ref)) == ref
