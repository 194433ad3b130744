"""Fast emulation of the memory-mapped kernel ``fpgagen_kernel`` (no Python per clock cycle).

:func:`build_emulator` compiles OUTDIR's kernel RTL (``dataflow.json`` "kernel" sources) with
Verilator together with ``kernel_emu_main.cpp``: a C++ model of DDR memory on the kernel's
AXI4 master (sparse byte memory, a configurable latency per burst, several bursts
outstanding, random withholding of every ready/valid it drives, an optional SLVERR address
range, protocol checks) and an AXI4-Lite master on its control port. The executable is cached
under ``$FPGAGEN_CACHE/verilator/kernel_emu-<hash of every source>`` (the weights are read at
run time from ``rtl/mem``, so designs that differ only in weights share it).

:class:`KernelEmulator` runs it and talks to it over stdin/stdout, one request per line.
Register accesses are real AXI4-Lite transactions that take clock cycles, as on hardware
(reading CTRL clears ap_done). :func:`run_batch` drives one batch through it exactly as the
drivers do (abi.py register map, packing.pack_buffer buffers).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from .. import abi, packing
from ..errors import FpgagenError, SimulationError
from .runner import default_build_root, ensure_verilator

__all__ = ["KernelEmulator", "KernelRun", "build_emulator", "run_batch"]

_MAIN = Path(__file__).with_name("kernel_emu_main.cpp")
#: buffers of run_batch (aligned to 4 KB, far apart)
IN_BASE = 0x1_0000_0000
OUT_BASE = 0x2_0000_0000
WGT_BASE = 0x3_0000_0000


def _kernel_meta(outdir: Path) -> dict:
    meta_path = outdir / "dataflow.json"
    if not meta_path.is_file():
        raise FpgagenError(f"{outdir}: not an fpgagen build folder (no dataflow.json)")
    meta = json.loads(meta_path.read_text())
    k = meta.get("kernel")
    if not k:
        raise FpgagenError(
            f"{outdir}: has no RTL kernel (dataflow.json 'kernel' is empty); rebuild with "
            "--backend rtl or --backend both"
        )
    return k


def build_emulator(outdir) -> Path:
    """Compile (or find in the cache) the emulator of OUTDIR's kernel; returns the executable."""
    outdir = Path(outdir).resolve()
    k = _kernel_meta(outdir)
    sources = [outdir / s for s in k["sources"]]
    for s in sources:
        if not s.is_file():
            raise FpgagenError(f"{s}: kernel source missing; rebuild {outdir}")
    info = ensure_verilator()
    h = hashlib.sha256()
    for s in sources + [_MAIN]:
        h.update(s.name.encode() + b"\0" + s.read_bytes() + b"\0")
    h.update(f"{info.version_str} {k['bus_bits']} {os.environ.get('CXX', '')}".encode())
    key = h.hexdigest()[:20]
    root = default_build_root()
    build_dir = root / f"kernel_emu-{key}"
    exe = build_dir / "kernel_emu"
    if exe.is_file():
        return exe
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".kernel_emu-{key}.", dir=root))
    cmd = [
        str(info.executable),
        "--cc",
        "--exe",
        "--build",
        "-Wno-fatal",
        "-Wno-lint",
        "-Wno-style",
        "--x-assign",
        "fast",
        "--x-initial",
        "fast",
        "-O3",
        "--top-module",
        abi.KERNEL_NAME,
        "-CFLAGS",
        f"-DBUS_BYTES={k['bus_bits'] // 8} -O2",
        "--Mdir",
        str(tmp / "obj"),
        "-o",
        "kernel_emu",
        *[str(s) for s in sources],
        str(_MAIN),
    ]
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=tmp)
    built = tmp / "obj" / "kernel_emu"
    if r.returncode != 0 or not built.is_file():
        log = tmp / "build.log"
        log.write_text(r.stdout + r.stderr)
        errors = [
            ln for ln in (r.stdout + r.stderr).splitlines() if "%Error" in ln or "error:" in ln
        ]
        raise SimulationError(
            f"Verilator build of the kernel emulator failed: "
            f"{errors[0].strip() if errors else 'see log'} (log: {log})"
        )
    shutil.copy(built, tmp / "kernel_emu")
    shutil.rmtree(tmp / "obj", ignore_errors=True)
    (tmp / "build_seconds.txt").write_text(f"{time.monotonic() - t0:.2f}\n")
    try:
        os.rename(tmp, build_dir)
    except OSError:  # built concurrently: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return exe


class KernelEmulator:
    """The kernel of a build folder in Verilator, with a simulated memory.

    ``latency``: cycles from a burst's address handshake to its first data (read) or its
    response (write); ``stall``: probability (0..1) that the memory withholds each of its
    ready/valid signals in a cycle (random back-pressure and pauses on every channel,
    seeded by ``seed``); ``outstanding``: bursts per direction the memory accepts at once;
    ``error_at``: ``(lo, hi)`` byte range whose bursts get SLVERR responses.
    """

    def __init__(
        self,
        outdir,
        *,
        latency: int = 20,
        seed: int = 1,
        stall: float = 0.0,
        error_at: tuple[int, int] | None = None,
        outstanding: int = 8,
    ):
        self.outdir = Path(outdir).resolve()
        self.meta = _kernel_meta(self.outdir)
        if not 0 <= stall < 1:
            raise FpgagenError(f"stall={stall} must be in [0, 1)")
        exe = build_emulator(self.outdir)
        args = [
            str(exe),
            "--latency",
            str(int(latency)),
            "--stall",
            str(round(stall * 1000)),
            "--seed",
            str(int(seed)),
            "--outstanding",
            str(int(outstanding)),
        ]
        if error_at is not None:
            args += ["--error-lo", str(int(error_at[0])), "--error-hi", str(int(error_at[1]))]
        self._tmp = Path(tempfile.mkdtemp(prefix="fpgagen-emu-"))
        # $readmemh paths are relative to rtl/ (mem/<file>)
        self._proc = subprocess.Popen(
            args,
            cwd=self.outdir / "rtl",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        first = self._proc.stdout.readline().strip()
        if first != "ready":
            err = self._proc.stderr.read() if self._proc.poll() is not None else ""
            raise SimulationError(f"kernel emulator did not start: {first!r} {err.strip()[:300]}")

    # -- line protocol ------------------------------------------------------------------------
    def _ask(self, line: str) -> str:
        if self._proc is None:
            raise SimulationError("the kernel emulator is closed")
        try:
            self._proc.stdin.write(line + "\n")
            self._proc.stdin.flush()
            ans = self._proc.stdout.readline()
        except BrokenPipeError:
            ans = ""
        if not ans:
            err = self._proc.stderr.read() if self._proc.poll() is not None else ""
            raise SimulationError(f"kernel emulator died on {line[:40]!r}: {err.strip()[:300]}")
        ans = ans.strip()
        if ans.startswith("error"):
            raise SimulationError(f"kernel emulator: {ans}")
        return ans

    def write_reg(self, offset: int, value: int) -> None:
        """AXI4-Lite write of a 32-bit register (all byte strobes), as a driver does."""
        self._ask(f"W {offset:x} {value & 0xFFFFFFFF:x}")

    def read_reg(self, offset: int) -> int:
        """AXI4-Lite read of a 32-bit register (reading CTRL clears ap_done, as on hardware)."""
        return int(self._ask(f"R {offset:x}"), 16)

    def write_mem(self, addr: int, data) -> None:
        """Host -> simulated DDR."""
        if not isinstance(data, bytes):
            data = bytes(np.asarray(data, dtype=np.uint8).ravel())
        if not data:
            return
        if len(data) <= 4096:
            self._ask(f"M {addr:x} {data.hex()}")
            return
        p = self._tmp / "in.bin"
        p.write_bytes(data)
        self._ask(f"MF {addr:x} {len(data):x} {p}")

    def read_mem(self, addr: int, nbytes: int) -> bytes:
        """Simulated DDR -> host."""
        if nbytes <= 4096:
            return bytes.fromhex(self._ask(f"D {addr:x} {nbytes:x}")) if nbytes else b""
        p = self._tmp / "out.bin"
        self._ask(f"DF {addr:x} {nbytes:x} {p}")
        return p.read_bytes()

    def step(self, cycles: int) -> None:
        """Advance the clock by ``cycles`` cycles."""
        if cycles > 0:
            self._ask(f"S {int(cycles):x}")

    def wait_done(self, max_cycles: int) -> int:
        """Poll CTRL (AXI-Lite reads, as a polling driver does) until ap_done is seen; returns
        the cycle count then. Raises SimulationError after ``max_cycles`` cycles (a hang)."""
        ans = self._ask(f"POLL {int(max_cycles):x}").split()
        if ans[0] != "ok":
            raise SimulationError(
                f"the kernel did not finish within {max_cycles} cycles (ap_done never set)"
            )
        return int(ans[1], 16)

    def wait_interrupt(self, max_cycles: int) -> int:
        """Advance until the interrupt output is high; returns the cycle count then."""
        ans = self._ask(f"IRQ {int(max_cycles):x}").split()
        if ans[0] != "ok":
            raise SimulationError(f"no interrupt within {max_cycles} cycles")
        return int(ans[1], 16)

    @property
    def cycles(self) -> int:
        """Clock cycles since reset."""
        return int(self._ask("C"))

    def stats(self) -> dict:
        """Memory-side counters: bursts, beats, most bursts outstanding, error bursts, protocol
        violations (4 KB crossings, WLAST misplaced, wrong size/alignment) and the first one."""
        ans = self._ask("STATS")
        head, _, first = ans.partition(" first_violation=")
        d = {k: int(v) for k, v in (kv.split("=") for kv in head.split())}
        d["first_violation"] = first
        return d

    def close(self) -> None:
        if self._proc is not None:
            try:
                self._proc.stdin.write("Q\n")
                self._proc.stdin.flush()
            except (BrokenPipeError, OSError):
                pass
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            for f in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
                f.close()
            self._proc = None
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class KernelRun:
    """Result of :func:`run_batch`: output words, cycles from ap_start to ap_done, STATUS."""

    def __init__(self, words, cycles, status, stats):
        self.words = words
        self.cycles = cycles
        self.status = status
        self.stats = stats


def run_batch(
    emu: KernelEmulator,
    in_words: np.ndarray,
    n_frames: int,
    *,
    in_addr: int = IN_BASE,
    out_addr: int = OUT_BASE,
    max_cycles: int | None = None,
    wgt_addr: int = WGT_BASE,
) -> KernelRun:
    """One batch through the kernel as a driver does it: pack the input words
    (``packing.pack_buffer``), write the buffer, program IN/OUT/N (and, for a kernel with
    external weights, write the weight image to ``wgt_addr`` and program WGT_LO/WGT_HI), write
    ap_start, poll CTRL until ap_done, read STATUS and the output buffer and unpack it."""
    k = emu.meta
    bus = k["bus_bits"]
    buf = packing.pack_buffer(in_words, k["in_word_bits"], bus) if n_frames else b""
    n_out_words = n_frames * k["out_words_per_frame"]
    out_bytes = abi.buffer_bytes(n_frames, k["out_words_per_frame"], k["out_word_bits"], bus)
    emu.write_mem(in_addr, buf)
    emu.write_reg(abi.REG_IN_LO, in_addr & 0xFFFFFFFF)
    emu.write_reg(abi.REG_IN_HI, in_addr >> 32)
    emu.write_reg(abi.REG_OUT_LO, out_addr & 0xFFFFFFFF)
    emu.write_reg(abi.REG_OUT_HI, out_addr >> 32)
    emu.write_reg(abi.REG_N, n_frames)
    wts = k.get("weights")
    if wts:
        emu.write_mem(wgt_addr, (emu.outdir / wts["file"]).read_bytes())
        emu.write_reg(abi.REG_WGT_LO, wgt_addr & 0xFFFFFFFF)
        emu.write_reg(abi.REG_WGT_HI, wgt_addr >> 32)
    t0 = emu.cycles
    emu.write_reg(abi.REG_CTRL, abi.CTRL_START)
    if max_cycles is None:
        in_bits = n_frames * k["in_words_per_frame"] * k["in_word_bits"]
        w_bits = n_frames * (wts["bits_per_frame"] if wts else 0)
        max_cycles = 200_000 + 400 * (
            in_bits // bus + out_bytes * 8 // bus + w_bits // bus + n_frames
        )
    t1 = emu.wait_done(max_cycles)
    status = emu.read_reg(abi.REG_STATUS)
    raw = emu.read_mem(out_addr, out_bytes)
    words = packing.unpack_buffer(np.frombuffer(raw, np.uint8), n_out_words, k["out_word_bits"])
    return KernelRun(words, t1 - t0, status, emu.stats())
