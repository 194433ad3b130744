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
    ps = _processing_system(d["ps"], where) if "ps" in d else None
    if flow == "vivado-zynq" and ps is None:
        raise BoardError(f"{where}: flow vivado-zynq needs a 'ps' section (see boards/zcu104.yaml)")
    if flow == "vivado-zynq" and (kernel.memory_port is None or kernel.control_base is None):
        raise BoardError(
            f"{where}: flow vivado-zynq needs kernel.memory_port and kernel.control_base"
        )
    if flow == "aws-f1" and (kernel.platform is None or not kernel.memory_banks):
        raise BoardError(f"{where}: flow aws-f1 needs kernel.platform and kernel.memory_banks")
    for key in ("kernel", "ps", "memory", "clocks", "resources"):
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
