"""Shared helpers of the vendor-project tests: a small build per board, a stand-in kernel top
(until the memory-mapped kernel writes OUTDIR/rtl/fpgagen_kernel.v itself), the stub runner."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import onnx
from fpgagen import abi
from fpgagen.boards import load_board
from fpgagen.flow import build, load_build
from fpgagen.project import write_project

from tests.support.qonnx_graphs import small_mlp

AXI_LITE = ["AWADDR", "AWVALID", "AWREADY", "WDATA", "WSTRB", "WVALID", "WREADY", "BRESP",
            "BVALID", "BREADY", "ARADDR", "ARVALID", "ARREADY", "RDATA", "RRESP", "RVALID",
            "RREADY"]  # fmt: skip
AXI_FULL_EXTRA = ["AWLEN", "AWSIZE", "AWBURST", "WLAST", "ARLEN", "ARSIZE", "ARBURST", "RLAST"]
_IN = {"AWVALID", "WVALID", "BREADY", "ARVALID", "RREADY", "AWADDR", "WDATA", "WSTRB", "ARADDR"}


def standin_kernel(bus_bits: int) -> str:
    """A Verilog module with the kernel contract's ports (no logic): what the stub parses."""
    ports = [f"input wire {abi.CLOCK_PORT}", f"input wire {abi.RESET_PORT}",
             f"output wire {abi.INTERRUPT_PORT}"]  # fmt: skip
    for s in AXI_LITE:  # slave: the master's outputs are our inputs
        ports.append(f"{'input' if s in _IN else 'output'} wire [31:0] {abi.CONTROL_PORT}_{s}")
    for s in AXI_LITE + AXI_FULL_EXTRA:
        d = (
            "input"
            if s.startswith(("AWREADY", "WREADY", "BRESP", "BVALID", "ARREADY", "R"))
            else "output"
        )
        w = bus_bits if s in ("WDATA", "RDATA") else 64
        ports.append(f"{d} wire [{w - 1}:0] {abi.MEMORY_PORT}_{s}")
    body = ",\n    ".join(ports)
    return f"`default_nettype none\nmodule {abi.KERNEL_NAME} (\n    {body}\n);\nendmodule\n"


def make_build(tmp_path: Path, board: str, clock_mhz=None, backend="rtl") -> Path:
    """``fpgagen build`` of a small MLP for ``board``; the project regenerated with a stand-in
    kernel top when the build did not write one."""
    model = tmp_path / "mlp.onnx"
    if not model.exists():
        onnx.save(small_mlp(), model)
    out = tmp_path / f"out_{board}"
    build(model, board, out, clock_mhz=clock_mhz, backend=backend, progress=lambda *a: None)
    top = out / "rtl" / f"{abi.KERNEL_NAME}.v"
    if not top.exists():
        top.write_text(standin_kernel(load_board(board).kernel.bus_bits))
        df, meta = load_build(out)
        df.meta["clock_mhz"] = meta["clock_mhz"]
        write_project(df, load_board(board), out, meta["backends"])
    return out


def meta(out: Path) -> dict:
    return json.loads((out / "dataflow.json").read_text())


def path_without(*tools: str) -> str:
    """PATH with every directory holding one of ``tools`` removed."""
    keep = []
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if d and not any((Path(d) / t).exists() for t in tools):
            keep.append(d)
    assert shutil.which("make", path=os.pathsep.join(keep)), "make must stay on PATH"
    return os.pathsep.join(keep)
