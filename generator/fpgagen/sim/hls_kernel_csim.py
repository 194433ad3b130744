"""Bit-exact C simulation of the HLS kernel top ``fpgagen_kernel`` with g++.

:func:`simulate_hls_kernel` compiles ``hls/fpgagen_kernel.cpp``, the stream top
``hls/<design>_top.cpp`` and ``hls/kernel_tb.cpp`` (with the flags and the ap_types headers of
:mod:`fpgagen.sim.hls_csim`; cached under ``$FPGAGEN_CACHE/hls_csim`` by a hash of every
source), packs the input codes into a dense buffer (``packing.pack_buffer``), runs the
testbench, which calls ``fpgagen_kernel(in, out, n, &status[, w])`` as the Vitis kernel is
called (``w``: the weight buffer image ``hls/weights.bin`` of a design with external or
UltraRAM weights), and unpacks the dense output buffer.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from .. import packing
from ..errors import SimulationError
from .hls_csim import (
    _STREAM_ERRORS,
    CXXFLAGS,
    _compiler_id,
    _cxx,
    _first_error,
    _sources,
    default_cache_root,
    find_ap_types,
)

__all__ = ["compile_hls_kernel", "simulate_hls_kernel"]


def compile_hls_kernel(hls_dir, core_top: str, cache_root=None) -> Path:
    """Compile the kernel's C simulation (cached); returns the executable."""
    hls_dir = Path(hls_dir).resolve()
    srcs = [hls_dir / "fpgagen_kernel.cpp", hls_dir / f"{core_top}.cpp", hls_dir / "kernel_tb.cpp"]
    for s in srcs:
        if not s.is_file():
            raise SimulationError(f"{s} does not exist; rebuild with --backend hls or both")
    cxx, ap = _cxx(), find_ap_types()
    h = hashlib.sha256(b"fpgagen_kernel\0")
    for p in sorted(set(_sources(hls_dir)) | set(srcs)):
        h.update(str(p.relative_to(hls_dir)).encode() + b"\0" + p.read_bytes() + b"\0")
    h.update(repr((CXXFLAGS, cxx, _compiler_id(cxx), str(ap))).encode())
    key = h.hexdigest()[:20]
    root = Path(cache_root or default_cache_root())
    build = root / f"fpgagen_kernel-{key}"
    exe = build / "kernel_csim"
    if exe.is_file():
        return exe
    tmp = root / f".fpgagen_kernel-{key}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cmd = [cxx, *CXXFLAGS, "-isystem", str(ap), "-I", str(hls_dir), *map(str, srcs)]
    cmd += ["-o", str(tmp / "kernel_csim")]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    except subprocess.TimeoutExpired:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SimulationError("g++ did not compile the HLS kernel within 30 minutes") from None
    if res.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SimulationError(f"g++ failed to compile the HLS kernel: {_first_error(res.stderr)}")
    try:
        os.rename(tmp, build)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    return exe


def simulate_hls_kernel(outdir, dataflow, codes: np.ndarray, meta: dict) -> np.ndarray:
    """Run ``codes`` ``(N, channels)`` through the HLS kernel's C simulation; returns the
    hardware outputs ``(N, channels_out)`` int64. ``meta``: dataflow.json's "kernel_hls"."""
    outdir = Path(outdir).resolve()
    hls_dir = outdir / "hls"
    first, last = dataflow.layers[0], dataflow.layers[-1]
    n = codes.shape[0]
    exe = compile_hls_kernel(hls_dir, meta["core_top"])
    run_dir = hls_dir / "kernel_csim_run"
    run_dir.mkdir(parents=True, exist_ok=True)
    words = packing.pack(codes, first.in_dtype, first.in_elems)
    buf = packing.pack_buffer(words, meta["in_word_bits"], meta["bus_bits"])
    (run_dir / "in.bin").write_bytes(bytes(buf))
    out_path = run_dir / "out.bin"
    out_path.unlink(missing_ok=True)
    args = [str(exe), "in.bin", str(n), "out.bin"]
    if meta.get("weights"):  # the weight buffer image the kernel reads through `w`
        args.append(str(outdir / meta["weights"]["file"]))
    try:
        res = subprocess.run(
            args,
            cwd=run_dir,
            capture_output=True,
            text=True,
            timeout=3600,
        )
    except subprocess.TimeoutExpired:
        raise SimulationError("HLS kernel C simulation did not finish within an hour") from None
    if res.returncode != 0:
        msg = (res.stderr.strip().splitlines() or [f"exit status {res.returncode}"])[0]
        raise SimulationError(f"HLS kernel C simulation failed: {msg}")
    for line in res.stdout.splitlines():
        if any(e in line for e in _STREAM_ERRORS):
            raise SimulationError(f"HLS kernel C simulation: {line.strip()}")
    raw = np.frombuffer(out_path.read_bytes(), np.uint8)
    out_words = packing.unpack_buffer(raw, n * last.out_words_per_frame, meta["out_word_bits"])
    vals = packing.unpack(out_words, last.out_dtype, last.out_elems)
    return vals.reshape(n, -1).astype(np.int64)
