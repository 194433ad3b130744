"""A fake of PYNQ's documented API (Overlay, MMIO, allocate, ps.Clocks) for runtime tests.

It imports only numpy and the standard library, so it can stand in for PYNQ in a Python that
has nothing else. Every call the runtime makes is recorded, one JSON object per line, to the
file named by the environment variable ``FAKE_PYNQ_TRACE`` (and kept in ``TRACE``):

* ``{"op": "overlay", "bitfile": path, "download": bool}``
* ``{"op": "mmio", "base": int, "length": int}``
* ``{"op": "write", "addr": int, "value": int}`` / ``{"op": "read", "addr": int, "value": int}``
  (``addr`` = the MMIO base + the register offset)
* ``{"op": "allocate", "addr": int, "nbytes": int}``
* ``{"op": "sync_to_device", "addr": int, "data": hex}`` (the whole buffer, as the PL sees it)
* ``{"op": "sync_from_device", "addr": int, "nbytes": int}``
* ``{"op": "free", "addr": int}``, ``{"op": "clock", "name": "fclk0_mhz", "mhz": float}``
* ``{"op": "interrupt", "pin": str}`` (an Interrupt created), ``{"op": "interrupt_wait"}``

Behaviour: ``Overlay`` needs the ``.bit`` and the ``.hwh`` next to it and builds ``ip_dict``
from the ``.hwh``'s MODULE/MEMRANGE elements. Register reads return what was written, except
CTRL (0x00): ap_idle before a start, ap_done|ap_idle on the first read after ap_start
(the fake kernel finishes at once; it computes nothing), ISR (0x0C): bit 0 set at a start
when IER bit 0 is (toggle on write), and STATUS (0x30): 0. ``Interrupt(pin).wait()`` returns
at once (the pin must be ``<kernel instance>/interrupt`` of the overlay).
If ``KERNEL`` is set to an object with ``write_reg/read_reg/write_mem/read_mem/step`` (e.g.
the golden kernel model), registers and synced buffers go to it instead, so outputs are real.
"""

from __future__ import annotations

import json
import os
import re

import numpy as np

__all__ = ["MMIO", "Interrupt", "Overlay", "allocate"]

TRACE: list = []
KERNEL = None  # optional kernel model behind the registers and memory
_next_addr = [0x6000_0000]


def _record(**ev) -> None:
    TRACE.append(ev)
    path = os.environ.get("FAKE_PYNQ_TRACE")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(ev) + "\n")


class Overlay:
    """pynq.Overlay(bitfile_name, dtbo=None, download=True, ignore_version=False, device=None)."""

    def __init__(self, bitfile_name, dtbo=None, download=True, ignore_version=False, device=None):
        bit = str(bitfile_name)
        if not os.path.isfile(bit):
            raise OSError(f"Bitstream file {bit} does not exist.")
        hwh = os.path.splitext(bit)[0] + ".hwh"
        if not os.path.isfile(hwh):
            raise OSError(f"Cannot find metadata file {hwh}")
        self.bitfile_name = bit
        self.ip_dict = _parse_hwh(open(hwh).read())
        _record(op="overlay", bitfile=os.path.basename(bit), download=bool(download))

    def is_loaded(self) -> bool:
        return True


def _parse_hwh(text: str) -> dict:
    ips = {}
    for m in re.finditer(r"<MODULE\b([^>]*)>", text):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if "INSTANCE" in attrs and "VLNV" in attrs:
            ips[attrs["INSTANCE"]] = {"type": attrs["VLNV"], "fullpath": attrs["INSTANCE"]}
    for m in re.finditer(r"<MEMRANGE\b([^>]*)/?>", text):
        a = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        ip = ips.get(a.get("INSTANCE"))
        if ip is not None and "BASEVALUE" in a:
            base, high = int(a["BASEVALUE"], 16), int(a["HIGHVALUE"], 16)
            ip.update({"phys_addr": base, "addr_range": high - base + 1})
    return {k: v for k, v in ips.items() if "phys_addr" in v}


class MMIO:
    """pynq.MMIO(base_addr, length=4): 32-bit register reads and writes."""

    def __init__(self, base_addr, length=4, **kwargs):
        self.base_addr, self.length = int(base_addr), int(length)
        self._regs: dict = {}
        self._started = False
        _record(op="mmio", base=self.base_addr, length=self.length)

    def write(self, offset, data) -> None:
        offset, data = int(offset), int(data)
        if not 0 <= offset < self.length or offset % 4:
            raise ValueError(f"offset {offset:#x} outside the MMIO range or unaligned")
        _record(op="write", addr=self.base_addr + offset, value=data)
        if KERNEL is not None:
            KERNEL.write_reg(offset, data)
            return
        if offset == 0x0C:
            self._regs[offset] = self._regs.get(offset, 0) ^ (data & 0x3)
            return
        self._regs[offset] = data
        if offset == 0 and data & 1:
            self._started = True
            if self._regs.get(0x08, 0) & 1:
                self._regs[0x0C] = self._regs.get(0x0C, 0) | 1

    def read(self, offset=0, length=4) -> int:
        offset = int(offset)
        if KERNEL is not None:
            if offset == 0:
                KERNEL.step(64)  # time passes between two polls
            v = KERNEL.read_reg(offset)
        elif offset == 0:
            v = (0x2 | 0x4) if self._started else 0x4
            self._started = False
        elif offset == 0x30:
            v = 0
        else:
            v = self._regs.get(offset, 0)
        _record(op="read", addr=self.base_addr + offset, value=int(v))
        return int(v)


class PynqBuffer(np.ndarray):
    """The array pynq.allocate returns: device_address, physical_address, sync_*, freebuffer."""

    def sync_to_device(self) -> None:
        data = self.view(np.uint8).tobytes()
        _record(op="sync_to_device", addr=self.device_address, data=data.hex())
        if KERNEL is not None:
            KERNEL.write_mem(self.device_address, data)

    def sync_from_device(self) -> None:
        nbytes = self.view(np.uint8).size
        _record(op="sync_from_device", addr=self.device_address, nbytes=nbytes)
        if KERNEL is not None:
            raw = np.frombuffer(KERNEL.read_mem(self.device_address, nbytes), np.uint8)
            self.view(np.uint8)[:] = raw

    def freebuffer(self) -> None:
        _record(op="free", addr=self.device_address)

    close = freebuffer

    @property
    def physical_address(self) -> int:
        return self.device_address


def allocate(shape, dtype="u4", target=None, **kwargs) -> PynqBuffer:
    """pynq.allocate(shape, dtype): a physically contiguous buffer (4 KB aligned here)."""
    arr = np.zeros(shape, dtype=dtype).view(PynqBuffer)
    arr.device_address = _next_addr[0]
    nbytes = arr.nbytes
    _next_addr[0] += -(-max(1, nbytes) // 4096) * 4096
    _record(op="allocate", addr=arr.device_address, nbytes=nbytes)
    return arr


class Interrupt:
    """pynq.Interrupt(pinname): ``await wait()`` until the pin is high (asyncio)."""

    def __init__(self, pinname):
        if not pinname.endswith("/interrupt") or "fpgagen_kernel" not in pinname:
            raise ValueError(f"No interrupt pin {pinname} in the overlay")
        self.pinname = pinname
        _record(op="interrupt", pin=pinname)

    async def wait(self):
        _record(op="interrupt_wait")
        if KERNEL is not None:
            KERNEL.wait_interrupt(10_000_000)
