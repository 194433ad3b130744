"""The kernel-bus bound of fpgagen.cost.io against the emulated kernel (the generated RTL in
Verilator with a memory model, fpgagen.sim.kernel_emu): a fully unrolled design whose input
is two bus words per frame runs at the predicted 2 cycles per frame, and a read latency the
kernel's four outstanding bursts cannot hide slows it by the predicted burst efficiency."""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx
import pytest
from fpgagen import packing
from fpgagen.boards import load_board
from fpgagen.cost.io import io_bounds
from fpgagen.flow import build, load_build

from tests.support.qonnx_graphs import small_mlp

pytestmark = pytest.mark.rtl


def _cycles_per_frame(emu, df, n_small, n_big, seed=0):
    """Steady-state cycles per frame: the difference of two batch sizes (the fixed start and
    drain latency cancels), outputs checked bit-exact against the golden model."""
    from fpgagen.sim.kernel_emu import run_batch

    rng = np.random.default_rng(seed)
    cyc = {}
    for n in (n_small, n_big):
        x = rng.uniform(-1, 1, (n, 64)).astype(np.float32)
        g = df.golden(x)
        words = packing.pack(g["codes"], df.layers[0].in_dtype, df.layers[0].in_elems)
        run = run_batch(emu, words, n)
        last = df.layers[-1]
        got = packing.unpack(run.words, last.out_dtype, last.out_elems).reshape(n, -1)
        assert run.status == 0 and np.array_equal(got, g["hw_out"])
        cyc[n] = run.cycles
    return (cyc[n_big] - cyc[n_small]) / (n_big - n_small)


def test_kernel_bus_bound_matches_the_emulated_kernel(tmp_path):
    from fpgagen.sim.kernel_emu import KernelEmulator

    p = tmp_path / "m.onnx"
    onnx.save(small_mlp(in_features=64), p)  # 64 x 4-bit = 256 bits = 2 beats of 128 per frame
    out = tmp_path / "b"
    build(p, "zcu104", out, backend="rtl", io="stream", progress=lambda s: None)
    df, _ = load_build(out)
    assert df.expected_cycles() == 1  # compute would take 1 cycle: the bus binds

    board = load_board("zcu104")  # 200 ns read latency = 40 cycles at 200 MHz: hidden
    kb = {b["name"]: b["fps"] for b in io_bounds(df, board, 200.0)["bounds"]}["kernel bus"]
    predicted = 200e6 / kb
    assert predicted == pytest.approx(2.0)
    # 1500 ns = 300 cycles: 4 bursts of 64 beats cover 256 of 364 cycles
    slow = dataclasses.replace(board, io=dataclasses.replace(board.io, read_latency_ns=1500.0))
    kb_slow = {b["name"]: b["fps"] for b in io_bounds(df, slow, 200.0)["bounds"]}["kernel bus"]
    predicted_slow = 200e6 / kb_slow
    assert predicted_slow == pytest.approx(2.0 * 364 / 256)

    with KernelEmulator(out, latency=40, outstanding=8) as emu:
        measured = _cycles_per_frame(emu, df, 64, 512)
    assert measured == pytest.approx(predicted, rel=0.03)
    with KernelEmulator(out, latency=300, outstanding=8) as emu:
        measured_slow = _cycles_per_frame(emu, df, 64, 512, seed=1)
    assert measured_slow == pytest.approx(predicted_slow, rel=0.08)
