"""Vendor projects: what a user runs with Vivado or Vitis to get a bitstream.

``write_project(df, board, outdir, backends)`` renders ``OUTDIR/project/`` for the board's
flow (see :mod:`fpgagen.project.base` for the template dictionary and hook points):

* ``vivado-zynq`` (ZCU104, ZCU102, Ultra96-V2): :class:`~fpgagen.project.zynq.ZynqBackend`
* ``aws-f1``: :class:`~fpgagen.project.f1.F1Backend`

The projects take the kernel from ``OUTDIR/rtl`` (or the Vitis HLS export under ``OUTDIR/hls``)
and collect the bitstream into ``OUTDIR/deploy/`` (docs/project.md).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import FpgagenError
from .base import PROJECT_DIR, VendorBackend, kernel_sources
from .f1 import F1Backend
from .zynq import ZynqBackend

__all__ = ["BACKENDS", "PROJECT_DIR", "VendorBackend", "kernel_sources", "write_project"]

BACKENDS: dict[str, type[VendorBackend]] = {
    ZynqBackend.flow: ZynqBackend,
    F1Backend.flow: F1Backend,
}


def write_project(df, board, outdir, backends) -> dict | None:
    """Write ``OUTDIR/project/`` for ``board``; returns what was written (for dataflow.json).

    ``backends`` are the kernel backends built (``"rtl"``, ``"hls"``); the project defaults to
    the RTL kernel when there is one. Boards of a flow without a vendor backend get no project
    (returns None). Raises :class:`FpgagenError` when the board cannot run the design as built
    (e.g. a clock its PS cannot give).
    """
    cls = BACKENDS.get(board.flow)
    if cls is None:
        return None
    if not backends:
        raise FpgagenError("no kernel backend was built; use --backend rtl, hls or both")
    return cls(df, board, Path(outdir), backends).write()
