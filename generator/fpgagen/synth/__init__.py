"""Open-source synthesis check of the resource estimates (Yosys ``synth_xilinx -family xcup``).

A consumer of the flow, like :mod:`fpgagen.sim`: it reads build folders and the RTL library
and compares Yosys' cell counts with each layer's ``resources()`` estimate.

* :func:`synth_layer` — one layer's RTL module out of context;
* :func:`synth_build` — every layer of a build folder and the stitched top level, each run
  isolated (crash, WebAssembly trap, time-out), retried with the fallback script
  (:data:`SCRIPTS`), failures reported beside the results;
* :func:`format_table` — the estimate-vs-Yosys table of a :func:`synth_build` result;
* :func:`synth_verilog` — any Verilog design (cached in ``$FPGAGEN_CACHE/yosys``).

docs/cost_model.md describes the scripts, the cell counting, the fallback and the results.
"""

from .build import EST_KEYS, failed, format_table, synth_build, synth_layer
from .yosys import (
    DEFAULT_TIMEOUT,
    FALLBACK,
    PRIMARY,
    RESOURCE_KEYS,
    SCRIPTS,
    SynthError,
    SynthRunError,
    parse_stat,
    synth_verilog,
    synth_with_fallback,
    yosys_command,
    yosys_version,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "EST_KEYS",
    "FALLBACK",
    "PRIMARY",
    "RESOURCE_KEYS",
    "SCRIPTS",
    "SynthError",
    "SynthRunError",
    "failed",
    "format_table",
    "parse_stat",
    "synth_build",
    "synth_layer",
    "synth_verilog",
    "synth_with_fallback",
    "yosys_command",
    "yosys_version",
]
