"""Shared cocotb testbench helpers for AXI-Stream modules (cocotb 2.x).

* :func:`start_clock` / :func:`reset` - clock and synchronous active-high reset;
* :class:`AxisSource` - drives ``<prefix>_tdata/tvalid`` from a queue of integer words, with
  random idle cycles (probability ``idle``, seeded);
* :class:`AxisSink` - drives ``<prefix>_tready`` with random back-pressure (probability
  ``backpressure``) and records accepted words with the cycle they were accepted in;
* :func:`run_stream` - send words, collect a number of output words, detect hangs
  (raises with a message saying what was seen) and extra output words.

Handshakes are sampled in the ReadOnly phase before each rising edge, so combinational
``tready``/``tvalid`` paths of the DUT are seen correctly. Cycle numbers count rising edges
since the helper's clock was started.
"""

from __future__ import annotations

import os
import random
from collections import deque

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

__all__ = ["AxisSink", "AxisSource", "CycleCounter", "reset", "run_stream", "start_clock"]


class CycleCounter:
    """Counts rising edges of a clock (``.cycle``)."""

    def __init__(self, clk):
        self.clk = clk
        self.cycle = 0
        self._task = cocotb.start_soon(self._run())

    async def _run(self):
        edge = RisingEdge(self.clk)
        while True:
            await edge
            self.cycle += 1


def start_clock(dut, period_ns: float = 10.0) -> CycleCounter:
    """Start ``dut.clk`` and return a :class:`CycleCounter` on it (stored as ``dut._fg_cycles``)."""
    Clock(dut.clk, period_ns, unit="ns").start()
    counter = CycleCounter(dut.clk)
    dut._fg_cycles = counter
    return counter


async def reset(dut, cycles: int = 4, s_prefix: str = "s_axis", m_prefix: str = "m_axis"):
    """Hold ``dut.rst`` high for ``cycles`` clock cycles with idle stream inputs."""
    for name, val in (
        (f"{s_prefix}_tvalid", 0),
        (f"{s_prefix}_tdata", 0),
        (f"{m_prefix}_tready", 0),
    ):
        sig = getattr(dut, name, None)
        if sig is not None:
            sig.value = val
    dut.rst.value = 1
    for _ in range(cycles):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


class AxisSource:
    """AXI-Stream master driving ``dut.<prefix>_tdata/tvalid`` from a queue of int words.

    Each cycle in which a word is available, the source stays idle (tvalid low) with
    probability ``idle``; once tvalid is high it holds tvalid/tdata until accepted.
    ``sent`` counts accepted words, ``cycles`` lists the cycle each was accepted in.
    """

    def __init__(self, dut, prefix: str = "s_axis", idle: float = 0.0, seed: int = 0):
        self.clk = dut.clk
        self.tdata = getattr(dut, f"{prefix}_tdata")
        self.tvalid = getattr(dut, f"{prefix}_tvalid")
        self.tready = getattr(dut, f"{prefix}_tready")
        self.idle = float(idle)
        self.rng = random.Random(seed)
        self.queue: deque[int] = deque()
        self.sent = 0
        #: cycle number at which each word was accepted
        self.cycles: list[int] = []
        self.counter = getattr(dut, "_fg_cycles", None)
        self._own_cycle = 0
        self.tvalid.value = 0
        self._task = cocotb.start_soon(self._run())

    def send(self, words):
        """Append integer words to the queue."""
        self.queue.extend(int(w) for w in words)

    @property
    def idle_now(self) -> bool:
        """True when every queued word has been accepted."""
        return not self.queue

    async def _run(self):
        edge, ro = RisingEdge(self.clk), ReadOnly()
        tdata, tvalid, tready = self.tdata, self.tvalid, self.tready
        rng, queue = self.rng, self.queue
        valid = False
        accepted = False
        while True:
            await edge
            self._own_cycle += 1
            if accepted:
                queue.popleft()
                self.sent += 1
                self.cycles.append(
                    self.counter.cycle if self.counter is not None else self._own_cycle
                )
                valid = False
            if not valid and queue and (self.idle <= 0 or rng.random() >= self.idle):
                tdata.value = queue[0]
                tvalid.value = 1
                valid = True
            elif not valid:
                tvalid.value = 0
            await ro
            accepted = valid and bool(tready.value)


class AxisSink:
    """AXI-Stream slave driving ``dut.<prefix>_tready`` with random back-pressure.

    ``words`` and ``cycles`` list accepted words and the cycle (rising-edge count of
    :func:`start_clock`'s counter, or of this sink) at which each was accepted.
    """

    def __init__(self, dut, prefix: str = "m_axis", backpressure: float = 0.0, seed: int = 1):
        self.clk = dut.clk
        self.tdata = getattr(dut, f"{prefix}_tdata")
        self.tvalid = getattr(dut, f"{prefix}_tvalid")
        self.tready = getattr(dut, f"{prefix}_tready")
        self.backpressure = float(backpressure)
        self.rng = random.Random(seed)
        self.words: list[int] = []
        self.cycles: list[int] = []
        self.counter = getattr(dut, "_fg_cycles", None)
        self._own_cycle = 0
        self.tready.value = 0
        self._task = cocotb.start_soon(self._run())

    def _cycle(self) -> int:
        return self.counter.cycle if self.counter is not None else self._own_cycle

    async def _run(self):
        edge, ro = RisingEdge(self.clk), ReadOnly()
        tdata, tvalid, tready = self.tdata, self.tvalid, self.tready
        rng = self.rng
        pending = None
        while True:
            await edge
            self._own_cycle += 1
            if pending is not None:
                self.words.append(pending)
                self.cycles.append(self._cycle())
                pending = None
            ready = self.backpressure <= 0 or rng.random() >= self.backpressure
            tready.value = int(ready)
            await ro
            if ready and tvalid.value:
                pending = int(tdata.value)


async def run_stream(
    dut,
    in_words,
    n_out: int,
    idle: float = 0.3,
    backpressure: float = 0.3,
    timeout_cycles: int | None = None,
    seed: int = 0,
    drain_cycles: int = 16,
    s_prefix: str = "s_axis",
    m_prefix: str = "m_axis",
):
    """Start clock and reset, stream ``in_words`` in and collect ``n_out`` output words.

    Returns ``(out_words, out_cycles)``: the accepted output words and the cycle number at
    which each was accepted (the input side's acceptance cycles are in
    ``dut._fg_source.cycles``, same clock). After the last expected word, the output is watched for
    ``drain_cycles`` more cycles (with ready high) and an extra word raises. Raises
    ``AssertionError`` on timeout (default ``100 + 20 * (len(in_words) + n_out)`` cycles)
    saying how many words went in and came out.
    """
    in_words = [int(w) for w in in_words]
    counter = start_clock(dut)
    await reset(dut, s_prefix=s_prefix, m_prefix=m_prefix)
    src = AxisSource(dut, s_prefix, idle=idle, seed=seed)
    sink = AxisSink(dut, m_prefix, backpressure=backpressure, seed=seed + 7919)
    if timeout_cycles is None:
        timeout_cycles = 100 + 20 * (len(in_words) + n_out)
    src.send(in_words)
    start = counter.cycle
    edge = RisingEdge(dut.clk)
    while len(sink.words) < n_out:
        if counter.cycle - start > timeout_cycles:
            raise AssertionError(
                f"timeout after {timeout_cycles} cycles: {src.sent}/{len(in_words)} input words "
                f"accepted, {len(sink.words)}/{n_out} output words received"
            )
        await edge
    sink.backpressure = 0.0
    for _ in range(drain_cycles):
        await edge
    if len(sink.words) > n_out:
        raise AssertionError(
            f"{len(sink.words) - n_out} unexpected extra output words after the expected {n_out} "
            f"({src.sent}/{len(in_words)} input words accepted)"
        )
    dut._fg_source = src
    return sink.words[:n_out], sink.cycles[:n_out]


#: environment variable that names the configuration a module test runs in the simulator
CONFIG_ENV = "FPGAGEN_TB_CONFIG"


def config_name() -> str:
    """The configuration name the pytest side passed in :data:`CONFIG_ENV`."""
    return os.environ[CONFIG_ENV]


def assert_words_equal(out: list, exp: list) -> None:
    """Word-by-word comparison with a message naming the first differing word."""
    assert len(out) == len(exp), f"{len(out)} output words, expected {len(exp)}"
    for i, (got, e) in enumerate(zip(out, exp)):
        assert got == e, f"output word {i}: got {got:#x}, expected {e:#x}"
