"""Performance / resource report of a folded dataflow: ``report.json`` and ``report.html``.

``make_report(df, board, clock_mhz)`` gathers, per layer and in total: folding, cycles per
frame, a single-frame latency estimate, resources, MACs, BOPs and weight bits; utilisation of
the board; the bottleneck; fps, latency and TOp/s at the clock. ``write_report`` writes the JSON
and a self-contained HTML page (inline CSS and SVG, no scripts, every name escaped);
``format_table`` is the terminal version. See docs/report.md for the definitions.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np

from .cost.model import estimate

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
    cycles = max(x["cycles"] for x in layers)
    bn = next(x for x in layers if x["cycles"] == cycles)
    fps = clock * 1e6 / cycles
    macs = sum(x["macs"] for x in layers)
    bops = sum(x["bops"] for x in layers)
    ok, limiting = fits(tot, board, cap)
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
        "utilisation": _utilisation(tot, board),
        "fits_cap": ok,
        "limiting": limiting,
        "layers": layers,
    }


# -- number formatting ----------------------------------------------------------------------
def _si(x, digits: int = 3) -> str:
    """12345678 -> '12.3 M'."""
    if x is None:
        return "-"
    x = float(x)
    if x == 0:
        return "0"
    for div, suf in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.{digits}g} {suf}"
    return f"{x:.{digits}g}"


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
    u = report["utilisation"]
    rows.append(
        f"board {report['board']['name']}: LUT {_pct(u['lut'])}, FF {_pct(u['ff'])}, "
        f"BRAM {_pct(u['bram18'])}, URAM {_pct(u['uram'])}, DSP {_pct(u['dsp'])}; "
        f"bottleneck {report['bottleneck']['name']}; {report['fps']:,.0f} fps at "
        f"{report['clock_mhz']:g} MHz"
    )
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


# -- SVG helpers ----------------------------------------------------------------------------
_E = html.escape
_FONT = "font-family='system-ui,-apple-system,Segoe UI,Roboto,sans-serif'"
_BAR = "#4e79a7"
_HOT = "#e15759"
_PLUMB = "#9aa5b1"
_SVG_STYLE = "style='width:100%;max-width:{w}px;height:auto;display:block'"


def _short(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "\u2026"


def hbar_svg(title: str, rows: list, width: int = 560, label_w: int = 170, fmt=None) -> str:
    """Horizontal bar chart. ``rows``: ``(label, value, color, tooltip)``."""
    fmt = fmt or (lambda v: f"{v:,.0f}")
    bar_h, gap, top = 16, 4, 28
    h = top + len(rows) * (bar_h + gap) + 8
    vmax = max([v for _, v, _, _ in rows] + [0])
    if vmax <= 0:  # nothing to draw: one line instead of a column of zeros
        return (
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='48' "
            f"viewBox='0 0 {width} 48' {_SVG_STYLE.format(w=width)} role='img' {_FONT} "
            f"font-size='11'><text x='0' y='16' font-size='13' font-weight='600'>"
            f"{_E(title)}</text><text x='0' y='38' fill='#777'>none used by any layer"
            f"</text></svg>"
        )
    area = width - label_w - 70
    out = [
        (
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{h}' "
            f"viewBox='0 0 {width} {h}' {_SVG_STYLE.format(w=width)} role='img' {_FONT} "
            "font-size='11'>"
        ),
        f"<text x='0' y='16' font-size='13' font-weight='600'>{_E(title)}</text>",
    ]
    for i, (label, v, color, tip) in enumerate(rows):
        y = top + i * (bar_h + gap)
        w = 0 if v <= 0 else max(1.0, area * v / vmax)
        out.append(
            f"<g><title>{_E(tip)}</title>"
            f"<text x='{label_w - 6}' y='{y + 12}' text-anchor='end'>"
            f"{_E(_short(label, 26))}</text>"
            f"<rect x='{label_w}' y='{y}' width='{w:.1f}' height='{bar_h}' rx='2' "
            f"fill='{color}'/>"
            f"<text x='{label_w + w + 4:.1f}' y='{y + 12}' fill='#333'>{_E(fmt(v))}</text>"
            f"</g>"
        )
    out.append("</svg>")
    return "".join(out)


def _util_svg(report: dict, width: int = 560) -> str:
    cap = report["cap"]
    names = {"lut": "LUT", "ff": "FF", "bram18": "BRAM18", "uram": "URAM", "dsp": "DSP"}
    label_w, bar_h, gap, top = 70, 18, 8, 30
    area = width - label_w - 130
    h = top + len(RESOURCES) * (bar_h + gap) + 14
    out = [
        (
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{h}' "
            f"viewBox='0 0 {width} {h}' {_SVG_STYLE.format(w=width)} role='img' {_FONT} "
            "font-size='11'>"
        ),
        (
            f"<text x='0' y='16' font-size='13' font-weight='600'>Utilisation of "
            f"{_E(report['board']['name'])} (cap {100 * cap:g}%)</text>"
        ),
    ]
    for i, k in enumerate(RESOURCES):
        y = top + i * (bar_h + gap)
        u = report["utilisation"][k]
        used, avail = report["resources"][k], report["board"]["resources"][k]
        out.append(
            f"<text x='{label_w - 6}' y='{y + 13}' text-anchor='end'>{names[k]}</text>"
            f"<rect x='{label_w}' y='{y}' width='{area}' height='{bar_h}' rx='2' "
            f"fill='#eef1f4'/>"
        )
        if u is None:
            txt = f"{used:,} used, none on the board"
        else:
            w = min(1.0, u) * area
            color = "#59a14f" if u <= cap else ("#f28e2b" if u <= 1 else _HOT)
            out.append(
                f"<rect x='{label_w}' y='{y}' width='{w:.1f}' height='{bar_h}' rx='2' "
                f"fill='{color}'><title>{_E(f'{used:,} of {avail:,}')}</title></rect>"
            )
            txt = f"{100 * u:.1f}%  ({used:,} / {avail:,})" if avail else "n/a (none on board)"
        out.append(f"<text x='{label_w + area + 6}' y='{y + 13}' fill='#333'>{_E(txt)}</text>")
    xc = label_w + cap * area
    out.append(
        f"<line x1='{xc:.1f}' x2='{xc:.1f}' y1='{top - 4}' y2='{h - 10}' stroke='#333' "
        f"stroke-dasharray='4 3'/><text x='{xc:.1f}' y='{h - 1}' text-anchor='middle' "
        f"font-size='10'>cap {100 * cap:g}%</text></svg>"
    )
    return "".join(out)


def _timeline_svg(report: dict, rows: list, width: int = 1140) -> str:
    """One frame through the pipeline: per layer, first to last output word."""
    label_w, bar_h, gap, top = 170, 12, 4, 30
    end = max(1, report["latency"]["cycles"])
    area = width - label_w - 20
    h = top + len(rows) * (bar_h + gap) + 24
    out = [
        (
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{h}' "
            f"viewBox='0 0 {width} {h}' {_SVG_STYLE.format(w=width)} role='img' {_FONT} "
            "font-size='11'>"
        ),
        (
            "<text x='0' y='16' font-size='13' font-weight='600'>One frame through the "
            "pipeline (first to last output word of each layer, cycles)</text>"
        ),
    ]
    for i, l in enumerate(rows):
        y = top + i * (bar_h + gap)
        t = l["latency"]
        x0 = label_w + area * t["first_out"] / end
        x1 = label_w + area * max(t["last_out"] + 1, t["first_out"] + 1) / end
        color = _HOT if l["name"] == report["bottleneck"]["name"] else _BAR
        tip = (
            f"{l['name']}: first output at cycle {t['first_out']}, last at {t['last_out']}, "
            f"{t['fill']} cycles after its first input"
        )
        out.append(
            f"<g><title>{_E(tip)}</title><text x='{label_w - 6}' y='{y + 10}' "
            f"text-anchor='end'>{_E(_short(l['name'], 26))}</text>"
            f"<rect x='{x0:.1f}' y='{y}' width='{max(1.0, x1 - x0):.1f}' "
            f"height='{bar_h}' fill='{color}'/></g>"
        )
    ya = top + len(rows) * (bar_h + gap) + 2
    out.append(f"<line x1='{label_w}' x2='{label_w + area}' y1='{ya}' y2='{ya}' stroke='#888'/>")
    for k in range(6):
        x = label_w + area * k / 5
        out.append(
            f"<text x='{x:.1f}' y='{ya + 14}' text-anchor='middle' fill='#555'>"
            f"{_E(_si(end * k / 5))}</text>"
        )
    out.append("</svg>")
    return "".join(out)


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;
max-width:1180px;color:#222;background:#fafbfc;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 10px}
.sub{color:#666;margin-bottom:18px}
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:10px}
@media (max-width:800px){.cards{grid-template-columns:repeat(2,1fr)}}
.card{background:#fff;border:1px solid #e2e6ea;border-radius:8px;padding:10px 14px}
.card .k{font-size:12px;color:#666}.card .v{font-size:20px;font-weight:600;margin-top:2px;
overflow-wrap:anywhere}.card .n{font-size:11px;color:#888;margin-top:2px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:14px}
.panel{background:#fff;border:1px solid #e2e6ea;border-radius:8px;padding:12px;overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:12px;background:#fff}
th,td{padding:4px 8px;border-bottom:1px solid #eceff2;text-align:right;white-space:nowrap}
th{background:#f2f4f7;position:sticky;top:0}td.l,th.l{text-align:left}
td.w{white-space:normal;min-width:220px;text-align:left}
tr.hot td{background:#fdecec}tr.plumb td{color:#888}
.note{font-size:12px;color:#666;margin-top:8px}
"""


def _card(k: str, v: str, n: str = "") -> str:
    return (
        f"<div class='card'><div class='k'>{_E(k)}</div><div class='v'>{_E(v)}</div>"
        + (f"<div class='n'>{_E(n)}</div>" if n else "")
        + "</div>"
    )


def _chart_rows(report: dict) -> tuple[list, list]:
    """Compute layers (and a plumbing layer if it is the bottleneck); the plumbing layers."""
    bn = report["bottleneck"]["name"]
    main = [l for l in report["layers"] if not l.get("plumbing") or l["name"] == bn]
    plumb = [l for l in report["layers"] if l.get("plumbing") and l["name"] != bn]
    return main, plumb


def render_html(report: dict) -> str:
    """The self-contained HTML page of a report dict."""
    bn = report["bottleneck"]["name"]
    main, plumb = _chart_rows(report)
    lat = report["latency"]
    u = report["utilisation"]
    cards = "".join(
        [
            _card(
                "Throughput",
                f"{report['fps']:,.0f} fps",
                f"{report['cycles_per_frame']:,} cycles/frame at {report['clock_mhz']:g} MHz",
            ),
            _card("Latency", f"{lat['us']:.3g} \u00b5s", f"{lat['cycles']:,} cycles, one frame"),
            _card(
                "Compute", f"{report['tops']:.3g} TOp/s", f"{_si(report['ops_per_frame'])}Op/frame"
            ),
            _card(
                "BOPs / frame",
                f"{_si(report['bops_per_frame'])}",
                f"{_si(report['bops_per_second'])}BOP/s",
            ),
            _card(
                "Weights",
                f"{_si(report['weight_bits'])}bit",
                f"+ {_si(report['threshold_bits'])}bit thresholds",
            ),
            _card(
                "Bottleneck",
                report["bottleneck"]["name"],
                f"{report['bottleneck']['type']}, {report['cycles_per_frame']:,} cycles",
            ),
            _card(
                "Limiting resource",
                report["limiting"] or "-",
                ("within" if report["fits_cap"] else "ABOVE")
                + f" the {100 * report['cap']:g}% cap",
            ),
            _card(
                "LUT / BRAM18 / DSP",
                f"{_pct(u['lut'])} / {_pct(u['bram18'])} / {_pct(u['dsp'])}",
                f"of {report['board']['name']}",
            ),
        ]
    )

    def rows_for(key, res=True):
        rows = []
        for l in main:
            v = l["resources"][key] if res else l[key]
            hot = l["name"] == bn or (not res and v == report["cycles_per_frame"])
            color = _HOT if hot else _BAR
            rows.append((l["name"], v, color, f"{l['name']} ({l['type']}): {v:,}"))
        if res and plumb:
            v = sum(l["resources"][key] for l in plumb)
            nf = sum(l["type"] == "FIFO" for l in plumb)
            lab = f"FIFOs/DWCs ({len(plumb)})"
            rows.append((lab, v, _PLUMB, f"{nf} FIFOs and {len(plumb) - nf} DWCs: {v:,}"))
        return rows

    charts = "".join(
        f"<div class='panel'>{svg}</div>"
        for svg in [
            hbar_svg("Cycles per frame (slowest layers in red)", rows_for("cycles", res=False)),
            hbar_svg("LUT (bottleneck layer in red)", rows_for("lut")),
            hbar_svg("BRAM18", rows_for("bram18")),
            hbar_svg("DSP", rows_for("dsp")),
        ]
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
    trs = []
    for l in report["layers"]:
        r, t = l["resources"], l["latency"]
        cls = "hot" if l["name"] == bn else ("plumb" if l.get("plumbing") else "")
        typ = l["type"] + (f" ({l['note']})" if l.get("note") else "")
        cells = [
            f"<td class='l'>{_E(l['name'])}</td>",
            f"<td class='l'>{_E(typ)}</td>",
            f"<td class='l'>{_E(_fold_str(l['folding']))}</td>",
        ]
        cells += [
            f"<td>{v:,}</td>"
            for v in (
                l["cycles"],
                t["first_out"],
                t["last_out"],
                r["lut"],
                r["ff"],
                r["bram18"],
                r["uram"],
                r["dsp"],
                l["macs"],
                l["bops"],
                l["weight_bits"],
            )
        ]
        trs.append(f"<tr class='{cls}'>{''.join(cells)}</tr>")
    tr = report["resources"]
    trs.append(
        "<tr><th class='l'>total</th><th></th><th></th>"
        + "".join(
            f"<th>{v:,}</th>"
            for v in (
                report["cycles_per_frame"],
                lat["first_output_cycles"],
                lat["cycles"],
                tr["lut"],
                tr["ff"],
                tr["bram18"],
                tr["uram"],
                tr["dsp"],
                report["macs_per_frame"],
                report["bops_per_frame"],
                report["weight_bits"],
            )
        )
        + "</tr>"
    )
    table = (
        "<table><thead><tr>"
        + "".join(f"<th class='{'l' if i < 3 else ''}'>{_E(h)}</th>" for i, h in enumerate(head))
        + "</tr></thead><tbody>"
        + "".join(trs)
        + "</tbody></table>"
    )
    title = f"fpgagen report: {report['name']}"
    b = report["board"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_E(title)}</title><style>{_CSS}</style></head><body>
<h1>{_E(title)}</h1>
<div class="sub">{_E(b["name"])} ({_E(b["part"])}) at {report["clock_mhz"]:g} MHz, \
utilisation cap {100 * report["cap"]:g}%, {len(main)} compute stages + {len(plumb)} \
FIFOs/DWCs</div>
<div class="cards">{cards}</div>
<h2>Utilisation</h2><div class="panel">{_util_svg(report)}</div>
<h2>Per layer</h2><div class="grid">{charts}</div>
<h2>Latency</h2><div class="panel">{_timeline_svg(report, main)}</div>
<div class="note">{_E(lat["method"])}.</div>
<h2>Layers</h2><div class="panel">{table}</div>
<div class="note">BOPs = MACs &times; weight bits &times; activation bits (XNOR layers count
1 &times; 1); TOp/s counts 2 operations per MAC at the predicted fps. Resources are the
calibrated estimate of docs/cost_model.md.</div>
</body></html>
"""


def write_report(report: dict, outdir) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.html`` into ``outdir``; returns both paths."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    jp, hp = outdir / "report.json", outdir / "report.html"
    jp.write_text(json.dumps(report, indent=2) + "\n")
    hp.write_text(render_html(report), encoding="utf-8")
    return jp, hp
