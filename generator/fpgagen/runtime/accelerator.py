"""The accelerator: one API over every device (docs/runtime.md).

``Accelerator(deploy_dir, device)`` opens the deploy folder a build wrote and a device;
``run(x)`` takes a float batch in the ONNX model's input layout and scale and returns what the
ONNX model outputs, through one code path for every device:

    host head (codes) -> pack (dense buffer) -> to device -> start -> wait -> from device
    -> unpack -> host tail

Buffers are allocated once per compute unit and reused; they are re-allocated only when a
larger batch than any before comes. ``throughput(n)`` measures frames per second with the
host<->device transfers and the host work timed separately.

Numpy only: this module is vendored into every deploy folder.
"""

from __future__ import annotations

import time

import numpy as np

from .. import abi
from ..errors import DeployError
from .design import Design
from .devices import Device, PynqDevice, XrtDevice

__all__ = ["DEVICES", "Accelerator", "open_device"]

DEVICES = ("auto", "pynq", "xrt", "emu", "golden")


def open_device(design: Design, device: str = "auto", **options) -> Device:
    """Open ``device`` for ``design``; ``auto`` picks ``xrt`` on AWS F1 builds, else ``pynq``.

    ``options`` go to the device: ``download``/``poll_interval_s`` (pynq), ``device_index``
    (xrt), ``latency``/``seed``/``stall`` (emu), ``error_at`` (golden, emu).
    """
    if device not in DEVICES:
        raise DeployError(f"unknown device {device!r}; use one of {', '.join(DEVICES)}")
    if device == "auto":
        device = "xrt" if str(design.raw.get("flow", "")).startswith("aws") else "pynq"
    if device == "pynq":
        return PynqDevice(design, **options)
    if device == "xrt":
        return XrtDevice(design, **options)
    try:
        from . import simdev
    except ImportError:
        try:
            from fpgagen.runtime import simdev
        except ImportError:
            raise DeployError(
                f"device {device} simulates the kernel and needs fpgagen installed "
                "(pip install fpgagen) and the build folder next to this deploy folder"
            ) from None
    return simdev.open_sim_device(design, device, **options)


class Accelerator:
    """A deploy folder on a device (see the module docstring).

    ``timeout_s`` bounds one kernel run (default: the device's); ``last_timing`` holds the
    seconds of each step of the last :meth:`run` (``head``, ``pack``, ``to_device``,
    ``kernel``, ``from_device``, ``unpack``, ``tail``) and ``cycles`` where the device counts
    them.
    """

    def __init__(self, deploy_dir, device: str = "auto", timeout_s: float | None = None, **options):
        self.design = Design(deploy_dir)
        self.device = open_device(self.design, device, **options)
        self.timeout_s = float(timeout_s or self.device.default_timeout_s)
        self._buffers: list = [None] * self.device.compute_units  # (frames, in, out) per CU
        self.last_timing: dict = {}
        self._weights: list = []
        if self.design.weights:
            self._load_weights()

    # -- public API ---------------------------------------------------------------------------
    def run(self, x) -> np.ndarray:
        """Float batch ``(N, ...)`` in the ONNX input layout -> the ONNX outputs ``(N, ...)``."""
        t0 = time.perf_counter()
        codes = self.design.run_head(x)
        t1 = time.perf_counter()
        hw = self.run_codes(codes)
        t2 = time.perf_counter()
        y = self.design.run_tail(hw)
        self.last_timing["head"] = t1 - t0
        self.last_timing["tail"] = time.perf_counter() - t2
        return y

    def run_codes(self, codes) -> np.ndarray:
        """The kernel alone: input codes ``(N, elements)`` -> output integers ``(N, elements)``
        (packing, transfers, start and wait; no host head or tail)."""
        codes = np.asarray(codes)
        n = codes.shape[0]
        inl, outl = self.design.input, self.design.output
        if codes.ndim != 2 or codes.shape[1] != inl.elements_per_frame:
            raise DeployError(
                f"{self.design.name}: codes of shape {codes.shape}; the kernel takes "
                f"(N, {inl.elements_per_frame})"
            )
        timing = dict.fromkeys(("pack", "to_device", "kernel", "from_device", "unpack"), 0.0)
        if n == 0:
            self.last_timing = timing
            return np.zeros((0, outl.elements_per_frame), dtype=np.int64)
        chunks = [c for c in np.array_split(np.arange(n), self.device.compute_units) if c.size]
        c0 = self.device.cycles
        jobs = []
        for cu, idx in enumerate(chunks):
            t = time.perf_counter()
            try:
                packed = inl.pack(codes[idx])
            except ValueError as e:
                raise DeployError(f"{self.design.name}: input codes: {e}") from None
            inb, outb = self._ensure_buffers(cu, idx.size)
            inb.host[: packed.size] = packed
            timing["pack"] += time.perf_counter() - t
            t = time.perf_counter()
            self.device.to_device(inb, packed.size)
            timing["to_device"] += time.perf_counter() - t
            jobs.append((cu, idx, outb))
        t = time.perf_counter()
        handles = [
            self.device.start(cu, self._buffers[cu][1], outb, idx.size) for cu, idx, outb in jobs
        ]
        for h in handles:
            self.device.wait(h, self.timeout_s)
        timing["kernel"] = time.perf_counter() - t
        out = np.empty((n, outl.elements_per_frame), dtype=np.int64)
        for _cu, idx, outb in jobs:
            nbytes = outl.nbytes(idx.size)
            t = time.perf_counter()
            self.device.from_device(outb, nbytes)
            timing["from_device"] += time.perf_counter() - t
            t = time.perf_counter()
            out[idx] = outl.unpack(outb.host[:nbytes], idx.size)
            timing["unpack"] += time.perf_counter() - t
        if c0 is not None:
            timing["cycles"] = self.device.cycles - c0
        self.last_timing = timing
        return out

    def throughput(self, n: int = 64, x=None) -> dict:
        """Run ``n`` frames (``x``, or zeros in the input shape) and time every step.

        Returns ``frames``, ``fps_kernel`` (frames / kernel seconds: start to done, what the
        accelerator sustains), ``fps_end_to_end`` (frames / all seconds, host work included),
        the seconds of each step (``head``, ``pack``, ``to_device``, ``kernel``,
        ``from_device``, ``unpack``, ``tail``) and, on simulated devices, ``cycles`` and
        ``fps_at_clock`` (frames per second those cycles mean at the design's clock).
        """
        n = int(n)
        if n < 1:
            raise DeployError(f"throughput: n must be >= 1, got {n}")
        if x is None:
            x = np.zeros((n, *self.design.input_shape[1:]), dtype=np.float32)
        self.run(x[:1])  # warm up: buffers allocated, caches and pages touched
        self.run(x)
        t = dict(self.last_timing)
        total = sum(v for k, v in t.items() if k != "cycles")
        rep = {
            "frames": n,
            "device": self.device.name,
            "fps_kernel": n / t["kernel"] if t["kernel"] > 0 else float("inf"),
            "fps_end_to_end": n / total if total > 0 else float("inf"),
            "seconds": {k: v for k, v in t.items() if k != "cycles"},
        }
        if "cycles" in t:
            rep["cycles"] = int(t["cycles"])
            rep["fps_at_clock"] = n * self.design.clock_mhz * 1e6 / max(1, t["cycles"])
        return rep

    def close(self) -> None:
        """Free the buffers and release the device."""
        for b in self._weights:
            self.device.free(b)
        self._weights = []
        for b in self._buffers:
            if b is not None:
                self.device.free(b[1])
                self.device.free(b[2])
        self._buffers = [None] * self.device.compute_units
        self.device.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- buffers --------------------------------------------------------------------------------
    def _load_weights(self) -> None:
        """External or UltraRAM weights: one weight buffer per compute unit, filled with the design's
        weight image once (its address goes to WGT_LO/WGT_HI at every start)."""
        image = np.frombuffer(self.design.weight_image(), dtype=np.uint8)
        for cu in range(self.device.compute_units):
            buf = self.device.alloc(image.size, cu, abi.ARG_W)
            buf.host[: image.size] = image
            self.device.to_device(buf, image.size)
            self.device.set_weights(cu, buf)
            self._weights.append(buf)

    def _ensure_buffers(self, cu: int, frames: int):
        """Buffers of compute unit ``cu`` holding at least ``frames`` frames (reused)."""
        cur = self._buffers[cu]
        if cur is not None and cur[0] >= frames:
            return cur[1], cur[2]
        if cur is not None:
            self.device.free(cur[1])
            self.device.free(cur[2])
        inb = self.device.alloc(self.design.input.nbytes(frames), cu, 0)
        outb = self.device.alloc(self.design.output.nbytes(frames), cu, 1)
        self._buffers[cu] = (frames, inb, outb)
        return inb, outb
