"""Scalability study: the best design of one model on every board (performance vs device size).

For each board the model is lowered and folded by the optimiser for the highest throughput
within the utilisation cap (``optimize(df, board, None, cap, plumbing=plumbed_totals)``) at
the board's default clock, then plumbed and summarised with :func:`fpgagen.report.make_report`
(fps, TOp/s, latency, utilisation, limiting resource). This is the FINN-R / ICCD'17 study of
one network across devices of growing size. See docs/report.md.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from .charts import BAR, grouped_log_chart, render_page, si, vbar_chart
from .report import RESOURCES

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


def _board_row(base_df, board, cap: float, clock_mhz, io: str = "memory") -> dict:
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
        "binding": None,
        "macs_per_cycle": None,
        "folding": None,
        "folding_summary": None,
        "bottleneck": None,
        "io_mode": io,
        "compute_fps": None,
        "io_fps": None,
        "io_binding": None,
        "io_reason": None,
        "memory_fps": None,
        "predicted_fps": None,
        "binds": None,
        "chosen": None,
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
    row["binding"] = res.get("binding")
    add_plumbing(df)
    rep = make_report(df, board, clock, cap=cap)
    row["utilisation"] = rep["utilisation"]
    row["resources"] = rep["resources"]
    row["lut_band"] = rep.get("lut_band")
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
    _roofline_row(row, base_df, df, board, cap, clock, io)
    return row


def _roofline_row(row, base_df, best, board, cap: float, clock: float, io: str) -> None:
    """Compute bound (the fastest design within the cap), I/O bounds and the chosen point
    (the default build: the cheapest design reaching the I/O bound, else the fastest)."""
    from .cost.io import io_target_cycles, roofline
    from .flow import add_plumbing, plumbed_totals
    from .fold.optimize import optimize

    rf = roofline(best, board, clock, io)
    row.update(
        compute_fps=rf["compute_fps"],
        io_fps=rf["io_fps"],
        io_binding=rf["binding"],
        io_reason=rf["reason"],
        memory_fps=rf["memory_fps"],
        predicted_fps=rf["predicted_fps"],
        binds=rf["binds"],
    )
    chosen = best
    if rf["binds"] != "compute":
        df = copy.deepcopy(base_df)
        res = optimize(df, board, io_target_cycles(rf, clock), cap=cap, plumbing=plumbed_totals)
        if res["fits"]:
            add_plumbing(df)
            chosen = df
    tot = chosen.total_resources()
    r = board.resources
    row["chosen"] = {
        "cycles": chosen.expected_cycles(),
        "fps": clock * 1e6 / chosen.expected_cycles(),
        "predicted_fps": rf["predicted_fps"],
        "lut": int(tot["lut"]),
        "utilisation": {
            "lut": tot["lut"] / r.lut,
            "bram18": tot["bram18"] / max(1, r.bram18),
            "dsp": tot["dsp"] / max(1, r.dsp),
        },
        "folding_summary": _folding_summary(chosen)[2],
    }


def _board_task(model: str, board: str, cap: float, clock_mhz, io: str = "memory") -> dict:
    """One board's row of :func:`scale` (a pure task: model file, board file, cap, clock,
    I/O mode)."""
    from .boards import load_board
    from .frontend import load_model
    from .transforms.lower import lower

    base = lower(load_model(model))
    row = _board_row(base, load_board(board), cap, clock_mhz, io)
    row["model"] = base.name
    return row


def scale(
    model_path,
    boards=None,
    cap: float = 0.7,
    clock_mhz=None,
    io: str = "memory",
    jobs: int | None = 1,
    scheduler=None,
    client=None,
    cache=True,
    retries: int = 1,
    progress=None,
) -> list[dict]:
    """Best design of ``model_path`` on every bundled board (or the ``boards`` names/paths).

    Rows are ordered by board LUT count (smallest first) unless ``boards`` is given. A board
    on which even the most folded design exceeds the cap has ``fits=False``, its ``error``
    saying so, its ``utilisation``/``limiting`` those of the most folded design and ``None``
    for cycles, fps, TOp/s and latency. ``clock_mhz`` (default: each board's default clock)
    applies to every board; a board whose maximum is lower gets an ``error`` row.

    The roofline of each fitting board (docs/cost_model.md, I/O model): ``compute_fps`` (the
    fastest design within the cap: ``fps``), ``io_fps``/``io_binding``/``io_reason`` (the I/O
    bound of the board's memory path and host for ``io="memory"``; None for ``"stream"``),
    ``memory_fps``, ``predicted_fps`` (the minimum) and ``binds``, and ``chosen``: the design
    the default build picks (the cheapest reaching the I/O bound, else the fastest) with its
    cycles, compute fps, LUT and utilisation.

    Each board is one task of :func:`fpgagen.tasks.run_tasks` (``jobs`` local workers, a Dask
    ``scheduler`` address or ``client``; results cached by the model's and the board file's
    contents in ``cache``). A board whose task failed for good raises :class:`FpgagenError`
    naming it and the reason, after the others finished (their results stay cached).
    """
    from .boards import list_boards, load_board
    from .errors import FpgagenError
    from .frontend import load_model
    from .resources import data_dir
    from .tasks import Task, run_tasks, task_key

    if not 0 < cap <= 1:
        raise FpgagenError(f"utilisation cap {cap} must be in (0, 1]")
    names = list(boards) if boards else list_boards()
    bl = [load_board(n) for n in names]
    if not boards:
        bl.sort(key=lambda b: (b.resources.lut, b.name))
    load_model(model_path)  # a bad model is one error here, not one per board
    model = str(Path(model_path).resolve())
    tasks = []
    for b in bl:
        inputs = {"cap": cap, "clock_mhz": clock_mhz, "board": b.name, "io": io}
        files = {"model": model, "board": b.path}
        bundled = b.path.parent.resolve() == data_dir("boards").resolve()
        board_arg = b.path.stem if bundled else str(b.path.resolve())
        tasks.append(
            Task(
                _board_task,
                {
                    "model": model,
                    "board": board_arg,
                    "cap": cap,
                    "clock_mhz": clock_mhz,
                    "io": io,
                },
                label=f"scale {b.name}",
                key=task_key("scale.board", inputs, files),
                kind="scale.board",
                describe=lambda r: f"{r['fps']:,.0f} fps" if r["fits"] else r["error"],
            )
        )
    outs = run_tasks(
        tasks,
        jobs=jobs,
        scheduler=scheduler,
        client=client,
        cache=cache,
        retries=retries,
        progress=progress,
    )
    bad = [o for o in outs if not o.ok]
    if bad:
        raise FpgagenError(
            f"{model_path}: {len(bad)} of {len(outs)} boards failed: "
            + "; ".join(f"{o.label}: {o.error}" for o in bad)
        )
    return [o.result for o in outs]


# -- terminal ------------------------------------------------------------------------------
def _pct(u) -> str:
    return "n/a" if u is None else f"{100 * u:.1f}%"


def format_scale_table(results: list[dict]) -> str:
    """One line per board: size, clock, cycles, fps, TOp/s, latency, utilisation, limit."""
    hdr = (
        f"{'board':12s} {'LUT':>8s} {'MHz':>5s} {'cycles':>9s} {'compute fps':>13s} "
        f"{'TOp/s':>8s} {'latency':>10s} {'LUT%':>6s} {'BRAM%':>6s} {'URAM%':>6s} {'DSP%':>6s}  "
        f"{'limiting':12s} {'I/O fps':>13s} {'binds':10s} {'chosen':>9s} {'predicted':>13s}"
    )
    rows = [hdr]
    for r in results:
        u = r["utilisation"] or {}
        util = " ".join(
            f"{_pct(u.get(k)) if u else '-':>6s}" for k in ("lut", "bram18", "uram", "dsp")
        )
        head = f"{r['board'][:12]:12s} {r['board_resources']['lut']:8d} {r['clock_mhz']:5g} "
        if r["fits"]:
            iof = "-" if r.get("io_fps") is None else f"{r['io_fps']:,.0f}"
            ch = r.get("chosen") or {}
            rows.append(
                head + f"{r['cycles']:9d} {r['fps']:13,.0f} {r['tops']:8.3g} "
                f"{r['latency_us']:8.3g}us {util}  {r['limiting']:12s} {iof:>13s} "
                f"{(r.get('binds') or '-'):10s} {ch.get('cycles', 0):9d} "
                f"{r.get('predicted_fps') or 0:13,.0f}"
            )
        else:
            why = "does not fit" if r["utilisation"] else "error"
            rows.append(
                head + f"{'-':>9s} {why:>13s} {'-':>8s} {'-':>10s} {util}  "
                f"{r['limiting'] or ''}"
                + (f"  ({r['error']})" if r["error"] and not r["utilisation"] else "")
            )
    for r in results:
        if r.get("binding"):
            rows.append(f"{r['board']}: binds {r['binding']['detail']}")
    cap = results[0]["cap"] if results else 0.7
    rows.append(
        f"cap {100 * cap:g}% of LUT/FF/BRAM/URAM/DSP; best folding per board by the "
        "optimiser at the board's clock (compute bound); I/O fps: the board's memory path and "
        "host (docs/cost_model.md); chosen: cycles/frame of the design the default build picks "
        "(the cheapest reaching the I/O bound); predicted = min(compute, I/O)"
    )
    return "\n".join(rows)


# -- HTML ----------------------------------------------------------------------------------
def render_scale_html(results: list[dict]) -> str:
    """The self-contained HTML page of a study (templates/scale.html.j2)."""
    model = results[0].get("model", "") if results else ""
    cap = results[0]["cap"] if results else 0.7
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
        "I/O fps",
        "binds",
        "chosen cycles",
        "predicted fps",
    ]
    rows = []
    for r in results:
        br, u = r["board_resources"], r["utilisation"] or {}
        fits = r["fits"]
        rows.append(
            {
                "board": r["board"],
                "part": r["part"],
                "fits": fits,
                "res": [br[k] for k in ("lut", "bram18", "uram", "dsp")],
                "mhz": f"{r['clock_mhz']:g}",
                "perf": [
                    f"{r['cycles']:,}",
                    f"{r['fps']:,.0f}",
                    f"{r['tops']:.3g}",
                    f"{r['latency_us']:.3g}",
                ]
                if fits
                else [],
                "error": r["error"] or "does not fit",
                "util": [_pct(u.get(k)) if u else "-" for k in ("lut", "bram18", "uram", "dsp")],
                "limiting": r["limiting"] or "-",
                "roof": [
                    ("-" if r.get("io_fps") is None else f"{r['io_fps']:,.0f}", r.get("io_reason")),
                    (r.get("binds") or "-", None),
                    (f"{r['chosen']['cycles']:,}" if r.get("chosen") else "-", None),
                    (
                        "-" if r.get("predicted_fps") is None else f"{r['predicted_fps']:,.0f}",
                        None,
                    ),
                ],
                "folding": r["folding_summary"] or r["error"] or "-",
            }
        )

    def cols(key):
        return [
            (r["board"], f"{si(r['board_resources']['lut'])} LUT", r[key] if r["fits"] else None)
            for r in results
        ]

    return render_page(
        "scale.html.j2",
        title=f"fpgagen scalability: {model}",
        cap=cap,
        head=head,
        rows=rows,
        fps=vbar_chart("Frames per second (log scale)", cols("fps"), True, si),
        tops=vbar_chart("TOp/s (2 ops per MAC)", cols("tops"), False, lambda v: f"{v:.3g}"),
        roofline=_roofline_chart(results),
    )


def _roofline_chart(results: list) -> dict:
    """Per board: compute bound, I/O bound and the chosen point (predicted), log scale."""
    series = [("compute bound", BAR), ("I/O bound", "#f28e2b"), ("chosen (predicted)", "#59a14f")]
    groups = []
    for r in results:
        vs = [r.get("compute_fps"), r.get("io_fps"), r.get("predicted_fps")]
        io_tip = f" ({r['io_binding']})" if r.get("io_binding") else ""
        tips = [
            f"{r['board']}: compute bound {vs[0] or 0:,.0f} fps",
            f"{r['board']}: I/O bound {vs[1] or 0:,.0f} fps{io_tip}",
            f"{r['board']}: chosen {vs[2] or 0:,.0f} fps predicted, bound by {r.get('binds')}",
        ]
        label = r["board"] + (f" ({r['binds']})" if r.get("binds") else "")
        groups.append((label, vs, tips))
    return grouped_log_chart(
        "Roofline: compute bound, I/O bound and the chosen point, frames per second (log scale)",
        series,
        groups,
    )


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
