"""Zynq UltraScale+ (flow ``vivado-zynq``): a Vivado batch project around the kernel.

OUTDIR/project/ gets ``build.tcl`` (project, block design, synthesis, implementation,
bitstream, reports, timing check), ``collect.py`` (copies ``.bit``/``.hwh`` into
``OUTDIR/deploy/`` and writes ``bitstream.json``) and a ``Makefile`` (``make bitstream``).
"""

from __future__ import annotations

from typing import ClassVar

from .base import VendorBackend, hex_addr, require
from .clocks import pl_clock

__all__ = ["HP_PORTS", "VIVADO_VERSIONS", "ZynqBackend"]

# Vivado releases the generated Tcl is written for (command set of UG835 2020.2..2024.2; the
# .hwh moved from <project>.srcs to <project>.gen in 2020.1, collect.py looks in both)
VIVADO_VERSIONS = (
    "2020.2",
    "2021.1",
    "2021.2",
    "2022.1",
    "2022.2",
    "2023.1",
    "2023.2",
    "2024.1",
    "2024.2",
)

# PS slave ports of zynq_ultra_ps_e (PG201, "PS-PL AXI interfaces"): the PSU__USE__S_AXI_GPn /
# PSU__SAXIGPn__DATA_WIDTH index, the clock pin, the slave interface name of its address
# segments and the segment prefix (HP0_DDR_LOW ...)
HP_PORTS = {
    "S_AXI_HPC0_FPD": (0, "saxihpc0_fpd_aclk", "SAXIGP0", "HPC0"),
    "S_AXI_HPC1_FPD": (1, "saxihpc1_fpd_aclk", "SAXIGP1", "HPC1"),
    "S_AXI_HP0_FPD": (2, "saxihp0_fpd_aclk", "SAXIGP2", "HP0"),
    "S_AXI_HP1_FPD": (3, "saxihp1_fpd_aclk", "SAXIGP3", "HP1"),
    "S_AXI_HP2_FPD": (4, "saxihp2_fpd_aclk", "SAXIGP4", "HP2"),
    "S_AXI_HP3_FPD": (5, "saxihp3_fpd_aclk", "SAXIGP5", "HP3"),
}


class ZynqBackend(VendorBackend):
    """Vivado block design: PS + smartconnects + reset + the kernel (RTL or HLS IP)."""

    flow = "vivado-zynq"
    templates: ClassVar[dict[str, str]] = {
        "build.tcl": "project/zynq_build.tcl.j2",
        "collect.py": "project/collect.py.j2",
        "Makefile": "project/zynq_Makefile.j2",
    }
    executable = ("collect.py",)

    def check(self) -> None:
        b = self.board
        k = b.kernel
        require(
            k.memory_port in HP_PORTS,
            f"{b.path}: kernel.memory_port {k.memory_port!r} is not a PS slave port; use one "
            f"of {', '.join(HP_PORTS)}",
        )
        require(
            k.bus_bits in (32, 64, 128),
            f"{b.path}: kernel.bus_bits {k.bus_bits} is wider than the PS slave ports (32, 64 "
            "or 128 bits, PG201)",
        )
        self.clock = pl_clock(b, self.clock_mhz)

    def context(self) -> dict:
        ctx = super().context()
        b = self.board
        gp, aclk, slave, prefix = HP_PORTS[b.kernel.memory_port]
        vendor, name, comp, _ = (b.board_part or "::::").split(":", 3)
        ctx.update(
            part=b.part,
            board_part=b.board_part,
            board_part_pattern=f"{vendor}:{name}:{comp}:*" if b.board_part else "",
            versions=VIVADO_VERSIONS,
            clock=self.clock,
            hp=dict(port=b.kernel.memory_port, gp=gp, aclk=aclk, slave=slave, prefix=prefix),
            bus_bits=b.kernel.bus_bits,
            control_base=hex_addr(b.kernel.control_base),
            control_range=hex_addr(b.kernel.control_range or 0x10000),
            ddr_low=[hex_addr(x) for x in b.ps.ddr_low],
            ddr_high=[hex_addr(x) for x in b.ps.ddr_high],
            bd="fpgagen_bd",
            project="fpgagen_zynq",
        )
        return ctx

    def summary(self, ctx: dict) -> dict:
        d = super().summary(ctx)
        d.update(
            part=self.board.part,
            board_part=self.board.board_part,
            pl_clk0=self.clock,
            control_base=self.board.kernel.control_base,
            memory_port=self.board.kernel.memory_port,
            kernel_sources=ctx["sources"]["rtl"],
        )
        c = self.clock
        if not c["exact"]:
            d["note"] = (
                f"{self.board.name}: PL clock 0 will run at {c['actual_mhz']:g} MHz "
                f"({c['pll']} {c['pll_mhz']:.3f} MHz / {c['divisor0'] * c['divisor1']}), the "
                f"closest the PS gives at or below {c['requested_mhz']:g} MHz; "
                f"--clock-mhz {c['actual_mhz']:g} makes the build's figures match it"
            )
        return d
