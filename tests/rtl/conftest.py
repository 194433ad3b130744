"""Shared pytest setup of the RTL (cocotb + Verilator) tests (the ``rtl`` marker is declared
in pyproject.toml)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def rtl_build_root():
    """Where compiled Verilator models are cached (``$FPGAGEN_CACHE/verilator``)."""
    from fpgagen.sim.runner import default_build_root

    return default_build_root()
