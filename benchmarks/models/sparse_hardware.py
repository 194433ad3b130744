#!/usr/bin/env python3
"""Hardware savings of sparse ternary training: trained TFC layers, fully unrolled, in Yosys.

    python benchmarks/models/sparse_hardware.py [--epochs 30] [--seed 0] [--jobs 2]

Trains TFC-ternary (784-64-64-64-10, 2-bit activations) on MNIST-5k twice with the same seed,
split and budget as benchmarks/models/accuracy.py: plainly (dense, ~6% zero weights) and with
sparse ternary training (regulariser, pruning at 0.5 max|W|, retraining; ~90% zeros). Both
are exported to QONNX and lowered by fpgagen; the two 64x64 hidden layers and the 64x10 output
layer are then fully unrolled (PE = MH, SIMD = MW: one cycle per frame and layer, weights are
constants) and synthesized out of context with Yosys (``synth_xilinx -family xcup``), beside
fpgagen's cost-model estimate. The 784x64 input layer is left out: unrolled it is 50,176
products, too large for a benchmark run of Yosys (its folded build stores the zeros in a ROM
and saves nothing).

A zero weight of an unrolled layer is a constant-0 product: synthesis removes it and its
adder, so the LUTs of a layer follow its nonzero weights. In a folded layer the weights sit in
a ROM and zeros cost as much as ones. Writes benchmarks/results/sparse_hardware.json; about
2 minutes on 2 cores with a cold Yosys cache (113 s measured; results are cached in
``$FPGAGEN_CACHE/yosys``).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "generator"))


def train_models(epochs: int, seed: int, work: Path, progress=print) -> list[dict]:
    """Dense and sparse TFC-ternary, trained and exported: ``[dict(name, onnx, acc, sparsity)]``."""
    import torch
    from fpgagen.models.datasets import load_mnist5k
    from fpgagen.models.export import export_qonnx_model
    from fpgagen.models.mlp import QuantMLP
    from fpgagen.models.quantizers import weight_stats
    from fpgagen.models.sparse import sparse_ternary_train
    from fpgagen.models.train import train

    torch.set_num_threads(1)
    data = load_mnist5k(seed)
    out = []
    for name, sparse in (("dense", False), ("sparse", True)):
        torch.manual_seed(seed)
        net = QuantMLP(784, [64, 64, 64], 10, weights="ternary", abits=2)
        if sparse:
            r = sparse_ternary_train(net, data, epochs=epochs, seed=seed, progress=False)
        else:
            r = train(net, data, epochs=epochs, seed=seed, progress=False)
        path = export_qonnx_model(net, (1, 784), work / f"tfc_ternary_{name}.onnx")
        sp = weight_stats(net)["sparsity"]
        progress(
            f"TFC-ternary {name}: test accuracy {r['test_acc']:.4f}, "
            f"{sp:.1%} zero weights ({r['seconds']:.0f} s)"
        )
        out.append(dict(name=name, onnx=path, test_acc=float(r["test_acc"]), sparsity=float(sp)))
    return out


def unrolled_layers(onnx_path, rows: int) -> list:
    """The first ``rows`` output channels of the trained network's MVAUs after the input layer,
    as fully unrolled layers (PE = rows, SIMD = MW) with their trained weights and thresholds."""
    from fpgagen.boards import load_board
    from fpgagen.flow import make_dataflow
    from fpgagen.layers.mvau import MVAU

    df = make_dataflow(onnx_path, load_board("zcu104"), fps=1000, strategy="simple")
    out = []
    for l in [l for l in df.compute_layers if l.op_type == "MVAU"][1:]:
        r = min(rows, l.mh)
        thr = None if l.thresholds is None else l.thresholds[:r]
        out.append(
            MVAU(
                f"{l.name}_rows{r}",
                l.weights[:r],
                l.in_dtype,
                l.w_dtype,
                in_range=l.in_range,
                thresholds=thr,
                out_bias=l.out_bias,
                out_dtype=l.out_dtype if thr is not None else None,
                pe=r,
                simd=l.mw,
            )
        )
    return out


def run(epochs: int, seed: int, jobs: int, rows: int = 8, progress=print) -> dict:
    from fpgagen.cost.model import estimate
    from fpgagen.synth import synth_layer

    work = Path(tempfile.mkdtemp(prefix="fpgagen_sparse_hw_"))
    models = train_models(epochs, seed, work, progress)
    todo = []
    for m in models:
        for l in unrolled_layers(m["onnx"], rows):
            todo.append((m, l))

    def synth(item):
        m, l = item
        return m, l, synth_layer(l, work / "synth" / f"{m['name']}_{l.name}")

    results = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        for m, l, r in ex.map(synth, todo):
            e = estimate(l)
            w = np.asarray(l.weights)
            row = dict(
                model=m["name"],
                layer=l.name,
                shape=[int(l.mh), int(l.mw)],
                zeros=float((w == 0).mean()),
                nonzero=int((w != 0).sum()),
                acc_bits=int(l.acc_bits),
                yosys={k: r[k] for k in ("lut", "ff", "carry", "bram18", "dsp", "seconds")},
                estimate={k: e[k] for k in ("lut", "ff", "bram18", "dsp")},
            )
            results.append(row)
            progress(
                f"  {m['name']:6s} {l.name:24s} {l.mh}x{l.mw} zeros {row['zeros']:6.1%}: "
                f"Yosys {r['lut']:6d} LUT {r['ff']:5d} FF {r['carry']:4d} CARRY  "
                f"(model {e['lut']:6d} LUT) {r['seconds']:.0f} s"
            )
    totals = {}
    for m in models:
        rs = [r for r in results if r["model"] == m["name"]]
        totals[m["name"]] = dict(
            test_acc=m["test_acc"],
            sparsity_all_layers=m["sparsity"],
            zeros_unrolled=float(
                sum(r["shape"][0] * r["shape"][1] * r["zeros"] for r in rs)
                / sum(r["shape"][0] * r["shape"][1] for r in rs)
            ),
            yosys_lut=int(sum(r["yosys"]["lut"] for r in rs)),
            yosys_ff=int(sum(r["yosys"]["ff"] for r in rs)),
            estimate_lut=int(sum(r["estimate"]["lut"] for r in rs)),
        )
    d, s = totals["dense"], totals["sparse"]
    progress(
        f"unrolled slices of layers 2-4: dense {d['yosys_lut']} LUT ({d['zeros_unrolled']:.1%} zeros, "
        f"{d['test_acc']:.2%}), sparse {s['yosys_lut']} LUT ({s['zeros_unrolled']:.1%} "
        f"zeros, {s['test_acc']:.2%}): {d['yosys_lut'] / max(1, s['yosys_lut']):.1f}x "
        f"fewer LUTs (model: {d['estimate_lut'] / max(1, s['estimate_lut']):.1f}x)"
    )
    return dict(
        network="TFC-ternary 784-64-64-64-10, 2-bit activations",
        dataset="mnist5k (4000 train / 1000 test, split = seed)",
        epochs=epochs,
        seed=seed,
        sparse_training="regulariser + pruning at 0.5 max|W| + retraining "
        "(fpgagen.models.sparse defaults)",
        synthesis="Yosys synth_xilinx -family xcup, out of context, per layer",
        unrolled=f"first {rows} output channels of layers 2-4, PE = rows, "
        "SIMD = MW, trained weights and thresholds",
        machine=platform.processor() or platform.machine(),
        python=platform.python_version(),
        layers=results,
        totals=totals,
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2, help="parallel Yosys runs")
    ap.add_argument(
        "--rows",
        type=int,
        default=8,
        help="output channels per layer to synthesize (Yosys needs > 15 min for "
        "a dense 64x64 layer unrolled)",
    )
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "sparse_hardware.json"))
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    res = run(a.epochs, a.seed, a.jobs, a.rows)
    res["seconds"] = round(time.perf_counter() - t0, 1)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {a.out} ({res['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
