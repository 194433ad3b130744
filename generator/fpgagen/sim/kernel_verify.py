"""``fpgagen verify OUTDIR --backend kernel``: the memory-mapped kernel against the golden model.

The batch goes through the kernel in the fast harness (:mod:`fpgagen.sim.kernel_emu`) exactly
as a driver sends it (dense buffers, register writes, ap_start, polling CTRL):

1. nominal memory (20 cycles latency, no stalls): bit-exact check and the kernel's cycles from
   ap_start to ap_done, next to the stream-only design's cycles for the same frames (the
   AXI-Stream harness of ``--backend rtl``), i.e. the kernel's overhead;
2. with ``stress``: random memory latency (a seeded draw of 10..200 cycles) and 30% random
   pauses on every AXI channel, bit-exact again; then an SLVERR injected in the middle of the
   input buffer, which must end in ap_done with STATUS bit 0 set (no hang).
"""

from __future__ import annotations

import numpy as np

from .. import abi, packing

__all__ = ["verify_kernel"]


def verify_kernel(outdir, df, gold: dict, progress=print, stress: bool = True) -> dict:
    """Run the checks above; returns report entries (``ok`` False when any check fails) and
    ``outputs``, the kernel's output integers of the nominal run."""
    from .kernel_emu import IN_BASE, KernelEmulator, run_batch
    from .stitched import simulate

    codes = gold["codes"]
    n = codes.shape[0]
    first, last = df.layers[0], df.layers[-1]
    words = packing.pack(codes, first.in_dtype, first.in_elems)

    def outputs(run):
        return packing.unpack(run.words, last.out_dtype, last.out_elems).reshape(n, -1)

    def mismatches(run):
        return int(np.sum(np.any(outputs(run) != gold["hw_out"], axis=1)))

    rep: dict = {"ok": True}  # plus "outputs": the kernel's output integers (nominal run)
    with KernelEmulator(outdir, latency=20, stall=0.0, seed=1) as emu:
        run = run_batch(emu, words, n)
    mism = mismatches(run)
    stream = simulate(outdir, df, codes, run_name="run_kernel_stream")
    overhead = run.cycles / stream.total_cycles - 1
    rep.update(
        {
            "mismatched_frames": mism,
            "kernel_cycles": run.cycles,
            "stream_cycles": stream.total_cycles,
            "kernel_overhead": overhead,
            "kernel_status": run.status,
            "kernel_protocol_violations": run.stats["violations"],
            "outputs": outputs(run),
        }
    )
    progress(
        f"kernel: {n - mism}/{n} frames bit-exact; {run.cycles} cycles from ap_start to ap_done "
        f"for {n} frames, stream-only design {stream.total_cycles} cycles "
        f"({100 * overhead:+.2f}%)"
    )
    if mism or run.status or run.stats["violations"]:
        rep["ok"] = False
    if stress:
        rng = np.random.default_rng(n)
        latency = int(rng.integers(10, 201))
        with KernelEmulator(outdir, latency=latency, stall=0.3, seed=7, outstanding=4) as emu:
            run2 = run_batch(emu, words, n)
        mism2 = mismatches(run2)
        rep["stress_mismatched_frames"] = mism2
        progress(
            f"kernel with {latency} cycles memory latency and 30% random pauses on every AXI "
            f"channel: {n - mism2}/{n} frames bit-exact ({run2.cycles} cycles)"
        )
        in_bytes = abi.buffer_bytes(
            n, first.in_words_per_frame, first.in_width, emu.meta["bus_bits"]
        )
        lo = IN_BASE + (in_bytes // 2) // 64 * 64
        with KernelEmulator(
            outdir, latency=latency, stall=0.3, seed=9, error_at=(lo, lo + 64)
        ) as emu:
            run3 = run_batch(emu, words, n)  # SimulationError on a hang
        rep["error_injection_status"] = run3.status
        progress(
            f"kernel with SLVERR on input bytes [{lo - IN_BASE}, {lo - IN_BASE + 64}): done, "
            f"STATUS = {run3.status:#x} (expected {abi.STATUS_READ_ERROR:#x})"
        )
        if mism2 or run2.stats["violations"] or run3.status != abi.STATUS_READ_ERROR:
            rep["ok"] = False
    return rep
