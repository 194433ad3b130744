"""Charts and pages of the HTML reports (report.html, scale.html).

The geometry of a chart is computed here as plain data — an SVG canvas of rectangles, texts and
lines (:func:`hbar_chart`, :func:`vbar_chart`, :func:`gauge_chart`, :func:`span_chart`) — and
rendered by the one Jinja2 macro ``chart`` of ``templates/charts.html.j2``, so that every chart
of every page is drawn the same way. :func:`render_page` renders a page template of
``templates/`` (autoescaped HTML: every name from a model or a board file is escaped;
undefined variables are errors). Pages are self-contained: inline CSS and SVG, no scripts.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import jinja2

__all__ = [
    "BAR",
    "HOT",
    "PLUMB",
    "gauge_chart",
    "grouped_log_chart",
    "hbar_chart",
    "render_page",
    "si",
    "span_chart",
    "vbar_chart",
]

BAR = "#4e79a7"
HOT = "#e15759"
PLUMB = "#9aa5b1"
_TEMPLATES = Path(__file__).resolve().parent / "templates"


def si(x, digits: int = 3) -> str:
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


def _short(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "\u2026"


def _canvas(title: str, width: int, height: int) -> dict:
    return {"title": title, "width": width, "height": height, "items": []}


def _rect(c, x, y, w, h, fill, tip=None, rx=2):
    c["items"].append(
        {"kind": "rect", "x": x, "y": y, "w": w, "h": h, "fill": fill, "tip": tip, "rx": rx}
    )


def _text(c, x, y, text, anchor="start", fill=None, size=None, tip=None):
    c["items"].append(
        {
            "kind": "text",
            "x": x,
            "y": y,
            "text": text,
            "anchor": anchor,
            "fill": fill,
            "size": size,
            "tip": tip,
        }
    )


def _line(c, x1, y1, x2, y2, stroke, dash=None):
    c["items"].append(
        {"kind": "line", "x1": x1, "y1": y1, "x2": x2, "y2": y2, "stroke": stroke, "dash": dash}
    )


def hbar_chart(title: str, rows: list, width: int = 560, label_w: int = 170, fmt=None) -> dict:
    """Horizontal bars, one per ``(label, value, color, tooltip)`` row, scaled to the largest."""
    fmt = fmt or (lambda v: f"{v:,.0f}")
    bar_h, gap, top = 16, 4, 28
    vmax = max([v for _, v, _, _ in rows] + [0])
    if vmax <= 0:  # nothing to draw: one line instead of a column of zeros
        c = _canvas(title, width, 48)
        _text(c, 0, 38, "none used by any layer", fill="#777")
        return c
    c = _canvas(title, width, top + len(rows) * (bar_h + gap) + 8)
    area = width - label_w - 70
    for i, (label, v, color, tip) in enumerate(rows):
        y = top + i * (bar_h + gap)
        w = 0 if v <= 0 else max(1.0, area * v / vmax)
        _text(c, label_w - 6, y + 12, _short(label, 26), anchor="end", tip=tip)
        _rect(c, label_w, y, w, bar_h, color, tip)
        _text(c, label_w + w + 4, y + 12, fmt(v), fill="#333", tip=tip)
    return c


def gauge_chart(title: str, rows: list, cap: float, width: int = 560) -> dict:
    """Utilisation gauges: ``(label, fraction or None, used, available)`` per row, a track
    per row, green within ``cap``, orange up to 100%, red above, and the cap as a dashed line."""
    label_w, bar_h, gap, top = 70, 18, 8, 30
    area = width - label_w - 130
    h = top + len(rows) * (bar_h + gap) + 14
    c = _canvas(title, width, h)
    for i, (label, u, used, avail) in enumerate(rows):
        y = top + i * (bar_h + gap)
        _text(c, label_w - 6, y + 13, label, anchor="end")
        _rect(c, label_w, y, area, bar_h, "#eef1f4")
        if u is None:
            txt = f"{used:,} used, none on the board"
        else:
            color = "#59a14f" if u <= cap else ("#f28e2b" if u <= 1 else HOT)
            _rect(c, label_w, y, min(1.0, u) * area, bar_h, color, f"{used:,} of {avail:,}")
            txt = f"{100 * u:.1f}%  ({used:,} / {avail:,})" if avail else "n/a (none on board)"
        _text(c, label_w + area + 6, y + 13, txt, fill="#333")
    xc = label_w + cap * area
    _line(c, xc, top - 4, xc, h - 10, "#333", dash="4 3")
    _text(c, xc, h - 1, f"cap {100 * cap:g}%", anchor="middle", size=10)
    return c


def span_chart(title: str, rows: list, end: float, width: int = 1140) -> dict:
    """Spans on a common axis ``[0, end]``: ``(label, start, stop, color, tooltip)`` per row."""
    label_w, bar_h, gap, top = 170, 12, 4, 30
    end = max(1, end)
    area = width - label_w - 20
    c = _canvas(title, width, top + len(rows) * (bar_h + gap) + 24)
    for i, (label, x0, x1, color, tip) in enumerate(rows):
        y = top + i * (bar_h + gap)
        a, b = label_w + area * x0 / end, label_w + area * x1 / end
        _text(c, label_w - 6, y + 10, _short(label, 26), anchor="end", tip=tip)
        _rect(c, a, y, max(1.0, b - a), bar_h, color, tip, rx=0)
    ya = top + len(rows) * (bar_h + gap) + 2
    _line(c, label_w, ya, label_w + area, ya, "#888")
    for k in range(6):
        _text(c, label_w + area * k / 5, ya + 14, si(end * k / 5), anchor="middle", fill="#555")
    return c


def vbar_chart(title: str, cols: list, log: bool, fmt, width: int = 560) -> dict:
    """Vertical bars, one per ``(label, sublabel, value or None)`` column (None: "does not
    fit"), on a linear or a log axis with gridlines."""
    left, top, bottom, h_area = 60, 34, 46, 220
    slot = (width - left - 10) / max(1, len(cols))
    c = _canvas(title, width, top + h_area + bottom)
    vals = [v for _, _, v in cols if v]
    if log and vals:
        lo = math.floor(math.log10(min(vals)))
        hi = max(lo + 1, math.ceil(math.log10(max(vals))))
        ticks = [10.0**e for e in range(lo, hi + 1)]

        def ypos(v):
            return top + h_area * (1 - (math.log10(v) - lo) / (hi - lo))
    else:
        vmax = max(vals) if vals else 1.0
        step = 10 ** math.floor(math.log10(vmax)) if vmax > 0 else 1
        top_v = math.ceil(vmax / step) * step
        if top_v / step <= 3:
            step /= 2
        ticks = [k * step for k in range(round(top_v / step) + 1)]

        def ypos(v):
            return top + h_area * (1 - v / top_v)

    for v in ticks:
        y = ypos(v)
        _line(c, left, y, width - 10, y, "#e3e6ea")
        _text(c, left - 6, y + 4, si(v), anchor="end", fill="#555")
    base_y = top + h_area
    for i, (label, sub, v) in enumerate(cols):
        cx = left + i * slot + slot / 2
        bw = min(60.0, slot * 0.6)
        if v:
            y = ypos(v)
            tip = f"{label}: {fmt(v)}"
            _rect(c, cx - bw / 2, y, bw, max(1.0, base_y - y), BAR, tip)
            _text(c, cx, y - 4, fmt(v), anchor="middle", fill="#222", tip=tip)
        else:
            _text(c, cx, base_y - 8, "does not fit", anchor="middle", fill=HOT)
        _text(c, cx, base_y + 16, label, anchor="middle")
        _text(c, cx, base_y + 30, sub, anchor="middle", fill="#777", size=10)
    _line(c, left, base_y, width - 10, base_y, "#888")
    return c


def grouped_log_chart(title: str, series: list, groups: list, width: int = 1140) -> dict:
    """Grouped vertical bars on a log axis: ``series`` is ``(name, color)`` per bar of a
    group (drawn as a legend), ``groups`` is ``(label, [value or None per series], [tooltip
    per series])``; a None value draws no bar."""
    left, top, bottom, h_area = 60, 50, 46, 220
    slot = (width - left - 10) / max(1, len(groups))
    c = _canvas(title, width, top + h_area + bottom)
    for i, (name, color) in enumerate(series):
        _rect(c, left + i * 170, 26, 12, 12, color)
        _text(c, left + i * 170 + 16, 36, name)
    vals = [v for _, vs, _ in groups for v in vs if v]
    if not vals:
        _text(c, left, top + 20, "no board fits", fill="#777")
        return c
    lo = math.floor(math.log10(min(vals)))
    hi = max(lo + 1, math.ceil(math.log10(max(vals))))

    def ypos(v):
        return top + h_area * (1 - (math.log10(v) - lo) / (hi - lo))

    for e in range(lo, hi + 1):
        y = ypos(10.0**e)
        _line(c, left, y, width - 10, y, "#e3e6ea")
        _text(c, left - 6, y + 4, si(10.0**e), anchor="end", fill="#555")
    base_y = top + h_area
    bw = min(28.0, slot * 0.25)
    n = len(series)
    for i, (label, vs, tips) in enumerate(groups):
        cx = left + i * slot + slot / 2
        for j, ((_, color), v, tip) in enumerate(zip(series, vs, tips)):
            if v:
                y = ypos(v)
                x = cx + (j - n / 2) * bw
                _rect(c, x, y, bw, max(1.0, base_y - y), color, tip)
        _text(c, cx, base_y + 16, label, anchor="middle")
    _line(c, left, base_y, width - 10, base_y, "#888")
    return c


@functools.lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=True,
    )
    env.filters["num"] = lambda v: f"{v:,}"
    env.filters["coord"] = lambda v: f"{v:.1f}" if isinstance(v, float) else str(v)
    return env


def render_page(template: str, **ctx) -> str:
    """Render the page ``templates/<template>`` (autoescaped HTML)."""
    return _env().get_template(template).render(**ctx)
