"""Board files: the bundled boards load with the fields the vendor projects need, and bad board
files are refused with one-line BoardErrors."""

from __future__ import annotations

import pytest
import yaml
from fpgagen.boards import list_boards, load_board
from fpgagen.errors import BoardError

# Parts and board parts as the vendors name them (ZCU104 UG1267, ZCU102 UG1182, Avnet
# Ultra96-V2 board files; AWS F1: the VU9P of the aws-fpga HDK)
PARTS = {
    "zcu104": ("xczu7ev-ffvc1156-2-e", "xilinx.com:zcu104:part0:1.1"),
    "zcu102": ("xczu9eg-ffvb1156-2-e", "xilinx.com:zcu102:part0:3.4"),
    "ultra96": ("xczu3eg-sbva484-1-i", "avnet.com:ultra96v2:part0:1.2"),
    "aws-f1": ("xcvu9p-flgb2104-2-i", None),
}


def test_bundled_boards():
    assert set(list_boards()) == set(PARTS)
    for name, (part, board_part) in PARTS.items():
        b = load_board(name)
        assert (b.part, b.board_part) == (part, board_part)
        if b.flow == "vivado-zynq":
            assert b.ps.ddr_low == (0, 0x8000_0000)
            assert b.ps.ddr_high == (0x8_0000_0000, 0x8_0000_0000)
            assert b.kernel.memory_port == "S_AXI_HP0_FPD" and b.kernel.bus_bits == 128
            assert b.kernel.control_base == 0xA000_0000
        else:
            assert b.kernel.platform.startswith("xilinx_aws-vu9p-f1")
            assert b.kernel.memory_banks == ("DDR[0]", "DDR[1]", "DDR[2]", "DDR[3]")
            assert b.kernel.bus_bits == 512 and b.ps is None


def _write(tmp_path, edit):
    d = yaml.safe_load(load_board("zcu104").path.read_text())
    edit(d)
    p = tmp_path / "b.yaml"
    p.write_text(yaml.safe_dump(d))
    return p


@pytest.mark.parametrize(
    "edit, needle",
    [
        (lambda d: d["clocks"].update(max_mhz=float("inf")), "clocks.max_mhz must be a finite"),
        (
            lambda d: d["clocks"].update(default_mhz=float("nan")),
            "default_mhz must be a finite number",
        ),
        (lambda d: d["clocks"].update(default_mhz=0), "default_mhz must be in (0, max_mhz]"),
        (
            lambda d: d["clocks"].update(default_mhz=400),
            "default_mhz must be in (0, max_mhz] = (0, 300]",
        ),
        (lambda d: d["clocks"].update(max_mhz=-1), "clocks.max_mhz must be a finite number > 0"),
        (lambda d: d["resources"].update(lut=0), "resources.lut must be > 0"),
        (lambda d: d["resources"].update(dsp=-1), "resources.dsp must be >= 0"),
        (lambda d: d["resources"].update(lut=float("inf")), "'lut' must be int"),
        (lambda d: d.pop("ps"), "needs a 'ps' section"),
        (lambda d: d["ps"].update(pl_clock_pll="XPLL"), "is not a PS PLL"),
        (lambda d: d["ps"].update(pl_clock_pll_mhz=float("inf")), "pl_clock_pll_mhz must be"),
        (lambda d: d["ps"].update(ddr_low={"base": 5, "range": 3}), "ddr_low must be"),
        (lambda d: d["kernel"].pop("memory_port"), "needs kernel.memory_port"),
        (lambda d: d["kernel"].update(memory_port="HP0; rm"), "kernel.memory_port must be a name"),
        (lambda d: d.update(flow="aws-f1"), "needs kernel.platform"),
    ],
)
def test_bad_board_files(tmp_path, edit, needle):
    p = _write(tmp_path, edit)
    with pytest.raises(BoardError) as e:
        load_board(str(p))
    msg = str(e.value)
    assert needle in msg and "\n" not in msg and str(p) in msg
