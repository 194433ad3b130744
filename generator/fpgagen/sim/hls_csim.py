"""Bit-exact C simulation of the HLS design with g++ (no Xilinx tools needed).

:func:`simulate_hls` compiles ``outdir/hls/<top>.cpp`` and ``tb.cpp`` with g++ against the
Xilinx ap_types headers (``ap_int.h``, ``hls_stream.h``), caches the executable in
``$FPGAGEN_CACHE/hls/<key>`` (default ``~/.cache/fpgagen/hls``; the key hashes every source file,
the compiler, its flags and the headers used), streams the packed input codes through it and
unpacks the output words. Packing and unpacking are done by :mod:`fpgagen.packing`.

The ap_types headers come from the folder named by ``$FPGAGEN_AP_TYPES`` (e.g.
``$XILINX_HLS/include``) or else from the ``hls4ml`` wheel, which ships them
(``pip install hls4ml``; hls4ml is located, not imported).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from .. import packing
from ..errors import SimulationError

__all__ = ["CXXFLAGS", "compile_hls", "default_cache_root", "find_ap_types", "simulate_hls"]

#: flags of every C simulation build (warnings are kept visible, they are part of the contract)
CXXFLAGS = ("-std=c++14", "-O2", "-Wall", "-Wextra")

#: stdout messages of the hls::stream simulation model that reveal a broken design
_STREAM_ERRORS = ("is read while empty", "contains leftover data")


def find_ap_types() -> Path:
    """Folder holding ``ap_int.h`` and ``hls_stream.h``.

    ``$FPGAGEN_AP_TYPES`` if set, else ``<hls4ml>/templates/vivado/ap_types`` (found without
    importing hls4ml). Raises :class:`SimulationError` when neither exists.
    """
    env = os.environ.get("FPGAGEN_AP_TYPES")
    if env:
        p = Path(env)
        if not (p / "ap_int.h").is_file() or not (p / "hls_stream.h").is_file():
            raise SimulationError(
                f"FPGAGEN_AP_TYPES={env} has no ap_int.h and hls_stream.h; "
                "point it at a folder with the Xilinx ap_types headers"
            )
        return p
    try:
        spec = importlib.util.find_spec("hls4ml")
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for loc in locations:
        p = Path(loc) / "templates" / "vivado" / "ap_types"
        if (p / "ap_int.h").is_file() and (p / "hls_stream.h").is_file():
            return p
    raise SimulationError(
        "the Xilinx ap_types headers (ap_int.h, hls_stream.h) were not found; "
        "run `pip install hls4ml` (it ships them) or set FPGAGEN_AP_TYPES"
    )


def _cxx() -> str:
    cxx = os.environ.get("CXX") or "g++"
    found = shutil.which(cxx)
    if found is None:
        raise SimulationError(f"C++ compiler {cxx!r} not found; install g++ or set CXX")
    return found


def default_cache_root() -> Path:
    """``$FPGAGEN_CACHE/hls`` (default ``~/.cache/fpgagen/hls``)."""
    base = os.environ.get("FPGAGEN_CACHE") or str(Path.home() / ".cache" / "fpgagen")
    return Path(base) / "hls"


def _sources(hls_dir: Path) -> list[Path]:
    return sorted(p for p in hls_dir.rglob("*") if p.is_file() and p.suffix in (".h", ".cpp"))


def _compiler_id(cxx: str) -> str:
    try:
        out = subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        raise SimulationError(f"cannot run {cxx} --version ({e})") from None
    return (out.stdout.strip().splitlines() or ["?"])[0]


def _first_error(stderr: str) -> str:
    lines = [l.strip() for l in stderr.splitlines() if l.strip()]
    for l in lines:
        if "error" in l.lower():
            return l[:400]
    return lines[0][:400] if lines else "no compiler output"


def compile_hls(hls_dir, top: str, extra_flags=(), cache_root=None) -> Path:
    """Compile ``<top>.cpp`` + ``tb.cpp`` of ``hls_dir`` (cached); returns the executable.

    Raises :class:`SimulationError` with the first compiler error line on failure.
    """
    hls_dir = Path(hls_dir).resolve()
    srcs = [hls_dir / f"{top}.cpp", hls_dir / "tb.cpp"]
    for s in srcs:
        if not s.is_file():
            raise SimulationError(
                f"{s} does not exist; write the HLS design first (fpgagen.codegen.hls.write_hls)"
            )
    cxx = _cxx()
    ap = find_ap_types()
    flags = list(CXXFLAGS) + list(extra_flags)
    h = hashlib.sha256()
    for p in _sources(hls_dir):
        h.update(str(p.relative_to(hls_dir)).encode() + b"\0" + p.read_bytes() + b"\0")
    apint = ap / "ap_int.h"
    h.update(
        repr(
            (
                top,
                flags,
                cxx,
                _compiler_id(cxx),
                str(ap),
                apint.stat().st_size,
                apint.stat().st_mtime_ns,
            )
        ).encode()
    )
    key = h.hexdigest()[:20]
    root = Path(cache_root or default_cache_root())
    build = root / f"{top}-{key}"
    exe = build / "csim"
    if exe.is_file():
        return exe
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{top}-{key}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cmd = [
        cxx,
        *flags,
        "-isystem",
        str(ap),
        "-I",
        str(hls_dir),
        *map(str, srcs),
        "-o",
        str(tmp / "csim"),
    ]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    except subprocess.TimeoutExpired:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SimulationError(
            f"g++ did not finish compiling the HLS C simulation of {top} within 30 minutes"
        ) from None
    if res.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SimulationError(
            f"g++ failed to compile the HLS C simulation of {top}: {_first_error(res.stderr)}"
        )
    (tmp / "compile.log").write_text(" ".join(cmd) + "\n" + res.stderr)
    try:
        os.rename(tmp, build)
    except OSError:  # another process cached the same build meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
        if not exe.is_file():
            raise SimulationError(f"cannot store the HLS C simulation build in {build}") from None
    return exe


def simulate_hls(outdir, dataflow, codes: np.ndarray) -> np.ndarray:
    """Run the HLS C simulation of ``outdir/hls`` on ``codes``.

    ``codes``: ``(N, channels)`` integer input codes (as ``dataflow.hw_input`` gives them).
    Returns the hardware outputs as ``(N, channels_out)`` int64, comparable with
    ``dataflow.run_layers(codes)``. Raises :class:`SimulationError` (one line) when the design
    does not compile or the simulation fails.
    """
    from ..codegen.hls import HLS_DIR
    from ..codegen.rtl import top_name

    outdir = Path(outdir).resolve()
    hls_dir = outdir / HLS_DIR
    top = top_name(dataflow)
    first, last = dataflow.layers[0], dataflow.layers[-1]
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[0] < 1:
        raise SimulationError(
            f"codes must be a non-empty (N, channels) array, got shape {codes.shape}"
        )
    n = codes.shape[0]
    channels = (
        first.in_vectors() if hasattr(first, "in_vectors") else first.num_vectors
    ) * first.in_channels
    if codes.shape[1] != channels:
        raise SimulationError(
            f"codes have {codes.shape[1]} channels per frame, {top} takes {channels}"
        )
    exe = compile_hls(hls_dir, top)

    run_dir = hls_dir / "csim_run"
    run_dir.mkdir(parents=True, exist_ok=True)
    words = packing.pack(codes, first.in_dtype, first.in_elems)
    (run_dir / "input.hex").write_text("\n".join(packing.to_hex(words, first.in_width)) + "\n")
    out_path = run_dir / "output.hex"
    if out_path.exists():
        out_path.unlink()
    try:
        res = subprocess.run(
            [str(exe), "input.hex", "output.hex"],
            cwd=run_dir,
            capture_output=True,
            text=True,
            timeout=3600,
        )
    except subprocess.TimeoutExpired:
        raise SimulationError(f"HLS C simulation of {top} did not finish within an hour") from None
    (run_dir / "csim.log").write_text(res.stdout + res.stderr)
    if res.returncode != 0:
        msg = (res.stderr.strip().splitlines() or [f"exit status {res.returncode}"])[0]
        raise SimulationError(f"HLS C simulation of {top} failed: {msg}")
    for line in res.stdout.splitlines():
        if any(e in line for e in _STREAM_ERRORS):
            raise SimulationError(f"HLS C simulation of {top}: {line.strip()}")
    lines = [l for l in out_path.read_text().split() if l]
    n_out = n * last.out_words_per_frame
    if len(lines) != n_out:
        raise SimulationError(
            f"HLS C simulation of {top} wrote {len(lines)} output words, expected {n_out}"
        )
    out_words = packing.from_hex(lines, packing.axis_width(last.out_width))
    vals = packing.unpack(out_words, last.out_dtype, last.out_elems)
    return vals.reshape(n, -1).astype(np.int64)
