"""SYQ against plain ternary on TFC (MNIST-5k), paired over many seeds and splits.

    python benchmarks/models/syq_vs_ternary.py [--seeds 48] [--epochs 30] [--jobs 2]

Issue 6 asks that SYQ be at least as accurate as plain ternary at the same budget.  A single
1,000-image test split cannot answer that: its sampling error (about 0.85 points at 92%) is
larger than the difference being measured.  So every seed ``s`` here is one paired trial:
the stratified 4,000/1,000 split ``s`` of MNIST-5k, initialisation seed ``s`` and shuffling
seed ``s``, used for both TFC-ternary and TFC-SYQ (both with 2-bit activations, 30 epochs,
Adam lr 0.02 cosine, batch 64).  The report gives both means, the mean paired difference
SYQ - ternary with its standard error, and the win/tie/loss count, for the whole run and for
its two halves (seeds 0-23 were used while choosing the SYQ training recipe, seeds 24-47 only
to confirm it; see docs/accuracy.md).  Results go to benchmarks/results/syq_vs_ternary.json.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "generator"))

from _results import save_results  # noqa: E402

KINDS = ("ternary", "syq")


def trial(args: tuple) -> dict:
    """Train TFC with weights ``kind`` on split/seed ``seed``; one torch thread."""
    kind, seed, epochs = args
    import torch
    from fpgagen.models.datasets import load_mnist5k
    from fpgagen.models.mlp import QuantMLP
    from fpgagen.models.train import train

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    net = QuantMLP(784, [64, 64, 64], 10, weights=kind, abits=2)
    r = train(net, load_mnist5k(seed), epochs=epochs, seed=seed, progress=False)
    return dict(kind=kind, seed=seed, test_acc=r["test_acc"], seconds=r["seconds"])


def paired(acc: dict, seeds: list[int]) -> dict:
    """Means and the paired SYQ - ternary difference over ``seeds`` (accuracies in %)."""
    t = np.array([acc["ternary"][s] for s in seeds]) * 100
    q = np.array([acc["syq"][s] for s in seeds]) * 100
    d = q - t
    return dict(
        seeds=[seeds[0], seeds[-1]],
        n=len(seeds),
        ternary=float(t.mean()),
        syq=float(q.mean()),
        diff=float(d.mean()),
        diff_se=float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else None,
        wins=int((d > 0).sum()),
        ties=int((d == 0).sum()),
        losses=int((d < 0).sum()),
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=48)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--jobs", type=int, default=2, help="parallel training processes")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "syq_vs_ternary.json"))
    args = ap.parse_args(argv)
    t0 = time.time()
    jobs = [(k, s, args.epochs) for s in range(args.seeds) for k in KINDS]
    acc = {k: {} for k in KINDS}
    secs = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for r in pool.map(trial, jobs):
            acc[r["kind"]][r["seed"]] = r["test_acc"]
            secs.append(r["seconds"])
            print(f"{r['kind']:8s} seed {r['seed']:2d}: {r['test_acc']:.3f}", flush=True)
    seeds = list(range(args.seeds))
    half = args.seeds // 2
    res = dict(
        dataset="mnist5k, split s per seed s (4000 train / 1000 test)",
        epochs=args.epochs,
        model="TFC 784-64-64-64-10, 2-bit activations",
        all=paired(acc, seeds),
        halves=[paired(acc, seeds[:half]), paired(acc, seeds[half:])] if half > 1 else [],
        test_acc={k: [acc[k][s] for s in seeds] for k in KINDS},
        seconds_per_run=float(np.mean(secs)),
        total_seconds=time.time() - t0,
        machine=platform.processor() or platform.machine(),
        python=platform.python_version(),
    )
    for row in [res["all"], *res["halves"]]:
        print(
            f"seeds {row['seeds'][0]}-{row['seeds'][1]}: ternary {row['ternary']:.2f}%  "
            f"SYQ {row['syq']:.2f}%  SYQ - ternary {row['diff']:+.2f} +- {row['diff_se']:.2f} "
            f"points  (wins/ties/losses {row['wins']}/{row['ties']}/{row['losses']})"
        )
    save_results(args.out, res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
