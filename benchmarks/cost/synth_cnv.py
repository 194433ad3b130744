#!/usr/bin/env python3
"""Cost model against Yosys on whole CNV builds: every layer and the stitched top.

    python benchmarks/cost/synth_cnv.py --net cnv_w1a1 --target-cycles 21800 [-j 1]
        [--no-top] [--timeout S] [--top-timeout S] [--work DIR]
    python benchmarks/cost/synth_cnv.py --markdown benchmarks/results/synth_cnv_w1a1_21800.json

Exports the model-zoo preset (``fpgagen.models.cnn.make_cnn(net, seed=0)``, randomised
batch-norm statistics, the networks of docs/benchmarks.md), builds it for the ZCU104 at the
target (``fpgagen build --target-cycles N --backend rtl``) and runs ``fpgagen synth`` on the
build (:func:`fpgagen.synth.synth_build`: layer runs isolated, the fallback script where the
default one fails). Writes the result to
``benchmarks/results/synth_<net>_<target>.json``; ``--markdown`` prints the table of
docs/cost_model.md from such a file (compute layers one per row, FIFOs and DWCs grouped).
Hours on a loaded 2-core machine with a cold Yosys cache (the top level alone is the largest
run); results are cached in ``$FPGAGEN_CACHE/yosys``.
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


def run(
    net: str, cycles: int, work: Path, jobs: int, top: bool, timeout, top_timeout, scheduler=None
) -> dict:
    from fpgagen.flow import build
    from fpgagen.models.cnn import make_cnn
    from fpgagen.models.export import export_qonnx_model
    from fpgagen.synth import synth_build

    work.mkdir(parents=True, exist_ok=True)
    onnx = work / f"{net}.onnx"
    if not onnx.exists():
        export_qonnx_model(make_cnn(net, seed=0).eval(), (1, 3, 32, 32), onnx)
    out = work / f"build_{net}_{cycles}"
    if not (out / "dataflow.json").is_file():
        build(onnx, "zcu104", out, target_cycles_=cycles, backend="rtl")
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
    a = ap.parse_args(argv)
    if a.markdown:
        print(markdown(json.loads(Path(a.markdown).read_text())))
        return 0
    work = Path(a.work or tempfile.mkdtemp(prefix="fpgagen_synth_cnv_"))
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
