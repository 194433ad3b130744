"""Folding optimiser against a FINN-style greedy folding (SIMD first, then PE).

For each network and target (cycles per frame at the board's clock) both foldings are applied
to the same lowered dataflow and costed with the calibrated cost model, FIFOs and DWCs
included. A second table gives the highest throughput each method reaches within 70% of the
ZCU104 and the Ultra96.

    python benchmarks/fold/optimizer_vs_greedy.py [--out benchmarks/results/fold_vs_greedy.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "generator"))

from fpgagen.boards import load_board  # noqa: E402
from fpgagen.flow import plumbed_totals  # noqa: E402
from fpgagen.fold.optimize import fits, greedy_fold, optimize  # noqa: E402
from fpgagen.frontend import load_model  # noqa: E402
from fpgagen.transforms.lower import lower  # noqa: E402


def export_models(work: Path) -> dict:
    import torch
    from fpgagen.models.cnn import make_cnn
    from fpgagen.models.export import export_qonnx_model
    from fpgagen.models.mlp import make_mlp, randomize_bn

    torch.manual_seed(0)
    out = {}
    m = make_mlp("tfc_w1a1", seed=0)
    randomize_bn(m, 0)
    out["tfc_w1a1"] = export_qonnx_model(m.eval(), (1, 784), work / "tfc.onnx")
    for name in ("cnv_w1a1", "cnv_w2a2", "resnet_t4"):
        m = make_cnn(name, seed=0)
        out[name] = export_qonnx_model(m.eval(), (1, 3, 32, 32), work / f"{name}.onnx")
    return out


def cost(totals: dict, board) -> float:
    r = board.resources
    return (
        totals["lut"] / r.lut
        + totals["bram18"] / r.bram18
        + totals["dsp"] / r.dsp
        + (totals["uram"] / r.uram if r.uram else 0)
    )


def greedy_max_fps(path, board, cap):
    """Bisection over targets with the greedy folding: the fastest that fits."""
    df = lower(load_model(path))
    greedy_fold(df, 1)
    lo = max(l.expected_cycles() for l in df.layers)
    df = lower(load_model(path))
    greedy_fold(df, 10**12)
    hi = max(l.expected_cycles() for l in df.layers)
    best = None
    while lo <= hi:
        mid = (lo + hi) // 2
        df = lower(load_model(path))
        greedy_fold(df, mid)
        ok, _ = fits(plumbed_totals(df), board, cap)
        if ok:
            best, hi = max(l.expected_cycles() for l in df.layers), mid - 1
        else:
            lo = mid + 1
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "fold_vs_greedy.json"))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fpgagen_fold_"))
    models = export_models(work)
    board = load_board("zcu104")
    same_target = []
    targets = {
        "tfc_w1a1": [64, 256, 1024, 4096],
        "cnv_w1a1": [10000, 20000, 50000, 200000],
        "cnv_w2a2": [20000, 50000, 200000],
        "resnet_t4": [10000, 20000, 50000],
    }
    for name, ts in targets.items():
        for t in ts:
            a = lower(load_model(models[name]))
            ra = optimize(a, board, t, cap=1.0, plumbing=plumbed_totals)
            ta = plumbed_totals(a)
            b = lower(load_model(models[name]))
            greedy_fold(b, t)
            tb = plumbed_totals(b)
            same_target.append(
                {
                    "model": name,
                    "target_cycles": t,
                    "optimizer": {
                        "cycles": ra["cycles"],
                        **{k: int(ta[k]) for k in ("lut", "bram18", "dsp")},
                        "cost": round(cost(ta, board), 5),
                    },
                    "greedy": {
                        "cycles": max(l.expected_cycles() for l in b.layers),
                        **{k: int(tb[k]) for k in ("lut", "bram18", "dsp")},
                        "cost": round(cost(tb, board), 5),
                    },
                }
            )
    budget = []
    for bname in ("ultra96", "zcu104"):
        bd = load_board(bname)
        for name in models:
            df = lower(load_model(models[name]))
            r = optimize(df, bd, None, cap=0.7, plumbing=plumbed_totals)
            g = greedy_max_fps(models[name], bd, 0.7)
            budget.append(
                {
                    "board": bname,
                    "model": name,
                    "optimizer_fps": round(bd.default_mhz * 1e6 / r["cycles"])
                    if r["fits"]
                    else None,
                    "greedy_fps": round(bd.default_mhz * 1e6 / g) if g else None,
                }
            )
    Path(args.out).write_text(
        json.dumps({"same_target": same_target, "same_budget": budget}, indent=2) + "\n"
    )
    print(
        "model       target   | optimizer: cycles LUT BRAM18 DSP cost | greedy: cycles LUT BRAM18 DSP cost"
    )
    for r in same_target:
        o, g = r["optimizer"], r["greedy"]
        print(
            f"{r['model']:10s} {r['target_cycles']:8d} | {o['cycles']:8d} {o['lut']:7d} {o['bram18']:4d} "
            f"{o['dsp']:4d} {o['cost']:.4f} | {g['cycles']:8d} {g['lut']:7d} {g['bram18']:4d} "
            f"{g['dsp']:4d} {g['cost']:.4f}"
        )
    print("\nboard    model       max fps within 70%: optimizer  greedy")
    for r in budget:
        print(
            f"{r['board']:8s} {r['model']:10s} {r['optimizer_fps']!s:>12} {r['greedy_fps']!s:>10}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
