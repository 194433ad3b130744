"""Measure the runtime's packing and unpacking per frame on this machine and fit the host
model of ``fpgagen.cost.io`` (``ns per element + ns per bit``, per direction).

    python benchmarks/io/host_pack.py            # print the measurements and the fit
    python benchmarks/io/host_pack.py --write    # also write generator/fpgagen/cost/_host_coef.py

What is timed is exactly what ``fpgagen.runtime`` does per batch (``StreamLayout.pack`` /
``StreamLayout.unpack``: ``packing.pack_values_buffer`` / ``packing.unpack_values_buffer``,
checked against ``packing.pack`` + ``pack_buffer``), on batches of about 256k elements (``ELEMENTS_PER_BATCH``; at least 16 frames), best of
5 runs. The fit is a non-negative least squares over the geometries below.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
from fpgagen import packing
from fpgagen.datatypes import DataType

# (dtype, elements per word, words per frame)
GEOMETRIES = [
    ("BIPOLAR", 784, 1),
    ("BIPOLAR", 64, 16),
    ("BIPOLAR", 16, 4),
    ("UINT2", 64, 8),
    ("UINT4", 16, 16),
    ("INT4", 12, 1),
    ("UINT8", 3, 1024),
    ("UINT8", 48, 64),
    ("INT8", 10, 1),
    ("UINT4", 1, 10),
    ("INT16", 10, 1),
]
ELEMENTS_PER_BATCH = 1 << 18  # a batch of about 256k elements (256 frames of 1k elements)
BUS = 128


def _best(fn, reps=7) -> float:
    best = float("inf")
    for _ in range(reps):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def measure() -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    for name, elems, wpf in GEOMETRIES:
        dt = DataType(name)
        n_el = elems * wpf
        frames = max(16, ELEMENTS_PER_BATCH // n_el)
        if name == "BIPOLAR":
            codes = rng.choice([-1, 1], size=(frames, n_el))
        else:
            codes = rng.integers(int(dt.min), int(dt.max) + 1, size=(frames, n_el))
        wbits = elems * dt.bits

        def pack(codes=codes, dt=dt):
            return packing.pack_values_buffer(codes, dt, BUS)

        buf = pack()
        words = packing.pack(codes.reshape(-1), dt, elems)
        assert np.array_equal(buf, packing.pack_buffer(words, wbits, BUS))

        def unpack(buf=buf, n=frames * n_el, dt=dt, frames=frames):
            return packing.unpack_values_buffer(buf, n, dt).reshape(frames, -1)

        assert np.array_equal(unpack(), codes)
        rows.append(
            {
                "dtype": name,
                "elements": n_el,
                "bits": n_el * dt.bits,
                "pack_ns": 1e9 * _best(pack) / frames,
                "unpack_ns": 1e9 * _best(unpack) / frames,
            }
        )
    return rows


def fit(rows, key) -> tuple[float, float]:
    from scipy.optimize import nnls

    a = np.array([[r["elements"], r["bits"]] for r in rows], float)
    y = np.array([r[key] for r in rows], float)
    w = 1 / y  # relative error
    c, _ = nnls(a * w[:, None], y * w)
    return float(c[0]), float(c[1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    rows = measure()
    pe, pb = fit(rows, "pack_ns")
    ue, ub = fit(rows, "unpack_ns")
    print(
        f"{'dtype':8s} {'elements':>8s} {'bits':>6s} {'pack ns':>9s} {'fit':>9s} "
        f"{'unpack ns':>9s} {'fit':>9s}"
    )
    for r in rows:
        fp = pe * r["elements"] + pb * r["bits"]
        fu = ue * r["elements"] + ub * r["bits"]
        print(
            f"{r['dtype']:8s} {r['elements']:8d} {r['bits']:6d} {r['pack_ns']:9.1f} "
            f"{fp:9.1f} {r['unpack_ns']:9.1f} {fu:9.1f}"
        )
    print(f"pack:   {pe:.3f} ns/element + {pb:.3f} ns/bit")
    print(f"unpack: {ue:.3f} ns/element + {ub:.3f} ns/bit")
    if args.write:
        cpu = platform.processor() or platform.machine()
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        path = Path(__file__).resolve().parents[2] / "generator/fpgagen/cost/_host_coef.py"
        path.write_text(
            '"""Host packing cost, measured by benchmarks/io/host_pack.py (do not edit)."""\n\n'
            f"MACHINE = {json.dumps(cpu)}\n"  # double quotes: the file stays ruff-formatted
            f"NUMPY = {json.dumps(np.__version__)}\n"
            f"PACK_NS_PER_ELEMENT = {pe:.4f}\n"
            f"PACK_NS_PER_BIT = {pb:.4f}\n"
            f"UNPACK_NS_PER_ELEMENT = {ue:.4f}\n"
            f"UNPACK_NS_PER_BIT = {ub:.4f}\n"
        )
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
