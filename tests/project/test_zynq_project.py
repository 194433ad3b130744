"""The generated Vivado project for the Zynq UltraScale+ boards, run in a real Tcl interpreter
against the recording stub (tests/project/vivado_stub.py); the tests assert the recorded block
design, not the Tcl text."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys

import onnx
import pytest
from fpgagen.boards import load_board
from fpgagen.cli import main
from fpgagen.errors import FpgagenError
from fpgagen.flow import build, load_build
from fpgagen.project import write_project
from fpgagen.runtime.design import Design

from tests.project.helpers import make_build, meta, path_without
from tests.project.vivado_stub import HAVE_TCL, IP_CONFIG, IPDEFS, StubError, VivadoStub
from tests.support.qonnx_graphs import small_mlp
from tests.support.tools import require

PS = "/zynq_ultra_ps_e_0"
K = "/fpgagen_kernel_0"

# board -> a clock the PS gives exactly (IOPLL 1499.985 MHz / n)
CLOCKS = {"zcu104": 249.9975, "zcu102": 187.498125, "ultra96": None}  # ultra96: default 150


@pytest.fixture(autouse=True)
def _tcl():
    require(
        HAVE_TCL, "Python's tkinter (Tcl) is not installed (Debian/Ubuntu: apt install python3-tk)"
    )


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("zynq")
    return {b: make_build(tmp, b, clock_mhz=c) for b, c in CLOCKS.items()}


def _run(out, argv=("rtl", "all"), **kw):
    kw.setdefault("board_parts", [load_board(meta(out)["board"]).board_part])
    stub = VivadoStub(**kw)
    rc = stub.run(out / "project" / "build.tcl", argv)
    return stub, rc


def _collect(out):
    return subprocess.run(
        [sys.executable, str(out / "project" / "collect.py"), "zynq"],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("board", list(CLOCKS))
def test_block_design(builds, board):
    out = builds[board]
    b = load_board(board)
    m = meta(out)
    stub, rc = _run(out)
    assert rc == 0, stub.stderr
    d = stub.design
    # part and board preset from the board file
    assert d.part == b.part and d.board_part == b.board_part
    ps = d.cell(PS)
    assert ps.preset
    # IP versions are looked up (the newest of the catalogue), not pinned
    assert ps.vlnv == "xilinx.com:ip:zynq_ultra_ps_e:3.5"
    # HPM0 reaches the kernel's control port, at the address the metadata records
    assert f"{K}/s_axi_control" in d.reachable(f"{PS}/M_AXI_HPM0_FPD")
    ctrl = d.addresses[f"{PS}/Data"][f"{K}/s_axi_control/reg0"]
    assert ctrl[0] == m["project"]["control_base"] == b.kernel.control_base
    # the kernel's memory port reaches the HP port and its DDR low and high segments
    assert f"{PS}/S_AXI_HP0_FPD" in d.reachable(f"{K}/m_axi_gmem")
    mem = d.addresses[f"{K}/m_axi_gmem"]
    assert mem[f"{PS}/SAXIGP2/HP0_DDR_LOW"] == b.ps.ddr_low
    assert mem[f"{PS}/SAXIGP2/HP0_DDR_HIGH"] == b.ps.ddr_high
    assert ps.config["CONFIG.PSU__SAXIGP2__DATA_WIDTH"] == str(b.kernel.bus_bits)
    # PL clock 0 is the design clock and clocks the kernel; one reset; interrupt to pl_ps_irq0
    assert ps.pl_clk0_mhz() == pytest.approx(m["clock_mhz"], rel=1e-3)  # ACT_FREQMHZ
    assert m["project"]["pl_clk0"]["exact"]
    clk = d.net_of(f"{PS}/pl_clk0")
    assert f"{K}/ap_clk" in clk and f"{PS}/saxihp0_fpd_aclk" in clk
    assert f"{K}/ap_rst_n" in d.net_of("/rst_pl_clk0/peripheral_aresetn")
    assert d.net_of(f"{K}/interrupt") == [f"{K}/interrupt", f"{PS}/pl_ps_irq0"]
    # the whole flow ran: validated, synthesis, implementation to the bitstream, reports
    assert d.validated and d.runs["impl_1"]["to_step"] == "write_bitstream"
    assert (out / "project" / "reports" / "timing_summary.rpt").is_file()
    assert any(f.endswith("rtl/fpgagen_kernel.v") for f in d.files)
    assert any("/rtl/mem/" in f for f in d.files) == bool(list((out / "rtl" / "mem").glob("*")))


def test_collect_bit_and_hwh(builds, tmp_path):
    out = builds["ultra96"]
    deploy = out / "deploy"
    deploy.mkdir(exist_ok=True)
    (deploy / "design.json").write_text(json.dumps({"design_hash": "abc123"}))
    for hwh_dir in ("srcs", "gen"):  # Vivado before 2020.1 / since
        stub, rc = _run(out, hwh_dir=hwh_dir)
        assert rc == 0, stub.stderr
        r = _collect(out)
        assert r.returncode == 0, r.stderr
        rec = json.loads((deploy / "bitstream.json").read_text())
        assert rec["design_hash"] == "abc123"
        for name in ("accel.bit", "accel.hwh"):
            assert rec["files"][name] == hashlib.sha256((deploy / name).read_bytes()).hexdigest()
        assert (deploy / "accel.bit").read_bytes().endswith(b"xczu3eg-sbva484-1-i")
        (deploy / "accel.bit").unlink()
        shutil.rmtree(out / "project" / "vivado")


def test_bitstream_missing_after_run(builds):
    out = builds["zcu102"]
    shutil.rmtree(out / "project" / "vivado", ignore_errors=True)
    stub, rc = _run(out, write_bitstream=False)
    assert rc == 0
    r = _collect(out)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "no bitstream after the Vivado run: looked for" in r.stderr and "impl_1" in r.stderr


def test_without_board_files(builds):
    out = builds["zcu104"]
    stub, rc = _run(out, board_parts=[])
    assert rc == 0, stub.stderr
    assert stub.design.board_part is None and not stub.design.cell(PS).preset
    assert stub.design.part == "xczu7ev-ffvc1156-2-e"
    assert any(
        "board files for xilinx.com:zcu104:part0:1.1 are not installed" in s for s in stub.stdout
    )
    stub, rc = _run(out, board_parts=[], env={"FPGAGEN_REQUIRE_BOARD_FILES": "1"})
    assert rc == 2 and len(stub.stderr) == 1
    assert "board files for xilinx.com:zcu104:part0:1.1 are not installed" in stub.stderr[0]
    # a newer board-file revision is taken when several are installed
    stub, rc = _run(out, board_parts=["xilinx.com:zcu104:part0:1.0", "xilinx.com:zcu104:part0:1.1"])
    assert rc == 0 and stub.design.board_part == "xilinx.com:zcu104:part0:1.1"


def test_unsupported_vivado(builds):
    stub, rc = _run(builds["zcu104"], version="2019.1")
    assert rc == 2 and len(stub.stderr) == 1
    assert "Vivado 2019.1 is not one these scripts are written for" in stub.stderr[0]
    assert "2020.2" in stub.stderr[0] and "FPGAGEN_ANY_VIVADO=1" in stub.stderr[0]
    stub, rc = _run(builds["zcu104"], version="2019.1", env={"FPGAGEN_ANY_VIVADO": "1"})
    assert rc == 0, stub.stderr
    stub, rc = _run(builds["zcu104"], version="2022.2.2")
    assert rc == 0, stub.stderr
    stub, rc = _run(builds["zcu104"], version="weird")
    assert rc == 2 and "Vivado weird is not one" in stub.stderr[0]


def test_timing_failure_names_the_clock(builds):
    stub, rc = _run(builds["zcu104"], wns=-0.9)
    assert rc == 2 and len(stub.stderr) == 1
    msg = stub.stderr[0]
    assert "timing not met: worst negative slack -0.900 ns on clock clk_pl_0" in msg
    # 250 MHz missed by 0.9 ns closes at 1000/4.9 = 204 MHz: the PS gives 187.5 below that
    assert "--clock-mhz 187.498" in msg


def test_failed_run(builds):
    stub, rc = _run(builds["zcu104"], fail_run="synth_1")
    assert rc == 2 and "synthesis did not complete" in stub.stderr[0]
    assert "runme.log" in stub.stderr[0]


@pytest.mark.parametrize("board", list(CLOCKS))
def test_hls_kernel(builds, board):
    out = builds[board]
    b = load_board(board)
    ip = out / "hls" / "fpgagen_prj" / "solution1" / "impl" / "ip"
    shutil.rmtree(out / "hls" / "fpgagen_prj", ignore_errors=True)
    stub, rc = _run(out, argv=("hls", "all"))
    assert rc == 2 and "no Vitis HLS IP under" in stub.stderr[0]
    ip.mkdir(parents=True)
    (ip / "component.xml").write_text(
        '<spirit:component xmlns:spirit="http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009">'
        "<spirit:vendor>xilinx.com</spirit:vendor><spirit:library>hls</spirit:library>"
        "<spirit:name>fpgagen_kernel</spirit:name><spirit:version>1.0</spirit:version>"
        "</spirit:component>"
    )
    stub, rc = _run(out, argv=("hls", "all"))
    assert rc == 0, stub.stderr
    d = stub.design
    assert d.cell(K).vlnv == "xilinx.com:hls:fpgagen_kernel:1.0" and d.part == b.part
    assert f"{K}/s_axi_control" in d.reachable(f"{PS}/M_AXI_HPM0_FPD")
    assert d.addresses[f"{PS}/Data"][f"{K}/s_axi_control/Reg"][0] == b.kernel.control_base
    assert f"{PS}/S_AXI_HP0_FPD" in d.reachable(f"{K}/m_axi_gmem")
    mem = d.addresses[f"{K}/Data_m_axi_gmem"]
    assert mem[f"{PS}/SAXIGP2/HP0_DDR_LOW"] == b.ps.ddr_low
    assert mem[f"{PS}/SAXIGP2/HP0_DDR_HIGH"] == b.ps.ddr_high
    ps = d.cell(PS)
    assert ps.pl_clk0_mhz() == pytest.approx(meta(out)["clock_mhz"], rel=1e-3)
    assert f"{K}/ap_clk" in d.net_of(f"{PS}/pl_clk0")
    assert f"{PS}/pl_ps_irq0" in d.net_of(f"{K}/interrupt")


def test_missing_kernel_top(tmp_path):
    out = make_build(tmp_path, "ultra96")
    (out / "rtl" / "fpgagen_kernel.v").unlink()
    df, m = load_build(out)
    write_project(df, load_board("ultra96"), out, ["rtl"])
    stub, rc = _run(out)
    assert (
        rc == 2
        and "the kernel top" in stub.stderr[0]
        and "fpgagen_kernel.v is missing" in stub.stderr[0]
    )


def test_clock_the_board_cannot_give(builds):
    df, m = load_build(builds["zcu104"])
    df.meta["clock_mhz"] = 280.0  # PL clock 0: 300 or 250 MHz, nothing in between
    with pytest.raises(FpgagenError) as e:
        write_project(df, load_board("zcu104"), builds["zcu104"], ["rtl"])
    assert "PL clock 0 cannot be 280 MHz" in str(e.value)
    assert "299.997 and 249.997" in str(e.value) and "\n" not in str(e.value)
    # a clock the PS gives only approximately is taken at or below it, with a note
    df.meta["clock_mhz"] = 200.0
    info = write_project(df, load_board("zcu104"), builds["zcu104"], ["rtl"])
    assert info["pl_clk0"]["actual_mhz"] == pytest.approx(187.498125)
    assert "187.498 MHz" in info["note"]
    stub, rc = _run(builds["zcu104"])
    assert rc == 0 and stub.design.cell(PS).pl_clk0_mhz() == pytest.approx(187.498125)


def test_make_bitstream_without_vivado(builds):
    out = builds["ultra96"]
    r = subprocess.run(
        ["make", "-C", str(out / "project"), "bitstream"],
        env={"PATH": path_without("vivado"), "HOME": "/tmp"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1, r.stderr
    assert "vivado not found on PATH" in r.stderr and "2020.2" in r.stderr
    assert "2024.2" in r.stderr


def test_stub_is_strict(tmp_path):
    """The stub refuses what Vivado would: unknown commands, options and IP parameters."""
    s = tmp_path / "t.tcl"
    for body, needle in [
        ("create_project -force p d -part xczu3eg-sbva484-1-i -bogus", "unknown option '-bogus'"),
        ("launch_bitstream_magic", "invalid command name"),
        (
            "create_project p d -part x\ncreate_bd_design b\n"
            "set ps [create_bd_cell -type ip -vlnv xilinx.com:ip:zynq_ultra_ps_e:3.5 ps]\n"
            "set_property -dict [list CONFIG.PSU__MADE_UP {1}] $ps",
            "not a documented parameter",
        ),
        (
            "create_project p d -part x\ncreate_bd_design b\n"
            "create_bd_cell -type ip -vlnv xilinx.com:ip:zynq_ultra_ps_e:9.9 ps",
            "not in the catalogue",
        ),
    ]:
        s.write_text(body + "\n")
        stub = VivadoStub()
        assert stub.run(s) == 1
        assert needle in stub.stderr[-1]


def test_every_config_key_cites_a_source():
    for ip, table in IP_CONFIG.items():
        for key, (_, source) in table.items():
            assert key.startswith("CONFIG.") and len(source) > 10, (ip, key)
            assert any(doc in source for doc in ("PG201", "PG247", "UG1087", "write_bd_tcl")), key
    assert {v.split(":")[2] for v in IPDEFS} >= {
        "zynq_ultra_ps_e",
        "smartconnect",
        "proc_sys_reset",
    }
    assert StubError


def test_cli_refuses_a_clock_the_board_cannot_give(tmp_path, capsys):
    model = tmp_path / "mlp.onnx"
    onnx.save(small_mlp(), model)
    out = tmp_path / "o"
    assert (
        main(["build", str(model), "--board", "zcu102", "-o", str(out), "--clock-mhz", "280"]) == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "PL clock 0 cannot be 280 MHz" in err
    assert not out.exists()  # nothing left behind


def test_hls_only_build_defaults_to_the_hls_kernel(tmp_path):
    onnx.save(small_mlp(), tmp_path / "mlp.onnx")
    build(tmp_path / "mlp.onnx", "zcu104", tmp_path / "o", backend="hls", progress=lambda *a: None)
    mk = (tmp_path / "o" / "project" / "Makefile").read_text()
    assert "KERNEL ?= hls" in mk
    assert meta(tmp_path / "o")["project"]["kernel_sources"] == []


def test_collected_bitstream_is_what_the_runtime_loads(builds):
    """build -> (stub) Vivado run -> collect.py -> the runtime's bitstream check accepts it;
    a bitstream from another design is refused."""
    out = builds["zcu104"]
    shutil.rmtree(out / "project" / "vivado", ignore_errors=True)
    stub, rc = _run(out)
    assert rc == 0, stub.stderr
    assert _collect(out).returncode == 0
    found = Design(out / "deploy").bitstream("pynq")
    assert found["bit"].name == "accel.bit" and found["hwh"].name == "accel.hwh"
    rec = json.loads((out / "deploy" / "bitstream.json").read_text())
    assert (
        rec["design_hash"]
        == json.loads((out / "deploy" / "design.json").read_text())["design_hash"]
    )
    (out / "deploy" / "accel.bit").write_bytes(b"another bitstream")
    with pytest.raises(FpgagenError, match="sha256 does not match"):
        Design(out / "deploy").bitstream("pynq")
