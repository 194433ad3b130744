"""PL clock 0 of a Zynq UltraScale+ PS: which frequencies the PS can give.

PL clock 0 is divided from one PS PLL by two 6-bit divisors (PL0_REF_CTRL DIVISOR0 and
DIVISOR1, each 1..63; PG201 / UG1087). The board file names the PLL and its frequency
(``ps.pl_clock_pll``/``ps.pl_clock_pll_mhz``).
"""

from __future__ import annotations

from ..errors import FpgagenError

__all__ = ["TOLERANCE", "pl_clock"]

TOLERANCE = 0.001  # an achievable frequency within 0.1% counts as the requested one
MAX_SHORTFALL = 0.10  # below this much under the request, the board "cannot give" the clock


def _choices(pll_mhz: float) -> dict[int, tuple[int, int]]:
    """Total divisor -> (DIVISOR0, DIVISOR1), the smallest DIVISOR1 for each product."""
    out: dict[int, tuple[int, int]] = {}
    for d1 in range(1, 64):
        for d0 in range(1, 64):
            out.setdefault(d0 * d1, (d0, d1))
    return out


def pl_clock(board, mhz: float) -> dict:
    """The PS setting for PL clock 0 closest to ``mhz`` without exceeding it.

    Returns ``{"requested_mhz", "actual_mhz", "pll", "pll_mhz", "divisor0", "divisor1",
    "exact"}``; ``exact`` is true when the PS gives ``mhz`` within 0.1%. Raises
    :class:`FpgagenError` when the closest frequency at or below ``mhz`` is more than 10% lower
    (the board cannot give that clock) or ``mhz`` is above the PLL itself.
    """
    ps = board.ps
    pll = ps.pl_clock_pll_mhz
    best = None
    for n, (d0, d1) in sorted(_choices(pll).items()):
        f = pll / n
        if f <= mhz * (1 + TOLERANCE):
            best = (n, d0, d1, f)
            break
    above = [pll / n for n in sorted(_choices(pll)) if pll / n > mhz * (1 + TOLERANCE)]
    if best is None or best[3] < mhz * (1 - MAX_SHORTFALL):
        near = []
        if above:
            near.append(f"{above[-1]:.3f}")
        if best is not None:
            near.append(f"{best[3]:.3f}")
        raise FpgagenError(
            f"board {board.name}: PL clock 0 cannot be {mhz:g} MHz ({ps.pl_clock_pll} "
            f"{pll:.3f} MHz divided by two integers 1..63); the nearest it gives are "
            f"{' and '.join(near)} MHz: rebuild with --clock-mhz set to one of them"
        )
    n, d0, d1, f = best
    return {
        "requested_mhz": mhz,
        "actual_mhz": round(f, 6),
        "pll": ps.pl_clock_pll,
        "pll_mhz": pll,
        "divisor0": d0,
        "divisor1": d1,
        "exact": abs(f - mhz) <= mhz * TOLERANCE,
    }
