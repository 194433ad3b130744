"""Devices: how buffers are allocated and moved and how the kernel is started and awaited.

Every device offers the same small interface to :class:`fpgagen.runtime.Accelerator`
(:class:`Device`); they differ only in how they do it:

* :class:`RegisterDevice` drives the kernel through its AXI4-Lite registers exactly as
  :mod:`fpgagen.abi` lays them out: check ap_idle, write the input and output buffer
  addresses (low and high words) and the frame count, write ap_start, poll CTRL until ap_done
  (reading CTRL clears it), then read STATUS (AXI error responses; 0 on kernels without it).
  The board device :class:`PynqDevice` and the simulated devices (``emu``, ``golden``) are
  register devices.
* :class:`XrtDevice` lets XRT write the same registers (``pyxrt.kernel`` call ->
  ``pyxrt.run``, ``run.wait``); it spreads a batch over the compute units listed in the
  design's metadata (AWS F1).

``pynq`` and ``pyxrt`` are imported only when their device is opened; a missing one is a
one-line :class:`~fpgagen.errors.DeployError`. Numpy only otherwise: this module is vendored
into every deploy folder.
"""

from __future__ import annotations

import importlib
import time
from typing import ClassVar

import numpy as np

from .. import abi
from ..errors import DeployError

__all__ = ["Buffer", "Device", "PynqDevice", "RegisterDevice", "XrtDevice", "import_optional"]


def import_optional(module: str, device: str, hint: str):
    """Import ``module`` for ``device`` or raise a one-line DeployError saying what to do."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise DeployError(
            f"device {device} needs the Python package {module!r}, which is not installed; {hint}"
        ) from None


class Buffer:
    """A kernel buffer: ``host`` is its host-side uint8 view, ``addr`` its device address,
    ``handle`` the device library's object (``pynq`` buffer, ``pyxrt.bo``)."""

    def __init__(self, host: np.ndarray, addr: int, handle=None, cu: int = 0):
        self.host = host
        self.addr = int(addr)
        self.handle = handle
        self.cu = cu

    @property
    def size(self) -> int:
        return int(self.host.size)


class Device:
    """What the accelerator needs of a device (see the module docstring)."""

    name = "?"
    #: compute units (kernel instances) a batch can be spread over
    compute_units = 1
    #: wall-clock seconds one kernel run may take before it counts as hung
    default_timeout_s = 10.0
    #: the weight buffer of each compute unit (kernels with external weights), by cu
    weight_buffers: ClassVar[dict] = {}

    def set_weights(self, cu: int, buf: Buffer) -> None:
        """Use ``buf`` (already filled and synced) as compute unit ``cu``'s weight buffer."""
        self.weight_buffers = {**self.weight_buffers, cu: buf}

    def alloc(self, nbytes: int, cu: int = 0, arg: int = 0) -> Buffer:
        """A buffer of ``nbytes`` bytes for kernel argument ``arg`` (0 in, 1 out) of ``cu``."""
        raise NotImplementedError

    def free(self, buf: Buffer) -> None:
        """Release a buffer from :meth:`alloc`."""

    def to_device(self, buf: Buffer, nbytes: int) -> None:
        """Make the first ``nbytes`` host bytes visible to the kernel."""
        raise NotImplementedError

    def from_device(self, buf: Buffer, nbytes: int) -> None:
        """Make the first ``nbytes`` bytes the kernel wrote visible in ``buf.host``."""
        raise NotImplementedError

    def start(self, cu: int, inbuf: Buffer, outbuf: Buffer, n: int):
        """Start compute unit ``cu`` on ``n`` frames; returns a handle for :meth:`wait`."""
        raise NotImplementedError

    def wait(self, handle, timeout_s: float) -> None:
        """Block until the run of ``handle`` is done; DeployError on timeout or error."""
        raise NotImplementedError

    @property
    def cycles(self) -> int | None:
        """Kernel clock cycles since reset, where the device knows them (simulators)."""
        return None

    def close(self) -> None:
        """Release the device."""


class RegisterDevice(Device):
    """A device whose kernel is driven through the abi register map (see module doc)."""

    #: seconds between two polls of CTRL (0: poll as fast as the bus allows)
    poll_interval_s = 0.0
    #: the weight buffer address written to WGT_LO/WGT_HI of each compute unit
    _wgt_programmed: ClassVar[dict] = {}

    def write_reg(self, cu: int, offset: int, value: int) -> None:
        raise NotImplementedError

    def read_reg(self, cu: int, offset: int) -> int:
        raise NotImplementedError

    def pause(self, handle) -> None:
        """Called between two polls of CTRL while the kernel runs."""
        if self.poll_interval_s:
            time.sleep(self.poll_interval_s)

    def start(self, cu: int, inbuf: Buffer, outbuf: Buffer, n: int):
        ctrl = self.read_reg(cu, abi.REG_CTRL)
        if not ctrl & abi.CTRL_IDLE:
            raise DeployError(
                f"device {self.name}: the kernel is not idle (CTRL=0x{ctrl:x}); another program "
                "may be using it, or a previous run hung: reload the bitstream"
            )
        self.write_reg(cu, abi.REG_IN_LO, inbuf.addr & 0xFFFFFFFF)
        self.write_reg(cu, abi.REG_IN_HI, inbuf.addr >> 32)
        self.write_reg(cu, abi.REG_OUT_LO, outbuf.addr & 0xFFFFFFFF)
        self.write_reg(cu, abi.REG_OUT_HI, outbuf.addr >> 32)
        self.write_reg(cu, abi.REG_N, int(n))
        wbuf = self.weight_buffers.get(cu)
        if wbuf is not None and self._wgt_programmed.get(cu) != wbuf.addr:
            # written once per buffer: a new weight address makes the kernel (re)load its
            # UltraRAM weights at this start (docs/kernel.md)
            self.write_reg(cu, abi.REG_WGT_LO, wbuf.addr & 0xFFFFFFFF)
            self.write_reg(cu, abi.REG_WGT_HI, wbuf.addr >> 32)
            self._wgt_programmed = {**self._wgt_programmed, cu: wbuf.addr}
        self.write_reg(cu, abi.REG_CTRL, abi.CTRL_START)
        return (cu, int(n))

    def wait(self, handle, timeout_s: float) -> None:
        cu, n = handle
        t0 = time.perf_counter()
        while True:
            ctrl = self.read_reg(cu, abi.REG_CTRL)
            if ctrl & abi.CTRL_DONE:
                break
            if time.perf_counter() - t0 > timeout_s:
                raise DeployError(
                    f"device {self.name}: the kernel did not finish {n} frames within "
                    f"{timeout_s:g} s (CTRL=0x{ctrl:x}); check the clock and the bitstream"
                )
            self.pause(handle)
        status = self.read_reg(cu, abi.REG_STATUS)
        if status & (abi.STATUS_READ_ERROR | abi.STATUS_WRITE_ERROR):
            what = [
                w
                for bit, w in (
                    (
                        abi.STATUS_READ_ERROR,
                        "reading the input or weight buffer"
                        if self.weight_buffers.get(cu) is not None
                        else "reading the input buffer",
                    ),
                    (abi.STATUS_WRITE_ERROR, "writing the output buffer"),
                )
                if status & bit
            ]
            raise DeployError(
                f"device {self.name}: the kernel got an AXI error response "
                f"{' and '.join(what)} (STATUS=0x{status:x}); the buffer addresses are not "
                "memory the kernel can reach"
            )


class PynqDevice(RegisterDevice):
    """A Zynq board under PYNQ: ``pynq.Overlay`` on ``deploy/accel.bit`` (+ ``.hwh``), the
    kernel's registers through ``pynq.MMIO`` at the address the ``.hwh`` gives it, buffers from
    ``pynq.allocate`` (physically contiguous; ``sync_to_device``/``sync_from_device`` flush and
    invalidate the caches), the PL clock set to the design's clock (``pynq.ps.Clocks``).

    Done is detected by polling CTRL, or with ``interrupt=True`` by waiting on the kernel's
    ``interrupt`` pin (``pynq.Interrupt``; PYNQ serves one interrupt wired straight to the PS's
    first PL interrupt line, as the fpgagen block design wires it): GIE and the ap_done
    interrupt enable are set once, each run waits for the interrupt, clears ISR (read, then
    write back the set bits: toggle on write) and then reads CTRL and STATUS as when polling.
    """

    name = "pynq"

    def __init__(
        self,
        design,
        *,
        download: bool = True,
        poll_interval_s: float = 0.0,
        interrupt: bool = False,
    ):
        files = design.bitstream("pynq")
        pynq = import_optional(
            "pynq",
            "pynq",
            "run on a board with a PYNQ image, or use --device golden or emu to simulate",
        )
        self._pynq = pynq
        self.poll_interval_s = poll_interval_s
        self.overlay = pynq.Overlay(str(files["bit"]), download=download)
        self.ip_name, ip = _find_kernel_ip(self.overlay.ip_dict, files["hwh"])
        self.mmio = pynq.MMIO(int(ip["phys_addr"]), int(ip["addr_range"]))
        self._set_clock(design)
        self._irq = None
        self._irq_enabled = False
        if interrupt:
            pin = f"{self.ip_name}/{abi.INTERRUPT_PORT}"
            try:
                self._irq = pynq.Interrupt(pin)
            except Exception as e:
                raise DeployError(
                    f"{files['hwh']}: PYNQ cannot use the kernel interrupt {pin} "
                    f"({type(e).__name__}: {' '.join(str(e).split())}); run without interrupt "
                    "(polling)"
                ) from None

    def start(self, cu: int, inbuf: Buffer, outbuf: Buffer, n: int):
        if self._irq is not None and not self._irq_enabled:
            self.write_reg(cu, abi.REG_GIE, 1)
            self.write_reg(cu, abi.REG_IER, 1)  # ap_done
            self._irq_enabled = True
        return super().start(cu, inbuf, outbuf, n)

    def wait(self, handle, timeout_s: float) -> None:
        if self._irq is not None:
            import asyncio

            try:
                loop = asyncio.get_event_loop()
            except RuntimeError:
                loop = asyncio.new_event_loop()
                asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(asyncio.wait_for(self._irq.wait(), timeout_s))
            except asyncio.TimeoutError:
                raise DeployError(
                    f"device pynq: no interrupt from the kernel within {timeout_s:g} s after "
                    f"starting {handle[1]} frames; check the bitstream or run without interrupt"
                ) from None
            cu = handle[0]
            isr = self.read_reg(cu, abi.REG_ISR)
            if isr & 0x3:
                self.write_reg(cu, abi.REG_ISR, isr & 0x3)  # toggle on write: clears them
        super().wait(handle, timeout_s)

    def _set_clock(self, design) -> None:
        ps = import_optional("pynq.ps", "pynq", "install a complete PYNQ")
        index = int(design.kernel.get("pl_clock_index", 0))
        mhz = float(design.kernel.get("pl_clock_mhz") or design.clock_mhz)
        setattr(ps.Clocks, f"fclk{index}_mhz", mhz)

    def alloc(self, nbytes: int, cu: int = 0, arg: int = 0) -> Buffer:
        buf = self._pynq.allocate(shape=(int(nbytes),), dtype=np.uint8)
        addr = getattr(buf, "device_address", None)
        if addr is None:  # PYNQ before 2.6
            addr = buf.physical_address
        return Buffer(buf, addr, buf, cu)

    def free(self, buf: Buffer) -> None:
        fn = getattr(buf.handle, "freebuffer", None) or getattr(buf.handle, "close", None)
        if fn is not None:
            fn()

    def to_device(self, buf: Buffer, nbytes: int) -> None:
        buf.handle.sync_to_device()

    def from_device(self, buf: Buffer, nbytes: int) -> None:
        buf.handle.sync_from_device()

    def write_reg(self, cu: int, offset: int, value: int) -> None:
        self.mmio.write(offset, int(value))

    def read_reg(self, cu: int, offset: int) -> int:
        return int(self.mmio.read(offset))


def _find_kernel_ip(ip_dict: dict, hwh) -> tuple:
    """The overlay's fpgagen kernel: the ip_dict entry named, or of a type named, like it."""
    hits = [
        (k, v)
        for k, v in ip_dict.items()
        if abi.KERNEL_NAME in k.split("/")[-1]
        or str(v.get("type", "")).split(":")[2:3] == [abi.KERNEL_NAME]
    ]
    if len(hits) != 1:
        raise DeployError(
            f"{hwh}: expected one {abi.KERNEL_NAME} IP in the overlay, found "
            f"{len(hits)} among {sorted(ip_dict) or 'none'}; was the bitstream built by "
            "fpgagen's vendor project?"
        )
    return hits[0]


class XrtDevice(Device):
    """An XRT device (AWS F1): ``pyxrt.device``, the design's ``.awsxclbin``/``.xclbin``
    loaded, one ``pyxrt.kernel`` per compute unit named in the design's metadata, buffers as
    ``pyxrt.bo`` in each argument's memory bank (``kernel.group_id``), runs started as a
    ``pyxrt.run`` whose arguments are set by index (in, out, n and, with a weight buffer, w;
    never the output scalar status: abi.ARG_*) and awaited with ``run.wait``."""

    name = "xrt"

    def __init__(self, design, *, device_index: int = 0):
        files = design.bitstream("xrt")
        pyxrt = import_optional(
            "pyxrt",
            "xrt",
            "source the XRT setup script (/opt/xilinx/xrt/setup.sh), or use --device golden or "
            "emu to simulate",
        )
        self._xrt = pyxrt
        self.dev = pyxrt.device(int(device_index))
        self.uuid = self.dev.load_xclbin(str(files["xclbin"]))
        cus = list(
            design.bitstream_meta.get("compute_units") or design.kernel.get("compute_units") or []
        )
        names = [f"{abi.KERNEL_NAME}:{{{cu}}}" for cu in cus] or [abi.KERNEL_NAME]
        self.kernels = [pyxrt.kernel(self.dev, self.uuid, nm) for nm in names]
        self.compute_units = len(self.kernels)

    def alloc(self, nbytes: int, cu: int = 0, arg: int = 0) -> Buffer:
        x = self._xrt
        bo = x.bo(self.dev, int(nbytes), x.bo.normal, self.kernels[cu].group_id(arg))
        host = np.frombuffer(bo.map(), dtype=np.uint8)
        return Buffer(host, bo.address(), bo, cu)

    def to_device(self, buf: Buffer, nbytes: int) -> None:
        sync = self._xrt.xclBOSyncDirection.XCL_BO_SYNC_BO_TO_DEVICE
        buf.handle.sync(sync, int(nbytes), 0)

    def from_device(self, buf: Buffer, nbytes: int) -> None:
        sync = self._xrt.xclBOSyncDirection.XCL_BO_SYNC_BO_FROM_DEVICE
        buf.handle.sync(sync, int(nbytes), 0)

    def start(self, cu: int, inbuf: Buffer, outbuf: Buffer, n: int):
        wbuf = self.weight_buffers.get(cu)
        run = self._xrt.run(self.kernels[cu])
        run.set_arg(abi.ARG_IN, inbuf.handle)
        run.set_arg(abi.ARG_OUT, outbuf.handle)
        run.set_arg(abi.ARG_N, int(n))
        if wbuf is not None:  # external/URAM weights: argument w (WGT_LO/WGT_HI)
            run.set_arg(abi.ARG_W, wbuf.handle)
        run.start()
        return (cu, int(n), run)

    def wait(self, handle, timeout_s: float) -> None:
        cu, n, run = handle
        state = run.wait(int(timeout_s * 1000))
        done = self._xrt.ert_cmd_state.ERT_CMD_STATE_COMPLETED
        if state != done:
            raise DeployError(
                f"device xrt: compute unit {cu} did not complete {n} frames within "
                f"{timeout_s:g} s (state {getattr(state, 'name', state)})"
            )
