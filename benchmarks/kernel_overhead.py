"""Overhead of the memory-mapped kernel over the bare stream design, for CNV-W1A1 and TFC-W1A1.

    python benchmarks/kernel_overhead.py [--frames 64] [--out benchmarks/results/kernel_overhead.json]

Each model (Brevitas, untrained, randomised batch-norm statistics; as benchmarks/run_all.py)
is built for the ZCU104 (128-bit kernel bus) with the RTL backend, and the same batch of
random inputs is run (a) through the stream-only design in the AXI-Stream harness of
``fpgagen verify --backend rtl`` (cycles until the last output word) and (b) through the
kernel in the fast harness of ``--backend kernel`` (cycles from ap_start to ap_done, memory
latency 20 cycles, no stalls), both bit-exact against the golden model.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "generator"))
sys.path.insert(0, str(ROOT / "benchmarks"))


def measure(name: str, fps: float, frames: int, work: Path) -> dict:
    from fpgagen import packing
    from fpgagen.flow import build, load_build
    from fpgagen.sim.kernel_emu import KernelEmulator, run_batch
    from fpgagen.sim.stitched import simulate
    from run_all import _export

    path, shape = _export(name, work)
    out = work / f"build_{name}"
    build(path, "zcu104", out, fps=fps, backend="rtl", progress=lambda s: None)
    df, meta = load_build(out)
    x = np.random.default_rng(0).random((frames,) + shape[1:], dtype=np.float32)
    gold = df.golden(x)
    t0 = time.perf_counter()
    stream = simulate(out, df, gold["codes"], run_name="bench")
    t_stream = time.perf_counter() - t0
    first, last = df.layers[0], df.layers[-1]
    words = packing.pack(gold["codes"], first.in_dtype, first.in_elems)
    t0 = time.perf_counter()
    with KernelEmulator(out, latency=20, seed=1) as emu:
        t_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        run = run_batch(emu, words, frames)
        t_kernel = time.perf_counter() - t0
    got = packing.unpack(run.words, last.out_dtype, last.out_elems).reshape(frames, -1)
    return {
        "model": name,
        "frames": frames,
        "bus_bits": meta["kernel"]["bus_bits"],
        "expected_cycles_per_frame": df.expected_cycles(),
        "stream_cycles": stream.total_cycles,
        "kernel_cycles": run.cycles,
        "overhead": run.cycles / stream.total_cycles - 1,
        "stream_bit_exact": bool(np.array_equal(stream.outputs, gold["hw_out"])),
        "kernel_bit_exact": bool(np.array_equal(got, gold["hw_out"])),
        "kernel_status": run.status,
        "stream_sim_seconds": round(t_stream, 2),
        "kernel_emu_build_seconds": round(t_build, 2),
        "kernel_sim_seconds": round(t_kernel, 2),
        "kernel_cycles_per_s": round(run.cycles / t_kernel),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--models", default="cnv_w1a1,tfc_w1a1")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "kernel_overhead.json"))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fpgagen_kbench_"))
    fps = {"cnv_w1a1": 10000, "tfc_w1a1": 1e6}
    try:
        rows = [measure(m, fps[m], args.frames, work) for m in args.models.split(",")]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps({"date": time.strftime("%Y-%m-%d"), "results": rows}, indent=2) + "\n"
    )
    for r in rows:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
