"""Fixtures of the HLS backend tests (the ``hls`` marker is declared in pyproject.toml)."""

import pytest

from tests.support.tools import require


@pytest.fixture(scope="session")
def ap_types():
    """Xilinx's ap_types headers (shipped in the hls4ml wheel), required for C simulation."""
    from fpgagen.errors import FpgagenError
    from fpgagen.sim.hls_csim import find_ap_types

    try:
        return find_ap_types()
    except FpgagenError as e:
        require(False, str(e))
