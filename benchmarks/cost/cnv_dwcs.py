#!/usr/bin/env python3
"""The data-width converters of the CNV builds of docs/cost_model.md, synthesized again with
today's rtl/axis_dwc.v (issue 18, tenth session): what the whole-word paths save there.

    python benchmarks/cost/cnv_dwcs.py [-j 2]   # Yosys, cached; writes the results

For each ``benchmarks/results/synth_cnv_*.json`` (a whole CNV build synthesized with the
converters of its time), the build's dataflow is re-created with its recorded folding (as
``crossval.cnv_rows`` does); its DWCs follow from the folding. A converter counts only when
its shape is the recorded one: the recorded run's flip-flops must be those of the gearbox of
that shape (from ``BUF`` to ``BUF + CW + 2``: buffer, fill count, ready and valid), every
converter of those builds having been a gearbox. Each is synthesized alone (``fpgagen synth``'s layer
flow) and estimated with today's model. Results go to ``benchmarks/results/cost_cnv_dwcs.json``.
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
OUT = RESULTS / "cost_cnv_dwcs.json"


def gearbox_ff(a: int, b: int) -> tuple[int, int]:
    """The range of flip-flops of rtl/axis_dwc.v's gearbox from ``a`` to ``b`` bits: its
    buffer up to the buffer, fill count, ready and valid (Yosys drops a few that are
    constant); the buffer and count widths are the DWC model's."""
    from fpgagen.cost.model import dwc_gearbox_features

    ff = dwc_gearbox_features(a, b)["ff"]
    return ff["buf"], ff["buf"] + ff["ctrl"] + 2


def converters() -> list[dict]:
    """``[{build, name, in_bits, out_bits, old}]``: the recorded builds' converters whose
    shape is confirmed (``old``: the recorded Yosys counts)."""
    from crossval import cnv_builds

    out = []
    for path, d, df in cnv_builds():
        by_name = {l.name: l for l in df.layers if l.op_type == "DWC"}
        for e in d["layers"]:
            l = by_name.get(e["name"])
            if e.get("type") != "DWC" or l is None or not e.get("actual"):
                continue
            a, b = l.in_width, l.out_width
            lo, hi = gearbox_ff(a, b)
            if not lo <= e["actual"]["ff"] <= hi:
                print(f"{path.stem}/{e['name']}: {a} -> {b} bits is not the recorded shape")
                continue
            out.append(
                {
                    "build": path.stem,
                    "name": e["name"],
                    "in_bits": a,
                    "out_bits": b,
                    "old": {k: e["actual"][k] for k in ("lut", "ff")},
                    "layer": l,
                }
            )
    return out


def _synth(layer, workdir: str) -> dict:
    from fpgagen.synth import synth_layer

    r = synth_layer(layer, Path(workdir) / layer.name)
    return {k: r[k] for k in ("lut", "ff", "seconds")}


def main(argv=None) -> int:
    from fpgagen.cost.model import dwc_kind, estimate
    from fpgagen.tasks import Task, run_tasks

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-j", "--jobs", type=int, default=2)
    a = ap.parse_args(argv)
    convs = converters()
    work = tempfile.mkdtemp(prefix="fpgagen_cnv_dwcs_syn_")
    tasks = [
        Task(_synth, {"layer": c["layer"], "workdir": f"{work}/{c['build']}"}, label=c["name"])
        for c in convs
    ]
    outs = run_tasks(tasks, jobs=a.jobs, cache=False, progress=lambda m: print(m, flush=True))
    rows, sums = [], {}
    for c, o in zip(convs, outs):
        if not o.ok:
            print(f"FAILED: {c['build']}/{c['name']}: {o.error}", flush=True)
            continue
        est = estimate(c["layer"])
        row = {k: c[k] for k in ("build", "name", "in_bits", "out_bits", "old")}
        row |= {
            "kind": dwc_kind(c["in_bits"], c["out_bits"]),
            "new": o.result,
            "estimate": {"lut": est["lut"], "ff": est["ff"]},
        }
        rows.append(row)
        s = sums.setdefault(
            c["build"], {"n": 0, "old_lut": 0, "new_lut": 0, "est_lut": 0, "old_ff": 0, "new_ff": 0}
        )
        s["n"] += 1
        s["old_lut"] += c["old"]["lut"]
        s["new_lut"] += o.result["lut"]
        s["est_lut"] += est["lut"]
        s["old_ff"] += c["old"]["ff"]
        s["new_ff"] += o.result["ff"]
        print(
            f"{c['build']}/{c['name']}: {c['in_bits']} -> {c['out_bits']} ({row['kind']}): "
            f"LUT {c['old']['lut']} -> {o.result['lut']} (estimate {est['lut']}), "
            f"FF {c['old']['ff']} -> {o.result['ff']}",
            flush=True,
        )
    for b, s in sums.items():
        print(
            f"{b}: {s['n']} converters, LUT {s['old_lut']} -> {s['new_lut']} "
            f"(estimate {s['est_lut']}), FF {s['old_ff']} -> {s['new_ff']}"
        )
    OUT.write_text(json.dumps({"rows": rows, "sums": sums}, indent=1) + "\n")
    return 0 if len(rows) == len(convs) else 1


if __name__ == "__main__":
    sys.exit(main())
