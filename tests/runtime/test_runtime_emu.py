"""The emu device (the build's kernel RTL in Verilator with a simulated memory, through
fpgagen.sim.kernel_emu) under the same runtime code path as the board devices, and the
fake-pynq trace of the deploy folder run alone, replayed on the emulated kernel."""

from __future__ import annotations

import numpy as np
import pytest
from fpgagen import abi
from fpgagen.cli import main
from fpgagen.flow import load_build
from fpgagen.runtime import Accelerator, Design

from tests.runtime.support import decode_outputs, output_address, replay, run_example_alone

pytestmark = pytest.mark.rtl


def _golden_y(outdir, x):
    df, _ = load_build(outdir)
    return df.golden(x)["y"]


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_run_emu_gives_what_verify_checks(builds, name, tmp_path, capsys):
    outdir, _, xp = builds[name]
    y_path = tmp_path / "y.npy"
    rc = main(
        ["run", str(outdir / "deploy"), "--inputs", str(xp), "--device", "emu"]
        + ["-o", str(y_path), "--throughput", "3"]
    )
    out = capsys.readouterr()
    assert rc == 0, out.err
    x = np.load(xp)
    assert np.array_equal(np.load(y_path), _golden_y(outdir, x))
    assert "throughput on emu: 3 frames" in out.out and "cycles =" in out.out


def test_emu_under_memory_stalls_and_error_response(builds):
    outdir, _, xp = builds["mlp"]
    x = np.load(xp)
    gold = _golden_y(outdir, x)
    with Accelerator(outdir / "deploy", device="emu", latency=41, stall=0.3, seed=3) as acc:
        assert np.array_equal(acc.run(x), gold)
        assert np.array_equal(acc.run(x[:2]), gold[:2])  # back to back, buffers reused
        assert acc.last_timing["cycles"] > 0
    from fpgagen.errors import DeployError

    with (
        Accelerator(outdir / "deploy", device="emu", error_at=(0, 1 << 40)) as acc,
        pytest.raises(DeployError, match="AXI error response"),
    ):
        acc.run(x)


@pytest.mark.parametrize("wait", ["poll", "interrupt"])
def test_deploy_alone_trace_replayed_on_emulated_kernel(builds, wait, tmp_path):
    """The register/buffer trace that the deploy folder's example script, run alone with only
    numpy and a fake pynq, produced is accepted by the kernel RTL and gives the outputs (done
    by polling, or by the interrupt: the RTL raises it and the driver's ISR write clears it)."""
    from fpgagen.sim.kernel_emu import KernelEmulator

    outdir, _, xp = builds["cnn"]
    extra = ("--interrupt",) if wait == "interrupt" else ()
    r, ev, deploy = run_example_alone(outdir / "deploy", xp, tmp_path, *extra)
    assert r.returncode == 0, r.stderr
    assert any(e["op"] == "interrupt_wait" for e in ev) == (wait == "interrupt")
    x = np.load(xp)
    with KernelEmulator(outdir, latency=25, stall=0.2, seed=9) as emu:
        got = replay(ev, emu)
        if wait == "interrupt":
            assert emu.read_reg(abi.REG_ISR) == 0  # cleared by the driver's write
    design = Design(deploy)
    y = decode_outputs(design, got[output_address(ev)], len(x))
    assert np.array_equal(y, _golden_y(outdir, x))
