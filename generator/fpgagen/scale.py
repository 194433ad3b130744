"""Scalability study: the best design of one model on every board (performance vs device size).

For each board the model is lowered and folded by the optimiser for the highest throughput
within the utilisation cap (``optimize(df, board, None, cap, plumbing=plumbed_totals)``) at
the board's default clock, then plumbed and summarised with :func:`fpgagen.report.make_report`
(fps, TOp/s, latency, utilisation, limiting resource). This is the FINN-R / ICCD'17 study of
one network across devices of growing size. See docs/report.md.
"""

from __future__ import annotations

import copy
import html
import json
import math
from pathlib import Path

from .report import _FONT, _SVG_STYLE, RESOURCES, _si

__all__ = ["format_scale_table", "render_scale_html", "scale", "write_scale"]


def _folding_summary(df) -> tuple[dict, int, str]:
    """Folding of the compute layers, MAC lanes per cycle, and a one-line summary."""
    fold, lanes, parts = {}, 0, []
    for l in df.layers:
        f = l.folding()
        if not f or l.plumbing:
            continue
        fold[l.name] = f
        n, text = l.mac_lanes()
        if n:
            lanes += n
            parts.append(f"{l.name} {text}")
    summary = f"{lanes} MACs/cycle"
    if parts:
        shown = ", ".join(parts[:4]) + (f", +{len(parts) - 4} more" if len(parts) > 4 else "")
        summary += f" (PExSIMD: {shown})"
    return fold, lanes, summary


def _board_row(base_df, board, cap: float, clock_mhz) -> dict:
    from .errors import FpgagenError
    from .flow import add_plumbing, plumbed_totals
    from .fold.optimize import optimize
    from .report import make_report

    r = board.resources
    row = {
        "board": board.name,
        "part": board.part,
        "board_resources": {
            "lut": r.lut,
            "ff": r.ff,
            "bram18": r.bram18,
            "uram": r.uram,
            "dsp": r.dsp,
        },
        "cap": cap,
        "fits": False,
        "error": None,
        "cycles": None,
        "fps": None,
        "tops": None,
        "latency_cycles": None,
        "latency_us": None,
        "utilisation": None,
        "resources": None,
        "limiting": None,
        "macs_per_cycle": None,
        "folding": None,
        "folding_summary": None,
        "bottleneck": None,
    }
    clock = float(clock_mhz) if clock_mhz else board.default_mhz
    row["clock_mhz"] = clock
    if not 0 < clock <= board.max_mhz:
        row["error"] = f"clock {clock:g} MHz is above the board's maximum {board.max_mhz:g} MHz"
        return row
    df = copy.deepcopy(base_df)
    try:
        res = optimize(df, board, None, cap=cap, plumbing=plumbed_totals)
    except FpgagenError as e:
        row["error"] = " ".join(str(e).split())
        return row
    df.meta["clock_mhz"] = clock
    df.meta["optimizer"] = {"max_util": cap, "limiting": res["limiting"], "target_fps": None}
    row["fits"] = bool(res["fits"])
    row["limiting"] = res["limiting"]
    add_plumbing(df)
    rep = make_report(df, board, clock, cap=cap)
    row["utilisation"] = rep["utilisation"]
    row["resources"] = rep["resources"]
    if not row["fits"]:  # the most folded design: its size, but no performance figures
        row["error"] = (
            f"does not fit: even the most folded design needs {res['limiting']} "
            f"(cap {100 * cap:g}%)"
        )
        row["min_design_cycles"] = rep["cycles_per_frame"]
        return row
    fold, lanes, summary = _folding_summary(df)
    row.update(
        {
            "cycles": rep["cycles_per_frame"],
            "fps": rep["fps"],
            "tops": rep["tops"],
            "bops_per_second": rep["bops_per_second"],
            "latency_cycles": rep["latency"]["cycles"],
            "latency_us": rep["latency"]["us"],
            "macs_per_cycle": lanes,
            "folding": fold,
            "folding_summary": summary,
            "bottleneck": rep["bottleneck"]["name"],
        }
    )
    return row


def scale(model_path, boards=None, cap: float = 0.7, clock_mhz=None) -> list[dict]:
    """Best design of ``model_path`` on every bundled board (or the ``boards`` names/paths).

    Rows are ordered by board LUT count (smallest first) unless ``boards`` is given. A board
    on which even the most folded design exceeds the cap has ``fits=False``, its ``error``
    saying so, its ``utilisation``/``limiting`` those of the most folded design and ``None``
    for cycles, fps, TOp/s and latency. ``clock_mhz`` (default: each board's default clock)
    applies to every board; a board whose maximum is lower gets an ``error`` row.
    """
    from .boards import list_boards, load_board
    from .errors import FpgagenError
    from .frontend import load_model
    from .transforms.lower import lower

    if not 0 < cap <= 1:
        raise FpgagenError(f"utilisation cap {cap} must be in (0, 1]")
    names = list(boards) if boards else list_boards()
    bl = [load_board(n) for n in names]
    if not boards:
        bl.sort(key=lambda b: (b.resources.lut, b.name))
    base = lower(load_model(model_path))
    rows = []
    for b in bl:
        row = _board_row(base, b, cap, clock_mhz)
        row["model"] = base.name
        rows.append(row)
    return rows


# -- terminal ------------------------------------------------------------------------------
def _pct(u) -> str:
    return "n/a" if u is None else f"{100 * u:.1f}%"


def format_scale_table(results: list[dict]) -> str:
    """One line per board: size, clock, cycles, fps, TOp/s, latency, utilisation, limit."""
    hdr = (
        f"{'board':12s} {'LUT':>8s} {'MHz':>5s} {'cycles':>9s} {'fps':>13s} {'TOp/s':>8s} "
        f"{'latency':>10s} {'LUT%':>6s} {'BRAM%':>6s} {'URAM%':>6s} {'DSP%':>6s}  limiting"
    )
    rows = [hdr]
    for r in results:
        u = r["utilisation"] or {}
        util = " ".join(
            f"{_pct(u.get(k)) if u else '-':>6s}" for k in ("lut", "bram18", "uram", "dsp")
        )
        head = f"{r['board'][:12]:12s} {r['board_resources']['lut']:8d} {r['clock_mhz']:5g} "
        if r["fits"]:
            rows.append(
                head + f"{r['cycles']:9d} {r['fps']:13,.0f} {r['tops']:8.3g} "
                f"{r['latency_us']:8.3g}us {util}  {r['limiting']}"
            )
        else:
            why = "does not fit" if r["utilisation"] else "error"
            rows.append(
                head + f"{'-':>9s} {why:>13s} {'-':>8s} {'-':>10s} {util}  "
                f"{r['limiting'] or ''}"
                + (f"  ({r['error']})" if r["error"] and not r["utilisation"] else "")
            )
    cap = results[0]["cap"] if results else 0.7
    rows.append(
        f"cap {100 * cap:g}% of LUT/FF/BRAM/URAM/DSP; best folding per board by the "
        "optimiser at the board's clock"
    )
    return "\n".join(rows)


# -- HTML ----------------------------------------------------------------------------------
_E = html.escape


def _vbar_svg(title: str, results: list, key: str, log: bool, fmt, width: int = 560) -> str:
    left, top, bottom, h_area = 60, 34, 46, 220
    n = max(1, len(results))
    slot = (width - left - 10) / n
    h = top + h_area + bottom
    vals = [r[key] for r in results if r["fits"] and r[key]]
    out = [
        (
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{h}' "
            f"viewBox='0 0 {width} {h}' {_SVG_STYLE.format(w=width)} role='img' {_FONT} "
            "font-size='11'>"
        ),
        f"<text x='0' y='16' font-size='13' font-weight='600'>{_E(title)}</text>",
    ]
    if log and vals:
        lo = math.floor(math.log10(min(vals)))
        hi = max(lo + 1, math.ceil(math.log10(max(vals))))
        ticks = [(10.0**e, f"{_si(10.0**e)}") for e in range(lo, hi + 1)]

        def ypos(v):
            return top + h_area * (1 - (math.log10(v) - lo) / (hi - lo))
    else:
        vmax = max(vals) if vals else 1.0
        step = 10 ** math.floor(math.log10(vmax)) if vmax > 0 else 1
        top_v = math.ceil(vmax / step) * step
        if top_v / step <= 3:
            step /= 2
        ticks = [(k * step, f"{_si(k * step)}") for k in range(round(top_v / step) + 1)]
        vmax = top_v

        def ypos(v):
            return top + h_area * (1 - v / vmax)

    for v, lab in ticks:
        y = ypos(v)
        out.append(
            f"<line x1='{left}' x2='{width - 10}' y1='{y:.1f}' y2='{y:.1f}' "
            f"stroke='#e3e6ea'/><text x='{left - 6}' y='{y + 4:.1f}' text-anchor='end' "
            f"fill='#555'>{_E(lab)}</text>"
        )
    base_y = top + h_area
    for i, r in enumerate(results):
        x = left + i * slot
        cx = x + slot / 2
        bw = min(60.0, slot * 0.6)
        v = r[key] if r["fits"] else None
        if v:
            y = ypos(v)
            out.append(
                f"<g><title>{_E(r['board'])}: {_E(fmt(v))}</title>"
                f"<rect x='{cx - bw / 2:.1f}' y='{y:.1f}' width='{bw:.1f}' "
                f"height='{max(1.0, base_y - y):.1f}' rx='2' fill='#4e79a7'/>"
                f"<text x='{cx:.1f}' y='{y - 4:.1f}' text-anchor='middle' fill='#222'>"
                f"{_E(fmt(v))}</text></g>"
            )
        else:
            out.append(
                f"<text x='{cx:.1f}' y='{base_y - 8}' text-anchor='middle' "
                f"fill='#e15759'>does not fit</text>"
            )
        out.append(
            f"<text x='{cx:.1f}' y='{base_y + 16}' text-anchor='middle'>"
            f"{_E(r['board'])}</text><text x='{cx:.1f}' y='{base_y + 30}' "
            f"text-anchor='middle' fill='#777' font-size='10'>"
            f"{_E(_si(r['board_resources']['lut']))} LUT</text>"
        )
    out.append(
        f"<line x1='{left}' x2='{width - 10}' y1='{base_y}' y2='{base_y}' stroke='#888'/></svg>"
    )
    return "".join(out)


def render_scale_html(results: list[dict]) -> str:
    from .report import _CSS

    model = results[0].get("model", "") if results else ""
    cap = results[0]["cap"] if results else 0.7
    title = f"fpgagen scalability: {model}"
    head = [
        "board",
        "LUT",
        "BRAM18",
        "URAM",
        "DSP",
        "MHz",
        "cycles/frame",
        "fps",
        "TOp/s",
        "latency (\u00b5s)",
        "LUT %",
        "BRAM %",
        "URAM %",
        "DSP %",
        "limiting",
    ]
    trs = []
    for r in results:
        br, u = r["board_resources"], r["utilisation"] or {}
        cells = [f"<td class='l' title='{_E(r['part'])}'>{_E(r['board'])}</td>"]
        cells += [f"<td>{br[k]:,}</td>" for k in ("lut", "bram18", "uram", "dsp")]
        cells.append(f"<td>{r['clock_mhz']:g}</td>")
        if r["fits"]:
            cells += [
                f"<td>{r['cycles']:,}</td>",
                f"<td>{r['fps']:,.0f}</td>",
                f"<td>{r['tops']:.3g}</td>",
                f"<td>{r['latency_us']:.3g}</td>",
            ]
        else:
            cells.append(
                f"<td colspan='4' class='w' style='color:#c0392b'>"
                f"{_E(r['error'] or 'does not fit')}</td>"
            )
        cells += [
            f"<td>{_E(_pct(u.get(k)) if u else '-')}</td>" for k in ("lut", "bram18", "uram", "dsp")
        ]
        cells.append(f"<td class='l'>{_E(r['limiting'] or '-')}</td>")
        trs.append(f"<tr class='{'' if r['fits'] else 'hot'}'>{''.join(cells)}</tr>")
    table = (
        "<table><thead><tr>"
        + "".join(
            f"<th class='{'l' if h in ('board', 'limiting') else ''}'>{_E(h)}</th>" for h in head
        )
        + "</tr></thead><tbody>"
        + "".join(trs)
        + "</tbody></table>"
    )
    folds = "".join(
        f"<tr><td class='l'>{_E(r['board'])}</td><td class='l'>{_E(r['part'])}</td>"
        f"<td class='w'>{_E(r['folding_summary'] or r['error'] or '-')}</td></tr>"
        for r in results
    )
    folds = (
        "<table><thead><tr><th class='l'>board</th><th class='l'>part</th>"
        "<th class='l'>best folding</th></tr></thead><tbody>" + folds + "</tbody></table>"
    )
    fps_svg = _vbar_svg("Frames per second (log scale)", results, "fps", True, lambda v: _si(v))
    tops_svg = _vbar_svg("TOp/s (2 ops per MAC)", results, "tops", False, lambda v: f"{v:.3g}")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_E(title)}</title><style>{_CSS}</style></head><body>
<h1>{_E(title)}</h1>
<div class="sub">Highest-throughput folding within {100 * cap:g}% of every resource, per \
board, at the board's clock (fpgagen.fold.optimize).</div>
<div class="grid"><div class="panel">{fps_svg}</div><div class="panel">{tops_svg}</div></div>
<h2>Boards</h2><div class="panel">{table}</div>
<h2>Folding</h2><div class="panel">{folds}</div>
</body></html>
"""


def write_scale(results: list[dict], outdir) -> tuple[Path, Path]:
    """Write ``scale.json`` and ``scale.html`` into ``outdir``; returns both paths."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    jp, hp = outdir / "scale.json", outdir / "scale.html"
    doc = {
        "fpgagen_scale": 1,
        "model": results[0].get("model") if results else None,
        "cap": results[0]["cap"] if results else None,
        "resources": list(RESOURCES),
        "boards": results,
    }
    jp.write_text(json.dumps(doc, indent=2) + "\n")
    hp.write_text(render_scale_html(results), encoding="utf-8")
    return jp, hp
