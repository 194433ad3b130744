"""Simulate a generated design (``fpgagen build`` output) in Verilator.

The input codes are packed with :mod:`fpgagen.packing` into ``input.hex``; the harness writes
``output.hex`` (word and cycle); outputs are unpacked with the same module.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import packing
from ..errors import SimulationError
from .runner import run_cocotb

__all__ = ["SimResult", "simulate"]


@dataclass
class SimResult:
    outputs: np.ndarray  # (N, channels) int64
    out_cycles: np.ndarray  # cycle each output word was accepted
    cycles_per_frame: float  # steady state, from frame completion times
    total_cycles: int


def simulate(
    outdir,
    dataflow,
    codes: np.ndarray,
    idle: int = 0,
    backpressure: int = 0,
    seed: int = 1,
    run_name: str = "run",
) -> SimResult:
    """Stream ``codes`` (N, C_in) through the RTL of ``outdir``; idle/backpressure per mille."""
    outdir = Path(outdir).resolve()
    first, last = dataflow.layers[0], dataflow.layers[-1]
    n = codes.shape[0]
    words = packing.pack(codes, first.in_dtype, first.in_elems)
    in_bits = first.in_width
    run_dir = outdir / "sim" / run_name
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "input.hex").write_text("\n".join(packing.to_hex(words, in_bits)) + "\n")
    mem_link = run_dir / "mem"
    if not mem_link.exists():
        os.symlink(outdir / "rtl" / "mem", mem_link)
    out_per_frame = last.out_words_per_frame
    n_out = n * out_per_frame
    meta = dataflow_meta(outdir)
    sources = [outdir / s for s in meta["rtl"]["sources"]] + [outdir / meta["rtl"]["harness"]]
    cyc = dataflow.expected_cycles()
    timeout = 50 * cyc * (n + 4) + 20000
    if idle or backpressure:
        timeout = int(timeout / (1 - max(idle, backpressure) / 1000.0) ** 2) + 1
    run_cocotb(
        sources,
        "fpgagen_tb",
        {},
        "fpgagen.sim.stitched_tb",
        run_dir,
        extra_env={
            "FPGAGEN_N_OUT": n_out,
            "FPGAGEN_IDLE": idle,
            "FPGAGEN_BP": backpressure,
            "FPGAGEN_SEED": seed,
            "FPGAGEN_TIMEOUT": timeout,
            "FPGAGEN_FIFOS": ",".join(
                f"{l.name}:{l.buffer_depth}" for l in dataflow.layers if l.buffer_depth is not None
            ),
        },
        public_top_only=True,
    )
    lines = (run_dir / "output.hex").read_text().split()
    if len(lines) != 2 * n_out:
        raise SimulationError(f"expected {n_out} output words, the harness wrote {len(lines) // 2}")
    hexw, cyc_s = lines[0::2], lines[1::2]
    out_words = packing.from_hex(hexw, packing.axis_width(last.out_width))
    vals = packing.unpack(out_words, last.out_dtype, last.out_elems).reshape(n, -1)
    cycles = np.array([int(c) for c in cyc_s], dtype=np.int64)
    frame_end = cycles[out_per_frame - 1 :: out_per_frame]
    # steady state: the frame-to-frame interval over the second half of the batch
    d = np.diff(frame_end)
    cpf = float(d[len(d) // 2 :].mean()) if d.size else float(frame_end[0])
    return SimResult(vals, cycles, cpf, int(cycles[-1]))


def dataflow_meta(outdir) -> dict:
    import json

    return json.loads((Path(outdir) / "dataflow.json").read_text())
