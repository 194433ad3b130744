"""Synthesis of a layer and of a whole build folder, beside the cost model's estimates.

* :func:`synth_layer` synthesizes one layer's RTL module out of context with its
  ``rtl_params()`` and memory files;
* :func:`synth_build` does it for every layer of a build folder and for the stitched top
  level, each run isolated: a layer whose synthesis fails is retried with the fallback script
  and, if that fails too, reported as failed while the others go on;
* :func:`format_table` renders the result: every layer's estimate against Yosys, the
  fallback results marked, the failures with their reason and log, totals over the layers
  that synthesized.

This module is a consumer of the flow (it reads build folders and the RTL library); nothing
below it imports it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

from ..codegen.rtl import MEM_DIR, module_files, top_name
from ..errors import FpgagenError
from ..flow import load_build
from .yosys import (
    FALLBACK,
    PRIMARY,
    RESOURCE_KEYS,
    SCRIPTS,
    SynthError,
    SynthRunError,
    allow_runs,
    kill_running,
    synth_verilog,
    synth_with_fallback,
    yosys_version,
)

__all__ = ["EST_KEYS", "failed", "format_table", "main", "synth_build", "synth_layer"]

#: resources of a layer's estimate (``layer.resources()``)
EST_KEYS = ("lut", "ff", "bram18", "uram", "dsp")

#: default time-out of the stitched top level, in multiples of the per-layer time-out
TOP_TIMEOUT_FACTOR = 4


def synth_layer(
    layer,
    workdir,
    cache_dir=None,
    fallback: bool = False,
    timeout: float | None = None,
    retry_failed: bool = False,
) -> dict:
    """Out-of-context synthesis of one hardware layer's RTL module.

    Writes the layer's memory files into ``workdir/mem`` and runs Yosys in ``workdir`` with
    ``layer.rtl_params("mem")``. Returns ``{lut, ff, carry, bram18, bram36, uram, dsp,
    seconds}`` (plus ``lut_logic``, ``lutram``, ``cells``, ``cached``, ``script``, ``log``);
    BRAM is counted in RAMB18 equivalents (a RAMB36E2 counts 2). With ``fallback`` a failed
    run is retried with the fallback script (the result's ``script`` is then ``"dff"``);
    without it (the default, used by the cost-model calibration) only the default script
    runs. A layer of ``lanes > 1`` (identical copies of its module in lockstep, e.g. an MVAU
    with ``MMV``) synthesizes one copy and counts it ``lanes`` times (``lanes`` in the
    result). Raises :class:`SynthRunError` when synthesis fails, :class:`SynthError` when the
    layer cannot be handed to Yosys.
    """
    workdir = Path(workdir)
    mem = workdir / "mem"
    mem.mkdir(parents=True, exist_ok=True)
    label = f"layer {layer.name} ({layer.op_type})"
    mem_files = [Path(p) for p in layer.write_memories(mem)]
    try:
        sources = module_files(layer.rtl_module)
    except FileNotFoundError as e:
        raise SynthError(f"{label}: RTL module {layer.rtl_module!r} not found: {e}") from None
    run = synth_with_fallback if fallback else synth_verilog
    res = run(
        sources,
        layer.rtl_module,
        layer.rtl_params("mem"),
        workdir,
        mem_files=mem_files,
        cache_dir=cache_dir,
        label=label,
        timeout=timeout,
        retry_failed=retry_failed,
    )
    lanes = layer.lanes
    if lanes > 1:  # identical copies of the module side by side (one synthesized)
        for k in (*RESOURCE_KEYS, "lut_logic", "lutram"):
            res[k] *= lanes
        res["lanes"] = lanes
    return res


def _outcome(fn) -> dict:
    """Run one synthesis; ``{"ok": result}`` or ``{"reason", "log"}``, never an exception."""
    try:
        return {"ok": fn()}
    except SynthRunError as e:
        return {"reason": e.reason, "log": str(e.log) if e.log else None}
    except FpgagenError as e:
        return {"reason": " ".join(str(e).split()), "log": None}
    except Exception as e:  # a bug in one layer's generator must not lose the others
        msg = " ".join(str(e).split())[:300]
        return {"reason": f"internal error: {type(e).__name__}: {msg}", "log": None}


def _layer_task(layer, workdir: str, cache_dir, timeout, retry_failed) -> dict:
    """One layer's synthesis with the fallback as a task of :func:`fpgagen.tasks.run_tasks`
    (on a thread here, or on a Dask worker): its :func:`_outcome`."""
    return _outcome(
        lambda: synth_layer(
            layer,
            workdir,
            cache_dir=cache_dir,
            fallback=True,
            timeout=timeout,
            retry_failed=retry_failed,
        )
    )


def _top_task(srcs, tname, twork, mems, cache_dir, timeout, retry_failed, skip, boxed=None) -> dict:
    """The stitched top's synthesis with the fallback as a task: its :func:`_outcome`.

    ``boxed`` (``{"srcs", "lib"}``: the top's sources with the instances of the layers that
    needed the fallback retargeted to black boxes, and those boxes) is tried first with the
    default script; its result has ``boxed_ok``. When it fails, or without it, the whole top
    goes through :func:`synth_with_fallback` (``skip`` sends it straight to the fallback)."""
    first = None
    if boxed:
        try:
            res = synth_verilog(
                boxed["srcs"],
                tname,
                {},
                Path(twork) / "boxed",
                mem_files=mems,
                cache_dir=cache_dir,
                label=f"top level {tname} (fallback layers boxed)",
                timeout=timeout,
                retry_failed=retry_failed,
                lib_sources=boxed["lib"],
            )
            return {"ok": res | {"boxed_ok": True}}
        except SynthRunError as e:
            first = e
        except FpgagenError as e:
            first = SynthRunError(f"top level {tname}", " ".join(str(e).split()))
    out = _outcome(
        lambda: synth_with_fallback(
            srcs,
            tname,
            {},
            twork,
            mem_files=mems,
            cache_dir=cache_dir,
            label=f"top level {tname}",
            timeout=timeout,
            retry_failed=retry_failed,
            skip_primary=skip,
        )
    )
    if first is not None:
        why = f"with the fallback layers boxed: {first.reason}"
        if "ok" in out:
            prev = out["ok"].get("primary_error")
            out["ok"]["primary_error"] = why + (f"; {prev}" if prev else "")
        else:
            out["reason"] = f"{why}; whole top: {out['reason']}"
    return out


def _run_one_or_more(tasks, jobs, scheduler, client, on_done=None) -> list[dict]:
    """The tasks' outcomes (a task that failed as a task, e.g. its worker was lost every
    time, becomes a failed entry with that reason)."""
    from ..tasks import run_tasks

    outs = run_tasks(
        tasks,
        jobs=jobs,
        scheduler=scheduler,
        client=client,
        cache=False,  # Yosys runs are cached by content in $FPGAGEN_CACHE/yosys
        local="threads",
        on_done=on_done,
    )
    return [o.result if o.ok else {"reason": f"task failed: {o.error}", "log": None} for o in outs]


def _entry(outcome: dict) -> dict:
    """The status fields of a table row / JSON entry from an :func:`_outcome`."""
    if "ok" not in outcome:
        return {
            "status": "failed",
            "script": None,
            "actual": None,
            "reason": outcome["reason"],
            "log": outcome["log"],
            "cached": False,
        }
    r = outcome["ok"]
    fb = r.get("script") == FALLBACK
    e = {
        "status": "fallback" if fb else "ok",
        "script": r.get("script", PRIMARY),
        "actual": {k: r[k] for k in RESOURCE_KEYS + ("seconds",)},
        "reason": r.get("primary_error") if fb else None,
        "log": r.get("log"),
        "cached": bool(r.get("cached")),
    }
    if fb:
        e["primary_log"] = r.get("primary_log")
    return e


def _folding(layer) -> dict:
    """The layer's entry of the build's folding.json (``--folding`` recreates the layer):
    its folding, with ``ram_style`` when that is not ``auto``."""
    f = dict(layer.folding())
    if getattr(layer, "ram_style", "auto") != "auto":
        f["ram_style"] = layer.ram_style
    return f


def _elapsed(t0: float) -> str:
    s = int(time.perf_counter() - t0)
    return f"{s // 60}m{s % 60:02d}s"


def _summary(name: str, e: dict) -> str:
    if e["status"] == "failed":
        return f"{name}: FAILED: {e['reason']}" + (f" (log {e['log']})" if e["log"] else "")
    a = e["actual"]
    s = f"{name}: {a['lut']} LUT, {a['ff']} FF, {a['bram18']} BRAM18, {a['dsp']} DSP" + (
        " (cached)" if e["cached"] else f" in {a['seconds']:.1f} s"
    )
    if e.get("boxed"):
        s += f" ({e['reason']})"
    elif e["status"] == "fallback":
        s += f" with the fallback script -{FALLBACK} (default script: {e['reason']})"
    return s


def synth_build(
    outdir,
    top: bool = True,
    jobs: int | None = None,
    cache_dir=None,
    progress=None,
    timeout: float | None = None,
    top_timeout: float | None = None,
    retry_failed: bool = False,
    scheduler: str | None = None,
    client=None,
) -> dict:
    """Synthesize every layer of the build folder ``outdir`` (and its stitched top level).

    Each run is isolated: a run that fails (error, crash, WebAssembly trap, time-out) is
    retried with the fallback script; a layer that fails both is reported and the others go
    on. ``timeout`` bounds one layer run (default ``FPGAGEN_YOSYS_TIMEOUT`` or 900 s),
    ``top_timeout`` the top level's (default 4 x ``timeout``); ``jobs`` runs in parallel
    (default: one per CPU); ``progress`` receives one line per finished run. Each layer's run
    (and the top's) is a task of :func:`fpgagen.tasks.run_tasks`: on ``jobs`` threads of this
    process, or on the Dask cluster of ``scheduler`` (an address) or ``client``, whose workers
    see ``outdir`` and the cache folder at the same paths (docs/distributed.md).

    Returns ``{"build", "yosys", "scripts", "layers": [...], "n_layers", "n_ok",
    "n_fallback", "n_failed", "sum_estimate", "sum_actual", "sum_estimate_all", "top",
    "seconds"}``. When a layer needed the fallback, the top level (which contains it) goes
    straight to the fallback script. Each layer entry has ``name``, ``type``, ``folding``, ``estimate``
    (``layer.resources()``), ``status`` (``ok``, ``fallback`` or ``failed``), ``script``,
    ``actual`` (None if failed), ``reason`` (why it failed, or why the default script
    failed before the fallback), ``log`` and ``cached``. ``sum_estimate`` and ``sum_actual``
    are over the layers that synthesized, ``sum_estimate_all`` over every layer; ``top`` (None
    with ``top=False``) is a dict of the same status fields with the resource counts at its
    first level when it synthesized. The result is also written to ``outdir/synth/synth.json``.
    Work files go to ``outdir/synth/<layer>/``.
    """
    t0 = time.perf_counter()
    outdir = Path(outdir)
    df, meta = load_build(outdir)
    work = outdir / "synth"
    work.mkdir(parents=True, exist_ok=True)
    layers = list(df.layers)
    n = len(layers)
    jobs = max(1, jobs or min(n, os.cpu_count() or 1))
    say = progress or (lambda m: None)
    version = yosys_version()  # fails early (one line) when there is no Yosys at all
    allow_runs()
    where = f"on the Dask cluster {scheduler}" if scheduler else f"{jobs} in parallel"
    if client is not None and not scheduler:
        where = "on the Dask cluster"
    say(f"synthesizing {n} layers of {outdir} with {version}, {where}")

    from ..tasks import Task

    tasks = [
        Task(
            _layer_task,
            {
                "layer": layer,
                "workdir": str(work / layer.name),
                "cache_dir": cache_dir,
                "timeout": timeout,
                "retry_failed": retry_failed,
            },
            label=f"{layer.name} ({layer.op_type})",
            kind="synth.layer",
        )
        for layer in layers
    ]
    entries: dict = {}
    counts = {"cached": 0, "failed": 0, "fallback": 0}

    def done(i, o, state) -> None:
        layer = layers[i]
        res = o.result if o.ok else {"reason": f"task failed: {o.error}", "log": None}
        e = entries[layer.name] = _entry(res)
        counts["cached"] += e["cached"]
        counts["failed"] += e["status"] == "failed"
        counts["fallback"] += e["status"] == "fallback"
        say(
            f"[{len(entries):>{len(str(n))}}/{n}] "
            + _summary(f"{layer.name} ({layer.op_type})", e)
            + f"  [{state['running']} running, {counts['cached']} cached, "
            f"{counts['fallback']} fallback, {counts['failed']} failed, {_elapsed(t0)} elapsed]"
        )

    try:
        _run_one_or_more(tasks, jobs, scheduler, client, on_done=done)
    except BaseException:
        kill_running()
        raise

    rows = []
    sum_e = dict.fromkeys(EST_KEYS, 0)
    sum_all = dict.fromkeys(EST_KEYS, 0)
    sum_a = dict.fromkeys(RESOURCE_KEYS, 0)
    for layer in layers:
        r = layer.resources()
        est = {k: r.get(k, 0) for k in EST_KEYS}
        e = entries[layer.name]
        rows.append(
            {"name": layer.name, "type": layer.op_type, "folding": _folding(layer), "estimate": est}
            | e
        )
        for k in EST_KEYS:
            sum_all[k] += est[k]
        if e["actual"] is not None:
            for k in EST_KEYS:
                sum_e[k] += est[k]
            for k in RESOURCE_KEYS:
                sum_a[k] += e["actual"][k]

    top_entry = None
    if top:
        fell_back = {r["name"]: r for r in rows if r["status"] == "fallback"}
        skip = None
        if fell_back:  # the top contains those modules: the default script would fail again
            skip = (
                f"not tried: {', '.join(list(fell_back)[:3])}"
                + (f" and {len(fell_back) - 3} more" if len(fell_back) > 3 else "")
                + " needed the fallback and the top level contains them"
            )
        top_entry = _synth_top(
            outdir,
            df,
            meta,
            work,
            cache_dir,
            timeout,
            top_timeout,
            retry_failed,
            skip,
            say,
            t0,
            (scheduler, client),
            {l.name: (l.rtl_module, fell_back[l.name]) for l in layers if l.name in fell_back},
        )

    res = {
        "build": str(outdir),
        "yosys": version,
        "scripts": {PRIMARY: SCRIPTS[PRIMARY], FALLBACK: SCRIPTS[FALLBACK]},
        "layers": rows,
        "n_layers": n,
        "n_ok": sum(r["status"] == "ok" for r in rows),
        "n_fallback": counts["fallback"],
        "n_failed": counts["failed"],
        "sum_estimate": sum_e,
        "sum_actual": sum_a,
        "sum_estimate_all": sum_all,
        "top": top_entry,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    (work / "synth.json").write_text(json.dumps(res, indent=2) + "\n")
    return res


#: suffix of the black-box copy of a module standing for one layer in the stitched top
BOX_SUFFIX = "__fpgagen_box_"


def box_instances(top_text: str, boxes: dict, sources) -> tuple[str, dict]:
    """The stitched top's Verilog ``top_text`` with every instance of the layers of ``boxes``
    (``{layer name: module}``; instances ``<name>_inst`` and ``<name>_inst_lane<m>``)
    retargeted to a copy of its module named ``<module>__fpgagen_box_<name>``, and those
    copies (``{file name: text}``, from the module's definition in ``sources``), to be read as
    black boxes. Raises :class:`SynthError` when an instance or a definition is missing."""
    texts = {Path(p).name: Path(p).read_text() for p in sources}
    copies = {}
    for name, module in boxes.items():
        box = f"{module}{BOX_SUFFIX}{name}"
        n = 0
        for m in reversed(list(re.finditer(rf"^\)\s*{name}_inst(_lane\d+)?\s*\(", top_text, re.M))):
            head = top_text.rfind(f"\n{module} #(", 0, m.start())
            if head < 0:
                raise SynthError(f"stitched top: no `{module} #(` before instance {name}_inst")
            top_text = top_text[: head + 1] + box + top_text[head + 1 + len(module) :]
            n += 1
        if not n:
            raise SynthError(f"stitched top: layer {name} has no instance {name}_inst")
        pat = re.compile(rf"^(\s*module\s+){module}\b", re.M)
        src = next(((f, t) for f, t in texts.items() if pat.search(t)), None)
        if src is None:
            raise SynthError(f"stitched top: no definition of module {module} for layer {name}")
        copies[f"{box}.v"] = pat.sub(rf"\g<1>{box}", src[1], count=1)
    return top_text, copies


def _boxed_sources(top_v: Path, srcs, boxes: dict, bwork: Path) -> dict:
    """Write the boxed top (:func:`box_instances`) and its black boxes into ``bwork/src``:
    ``{"srcs", "lib"}`` for :func:`_top_task`."""
    text, copies = box_instances(top_v.read_text(), boxes, srcs)
    d = bwork / "src"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    (d / top_v.name).write_text(text)
    lib = []
    for fname, t in copies.items():
        (d / fname).write_text(t)
        lib.append(str(d / fname))
    others = [str(p) for p in srcs if Path(p).name != top_v.name]
    return {"srcs": [*others, str(d / top_v.name)], "lib": lib}


def _synth_top(
    outdir,
    df,
    meta,
    work,
    cache_dir,
    timeout,
    top_timeout,
    retry_failed,
    skip,
    say,
    t0,
    where,
    fell_back=None,
):
    """The stitched top level, in ``work/_top`` with copies of rtl/*.v and rtl/mem.

    ``fell_back`` (``{layer name: (module, row)}``) are the layers that needed the fallback
    script: the top is first synthesized with the default script and those layers' instances
    as black boxes, and their fallback results are added (status ``fallback``, ``boxed`` the
    layer names); only if that fails does the whole top go to the fallback script."""
    rtl = outdir / "rtl"
    tname = (meta.get("rtl") or {}).get("top") or top_name(df)
    top_v = rtl / f"{tname}.v"
    if not top_v.is_file():
        raise SynthError(
            f"{outdir}: no stitched top level {top_v}; build with the rtl "
            "backend (`fpgagen build ... --backend rtl`)"
        )
    twork = work / "_top"
    # the stitched design's own sources (not the kernel wrapper beside it in rtl/)
    listed = (meta.get("rtl") or {}).get("sources")
    srcs = sorted(outdir / p for p in listed) if listed else sorted(rtl.glob("*.v"))
    mems = sorted((rtl / MEM_DIR).glob("*")) if (rtl / MEM_DIR).is_dir() else []
    if mems:
        shutil.copytree(rtl / MEM_DIR, twork / MEM_DIR, dirs_exist_ok=True)
    if top_timeout is None:
        base = timeout
        if base is None:
            base = float(os.environ.get("FPGAGEN_YOSYS_TIMEOUT", 900))
        top_timeout = TOP_TIMEOUT_FACTOR * base
    boxed = None
    if fell_back:
        try:
            boxed = _boxed_sources(
                top_v, srcs, {n: m for n, (m, _) in fell_back.items()}, twork / "boxed"
            )
            if mems:  # $readmemh paths are relative to the Yosys working directory
                shutil.copytree(rtl / MEM_DIR, twork / "boxed" / MEM_DIR, dirs_exist_ok=True)
        except (SynthError, OSError) as e:
            say(f"[top] cannot box the fallback layers ({e}); the whole top takes the fallback")
    say(
        f"[top] synthesizing the stitched top level {tname} (time-out {top_timeout:g} s)"
        + (f", with {', '.join(fell_back)} as black boxes" if boxed else "")
        + " ..."
    )
    from ..tasks import Task

    top_task = Task(
        _top_task,
        {
            "srcs": [str(p) for p in srcs],
            "tname": tname,
            "twork": str(twork),
            "mems": [str(p) for p in mems],
            "cache_dir": cache_dir,
            "timeout": top_timeout,
            "retry_failed": retry_failed,
            "skip": skip,
            "boxed": boxed,
        },
        label=f"stitched top {tname}",
        kind="synth.top",
    )
    try:
        (outcome,) = _run_one_or_more([top_task], 1, *where)
    except BaseException:
        kill_running()
        raise
    e = _entry(outcome)
    if outcome.get("ok", {}).get("boxed_ok"):
        # the default script's top without the boxed layers, plus their fallback results
        names = list(fell_back)
        for _, row in fell_back.values():
            for k in RESOURCE_KEYS:
                e["actual"][k] += row["actual"][k]
        e.update(
            status="fallback",
            boxed=names,
            reason=f"{', '.join(names)} mapped with the fallback script and added "
            "(black boxes in the top's default-script run)",
        )
    say(f"[top] {_summary(f'stitched top {tname}', e)}  [{_elapsed(t0)} elapsed]")
    top_entry = {"name": tname} | e
    if e["actual"] is not None:
        top_entry.update(e["actual"])
    return top_entry


# -- the table ----------------------------------------------------------------------------------
def _err(e, a) -> str:
    if a == 0:
        return "   -  " if e == 0 else "  inf "
    return f"{100 * (e - a) / a:+5.0f}%"


_MARK = {"ok": "", "fallback": "*", "failed": "FAILED"}


def format_table(result: dict) -> str:
    """Per-layer estimate vs Yosys table of a :func:`synth_build` result: every layer (failed
    ones marked FAILED, fallback results marked ``*``), the sums over the layers that
    synthesized, the stitched top, then each failure with its reason and log."""
    hdr = (
        f"{'layer':<24} {'type':<16} {'LUT est':>8} {'LUT syn':>8} {'err':>6} "
        f"{'FF est':>7} {'FF syn':>7} {'BRAM18 e/s':>10} {'DSP e/s':>8} {'s':>7}  note"
    )
    out = [hdr, "-" * len(hdr)]

    def row(name, typ, e, a, secs, note=""):
        if a is None:
            a = dict.fromkeys(RESOURCE_KEYS, "-")
            err = "   -  "
        else:
            err = _err(e["lut"], a["lut"])
        return (
            f"{name[:24]:<24} {typ[:16]:<16} {e['lut']:>8} {a['lut']:>8} "
            f"{err:>6} {e['ff']:>7} {a['ff']:>7} "
            f"{str(e['bram18']) + '/' + str(a['bram18']):>10} "
            f"{str(e['dsp']) + '/' + str(a['dsp']):>8} {secs:>7}  {note}"
        ).rstrip()

    def secs_of(r):
        a = r.get("actual")
        if a is None:
            return ""
        return "cached" if r.get("cached") else f"{a.get('seconds', 0):.1f}"

    rows = result["layers"]
    for r in rows:
        out.append(
            row(
                r["name"],
                r["type"],
                r["estimate"],
                r.get("actual"),
                secs_of(r),
                _MARK[r.get("status", "ok")],
            )
        )
    out.append("-" * len(hdr))
    n_failed = result.get("n_failed", 0)
    n_ok = len(rows) - n_failed
    label = "sum of layers" if not n_failed else f"sum of {n_ok} synthesized"
    out.append(row(label, "", result["sum_estimate"], result["sum_actual"], ""))
    t = result.get("top")
    if t:
        est = result.get("sum_estimate_all", result["sum_estimate"])
        act = t if t.get("status", "ok") != "failed" else None
        out.append(
            row(
                "stitched top",
                t.get("name", ""),
                est,
                act,
                secs_of(t | {"actual": act}) if act else "",
                _MARK[t.get("status", "ok")],
            )
        )
    notes = []
    fb = [r for r in rows if r.get("status") == "fallback"]
    if t and t.get("status") == "fallback":
        fb = [*fb, {**t, "name": f"stitched top {t.get('name', '')}".rstrip()}]
    if fb:
        notes.append(
            f"* {len(fb)} mapped with the fallback script ({SCRIPTS[FALLBACK]}) after the "
            "default script failed; not used to fit the cost model:"
        )
        notes += [
            f"    {r['name']}: "
            + ("default script, " if r.get("boxed") else "default script: ")
            + str(r.get("reason"))
            for r in fb
        ]
    failed = [r for r in rows if r.get("status") == "failed"]
    if failed:
        notes.append(
            f"{len(failed)} of {len(rows)} layers failed with both scripts (not in the sums):"
        )
        notes += [
            f"    {r['name']} ({r['type']}): {r['reason']}"
            + (f" (log {r['log']})" if r.get("log") else "")
            for r in failed
        ]
    if t and t.get("status") == "failed":
        notes.append(
            f"stitched top {t.get('name', '')} failed: {t['reason']}"
            + (f" (log {t['log']})" if t.get("log") else "")
        )
    if not failed and not (t and t.get("status") == "failed"):
        notes.append(
            f"all {len(rows)} layers" + (" and the stitched top" if t else "") + " synthesized"
        )
    return "\n".join(out + notes)


def failed(result: dict) -> bool:
    """True when a layer or the stitched top of a :func:`synth_build` result failed for good."""
    t = result.get("top")
    return bool(result.get("n_failed")) or bool(t and t.get("status") == "failed")


def main(argv=None) -> int:
    """``python -m fpgagen.synth OUTDIR [--no-top] [--json] [-j N] [--timeout S]``."""
    import argparse

    ap = argparse.ArgumentParser(
        prog="python -m fpgagen.synth",
        description="Yosys synthesis of a build folder vs estimates (same as `fpgagen synth`)",
    )
    ap.add_argument("outdir")
    ap.add_argument("--no-top", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("-j", "--jobs", type=int, default=None)
    ap.add_argument("--timeout", type=float, default=None)
    ap.add_argument("--top-timeout", type=float, default=None)
    ap.add_argument("--retry-failed", action="store_true")
    a = ap.parse_args(argv)
    try:
        res = synth_build(
            a.outdir,
            top=not a.no_top,
            jobs=a.jobs,
            timeout=a.timeout,
            top_timeout=a.top_timeout,
            retry_failed=a.retry_failed,
            progress=lambda m: print(m, file=sys.stderr, flush=True),
        )
    except FpgagenError as e:
        print(f"fpgagen: error: {' '.join(str(e).split())}", file=sys.stderr)
        return e.exit_code
    print(json.dumps(res, indent=2) if a.json else format_table(res))
    return 1 if failed(res) else 0
