"""AWS F1 (flow ``aws-f1``): the kernel as a Vitis RTL kernel, linked for the F1 platform.

OUTDIR/project/ gets ``kernel.xml`` (the RTL kernel description v++ reads), ``package_xo.tcl``
(Vivado: IP-XACT packaging + ``package_xo`` -> ``fpgagen_kernel.xo``), ``link.cfg`` (``v++
--link`` configuration: platform, kernel clock, one compute unit per DDR bank where the design
fits), ``collect.py`` and a ``Makefile`` (``xo``, ``xclbin``, ``hw_emu``, ``afi``). The platform
and part come from the board file, so another Vitis platform (an F2 board file) needs no code.
"""

from __future__ import annotations

import math
from typing import ClassVar

from .. import abi
from ..codegen.kernel import uses_weight_buffer
from ..errors import FpgagenError
from .base import VendorBackend

__all__ = ["F1Backend", "compute_units"]

# kernel arguments in register order, as Vitis HLS numbers them for the HLS twin (abi: in at
# 0x10, out at 0x1C, n at 0x28, the output scalar status at 0x30), so that one driver calls
# both kernels with the same argument indices
ARGS = (
    ("in", 1, abi.REG_IN_LO, 8, "void*"),
    ("out", 1, abi.REG_OUT_LO, 8, "void*"),
    ("n", 0, abi.REG_N, 4, "uint"),
    ("status", 0, abi.REG_STATUS, 4, "int*"),
)
#: the 5th argument (index 4) of a kernel with external or UltraRAM weights: the weight
#: buffer (WGT_LO/WGT_HI at 0x40/0x44)
WEIGHTS_ARG = ("w", 1, abi.REG_WGT_LO, 8, "void*")


def compute_units(df, board, cap: float) -> tuple[int, str]:
    """How many copies of the kernel fit, one per memory bank at most.

    Each copy needs the design's resources; together they must stay within ``cap`` of the
    board's. Returns ``(count, limiting resource or "memory banks")``.
    """
    tot = df.total_resources()
    have = board.resources.as_dict()
    have["bram18"] = board.resources.bram18
    n, why = len(board.kernel.memory_banks), "memory banks"
    for k in ("lut", "ff", "bram18", "uram", "dsp"):
        need = float(tot.get(k, 0))
        if need > 0:
            fit = math.floor(cap * have.get(k, 0) / need)
            if fit < n:
                n, why = fit, k
    return max(n, 1), why


class F1Backend(VendorBackend):
    """Vitis RTL kernel packaging and v++ link for the board's platform."""

    flow = "aws-f1"
    templates: ClassVar[dict[str, str]] = {
        "kernel.xml": "project/f1_kernel.xml.j2",
        "package_xo.tcl": "project/f1_package_xo.tcl.j2",
        "link.cfg": "project/f1_link.cfg.j2",
        "collect.py": "project/collect.py.j2",
        "Makefile": "project/f1_Makefile.j2",
    }
    executable = ("collect.py",)

    def check(self) -> None:
        b = self.board
        if self.clock_mhz > b.max_mhz:
            raise FpgagenError(
                f"board {b.name}: the kernel clock {self.clock_mhz:g} MHz is above the "
                f"platform's {b.max_mhz:g} MHz; rebuild with --clock-mhz {b.max_mhz:g} or lower"
            )
        cap = float(self.df.meta.get("optimizer", {}).get("max_util") or 0.7)
        self.cus, self.cu_limit = compute_units(self.df, b, cap)
        self.cap = cap

    def context(self) -> dict:
        ctx = super().context()
        b = self.board
        names = [f"{abi.KERNEL_NAME}_{i + 1}" for i in range(self.cus)]
        ctx.update(
            part=b.part,
            platform=b.kernel.platform,
            bus_bits=b.kernel.bus_bits,
            args=ARGS
            + ((WEIGHTS_ARG,) if any(uses_weight_buffer(l) for l in self.df.layers) else ()),
            cus=names,
            banks=list(b.kernel.memory_banks[: self.cus]),
            project="kernel_pack",
        )
        return ctx

    def summary(self, ctx: dict) -> dict:
        d = super().summary(ctx)
        d.update(
            platform=self.board.kernel.platform,
            part=self.board.part,
            kernel_mhz=self.clock_mhz,
            compute_units=dict(zip(ctx["cus"], ctx["banks"])),
            cu_limit=self.cu_limit,
            kernel_sources=ctx["sources"]["rtl"],
        )
        return d
