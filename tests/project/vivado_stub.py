"""A recording stand-in for the Vivado Tcl commands fpgagen's generated scripts use.

The generated Tcl runs in a real Tcl interpreter (Python's ``tkinter.Tcl()``); every vendor
command is a Python callback that

* accepts exactly the options the vendor documents for it (UG835 "Vivado Design Suite Tcl
  Command Reference Guide" for Vivado and IP integrator commands, UG1393 "Vitis Application
  Acceleration Development" for ``package_xo`` and the RTL-kernel ``ipx::`` properties);
  a command the stub does not know, an unknown option, a missing option value or a wrong
  number of arguments is an error;
* keeps a property store (``set_property``/``get_property``), and refuses IP configuration keys
  it has no source for: every ``CONFIG.*`` key an IP accepts is in :data:`IP_CONFIG` with the
  document it comes from and the values it takes;
* records the design: project part and board part, source files, block-design cells (with the
  VLNV chosen through ``get_ipdefs``), interface connections, nets, address assignments, runs.

``Design`` is what tests inspect. The stub models the parts of the IPs the scripts touch: the
Zynq UltraScale+ PS's ports, clocks, interrupt and the DDR segments of its slave ports (PG201),
SmartConnect (PG247), Processor System Reset (PG164), an RTL module reference (its AXI
interfaces inferred from port-name prefixes as IP integrator does) and a Vitis HLS IP.
"""

from __future__ import annotations

import fnmatch
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

try:  # Python's Tcl binding (python3-tk on Debian/Ubuntu); the tests require it
    import tkinter
except ImportError:  # pragma: no cover - reported by the tests' `require`
    tkinter = None

__all__ = ["HAVE_TCL", "IP_CONFIG", "Design", "StubExit", "VivadoStub"]

HAVE_TCL = tkinter is not None


class StubError(Exception):
    """A vendor command was misused (the Tcl script gets a Tcl error)."""


class StubExit(Exception):
    """The script called ``exit``."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


# -- IP catalogue ---------------------------------------------------------------------------
# several versions per IP, so that a test can see the newest is looked up, not pinned
IPDEFS = (
    "xilinx.com:ip:zynq_ultra_ps_e:3.3",
    "xilinx.com:ip:zynq_ultra_ps_e:3.5",
    "xilinx.com:ip:zynq_ultra_ps_e:3.4",
    "xilinx.com:ip:smartconnect:1.0",
    "xilinx.com:ip:proc_sys_reset:5.0",
    "xilinx.com:ip:axi_interconnect:2.1",
)

# PS PLL frequencies the stub knows (MHz): the IOPLL of the ZCU102/ZCU104/Ultra96 presets,
# PSS_REF_CLK 33.333 MHz x 45, as Vivado-generated block designs for these boards record it
# (PL0_REF_CTRL ACT_FREQMHZ 249.997498 at DIVISOR0 6, 187.498123 at DIVISOR0 8)
PLL_MHZ = {"IOPLL": 1499.985}

_BOOL = ("0", "1")
_PG201 = "PG201 (Zynq UltraScale+ MPSoC Processing System), PS-PL configuration"
_WRITE_BD = (
    "used in public Vivado write_bd_tcl output, e.g. openquantumhardware/qick "
    "firmware/bd/bd_216_2020-2.tcl (Vivado 2020.2, zynq_ultra_ps_e)"
)


def _ints(lo, hi):
    return tuple(str(i) for i in range(lo, hi + 1))


# key -> (allowed values, or None for any number; source)
IP_CONFIG = {
    "zynq_ultra_ps_e": {
        "CONFIG.PSU__USE__M_AXI_GP0": (_BOOL, f"{_PG201}: M_AXI_HPM0_FPD; {_WRITE_BD}"),
        "CONFIG.PSU__USE__M_AXI_GP1": (_BOOL, f"{_PG201}: M_AXI_HPM1_FPD; {_WRITE_BD}"),
        "CONFIG.PSU__USE__M_AXI_GP2": (_BOOL, f"{_PG201}: M_AXI_HPM0_LPD; {_WRITE_BD}"),
        "CONFIG.PSU__MAXIGP0__DATA_WIDTH": (("32", "64", "128"), f"{_PG201}; {_WRITE_BD}"),
        **{
            f"CONFIG.PSU__USE__S_AXI_GP{n}": (_BOOL, f"{_PG201}: S_AXI_{p}_FPD; {_WRITE_BD}")
            for n, p in enumerate(("HPC0", "HPC1", "HP0", "HP1", "HP2", "HP3"))
        },
        **{
            f"CONFIG.PSU__SAXIGP{n}__DATA_WIDTH": (("32", "64", "128"), f"{_PG201}; {_WRITE_BD}")
            for n in range(6)
        },
        "CONFIG.PSU__HIGH_ADDRESS__ENABLE": (
            _BOOL,
            f"{_PG201}: DDR high address window (HPn_DDR_HIGH segments); {_WRITE_BD}",
        ),
        "CONFIG.PSU__USE__IRQ0": (_BOOL, f"{_PG201}: pl_ps_irq0; {_WRITE_BD}"),
        "CONFIG.PSU__FPGA_PL0_ENABLE": (_BOOL, f"{_PG201}: pl_clk0; {_WRITE_BD}"),
        "CONFIG.PSU__CRL_APB__PL0_REF_CTRL__SRCSEL": (
            ("IOPLL", "RPLL", "DPLL"),
            f"{_PG201}, clock configuration; UG1087 PL0_REF_CTRL; {_WRITE_BD}",
        ),
        "CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ": (None, f"{_PG201}; {_WRITE_BD}"),
        "CONFIG.PSU__CRL_APB__PL0_REF_CTRL__DIVISOR0": (
            _ints(1, 63),
            f"UG1087 PL0_REF_CTRL (6-bit divisor); {_WRITE_BD}",
        ),
        "CONFIG.PSU__CRL_APB__PL0_REF_CTRL__DIVISOR1": (
            _ints(1, 63),
            f"UG1087 PL0_REF_CTRL (6-bit divisor); {_WRITE_BD}",
        ),
        "CONFIG.PSU__USE__FABRIC__RST": (_BOOL, f"{_PG201}: pl_resetn0; {_WRITE_BD}"),
        "CONFIG.PSU__NUM_FABRIC_RESETS": (_ints(1, 4), f"{_PG201}; {_WRITE_BD}"),
    },
    "smartconnect": {
        "CONFIG.NUM_SI": (_ints(1, 16), "PG247 (SmartConnect), user parameters"),
        "CONFIG.NUM_MI": (_ints(1, 16), "PG247 (SmartConnect), user parameters"),
    },
    "proc_sys_reset": {},
}

# IP defaults the scripts rely on changing (PG201 defaults of the IP customisation)
PS_DEFAULTS = {
    "CONFIG.PSU__USE__M_AXI_GP0": "1",
    "CONFIG.PSU__USE__M_AXI_GP1": "1",
    "CONFIG.PSU__USE__M_AXI_GP2": "0",
    **{f"CONFIG.PSU__USE__S_AXI_GP{n}": "0" for n in range(6)},
    "CONFIG.PSU__HIGH_ADDRESS__ENABLE": "0",
    "CONFIG.PSU__USE__IRQ0": "0",
    "CONFIG.PSU__FPGA_PL0_ENABLE": "1",
    "CONFIG.PSU__CRL_APB__PL0_REF_CTRL__SRCSEL": "IOPLL",
    "CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ": "100",
    "CONFIG.PSU__CRL_APB__PL0_REF_CTRL__DIVISOR0": "15",
    "CONFIG.PSU__CRL_APB__PL0_REF_CTRL__DIVISOR1": "1",
    "CONFIG.PSU__USE__FABRIC__RST": "1",
    "CONFIG.PSU__NUM_FABRIC_RESETS": "1",
    "CONFIG.PSU__MAXIGP0__DATA_WIDTH": "128",
    **{f"CONFIG.PSU__SAXIGP{n}__DATA_WIDTH": "128" for n in range(6)},
}
_PS_SLAVES = ("HPC0", "HPC1", "HP0", "HP1", "HP2", "HP3")


# -- documented options per command (UG835 / UG1393); value-taking options map to True --------
def _o(*flags, **vals):
    d = {f"-{f}": False for f in flags}
    d.update({f"-{k}": True for k in vals})
    d.setdefault("-quiet", False)
    d.setdefault("-verbose", False)
    return d


_V = True
_GET = _o("hierarchical", "regexp", "nocase", filter=_V, of_objects=_V)
OPTIONS = {
    "version": _o("short"),
    "create_project": _o("force", "in_memory", "ip", "rtl_kernel", part=_V),
    "current_project": _o(),
    "close_project": _o("delete"),
    "get_board_parts": _o(
        "regexp", "nocase", "latest_file_version", "latest_hw_revision", filter=_V, of_objects=_V
    ),
    "set_property": _o(dict=_V),
    "get_property": _o("min", "max"),
    "add_files": _o("norecurse", "scan_for_includes", "copy_to_dir", fileset=_V, copy_to=_V),
    "update_compile_order": _o(fileset=_V),
    "update_ip_catalog": _o(
        "rebuild", "scan_changes", "update_module_ref", add_ip=_V, repo_path=_V, delete_ip=_V
    ),
    "get_ipdefs": _o("all", "regexp", "nocase", "name", filter=_V, of_objects=_V),
    "create_bd_design": _o(dir=_V, cell=_V, mode=_V, bdsource=_V),
    "create_bd_cell": _o(type=_V, vlnv=_V, reference=_V, prop=_V),
    "apply_bd_automation": _o(rule=_V, config=_V, dict=_V, opts=_V),
    "get_bd_cells": _GET,
    "get_bd_pins": _GET,
    "get_bd_intf_pins": _GET,
    "get_bd_addr_spaces": _GET,
    "get_bd_addr_segs": _GET,
    "connect_bd_net": _o(net=_V),
    "connect_bd_intf_net": _o(intf_net=_V, boundary_type=_V),
    "assign_bd_address": _o(
        "boundary",
        "external",
        "force",
        offset=_V,
        range=_V,
        target_address_space=_V,
        export_to_file=_V,
        import_from_file=_V,
        export_gui_to_file=_V,
        dict=_V,
    ),
    "validate_bd_design": _o("force", design=_V),
    "save_bd_design": _o(),
    "get_files": _GET | _o("all", compile_order=_V, used_in=_V),
    "generate_target": _o("force"),
    "make_wrapper": _o(
        "top", "testbench", "inst_template", "import", "force", files=_V, fileset=_V
    ),
    "current_fileset": _o("constrset", "simset"),
    "get_runs": _GET,
    "launch_runs": _o("next_step", "scripts_only", "force", jobs=_V, to_step=_V, lsf=_V, host=_V),
    "wait_on_run": _o(timeout=_V),
    "open_run": _o(name=_V, pr_config=_V),
    "report_utilization": _o("hierarchical", file=_V, name=_V, cells=_V, pblocks=_V),
    "report_timing_summary": _o(
        "no_header",
        "warn_on_violation",
        file=_V,
        max_paths=_V,
        delay_type=_V,
        report_unconstrained=_V,
    ),
    "get_timing_paths": _o("setup", "hold", delay_type=_V, max_paths=_V, nworst=_V, group=_V),
    # RTL kernel packaging (UG1393 "Packaging RTL Kernels", UG835 ipx:: commands)
    "ipx::package_project": _o(
        "import_files",
        "generated_files",
        "force",
        "archive_source_project",
        root_dir=_V,
        set_current=_V,
        vendor=_V,
        library=_V,
        taxonomy=_V,
        module=_V,
        force_update_compile_order=_V,
    ),
    "ipx::current_core": _o(),
    "ipx::associate_bus_interfaces": _o("remove", busif=_V, clock=_V, reset=_V),
    "ipx::update_checksums": _o(),
    "ipx::check_integrity": _o("kernel", "xrt_kernel", "quiet"),
    "ipx::save_core": _o(),
    "package_xo": _o(
        "force",
        xo_path=_V,
        kernel_name=_V,
        ip_directory=_V,
        kernel_xml=_V,
        kernel_files=_V,
        kernel_xml_args=_V,
        kernel_xml_pipes=_V,
        kernel_xml_connections=_V,
        ctrl_protocol=_V,
        design_xml=_V,
        parent_ip_directory=_V,
        output_kernel_xml=_V,
    ),
}
# positional arguments: (min, max or None)
POSITIONAL = {
    "version": (0, 0),
    "create_project": (1, 2),
    "current_project": (0, 1),
    "close_project": (0, 0),
    "get_board_parts": (0, None),
    "set_property": (1, None),
    "get_property": (2, 2),
    "add_files": (1, None),
    "update_compile_order": (0, 0),
    "update_ip_catalog": (0, 0),
    "get_ipdefs": (0, None),
    "create_bd_design": (1, 1),
    "create_bd_cell": (1, 1),
    "apply_bd_automation": (1, None),
    "get_bd_cells": (0, None),
    "get_bd_pins": (0, None),
    "get_bd_intf_pins": (0, None),
    "get_bd_addr_spaces": (0, None),
    "get_bd_addr_segs": (0, None),
    "connect_bd_net": (2, None),
    "connect_bd_intf_net": (2, 2),
    "assign_bd_address": (0, None),
    "validate_bd_design": (0, 0),
    "save_bd_design": (0, 1),
    "get_files": (0, None),
    "generate_target": (2, 2),
    "make_wrapper": (0, 0),
    "current_fileset": (0, 1),
    "get_runs": (0, None),
    "launch_runs": (1, None),
    "wait_on_run": (1, 1),
    "open_run": (1, 1),
    "report_utilization": (0, 0),
    "report_timing_summary": (0, 0),
    "get_timing_paths": (0, None),
    "ipx::package_project": (0, 0),
    "ipx::current_core": (0, 1),
    "ipx::associate_bus_interfaces": (1, 1),
    "ipx::update_checksums": (1, 1),
    "ipx::check_integrity": (1, 1),
    "ipx::save_core": (1, 1),
    "package_xo": (0, 0),
}
assert set(OPTIONS) == set(POSITIONAL)

_MODULE = re.compile(r"\bmodule\s+([A-Za-z_][A-Za-z0-9_]*)\s*(#\s*\(.*?\)\s*)?\((.*?)\);", re.S)
_PORT = re.compile(
    r"\b(input|output|inout)\s+(?:wire|reg|logic)?\s*(?:signed\s*)?(?:\[[^\]]*\]\s*)?"
    r"([A-Za-z_][A-Za-z0-9_]*)"
)
# signals IP integrator needs to infer an AXI interface from a port-name prefix
_AXI_LITE = ("AWADDR", "AWVALID", "AWREADY", "WDATA", "WSTRB", "WVALID", "WREADY", "BRESP",
             "BVALID", "BREADY", "ARADDR", "ARVALID", "ARREADY", "RDATA", "RRESP", "RVALID",
             "RREADY")  # fmt: skip
_AXI_FULL = _AXI_LITE + ("AWLEN", "AWSIZE", "AWBURST", "WLAST", "ARLEN", "ARSIZE", "ARBURST",
                         "RLAST")  # fmt: skip


def verilog_ports(text: str, module: str) -> dict[str, str] | None:
    """``{port: direction}`` of ``module`` in ``text`` (ANSI port lists), None if absent."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    for m in _MODULE.finditer(text):
        if m.group(1) == module:
            return {p: d for d, p in _PORT.findall(m.group(3))}
    return None


@dataclass
class Cell:
    name: str
    vlnv: str
    kind: str  # zynq_ultra_ps_e, smartconnect, proc_sys_reset, module, hls
    config: dict = field(default_factory=dict)
    ports: dict = field(default_factory=dict)  # module/hls: {port: direction}
    preset: bool = False

    def intf_pins(self) -> dict[str, str]:
        """``{interface: "master"|"slave"}``."""
        c = self.config
        if self.kind == "zynq_ultra_ps_e":
            out = {}
            for key, name in (
                ("0", "M_AXI_HPM0_FPD"),
                ("1", "M_AXI_HPM1_FPD"),
                ("2", "M_AXI_HPM0_LPD"),
            ):
                if c[f"CONFIG.PSU__USE__M_AXI_GP{key}"] == "1":
                    out[name] = "master"
            for n, p in enumerate(_PS_SLAVES):
                if c[f"CONFIG.PSU__USE__S_AXI_GP{n}"] == "1":
                    out[f"S_AXI_{p}_FPD"] = "slave"
            return out
        if self.kind == "smartconnect":
            si, mi = int(c["CONFIG.NUM_SI"]), int(c["CONFIG.NUM_MI"])
            return {**{f"S{i:02d}_AXI": "slave" for i in range(si)},
                    **{f"M{i:02d}_AXI": "master" for i in range(mi)}}  # fmt: skip
        if self.kind in ("module", "hls"):
            return kernel_interfaces(self.ports)
        return {}

    def pins(self) -> dict[str, str]:
        """``{pin: "in"|"out"}``."""
        c = self.config
        if self.kind == "zynq_ultra_ps_e":
            out = {}
            if c["CONFIG.PSU__FPGA_PL0_ENABLE"] == "1":
                out["pl_clk0"] = "out"
            if c["CONFIG.PSU__USE__FABRIC__RST"] == "1":
                out["pl_resetn0"] = "out"
            if c["CONFIG.PSU__USE__IRQ0"] == "1":
                out["pl_ps_irq0"] = "in"
            for key, name in (
                ("0", "maxihpm0_fpd_aclk"),
                ("1", "maxihpm1_fpd_aclk"),
                ("2", "maxihpm0_lpd_aclk"),
            ):
                if c[f"CONFIG.PSU__USE__M_AXI_GP{key}"] == "1":
                    out[name] = "in"
            for n, p in enumerate(_PS_SLAVES):
                if c[f"CONFIG.PSU__USE__S_AXI_GP{n}"] == "1":
                    out[f"saxi{p.lower()}_fpd_aclk"] = "in"
            return out
        if self.kind == "smartconnect":
            return {"aclk": "in", "aresetn": "in"}
        if self.kind == "proc_sys_reset":
            return {"slowest_sync_clk": "in", "ext_reset_in": "in", "aux_reset_in": "in",
                    "mb_debug_sys_rst": "in", "dcm_locked": "in", "mb_reset": "out",
                    "bus_struct_reset": "out", "peripheral_reset": "out",
                    "interconnect_aresetn": "out", "peripheral_aresetn": "out"}  # fmt: skip
        if self.kind in ("module", "hls"):
            intf = kernel_interfaces(self.ports)
            return {
                p: ("in" if d == "input" else "out")
                for p, d in self.ports.items()
                if not any(p.startswith(i + "_") for i in intf)
            }
        return {}

    def addr_spaces(self) -> list[str]:
        if self.kind == "zynq_ultra_ps_e":
            return ["Data"]
        if self.kind == "module":
            return [i for i, m in self.intf_pins().items() if m == "master"]
        if self.kind == "hls":
            return [f"Data_{i}" for i, m in self.intf_pins().items() if m == "master"]
        return []

    def segments(self) -> dict[str, str]:
        """``{"<intf>/<segment>": kind}`` of the slave interfaces (addressable memory)."""
        out = {}
        if self.kind == "zynq_ultra_ps_e":
            high = self.config["CONFIG.PSU__HIGH_ADDRESS__ENABLE"] == "1"
            for n, p in enumerate(_PS_SLAVES):
                if self.config[f"CONFIG.PSU__USE__S_AXI_GP{n}"] == "1":
                    out[f"SAXIGP{n}/{p}_DDR_LOW"] = "ddr_low"
                    if high:
                        out[f"SAXIGP{n}/{p}_DDR_HIGH"] = "ddr_high"
                    out[f"SAXIGP{n}/{p}_LPS_OCM"] = "ocm"
                    out[f"SAXIGP{n}/{p}_QSPI"] = "qspi"
        elif self.kind in ("module", "hls"):
            seg = "reg0" if self.kind == "module" else "Reg"
            for i, m in self.intf_pins().items():
                if m == "slave":
                    out[f"{i}/{seg}"] = "registers"
        return out

    def pl_clk0_mhz(self) -> float:
        c = self.config
        src = c["CONFIG.PSU__CRL_APB__PL0_REF_CTRL__SRCSEL"]
        if src not in PLL_MHZ:
            raise StubError(f"PL0 source {src}: the stub models only {sorted(PLL_MHZ)}")
        d = int(c["CONFIG.PSU__CRL_APB__PL0_REF_CTRL__DIVISOR0"]) * int(
            c["CONFIG.PSU__CRL_APB__PL0_REF_CTRL__DIVISOR1"]
        )
        return PLL_MHZ[src] / d


def kernel_interfaces(ports: dict[str, str]) -> dict[str, str]:
    """AXI interfaces IP integrator infers from port-name prefixes (``s_axi_X_*``, ``m_axi_X_*``)."""
    out = {}
    for p in ports:
        m = re.match(r"(s_axi_[A-Za-z0-9]+|m_axi_[A-Za-z0-9]+)_([A-Za-z]+)$", p)
        if m:
            out.setdefault(m.group(1), set()).add(m.group(2).upper())
    res = {}
    for name, sigs in out.items():
        need = _AXI_LITE if name.startswith("s_") else _AXI_FULL
        if set(need) <= sigs:
            res[name] = "slave" if name.startswith("s_") else "master"
    return res


@dataclass
class Design:
    """What a script built, as tests inspect it."""

    version: str = ""
    project: str | None = None
    project_dir: Path | None = None
    part: str | None = None
    board_part: str | None = None
    files: list = field(default_factory=list)
    ip_repo_paths: list = field(default_factory=list)
    bd: str | None = None
    cells: dict = field(default_factory=dict)
    intf_nets: list = field(default_factory=list)  # [(pin, pin)]
    nets: dict = field(default_factory=dict)  # name -> [pins]
    addresses: dict = field(default_factory=dict)  # space -> {segment: (offset, range)}
    validated: bool = False
    top: str | None = None
    runs: dict = field(default_factory=dict)  # name -> {"PROGRESS", "STATUS", "to_step"}
    reports: list = field(default_factory=list)
    core: dict = field(default_factory=dict)  # ipx core properties and bus associations
    xo: dict | None = None
    log: list = field(default_factory=list)

    def cell(self, name: str) -> Cell:
        return self.cells[name.strip("/")]

    def intf_peer(self, pin: str) -> str | None:
        for a, b in self.intf_nets:
            if a == pin:
                return b
            if b == pin:
                return a
        return None

    def net_of(self, pin: str) -> list[str]:
        for pins in self.nets.values():
            if pin in pins:
                return pins
        return []

    def reachable(self, start: str) -> set[str]:
        """Interface pins reachable from ``start`` across nets and through interconnects."""
        seen, todo = set(), [start]
        while todo:
            p = todo.pop()
            if p in seen:
                continue
            seen.add(p)
            peer = self.intf_peer(p)
            if peer:
                todo.append(peer)
            cell = p.strip("/").split("/")[0]
            c = self.cells.get(cell)
            if c is not None and c.kind == "smartconnect":
                todo += [f"/{cell}/{i}" for i in c.intf_pins()]
        return seen


def _tcl_list(items) -> tuple:
    return tuple(str(i) for i in items)


class VivadoStub:
    """Run a generated script against the recording stub.

    ``board_parts``: the board parts "installed"; ``version``: what ``version -short`` says;
    ``wns``: worst slack after implementation; ``fail_run``: a run that does not complete;
    ``hwh_dir``: ``"gen"`` (Vivado 2020.1+) or ``"srcs"`` (older) for the hardware handoff.
    """

    def __init__(self, *, version="2023.2", board_parts=(), wns=0.25, fail_run=None,
                 hwh_dir="gen", env=None, write_bitstream=True):  # fmt: skip
        self.design = Design(version=version)
        self.board_parts = tuple(board_parts)
        self.wns = wns
        self.fail_run = fail_run
        self.hwh_dir = hwh_dir
        self.write_bitstream = write_bitstream
        self.env = dict(env or {})
        self.ipdefs = list(IPDEFS)
        self.props: dict[str, dict] = {}
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.tcl = tkinter.Tcl()
        self.tcl.eval("rename puts ::stub_real_puts")
        self.tcl.createcommand("puts", self._puts)
        self.tcl.createcommand("exit", self._wrap_exit)
        for name in OPTIONS:
            self.tcl.createcommand(name, self._wrap(name))
        self._pending = None
        self._generated: set = set()

    # -- running ----------------------------------------------------------------------------
    def run(self, script: Path, argv=()) -> int:
        """Source ``script`` with ``argv``; returns the exit code (0 when it ends normally)."""
        t = self.tcl
        # Tcl's env array is the process environment: only the variables given reach the
        # script, and none stay behind for other tests
        clear = "foreach k [array names ::env FPGAGEN_*] { unset ::env($k) }"
        t.eval(clear)
        for k, v in self.env.items():
            t.call("set", f"::env({k})", v)
        try:
            return self._source(script, argv)
        finally:
            t.eval(clear)
            for k in [k for k in os.environ if k.startswith("FPGAGEN_")]:
                t.call("set", f"::env({k})", os.environ[k])

    def _source(self, script: Path, argv) -> int:
        t = self.tcl
        t.call("set", "argv", _tcl_list(argv))
        t.call("set", "argc", len(argv))
        self._pending = None
        self._generated: set = set()
        try:
            t.call("source", str(script))
        except (tkinter.TclError, StubError, StubExit) as e:
            err = self._pending or e
            if isinstance(err, StubExit):
                return err.code
            self.stderr.append(f"{'stub' if isinstance(err, StubError) else 'Tcl'} error: {err}")
            return 1
        return 0

    def _puts(self, *args):
        args = list(args)
        nonl = args and args[0] == "-nonewline"
        if nonl:
            args.pop(0)
        if len(args) == 1:
            self.stdout.append(args[0])
        elif len(args) == 2 and args[0] in ("stdout", "stderr"):
            (self.stdout if args[0] == "stdout" else self.stderr).append(args[1])
        else:
            return self.tcl.call(
                "::stub_real_puts", *((("-nonewline",) if nonl else ()) + tuple(args))
            )
        return ""

    def _wrap_exit(self, code="0"):
        self._pending = StubExit(int(code))
        raise self._pending

    def _wrap(self, name):
        def cmd(*args):
            try:
                return call(*args)
            except (StubError, StubExit) as e:  # tkinter turns it into a Tcl error; keep it
                self._pending = e
                raise

        def call(*args):
            opts, pos = self._parse(name, args)
            self.design.log.append((name, opts, pos))
            fn = getattr(self, "c_" + name.replace("::", "_"))
            res = fn(opts, pos)
            if res is None:
                return ""
            if isinstance(res, (list, tuple)):
                return _tcl_list(res)
            return str(res)

        return cmd

    def _parse(self, name, args):
        spec = OPTIONS[name]
        opts, pos = {}, []
        i = 0
        while i < len(args):
            a = args[i]
            if a.startswith("-") and not re.fullmatch(r"-?[0-9.]+", a):
                if a not in spec:
                    raise StubError(
                        f"{name}: unknown option '{a}' (documented: {' '.join(sorted(spec))})"
                    )
                if spec[a]:
                    i += 1
                    if i >= len(args):
                        raise StubError(f"{name}: option '{a}' needs a value")
                    opts[a] = args[i]
                else:
                    opts[a] = True
            else:
                pos.append(a)
            i += 1
        lo, hi = POSITIONAL[name]
        if len(pos) < lo or (hi is not None and len(pos) > hi):
            raise StubError(f"{name}: takes {lo}..{hi} arguments, got {len(pos)}: {pos}")
        return opts, pos

    def _list(self, s: str) -> list[str]:
        return list(self.tcl.splitlist(s)) if s else []

    def _objs(self, pos) -> list[str]:
        out = []
        for p in pos:
            out += self._list(p)
        return out

    # -- project ----------------------------------------------------------------------------
    def c_version(self, o, p):
        if "-short" not in o:
            raise StubError("version: the scripts use version -short")
        return self.design.version

    def c_create_project(self, o, p):
        d = self.design
        if "-part" not in o:
            raise StubError("create_project: no -part")
        if d.project and "-force" not in o:
            raise StubError("create_project: a project is open")
        d.project, d.part = p[0], o["-part"]
        d.project_dir = Path(p[1]) if len(p) > 1 else Path.cwd() / p[0]
        d.board_part = None
        self.props[d.project] = {"PART": d.part, "DIRECTORY": str(d.project_dir)}
        return d.project

    def _need_project(self, cmd):
        if not self.design.project:
            raise StubError(f"{cmd}: no open project")

    def c_current_project(self, o, p):
        self._need_project("current_project")
        return self.design.project

    def c_close_project(self, o, p):
        self._need_project("close_project")
        self.design.closed = True
        self.design.project = None

    def c_get_board_parts(self, o, p):
        pats = self._objs(p) or ["*"]
        hits = [b for b in self.board_parts if any(fnmatch.fnmatchcase(b, q) for q in pats)]
        if "-latest_file_version" in o and hits:
            hits = [
                sorted(hits, key=lambda s: [int(x) for x in s.rsplit(":", 1)[1].split(".")])[-1]
            ]
        return hits

    def c_add_files(self, o, p):
        self._need_project("add_files")
        for f in self._objs(p):
            path = Path(f)
            if not path.is_file() and f not in self._generated:
                raise StubError(f"add_files: {f} does not exist")
            if "-norecurse" not in o and path.is_dir():
                raise StubError("add_files: directories need recursion")
            self.design.files.append(f)

    def c_update_compile_order(self, o, p):
        self._need_project("update_compile_order")
        if o.get("-fileset", "sources_1") != "sources_1":
            raise StubError("update_compile_order: unknown fileset")

    def c_update_ip_catalog(self, o, p):
        for repo in self.design.ip_repo_paths:
            for comp in Path(repo).rglob("component.xml"):
                vlnv = self._component_vlnv(comp)
                if vlnv and vlnv not in self.ipdefs:
                    self.ipdefs.append(vlnv)

    def _component_vlnv(self, comp: Path) -> str | None:
        try:
            root = ET.parse(comp).getroot()
        except ET.ParseError as e:
            raise StubError(f"update_ip_catalog: {comp}: {e}") from None
        vals = {}
        for el in root.iter():
            tag = el.tag.split("}")[-1]
            if tag in ("vendor", "library", "name", "version") and tag not in vals:
                vals[tag] = (el.text or "").strip()
        if len(vals) == 4:
            return ":".join(vals[k] for k in ("vendor", "library", "name", "version"))
        return None

    def c_get_ipdefs(self, o, p):
        pats = self._objs(p) or ["*"]
        return [v for v in self.ipdefs if any(fnmatch.fnmatchcase(v, q) for q in pats)]

    # -- properties -------------------------------------------------------------------------
    def c_set_property(self, o, p):
        if "-dict" in o:
            kv = self._list(o["-dict"])
            if len(kv) % 2:
                raise StubError("set_property -dict: odd number of elements")
            pairs = list(zip(kv[0::2], kv[1::2]))
            objs = self._objs(p)
        else:
            if len(p) < 3:
                raise StubError("set_property: NAME VALUE OBJECTS")
            pairs = [(p[0], p[1])]
            objs = self._objs(p[2:])
        if not objs:
            raise StubError("set_property: no objects (an empty get_* result?)")
        for obj in objs:
            for k, v in pairs:
                self._set(obj, k, v)

    def _set(self, obj: str, key: str, value: str):
        d = self.design
        name = obj.strip("/")
        if name in d.cells:
            c = d.cells[name]
            table = IP_CONFIG.get(c.kind)
            if table is None:
                raise StubError(f"set_property {key}: cell {obj} ({c.kind}) takes no CONFIG here")
            if key not in table:
                raise StubError(
                    f"set_property: {key} is not a documented parameter of {c.vlnv} (the stub's table has {len(table)} cited keys)"
                )
            allowed = table[key][0]
            if allowed is not None and value not in allowed:
                raise StubError(f"set_property: {key} = {value!r} not one of {allowed}")
            if allowed is None:
                try:
                    float(value)
                except ValueError:
                    raise StubError(f"set_property: {key} = {value!r} is not a number") from None
            c.config[key] = value
            return
        if obj == d.project:
            if key.lower() == "board_part":
                if value not in self.board_parts:
                    raise StubError(f"set_property board_part: {value} is not installed")
                d.board_part = value
            elif key.lower() == "ip_repo_paths":
                d.ip_repo_paths = self._list(value)
            else:
                raise StubError(f"set_property: project property {key} not modelled")
            return
        if obj == "sources_1" and key.lower() == "top":
            d.top = value
            return
        if obj.endswith(".bd") and key.lower() == "synth_checkpoint_mode":
            if value not in ("None", "Singular", "Hierarchical"):
                raise StubError(f"synth_checkpoint_mode {value!r}")
            self.props.setdefault(obj, {})[key] = value
            return
        if obj == "ipx_core":
            if key not in ("sdx_kernel", "sdx_kernel_type"):
                raise StubError(f"set_property {key}: not an RTL-kernel core property (UG1393)")
            if value not in (("true",) if key == "sdx_kernel" else ("rtl",)):
                raise StubError(
                    f"set_property {key} {value}: UG1393 gives sdx_kernel true, sdx_kernel_type rtl"
                )
            d.core[key] = value
            return
        raise StubError(f"set_property {key}: object {obj!r} unknown to the stub")

    def c_get_property(self, o, p):
        key, obj = p[0], p[1]
        objs = self._list(obj)
        if len(objs) != 1:
            raise StubError(f"get_property {key}: expected one object, got {objs}")
        obj = objs[0]
        name = obj.strip("/")
        if name in self.design.cells:
            c = self.design.cells[name]
            if key == "VLNV":
                return c.vlnv
            if key not in c.config:
                raise StubError(f"get_property: {key} not set on {obj}")
            return c.config[key]
        if obj in self.props and key.upper() in {k.upper() for k in self.props[obj]}:
            return next(v for k, v in self.props[obj].items() if k.upper() == key.upper())
        raise StubError(f"get_property {key} {obj}: not in the property store")

    # -- block design -----------------------------------------------------------------------
    def c_create_bd_design(self, o, p):
        self._need_project("create_bd_design")
        self.design.bd = p[0]
        bd = self.design.project_dir / f"{self.design.project}.srcs/sources_1/bd/{p[0]}/{p[0]}.bd"
        self._bd_file = str(bd)

    def c_create_bd_cell(self, o, p):
        d = self.design
        if not d.bd:
            raise StubError("create_bd_cell: no block design")
        name = p[0]
        if name in d.cells:
            raise StubError(f"create_bd_cell: {name} exists")
        typ = o.get("-type")
        if typ == "ip":
            vlnv = o.get("-vlnv", "")
            if vlnv not in self.ipdefs:
                raise StubError(f"create_bd_cell: IP {vlnv!r} not in the catalogue")
            ipname = vlnv.split(":")[2]
            if vlnv.split(":")[1] == "hls":
                ports = self._hls_ports()
                d.cells[name] = Cell(name, vlnv, "hls", ports=ports)
            elif ipname in IP_CONFIG:
                cfg = dict(PS_DEFAULTS) if ipname == "zynq_ultra_ps_e" else {}
                if ipname == "smartconnect":
                    cfg = {"CONFIG.NUM_SI": "1", "CONFIG.NUM_MI": "2"}
                d.cells[name] = Cell(name, vlnv, ipname, config=cfg)
            else:
                raise StubError(f"create_bd_cell: {vlnv} is not modelled by the stub")
        elif typ == "module":
            mod = o.get("-reference")
            ports = None
            for f in d.files:
                if f.endswith((".v", ".sv")) and Path(f).is_file():
                    ports = verilog_ports(Path(f).read_text(), mod)
                    if ports is not None:
                        break
            if ports is None:
                raise StubError(
                    f"create_bd_cell -reference {mod}: no added source defines module {mod}"
                )
            d.cells[name] = Cell(name, f"module_ref:{mod}", "module", ports=ports)
        else:
            raise StubError(f"create_bd_cell: -type {typ!r} (ip or module)")
        return f"/{name}"

    def _hls_ports(self):
        # a Vitis HLS IP of fpgagen_kernel(in*, out*, n): the ports its component.xml declares
        ports = {"ap_clk": "input", "ap_rst_n": "input", "interrupt": "output"}
        for s in _AXI_LITE:
            ports[f"s_axi_control_{s}"] = "input"
        for s in _AXI_FULL:
            ports[f"m_axi_gmem_{s}"] = "output"
        return ports

    def c_apply_bd_automation(self, o, p):
        rule = o.get("-rule")
        if rule != "xilinx.com:bd_rule:zynq_ultra_ps_e":
            raise StubError(f"apply_bd_automation: rule {rule!r} not modelled")
        cfg = self._list(o.get("-config", ""))
        if cfg != ["apply_board_preset", "1"]:
            raise StubError(f"apply_bd_automation: config {cfg} (expected apply_board_preset 1)")
        if not self.design.board_part:
            raise StubError(
                "apply_bd_automation: apply_board_preset needs a board part on the project"
            )
        for obj in self._objs(p):
            c = self.design.cell(obj)
            if c.kind != "zynq_ultra_ps_e":
                raise StubError(f"apply_bd_automation: {obj} is not a Zynq UltraScale+ PS")
            c.preset = True

    def _get(self, kind, o, p):
        d = self.design
        items = []
        if kind == "cells":
            items = [f"/{n}" for n in d.cells]
        for n, c in d.cells.items():
            if kind == "pins":
                items += [f"/{n}/{x}" for x in c.pins()]
            elif kind == "intf_pins":
                items += [f"/{n}/{x}" for x in c.intf_pins()]
            elif kind == "addr_spaces":
                items += [f"/{n}/{x}" for x in c.addr_spaces()]
            elif kind == "addr_segs":
                items += [f"/{n}/{x}" for x in c.segments()]
        if "-of_objects" in o:
            of = [x.strip("/") for x in self._list(o["-of_objects"])]
            items = [i for i in items if i.strip("/").split("/")[0] in of]
            if not p:
                return items
        pats = self._objs(p) or ["*"]
        return [
            i for i in items if any(fnmatch.fnmatchcase(i.strip("/"), q.strip("/")) for q in pats)
        ]

    def c_get_bd_cells(self, o, p):
        return self._get("cells", o, p)

    def c_get_bd_pins(self, o, p):
        return self._get("pins", o, p)

    def c_get_bd_intf_pins(self, o, p):
        return self._get("intf_pins", o, p)

    def c_get_bd_addr_spaces(self, o, p):
        return self._get("addr_spaces", o, p)

    def c_get_bd_addr_segs(self, o, p):
        return self._get("addr_segs", o, p)

    def _pin_dir(self, pin):
        cell, name = pin.strip("/").split("/", 1)
        return self.design.cells[cell].pins()[name]

    def c_connect_bd_net(self, o, p):
        pins = self._objs(p)
        if len(pins) < 2:
            raise StubError(f"connect_bd_net: needs 2+ pins, got {pins} (an empty get_bd_pins?)")
        drivers = [x for x in pins if self._pin_dir(x) == "out"]
        if len(drivers) != 1:
            raise StubError(f"connect_bd_net: {len(drivers)} drivers among {pins}")
        for x in pins:
            if self.design.net_of(x):
                raise StubError(f"connect_bd_net: {x} is already connected")
        name = o.get("-net", f"net_{len(self.design.nets)}")
        self.design.nets[name] = pins

    def c_connect_bd_intf_net(self, o, p):
        pins = self._objs(p)
        if len(pins) != 2:
            raise StubError(f"connect_bd_intf_net: needs 2 interface pins, got {pins}")
        modes = []
        for x in pins:
            cell, name = x.strip("/").split("/", 1)
            modes.append(self.design.cells[cell].intf_pins()[name])
            if self.design.intf_peer(x):
                raise StubError(f"connect_bd_intf_net: {x} is already connected")
        if sorted(modes) != ["master", "slave"]:
            raise StubError(f"connect_bd_intf_net: {pins} are {modes}, not master and slave")
        self.design.intf_nets.append(tuple(pins))

    def c_assign_bd_address(self, o, p):
        d = self.design
        segs = self._objs(p)
        if not segs:
            raise StubError("assign_bd_address: no segments (an empty get_bd_addr_segs?)")
        space = self._list(o.get("-target_address_space", ""))
        if len(space) != 1:
            raise StubError(f"assign_bd_address: -target_address_space {space}")
        space = space[0]
        off, rng = int(o["-offset"], 0), int(o["-range"], 0)
        if rng & (rng - 1) or off % rng:
            raise StubError(f"assign_bd_address: offset {off:#x} / range {rng:#x} not aligned")
        # the segment's slave interface must be reachable from the space's master
        cell, sp = space.strip("/").split("/", 1)
        c = d.cells[cell]
        master = f"/{cell}/{sp[len('Data_') :] if c.kind == 'hls' else sp}"
        reach = (
            d.reachable(master)
            if c.kind != "zynq_ultra_ps_e"
            else set().union(
                *(d.reachable(f"/{cell}/{i}") for i, m in c.intf_pins().items() if m == "master")
            )
        )
        for s in segs:
            target_intf = self._seg_intf(s)
            if target_intf not in reach:
                raise StubError(f"assign_bd_address: {s} is not reachable from {space}")
            for other, (o2, r2) in d.addresses.get(space, {}).items():
                if other != s and off < o2 + r2 and o2 < off + rng:
                    raise StubError(f"assign_bd_address: {s} overlaps {other} in {space}")
            d.addresses.setdefault(space, {})[s] = (off, rng)

    def _seg_intf(self, seg: str) -> str:
        cell, rest = seg.strip("/").split("/", 1)
        c = self.design.cells[cell]
        if c.kind == "zynq_ultra_ps_e":
            n = int(rest.split("/")[0][len("SAXIGP") :])
            return f"/{cell}/S_AXI_{_PS_SLAVES[n]}_FPD"
        return f"/{cell}/{rest.split('/')[0]}"

    def c_validate_bd_design(self, o, p):
        d = self.design
        errors = []
        for n, c in d.cells.items():
            for pin, direction in c.pins().items():
                if direction == "in" and not d.net_of(f"/{n}/{pin}"):
                    optional = c.kind == "proc_sys_reset" and pin not in (
                        "slowest_sync_clk",
                        "ext_reset_in",
                    )
                    if not optional and pin != "pl_ps_irq0":
                        errors.append(f"/{n}/{pin} is not connected")
            for intf in c.intf_pins():
                if not d.intf_peer(f"/{n}/{intf}"):
                    errors.append(f"interface /{n}/{intf} is not connected")
            for seg in c.segments():
                if c.kind in ("module", "hls") and not any(
                    f"/{n}/{seg}" in a for a in d.addresses.values()
                ):
                    errors.append(f"segment /{n}/{seg} is not assigned")
            for space in c.addr_spaces():
                if c.kind in ("module", "hls") and not d.addresses.get(f"/{n}/{space}"):
                    errors.append(f"address space /{n}/{space} has no segments")
            if c.kind == "zynq_ultra_ps_e":
                cfg = c.config
                want = float(cfg["CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ"])
                if abs(c.pl_clk0_mhz() - want) > want * 1e-3:
                    errors.append(
                        f"PL0 FREQMHZ {want} disagrees with {PLL_MHZ['IOPLL']} / divisors = {c.pl_clk0_mhz():.6f}"
                    )
        if errors:
            raise StubError("validate_bd_design: " + "; ".join(errors))
        d.validated = True

    def c_save_bd_design(self, o, p):
        if not self.design.bd:
            raise StubError("save_bd_design: no block design")

    def c_get_files(self, o, p):
        pats = self._objs(p)
        hits = (
            [self._bd_file]
            if self.design.bd
            and any(fnmatch.fnmatchcase(Path(self._bd_file).name, q) for q in pats)
            else []
        )
        hits += [
            f for f in self.design.files if any(fnmatch.fnmatchcase(Path(f).name, q) for q in pats)
        ]
        return hits

    def c_generate_target(self, o, p):
        if p[0] not in ("all", "synthesis", "implementation", "simulation"):
            raise StubError(f"generate_target {p[0]}")
        if not self.design.validated:
            raise StubError("generate_target: the block design was not validated")

    def c_make_wrapper(self, o, p):
        if "-top" not in o or self._list(o.get("-files", "")) != [self._bd_file]:
            raise StubError("make_wrapper: expected -files <the .bd> -top")
        sub = "gen" if self.hwh_dir == "gen" else "srcs"
        w = (
            self.design.project_dir
            / f"{self.design.project}.{sub}/sources_1/bd/{self.design.bd}/hdl/{self.design.bd}_wrapper.v"
        )
        self._generated = {str(w)}
        self._wrapper = str(w)
        return str(w)

    def c_current_fileset(self, o, p):
        return "sources_1"

    def c_get_runs(self, o, p):
        runs = []
        for r in self._objs(p) or ["synth_1", "impl_1"]:
            if r not in ("synth_1", "impl_1"):
                raise StubError(f"get_runs: no run {r}")
            runs.append(r)
            self.props.setdefault(r, {"PROGRESS": "0%", "STATUS": "Not started",
                                      "DIRECTORY": str(self.design.project_dir / f"{self.design.project}.runs" / r)})  # fmt: skip
        return runs

    def c_launch_runs(self, o, p):
        d = self.design
        runs = self._objs(p)
        for r in runs:
            self.c_get_runs({}, [r])
            if r == "synth_1":
                if d.top != f"{d.bd}_wrapper" or getattr(self, "_wrapper", None) not in d.files:
                    raise StubError("launch_runs synth_1: the wrapper is not the top")
                if self.props.get(self._bd_file, {}).get("synth_checkpoint_mode") != "None":
                    raise StubError("launch_runs: the script sets synth_checkpoint_mode None first")
            if r == "impl_1":
                if self.props["synth_1"]["PROGRESS"] != "100%":
                    raise StubError("launch_runs impl_1 before synth_1 completed")
                if o.get("-to_step") != "write_bitstream":
                    raise StubError("launch_runs impl_1: expected -to_step write_bitstream")
            ok = r != self.fail_run
            self.props[r].update(PROGRESS="100%" if ok else "30%",
                                 STATUS=f"{r} Complete!" if ok else f"{r} failed")  # fmt: skip
            d.runs[r] = {"jobs": o.get("-jobs"), "to_step": o.get("-to_step"), "ok": ok}
            if ok and r == "impl_1" and self.write_bitstream:
                rd = Path(self.props[r]["DIRECTORY"])
                rd.mkdir(parents=True, exist_ok=True)
                (rd / f"{d.bd}_wrapper.bit").write_bytes(b"stub bitstream " + d.part.encode())
                hh = d.project_dir / f"{d.project}.{self.hwh_dir}/sources_1/bd/{d.bd}/hw_handoff"
                hh.mkdir(parents=True, exist_ok=True)
                (hh / f"{d.bd}.hwh").write_text("<stub hwh/>")

    def c_wait_on_run(self, o, p):
        if p[0] not in self.design.runs:
            raise StubError(f"wait_on_run {p[0]}: not launched")

    def c_open_run(self, o, p):
        if self.props.get(p[0], {}).get("PROGRESS") != "100%":
            raise StubError(f"open_run {p[0]}: run not complete")
        self._open = p[0]

    def _report(self, name, o):
        if getattr(self, "_open", None) != "impl_1":
            raise StubError(f"{name}: no implemented design open")
        f = o.get("-file")
        if f:
            Path(f).write_text(f"stub {name}\n")
        self.design.reports.append((name, f))

    def c_report_utilization(self, o, p):
        self._report("report_utilization", o)

    def c_report_timing_summary(self, o, p):
        self._report("report_timing_summary", o)

    def c_get_timing_paths(self, o, p):
        if getattr(self, "_open", None) != "impl_1":
            raise StubError("get_timing_paths: no implemented design open")
        self.props["timing_path_0"] = {"SLACK": f"{self.wns:.3f}", "ENDPOINT_CLOCK": "clk_pl_0",
                                       "STARTPOINT_CLOCK": "clk_pl_0"}  # fmt: skip
        return "timing_path_0"

    # -- RTL kernel packaging ---------------------------------------------------------------
    def c_ipx_package_project(self, o, p):
        d = self.design
        self._need_project("ipx::package_project")
        if not d.top:
            raise StubError("ipx::package_project: no top")
        ports = None
        for f in d.files:
            if f.endswith(".v") and Path(f).is_file():
                ports = verilog_ports(Path(f).read_text(), d.top) or ports
        if ports is None:
            raise StubError(f"ipx::package_project: top {d.top} not found in the sources")
        root = Path(o["-root_dir"])
        root.mkdir(parents=True, exist_ok=True)
        (root / "component.xml").write_text("<stub/>")
        d.core = {"root": str(root), "ports": ports, "interfaces": kernel_interfaces(ports),
                  "vendor": o.get("-vendor"), "library": o.get("-library"), "associations": {},
                  "taxonomy": o.get("-taxonomy")}  # fmt: skip

    def c_ipx_current_core(self, o, p):
        if not self.design.core:
            raise StubError("ipx::current_core: nothing packaged")
        return "ipx_core"

    def c_ipx_associate_bus_interfaces(self, o, p):
        core = self.design.core
        bus, clk = o.get("-busif"), o.get("-clock")
        if bus not in core["interfaces"]:
            raise StubError(
                f"ipx::associate_bus_interfaces: no bus interface {bus} ({sorted(core['interfaces'])})"
            )
        if clk not in core["ports"]:
            raise StubError(f"ipx::associate_bus_interfaces: no clock port {clk}")
        core["associations"][bus] = clk

    def c_ipx_update_checksums(self, o, p):
        pass

    def c_ipx_check_integrity(self, o, p):
        core = self.design.core
        if "-kernel" in o:
            missing = [b for b in core["interfaces"] if b not in core["associations"]]
            if core.get("sdx_kernel") != "true" or core.get("sdx_kernel_type") != "rtl" or missing:
                raise StubError(
                    f"ipx::check_integrity -kernel: sdx_kernel/sdx_kernel_type unset or interfaces without a clock: {missing}"
                )

    def c_ipx_save_core(self, o, p):
        self.design.core["saved"] = True

    def c_package_xo(self, o, p):
        core = self.design.core
        if not core.get("saved"):
            raise StubError("package_xo: the core was not saved")
        for k in ("-xo_path", "-kernel_name", "-ip_directory", "-kernel_xml"):
            if k not in o:
                raise StubError(f"package_xo: {k} missing")
        if Path(o["-ip_directory"]) != Path(core["root"]):
            raise StubError("package_xo: -ip_directory is not the packaged IP")
        if Path(o["-xo_path"]).parent == Path(o["-ip_directory"]):
            raise StubError("package_xo: -xo_path cannot be in the -ip_directory (UG1393)")
        kx = ET.parse(o["-kernel_xml"]).getroot().find("kernel")
        if kx.get("name") != o["-kernel_name"]:
            raise StubError("package_xo: kernel.xml names another kernel")
        xml_ports = {p.get("name"): p.get("mode") for p in kx.iter("port")}
        if xml_ports != core["interfaces"]:
            raise StubError(
                f"package_xo: kernel.xml ports {xml_ports} != IP interfaces {core['interfaces']}"
            )
        Path(o["-xo_path"]).write_bytes(b"stub xo")
        self.design.xo = {
            "path": o["-xo_path"],
            "kernel": o["-kernel_name"],
            "xml": o["-kernel_xml"],
        }
