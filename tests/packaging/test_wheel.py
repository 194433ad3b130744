"""The wheel carries rtl/, hls_templates/ and boards/, and an installed fpgagen works."""

import subprocess
import sys
import zipfile
from pathlib import Path

import onnx
import pytest

from tests.support.qonnx_graphs import small_mlp

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0 and "No module named 'hatchling'" in r.stderr + r.stdout:
        r = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), str(ROOT)],
            capture_output=True,
            text=True,
        )
    assert r.returncode == 0, r.stderr[-2000:]
    (whl,) = out.glob("fpgagen-*.whl")
    return whl


def test_wheel_contents(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for must in (
        "fpgagen/cli.py",
        "fpgagen/data/rtl/mvau.v",
        "fpgagen/data/rtl/templates/top.v.j2",
        "fpgagen/data/boards/zcu104.yaml",
        "fpgagen/templates/charts.html.j2",
        "fpgagen/templates/report.html.j2",
        "fpgagen/templates/scale.html.j2",
    ):
        assert must in names, must
    assert any(n.startswith("fpgagen/data/hls_templates/") for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_installed_wheel_builds(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    model = tmp_path / "m.onnx"
    onnx.save(small_mlp(), model)
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    code = (
        "import sys, fpgagen.resources as r; assert str(r.data_dir('rtl')).startswith(sys.argv[1]);"
        "from fpgagen.cli import main; sys.exit(main(sys.argv[2:]))"
    )
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(target),
            "build",
            str(model),
            "--board",
            "zcu104",
            "-o",
            str(tmp_path / "out"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "rtl" / "mvau.v").is_file()
