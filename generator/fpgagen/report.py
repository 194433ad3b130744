"""Performance / resource report of a folded dataflow: ``report.json`` and ``report.html``.

``make_report(df, board, clock_mhz)`` gathers, per layer and in total: folding, cycles per
frame, a single-frame latency estimate, resources, MACs, BOPs and weight bits; utilisation of
the board; the bottleneck; fps, latency and TOp/s at the clock. ``write_report`` writes the JSON
and a self-contained HTML page (templates/report.html.j2 with the charts of
:mod:`fpgagen.charts`: inline CSS and SVG, no scripts, every name escaped);
``format_table`` is the terminal version. See docs/report.md for the definitions.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np

from .charts import BAR, HOT, PLUMB, gauge_chart, hbar_chart, render_page, si, span_chart
from .cost.model import estimate, lut_band, top_glue, total_lut_band

__all__ = [
    "REPORT_VERSION",
    "format_table",
    "latency_profile",
    "layer_work",
    "make_report",
    "write_report",
]

REPORT_VERSION = 1
RESOURCES = ("lut", "ff", "bram18", "uram", "dsp")

LATENCY_METHOD = (
    "single frame through an empty pipeline: the input is fed one word per cycle; output word "
    "j of a layer appears one cycle after the last input word it needs (fold.fifo.need) has "
    "arrived, and no earlier than the layer's previous output word plus its output interval "
    "(cycles per frame / output words, or 1 for input-bound layers); latency = cycle of the "
    "last output word of the last layer + 1"
)


# -- per-layer work -------------------------------------------------------------------------
def layer_work(layer) -> dict:
    """MACs, BOPs, weight and threshold bits of one frame through ``layer`` (its
    :meth:`~fpgagen.layers.base.HWLayer.work`).

    MVAU: ``num_vectors x MH x MW`` MACs; VVAU: ``num_vectors x channels x window``. BOPs =
    MACs x weight bits x activation bits (BIPOLAR is 1 bit, so XNOR-popcount counts 1 x 1).
    Other layers do no multiply-accumulate (their thresholds still count as memory bits).
    """
    return layer.work()


# -- latency --------------------------------------------------------------------------------
def _need(layer) -> np.ndarray:
    try:
        return np.asarray(layer.need(), dtype=np.int64)
    except ValueError:  # a layer that states no need: assume it needs its whole input
        return np.full(layer.out_words_per_frame, layer.in_words_per_frame, dtype=np.int64)


def latency_profile(df) -> dict:
    """Word-level timing of one frame through an empty pipeline (see ``LATENCY_METHOD``).

    Returns ``{"layers": {name: {"first_in", "first_out", "last_out", "fill"}},
    "first_output_cycles", "latency_cycles"}`` (cycles from the first input word).
    For each layer, with ``a[j] = 1 + max over inputs of t_in[need[j] - 1]`` and output
    interval ``ii``: ``t[j] = max(a[j], t[j-1] + ii)``, i.e. ``t = j*ii + cummax(a - j*ii)``.
    """
    first = df.layers[0]
    times = {df.INPUT: np.arange(first.in_words_per_frame, dtype=np.float64)}
    per = {}
    for l in df.layers:
        n_out = int(l.out_words_per_frame)
        nd = _need(l)
        if len(nd) != n_out:  # defensive: stretch to the output length
            nd = np.resize(nd, n_out) if len(nd) else np.ones(n_out, np.int64)
        a = np.zeros(n_out)
        first_in = 0.0
        in_words = 1
        for s in l.ins:
            t_in = times.get(s)
            if t_in is None or not len(t_in):
                continue
            idx = np.clip(nd - 1, 0, len(t_in) - 1)
            a = np.maximum(a, t_in[idx] + 1)
            first_in = max(first_in, float(t_in[0]))
            in_words = max(in_words, len(t_in))
        cyc = float(l.expected_cycles())
        ii = 1.0 if cyc <= in_words else max(1.0, cyc / max(1, n_out))
        j = np.arange(n_out) * ii
        t = j + np.maximum.accumulate(a - j)
        for s in l.outs:
            times[s] = t
        per[l.name] = {
            "first_in": round(first_in),
            "first_out": math.ceil(t[0]),
            "last_out": math.ceil(t[-1]),
            "fill": math.ceil(t[0] - first_in),
        }
    out = times[df.output_stream]
    return {
        "layers": per,
        "first_output_cycles": math.ceil(out[0]) + 1,
        "latency_cycles": math.ceil(out[-1]) + 1,
    }


# -- the report -----------------------------------------------------------------------------
def _utilisation(tot: dict, board) -> dict:
    r = board.resources
    avail = {"lut": r.lut, "ff": r.ff, "bram18": r.bram18, "uram": r.uram, "dsp": r.dsp}
    return {
        k: (tot.get(k, 0) / avail[k] if avail[k] else (0.0 if not tot.get(k, 0) else None))
        for k in RESOURCES
    }


def make_report(df, board, clock_mhz: float | None = None, cap: float | None = None) -> dict:
    """The content of ``report.json`` for a folded (and normally plumbed) dataflow.

    ``board``: a :class:`fpgagen.boards.Board` or a board name; ``clock_mhz`` defaults to the
    dataflow's clock (``df.meta``) or the board's default; ``cap`` (the utilisation cap drawn
    on the utilisation bars) to the optimiser's ``max_util`` or 0.7.
    """
    from .boards import load_board
    from .fold.optimize import DEFAULT_CAP, fits

    if isinstance(board, str):
        board = load_board(board)
    clock = float(clock_mhz or df.meta.get("clock_mhz") or board.default_mhz)
    if cap is None:
        cap = float((df.meta.get("optimizer") or {}).get("max_util", DEFAULT_CAP))
    lat = latency_profile(df)
    layers = []
    for l in df.layers:
        w = layer_work(l)
        r = estimate(l)
        d = {
            "name": l.name,
            "type": l.op_type,
            "folding": l.folding(),
            "cycles": int(l.expected_cycles()),
            "latency": lat["layers"][l.name],
            "resources": {k: int(r.get(k, 0)) for k in RESOURCES},
            "lut_band": lut_band(l, r["lut"]),
            "in_dtype": str(l.in_dtype),
            "out_dtype": str(l.out_dtype),
            "plumbing": bool(l.plumbing),
        }
        if hasattr(l, "w_dtype"):
            d["w_dtype"] = str(l.w_dtype)
        if getattr(l, "note", ""):  # e.g. a grouped MVAU's groups and multipliers
            d["note"] = l.note
        d.update(w)
        layers.append(d)
    tot = {k: sum(x["resources"][k] for x in layers) for k in RESOURCES}
    band = total_lut_band(df.layers, [x["resources"]["lut"] for x in layers])
    glue = top_glue(df.layers)
    cycles = max(x["cycles"] for x in layers)
    bn = next(x for x in layers if x["cycles"] == cycles)
    fps = clock * 1e6 / cycles
    macs = sum(x["macs"] for x in layers)
    bops = sum(x["bops"] for x in layers)
    ok, limiting = fits(tot | {"lut_band": band, "lut_glue": glue}, board, cap)
    from .cost.io import roofline

    rf = roofline(df, board, clock)
    br = board.resources
    return {
        "fpgagen_report": REPORT_VERSION,
        "name": df.name,
        "source": getattr(df, "source", ""),
        "board": {
            "name": board.name,
            "part": board.part,
            "resources": {
                "lut": br.lut,
                "ff": br.ff,
                "bram18": br.bram18,
                "uram": br.uram,
                "dsp": br.dsp,
            },
        },
        "clock_mhz": clock,
        "cap": cap,
        "cycles_per_frame": cycles,
        "fps": fps,
        "bottleneck": {"name": bn["name"], "type": bn["type"], "cycles": cycles},
        "latency": {
            "cycles": lat["latency_cycles"],
            "us": lat["latency_cycles"] / clock,
            "first_output_cycles": lat["first_output_cycles"],
            "method": LATENCY_METHOD,
        },
        "macs_per_frame": macs,
        "ops_per_frame": 2 * macs,
        "bops_per_frame": bops,
        "tops": 2 * macs * fps / 1e12,
        "bops_per_second": bops * fps,
        "weight_bits": sum(x["weight_bits"] for x in layers),
        "threshold_bits": sum(x["threshold_bits"] for x in layers),
        "resources": tot,
        "lut_glue": glue,
        "lut_band": band,
        "utilisation": _utilisation(tot, board),
        "fits_cap": ok,
        "limiting": limiting,
        # what stopped the optimiser's next faster step (fastest-within-budget builds only)
        "binding": (df.meta.get("optimizer") or {}).get("binding"),
        "compute_fps": fps,
        "predicted_fps": rf["predicted_fps"],
        "binds": rf["binds"],
        "io": rf,
        "layers": layers,
    }


# -- number formatting ----------------------------------------------------------------------
_si = si


def _pct(u) -> str:
    return "n/a" if u is None else f"{100 * u:.1f}%"


def _fold_str(f: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in f.items())


# -- terminal table -------------------------------------------------------------------------
def format_table(report: dict) -> str:
    """The ``fpgagen estimate`` table plus latency (first output word) and BOPs per layer."""
    rows = [
        (
            f"{'layer':28s} {'type':13s} {'folding':18s} {'cycles':>9s} {'1st out':>8s} "
            f"{'LUT':>8s} {'FF':>8s} {'BRAM18':>7s} {'DSP':>5s} {'BOPs':>10s}"
        )
    ]
    for l in report["layers"]:
        r = l["resources"]
        typ = l["type"] + ("*" if l.get("note") else "")
        rows.append(
            f"{l['name'][:28]:28s} {typ[:13]:13s} {_fold_str(l['folding'])[:18]:18s} "
            f"{l['cycles']:9d} {l['latency']['first_out']:8d} {r['lut']:8d} "
            f"{r['ff']:8d} {r['bram18']:7d} {r['dsp']:5d} {l['bops']:10d}"
        )
    r = report["resources"]
    rows.append(
        f"{'total':28s} {'':13s} {'':18s} {report['cycles_per_frame']:9d} "
        f"{report['latency']['cycles']:8d} {r['lut']:8d} {r['ff']:8d} {r['bram18']:7d} "
        f"{r['dsp']:5d} {report['bops_per_frame']:10d}"
    )
    if "lut_band" in report:
        rows.append(
            f"LUT {r['lut']:,} + {report.get('lut_glue', 0):,} stitching +- "
            f"{report['lut_band']:,} (95% band of the cost model against Yosys, kept by the "
            "optimiser as a margin; Vivado has the last word)"
        )
    u = report["utilisation"]
    rows.append(
        f"board {report['board']['name']}: LUT {_pct(u['lut'])}, FF {_pct(u['ff'])}, "
        f"BRAM {_pct(u['bram18'])}, URAM {_pct(u['uram'])}, DSP {_pct(u['dsp'])}; "
        f"bottleneck {report['bottleneck']['name']}; {report['fps']:,.0f} fps at "
        f"{report['clock_mhz']:g} MHz"
    )
    rows.append(roofline_line(report))
    for l in report["layers"]:
        if l.get("note"):
            rows.append(f"* {l['name']}: {l['note']}")
    lat = report["latency"]
    rows.append(
        f"latency {lat['cycles']} cycles = {lat['us']:.3g} us (first output after "
        f"{lat['first_output_cycles']} cycles); {_si(report['bops_per_frame'])}BOP/frame, "
        f"{_si(report['ops_per_frame'])}Op/frame, {report['tops']:.3g} TOp/s; "
        f"weights {_si(report['weight_bits'])}bit"
    )
    return "\n".join(rows)


# -- HTML ---------------------------------------------------------------------------------
def roofline_line(report: dict) -> str:
    """One line: compute bound, I/O bound, predicted fps and what binds."""
    io = report["io"]
    if io["io_fps"] is None:
        iob = f"no I/O bound ({io['reason']})"
    else:
        iob = f"I/O bound {io['io_fps']:,.0f} fps ({io['binding']})"
        if io["memory_binding"] != io["binding"]:
            iob += f", memory path {io['memory_fps']:,.0f} fps ({io['memory_binding']})"
    return (
        f"roofline: compute bound {report['compute_fps']:,.0f} fps, {iob}; predicted "
        f"{report['predicted_fps']:,.0f} fps, bound by {report['binds']}"
    )


def _roofline_view(report: dict) -> dict:
    """The roofline section: every bound as a log-scale bar (the binding one in red), a
    table of what each bound is, the bytes per frame and the sources of the figures."""
    io = report["io"]
    bounds = [
        {
            "name": "compute",
            "fps": report["compute_fps"],
            "why": f"{report['cycles_per_frame']:,} cycles/frame at {report['clock_mhz']:g} "
            f"MHz (bottleneck {report['bottleneck']['name']})",
        }
    ] + list(io["bounds"])
    chart = hbar_chart(
        "Bounds, frames per second (log scale; the binding one in red)",
        [
            (
                b["name"],
                math.log10(max(b["fps"], 1.0)),
                HOT if b["name"] == report["binds"] else BAR,
                f"{b['name']}: {b['fps']:,.0f} fps",
            )
            for b in bounds
        ],
        fmt=lambda v: f"{si(10**v)} fps",
    )
    return {
        "chart": chart,
        "rows": [
            {
                "cls": "hot" if b["name"] == report["binds"] else "",
                "name": b["name"],
                "fps": f"{b['fps']:,.0f}",
                "why": b["why"],
            }
            for b in bounds
        ],
        "mode": io["mode"],
        "in_bytes": f"{io['in_bytes_per_frame']:.4g}",
        "out_bytes": f"{io['out_bytes_per_frame']:.4g}",
        "batch": io["batch_frames"],
        "predicted": f"{report['predicted_fps']:,.0f}",
        "binds": report["binds"],
        "reason": "" if io["io_fps"] is not None else io["reason"],
        "sources": sorted((io.get("sources") or {}).items()),
    }


def _chart_rows(report: dict) -> tuple[list, list]:
    """Compute layers (and a plumbing layer if it is the bottleneck); the plumbing layers."""
    bn = report["bottleneck"]["name"]
    main = [l for l in report["layers"] if not l.get("plumbing") or l["name"] == bn]
    plumb = [l for l in report["layers"] if l.get("plumbing") and l["name"] != bn]
    return main, plumb


_NAMES = {"lut": "LUT", "ff": "FF", "bram18": "BRAM18", "uram": "URAM", "dsp": "DSP"}


def render_html(report: dict) -> str:
    """The self-contained HTML page of a report dict (templates/report.html.j2)."""
    bn = report["bottleneck"]["name"]
    main, plumb = _chart_rows(report)
    lat = report["latency"]
    u = report["utilisation"]
    io = report["io"]
    cards = [
        (
            "Throughput",
            f"{report['predicted_fps']:,.0f} fps",
            f"predicted, bound by {report['binds']}",
        ),
        (
            "Compute bound",
            f"{report['compute_fps']:,.0f} fps",
            f"{report['cycles_per_frame']:,} cycles/frame at {report['clock_mhz']:g} MHz",
        ),
        (
            "I/O bound",
            "none" if io["io_fps"] is None else f"{io['io_fps']:,.0f} fps",
            io["binding"] or io["mode"],
        ),
        ("Latency", f"{lat['us']:.3g} \u00b5s", f"{lat['cycles']:,} cycles, one frame"),
        ("Compute", f"{report['tops']:.3g} TOp/s", f"{si(report['ops_per_frame'])}Op/frame"),
        (
            "BOPs / frame",
            f"{si(report['bops_per_frame'])}",
            f"{si(report['bops_per_second'])}BOP/s",
        ),
        (
            "Weights",
            f"{si(report['weight_bits'])}bit",
            f"+ {si(report['threshold_bits'])}bit thresholds",
        ),
        (
            "Bottleneck",
            report["bottleneck"]["name"],
            f"{report['bottleneck']['type']}, {report['cycles_per_frame']:,} cycles",
        ),
        (
            "Most used resource",
            report["limiting"] or "-",
            ("within" if report["fits_cap"] else "ABOVE") + f" the {100 * report['cap']:g}% cap",
        ),
        *(
            [("What binds", report["binding"]["limiting"], report["binding"]["detail"])]
            if report.get("binding")
            else []
        ),
        (
            "LUT / BRAM18 / DSP",
            f"{_pct(u['lut'])} / {_pct(u['bram18'])} / {_pct(u['dsp'])}",
            f"of {report['board']['name']}",
        ),
    ]

    def rows_for(key, res=True):
        rows = []
        for l in main:
            v = l["resources"][key] if res else l[key]
            hot = l["name"] == bn or (not res and v == report["cycles_per_frame"])
            rows.append((l["name"], v, HOT if hot else BAR, f"{l['name']} ({l['type']}): {v:,}"))
        if res and plumb:
            v = sum(l["resources"][key] for l in plumb)
            kinds = Counter(l["type"] for l in plumb)
            what = ", ".join(f"{n} {t}" for t, n in sorted(kinds.items()))
            rows.append((f"FIFOs/DWCs ({len(plumb)})", v, PLUMB, f"{what}: {v:,}"))
        return rows

    per_layer = [
        hbar_chart("Cycles per frame (slowest layers in red)", rows_for("cycles", res=False)),
        hbar_chart("LUT (bottleneck layer in red)", rows_for("lut")),
        hbar_chart("BRAM18", rows_for("bram18")),
        hbar_chart("DSP", rows_for("dsp")),
    ]
    util = gauge_chart(
        f"Utilisation of {report['board']['name']} (cap {100 * report['cap']:g}%)",
        [
            (
                _NAMES[k],
                u[k],
                report["resources"][k],
                report["board"]["resources"][k],
            )
            for k in RESOURCES
        ],
        report["cap"],
    )
    timeline = span_chart(
        "One frame through the pipeline (first to last output word of each layer, cycles)",
        [
            (
                l["name"],
                l["latency"]["first_out"],
                max(l["latency"]["last_out"] + 1, l["latency"]["first_out"] + 1),
                HOT if l["name"] == bn else BAR,
                f"{l['name']}: first output at cycle {l['latency']['first_out']}, last at "
                f"{l['latency']['last_out']}, {l['latency']['fill']} cycles after its first "
                "input",
            )
            for l in main
        ],
        report["latency"]["cycles"],
    )
    head = [
        "layer",
        "type",
        "folding",
        "cycles",
        "1st out",
        "last out",
        "LUT",
        "FF",
        "BRAM18",
        "URAM",
        "DSP",
        "MACs",
        "BOPs",
        "weight bits",
    ]
    rows = []
    for l in report["layers"]:
        r, t = l["resources"], l["latency"]
        rows.append(
            {
                "cls": "hot" if l["name"] == bn else ("plumb" if l.get("plumbing") else ""),
                "name": l["name"],
                "type": l["type"] + (f" ({l['note']})" if l.get("note") else ""),
                "folding": _fold_str(l["folding"]),
                "nums": [
                    l["cycles"],
                    t["first_out"],
                    t["last_out"],
                    *(r[k] for k in ("lut", "ff", "bram18", "uram", "dsp")),
                    l["macs"],
                    l["bops"],
                    l["weight_bits"],
                ],
            }
        )
    tr = report["resources"]
    totals = [
        report["cycles_per_frame"],
        lat["first_output_cycles"],
        lat["cycles"],
        *(tr[k] for k in ("lut", "ff", "bram18", "uram", "dsp")),
        report["macs_per_frame"],
        report["bops_per_frame"],
        report["weight_bits"],
    ]
    return render_page(
        "report.html.j2",
        title=f"fpgagen report: {report['name']}",
        r=report,
        n_main=len(main),
        n_plumb=len(plumb),
        cards=cards,
        util=util,
        per_layer=per_layer,
        timeline=timeline,
        roofline=_roofline_view(report),
        head=head,
        rows=rows,
        totals=totals,
    )


def write_report(report: dict, outdir) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.html`` into ``outdir``; returns both paths."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    jp, hp = outdir / "report.json", outdir / "report.html"
    jp.write_text(json.dumps(report, indent=2) + "\n")
    hp.write_text(render_html(report), encoding="utf-8")
    return jp, hp
