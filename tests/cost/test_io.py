"""The I/O term of the cost model (fpgagen.cost.io): bounds pinned against hand-computed
numbers, the roofline minimum, the stream mode and the board file's ``io`` section."""

from __future__ import annotations

import dataclasses
import math

import onnx
import pytest
import yaml
from fpgagen.boards import load_board
from fpgagen.cost import _host_coef as hc
from fpgagen.cost.io import frame_bytes, io_bounds, io_target_cycles, predict
from fpgagen.errors import BoardError, FpgagenError
from fpgagen.flow import make_dataflow

from tests.support.qonnx_graphs import small_mlp


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    p = tmp_path_factory.mktemp("io") / "mlp.onnx"
    onnx.save(small_mlp(), p)
    return p


def _bounds(res) -> dict:
    return {b["name"]: b["fps"] for b in res["bounds"]}


# small_mlp: 16 x INT4/UINT4 in (64 bits = 8 bytes per frame), 5 outputs of 10 bits
# (50 bits = 6.25 bytes per frame; 1024 frames = 51200 bits = 400 bus words of 128 bits)
IN_B, OUT_B = 8.0, 6.25


def _host_ns(slowdown, buffer_gbps):
    cpu = slowdown * (
        hc.PACK_NS_PER_ELEMENT * 16
        + hc.PACK_NS_PER_BIT * 64
        + hc.UNPACK_NS_PER_ELEMENT * 5
        + hc.UNPACK_NS_PER_BIT * 50
    )
    return cpu + (IN_B + OUT_B) / buffer_gbps


def test_io_bounds_small_mlp_zcu104(mlp):
    b = load_board("zcu104")
    df = make_dataflow(mlp, b, fps=1000.0)
    assert frame_bytes(df, 128) == (IN_B, OUT_B)
    res = io_bounds(df, b, 200.0)
    got = _bounds(res)
    assert set(got) == {"kernel bus", "DDR", "host"}
    # 128 bits x 200 MHz = 3.2 GB/s per direction, 200 ns latency = 40 cycles hidden by
    # 4 x 64-beat bursts: 3.2e9 / 8 B
    assert got["kernel bus"] == pytest.approx(400e6)
    # DDR4 64-bit x 2400 MT/s x 0.7 = 13.44 GB/s for 14.25 B in + out
    assert got["DDR"] == pytest.approx(13.44e9 / 14.25)
    assert got["host"] == pytest.approx(1e9 / _host_ns(8.0, 1.0))
    assert res["binding"] == "host" and res["io_fps"] == got["host"]
    assert res["reason"].startswith("host: ") and "Cortex-A53" in res["reason"]


def test_io_bounds_small_mlp_aws_f1(mlp):
    b = load_board("aws-f1")
    df = make_dataflow(mlp, b, fps=1000.0)
    res = io_bounds(df, b, 250.0)
    got = _bounds(res)
    assert set(got) == {"kernel bus", "DDR", "PCIe", "host"}
    # 512 bits x 250 MHz = 16 GB/s per direction; 1024 frames x 64 bits = 128 words of 512
    assert got["kernel bus"] == pytest.approx(16e9 / 8)
    # DDR4 64-bit x 2133 MT/s x 0.85 = 14.5044 GB/s
    assert got["DDR"] == pytest.approx(14.5044e9 / 14.25)
    # x16 x 8 GT/s x 128/130 / 8 x 0.75 = 11.8152 GB/s per direction, input is the larger
    assert got["PCIe"] == pytest.approx(16 * 8e9 * 0.9846 / 8 * 0.75 / 8)
    assert got["host"] == pytest.approx(1e9 / _host_ns(1.5, 5.0))
    assert res["binding"] == "host"


def test_memory_bounds_order_without_host(mlp):
    """With the host out of the way the memory path binds: Ultra96 at 250 MHz is limited by
    its 32-bit LPDDR4 (2.98 GB/s), not by the 4 GB/s of its HP port."""
    b = load_board("ultra96")
    fast_host = dataclasses.replace(b.io.host, slowdown=1e-6, buffer_gbps=1e6)
    b = dataclasses.replace(b, io=dataclasses.replace(b.io, host=fast_host))
    df = make_dataflow(mlp, b, fps=1000.0)
    res = io_bounds(df, b, 250.0)
    got = _bounds(res)
    assert got["kernel bus"] == pytest.approx(4e9 / 8)
    assert got["DDR"] == pytest.approx(4 * 1066e6 * 0.7 / 14.25)
    assert res["binding"] == "DDR" and res["io_fps"] == got["DDR"]


def test_burst_efficiency_with_long_latency(mlp):
    """4 outstanding 64-beat bursts hide 192 cycles of read latency; 1000 ns at 300 MHz
    (300 cycles) leaves 256 / 364 of the bus."""
    b = load_board("zcu104")
    b = dataclasses.replace(b, io=dataclasses.replace(b.io, read_latency_ns=1000.0))
    df = make_dataflow(mlp, b, fps=1000.0)
    got = _bounds(io_bounds(df, b, 300.0))
    assert got["kernel bus"] == pytest.approx(300e6 * 16 * (256 / 364) / 8)


def test_stream_mode_and_predict(mlp):
    b = load_board("zcu104")
    df = make_dataflow(mlp, b, fps=1000.0)
    s = io_bounds(df, b, 200.0, io="stream")
    assert s["bounds"] == [] and s["io_fps"] is None and "--io stream" in s["reason"]
    assert predict(5e6, s) == {"fps": 5e6, "binds": "compute", "compute_fps": 5e6, "io_fps": None}
    m = io_bounds(df, b, 200.0)
    p = predict(5e6, m)
    assert p["fps"] == m["io_fps"] and p["binds"] == "host"
    assert predict(1e3, m)["binds"] == "compute"
    t = io_target_cycles(m, 200.0)
    assert 200e6 / t >= m["io_fps"] > 200e6 / (t + 1)
    with pytest.raises(FpgagenError, match="--io 'disk' is not supported"):
        io_bounds(df, b, 200.0, io="disk")


def test_bundled_boards_have_io():
    for name in ("zcu104", "zcu102", "ultra96", "aws-f1"):
        io = load_board(name).io
        assert io is not None and io.port_bits == load_board(name).kernel.bus_bits
        assert all(math.isfinite(x) and x > 0 for x in (io.ddr_gbps, io.port_max_mhz))
        assert 0 < io.ddr_efficiency <= 1 and dict(io.sources)["ddr"]
    assert load_board("ultra96").io.ddr_bits == 32 and load_board("zcu104").io.ddr_bits == 64
    f1 = load_board("aws-f1").io
    assert f1.pcie_lanes == 16 and f1.ddr_banks == 4
    assert load_board("zcu102").io.pcie_gbps is None


@pytest.mark.parametrize(
    "edit, needle",
    [
        (lambda d: d["io"]["ddr"].update(efficiency=1.5), "io.ddr.efficiency must be a fraction"),
        (lambda d: d["io"]["ddr"].update(mt_s=float("inf")), "io.ddr.mt_s must be a finite"),
        (lambda d: d["io"]["port"].update(max_mhz=-1), "io.port.max_mhz must be a finite"),
        (lambda d: d["io"]["port"].update(bits=100), "io.port.bits must be one of"),
        (lambda d: d["io"]["host"].update(slowdown=0), "io.host.slowdown must be a finite"),
        (lambda d: d["io"]["ddr"].pop("source"), "io.ddr: missing key 'source'"),
        (lambda d: d["io"]["ddr"].update(width=64), "io.ddr: unknown key 'width'"),
        (lambda d: d["io"].pop("host"), "io: missing section 'host'"),
        (lambda d: d["io"]["ddr"].update(bits=True), "io.ddr.bits must be an integer > 0"),
    ],
)
def test_bad_io_sections(tmp_path, edit, needle):
    d = yaml.safe_load(load_board("zcu104").path.read_text())
    edit(d)
    p = tmp_path / "b.yaml"
    p.write_text(yaml.safe_dump(d))
    with pytest.raises(BoardError) as e:
        load_board(str(p))
    msg = str(e.value)
    assert needle in msg and "\n" not in msg and str(p) in msg


def test_f1_board_needs_pcie(tmp_path):
    d = yaml.safe_load(load_board("aws-f1").path.read_text())
    d["io"].pop("pcie")
    p = tmp_path / "f1.yaml"
    p.write_text(yaml.safe_dump(d))
    with pytest.raises(BoardError, match=r"flow aws-f1 needs io\.pcie"):
        load_board(str(p))
