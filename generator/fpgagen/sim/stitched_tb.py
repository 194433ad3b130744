"""cocotb test for the stitched design: clock, reset, start, wait for ``done``.

The data path (file source, random idle/back-pressure, file sink, cycle stamps) lives in the
Verilog harness, so no Python runs per clock cycle. Options come from the environment:
``FPGAGEN_N_OUT``, ``FPGAGEN_IDLE``, ``FPGAGEN_BP`` (per mille), ``FPGAGEN_SEED``,
``FPGAGEN_TIMEOUT`` (cycles).
"""

import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, First, RisingEdge, Timer


def fifo_states(counts: int, spec: str) -> str:
    """'full: a (33/33); empty: b, c; partly filled: d (3/17)' from the packed fill levels.

    ``spec`` is ``name:depth,name:depth,...`` in the order of the harness's dbg_fifo_count; a
    FIFO holds up to depth + 1 words (memory and output register).
    """
    full, empty, partial = [], [], []
    for i, item in enumerate(s for s in spec.split(",") if s):
        name, depth = item.rsplit(":", 1)
        cap = int(depth) + 1
        c = (counts >> (32 * i)) & 0xFFFFFFFF
        if c >= cap:
            full.append(f"{name} ({c}/{cap})")
        elif c == 0:
            empty.append(name)
        else:
            partial.append(f"{name} ({c}/{cap})")
    return (
        f"full FIFOs: {', '.join(full) or 'none'}; empty: {', '.join(empty) or 'none'}; "
        f"partly filled: {', '.join(partial) or 'none'}"
    )


@cocotb.test()
async def stream_all(dut):
    n_out = int(os.environ["FPGAGEN_N_OUT"])
    timeout = int(os.environ.get("FPGAGEN_TIMEOUT", "1000000"))
    Clock(dut.clk, 10, unit="ns", impl="gpi").start(start_high=False)
    dut.rst.value = 1
    dut.start.value = 0
    dut.idle_permille.value = int(os.environ.get("FPGAGEN_IDLE", "0"))
    dut.bp_permille.value = int(os.environ.get("FPGAGEN_BP", "0"))
    dut.seed.value = int(os.environ.get("FPGAGEN_SEED", "1"))
    dut.n_out.value = n_out
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 1)
    dut.start.value = 1
    # a Timer, not ClockCycles: no Python runs per clock cycle while the design streams
    res = await First(RisingEdge(dut.done), Timer(timeout * 10, unit="ns"))
    if not int(dut.done.value):
        raise AssertionError(
            f"watchdog: no completion after {timeout} cycles: {int(dut.n_in_sent.value)} input "
            f"words accepted, {int(dut.n_out_got.value)} of {n_out} output words received; "
            f"{fifo_states(int(dut.dbg_fifo_count.value), os.environ.get('FPGAGEN_FIFOS', ''))}"
        )
    del res
    await ClockCycles(dut.clk, 2)
