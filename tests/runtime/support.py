"""Helpers of the runtime tests: builds, fake bitstreams, trace replay."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from fpgagen import abi

FAKES = Path(__file__).resolve().parent / "fakes"

HWH = """<?xml version="1.0" encoding="UTF-8"?>
<EDKSYSTEM TOOLVERSION="2024.1">
  <MODULES>
    <MODULE FULLNAME="/fpgagen_kernel_0" INSTANCE="fpgagen_kernel_0" MODTYPE="fpgagen_kernel"
            VLNV="xilinx.com:hls:fpgagen_kernel:1.0"/>
    <MODULE FULLNAME="/zynq_ultra_ps_e_0" INSTANCE="zynq_ultra_ps_e_0"
            MODTYPE="zynq_ultra_ps_e" VLNV="xilinx.com:ip:zynq_ultra_ps_e:3.5">
      <MEMORYMAP>
        <MEMRANGE ADDRESSBLOCK="Reg" BASENAME="C_BASEADDR" BASEVALUE="0x{base:08X}"
                  HIGHNAME="C_HIGHADDR" HIGHVALUE="0x{high:08X}" INSTANCE="fpgagen_kernel_0"
                  IS_DATA="TRUE" MASTERBUSINTERFACE="M_AXI_HPM0_FPD" MEMTYPE="REGISTER"
                  SLAVEBUSINTERFACE="s_axi_control"/>
      </MEMORYMAP>
    </MODULE>
  </MODULES>
</EDKSYSTEM>
"""


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def add_fake_bitstream(deploy: Path, kind: str = "pynq", design_hash=None, **extra) -> None:
    """Bitstream slots as the vendor flow fills them: files + bitstream.json (hash, sha256)."""
    design = json.loads((deploy / abi.DESIGN_FILE).read_text())
    if kind == "pynq":
        (deploy / "accel.bit").write_bytes(b"\x00\x09\x0f\xf0fake bitstream " + bytes(64))
        base = design["kernel"]["control_base"]
        (deploy / "accel.hwh").write_text(HWH.format(base=base, high=base + 0xFFFF))
        names = ["accel.bit", "accel.hwh"]
    else:
        (deploy / "accel.awsxclbin").write_bytes(b"xclbin2\x00fake" + bytes(64))
        names = ["accel.awsxclbin"]
    meta = {
        "design_hash": design_hash or design["design_hash"],
        "files": {n: sha(deploy / n) for n in names},
        **extra,
    }
    (deploy / abi.BITSTREAM_FILE).write_text(json.dumps(meta))


def read_trace(path) -> list:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def replay(trace: list, kernel, max_steps: int = 1_000_000) -> dict:
    """Replay a fake-pynq trace on a kernel (``KernelEmulator`` interface): buffers synced to
    the device are written to its memory, register writes go to its registers, a poll of CTRL
    that saw ap_done waits (stepping the clock) until the kernel raises ap_done, a wait for the
    interrupt waits until the kernel's interrupt output rises, a read of STATUS must give what
    the trace saw. Returns {address: bytes} of every
    buffer synced from the device, as the kernel left it."""
    base = next(e["base"] for e in trace if e["op"] == "mmio")
    out = {}
    for e in trace:
        op = e["op"]
        if op == "sync_to_device":
            kernel.write_mem(e["addr"], bytes.fromhex(e["data"]))
        elif op == "write":
            kernel.write_reg(e["addr"] - base, e["value"])
        elif op == "read":
            off = e["addr"] - base
            if off == abi.REG_CTRL and e["value"] & abi.CTRL_DONE:
                for _ in range(max_steps):
                    if kernel.read_reg(off) & abi.CTRL_DONE:
                        break
                    kernel.step(64)
                else:
                    raise AssertionError("the kernel never raised ap_done in the replay")
            elif off == abi.REG_STATUS:
                assert kernel.read_reg(off) == e["value"], "STATUS differs from the trace"
        elif op == "interrupt_wait":
            kernel.wait_interrupt(max_steps * 64)
        elif op == "sync_from_device":
            out[e["addr"]] = kernel.read_mem(e["addr"], e["nbytes"])
    return out


def decode_outputs(design, raw: bytes, n: int) -> np.ndarray:
    """Output buffer bytes -> the ONNX outputs, with the deploy folder's own metadata."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    return design.run_tail(design.output.unpack(buf, n))


def run_example_alone(deploy_src: Path, xp: Path, tmp_path: Path, *extra: str):
    """Copy a deploy folder alone to ``tmp_path/board/mydesign`` (with fake bitstream slots)
    and run its example script on inputs ``xp`` in a Python that can import only numpy and the
    fake pynq; returns ``(CompletedProcess, trace events, deploy copy)``."""
    deploy = tmp_path / "board" / "mydesign"
    shutil.copytree(deploy_src, deploy)
    add_fake_bitstream(deploy, "pynq")
    site = tmp_path / "site"
    site.mkdir()
    for p in Path(np.__file__).parent.parent.glob("numpy*"):
        if p.is_dir() and not p.name.endswith("dist-info"):
            (site / p.name).symlink_to(p)
    shutil.copytree(FAKES / "pynq", site / "pynq")
    trace = tmp_path / "trace.jsonl"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "FAKE_PYNQ_TRACE": str(trace)}
    # -S: no site-packages, so only numpy and the fake pynq (PYTHONPATH) can be imported; the
    # wrapper runs the script, then checks that neither fpgagen nor torch nor onnx was loaded
    check = (
        "import sys, runpy; sys.argv = sys.argv[1:]; "
        "runpy.run_path(sys.argv[0], run_name='__main__'); "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('fpgagen', 'torch', 'onnx')]; "
        "assert not bad, bad"
    )
    r = subprocess.run(
        [sys.executable, "-S", "-c", check, str(deploy / "run_example.py")]
        + ["--inputs", str(xp), "-o", str(tmp_path / "y_fake.npy"), "--device", "pynq", *extra],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    ev = read_trace(trace) if trace.is_file() else []
    return r, ev, deploy


def output_address(trace: list) -> int:
    """The output buffer address the driver wrote to OUT_LO/OUT_HI."""
    base = next(e["base"] for e in trace if e["op"] == "mmio")
    regs = {e["addr"] - base: e["value"] for e in trace if e["op"] == "write"}
    return regs[abi.REG_OUT_LO] | (regs[abi.REG_OUT_HI] << 32)
