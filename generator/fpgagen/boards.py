"""Boards: YAML files in ``boards/`` loaded into validated :class:`Board` objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import BoardError
from .resources import data_dir

__all__ = ["Board", "KernelPlatform", "Resources", "list_boards", "load_board"]

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
    platform (F1).
    """

    bus_bits: int = 128
    memory_port: str | None = None
    control_base: int | None = None
    control_range: int | None = None
    platform: str | None = None


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
        if v < 0:
            raise BoardError(f"{where}: resources.{k} must be >= 0, got {v}")
    clocks = _require(d, "clocks", dict, where)
    flow = _require(d, "flow", str, where)
    if flow not in _FLOWS:
        raise BoardError(f"{where}: flow {flow!r} is not supported; use one of {', '.join(_FLOWS)}")
    default_mhz = _require(clocks, "default_mhz", float, f"{where}: clocks")
    max_mhz = _require(clocks, "max_mhz", float, f"{where}: clocks")
    if not 0 < default_mhz <= max_mhz:
        raise BoardError(f"{where}: clocks.default_mhz must be in (0, max_mhz]")
    kernel = _kernel_platform(d.get("kernel", {}), where)
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
        path=Path(path),
    )


def _kernel_platform(k, where: str) -> KernelPlatform:
    if not isinstance(k, dict):
        raise BoardError(f"{where}: 'kernel' must be a mapping")
    unknown = set(k) - {"bus_bits", "memory_port", "control_base", "control_range", "platform"}
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
    return KernelPlatform(
        bus_bits=bus,
        memory_port=k.get("memory_port"),
        control_base=k.get("control_base"),
        control_range=k.get("control_range"),
        platform=k.get("platform"),
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
