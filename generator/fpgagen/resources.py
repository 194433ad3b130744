"""Locate the data folders that travel with fpgagen (rtl/, hls_templates/, boards/).

In a source checkout they sit at the repository root; in an installed wheel they are packed
into ``fpgagen/data/``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["data_dir"]

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Path of the data folder ``name`` (``rtl``, ``hls_templates`` or ``boards``)."""
    if name not in ("rtl", "hls_templates", "boards"):
        raise ValueError(f"unknown data folder {name!r}")
    for cand in (_PKG / "data" / name, _PKG.parents[1] / name):
        if cand.is_dir():
            return cand
    raise FileNotFoundError(
        f"fpgagen data folder {name!r} not found next to {_PKG}; reinstall fpgagen"
    )
