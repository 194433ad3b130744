"""Accuracy of the MNIST CNN (fpgagen.models.cnn.QuantMnistCNN) with ternary, SYQ and binary
weights, trained on the bundled MNIST-5k.

    python benchmarks/models/accuracy_cnn.py [--epochs 30] [--seeds 3] [--threads 1]
                                             [--out benchmarks/results/accuracy_cnn.json]

The question: do SYQ's learned per-kernel-pixel scales (which the BatchNorm after each
convolution cannot absorb, unlike per-row scales) make SYQ at least as accurate as plain
ternary weights at the same budget?  Rows: plain ternary (one fixed-point scale per layer),
SYQ ternary with per-pixel scales on the convolutions (``syq_group="auto"``, grouped MVAUs in
hardware), SYQ ternary with per-output-channel scales on the convolutions (``syq_group="row"``,
plain MVAUs), binary weights; all with 2-bit activations and the same budget (epochs, Adam
lr 0.02 with cosine decay, batch 64, the same seeds).  The FC layers of the SYQ rows use
per-row scales either way.  MNIST-5k is 4,000 train / 1,000 held-out test images; seed ``s``
uses stratified split ``s`` and initialisation/shuffling seed ``s`` for every row, so the rows
are paired trials (as benchmarks/models/accuracy.py and syq_vs_ternary.py).  The table reports
mean, min and max held-out accuracy over the seeds, the seconds per run, for the ternary rows
the fraction of zero weights, and for every row the paired difference to the ternary row
(mean, standard error, wins/ties/losses).  The training recipe is
``fpgagen.models.train.train`` unchanged (what ``fpgagen train --model mnist_cnn`` runs).
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

# name, weights, abits, syq_group of the convolutions
CONFIGS = [
    ("CNN-ternary (A2)", "ternary", 2, "auto"),
    ("CNN-SYQ per-pixel (A2)", "syq", 2, "auto"),
    ("CNN-SYQ per-row (A2)", "syq", 2, "row"),
    ("CNN-W1A2", "binary", 2, "auto"),
]


def run(
    epochs: int,
    seeds: int,
    threads: int,
    configs=CONFIGS,
    lr: float = 0.02,
    batch_size: int = 64,
    width: float = 1.0,
    progress=print,
) -> dict:
    import torch
    from fpgagen.models.cnn import MNIST_CNN_CONVS, MNIST_CNN_FCS, QuantMnistCNN
    from fpgagen.models.datasets import as_images, load_mnist5k
    from fpgagen.models.quantizers import threshold_quantizers, weight_stats
    from fpgagen.models.train import train

    torch.set_num_threads(threads)
    rows = []
    for name, weights, abits, group in configs:
        accs, train_accs, sparsities, secs = [], [], [], []
        for seed in range(seeds):
            data = as_images(load_mnist5k(seed))
            torch.manual_seed(seed)
            net = QuantMnistCNN(weights=weights, abits=abits, syq_group=group, width=width)
            r = train(
                net, data, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed, progress=False
            )
            accs.append(r["test_acc"])
            train_accs.append(r["train_acc"])
            secs.append(r["seconds"])
            if threshold_quantizers(net):
                sparsities.append(weight_stats(net)["sparsity"])
            progress(
                f"  {name} seed {seed}: test {r['test_acc']:.4f} train "
                f"{r['train_acc']:.4f} ({r['seconds']:.0f} s)"
            )
        row = dict(
            name=name,
            weights=weights,
            abits=abits,
            syq_group=group if weights.startswith("syq") else None,
            test_acc=accs,
            train_acc=train_accs,
            mean=float(np.mean(accs)),
            min=float(np.min(accs)),
            max=float(np.max(accs)),
            std=float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0,
            seconds_per_run=float(np.mean(secs)),
            sparsity=float(np.mean(sparsities)) if sparsities else None,
        )
        rows.append(row)
        sp = f"{row['sparsity']:.1%}" if row["sparsity"] is not None else "-"
        progress(
            f"{name:24s} {row['mean']:.4f} [{row['min']:.4f}, {row['max']:.4f}]  "
            f"zeros {sp:>6s}  {row['seconds_per_run']:.1f} s/run"
        )
    base = next((r for r in rows if r["weights"] == "ternary"), None)
    for row in rows:
        if base is None or row is base:
            continue
        d = np.asarray(row["test_acc"]) - np.asarray(base["test_acc"])
        row["vs_ternary"] = dict(
            mean_diff=float(d.mean()),
            stderr=float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else None,
            wins=int((d > 0).sum()),
            ties=int((d == 0).sum()),
            losses=int((d < 0).sum()),
        )
        v = row["vs_ternary"]
        se = f" +- {100 * v['stderr']:.2f}" if v["stderr"] is not None else ""
        progress(
            f"{row['name']:24s} - ternary: {100 * v['mean_diff']:+.2f}{se} points "
            f"(paired; {v['wins']}/{v['ties']}/{v['losses']} wins/ties/losses)"
        )
    return dict(
        dataset="mnist5k (4000 train / 1000 test, split s for seed s), images (N, 1, 28, 28)",
        model=dict(
            convs=[list(c) for c in MNIST_CNN_CONVS],
            fcs=list(MNIST_CNN_FCS),
            width=width,
            input="2x - 1, 8-bit Q1.7",
            kernel=3,
            padding=0,
        ),
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        seeds=seeds,
        threads=threads,
        machine=platform.processor() or platform.machine(),
        python=platform.python_version(),
        torch=torch.__version__,
        results=rows,
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--width",
        type=float,
        default=1.0,
        help="channel multiplier of QuantMnistCNN (2 = 16-16-32-32, FC 128)",
    )
    ap.add_argument("--only", help="comma-separated weights[:group] to run, e.g. syq:row")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "accuracy_cnn.json"))
    args = ap.parse_args(argv)
    configs = CONFIGS
    if args.only:
        want = {tuple((w + ":auto").split(":")[:2]) for w in args.only.split(",")}
        configs = [c for c in CONFIGS if (c[1], c[3]) in want]
        if not configs:
            ap.error(
                f"--only {args.only}: no configuration matches; have "
                f"{', '.join(f'{c[1]}:{c[3]}' for c in CONFIGS)}"
            )
    t0 = time.time()
    res = run(args.epochs, args.seeds, args.threads, configs, width=args.width)
    res["total_seconds"] = time.time() - t0
    save_results(args.out, res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
