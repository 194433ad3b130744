"""Shared pytest setup of the RTL (cocotb + Verilator) tests."""

from __future__ import annotations

import pytest


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "rtl: needs Verilator and cocotb (RTL simulation of rtl/ modules)"
    )


@pytest.fixture(scope="session")
def rtl_build_root():
    """Where compiled Verilator models are cached (``$FPGAGEN_CACHE/verilator``)."""
    from fpgagen.sim.runner import default_build_root

    return default_build_root()
