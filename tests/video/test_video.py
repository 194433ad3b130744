"""``fpgagen video`` end to end: golden and emulated kernel against --reference (QONNX on the
whole ONNX), the annotated video, statistics, bad inputs, and the deploy folder run alone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fpgagen.cli import main

from tests.runtime.support import FAKES, add_fake_bitstream, read_trace

pytestmark = pytest.mark.torch


def _frames(path) -> int:
    import cv2

    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def _video(capsys, *argv):
    rc = main(["video", *map(str, argv), "--quiet"])
    return rc, capsys.readouterr()


@pytest.fixture(scope="module")
def reference_run(det_build, clip, tmp_path_factory):
    outdir, _ = det_build
    d = tmp_path_factory.mktemp("ref")
    rc = main(
        [
            "video",
            str(outdir),
            "--input",
            str(clip[0]),
            "--output",
            str(d / "ref.mp4"),
            "--reference",
            "--thresh",
            "0.1",
            "--detections",
            str(d / "ref.jsonl"),
            "--quiet",
        ]
    )
    assert rc == 0
    return d / "ref.jsonl"


def test_golden_device_equals_reference(det_build, clip, reference_run, tmp_path, capsys):
    outdir, _ = det_build
    out, det, st = tmp_path / "out.mp4", tmp_path / "det.jsonl", tmp_path / "stats.json"
    rc, o = _video(
        capsys,
        outdir,
        "--input",
        clip[0],
        "--output",
        out,
        "--device",
        "golden",
        "--thresh",
        "0.1",
        "--detections",
        det,
        "--json",
        st,
    )
    assert rc == 0, o.err
    assert _frames(out) == len(clip[1]) == 5
    got = [json.loads(s) for s in det.read_text().splitlines()]
    ref = [json.loads(s) for s in reference_run.read_text().splitlines()]
    assert [g["frame"] for g in got] == list(range(5))
    assert got == ref  # same boxes, scores and classes
    assert sum(len(g["boxes"]) for g in got) > 0
    for g in got:  # input-frame pixel coordinates (80x64 frames)
        for x1, y1, x2, y2, s, c in g["boxes"]:
            assert 0 <= x1 <= x2 <= 80 and 0 <= y1 <= y2 <= 64 and 0.1 <= s <= 1 and 0 <= c < 3
    stats = json.loads(st.read_text())
    assert stats["frames"] == 5 and stats["failed_frames"] == 0 and stats["dropped_frames"] == 0
    assert stats["device"] == "golden" and stats["output_frames"] == 5
    assert set(stats["stages"]) >= {
        "capture",
        "letterbox",
        "cpu_head",
        "pack",
        "accelerator",
        "unpack",
        "cpu_tail",
        "region",
        "nms",
        "draw",
        "output",
    }
    for s in stats["stages"].values():
        assert 0 <= s["p50_ms"] <= s["p95_ms"] + 1e-9
    assert stats["limiting_thread"] in ("capture", "head", "accel", "post", "output")
    assert "fps end to end on golden" in o.out and "limiting" in o.out


def test_boxes_are_drawn(det_build, clip, tmp_path, capsys):
    """Frames written to a folder differ from the input exactly where boxes were drawn."""
    import cv2

    outdir, _ = det_build
    src = tmp_path / "frames_in"
    from fpgagen.models.clip import make_clip

    make_clip(src, frames=2, width=80, height=64, objects=2, num_classes=3, seed=1)
    rc, o = _video(
        capsys,
        outdir,
        "--input",
        src,
        "--output",
        tmp_path / "frames_out",
        "--device",
        "golden",
        "--thresh",
        "0.1",
        "--max-frames",
        "1",
        "--detections",
        tmp_path / "d.jsonl",
    )
    assert rc == 0, o.err
    outs = sorted((tmp_path / "frames_out").glob("*.png"))
    assert len(outs) == 1  # --max-frames
    a = cv2.imread(str(sorted(src.glob("*.png"))[0]))
    b = cv2.imread(str(outs[0]))
    boxes = json.loads((tmp_path / "d.jsonl").read_text().splitlines()[0])["boxes"]
    assert boxes and a.shape == b.shape
    x1, y1, x2, y2 = (int(round(v)) for v in boxes[0][:4])
    diff = np.any(a != b, axis=2)
    assert diff[y1 : y2 + 1, x1].any() or diff[y1, x1 : x2 + 1].any()


@pytest.mark.rtl
@pytest.mark.slow
def test_emulated_kernel_equals_reference(det_build, clip, reference_run, tmp_path, capsys):
    outdir, _ = det_build
    det = tmp_path / "det.jsonl"
    rc, o = _video(
        capsys,
        outdir,
        "--input",
        clip[0],
        "--output",
        tmp_path / "o.avi",
        "--device",
        "emu",
        "--thresh",
        "0.1",
        "--max-frames",
        "2",
        "--detections",
        det,
    )
    assert rc == 0, o.err
    assert _frames(tmp_path / "o.avi") == 2  # MJPG
    ref = reference_run.read_text().splitlines()[:2]
    assert det.read_text().splitlines() == ref
    assert "on emu" in o.out


@pytest.mark.parametrize(
    "args, words",
    [
        (["--input", "{tmp}/missing.mp4", "--output", "{tmp}/o.mp4"], ["missing.mp4: no such"]),
        (["--input", "camera:57", "--output", "{tmp}/o.mp4"], ["camera:57: cannot open camera"]),
        (["--input", "{clip}", "--output", "{tmp}/o.xyz"], ["unknown video container"]),
        (
            ["--input", "{clip}", "--output", "{tmp}/o.mp4", "--fourcc", "ZZZZ"],
            ["cannot write codec 'ZZZZ'"],
        ),
        (
            ["--input", "{clip}", "--output", "{tmp}/o.mp4", "--fourcc", "toolong"],
            ["four characters"],
        ),
        (["--input", "{tmp}", "--output", "{tmp}/o.mp4"], ["folder has no images"]),
        (["--input", "{clip}", "--output", "{tmp}/nodir/o.mp4"], ["does not exist"]),
        (["--input", "{clip}", "--output", "none", "--thresh", "2"], ["--thresh 2.0"]),
    ],
)
def test_bad_inputs_are_one_line_errors(det_build, clip, tmp_path, capsys, args, words):
    outdir, _ = det_build
    argv = [a.format(tmp=tmp_path, clip=clip[0]) for a in args]
    rc, o = _video(capsys, outdir, *argv, "--device", "golden")
    assert rc == 2, o
    assert o.err.startswith("fpgagen: error: ") and o.err.count("\n") == 1, o.err
    for w in words:
        assert w in o.err


def test_not_a_detector_build_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "b").mkdir()
    rc, o = _video(capsys, tmp_path / "b", "--input", "x.mp4", "--output", "none")
    assert rc == 2 and "network.cfg: no such file" in o.err


def test_deploy_folder_alone_runs_the_pipeline(det_build, clip, tmp_path):
    """Copied alone, the deploy folder runs run_video.py in a Python with only numpy, OpenCV
    and a fake pynq; the input buffers it sent are the golden model's codes of each frame."""
    import cv2
    from fpgagen.flow import load_build
    from fpgagen.runtime.design import Design
    from fpgagen.video.pipeline import letterbox

    outdir, _ = det_build
    deploy = tmp_path / "board" / "det"
    shutil.copytree(outdir / "deploy", deploy)
    add_fake_bitstream(deploy, "pynq")
    site = tmp_path / "site"
    site.mkdir()
    roots = {Path(np.__file__).parent.parent, Path(cv2.__file__).parent.parent}
    for root in roots:
        for p in root.iterdir():
            if (
                p.is_dir()
                and (p.name.startswith(("numpy", "cv2", "opencv")))
                and not p.name.endswith("dist-info")
            ):
                if not (site / p.name).exists():
                    (site / p.name).symlink_to(p)
    shutil.copytree(FAKES / "pynq", site / "pynq")
    trace = tmp_path / "trace.jsonl"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "FAKE_PYNQ_TRACE": str(trace)}
    check = (
        "import sys, runpy; sys.argv = sys.argv[1:]; "
        "runpy.run_path(sys.argv[0], run_name='__main__'); "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('fpgagen', 'torch', 'onnx')]; "
        "assert not bad, bad"
    )
    r = subprocess.run(
        [
            sys.executable,
            "-S",
            "-c",
            check,
            str(deploy / "run_video.py"),
            "--input",
            str(clip[0]),
            "--output",
            str(tmp_path / "o.mp4"),
            "--device",
            "pynq",
            "--quiet",
            "--detections",
            str(tmp_path / "d.jsonl"),
            "--max-frames",
            "3",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "3 frames" in r.stdout and "on pynq" in r.stdout
    assert _frames(tmp_path / "o.mp4") == 3
    assert len((tmp_path / "d.jsonl").read_text().splitlines()) == 3
    sent = [e for e in read_trace(trace) if e["op"] == "sync_to_device"]
    assert len(sent) == 3
    df, _ = load_build(outdir)
    design = Design(outdir / "deploy")
    cap = cv2.VideoCapture(str(clip[0]))
    for e in sent:
        ok, frame = cap.read()
        x, _ = letterbox(frame, 64, 64)
        want = design.input.pack(df.hw_input(x[None]))
        got = np.frombuffer(bytes.fromhex(e["data"]), dtype=np.uint8)
        assert np.array_equal(got[: want.size], want)
    cap.release()


def test_display_without_window_support_is_one_line_and_quick(det_build, clip, capsys):
    """opencv-python-headless has no windows: the first frame fails in one line, and the
    pipeline's threads stop at once."""
    import time

    import cv2

    if "GTK" in cv2.getBuildInformation().split("GUI")[1][:300]:
        pytest.skip("this OpenCV has window support")
    outdir, _ = det_build
    t0 = time.perf_counter()
    rc, o = _video(capsys, outdir, "--input", clip[0], "--output", "display", "--device", "golden")
    assert rc == 2 and "display: this OpenCV has no window support" in o.err
    assert o.err.count("\n") == 1
    assert time.perf_counter() - t0 < 60
