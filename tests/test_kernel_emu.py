"""The memory-mapped kernel of a generated design in the fast harness (fpgagen.sim.kernel_emu):
bit-exact batches under memory latency and random pauses on every AXI channel, frame counts 1
and a batch that is no multiple of a burst, back-to-back runs without reset, SLVERR on the
input or the output buffer ending in done + STATUS (no hang), the register map as drivers see
it, and the memory-side protocol checks (4 KB boundary, WLAST, several reads outstanding)."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from fpgagen import abi, packing
from fpgagen.flow import build, load_build

from tests.support.qonnx_graphs import small_mlp

pytestmark = pytest.mark.rtl


@pytest.fixture(scope="module")
def mlp_build(tmp_path_factory):
    d = tmp_path_factory.mktemp("kemu")
    onnx.save(small_mlp(), d / "mlp.onnx")
    out = d / "build"
    build(d / "mlp.onnx", "zcu104", out, backend="rtl", progress=lambda s: None)
    df, _ = load_build(out)
    return out, df


def _batch(df, n, seed=0):
    x = np.random.default_rng(seed).uniform(-1, 1, (n, 16)).astype(np.float32)
    g = df.golden(x)
    words = packing.pack(g["codes"], df.layers[0].in_dtype, df.layers[0].in_elems)
    return words, g["hw_out"]


def _outputs(df, run, n):
    last = df.layers[-1]
    return packing.unpack(run.words, last.out_dtype, last.out_elems).reshape(n, -1)


def test_dataflow_json_records_the_kernel(mlp_build):
    out, df = mlp_build
    k = json.loads((out / "dataflow.json").read_text())["kernel"]
    assert k["top"] == abi.KERNEL_NAME and k["bus_bits"] == 128
    assert k["in_word_bits"] == df.layers[0].in_width
    assert k["out_words_per_frame"] == df.layers[-1].out_words_per_frame
    assert "rtl/fpgagen_kernel.v" in k["sources"] and (out / "rtl" / "fpgagen_kernel.v").is_file()
    text = (out / "rtl" / "fpgagen_kernel.v").read_text()
    for port in ("ap_clk", "ap_rst_n", "s_axi_control_awaddr", "m_axi_gmem_arlen", "interrupt"):
        assert port in text


def test_batches_bit_exact_under_stalls_and_back_to_back(mlp_build):
    from fpgagen.sim.kernel_emu import KernelEmulator, run_batch

    out, df = mlp_build
    with KernelEmulator(out, latency=37, stall=0.3, seed=5, outstanding=4) as emu:
        # 1 frame, then a batch that is no multiple of a burst (64 beats), then 1 again:
        # back to back, no reset in between
        for n, seed in ((1, 1), (301, 2), (1, 3), (157, 4)):
            words, ref = _batch(df, n, seed)
            run = run_batch(emu, words, n)
            assert run.status == 0
            assert np.array_equal(_outputs(df, run, n), ref), f"{n} frames differ"
        st = run.stats
        assert st["violations"] == 0, st["first_violation"]
        assert st["max_reads_outstanding"] >= 2  # several bursts in flight
        assert emu.read_reg(abi.REG_CTRL) & abi.CTRL_IDLE


def test_buffers_across_4k_boundaries(mlp_build):
    """Unaligned-to-4K buffer placement: bursts are cut at every 4 KB boundary."""
    from fpgagen.sim.kernel_emu import KernelEmulator, run_batch

    out, df = mlp_build
    n = 200
    words, ref = _batch(df, n, 9)
    with KernelEmulator(out, latency=5, stall=0.2, seed=2) as emu:
        run = run_batch(emu, words, n, in_addr=0x10000 + 4096 - 48, out_addr=0x80000 + 4096 - 16)
        assert np.array_equal(_outputs(df, run, n), ref)
        assert run.stats["violations"] == 0, run.stats["first_violation"]
        # 200 x 64 bits = 100 beats from 4 KB - 48: 3 + 64 + 33 -> at least 3 read bursts
        assert run.stats["ar_bursts"] >= 3


@pytest.mark.parametrize("where", ["input", "output"])
def test_slverr_ends_in_done_and_status(mlp_build, where):
    from fpgagen.sim.kernel_emu import IN_BASE, OUT_BASE, KernelEmulator, run_batch

    out, df = mlp_build
    n = 150
    words, ref = _batch(df, n, 6)
    base = IN_BASE if where == "input" else OUT_BASE
    with KernelEmulator(
        out, latency=10, stall=0.25, seed=8, error_at=(base + 512, base + 1024)
    ) as emu:
        run = run_batch(emu, words, n)  # raises on a hang
        want = abi.STATUS_READ_ERROR if where == "input" else abi.STATUS_WRITE_ERROR
        assert run.status == want
        # the next run (no error range hit: other buffers) is clean again: STATUS cleared
        run2 = run_batch(emu, words, n, in_addr=0x4000_0000, out_addr=0x5000_0000)
        assert run2.status == 0 and np.array_equal(_outputs(df, run2, n), ref)


def test_register_map_and_interrupt(mlp_build):
    from fpgagen.sim.kernel_emu import KernelEmulator

    out, df = mlp_build
    words, ref = _batch(df, 3, 1)
    with KernelEmulator(out, latency=3) as emu:
        assert emu.read_reg(abi.REG_CTRL) == abi.CTRL_IDLE
        for reg, val in (
            (abi.REG_IN_LO, 0x12345000),
            (abi.REG_IN_HI, 0x9),
            (abi.REG_OUT_LO, 0xABCDE000),
            (abi.REG_OUT_HI, 0x1),
            (abi.REG_N, 3),
        ):
            emu.write_reg(reg, val)
            assert emu.read_reg(reg) == val
        assert emu.read_reg(0x3C) == 0  # unmapped offsets read 0
        emu.write_reg(abi.REG_WGT_HI, 0x7)  # the weight address: 0x40/0x44 in both backends
        assert emu.read_reg(abi.REG_WGT_HI) == 7 and emu.read_reg(0x38) == 0
        assert emu.read_reg(abi.REG_STATUS_CTRL) == 0  # no run has ended yet
        emu.write_mem(0x9_1234_5000, packing.pack_buffer(words, df.layers[0].in_width, 128))
        emu.write_reg(abi.REG_GIE, 1)
        emu.write_reg(abi.REG_IER, 1)
        emu.write_reg(abi.REG_CTRL, abi.CTRL_START)
        assert not emu.read_reg(abi.REG_CTRL) & abi.CTRL_IDLE  # running
        emu.wait_interrupt(100_000)
        assert emu.read_reg(abi.REG_ISR) == 1
        ctrl = emu.read_reg(abi.REG_CTRL)
        assert ctrl & abi.CTRL_DONE and ctrl & abi.CTRL_IDLE and not ctrl & abi.CTRL_START
        assert not emu.read_reg(abi.REG_CTRL) & abi.CTRL_DONE  # cleared on read
        # STATUS was written at the end of the run (status_ap_vld, cleared on read)
        assert emu.read_reg(abi.REG_STATUS) == 0 and emu.read_reg(abi.REG_STATUS_CTRL) == 1
        assert emu.read_reg(abi.REG_STATUS_CTRL) == 0
        emu.write_reg(abi.REG_ISR, 1)  # toggle on write clears it
        assert emu.read_reg(abi.REG_ISR) == 0
        emu.step(50)
        last = df.layers[-1]
        wpf = last.out_words_per_frame
        raw = emu.read_mem(0x1_ABCD_E000, abi.buffer_bytes(3, wpf, last.out_width, 128))
        got = packing.unpack_buffer(np.frombuffer(raw, np.uint8), 3 * wpf, last.out_width)
        assert np.array_equal(
            packing.unpack(got, last.out_dtype, last.out_elems).reshape(3, -1), ref
        )


def test_auto_restart_runs_again(mlp_build):
    from fpgagen.sim.kernel_emu import KernelEmulator

    out, df = mlp_build
    words, _ = _batch(df, 2, 1)
    with KernelEmulator(out, latency=3) as emu:
        emu.write_mem(0x1000, packing.pack_buffer(words, df.layers[0].in_width, 128))
        for reg, val in ((abi.REG_IN_LO, 0x1000), (abi.REG_OUT_LO, 0x8000), (abi.REG_N, 2)):
            emu.write_reg(reg, val)
        emu.write_reg(abi.REG_CTRL, abi.CTRL_START | abi.CTRL_AUTO_RESTART)
        emu.wait_done(100_000)
        emu.wait_done(100_000)  # a second run started on its own
        assert emu.read_reg(abi.REG_CTRL) & abi.CTRL_START
        emu.write_reg(abi.REG_CTRL, 0)  # auto_restart off: the current run is the last
        emu.step(2000)
        assert emu.read_reg(abi.REG_CTRL) & abi.CTRL_IDLE
        emu.step(100)
        assert emu.read_reg(abi.REG_CTRL) & abi.CTRL_IDLE


def test_words_wider_than_the_bus(mlp_build, tmp_path):
    """Unfolded layers on a 32-bit bus: the 64-bit input words and the wide output words span
    more than one bus word (kernel_unpack / kernel_pack with WORD_BITS > BUS_BITS)."""
    from fpgagen.codegen.kernel import write_kernel
    from fpgagen.sim.kernel_emu import KernelEmulator, run_batch

    src, _ = mlp_build
    names = list(json.loads((src / "dataflow.json").read_text())["folding"]["layers"])
    fold = {"layers": {names[0]: {"SIMD": 16, "PE": 1}, names[1]: {"SIMD": 1, "PE": 5}}}
    (tmp_path / "fold.json").write_text(json.dumps(fold))
    out = tmp_path / "wide"
    build(
        src / "model.onnx",
        "zcu104",
        out,
        backend="rtl",
        folding=tmp_path / "fold.json",
        progress=lambda s: None,
    )
    df, meta = load_build(out)
    meta["kernel"] = write_kernel(df, out, 32)
    (out / "dataflow.json").write_text(json.dumps(meta))
    assert meta["kernel"]["in_word_bits"] > 32 and meta["kernel"]["out_word_bits"] > 32
    with KernelEmulator(out, latency=9, stall=0.3, seed=4) as emu:
        for n, seed in ((1, 5), (67, 6)):
            words, ref = _batch(df, n, seed)
            run = run_batch(emu, words, n)
            assert run.status == 0 and np.array_equal(_outputs(df, run, n), ref)
        assert run.stats["violations"] == 0, run.stats["first_violation"]
