#!/usr/bin/env python3
"""Synthesis sweep of 56 MVAU configurations on 1 and 2 Dask workers (docs/benchmarks.md).

    python benchmarks/cluster/synth_sweep.py [--workers 1,2] [--scheduler ADDR] [--out JSON]
    python benchmarks/cluster/synth_sweep.py --markdown JSON

Each configuration (4 weight/activation types x 7 PE/SIMD foldings x 2 output kinds, a 16x8
weight matrix) is one task of :func:`fpgagen.tasks.run_tasks` that synthesizes the layer with
Yosys (``fpgagen.synth.synth_layer``). For each worker count the sweep runs on a fresh
``LocalCluster`` of that many single-threaded worker processes with an empty Yosys cache, so
every run really synthesizes; the results of all runs must be identical. With
``--scheduler`` it runs once on that cluster instead.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "generator"))
sys.path.insert(0, str(ROOT / "benchmarks" / "cost"))

OUT = ROOT / "benchmarks" / "results" / "synth_sweep_dask.json"

TYPES = [("xnor", "BIPOLAR", "BIPOLAR", 1), ("tern", "TERNARY", "TERNARY", 3),
         ("a2w2", "UINT2", "INT2", 3), ("a4w4", "UINT4", "INT4", 15)]  # fmt: skip
FOLDS = [(1, 1), (1, 2), (2, 2), (1, 4), (2, 4), (4, 2), (4, 4)]


def configs() -> list[dict]:
    """The 56 layer configurations (stable ids, seeded weights and thresholds)."""
    out = []
    for lab, ind, wd, n_thr in TYPES:
        for pe, simd in FOLDS:
            for n in (0, n_thr):  # accumulator output, or thresholded activations
                out.append(
                    {
                        "id": f"sweep_{lab}_p{pe}s{simd}_t{n}",
                        "type": "MVAU",
                        "in": ind,
                        "w": wd,
                        "mw": 16,
                        "mh": 8,
                        "pe": pe,
                        "simd": simd,
                        "n_thres": n,
                    }
                )
    return out


def synth_config(spec: dict, workdir: str, yosys_cache: str) -> dict:
    """One configuration synthesized: Yosys' cell counts (no timings, no paths)."""
    import calibrate
    from fpgagen.synth import RESOURCE_KEYS, synth_layer

    r = synth_layer(calibrate.build(spec), Path(workdir) / spec["id"], cache_dir=yosys_cache)
    return {k: r[k] for k in RESOURCE_KEYS} | {"cells": r["cells"], "yosys_s": r["seconds"]}


def run_once(specs, client, label: str) -> dict:
    from fpgagen.tasks import Task, run_tasks

    work = Path(tempfile.mkdtemp(prefix=f"fpgagen_sweep_{label}_"))
    tasks = [
        Task(
            synth_config,
            {"spec": s, "workdir": str(work), "yosys_cache": str(work / "yosys")},
            label=s["id"],
            kind="bench.synth",
        )
        for s in specs
    ]
    t0 = time.perf_counter()
    outs = run_tasks(tasks, client=client, cache=False, progress=lambda m: print(m, flush=True))
    wall = time.perf_counter() - t0
    failed = [o.label for o in outs if not o.ok]
    res = {o.label: o.result for o in outs if o.ok}
    busy = sum(o.seconds for o in outs if o.ok)
    return {
        "wall_s": round(wall, 1),
        "task_s_sum": round(busy, 1),
        "yosys_s_sum": round(sum(r["yosys_s"] for r in res.values()), 1),
        "failed": failed,
        "results": {k: {x: y for x, y in v.items() if x != "yosys_s"} for k, v in res.items()},
        "workers": sorted(
            {o.worker.split(":")[0] + ":" + o.worker.split(":")[1] for o in outs if o.worker}
        ),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", default="1,2", help="worker counts of the LocalClusters")
    ap.add_argument("--scheduler", help="run once on this Dask cluster instead")
    ap.add_argument("--limit", type=int, help="only the first N configurations (a trial)")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--markdown", metavar="JSON", help="print the docs table of a result file")
    a = ap.parse_args(argv)
    if a.markdown:
        print(markdown(json.loads(Path(a.markdown).read_text())))
        return 0
    import calibrate
    import cloudpickle
    import distributed
    from fpgagen.synth import yosys_version
    from fpgagen.tasks import local_cluster

    cloudpickle.register_pickle_by_value(calibrate)  # workers need no benchmarks/ folder
    specs = configs()[: a.limit] if a.limit else configs()
    doc = {
        "configs": len(specs),
        "yosys": yosys_version(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_before": os.getloadavg(),
        },
        "dask": distributed.__version__,
        "runs": {},
    }
    if a.scheduler:
        with distributed.Client(a.scheduler) as c:
            doc["runs"]["scheduler"] = run_once(specs, c, "sched")
    else:
        for n in [int(x) for x in a.workers.split(",")]:
            c = local_cluster(n)
            try:
                c.run(yosys_version)  # each worker's one-time Yosys start-up, outside the timing
                doc["runs"][str(n)] = run_once(specs, c, f"w{n}")
            finally:
                c.close()
                c.cluster.close()
            doc["runs"][str(n)]["loadavg_after"] = os.getloadavg()
    results = [r["results"] for r in doc["runs"].values()]
    doc["identical_results"] = all(r == results[0] for r in results)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(doc, indent=1) + "\n")
    print(markdown(doc))
    return (
        0 if doc["identical_results"] and not any(r["failed"] for r in doc["runs"].values()) else 1
    )


def markdown(doc: dict) -> str:
    rows = [
        "| workers | wall time (s) | sum of task times (s) | sum of Yosys times (s) | speed-up | failed |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    runs = doc["runs"]
    base = runs.get("1", {}).get("wall_s")
    for k, r in runs.items():
        sp = f"{base / r['wall_s']:.2f}x" if base else "-"
        rows.append(
            f"| {k} | {r['wall_s']:.1f} | {r['task_s_sum']:.1f} | {r['yosys_s_sum']:.1f} | {sp} | "
            f"{len(r['failed'])} |"
        )
    rows.append("")
    rows.append(
        f"{doc['configs']} MVAU configurations, {doc['yosys']}, Dask {doc['dask']}, "
        f"{doc['machine']['cpus']} CPUs; results identical across runs: "
        f"{'yes' if doc['identical_results'] else 'NO'}."
    )
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
