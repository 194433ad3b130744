"""``fpgagen video``: the detection pipeline on a video, a folder of images or a camera."""

from __future__ import annotations

import json
import sys

__all__ = ["add_video_parser", "run_video_command"]

DEVICES = ("auto", "pynq", "xrt", "emu", "golden")


def add_video_parser(sub) -> None:
    v = sub.add_parser(
        "video",
        help="run a detector build on a video: capture, CPU layers, accelerator, "
        "region decoding, NMS, boxes drawn, video out",
    )
    v.add_argument("outdir", help="folder written by `fpgagen build` of a detector")
    v.add_argument(
        "--input", required=True, help="video file, folder of images or camera:N (OpenCV)"
    )
    v.add_argument(
        "--output",
        required=True,
        help="annotated video (.mp4: mp4v, .avi: MJPG), a folder for PNG frames, "
        "display (a window) or none",
    )
    v.add_argument("--device", default="auto", choices=DEVICES, help="accelerator device")
    v.add_argument(
        "--reference",
        action="store_true",
        help="run the whole ONNX model in QONNX's executor instead (the oracle)",
    )
    v.add_argument("--thresh", type=float, default=0.24, help="score threshold (default 0.24)")
    v.add_argument("--nms", type=float, default=0.45, help="NMS IoU threshold (default 0.45)")
    v.add_argument("--max-frames", type=int, help="stop after N frames")
    v.add_argument("--detections", metavar="DET.jsonl", help="one JSON line of boxes per frame")
    v.add_argument("--json", metavar="STATS.json", help="write the timing statistics here")
    v.add_argument("--fourcc", help="codec of the output video (default mp4v, MJPG for .avi)")
    v.add_argument("--fps", type=float, help="frame rate of the output video (default: input's)")
    v.add_argument("--quiet", action="store_true", help="no progress line")


def run_video_command(args) -> int:
    from .pipeline import run_video

    stats = run_video(
        args.outdir,
        args.input,
        args.output,
        device=args.device,
        reference=args.reference,
        thresh=args.thresh,
        nms=args.nms,
        max_frames=args.max_frames,
        detections=args.detections,
        stats_json=args.json,
        fourcc=args.fourcc,
        out_fps=args.fps,
        progress=not args.quiet,
    )
    from .pipeline import format_stats

    print(format_stats(stats))
    if args.json:
        print(f"wrote {args.json}", file=sys.stderr)
    return 0 if stats["failed_frames"] == 0 else 1


def _dump(d) -> str:  # pragma: no cover - debugging helper
    return json.dumps(d, indent=2)
