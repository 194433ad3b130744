#!/usr/bin/env python3
"""The weight ROM in its layer against the ROM alone (issue 18): how many LUTs a soft-logic
weight ROM of more than 64 words costs inside an MVAU, measured on training designs.

    python benchmarks/cost/rom_context.py [--ids ID ...]   # Yosys, cached; writes the results

The cost model prices a deep soft ROM (``wrom_deep``) with the ``rom`` blocks of
``blocks.py``: a ROM of random contents behind a wrapping counter, synthesized alone. Inside a
layer the same ROM costs more: its outputs feed the products and adder trees, and ABC maps
the deeper cones differently. For each design here the layer is synthesized twice, its
weights in soft logic (``distributed``) and in block RAM (``block``); the ROM's LUTs in the
layer are the difference, plus what the block RAM version has that the other has not (the
model's ROM glue and products of that version less the other's, usually 0). The ratio to
the ROM's LUTs alone (the model's ``wrom_deep`` + ``wrom`` features) is the ROM's cost in
context; ``crossval.py`` fixes the ``wrom_deep`` coefficient at the median ratio
(:func:`context_factor`).

Only designs of the fit (``train`` and the regular sweep) are used: the hold-out sets never
are. Results go to ``benchmarks/results/cost_rom_context.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "generator"))
sys.path.insert(0, str(HERE))

RESULTS = ROOT / "benchmarks" / "results"
OUT = RESULTS / "cost_rom_context.json"

#: the fit designs with a soft-logic weight ROM of more than 64 words (every MVAU of the
#: regular sweep and of the fit's random sets with one, seventh session: 74 .. 512 words,
#: 4 .. 88 varying bits)
DESIGNS = [
    "r_train_mvau_012",
    "r_train_mvau_043",
    "r_train_mvau_021",
    "r_train_mvau_024",
    "mvau_a4w4_dist64",
    "mvau_tern_dist128",
    "mvau_xnor_dist256",
    "mvau_a8w8_dist",
]


def _spec(did: str) -> dict:
    import calibrate
    import random_sweep

    for path in (random_sweep.RANDOM, calibrate.SWEEP):
        d = json.loads(path.read_text())["designs"].get(did)
        if d is not None:
            return dict(d["spec"])
    raise SystemExit(f"rom_context: no design {did!r} in the sweeps' results")


def measure(did: str, work: Path) -> dict:
    """One design synthesized with its weights in soft logic and in block RAM."""
    import calibrate
    from fpgagen.cost import model
    from fpgagen.synth import synth_layer

    out = {}
    for style in ("distributed", "block"):
        spec = dict(_spec(did), ram_style=style, id=f"{did}_{style}")
        layer = calibrate.build(spec)
        r = synth_layer(layer, work / spec["id"])
        f = model.features(layer)["lut"]
        out[style] = {
            "lut": r["lut"],
            "bram18": r["bram18"],
            "rom": f["wrom_deep"] + f["wrom"],
            "dot": f["dot"],
        }
    soft, bram = out["distributed"], out["block"]
    in_layer = soft["lut"] - bram["lut"] + (bram["dot"] - soft["dot"]) + bram["rom"]
    return {
        **out,
        "rom_in_layer": round(in_layer, 1),
        "rom_alone": round(soft["rom"], 1),
        "ratio": round(in_layer / soft["rom"], 3) if soft["rom"] else None,
    }


def context_factor(data: dict | None = None) -> float:
    """The median over the measured designs of the ROM's LUTs in its layer over its LUTs
    alone (1.0 when nothing is measured)."""
    import statistics

    if data is None:
        data = json.loads(OUT.read_text()) if OUT.is_file() else {"designs": {}}
    ratios = [d["ratio"] for d in data["designs"].values() if d.get("ratio")]
    return round(statistics.median(ratios), 2) if ratios else 1.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ids", nargs="*", default=DESIGNS)
    a = ap.parse_args(argv)
    data = json.loads(OUT.read_text()) if OUT.is_file() else {"designs": {}}
    work = Path(tempfile.mkdtemp(prefix="fpgagen_romctx_"))
    for did in a.ids:
        r = measure(did, work)
        data["designs"][did] = r
        print(
            f"{did:24s} LUT soft {r['distributed']['lut']:5d}  block RAM {r['block']['lut']:5d}"
            f"  ROM in the layer {r['rom_in_layer']:7.1f}  alone {r['rom_alone']:7.1f}"
            f"  ratio {r['ratio']}",
            flush=True,
        )
    data["median_ratio"] = context_factor(data)
    OUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"median ratio {data['median_ratio']} -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
