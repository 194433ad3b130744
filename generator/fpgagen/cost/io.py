"""The I/O term of the cost model: how fast the board can feed the kernel.

A build's throughput is the minimum of its bounds (a roofline):

* ``compute`` — the dataflow's slowest layer: ``clock / cycles per frame``;
* ``kernel bus`` — the memory-mapped kernel's own AXI4 master (docs/conventions.md,
  "Memory buffers of the kernel"): one bus word per cycle on the read channels (input) and on
  the write channels (output), at most ``min(kernel.bus_bits, io.port.bits)`` wide, at the
  kernel clock (capped at the port's ``max_mhz``), times the burst efficiency
  ``min(1, outstanding x beats / (beats + read latency in cycles))`` of its
  ``MAX_OUTSTANDING`` bursts of ``burst_beats`` beats;
* ``DDR`` — input, output and external-weight bytes together against the sustained
  bandwidth of the memory (one bank: one compute unit); a layer with external weights
  (``ram_style: external``) reads its weight memory once per input vector, i.e.
  ``weight bits x vectors per frame`` per frame (:func:`weight_bytes`), on the kernel bus's
  read direction together with the input;
* ``PCIe`` (cards) — input host->card and output card->host, each against the link's
  sustained bandwidth per direction;
* ``host`` — the processor packing the input and unpacking the output with the runtime's
  numpy code (measured on the development machine, ``_host_coef.py``, times the board's
  ``io.host.slowdown``) plus copying the bytes into and out of the device buffers (with the
  cache maintenance on Zynq) at ``io.host.buffer_gbps``.

Bytes per frame come from the dense buffer layout of the kernel (``abi.buffer_bytes`` of a
batch of ``batch`` frames, divided by ``batch``): they do not depend on the folding. With
``io="stream"`` (the input comes from another core on chip) there is no memory path and only
the compute bound applies, except for external weights: their bytes against the DDR bandwidth.
"""

from __future__ import annotations

import math

from .. import abi
from ..errors import FpgagenError
from . import _host_coef as host_coef

__all__ = [
    "DEFAULT_BATCH",
    "IO_MODES",
    "frame_bytes",
    "io_bounds",
    "io_target_cycles",
    "predict",
    "roofline",
    "weight_bytes",
]

IO_MODES = ("memory", "stream")
DEFAULT_BATCH = 1024  # frames per kernel run the bounds assume


def _geometry(df) -> dict:
    first, last = df.layers[0], df.layers[-1]
    in_bits = first.in_width * first.in_words_per_frame
    out_bits = last.out_width * last.out_words_per_frame
    return {
        "in_word_bits": first.in_width,
        "in_words_per_frame": first.in_words_per_frame,
        "out_word_bits": last.out_width,
        "out_words_per_frame": last.out_words_per_frame,
        "in_bits": in_bits,
        "out_bits": out_bits,
        "in_elements": in_bits // first.in_dtype.bits,
        "out_elements": out_bits // last.out_dtype.bits,
    }


def frame_bytes(df, bus_bits: int, batch: int = DEFAULT_BATCH) -> tuple[float, float]:
    """Input and output bytes per frame of the kernel's dense buffers for ``batch`` frames."""
    g = _geometry(df)
    fin = abi.buffer_bytes(batch, g["in_words_per_frame"], g["in_word_bits"], bus_bits)
    fout = abi.buffer_bytes(batch, g["out_words_per_frame"], g["out_word_bits"], bus_bits)
    return fin / batch, fout / batch


def weight_bytes(df) -> float:
    """Bytes per frame the layers with external weights read from DDR (0 without any)."""
    bits = sum(
        l.weight_stream()["bits_per_frame"]
        for l in df.layers
        if getattr(l, "external_weights", False)
    )
    return bits / 8


def _si(x: float) -> str:
    for div, suf in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{suf}"
    return f"{x:.3g}"


def io_bounds(df, board, clock_mhz: float, io: str = "memory", batch: int = DEFAULT_BATCH):
    """The I/O bounds of ``df`` on ``board`` at ``clock_mhz`` (see the module docstring).

    Returns ``{"mode", "batch_frames", "in_bytes_per_frame", "out_bytes_per_frame",
    "bounds": [{"name", "kind", "fps", "why"}, ...], "io_fps", "binding", "memory_fps",
    "memory_binding", "reason", "sources"}``; ``kind`` is ``memory`` (the kernel's memory
    path: kernel bus, DDR, PCIe — what the hardware can move) or ``host`` (the processor
    running the runtime); ``io_fps`` is the smallest bound of both kinds (None without bounds:
    ``io="stream"``, or a board file without an ``io`` section), ``binding`` its name and
    ``reason`` its one-line explanation; ``memory_fps``/``memory_binding`` the smallest
    memory-path bound.
    """
    if io not in IO_MODES:
        raise FpgagenError(f"--io {io!r} is not supported; use one of {', '.join(IO_MODES)}")
    if batch < 1:
        raise FpgagenError(f"batch of {batch} frames; give at least 1")
    from ..codegen.kernel import MAX_OUTSTANDING, burst_beats

    bus = board.kernel.bus_bits
    fin, fout = frame_bytes(df, bus, batch)
    fw = weight_bytes(df)
    res = {
        "mode": io,
        "batch_frames": batch,
        "in_bytes_per_frame": fin,
        "out_bytes_per_frame": fout,
        "weight_bytes_per_frame": fw,
        "bounds": [],
        "io_fps": None,
        "binding": None,
        "memory_fps": None,
        "memory_binding": None,
        "reason": None,
        "sources": {},
    }
    if io == "stream" and not (fw and board.io is not None):
        res["reason"] = "input and output on chip (--io stream): no memory path"
        return res
    if io == "stream":  # the external weights still come from DDR
        ddr = board.io.ddr_gbps * 1e9
        b = {
            "name": "DDR",
            "kind": "memory",
            "fps": ddr / fw,
            "why": f"{board.io.ddr_gbps:.3g} GB/s for {fw:.4g} B/frame of external weights "
            "(input and output on chip, --io stream)",
        }
        res.update(
            bounds=[b],
            io_fps=b["fps"],
            binding="DDR",
            memory_fps=b["fps"],
            memory_binding="DDR",
            reason=f"DDR: {_si(b['fps'])} fps ({b['why']})",
            sources=dict(board.io.sources),
        )
        return res
    p = board.io
    if p is None:
        res["reason"] = f"board {board.name} has no io section: no I/O bound"
        return res
    res["sources"] = dict(p.sources)
    g = _geometry(df)
    bounds = []

    # the kernel's AXI4 master: one beat per cycle per direction, burst efficiency
    width = min(bus, p.port_bits)
    mhz = min(float(clock_mhz), p.port_max_mhz)
    beats = burst_beats(bus)
    lat = p.read_latency_ns * mhz / 1e3
    eff = min(1.0, MAX_OUTSTANDING * beats / (beats + lat))
    per_s = mhz * 1e6 * width / 8 * eff  # bytes per second per direction
    worst = max(fin + fw, fout)
    wtxt = f" (+ {fw:.4g} B external weights)" if fw else ""
    bounds.append(
        {
            "name": "kernel bus",
            "kind": "memory",
            "fps": per_s / worst,
            "why": (
                f"{width}-bit AXI4 master at {mhz:g} MHz, burst efficiency {eff:.2f} "
                f"({MAX_OUTSTANDING} x {beats}-beat bursts vs {lat:.0f} cycles latency): "
                f"{per_s / 1e9:.3g} GB/s per direction for {worst:.4g} B/frame "
                f"{'in' + wtxt if fin + fw >= fout else 'out'}"
            ),
        }
    )
    # DDR: input and output share the bank
    ddr = p.ddr_gbps * 1e9
    bounds.append(
        {
            "name": "DDR",
            "kind": "memory",
            "fps": ddr / (fin + fout + fw),
            "why": (
                f"{p.ddr_kind.upper()} {p.ddr_bits}-bit at {p.ddr_mt_s:g} MT/s x "
                f"{p.ddr_efficiency:g} = {p.ddr_gbps:.3g} GB/s for {fin + fout + fw:.4g} "
                f"B/frame in + out{' + external weights' if fw else ''}"
            ),
        }
    )
    if p.pcie_gbps:
        bounds.append(
            {
                "name": "PCIe",
                "kind": "memory",
                "fps": p.pcie_gbps * 1e9 / worst,
                "why": (
                    f"PCIe x{p.pcie_lanes} at {p.pcie_gt_s:g} GT/s x {p.pcie_efficiency:g}: "
                    f"{p.pcie_gbps:.3g} GB/s per direction for {worst:.4g} B/frame"
                ),
            }
        )
    # host: packing + unpacking on the CPU, buffer copies (+ cache maintenance on Zynq)
    h = p.host
    pack_ns = host_coef.PACK_NS_PER_ELEMENT * g["in_elements"] + (
        host_coef.PACK_NS_PER_BIT * g["in_bits"]
    )
    unpack_ns = host_coef.UNPACK_NS_PER_ELEMENT * g["out_elements"] + (
        host_coef.UNPACK_NS_PER_BIT * g["out_bits"]
    )
    cpu_s = h.slowdown * (pack_ns + unpack_ns) * 1e-9
    copy_s = (fin + fout) / (h.buffer_gbps * 1e9)
    bounds.append(
        {
            "name": "host",
            "kind": "host",
            "fps": 1.0 / (cpu_s + copy_s),
            "why": (
                f"{h.cpu} packs {g['in_elements']} and unpacks {g['out_elements']} elements "
                f"per frame in {cpu_s * 1e6:.3g} us ({h.slowdown:g} x measured on the "
                f"development machine) + {copy_s * 1e6:.3g} us buffer copies at "
                f"{h.buffer_gbps:g} GB/s"
            ),
        }
    )
    best = min(bounds, key=lambda b: b["fps"])
    mem = min((b for b in bounds if b["kind"] == "memory"), key=lambda b: b["fps"])
    res.update(
        memory_fps=mem["fps"],
        memory_binding=mem["name"],
        bounds=bounds,
        io_fps=best["fps"],
        binding=best["name"],
        reason=f"{best['name']}: {_si(best['fps'])} fps ({best['why']})",
    )
    return res


def predict(compute_fps: float, bounds: dict) -> dict:
    """Predicted frames per second: the minimum of the compute bound and the I/O bounds.

    Returns ``{"fps", "binds", "compute_fps", "io_fps"}``; ``binds`` is ``"compute"`` or the
    name of the binding I/O bound.
    """
    io = bounds.get("io_fps")
    if io is None or compute_fps <= io:
        return {"fps": compute_fps, "binds": "compute", "compute_fps": compute_fps, "io_fps": io}
    return {"fps": io, "binds": bounds["binding"], "compute_fps": compute_fps, "io_fps": io}


def io_target_cycles(bounds: dict, clock_mhz: float) -> int | None:
    """The most cycles per frame a design may take and still reach the I/O bound (None when
    there is no bound)."""
    io = bounds.get("io_fps")
    if io is None:
        return None
    return max(1, math.floor(clock_mhz * 1e6 / io + 1e-9))


def roofline(df, board, clock_mhz: float | None = None, io: str | None = None) -> dict:
    """Compute bound, I/O bounds and the predicted throughput of a folded dataflow.

    ``clock_mhz`` defaults to the dataflow's clock, ``io`` to the mode it was folded for
    (``df.meta["io"]``, else ``"memory"``). Returns the :func:`io_bounds` record plus
    ``compute_fps`` (clock / cycles per frame), ``predicted_fps`` (the minimum) and ``binds``
    (``"compute"`` or the binding I/O bound's name).
    """
    clock = float(clock_mhz or df.meta.get("clock_mhz") or board.default_mhz)
    mode = io or df.meta.get("io") or "memory"
    res = io_bounds(df, board, clock, mode)
    p = predict(clock * 1e6 / df.expected_cycles(), res)
    res.update(compute_fps=p["compute_fps"], predicted_fps=p["fps"], binds=p["binds"])
    return res
