"""Simulated devices: the kernel emulated in Verilator (``emu``) or modelled in Python (``golden``).

Both are :class:`~fpgagen.runtime.devices.RegisterDevice` s, so the accelerator drives them
exactly as it drives a board: buffers at device addresses in a simulated memory, the abi
register map, ap_start, polling ap_done, STATUS. Only the kernel behind the registers
differs:

* ``emu``: :class:`fpgagen.sim.kernel_emu.KernelEmulator`, the build's kernel RTL in
  Verilator with a C++ memory model (slow, cycle-accurate);
* ``golden``: :class:`GoldenKernel`, a Python model of the kernel's registers and memory whose
  ap_start unpacks the input buffer, runs the bit-exact golden model of the build and packs
  the results into the output buffer (fast).

Both need the build folder (``OUTDIR``, the deploy folder's parent) and fpgagen.
"""

from __future__ import annotations

import numpy as np

from .. import abi, packing
from ..errors import DeployError
from .deploy import design_hash
from .devices import Buffer, RegisterDevice

__all__ = ["GoldenKernel", "SimDevice", "SparseMemory", "open_sim_device"]

PAGE = 4096


class SparseMemory:
    """Byte-addressed memory of 4 KB pages created on first write (unwritten bytes read 0)."""

    def __init__(self):
        self.pages: dict = {}

    def write(self, addr: int, data: bytes) -> None:
        data = memoryview(bytes(data))
        pos = 0
        while pos < len(data):
            a = addr + pos
            page, off = divmod(a, PAGE)
            k = min(PAGE - off, len(data) - pos)
            buf = self.pages.setdefault(page, bytearray(PAGE))
            buf[off : off + k] = data[pos : pos + k]
            pos += k

    def read(self, addr: int, nbytes: int) -> bytes:
        out = bytearray(nbytes)
        pos = 0
        while pos < nbytes:
            a = addr + pos
            page, off = divmod(a, PAGE)
            k = min(PAGE - off, nbytes - pos)
            buf = self.pages.get(page)
            if buf is not None:
                out[pos : pos + k] = buf[off : off + k]
            pos += k
        return bytes(out)


class GoldenKernel:
    """A Python model of the kernel with the interface of ``KernelEmulator``.

    Registers as in :mod:`fpgagen.abi` (CTRL ap_start/ap_done clear-on-read/ap_idle/ap_ready,
    GIE, IER, ISR toggle-on-write, buffer addresses, N, STATUS). ap_start reads ``N`` frames
    from the input address (dense buffer of the first layer's stream words), runs the build's
    golden model and, ``N * cycles_per_frame`` cycles later (advanced by :meth:`step`), writes
    the output buffer and raises ap_done. ``error_at=(lo, hi)``: a buffer overlapping that
    address range gets an error response (STATUS bit set, the kernel still finishes).
    """

    def __init__(self, df, bus_bits: int, *, error_at=None):
        self.df = df
        self.bus_bits = int(bus_bits)
        first, last = df.layers[0], df.layers[-1]
        self._in = (first.in_dtype, first.in_elems, first.in_width, first.in_words_per_frame)
        self._out = (last.out_dtype, last.out_elems, last.out_width, last.out_words_per_frame)
        self.cycles_per_frame = int(df.expected_cycles())
        self.error_at = error_at
        self.mem = SparseMemory()
        self.regs = {r: 0 for r in (abi.REG_GIE, abi.REG_IER, abi.REG_ISR, abi.REG_N)}
        self.regs.update(dict.fromkeys((abi.REG_IN_LO, abi.REG_IN_HI, abi.REG_OUT_LO), 0))
        self.regs[abi.REG_OUT_HI] = 0
        self.regs.update(dict.fromkeys((abi.REG_WGT_LO, abi.REG_WGT_HI), 0))
        self.status = 0
        self.status_vld = False  # STATUS_CTRL bit 0: set when a run ends, cleared on read
        self.idle, self.done, self.auto_restart = True, False, False
        self._finish_at = None
        self._pending = None
        self.cycles = 0
        self.log: list = []  # (op, offset, value) of every register access

    # -- the interface of KernelEmulator -----------------------------------------------------
    def write_reg(self, offset: int, value: int) -> None:
        value = int(value) & 0xFFFFFFFF
        self.log.append(("write", offset, value))
        if offset == abi.REG_CTRL:
            self.auto_restart = bool(value & abi.CTRL_AUTO_RESTART)
            if value & abi.CTRL_START and self.idle:
                self._start()
        elif offset == abi.REG_ISR:
            self.regs[abi.REG_ISR] ^= value & 0x3
        elif offset in self.regs:
            self.regs[offset] = value

    def read_reg(self, offset: int) -> int:
        if offset == abi.REG_CTRL:
            v = (abi.CTRL_DONE if self.done else 0) | (abi.CTRL_IDLE if self.idle else 0)
            v |= abi.CTRL_READY if self.idle else 0
            v |= abi.CTRL_AUTO_RESTART if self.auto_restart else 0
            v |= 0 if self.idle else abi.CTRL_START
            self.done = False  # clear on read
        elif offset == abi.REG_STATUS:
            v = self.status
        elif offset == abi.REG_STATUS_CTRL:
            v, self.status_vld = int(self.status_vld), False
        else:
            v = self.regs.get(offset, 0)
        self.log.append(("read", offset, v))
        return v

    def write_mem(self, addr: int, data: bytes) -> None:
        self.mem.write(addr, data)

    def read_mem(self, addr: int, nbytes: int) -> bytes:
        return self.mem.read(addr, nbytes)

    def step(self, cycles: int) -> None:
        self.cycles += int(cycles)
        if self._finish_at is not None and self.cycles >= self._finish_at:
            self._finish()

    def wait_interrupt(self, max_cycles: int) -> int:
        """Advance until the interrupt output is high; returns the cycle count then."""
        end = self.cycles + int(max_cycles)
        while not self.interrupt:
            if self.cycles >= end:
                raise DeployError(f"golden kernel: no interrupt within {max_cycles} cycles")
            self.step(max(1, min(end - self.cycles, (self._finish_at or end) - self.cycles)))
        return self.cycles

    @property
    def interrupt(self) -> bool:
        """Level of the ``interrupt`` output: GIE and an ISR bit enabled in IER."""
        r = self.regs
        return bool(r[abi.REG_GIE] & 1 and r[abi.REG_ISR] & r[abi.REG_IER] & 0x3)

    def close(self) -> None:
        pass

    # -- behaviour ----------------------------------------------------------------------------
    def _addr(self, lo: int, hi: int) -> int:
        return self.regs[lo] | (self.regs[hi] << 32)

    def _hits_error(self, addr: int, nbytes: int) -> bool:
        if self.error_at is None or nbytes == 0:
            return False
        lo, hi = self.error_at
        return addr < hi and lo < addr + nbytes

    def _start(self) -> None:
        n = self.regs[abi.REG_N]
        self.idle, self.done, self.status = False, False, 0
        in_addr = self._addr(abi.REG_IN_LO, abi.REG_IN_HI)
        out_addr = self._addr(abi.REG_OUT_LO, abi.REG_OUT_HI)
        self._check_weights()
        dt, elems, width, wpf = self._in
        in_bytes = abi.buffer_bytes(n, wpf, width, self.bus_bits)
        if self._hits_error(in_addr, in_bytes):
            self.status |= abi.STATUS_READ_ERROR
        raw = np.frombuffer(self.mem.read(in_addr, in_bytes), dtype=np.uint8)
        words = packing.unpack_buffer(raw, n * wpf, width)
        codes = packing.unpack(words, dt, elems).reshape(n, -1) if n else None
        dt, elems, width, wpf = self._out
        if n:
            hw = self.df.run_layers(codes)
            outw = packing.pack(hw.reshape(-1), dt, elems)
            buf = packing.pack_buffer(outw, width, self.bus_bits).tobytes()
        else:
            buf = b""
        if self._hits_error(out_addr, len(buf)):
            self.status |= abi.STATUS_WRITE_ERROR
        self._pending = (out_addr, buf)
        self._finish_at = self.cycles + n * self.cycles_per_frame + 1

    def _check_weights(self) -> None:
        """External or UltraRAM weights: the golden model does not read them, so check instead that the
        weight buffer at WGT_LO/WGT_HI holds exactly the design's weight image (as the RTL
        kernel needs it)."""
        from ..codegen.kernel import uses_weight_buffer, weight_layout

        if not any(uses_weight_buffer(l) for l in self.df.layers):
            return

        _, image = weight_layout(self.df, self.bus_bits)
        addr = self._addr(abi.REG_WGT_LO, abi.REG_WGT_HI)
        if self.mem.read(addr, len(image)) != image:
            raise DeployError(
                f"golden: the weight buffer at WGT 0x{addr:x} does not hold the design's weight "
                f"image ({len(image)} bytes): the driver must copy deploy/{abi.WEIGHTS_FILE} to "
                "a device buffer and program WGT_LO/WGT_HI before ap_start"
            )

    def _finish(self) -> None:
        out_addr, buf = self._pending
        if not self.status & abi.STATUS_WRITE_ERROR:
            self.mem.write(out_addr, buf)
        self._pending, self._finish_at = None, None
        self.idle, self.done, self.status_vld = True, True, True
        if self.regs[abi.REG_IER] & 1:
            self.regs[abi.REG_ISR] |= 1


class SimDevice(RegisterDevice):
    """A register device over a simulated kernel (``KernelEmulator`` or :class:`GoldenKernel`):
    buffers are host arrays mirrored at addresses from ``base_addr`` (4 KB aligned; the
    default lies above 4 GB so the high address words matter) into the kernel's memory."""

    def __init__(
        self,
        kernel,
        name: str,
        cycles_per_frame: int,
        base_addr: int = 0x1_0000_0000,
        max_cycles_per_frame: int | None = None,
    ):
        self.kernel = kernel
        self.name = name
        self.cycles_per_frame = max(1, int(cycles_per_frame))
        self.max_cycles_per_frame = max_cycles_per_frame or 20 * self.cycles_per_frame + 2000
        self._next = int(base_addr)
        self._start_cycle = 0
        self.default_timeout_s = 1e9  # the cycle budget of pause() detects a hung kernel

    @property
    def cycles(self) -> int | None:
        """Kernel cycles since reset (emu); None for the golden model, whose time is a model."""
        return None if isinstance(self.kernel, GoldenKernel) else int(self.kernel.cycles)

    def alloc(self, nbytes: int, cu: int = 0, arg: int = 0) -> Buffer:
        addr = self._next
        self._next += -(-int(nbytes) // PAGE) * PAGE + PAGE  # a guard page between buffers
        return Buffer(np.zeros(int(nbytes), dtype=np.uint8), addr, None, cu)

    def to_device(self, buf: Buffer, nbytes: int) -> None:
        self.kernel.write_mem(buf.addr, buf.host[:nbytes].tobytes())

    def from_device(self, buf: Buffer, nbytes: int) -> None:
        buf.host[:nbytes] = np.frombuffer(self.kernel.read_mem(buf.addr, nbytes), dtype=np.uint8)

    def write_reg(self, cu: int, offset: int, value: int) -> None:
        self.kernel.write_reg(offset, value)

    def read_reg(self, cu: int, offset: int) -> int:
        return int(self.kernel.read_reg(offset))

    def start(self, cu, inbuf, outbuf, n):
        self._start_cycle = int(self.kernel.cycles)
        return super().start(cu, inbuf, outbuf, n)

    def pause(self, handle) -> None:
        _, n = handle
        budget = max(1, n) * self.max_cycles_per_frame
        if int(self.kernel.cycles) - self._start_cycle > budget:
            raise DeployError(
                f"device {self.name}: the kernel did not finish {n} frames within {budget} "
                "cycles (20x the expected cycles); the kernel hangs"
            )
        # small steps: the cycle count at the poll that sees ap_done overshoots by < 1/64
        self.kernel.step(max(16, n * self.cycles_per_frame // 64))

    def close(self) -> None:
        self.kernel.close()


def open_sim_device(design, device: str, **options) -> SimDevice:
    """The ``golden`` or ``emu`` device for a deploy folder (options: see the classes)."""
    build = (design.dir / design.raw.get("build_dir", "..")).resolve()
    if not (build / "dataflow.json").is_file():
        raise DeployError(
            f"{build}: no dataflow.json; device {device} needs the build folder that wrote "
            f"{design.dir} (keep the deploy folder inside OUTDIR, or use pynq/xrt on a board)"
        )
    ours = design_hash(build)
    if ours != design.design_hash:
        raise DeployError(
            f"{design.path}: design_hash {design.design_hash} does not match the sources in "
            f"{build} ({ours}); rebuild with `fpgagen build`"
        )
    base = options.pop("base_addr", 0x1_0000_0000)
    cpf = int(design.raw.get("expected_cycles_per_frame", 1))
    if device == "golden":
        from ..flow import load_build

        df, _ = load_build(build)
        kernel = GoldenKernel(df, design.bus_bits, **options)
        return SimDevice(kernel, "golden", cpf, base)
    if device == "emu":
        try:
            from ..sim.kernel_emu import KernelEmulator
        except ImportError:
            raise DeployError(
                "device emu needs fpgagen.sim.kernel_emu, which this fpgagen does not have"
            ) from None
        return SimDevice(KernelEmulator(build, **options), "emu", cpf, base)
    raise DeployError(f"unknown simulated device {device!r}; use golden or emu")
