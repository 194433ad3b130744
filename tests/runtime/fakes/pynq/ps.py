"""Fake pynq.ps: ``Clocks.fclk<i>_mhz`` settable class attributes (recorded)."""

from __future__ import annotations

from . import _record


class _ClocksMeta(type):
    def __setattr__(cls, name, value):
        if name.startswith("fclk") and name.endswith("_mhz"):
            _record(op="clock", name=name, mhz=float(value))
        super().__setattr__(name, value)


class Clocks(metaclass=_ClocksMeta):
    """pynq.ps.Clocks: PL clock frequencies in MHz."""

    fclk0_mhz = 100.0
    fclk1_mhz = 100.0
    fclk2_mhz = 100.0
    fclk3_mhz = 100.0
