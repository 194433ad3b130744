"""Golden-model throughput on CNV-W1A1 against QONNX's executor and a float32 GEMM bound.

    python benchmarks/golden_speed.py [--rounds 7] [--batch 64] [--out FILE]

Each round times, back to back on the same inputs: the golden model (``Dataflow.golden``,
batch 64), the plain int64 reference golden model (``execute_reference`` of every layer) and
QONNX's ``execute_onnx`` (a few frames each), and the *GEMM bound*: one float32 GEMM
per MVAU with exactly that layer's shapes (rows = batch x output pixels, K = MW, M = MH),
i.e. the same multiply-adds as the network, without im2col, thresholds or anything else. The
machine load (1-minute load average) is recorded with every round, since the machine may be
shared. Results: min / median / max frames/s over rounds, and the golden model's share of the
GEMM bound per round (its median is the figure of merit: both move with the load together).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "generator"))
sys.path.insert(0, str(ROOT / "benchmarks"))


def _stats(v):
    return {
        "min": round(min(v), 1),
        "median": round(statistics.median(v), 1),
        "max": round(max(v), 1),
    }


def _gemm_bound(df, batch):
    """Closure timing one float32 GEMM per MVAU layer with that layer's shapes."""
    rng = np.random.default_rng(0)
    ops = []
    for l in df.compute_layers:
        if l.op_type != "MVAU":
            continue
        rows = batch * l.num_vectors
        a = rng.integers(-1, 2, size=(rows, l.mw)).astype(np.float32)
        b = rng.integers(-1, 2, size=(l.mw, l.mh)).astype(np.float32)
        ops.append((a, b))
    flops = sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for a, b in ops) / batch

    def run():
        for a, b in ops:
            a @ b

    return run, flops


def _reference_run(df, codes):
    """``run_layers`` with every layer's plain int64 ``execute_reference``."""
    from fpgagen.layers.base import HWLayer

    saved = {}
    for l in df.layers:
        if type(l).execute_reference is not HWLayer.execute_reference:
            saved[l] = l.execute
            l.execute = l.execute_reference
    try:
        return df.run_layers(codes)
    finally:
        for l in saved:
            del l.execute


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument(
        "--qonnx-frames", type=int, default=8, help="frames of the QONNX and reference runs"
    )
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "golden_speed.json"))
    args = ap.parse_args()

    from fpgagen.flow import build, load_build
    from fpgagen.models.export import qonnx_execute
    from run_all import _export

    work = Path(tempfile.mkdtemp(prefix="fpgagen_golden_"))
    path, shape = _export("cnv_w1a1", work)
    out = work / "build"
    build(path, "zcu104", out, fps=10000, backend="rtl", progress=lambda s: None)
    df, _ = load_build(out)
    x = np.random.default_rng(0).random((args.batch, *shape[1:]), dtype=np.float32)
    gemm, flops = _gemm_bound(df, args.batch)
    df.golden(x)  # warm-up (plans, caches)
    codes = df.hw_input(x)
    same_ref = bool(np.array_equal(_reference_run(df, codes), df.run_layers(codes)))
    yq = qonnx_execute(path, x[: args.qonnx_frames])
    same_qonnx = bool(np.allclose(df.golden(x[: args.qonnx_frames])["y"], yq, atol=1e-4))
    rows = []
    for r in range(args.rounds):
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        df.golden(x)
        t_gold = time.perf_counter() - t0
        t0 = time.perf_counter()
        gemm()
        t_gemm = time.perf_counter() - t0
        t0 = time.perf_counter()
        _reference_run(df, codes[: args.qonnx_frames])
        t_ref = time.perf_counter() - t0
        t0 = time.perf_counter()
        qonnx_execute(path, x[: args.qonnx_frames])
        t_q = time.perf_counter() - t0
        row = {
            "load1": round(load, 2),
            "golden_fps": args.batch / t_gold,
            "gemm_bound_fps": args.batch / t_gemm,
            "reference_fps": args.qonnx_frames / t_ref,
            "qonnx_fps": args.qonnx_frames / t_q,
        }
        row["golden_share_of_bound"] = row["golden_fps"] / row["gemm_bound_fps"]
        rows.append(row)
        print(
            f"round {r}: load {load:5.2f}  golden {row['golden_fps']:7.1f}  "
            f"bound {row['gemm_bound_fps']:7.1f}  ({100 * row['golden_share_of_bound']:4.1f}%)  "
            f"reference {row['reference_fps']:6.1f}  qonnx {row['qonnx_fps']:5.1f} frames/s",
            flush=True,
        )
    summary = {
        k: _stats([r[k] for r in rows])
        for k in ("golden_fps", "gemm_bound_fps", "reference_fps", "qonnx_fps", "load1")
    }
    summary["golden_share_of_bound"] = {
        k: round(v, 3)
        for k, v in zip(
            ("min", "median", "max"),
            (
                min(r["golden_share_of_bound"] for r in rows),
                statistics.median(r["golden_share_of_bound"] for r in rows),
                max(r["golden_share_of_bound"] for r in rows),
            ),
        )
    }
    res = {
        "info": {
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "batch": args.batch,
            "qonnx_frames": args.qonnx_frames,
            "mflop_per_frame": round(flops / 1e6, 1),
        },
        "golden_equals_reference": same_ref,
        "golden_equals_qonnx": same_qonnx,
        "summary": summary,
        "rounds": [{k: round(v, 3) for k, v in r.items()} for r in rows],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(summary, indent=1))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
