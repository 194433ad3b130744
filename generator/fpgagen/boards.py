"""Boards: YAML files in ``boards/`` loaded into validated :class:`Board` objects."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import BoardError
from .resources import data_dir

__all__ = [
    "Board",
    "HostCPU",
    "IOPath",
    "KernelPlatform",
    "ProcessingSystem",
    "Resources",
    "list_boards",
    "load_board",
    "load_board_file",
]

_FLOWS = ("vivado-zynq", "vitis-alveo", "aws-f1")


@dataclass(frozen=True)
class Resources:
    """Programmable-logic resources of a device."""

    lut: int
    ff: int
    bram36: int
    uram: int
    dsp: int

    @property
    def bram18(self) -> int:
        return 2 * self.bram36

    def as_dict(self) -> dict:
        return {
            "lut": self.lut,
            "ff": self.ff,
            "bram36": self.bram36,
            "uram": self.uram,
            "dsp": self.dsp,
        }


@dataclass(frozen=True)
class KernelPlatform:
    """How the memory-mapped kernel sits on the board (the ``kernel:`` section).

    ``bus_bits``: data width of the kernel's AXI4 master; ``memory_port``: the PS slave port it
    drives (Zynq); ``control_base``/``control_range``: the address window of its control
    registers seen from the processor (Zynq; on F1 XRT assigns it); ``platform``: the Vitis
    platform (F1); ``memory_banks``: the platform's memory banks as ``v++ --connectivity.sp``
    names them (F1: one compute unit per bank where the design fits).
    """

    bus_bits: int = 128
    memory_port: str | None = None
    control_base: int | None = None
    control_range: int | None = None
    platform: str | None = None
    memory_banks: tuple = ()


@dataclass(frozen=True)
class ProcessingSystem:
    """The Zynq UltraScale+ processing system of a board (the ``ps:`` section).

    ``pl_clock_pll``/``pl_clock_pll_mhz``: the PS PLL that PL clock 0 is divided from and its
    frequency (PL clock 0 = PLL / (DIVISOR0 * DIVISOR1), each divisor 1..63, PG201);
    ``ddr_low``/``ddr_high``: ``(base, range)`` of the two DDR windows an HP port reaches
    (UG1085 address map: 2 GB at 0, 32 GB at 0x8_0000_0000).
    """

    pl_clock_pll: str
    pl_clock_pll_mhz: float
    ddr_low: tuple
    ddr_high: tuple


@dataclass(frozen=True)
class HostCPU:
    """The processor that packs and unpacks the kernel's buffers (``io.host``).

    ``slowdown``: its time for the runtime's packing and unpacking divided by the time
    measured on the development machine (``fpgagen/cost/_host_coef.py``, written by
    ``benchmarks/io/host_pack.py``); ``buffer_gbps``: GB/s of copying into the device buffer
    plus, on Zynq, the cache maintenance of ``sync_to_device``/``sync_from_device``.
    """

    cpu: str
    cpu_mhz: float
    slowdown: float
    buffer_gbps: float
    source: str


@dataclass(frozen=True)
class IOPath:
    """The memory path the kernel uses (the ``io:`` section; docs/cost_model.md, I/O model).

    ``port_bits``/``port_max_mhz``: data width and clock limit of the memory port the kernel's
    AXI4 master drives (the port runs at the kernel's clock); ``read_latency_ns``: the memory
    read latency seen at that port; ``ddr_*``: the memory behind it (one bank per compute unit
    on F1: ``ddr_banks``), ``ddr_efficiency`` the sustained fraction of the peak;
    ``pcie_*``: the host link of a PCIe card (None on Zynq); ``host``: the processor.
    ``sources``: where each figure comes from (free text, shown in reports).
    """

    port_bits: int
    port_max_mhz: float
    read_latency_ns: float
    ddr_kind: str
    ddr_bits: int
    ddr_mt_s: float
    ddr_efficiency: float
    ddr_banks: int
    host: HostCPU
    pcie_lanes: int | None = None
    pcie_gt_s: float | None = None
    pcie_encoding: float | None = None
    pcie_efficiency: float | None = None
    sources: tuple = ()

    @property
    def ddr_peak_gbps(self) -> float:
        """Peak bandwidth of one DDR bank, GB/s (10^9 bytes)."""
        return self.ddr_bits / 8 * self.ddr_mt_s / 1e3

    @property
    def ddr_gbps(self) -> float:
        """Sustained bandwidth of one DDR bank, GB/s."""
        return self.ddr_peak_gbps * self.ddr_efficiency

    @property
    def pcie_gbps(self) -> float | None:
        """Sustained host<->card bandwidth per direction, GB/s (None without PCIe)."""
        if self.pcie_lanes is None:
            return None
        return self.pcie_lanes * self.pcie_gt_s * self.pcie_encoding / 8 * self.pcie_efficiency


@dataclass(frozen=True)
class Board:
    """A target board: part, resources, clocks and shell kind."""

    name: str
    description: str
    part: str
    family: str
    flow: str
    resources: Resources
    default_mhz: float
    max_mhz: float
    board_part: str | None = None
    pl_clocks: tuple = ()
    memory: tuple = field(default_factory=tuple)
    kernel: KernelPlatform = field(default_factory=KernelPlatform)
    ps: ProcessingSystem | None = None
    io: IOPath | None = None
    path: Path | None = None


def _require(d: dict, key: str, typ, where: str):
    if key not in d:
        raise BoardError(f"{where}: missing key {key!r}")
    v = d[key]
    if typ is float and isinstance(v, int):
        v = float(v)
    if not isinstance(v, typ) or isinstance(v, bool):
        raise BoardError(f"{where}: {key!r} must be {typ.__name__}, got {v!r}")
    return v


def load_board_file(path: Path) -> Board:
    """Load and validate one board YAML file."""
    where = str(path)
    try:
        d = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as e:
        raise BoardError(f"{where}: cannot read board file: {str(e).splitlines()[0]}") from None
    if not isinstance(d, dict):
        raise BoardError(f"{where}: a board file must be a YAML mapping")
    res = _require(d, "resources", dict, where)
    r = Resources(
        **{
            k: _require(res, k, int, f"{where}: resources")
            for k in ("lut", "ff", "bram36", "uram", "dsp")
        }
    )
    for k, v in r.as_dict().items():
        low = 1 if k in ("lut", "ff") else 0
        if v < low:
            raise BoardError(
                f"{where}: resources.{k} must be {'> 0' if low else '>= 0'}, got {v}; "
                "give the device's count from its data sheet"
            )
    clocks = _require(d, "clocks", dict, where)
    flow = _require(d, "flow", str, where)
    if flow not in _FLOWS:
        raise BoardError(f"{where}: flow {flow!r} is not supported; use one of {', '.join(_FLOWS)}")
    default_mhz = _require(clocks, "default_mhz", float, f"{where}: clocks")
    max_mhz = _require(clocks, "max_mhz", float, f"{where}: clocks")
    if not math.isfinite(max_mhz) or max_mhz <= 0:
        raise BoardError(
            f"{where}: clocks.max_mhz must be a finite number > 0 MHz, got {max_mhz!r}"
        )
    if not math.isfinite(default_mhz):
        raise BoardError(
            f"{where}: clocks.default_mhz must be a finite number, got {default_mhz!r}"
        )
    if not 0 < default_mhz <= max_mhz:
        raise BoardError(
            f"{where}: clocks.default_mhz must be in (0, max_mhz] = (0, {max_mhz:g}], "
            f"got {default_mhz:g}"
        )
    kernel = _kernel_platform(d.get("kernel", {}), where)
    io = _io_path(d["io"], where) if d.get("io") is not None else None
    ps = _processing_system(d["ps"], where) if "ps" in d else None
    if flow == "vivado-zynq" and ps is None:
        raise BoardError(f"{where}: flow vivado-zynq needs a 'ps' section (see boards/zcu104.yaml)")
    if flow == "vivado-zynq" and (kernel.memory_port is None or kernel.control_base is None):
        raise BoardError(
            f"{where}: flow vivado-zynq needs kernel.memory_port and kernel.control_base"
        )
    if flow == "aws-f1" and (kernel.platform is None or not kernel.memory_banks):
        raise BoardError(f"{where}: flow aws-f1 needs kernel.platform and kernel.memory_banks")
    if flow == "aws-f1" and io is not None and io.pcie_lanes is None:
        raise BoardError(f"{where}: flow aws-f1 needs io.pcie (the host link of the card)")
    for key in ("kernel", "ps", "memory", "clocks", "resources", "io"):
        if key in d and d[key] is None:
            raise BoardError(f"{where}: {key!r} is empty")
    return Board(
        name=_require(d, "name", str, where),
        description=d.get("description", ""),
        part=_require(d, "part", str, where),
        family=_require(d, "family", str, where),
        flow=flow,
        resources=r,
        default_mhz=default_mhz,
        max_mhz=max_mhz,
        board_part=d.get("board_part"),
        pl_clocks=tuple(clocks.get("pl_clocks", ())),
        memory=tuple(d.get("memory", ())),
        kernel=kernel,
        ps=ps,
        io=io,
        path=Path(path),
    )


def _kernel_platform(k, where: str) -> KernelPlatform:
    if not isinstance(k, dict):
        raise BoardError(f"{where}: 'kernel' must be a mapping")
    unknown = set(k) - {
        "bus_bits",
        "memory_port",
        "control_base",
        "control_range",
        "platform",
        "memory_banks",
    }
    if unknown:
        raise BoardError(f"{where}: kernel: unknown key {sorted(unknown)[0]!r}")
    bus = k.get("bus_bits", 128)
    if isinstance(bus, bool) or bus not in (32, 64, 128, 256, 512, 1024):
        raise BoardError(
            f"{where}: kernel.bus_bits must be one of 32, 64, 128, 256, 512, 1024, got {bus!r}"
        )
    for key in ("control_base", "control_range"):
        v = k.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise BoardError(f"{where}: kernel.{key} must be a non-negative integer, got {v!r}")
    banks = k.get("memory_banks", [])
    if not isinstance(banks, list) or not all(
        isinstance(b, str) and _BANK.fullmatch(b) for b in banks
    ):
        raise BoardError(f"{where}: kernel.memory_banks must be a list of names, got {banks!r}")
    for key in ("memory_port", "platform"):
        v = k.get(key)
        if v is not None and (not isinstance(v, str) or not _NAME.fullmatch(v)):
            raise BoardError(f"{where}: kernel.{key} must be a name ([A-Za-z0-9_.-]), got {v!r}")
    return KernelPlatform(
        bus_bits=bus,
        memory_port=k.get("memory_port"),
        control_base=k.get("control_base"),
        control_range=k.get("control_range"),
        platform=k.get("platform"),
        memory_banks=tuple(banks),
    )


_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_BANK = re.compile(r"[A-Za-z0-9_]+(\[[0-9]+\])?")
_PLLS = ("IOPLL", "RPLL", "DPLL", "APLL", "VPLL")


def _processing_system(p, where: str) -> ProcessingSystem:
    if not isinstance(p, dict):
        raise BoardError(f"{where}: 'ps' must be a mapping")
    w = f"{where}: ps"
    unknown = set(p) - {"pl_clock_pll", "pl_clock_pll_mhz", "ddr_low", "ddr_high"}
    if unknown:
        raise BoardError(f"{w}: unknown key {sorted(unknown)[0]!r}")
    pll = _require(p, "pl_clock_pll", str, w)
    if pll not in _PLLS:
        raise BoardError(
            f"{w}: pl_clock_pll {pll!r} is not a PS PLL; use one of {', '.join(_PLLS)}"
        )
    mhz = _require(p, "pl_clock_pll_mhz", float, w)
    if not math.isfinite(mhz) or mhz <= 0:
        raise BoardError(f"{w}: pl_clock_pll_mhz must be a finite number > 0, got {mhz!r}")
    windows = []
    for key in ("ddr_low", "ddr_high"):
        v = _require(p, key, dict, w)
        base, rng = v.get("base"), v.get("range")
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in (base, rng)) or (
            base < 0 or rng <= 0 or rng & (rng - 1) or base % rng
        ):
            raise BoardError(
                f"{w}: {key} must be {{base: B, range: R}} with R a power of two and B a "
                f"multiple of R, got {v!r}"
            )
        windows.append((base, rng))
    return ProcessingSystem(pll, mhz, windows[0], windows[1])


def _section(d, keys: dict, where: str) -> dict:
    """Check one mapping of the ``io`` section: known keys, required ones present, numbers
    finite and > 0 (``frac`` ones in (0, 1]), names non-empty strings. ``keys`` maps a key to
    (kind, required) with kind in ``num``, ``int``, ``frac``, ``str``."""
    if not isinstance(d, dict):
        raise BoardError(f"{where} must be a mapping")
    unknown = set(d) - set(keys)
    if unknown:
        raise BoardError(
            f"{where}: unknown key {sorted(unknown)[0]!r}; allowed: {', '.join(sorted(keys))}"
        )
    out = {}
    for k, (kind, required) in keys.items():
        if k not in d:
            if required:
                raise BoardError(f"{where}: missing key {k!r}")
            continue
        v = d[k]
        if kind == "str":
            if not isinstance(v, str) or not v.strip():
                raise BoardError(f"{where}.{k} must be a non-empty text, got {v!r}")
        else:
            ok = isinstance(v, (int, float)) and not isinstance(v, bool)
            if kind == "int":
                ok = ok and isinstance(v, int)
            if not ok or not math.isfinite(v) or v <= 0 or (kind == "frac" and v > 1):
                what = {
                    "num": "a finite number > 0",
                    "int": "an integer > 0",
                    "frac": "a fraction in (0, 1]",
                }[kind]
                raise BoardError(f"{where}.{k} must be {what}, got {v!r}")
            v = int(v) if kind == "int" else float(v)
        out[k] = v
    return out


def _io_path(d, where: str) -> IOPath:
    w = f"{where}: io"
    if not isinstance(d, dict):
        raise BoardError(f"{w} must be a mapping")
    unknown = set(d) - {"port", "ddr", "pcie", "host"}
    if unknown:
        raise BoardError(f"{w}: unknown key {sorted(unknown)[0]!r}; allowed: ddr, host, pcie, port")
    for k in ("port", "ddr", "host"):
        if k not in d:
            raise BoardError(f"{w}: missing section {k!r} (see boards/zcu104.yaml)")
    port = _section(
        d["port"],
        {
            "bits": ("int", True),
            "max_mhz": ("num", True),
            "read_latency_ns": ("num", True),
            "source": ("str", True),
        },
        f"{w}.port",
    )
    if port["bits"] not in (32, 64, 128, 256, 512, 1024):
        raise BoardError(
            f"{w}.port.bits must be one of 32, 64, 128, 256, 512, 1024, got {port['bits']}"
        )
    ddr = _section(
        d["ddr"],
        {
            "kind": ("str", True),
            "bits": ("int", True),
            "mt_s": ("num", True),
            "efficiency": ("frac", True),
            "banks": ("int", False),
            "source": ("str", True),
        },
        f"{w}.ddr",
    )
    host = _section(
        d["host"],
        {
            "cpu": ("str", True),
            "cpu_mhz": ("num", True),
            "slowdown": ("num", True),
            "buffer_gbps": ("num", True),
            "source": ("str", True),
        },
        f"{w}.host",
    )
    pcie = None
    if d.get("pcie") is not None:
        pcie = _section(
            d["pcie"],
            {
                "lanes": ("int", True),
                "gt_s": ("num", True),
                "encoding": ("frac", True),
                "efficiency": ("frac", True),
                "source": ("str", True),
            },
            f"{w}.pcie",
        )
    sources = [("port", port["source"]), ("ddr", ddr["source"]), ("host", host["source"])]
    if pcie:
        sources.append(("pcie", pcie["source"]))
    return IOPath(
        port_bits=port["bits"],
        port_max_mhz=port["max_mhz"],
        read_latency_ns=port["read_latency_ns"],
        ddr_kind=ddr["kind"],
        ddr_bits=ddr["bits"],
        ddr_mt_s=ddr["mt_s"],
        ddr_efficiency=ddr["efficiency"],
        ddr_banks=ddr.get("banks", 1),
        host=HostCPU(
            host["cpu"], host["cpu_mhz"], host["slowdown"], host["buffer_gbps"], host["source"]
        ),
        pcie_lanes=pcie["lanes"] if pcie else None,
        pcie_gt_s=pcie["gt_s"] if pcie else None,
        pcie_encoding=pcie["encoding"] if pcie else None,
        pcie_efficiency=pcie["efficiency"] if pcie else None,
        sources=tuple(sources),
    )


def list_boards() -> list[str]:
    """Names of the bundled boards."""
    return sorted(p.stem for p in data_dir("boards").glob("*.yaml"))


def load_board(name: str) -> Board:
    """Load a bundled board by name, or a board YAML file by path."""
    p = Path(name)
    if p.suffix in (".yaml", ".yml") and p.is_file():
        return load_board_file(p)
    cand = data_dir("boards") / f"{name}.yaml"
    if not cand.is_file():
        raise BoardError(
            f"unknown board {name!r}; available: {', '.join(list_boards())} "
            "(or give the path of a board .yaml file)"
        )
    return load_board_file(cand)
