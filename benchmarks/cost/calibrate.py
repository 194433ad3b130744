#!/usr/bin/env python3
"""Calibrate and check the resource cost model against Yosys (synth_xilinx -family xcup).

    python benchmarks/cost/calibrate.py sweep  [-j N | --scheduler ADDR] [--only REGEX]  # synthesize (cached)
    python benchmarks/cost/calibrate.py fit                            # least-squares constants
    python benchmarks/cost/calibrate.py report [--markdown]            # error tables

``sweep`` builds every design of :func:`designs` (small layers with random weights and
thresholds, fixed seeds), synthesizes it with :func:`fpgagen.synth.synth_layer` and
stores spec + Yosys counts in ``benchmarks/results/cost_sweep.json`` (results are cached in
``$FPGAGEN_CACHE/yosys``: a re-run only synthesizes new designs). ``fit`` prints the
least-squares constants of the LUT/FF formulas per component (they are then written by hand
into ``generator/fpgagen/cost/model.py``). ``report`` compares :func:`fpgagen.cost.model.estimate`
and FINN's published MVAU formulas with Yosys and writes ``benchmarks/results/cost_errors.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "generator"))

from fpgagen.datatypes import DataType  # noqa: E402
from fpgagen.layers.base import sanitize  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
SWEEP = RESULTS / "cost_sweep.json"
ERRORS = RESULTS / "cost_errors.json"


# ------------------------------------------------------------------------------------------
# designs
# ------------------------------------------------------------------------------------------
def _dt(name):
    return DataType(name)


def _rand_values(rng, dt: DataType, shape):
    if dt.is_bipolar:
        return rng.choice([-1, 1], size=shape)
    return rng.integers(dt.min, dt.max + 1, size=shape)


def sparsify(rng, w, zeros: float):
    """``w`` with ``round(zeros * w.size)`` entries (chosen at random) set to 0 and every other
    zero replaced by +-1, so the zero fraction is exactly ``zeros`` (pruned ternary layers)."""
    w = np.where(w == 0, rng.choice([-1, 1], size=w.shape), w)
    flat = w.reshape(-1).copy()
    flat[rng.permutation(flat.size)[: int(round(zeros * flat.size))]] = 0
    return flat.reshape(w.shape)


def _thresholds(rng, lo, hi, rows, n):
    lo, hi = int(lo), int(hi)
    t = rng.integers(lo, hi + 1, size=(rows, n))
    return np.sort(t, axis=1)


def thr_out_dtype(n: int) -> DataType:
    """Output type of ``n`` thresholds: BIPOLAR for one, else the narrowest UINT holding n."""
    return DataType("BIPOLAR") if n == 1 else DataType(f"UINT{max(1, math.ceil(math.log2(n + 1)))}")


def build(spec: dict):
    """The layer a design spec describes (deterministic: seeded by the spec)."""
    from fpgagen.layers import branch, conv, mvau, pool, stream, thresholding

    t = spec["type"]
    rng = np.random.default_rng(spec.get("seed", zlib.crc32(spec["id"].encode())))
    name = sanitize(spec["id"])
    if t == "MVAU":
        ind, wd = _dt(spec["in"]), _dt(spec["w"])
        w = _rand_values(rng, wd, (spec["mh"], spec["mw"]))
        if spec.get("zeros"):  # sparse (pruned) weights: this fraction of them exactly zero
            w = sparsify(rng, w, spec["zeros"])
        n = spec.get("n_thres", 0)
        l = mvau.MVAU(
            name,
            w,
            ind,
            wd,
            pe=spec["pe"],
            simd=spec["simd"],
            ram_style=spec.get("ram_style", "auto"),
        )
        if n:
            lo, hi = l.acc_range()
            thr = _thresholds(rng, lo.min(), hi.max(), spec["mh"], n)
            l.set_thresholds(thr, 0, thr_out_dtype(n))
        return l
    if t == "VVAU":
        from fpgagen.layers import vvau

        ind, wd = _dt(spec["in"]), _dt(spec["w"])
        w = _rand_values(rng, wd, (spec["ch"], spec["k"]))
        l = vvau.VVAU(
            name,
            w,
            ind,
            wd,
            num_vectors=spec.get("nv", 4),
            pe=spec["pe"],
            ram_style=spec.get("ram_style", "auto"),
        )
        n = spec.get("n_thres", 0)
        if n:
            lo, hi = l.acc_range()
            thr = _thresholds(rng, lo.min(), hi.max(), spec["ch"], n)
            l.set_thresholds(thr, 0, thr_out_dtype(n))
        return l
    if t == "Thresholding":
        ind = _dt(spec["in"])
        n = spec["n_thres"]
        thr = _thresholds(rng, ind.min, ind.max, spec["c"], n)
        return thresholding.Thresholding(name, thr, ind, thr_out_dtype(n), 0, pe=spec["pe"])
    if t == "FIFO":
        w = spec["width"]
        return stream.FIFO(name, _dt("UINT1"), w, w, spec["depth"])
    if t == "DWC":
        b = spec.get("bits", 1)
        ch = spec["in_elems"] * spec["out_elems"]
        return stream.DWC(name, _dt(f"UINT{b}"), ch, spec["in_elems"], spec["out_elems"])
    if t == "SlidingWindow":
        return conv.SlidingWindow(
            name,
            _dt(f"UINT{spec['bits']}"),
            (spec["ifm"], spec["ifm"]),
            spec["ch"],
            (spec["k"], spec["k"]),
            (spec["stride"], spec["stride"]),
            simd=spec["simd"],
            par=spec.get("par", 1),
            mmv=spec.get("mmv", 1),
            ipar=spec.get("ipar", 1),
        )
    if t == "FMPadding":
        return conv.FMPadding(
            name,
            _dt(f"UINT{spec['bits']}"),
            (spec["ifm"], spec["ifm"]),
            spec["ch"],
            (1, 1, 1, 1),
            0,
            simd=spec["simd"],
        )
    if t == "Pool":
        return pool.Pool(
            name,
            _dt(spec["in"]),
            spec["ch"],
            spec["k"],
            spec["mode"],
            num_vectors=16,
            pe=spec["pe"],
        )
    if t == "GlobalAccPool":
        return pool.GlobalAccPool(name, _dt(spec["in"]), spec["ch"], spec["n_pix"], pe=spec["pe"])
    if t == "LabelSelect":
        return pool.LabelSelect(name, _dt(spec["in"]), spec["ch"], spec["k"], pe=spec["pe"])
    if t == "AddStreams":
        return branch.AddStreams(name, _dt(spec["in"]), spec["ch"], 4, pe=spec["pe"])
    if t == "DuplicateStreams":
        return branch.DuplicateStreams(name, _dt("UINT1"), spec["width"], spec["width"], 4)
    raise ValueError(f"unknown design type {t}")


MVAU_TYPES = [  # (label, input, weight)
    ("xnor", "BIPOLAR", "BIPOLAR"),
    ("tern", "TERNARY", "TERNARY"),
    ("a2w2", "UINT2", "INT2"),
    ("a4w4", "UINT4", "INT4"),
    ("s4w4", "INT4", "INT4"),
    ("a8w8", "UINT8", "INT8"),
    ("a4wb", "UINT4", "BIPOLAR"),
    ("abw4", "BIPOLAR", "INT4"),
    ("a2wt", "UINT2", "TERNARY"),
]

# (PE, SIMD) per MAC cost class: keep each run at a few thousand LUTs at most
FOLDS = {
    "xnor": [(1, 8), (2, 16), (4, 32), (8, 8), (1, 64)],
    "tern": [(1, 4), (2, 8), (4, 16), (8, 4)],
    "a2w2": [(1, 4), (2, 8), (8, 2)],
    "a2wt": [(2, 8)],
    "a4w4": [(1, 2), (2, 4), (4, 4), (1, 8)],
    "s4w4": [(1, 4), (2, 8)],
    "a8w8": [(1, 2), (2, 4), (1, 8), (8, 1)],
    "a4wb": [(1, 8), (4, 8)],
    "abw4": [(1, 8), (4, 8)],
}

THRES_FOR = {
    "xnor": [0, 1],
    "tern": [0, 3],
    "a2w2": [0, 3],
    "a2wt": [3],
    "a4w4": [0, 3, 15],
    "s4w4": [0, 15],
    "a8w8": [0, 3],
    "a4wb": [0, 15],
    "abw4": [3],
}


def designs() -> list[dict]:
    """The calibration sweep (ids are stable: results are keyed by them)."""
    out = []
    for lab, ind, wd in MVAU_TYPES:
        for i, (pe, simd) in enumerate(FOLDS[lab]):
            thr_opts = THRES_FOR[lab]
            for mem in ("lut", "bram"):
                # LUTRAM weights: a small matrix; BRAM weights: >= 4 kbit deep enough for BRAM
                wbits = _dt(wd).bits
                if mem == "lut":
                    mw, mh = max(simd * 4, 16), max(pe * 4, 8)
                else:
                    depth = max(512, 8192 // (pe * simd * wbits) * 1)
                    sf = max(4, depth // 8 // max(1, pe))
                    mw = simd * min(sf, 256)
                    mh = pe * max(1, depth // min(sf, 256))
                n = (
                    thr_opts[i % len(thr_opts)]
                    if mem == "lut"
                    else thr_opts[(i + 1) % len(thr_opts)]
                )
                out.append(
                    {
                        "id": f"mvau_{lab}_p{pe}s{simd}_{mem}_t{n}",
                        "type": "MVAU",
                        "in": ind,
                        "w": wd,
                        "pe": pe,
                        "simd": simd,
                        "mw": mw,
                        "mh": mh,
                        "n_thres": n,
                    }
                )
    # fully unfolded (constant weights after synthesis) and single-fold corner cases
    out += [
        {
            "id": "mvau_xnor_full",
            "type": "MVAU",
            "in": "BIPOLAR",
            "w": "BIPOLAR",
            "pe": 8,
            "simd": 32,
            "mw": 32,
            "mh": 8,
            "n_thres": 1,
            "seed": 901,
        },
        {
            "id": "mvau_a4w4_nf1",
            "type": "MVAU",
            "in": "UINT4",
            "w": "INT4",
            "pe": 4,
            "simd": 4,
            "mw": 64,
            "mh": 4,
            "n_thres": 3,
            "seed": 902,
        },
        {
            "id": "mvau_a4w4_sf1",
            "type": "MVAU",
            "in": "UINT4",
            "w": "INT4",
            "pe": 2,
            "simd": 8,
            "mw": 8,
            "mh": 32,
            "n_thres": 3,
            "seed": 903,
        },
        {
            "id": "mvau_a8w8_dist",
            "type": "MVAU",
            "in": "UINT8",
            "w": "INT8",
            "pe": 2,
            "simd": 2,
            "mw": 64,
            "mh": 32,
            "n_thres": 0,
            "ram_style": "distributed",
            "seed": 904,
        },
        # fully unfolded with multi-bit weights: constant-coefficient products
        {
            "id": "mvau_s4w4_full",
            "type": "MVAU",
            "in": "INT4",
            "w": "INT4",
            "pe": 4,
            "simd": 8,
            "mw": 8,
            "mh": 4,
            "n_thres": 3,
        },
        {
            "id": "mvau_a2w2_full",
            "type": "MVAU",
            "in": "UINT2",
            "w": "INT2",
            "pe": 4,
            "simd": 8,
            "mw": 8,
            "mh": 4,
            "n_thres": 3,
        },
        {
            "id": "mvau_a4w4_full",
            "type": "MVAU",
            "in": "UINT4",
            "w": "INT4",
            "pe": 2,
            "simd": 8,
            "mw": 8,
            "mh": 2,
            "n_thres": 0,
        },
        {
            "id": "mvau_tern_full",
            "type": "MVAU",
            "in": "TERNARY",
            "w": "TERNARY",
            "pe": 4,
            "simd": 16,
            "mw": 16,
            "mh": 4,
            "n_thres": 1,
        },
        # fully unfolded pruned ternary layers (sparse ternary training, 6% to 90% zeros):
        # Yosys drops the products of zero weights and their adders
        *[
            {
                "id": f"mvau_a2wt_full_z{round(100 * z):02d}",
                "type": "MVAU",
                "in": "UINT2",
                "w": "TERNARY",
                "pe": 8,
                "simd": 32,
                "mw": 32,
                "mh": 8,
                "n_thres": 3,
                "zeros": z,
                "seed": 910,
            }
            for z in (0.06, 0.5, 0.9)
        ],
        {
            "id": "mvau_tern_full_z90",
            "type": "MVAU",
            "in": "TERNARY",
            "w": "TERNARY",
            "pe": 8,
            "simd": 64,
            "mw": 64,
            "mh": 8,
            "n_thres": 1,
            "zeros": 0.9,
            "seed": 911,
        },
        {
            "id": "mvau_xnor_dist256",
            "type": "MVAU",
            "in": "BIPOLAR",
            "w": "BIPOLAR",
            "pe": 1,
            "simd": 16,
            "mw": 256,
            "mh": 16,
            "n_thres": 1,
            "ram_style": "distributed",
            "seed": 906,
        },
        {
            "id": "mvau_tern_dist128",
            "type": "MVAU",
            "in": "TERNARY",
            "w": "TERNARY",
            "pe": 2,
            "simd": 8,
            "mw": 128,
            "mh": 16,
            "n_thres": 3,
            "ram_style": "distributed",
            "seed": 907,
        },
        {
            "id": "mvau_a4w4_dist64",
            "type": "MVAU",
            "in": "UINT4",
            "w": "INT4",
            "pe": 2,
            "simd": 4,
            "mw": 64,
            "mh": 16,
            "n_thres": 15,
            "seed": 908,
        },
        {
            "id": "mvau_xnor_block",
            "type": "MVAU",
            "in": "BIPOLAR",
            "w": "BIPOLAR",
            "pe": 2,
            "simd": 16,
            "mw": 64,
            "mh": 32,
            "n_thres": 1,
            "ram_style": "block",
            "seed": 905,
        },
    ]
    for c, pe, ind, n in [
        (32, 1, "INT8", 3),
        (64, 8, "INT12", 15),
        (16, 2, "INT16", 1),
        (256, 4, "INT10", 15),
        (1024, 2, "INT16", 15),
    ]:
        out.append(
            {
                "id": f"thr_c{c}p{pe}_{ind.lower()}_t{n}",
                "type": "Thresholding",
                "c": c,
                "pe": pe,
                "in": ind,
                "n_thres": n,
            }
        )
    for w, d in [(8, 2), (8, 16), (32, 32), (64, 64), (16, 256), (72, 512), (128, 8), (36, 2048)]:
        out.append({"id": f"fifo_w{w}d{d}", "type": "FIFO", "width": w, "depth": d})
    for i, o, b in [
        (1, 4, 1),
        (4, 1, 1),
        (8, 32, 1),
        (32, 8, 1),
        (2, 3, 4),
        (3, 2, 4),
        (64, 16, 2),
    ]:
        out.append(
            {"id": f"dwc_{i}to{o}_b{b}", "type": "DWC", "in_elems": i, "out_elems": o, "bits": b}
        )
    for ifm, ch, simd, k, s, b in [
        (8, 4, 2, 3, 1, 4),
        (16, 16, 4, 3, 1, 2),
        (32, 64, 8, 3, 1, 1),
        (16, 32, 32, 3, 2, 4),
        (12, 8, 1, 2, 2, 8),
        (32, 3, 3, 3, 1, 8),
    ]:
        out.append(
            {
                "id": f"swu_i{ifm}c{ch}s{simd}k{k}st{s}b{b}",
                "type": "SlidingWindow",
                "ifm": ifm,
                "ch": ch,
                "simd": simd,
                "k": k,
                "stride": s,
                "bits": b,
            }
        )
    for ifm, ch, simd, b in [(8, 4, 2, 4), (32, 64, 8, 2)]:
        out.append(
            {
                "id": f"pad_i{ifm}c{ch}s{simd}b{b}",
                "type": "FMPadding",
                "ifm": ifm,
                "ch": ch,
                "simd": simd,
                "bits": b,
            }
        )
    for ch, pe, k, mode, ind in [
        (16, 2, 4, "max", "UINT4"),
        (64, 8, 4, "max", "INT8"),
        (16, 4, 4, "sum", "UINT4"),
        (64, 16, 9, "sum", "INT4"),
    ]:
        out.append(
            {
                "id": f"pool_{mode}_c{ch}p{pe}k{k}_{ind.lower()}",
                "type": "Pool",
                "ch": ch,
                "pe": pe,
                "k": k,
                "mode": mode,
                "in": ind,
            }
        )
    for ch, pe, n, ind in [(64, 4, 64, "UINT4"), (32, 1, 256, "UINT2")]:
        out.append(
            {
                "id": f"gap_c{ch}p{pe}n{n}_{ind.lower()}",
                "type": "GlobalAccPool",
                "ch": ch,
                "pe": pe,
                "n_pix": n,
                "in": ind,
            }
        )
    for ch, pe, k, ind in [(10, 1, 1, "INT16"), (10, 2, 3, "INT8"), (100, 4, 5, "INT12")]:
        out.append(
            {
                "id": f"label_c{ch}p{pe}k{k}_{ind.lower()}",
                "type": "LabelSelect",
                "ch": ch,
                "pe": pe,
                "k": k,
                "in": ind,
            }
        )
    for ch, pe, ind in [(16, 4, "UINT4"), (64, 16, "INT8")]:
        out.append(
            {
                "id": f"add_c{ch}p{pe}_{ind.lower()}",
                "type": "AddStreams",
                "ch": ch,
                "pe": pe,
                "in": ind,
            }
        )
    for w in (8, 128):
        out.append({"id": f"dup_w{w}", "type": "DuplicateStreams", "width": w})
    return out


def layer_info(l) -> dict:
    """Attributes of the layer that the formulas use (for the record)."""
    d = {"folding": l.folding(), "in_width": l.in_width, "out_width": l.out_width}
    if l.op_type == "MVAU":
        d.update(
            {
                "acc_bits": l.acc_bits,
                "nf": l.nf,
                "sf": l.sf,
                "weight_memory": l.weight_ram_style,
                "out_dtype": str(l.out_dtype),
            }
        )
    return d


# ------------------------------------------------------------------------------------------
# sweep
# ------------------------------------------------------------------------------------------
def _load() -> dict:
    if SWEEP.is_file():
        return json.loads(SWEEP.read_text())
    return {"designs": {}}


def _save(data: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    tmp = SWEEP.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, SWEEP)


def synth_design(spec: dict, workdir: str) -> dict:
    """One design of the sweep synthesized (a task of :func:`fpgagen.tasks.run_tasks`)."""
    from fpgagen.synth import RESOURCE_KEYS, synth_layer

    l = build(spec)
    r = synth_layer(l, Path(workdir) / spec["id"])
    return {
        "spec": spec,
        "layer": layer_info(l),
        "yosys": {k: r[k] for k in RESOURCE_KEYS + ("lut_logic", "lutram", "seconds")},
        "cells": r["cells"],
    }


def _ship_this_module() -> None:
    """Let Dask workers on other machines run :func:`synth_design` without this checkout's
    benchmarks/ folder: pickle this module by value."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])


def cmd_sweep(args) -> int:
    from fpgagen.synth import yosys_version
    from fpgagen.tasks import Task, run_tasks

    specs = [s for s in designs() if not args.only or re.search(args.only, s["id"])]
    data = _load()
    data["yosys"] = yosys_version()
    data["script"] = "synth_xilinx -family xcup -flatten (fpgagen.synth)"
    todo = [
        s
        for s in specs
        if args.force or s["id"] not in data["designs"] or data["designs"][s["id"]]["spec"] != s
    ]
    where = args.scheduler or f"{args.jobs} local workers"
    print(f"{len(specs)} designs, {len(todo)} to synthesize on {where}", flush=True)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="fpgagen_cal_")).resolve()
    if args.scheduler and __name__ != "__main__":
        _ship_this_module()
    # each run is cached by Yosys itself ($FPGAGEN_CACHE/yosys): no second cache here
    tasks = [
        Task(synth_design, {"spec": s, "workdir": str(work)}, label=s["id"], kind="calibrate")
        for s in todo
    ]
    outs = run_tasks(
        tasks,
        jobs=args.jobs,
        scheduler=args.scheduler,
        cache=False,
        progress=lambda m: print(m, flush=True),
    )
    for o in outs:
        if o.ok:
            data["designs"][o.result["spec"]["id"]] = {
                k: o.result[k] for k in ("spec", "layer", "yosys", "cells")
            }
    _save(data)
    failed = [o for o in outs if not o.ok]
    for o in failed:
        print(f"FAILED: {o.label}: {o.error}", flush=True)
    return 1 if failed else 0


# ------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------
def _pct(e, a):
    return 100.0 * (e - a) / a if a else (0.0 if e == 0 else float("inf"))


def evaluate(data: dict | None = None) -> list[dict]:
    from fpgagen.cost import model

    data = data or _load()
    rows = []
    for did, d in sorted(data["designs"].items()):
        spec = d["spec"]
        l = build(spec)
        est = model.estimate(l)
        y = d["yosys"]
        row = {"id": did, "type": spec["type"], "yosys": y, "model": est}
        if spec["type"] == "MVAU":
            row["finn"] = {"lut": model.finn_mvau_lut(l), "bram18": model.finn_mvau_bram18(l)}
            row["group"] = spec["id"].split("_")[1]
        rows.append(row)
    return rows


def _stats(errs):
    a = np.abs(np.asarray(errs, dtype=float))
    return {
        "n": int(a.size),
        "mean_abs_pct": round(float(a.mean()), 1) if a.size else None,
        "max_abs_pct": round(float(a.max()), 1) if a.size else None,
        "within_15pct": int((a <= 15).sum()),
    }


def summarize(rows) -> dict:
    mv = [r for r in rows if r["type"] == "MVAU"]
    summ = {
        "mvau": {
            "lut_ours": _stats([_pct(r["model"]["lut"], r["yosys"]["lut"]) for r in mv]),
            "lut_finn": _stats([_pct(r["finn"]["lut"], r["yosys"]["lut"]) for r in mv]),
            "ff_ours": _stats([_pct(r["model"]["ff"], r["yosys"]["ff"]) for r in mv]),
            "bram_exact_ours": sum(r["model"]["bram18"] == r["yosys"]["bram18"] for r in mv),
            "bram_exact_finn": sum(r["finn"]["bram18"] == r["yosys"]["bram18"] for r in mv),
            "dsp_exact_ours": sum(r["model"]["dsp"] == r["yosys"]["dsp"] for r in mv),
            "n": len(mv),
        }
    }
    for t in sorted({r["type"] for r in rows} - {"MVAU"}):
        rr = [r for r in rows if r["type"] == t]
        summ[t] = {
            "lut_ours": _stats([_pct(r["model"]["lut"], r["yosys"]["lut"]) for r in rr]),
            "ff_ours": _stats([_pct(r["model"]["ff"], r["yosys"]["ff"]) for r in rr]),
            "bram_exact": sum(r["model"]["bram18"] == r["yosys"]["bram18"] for r in rr),
            "dsp_exact": sum(r["model"]["dsp"] == r["yosys"]["dsp"] for r in rr),
            "n": len(rr),
        }
    return summ


def markdown(rows) -> str:
    """Error tables for docs/cost_model.md."""
    out = [
        "| MVAU designs | n | LUT ours: mean / max abs err | LUT FINN: mean / max abs err "
        "| BRAM18 exact ours / FINN | DSP exact |",
        "|---|---|---|---|---|---|",
    ]
    mv = [r for r in rows if r["type"] == "MVAU"]
    groups = [
        (g, [r for r in mv if r.get("group") == g]) for g in sorted({r.get("group") for r in mv})
    ] + [("**all**", mv)]
    for g, rr in groups:
        if not rr:
            continue
        o = _stats([_pct(r["model"]["lut"], r["yosys"]["lut"]) for r in rr])
        f = _stats([_pct(r["finn"]["lut"], r["yosys"]["lut"]) for r in rr])
        be = sum(r["model"]["bram18"] == r["yosys"]["bram18"] for r in rr)
        bf = sum(r["finn"]["bram18"] == r["yosys"]["bram18"] for r in rr)
        de = sum(r["model"]["dsp"] == r["yosys"]["dsp"] for r in rr)
        out.append(
            f"| {g} | {len(rr)} | {o['mean_abs_pct']}% / {o['max_abs_pct']}% | "
            f"{f['mean_abs_pct']}% / {f['max_abs_pct']}% | {be} / {bf} | {de} |"
        )
    out += [
        "",
        "| other layers | n | LUT mean / max abs err | FF mean / max abs err "
        "| BRAM18 exact | DSP exact |",
        "|---|---|---|---|---|---|",
    ]
    for t in sorted({r["type"] for r in rows} - {"MVAU"}):
        rr = [r for r in rows if r["type"] == t]
        o = _stats([_pct(r["model"]["lut"], r["yosys"]["lut"]) for r in rr])
        ff = _stats([_pct(r["model"]["ff"], r["yosys"]["ff"]) for r in rr])
        be = sum(r["model"]["bram18"] == r["yosys"]["bram18"] for r in rr)
        de = sum(r["model"]["dsp"] == r["yosys"]["dsp"] for r in rr)
        out.append(
            f"| {t} | {len(rr)} | {o['mean_abs_pct']}% / {o['max_abs_pct']}% | "
            f"{ff['mean_abs_pct']}% / {ff['max_abs_pct']}% | {be} | {de} |"
        )
    return "\n".join(out)


def cmd_report(args) -> int:
    rows = evaluate()
    summ = summarize(rows)
    ERRORS.write_text(json.dumps({"summary": summ, "designs": rows}, indent=1) + "\n")
    if args.markdown:
        print(markdown(rows))
        return 0
    w = 34
    print(
        f"{'design':<{w}} {'yosys':>6} {'ours':>6} {'err':>6} {'FINN':>6} {'err':>6} "
        f"{'FF y':>5} {'FF m':>5} {'BRAM y/m/F':>10} {'DSP y/m':>7}"
    )
    for r in rows:
        y, m = r["yosys"], r["model"]
        f = r.get("finn")
        fl = f"{f['lut']:>6} {_pct(f['lut'], y['lut']):>+5.0f}%" if f else f"{'':>6} {'':>6}"
        fb = f"/{f['bram18']}" if f else ""
        flag = "  <--" if abs(_pct(m["lut"], y["lut"])) > 15 else ""
        print(
            f"{r['id'][:w]:<{w}} {y['lut']:>6} {m['lut']:>6} {_pct(m['lut'], y['lut']):>+5.0f}% "
            f"{fl} {y['ff']:>5} {m['ff']:>5} "
            f"{str(y['bram18']) + '/' + str(m['bram18']) + fb:>10} "
            f"{str(y['dsp']) + '/' + str(m['dsp']):>7}{flag}"
        )
    print(json.dumps(summ, indent=1))
    return 0


# ------------------------------------------------------------------------------------------
# fit
# ------------------------------------------------------------------------------------------
def _nnls(A, b):
    try:
        from scipy.optimize import nnls

        return nnls(A, b)[0]
    except ImportError:  # pragma: no cover - plain least squares without scipy
        return np.linalg.lstsq(A, b, rcond=None)[0]


def _l1_capped(X, y, cap):
    """Non-negative coefficients minimising the mean relative error subject to every design's
    relative error being at most ``cap`` (a linear program); None when infeasible."""
    try:
        from scipy.optimize import linprog
    except ImportError:  # pragma: no cover
        return None
    A = X / np.maximum(y, 1.0)[:, None]
    n, k = A.shape
    eye = np.eye(n)
    zero = np.zeros((n, n))
    a_ub = np.block([[A, -eye], [-A, -eye], [A, zero], [-A, zero]])
    one = np.ones(n)
    b_ub = np.r_[one, -one, one * (1 + cap), -one * (1 - cap)]
    r = linprog(
        np.r_[np.zeros(k), one], A_ub=a_ub, b_ub=b_ub, bounds=[(0, None)] * (k + n), method="highs"
    )
    return r.x[:k] if r.status == 0 else None


#: MVAU LUTs: the tightest per-design error cap the fit tries before falling back to NNLS
MVAU_LUT_CAP = 0.13


def fit(data: dict | None = None) -> tuple[dict, list[str]]:
    """Per layer type: LUT/FF coefficients by non-negative least squares on the relative error;
    MVAU LUTs by a linear program minimising the mean relative error with every design capped
    at :data:`MVAU_LUT_CAP` (the done-when of the cost model is a per-design bound)."""
    from fpgagen.cost import model

    data = data or _load()
    groups: dict = {}
    for d in data["designs"].values():
        l = build(d["spec"])
        feats = model.features(l)
        if feats is None:
            continue
        groups.setdefault(l.op_type, []).append((d["spec"]["id"], feats, d["yosys"]))
    coef, lines = {}, []
    for t, items in sorted(groups.items()):
        coef[t] = {}
        for res in ("lut", "ff"):
            keys = sorted(items[0][1][res])
            X = np.array([[f[res][k] for k in keys] for _, f, _ in items], dtype=float)
            y = np.array([yy[res] for _, _, yy in items], dtype=float)
            wgt = 1.0 / np.maximum(y, 1.0)
            c = None
            if t == "MVAU" and res == "lut":
                for cap in (MVAU_LUT_CAP, 0.14, 0.15):
                    c = _l1_capped(X, y, cap)
                    if c is not None:
                        break
            if c is None:
                c = _nnls(X * wgt[:, None], y * wgt)
            pred = X @ c
            err = np.abs(pred - y) / np.maximum(y, 1) * 100
            coef[t][res] = {k: round(float(v), 4) for k, v in zip(keys, c) if abs(v) > 1e-9}
            lines.append(
                f"{t} {res}: "
                + ", ".join(f"{k}={v:.3f}" for k, v in zip(keys, c))
                + f"   mean |err| {err.mean():.1f}% max {err.max():.1f}% "
                f"(n={len(y)})"
            )
    return coef, lines


def cmd_fit(args) -> int:
    """The old single-sweep fit (printed for comparison); ``--write`` runs the
    cross-validated fit of ``crossval.py`` (this sweep + the random one), which generates
    ``_coef.py`` with its uncertainty bands."""
    coef, lines = fit()
    print("\n".join(lines))
    if args.write:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import crossval

        return crossval.main(["fit", "--write"])
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sweep")
    s.add_argument("-j", "--jobs", type=int, default=2, help="local worker processes")
    s.add_argument("--scheduler", help="Dask scheduler address (docs/distributed.md)")
    s.add_argument("--only", default=None, help="regex on design ids")
    s.add_argument("--force", action="store_true")
    s.add_argument("--workdir", default=None)
    f = sub.add_parser("fit")
    f.add_argument("--write", action="store_true", help="write generator/fpgagen/cost/_coef.py")
    r = sub.add_parser("report")
    r.add_argument("--markdown", action="store_true")
    sub.add_parser("list")
    a = ap.parse_args(argv)
    if a.cmd == "list":
        for s in designs():
            print(s["id"])
        return 0
    return {"sweep": cmd_sweep, "fit": cmd_fit, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
