"""Video pipeline benchmark: CPU stage times here, predicted board fps at 416x416.

    python benchmarks/video/bench_video.py [--reps 5] [--arm-factor 10]

1. The 416x416 Tinier-YOLO (``tinier_yolo``, width 1, 20 VOC classes, random BatchNorm
   statistics; timing does not depend on training) is lowered and split (``--cpu-layers
   auto``); ``fpgagen estimate`` of the FPGA block on the ZCU104 and the Ultra96 gives the
   accelerator's cycles per frame (or why it does not fit).
2. Every CPU stage of the pipeline runs on this machine on a 640x480 frame (each the minimum
   CPU time of ``--reps`` runs, BLAS on one thread: the machine is shared, so wall-clock times
   would measure the other jobs): letterbox,
   CPU head (input quantizer + layer 0), pack, unpack, CPU tail (layer 8 + host tail), region
   decoding, NMS, drawing, output (MJPG encode). Capture is not timed (a camera delivers).
3. Prediction per board: CPU stages x ``--arm-factor`` (the board's Cortex-A53 against this
   core, docs/benchmarks.md), accelerator = cycles / clock; the pipeline's five threads
   overlap, so fps = 1 / the slowest thread (the limiting stage); ``fps_serial`` = 1 / the sum
   (no overlap at all, e.g. if the GIL serialises everything) brackets it from below.

Writes ``benchmarks/results/video_bench.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "generator"))

THREADS = {
    "capture": ["letterbox"],
    "head": ["cpu_head"],
    "accel": ["pack", "accelerator", "unpack"],
    "post": ["cpu_tail", "region", "nms"],
    "output": ["draw", "output"],
}


def best(fn, reps):
    """Minimum CPU time of ``reps`` runs (process time, BLAS on one thread: on a shared
    machine the wall clock measures the other jobs, the CPU time measures this work)."""
    ts = []
    out = None
    for _ in range(reps):
        t0 = time.process_time()
        out = fn()
        ts.append(time.process_time() - t0)
    return min(ts), out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--arm-factor", type=float, default=10.0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/video_bench.json"))
    a = ap.parse_args(argv)

    import cv2
    from fpgagen import cpulayers, hostops
    from fpgagen.boards import load_board
    from fpgagen.errors import FpgagenError
    from fpgagen.flow import estimate
    from fpgagen.frontend import load_model
    from fpgagen.models.cli_detector import export_detector
    from fpgagen.models.detector import make_detector
    from fpgagen.transforms.lower import lower
    from fpgagen.video.netcfg import NetworkCfg
    from fpgagen.video.partition import apply_partition, cpu_specs
    from fpgagen.video.pipeline import (
        class_nms,
        draw_detections,
        letterbox,
        region_candidates,
        to_frame_coords,
    )
    from fpgagen.yolo import VOC_ANCHORS, VOC_CLASSES

    tmp = Path(tempfile.mkdtemp(prefix="bench_video_"))
    net = make_detector("tinier_yolo", seed=0)
    onnx_path = export_detector(
        net,
        tmp / "tinier_yolo_416.onnx",
        dict(
            model="tinier_yolo",
            input_size=416,
            num_classes=20,
            anchors=VOC_ANCHORS.tolist(),
            classes=list(VOC_CLASSES),
        ),
    )
    res = {
        "model": "tinier_yolo 416x416 W1A3, 20 classes",
        "arm_factor": a.arm_factor,
        "reps": a.reps,
        "boards": {},
    }

    # -- accelerator: estimate of the FPGA block --------------------------------------------
    for board in ("zcu104", "ultra96"):
        b = load_board(board)
        try:
            d = estimate(onnx_path, board, cpu_layers="auto")
            res["boards"][board] = {
                "fits": True,
                "clock_mhz": d["clock_mhz"],
                "cycles_per_frame": d["expected_cycles_per_frame"],
                "accelerator_ms": d["expected_cycles_per_frame"] / (d["clock_mhz"] * 1e3),
                "bottleneck": d["bottleneck"],
                "utilisation": d["utilisation"],
                "partition": d.get("partition"),
            }
        except FpgagenError as e:
            res["boards"][board] = {
                "fits": False,
                "clock_mhz": b.default_mhz,
                "reason": " ".join(str(e).split()),
            }
        print(board, {k: v for k, v in res["boards"][board].items() if k != "partition"})

    # -- CPU stages on this machine ----------------------------------------------------------
    df = lower(load_model(onnx_path))
    apply_partition(df, "auto")
    head_specs, tail_specs, consts = cpu_specs(df)
    cfg_text = (
        "[net]\nwidth=416\nheight=416\nchannels=3\n[region]\nanchors="
        + ",".join(f"{v:g}" for v in VOC_ANCHORS.reshape(-1))
        + "\nclasses=20\nnum=5\n"
    )
    (tmp / "network.cfg").write_text(cfg_text)
    cfg = NetworkCfg(tmp / "network.cfg")
    cfg.names = list(VOC_CLASSES)
    from fpgagen.models.datasets import photo_background

    rng = np.random.default_rng(0)
    frame = (photo_background(rng, 480, 640).transpose(1, 2, 0)[:, :, ::-1] * 255).astype(np.uint8)
    t = {}
    t["letterbox"], (x, lb) = best(lambda: letterbox(frame, 416, 416), a.reps)
    head = df.head.spec()
    hconsts = {n: np.asarray(df.head.consts[n]) for n in hostops.head_const_names(head)}

    def cpu_head():
        q = hostops.run_head(x[None], head, hconsts)
        return cpulayers.run_layers(q, head_specs, consts)

    t["cpu_head"], codes = best(cpu_head, a.reps)
    from fpgagen import packing
    from fpgagen.datatypes import DataType

    last = df.layers[-1]
    simd_in, pe_out = 16, 16  # stream words of 16 UINT3 values (48 bits) both ways

    def pack():
        w = packing.pack(codes.reshape(-1), DataType("UINT3"), simd_in)
        return packing.pack_buffer(w, 3 * simd_in, 128)

    t["pack"], buf = best(pack, a.reps)
    hw = rng.integers(0, 8, (1, last.out_channels * 13 * 13))
    obuf = packing.pack_buffer(packing.pack(hw.reshape(-1), DataType("UINT3"), pe_out), 48, 128)

    def unpack():
        words = packing.unpack_buffer(obuf, hw.size // pe_out, 48)
        return packing.unpack(words, DataType("UINT3"), pe_out)

    t["unpack"], _ = best(unpack, a.reps)
    tail = df.tail.spec()
    tconsts = df.tail.spec_consts()

    def cpu_tail():
        v = cpulayers.run_layers(hw, tail_specs, consts)
        return hostops.run_tail(v, tail, tconsts)

    t["cpu_tail"], region = best(cpu_tail, a.reps)
    region = region[0]
    t["region"], cand = best(lambda: region_candidates(region, cfg, 0.24), a.reps)
    t["nms"], dets = best(lambda: class_nms(*cand, 0.45), a.reps)
    b, s, c = dets
    b = to_frame_coords(b, lb, frame.shape)
    t["draw"], img = best(lambda: draw_detections(frame, b, s, c, cfg.names), a.reps)
    t["output"], _ = best(lambda: cv2.imencode(".jpg", img), a.reps)
    res["candidates"] = int(len(cand[0]))
    res["detections"] = int(len(s))
    res["cpu_ms_here"] = {k: v * 1e3 for k, v in t.items()}
    res["fpga_input_elements"] = int(codes.shape[1])
    print("CPU stages here (ms):", {k: round(v * 1e3, 3) for k, v in t.items()})

    # -- prediction ----------------------------------------------------------------------------
    for board, r in res["boards"].items():
        if not r["fits"]:
            stage_ms = {k: v * 1e3 * a.arm_factor for k, v in t.items()}
            cpu_threads = {
                th: sum(stage_ms.get(s, 0.0) for s in st)
                for th, st in THREADS.items()
                if th != "accel"
            }
            lim = max(cpu_threads, key=cpu_threads.get)
            r["cpu_bound_fps"] = 1e3 / cpu_threads[lim]
            r["cpu_limiting_thread"] = lim
            continue
        stage_ms = {k: v * 1e3 * a.arm_factor for k, v in t.items()}
        stage_ms["accelerator"] = r["accelerator_ms"]
        threads = {th: sum(stage_ms.get(s, 0.0) for s in st) for th, st in THREADS.items()}
        lim = max(threads, key=threads.get)
        lim_stage = max(THREADS[lim], key=lambda s: stage_ms.get(s, 0.0))
        r.update(
            stage_ms_board=stage_ms,
            thread_ms_board=threads,
            limiting_thread=lim,
            limiting_stage=lim_stage,
            fps=1e3 / threads[lim],
            fps_serial=1e3 / sum(stage_ms.values()),
        )
        r["fps_by_arm_factor"] = {}
        for fac in (5.0, 10.0, 15.0):
            th = {
                k: sum(
                    r["accelerator_ms"] if st == "accelerator" else t.get(st, 0.0) * 1e3 * fac
                    for st in v
                )
                for k, v in THREADS.items()
            }
            r["fps_by_arm_factor"][f"{fac:g}"] = 1e3 / max(th.values())
        print(
            f"{board}: {r['fps']:.1f} fps (limit {lim}/{lim_stage}), serial "
            f"{r['fps_serial']:.1f} fps"
        )
    Path(a.out).write_text(json.dumps(res, indent=2) + "\n")
    print("wrote", a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
