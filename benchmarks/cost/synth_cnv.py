#!/usr/bin/env python3
"""Cost model against Yosys on whole CNV builds: every layer and the stitched top.

    python benchmarks/cost/synth_cnv.py --net cnv_w1a1 --target-cycles 21800 [-j 1]
        [--no-top] [--timeout S] [--top-timeout S] [--work DIR]
    python benchmarks/cost/synth_cnv.py --markdown benchmarks/results/synth_cnv_w1a1_21800.json
    python benchmarks/cost/synth_cnv.py --net cnv_w1a1 --target-cycles 900 \
        --layers conv_features_8_Conv,conv_features_11_Conv [--timeout S]

Exports the model-zoo preset (``fpgagen.models.cnn.make_cnn(net, seed=0)``, randomised
batch-norm statistics, the networks of docs/benchmarks.md), builds it for the ZCU104 at the
target (``fpgagen build --target-cycles N --backend rtl``) and runs ``fpgagen synth`` on the
build (:func:`fpgagen.synth.synth_build`: layer runs isolated, the fallback script where the
default one fails). Writes the result to
``benchmarks/results/synth_<net>_<target>.json``; ``--markdown`` prints the table of
docs/cost_model.md from such a file (compute layers one per row, FIFOs and DWCs grouped).
Hours on a loaded 2-core machine with a cold Yosys cache (the top level alone is the largest
run); results are cached in ``$FPGAGEN_CACHE/yosys``.

``--layers``: only the named layers of the build, each synthesized alone with
:func:`fpgagen.synth.synth_layer` and estimated with the cost model, written to
``benchmarks/results/layers_<net>_<target>.json`` (not a ``synth_cnv_*`` file: the
cross-validation reads those as whole builds). For layers of designs too large to synthesize
whole: the 900-cycle CNV-W1A1 the optimiser fits in 70% of the ZCU104 (docs/benchmarks.md)
has binary layers of 192 and 576 lanes whose weight ROMs of 6 and 8 words the model prices
from blocks of up to 16 lanes (docs/cost_model.md); 5 and 19 minutes of Yosys here.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "generator"))

GROUPED = ("FIFO", "DWC")


def _build(net: str, cycles: int, work: Path) -> Path:
    """The zoo preset ``net`` exported and built for the ZCU104 at ``cycles`` in ``work``
    (both kept there and reused): the build folder."""
    from fpgagen.flow import build
    from fpgagen.models.cnn import make_cnn
    from fpgagen.models.export import export_qonnx_model

    work.mkdir(parents=True, exist_ok=True)
    onnx = work / f"{net}.onnx"
    if not onnx.exists():
        export_qonnx_model(make_cnn(net, seed=0).eval(), (1, 3, 32, 32), onnx)
    out = work / f"build_{net}_{cycles}"
    if not (out / "dataflow.json").is_file():
        build(onnx, "zcu104", out, target_cycles_=cycles, backend="rtl")
    return out


def run(
    net: str, cycles: int, work: Path, jobs: int, top: bool, timeout, top_timeout, scheduler=None
) -> dict:
    from fpgagen.synth import synth_build

    out = _build(net, cycles, work)
    res = synth_build(
        out,
        top=top,
        jobs=jobs,
        timeout=timeout,
        top_timeout=top_timeout,
        progress=lambda m: print(m, file=sys.stderr, flush=True),
        scheduler=scheduler,
    )
    meta = json.loads((out / "dataflow.json").read_text())
    res["network"] = net
    res["target_cycles"] = cycles
    res["board"] = "zcu104"
    res["expected_cycles_per_frame"] = meta.get("expected_cycles_per_frame")
    return res


def run_layers(net: str, cycles: int, work: Path, names: list[str], timeout) -> dict:
    """The named layers of the ``net`` build at ``cycles``, each synthesized alone: ``{"network",
    "target_cycles", "board", "layers": [{"name", "type", "folding", "estimate", "actual",
    "lut_err_pct", "seconds"}]}``."""
    from fpgagen.cost import model
    from fpgagen.flow import load_build
    from fpgagen.synth import RESOURCE_KEYS, synth_layer

    df, _meta = load_build(_build(net, cycles, work))
    by_name = {layer.name: layer for layer in df.layers}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise SystemExit(f"{net} at {cycles} cycles has no layer {', '.join(missing)}")
    rows = []
    for n in names:
        layer = by_name[n]
        r = synth_layer(layer, work / "layers" / n, timeout=timeout)
        est = model.estimate(layer)
        act = {k: r[k] for k in RESOURCE_KEYS}
        rows.append(
            {
                "name": n,
                "type": type(layer).__name__,
                "folding": layer.folding(),
                "estimate": {k: est[k] for k in ("lut", "ff", "bram18", "dsp")},
                "actual": act,
                "lut_err_pct": round(100 * (est["lut"] - act["lut"]) / act["lut"], 1),
                "seconds": r.get("seconds"),
            }
        )
        print(f"{n}: LUT estimate {est['lut']} / Yosys {act['lut']}", file=sys.stderr, flush=True)
    return {"network": net, "target_cycles": cycles, "board": "zcu104", "layers": rows}


def _pct(e, a) -> str:
    return "-" if not a else f"{100 * (e - a) / a:+.0f}%"


def _cells(e, a, k) -> str:
    if a is None:
        return f"{e[k]} / -"
    s = f"{e[k]} / {a[k]}"
    return s + f" ({_pct(e[k], a[k])})" if k in ("lut", "ff") else s


def markdown(res: dict) -> str:
    """The docs/cost_model.md table of a result: estimate / Yosys per compute layer, FIFOs
    and DWCs grouped, the sum over the layers that synthesized and the stitched top."""
    mark = {"ok": "", "fallback": " *", "failed": " (failed)"}
    out = [
        "| layer | type | LUT est / Yosys | FF est / Yosys | BRAM18 est / Yosys | DSP est / Yosys |",
        "|---|---|---|---|---|---|",
    ]
    groups: dict = {}
    for r in res["layers"]:
        if r["type"] in GROUPED:
            groups.setdefault(r["type"], []).append(r)
            continue
        e, a = r["estimate"], r["actual"]
        out.append(
            f"| {r['name']}{mark[r['status']]} | {r['type']} | "
            + " | ".join(_cells(e, a, k) for k in ("lut", "ff", "bram18", "dsp"))
            + " |"
        )
    for typ, rows in groups.items():
        ok = [r for r in rows if r["actual"] is not None]
        e = {k: sum(r["estimate"][k] for r in ok) for k in ("lut", "ff", "bram18", "dsp")}
        a = {k: sum(r["actual"][k] for r in ok) for k in ("lut", "ff", "bram18", "dsp")}
        nfb = sum(r["status"] == "fallback" for r in rows)
        errs = [
            abs(r["estimate"]["lut"] - r["actual"]["lut"]) / r["actual"]["lut"]
            for r in ok
            if r["actual"]["lut"]
        ]
        note = f"{len(ok)} {typ}s" + (f", {nfb} *" if nfb else "")
        if errs:
            note += f", LUT max abs err {100 * max(errs):.0f}%"
        out.append(
            f"| all {typ}s ({note}) | {typ} | "
            + " | ".join(_cells(e, a, k) for k in ("lut", "ff", "bram18", "dsp"))
            + " |"
        )
    n = res["n_layers"] - res["n_failed"]
    out.append(
        f"| **sum of {n} layers** | | "
        + " | ".join(
            _cells(res["sum_estimate"], res["sum_actual"], k)
            for k in ("lut", "ff", "bram18", "dsp")
        )
        + " |"
    )
    t = res.get("top")
    if t:
        act = t if t["status"] != "failed" else None
        out.append(
            f"| **stitched top{mark[t['status']]}** | | "
            + " | ".join(
                _cells(res["sum_estimate_all"], act, k) for k in ("lut", "ff", "bram18", "dsp")
            )
            + " |"
        )
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--net", default="cnv_w1a1")
    ap.add_argument("--target-cycles", type=int, default=21800)
    ap.add_argument("-j", "--jobs", type=int, default=1)
    ap.add_argument("--scheduler", help="Dask scheduler address (docs/distributed.md)")
    ap.add_argument("--no-top", action="store_true")
    ap.add_argument("--timeout", type=float)
    ap.add_argument("--top-timeout", type=float)
    ap.add_argument("--work", help="work folder (default: a temporary one)")
    ap.add_argument("--out", help="result JSON (default benchmarks/results/synth_<net>_<N>.json)")
    ap.add_argument("--markdown", metavar="JSON", help="print the docs table of a result file")
    ap.add_argument("--layers", help="only these layers (comma-separated names), each alone")
    a = ap.parse_args(argv)
    if a.markdown:
        print(markdown(json.loads(Path(a.markdown).read_text())))
        return 0
    work = Path(a.work or tempfile.mkdtemp(prefix="fpgagen_synth_cnv_"))
    if a.layers:
        res = run_layers(a.net, a.target_cycles, work, a.layers.split(","), a.timeout)
        name = f"layers_{a.net}_{a.target_cycles}.json"
        out = Path(a.out or ROOT / "benchmarks" / "results" / name)
        out.write_text(json.dumps(res, indent=1) + "\n")
        print(f"wrote {out}")
        return 0
    res = run(
        a.net, a.target_cycles, work, a.jobs, not a.no_top, a.timeout, a.top_timeout, a.scheduler
    )
    out = Path(a.out or ROOT / "benchmarks" / "results" / f"synth_{a.net}_{a.target_cycles}.json")
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(markdown(res))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
