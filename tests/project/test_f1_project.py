"""The generated AWS F1 (Vitis RTL kernel) project: kernel.xml against the register map,
packaging Tcl run against the recording stub, the v++ link configuration, the Makefile without
Vitis."""

from __future__ import annotations

import configparser
import subprocess
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pytest
from fpgagen import abi
from fpgagen.boards import load_board
from fpgagen.errors import FpgagenError
from fpgagen.flow import load_build
from fpgagen.project import write_project
from fpgagen.project.f1 import compute_units

from tests.project.helpers import make_build, meta, path_without
from tests.project.vivado_stub import HAVE_TCL, VivadoStub
from tests.support.tools import require


@pytest.fixture(autouse=True)
def _tcl():
    require(
        HAVE_TCL, "Python's tkinter (Tcl) is not installed (Debian/Ubuntu: apt install python3-tk)"
    )


@pytest.fixture(scope="module")
def f1(tmp_path_factory):
    return make_build(tmp_path_factory.mktemp("f1"), "aws-f1")


def _link_cfg(out):
    text = (out / "project" / "link.cfg").read_text()
    top, _, rest = text.partition("[connectivity]")
    opts = dict(l.split("=", 1) for l in top.splitlines() if l.strip() and not l.startswith("#"))
    conn = [l.split("=", 1) for l in rest.splitlines() if l.strip() and not l.startswith("#")]
    return opts, conn


def test_link_config(f1):
    b = load_board("aws-f1")
    opts, conn = _link_cfg(f1)
    assert opts["platform"] == b.kernel.platform == "xilinx_aws-vu9p-f1_shell-v04261818_201920_3"
    assert opts["kernel_frequency"] == "0:250"  # at most 250 MHz on F1
    nk = [v for k, v in conn if k == "nk"]
    sp = [v for k, v in conn if k == "sp"]
    # a small design fits four times: one compute unit per DDR bank
    assert nk == [
        "fpgagen_kernel:4:fpgagen_kernel_1.fpgagen_kernel_2.fpgagen_kernel_3.fpgagen_kernel_4"
    ]
    assert sp == [f"fpgagen_kernel_{i + 1}.m_axi_gmem:DDR[{i}]" for i in range(4)]
    assert meta(f1)["project"]["compute_units"] == {
        f"fpgagen_kernel_{i + 1}": f"DDR[{i}]" for i in range(4)
    }


def test_compute_units_where_they_fit():
    board = load_board("aws-f1")
    r = board.resources

    def df(lut, bram18=0):
        tot = {"lut": lut, "ff": 0, "bram18": bram18, "uram": 0, "dsp": 0}
        return SimpleNamespace(total_resources=lambda: tot)

    assert compute_units(df(1000), board, 0.7) == (4, "memory banks")
    assert compute_units(df(int(0.7 * r.lut / 2)), board, 0.7) == (2, "lut")
    assert compute_units(df(10, bram18=int(0.7 * r.bram18 / 3)), board, 0.7) == (3, "bram18")
    assert compute_units(df(r.lut), board, 0.7)[0] == 1


def test_kernel_xml_matches_the_register_map(f1):
    root = ET.parse(f1 / "project" / "kernel.xml").getroot()
    k = root.find("kernel")
    assert k.get("name") == abi.KERNEL_NAME and k.get("hwControlProtocol") == "ap_ctrl_hs"
    ports = {p.get("name"): p for p in k.iter("port")}
    assert ports[abi.MEMORY_PORT].get("dataWidth") == "512"
    assert ports[abi.CONTROL_PORT].get("mode") == "slave"
    args = {a.get("name"): a for a in k.iter("arg")}
    assert int(args["in"].get("offset"), 16) == abi.REG_IN_LO
    assert int(args["out"].get("offset"), 16) == abi.REG_OUT_LO
    assert int(args["n"].get("offset"), 16) == abi.REG_N
    assert args["in"].get("port") == abi.MEMORY_PORT and args["n"].get("port") == abi.CONTROL_PORT


def test_package_xo(f1):
    stub = VivadoStub()
    rc = stub.run(f1 / "project" / "package_xo.tcl")
    assert rc == 0, stub.stderr
    d = stub.design
    assert d.part == load_board("aws-f1").part
    assert d.core["sdx_kernel"] == "true" and d.core["sdx_kernel_type"] == "rtl"
    assert d.core["associations"] == {abi.CONTROL_PORT: "ap_clk", abi.MEMORY_PORT: "ap_clk"}
    assert d.xo["kernel"] == abi.KERNEL_NAME
    assert (f1 / "project" / "fpgagen_kernel.xo").is_file()


@pytest.mark.parametrize(
    "target, tool, needle",
    [
        ("xclbin", "v++", "v++ not found on PATH; make xclbin needs Vitis"),
        ("hw_emu", "v++", "v++ not found on PATH; make hw_emu needs Vitis"),
        ("xo", "vivado", "vivado not found on PATH; make xo needs the Vivado"),
        ("afi", "v++", "make afi needs S3_BUCKET"),
        ("xo KERNEL=hls", "v++", "no .xo under ../hls (looked for ../hls/**/*.xo)"),
    ],
)
def test_make_without_vitis(f1, target, tool, needle):
    r = subprocess.run(
        ["make", "-C", str(f1 / "project"), *target.split()],
        env={"PATH": path_without("v++", "vivado"), "HOME": "/tmp"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert needle in r.stderr


def test_clock_above_the_platform(f1):
    df, m = load_build(f1)
    df.meta["clock_mhz"] = 300.0
    with pytest.raises(FpgagenError, match="above the platform's 250 MHz"):
        write_project(df, load_board("aws-f1"), f1, ["rtl"])


def test_f2_board_needs_no_code(f1, tmp_path):
    """Platform and part live in the board file: another Vitis platform is a new YAML file."""
    text = load_board("aws-f1").path.read_text()
    f2 = tmp_path / "aws-f2.yaml"
    f2.write_text(
        text.replace("name: aws-f1", "name: aws-f2")
        .replace("xilinx_aws-vu9p-f1_shell-v04261818_201920_3", "my_f2_platform_202410_1")
        .replace("xcvu9p-flgb2104-2-i", "xcvu47p-fsvh2892-2-e")
    )
    b = load_board(str(f2))
    df, m = load_build(f1)
    out = tmp_path / "o"
    (out / "rtl").mkdir(parents=True)
    info = write_project(df, b, out, ["rtl"])
    assert info["platform"] == "my_f2_platform_202410_1" and info["part"] == "xcvu47p-fsvh2892-2-e"
    cfg = configparser.ConfigParser(strict=False)
    cfg.read_string("[top]\n" + (out / "project" / "link.cfg").read_text())
    assert cfg["top"]["platform"] == "my_f2_platform_202410_1"


def test_make_xo_takes_the_hls_export(f1):
    """`make xo KERNEL=hls` needs no vendor tool: it copies the .xo Vitis HLS exported."""
    xo = f1 / "hls" / "fpgagen_prj" / "sol1" / "impl" / "export.xo"
    xo.parent.mkdir(parents=True, exist_ok=True)
    xo.write_bytes(b"hls xo")
    r = subprocess.run(
        ["make", "-C", str(f1 / "project"), "xo", "KERNEL=hls"],
        env={"PATH": path_without("v++", "vivado"), "HOME": "/tmp"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert (f1 / "project" / "fpgagen_kernel.xo").read_bytes() == b"hls xo"
    xo.unlink()


def test_collect_f1_for_the_runtime(f1):
    """collect.py f1 (what make xclbin / make afi end with) -> the runtime's xrt check."""
    import sys

    from fpgagen.runtime.design import Design

    proj = f1 / "project"
    r = subprocess.run(
        [sys.executable, str(proj / "collect.py"), "f1"], capture_output=True, text=True
    )
    assert r.returncode == 2 and "no " in r.stderr and "accel.xclbin" in r.stderr
    assert r.stderr.count("\n") == 1
    (proj / "accel.xclbin").write_bytes(b"xclbin")
    (proj / "accel.awsxclbin").write_bytes(b"awsxclbin")
    r = subprocess.run(
        [sys.executable, str(proj / "collect.py"), "f1"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    found = Design(f1 / "deploy").bitstream("xrt")
    assert found["xclbin"].name == "accel.awsxclbin"  # the AFI is preferred on F1
