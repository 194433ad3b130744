"""Video pipeline benchmark: CPU stage times here, predicted board fps at 416x416.

    python benchmarks/video/bench_video.py [--reps 15] [--estimates OLD.json]

1. The 416x416 Tinier-YOLO (``tinier_yolo``, width 1, 20 VOC classes, random BatchNorm
   statistics; timing does not depend on training) is lowered and split two ways: ``auto``
   (layer 0 and layer 8 on the CPU) and ``head_Conv`` (only layer 8 on the CPU, layer 0 in
   the accelerator). ``fpgagen estimate --io stream`` of each FPGA block on the ZCU104 and the
   Ultra96 (``--weights auto`` when the on-chip weights do not fit) gives the accelerator's
   cycles per frame at its fastest within 70 % of the board; the host's packing is one of
   the pipeline's stages below, so it is not counted twice as an I/O bound, but the memory
   path (kernel bus, DDR: input, output and the external weights each external layer reads
   once per input vector, ``fpgagen.cost.io``) bounds the accelerator's time.
2. Every CPU stage of the pipeline runs here on a 640x480 frame (each the minimum CPU time
   of ``--reps`` runs, BLAS and the CPU layers on one thread: the machine is shared, so
   wall-clock times would measure the other jobs): letterbox, CPU head (input quantizer +
   layer 0 as the fused convolution of ``fpgagen.cpulayers``), pack, unpack, CPU tail
   (layer 8 + host tail), region decoding, NMS, drawing, output (JPEG encode). The matrix
   products inside the CPU head and tail are timed on their own as well.
3. This machine against the boards' Cortex-A53 at 1.2 GHz (``A53_*``: published figures,
   docs/benchmarks.md): ``compute factor`` = this core's SGEMM GFLOP/s / the A53's,
   ``memory factor`` = this core's STREAM-style copy GB/s / the A53's, both measured here
   in the same run. A stage's board time = (its time here - its matrix products) x memory
   factor + its matrix products x compute factor, the CPU head's products spread over the
   4 cores (its bands run on 4 threads; its memory traffic is not assumed to scale);
   accelerator = cycles / clock. The pipeline's five threads overlap, so fps = 1 / the
   slowest thread (the limiting stage); ``fps_serial`` = 1 / the sum (no overlap at all).

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

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # before numpy loads OpenBLAS: one BLAS thread

import numpy as np  # noqa: E402

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


#: OpenBLAS single-thread SGEMM on a Cortex-A53: 6.4 GFLOP/s at 1.416 GHz (RK3399, OpenBLAS
#: pull request #2643), scaled to the boards' 1.2 GHz
A53_SGEMM_GFLOPS = 6.4 * 1.2 / 1.416
#: STREAM copy of a Cortex-A53 at 1.25 GHz: 2.35 GB/s (TI SPRADO9, AM62L)
A53_COPY_GBPS = 2.35
BOARD_CORES = 4


def machine_rates(reps: int) -> dict:
    """This core's SGEMM GFLOP/s (512^3 float32, one thread) and copy GB/s (128 MB float32
    arrays, STREAM convention: bytes read + bytes written), best of ``reps``."""
    rng = np.random.default_rng(0)
    a = rng.random((512, 512), dtype=np.float32)
    b = rng.random((512, 512), dtype=np.float32)
    t, _ = best(lambda: a @ b, 6 * reps)
    x = rng.random(1 << 25, dtype=np.float32)
    y = np.empty_like(x)
    tc, _ = best(lambda: np.copyto(y, x), 2 * reps)
    return {"sgemm_gflops": 2 * 512**3 / t / 1e9, "copy_gbps": 2 * x.nbytes / tc / 1e9}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument(
        "--estimates",
        help="reuse the board estimates of an earlier results JSON (they take minutes)",
    )
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/video_bench.json"))
    a = ap.parse_args(argv)

    import cv2
    from fpgagen import cpulayers, hostops, packing
    from fpgagen.datatypes import DataType
    from fpgagen.errors import FpgagenError
    from fpgagen.flow import estimate
    from fpgagen.frontend import load_model
    from fpgagen.models.cli_detector import export_detector
    from fpgagen.models.datasets import photo_background
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
    old = json.loads(Path(a.estimates).read_text()) if a.estimates else None
    rates = machine_rates(a.reps)
    f_comp = rates["sgemm_gflops"] / A53_SGEMM_GFLOPS
    f_mem = rates["copy_gbps"] / A53_COPY_GBPS
    res = {
        "model": "tinier_yolo 416x416 W1A3, 20 classes",
        "reps": a.reps,
        "machine": rates,
        "a53": {"sgemm_gflops": A53_SGEMM_GFLOPS, "copy_gbps": A53_COPY_GBPS, "cores": 4},
        "compute_factor": f_comp,
        "memory_factor": f_mem,
        "partitions": {},
    }
    print(f"here: {rates}; compute factor {f_comp:.1f}, memory factor {f_mem:.1f}")

    # -- the common stages ----------------------------------------------------------------------
    rng = np.random.default_rng(0)
    frame = (photo_background(rng, 480, 640).transpose(1, 2, 0)[:, :, ::-1] * 255).astype(np.uint8)
    t = {}
    t["letterbox"], (x, lb) = best(lambda: letterbox(frame, 416, 416), a.reps)
    cfg_text = (
        "[net]\nwidth=416\nheight=416\nchannels=3\n[region]\nanchors="
        + ",".join(f"{v:g}" for v in VOC_ANCHORS.reshape(-1))
        + "\nclasses=20\nnum=5\n"
    )
    (tmp / "network.cfg").write_text(cfg_text)
    cfg = NetworkCfg(tmp / "network.cfg")
    cfg.names = list(VOC_CLASSES)

    for part, choice in (("auto", "auto"), ("layer0_on_fpga", "head_Conv")):
        df = lower(load_model(onnx_path))
        apply_partition(df, choice)
        head_specs, tail_specs, consts = cpu_specs(df)
        head = df.head.spec()
        hconsts = {n: np.asarray(df.head.consts[n]) for n in hostops.head_const_names(head)}
        tp = dict(t)
        gemm = {}

        def cpu_head(head=head, hconsts=hconsts, head_specs=head_specs, consts=consts):
            q = hostops.run_head(x[None], head, hconsts)
            return cpulayers.run_layers(q, head_specs, consts, threads=1)

        tp["cpu_head"], codes = best(cpu_head, a.reps)
        gemm["cpu_head"] = 0.0
        for s in head_specs:
            if s["op"] == "matmul":
                w = consts[s["weights"]].astype(np.float32)
                xs = rng.integers(0, 8, (w.shape[1], codes.size // w.shape[0])).astype(np.float32)
                gemm["cpu_head"] += best(lambda w=w, xs=xs: w @ xs, a.reps)[0]
        in_dt = DataType(str(df.in_dtype))
        tp["pack"], buf = best(
            lambda c=codes, d=in_dt: packing.pack_values_buffer(c, d, 128), a.reps
        )
        last = df.layers[-1]
        out_dt = DataType(str(last.out_dtype))
        n_out = last.out_channels * 13 * 13
        hw = rng.integers(0, 8, (1, n_out))
        obuf = packing.pack_values_buffer(hw, out_dt, 128)
        tp["unpack"], _ = best(
            lambda b=obuf, n=n_out, d=out_dt: packing.unpack_values_buffer(b, n, d), a.reps
        )
        tail = df.tail.spec()
        tconsts = df.tail.spec_consts()

        def cpu_tail(tail=tail, tconsts=tconsts, tail_specs=tail_specs, consts=consts, hw=hw):
            v = cpulayers.run_layers(hw, tail_specs, consts, threads=1)
            return hostops.run_tail(v, tail, tconsts)

        tp["cpu_tail"], region = best(cpu_tail, a.reps)
        gemm["cpu_tail"] = 0.0
        for s in tail_specs:
            if s["op"] == "matmul":
                w = consts[s["weights"]].astype(np.float32)
                xs = hw.reshape(-1, w.shape[1]).astype(np.float32)
                gemm["cpu_tail"] += best(lambda w=w, xs=xs: xs @ w.T, a.reps)[0]
        region = region[0]
        tp["region"], cand = best(
            lambda region=region: region_candidates(region, cfg, 0.24), a.reps
        )
        tp["nms"], dets = best(lambda cand=cand: class_nms(*cand, 0.45), a.reps)
        b, sc, c = dets
        b = to_frame_coords(b, lb, frame.shape)
        tp["draw"], img = best(
            lambda b=b, sc=sc, c=c: draw_detections(frame, b, sc, c, cfg.names), a.reps
        )
        tp["output"], _ = best(lambda img=img: cv2.imencode(".jpg", img), a.reps)
        board_ms = {}
        for k, v in tp.items():
            g = min(gemm.get(k, 0.0), v)
            cores = BOARD_CORES if k == "cpu_head" else 1
            board_ms[k] = 1e3 * ((v - g) * f_mem + g * f_comp / cores)
        pr = {
            "cpu_layers": df.meta.get("partition", {}),
            "fpga_input": {"dtype": str(in_dt), "elements": int(codes.shape[1])},
            "cpu_ms_here": {k: v * 1e3 for k, v in tp.items()},
            "gemm_ms_here": {k: v * 1e3 for k, v in gemm.items()},
            "stage_ms_board": board_ms,
            "boards": {},
        }
        print(part, "CPU ms here:", {k: round(v * 1e3, 3) for k, v in tp.items()})
        print(part, "board ms:", {k: round(v, 2) for k, v in board_ms.items()})
        for board in ("zcu104", "ultra96"):
            r = None
            if old is not None:
                r = {
                    k: v
                    for k, v in old["partitions"][part]["boards"][board].items()
                    if k
                    not in (
                        "thread_ms_board",
                        "limiting_thread",
                        "limiting_stage",
                        "fps",
                        "fps_serial",
                    )
                }
            for weights in (None, "auto") if r is None else ():
                try:
                    d = estimate(onnx_path, board, cpu_layers=choice, io="stream", weights=weights)
                except FpgagenError as e:
                    r = {"fits": False, "weights": weights, "reason": " ".join(str(e).split())}
                    continue
                opt = d.get("optimizer", {})
                r = {
                    "fits": True,
                    "weights": weights or "onchip",
                    "clock_mhz": d["clock_mhz"],
                    "cycles_per_frame": d["expected_cycles_per_frame"],
                    "accelerator_ms": d["expected_cycles_per_frame"] / (d["clock_mhz"] * 1e3),
                    "bottleneck": d["bottleneck"],
                    "limiting": opt.get("limiting"),
                    "utilisation": d["utilisation"],
                    "external_layers": opt.get("external_layers", []),
                    "uram_layers": opt.get("uram_layers", []),
                }
                break
            if r["fits"]:
                # the memory path (kernel bus, DDR) with the planned external weights, which
                # each layer reads once per input vector: a bound on the accelerator's rate
                from fpgagen.boards import load_board
                from fpgagen.cost.io import io_bounds

                ext = set(r.get("external_layers") or [])
                for l in df.layers:
                    if l.name in ext:
                        l.ram_style = "external"
                bnd = io_bounds(df, load_board(board), r["clock_mhz"], "memory")
                for l in df.layers:
                    if l.name in ext:
                        l.ram_style = "auto"
                r["memory_fps"] = bnd["memory_fps"]
                r["memory_binding"] = bnd["memory_binding"]
                r["compute_ms"] = r["cycles_per_frame"] / (r["clock_mhz"] * 1e3)
                r["accelerator_ms"] = max(r["compute_ms"], 1e3 / bnd["memory_fps"])
                stage = dict(board_ms, accelerator=r["accelerator_ms"])
                threads = {th: sum(stage.get(s, 0.0) for s in st) for th, st in THREADS.items()}
                lim = max(threads, key=threads.get)
                r.update(
                    thread_ms_board=threads,
                    limiting_thread=lim,
                    limiting_stage=max(THREADS[lim], key=lambda s: stage.get(s, 0.0)),
                    fps=1e3 / threads[lim],
                    fps_serial=1e3 / sum(stage.values()),
                )
                print(
                    f"{part} {board}: {r['fps']:.1f} fps (limit {lim}/{r['limiting_stage']}), "
                    f"accelerator {r['accelerator_ms']:.2f} ms, serial {r['fps_serial']:.1f} fps"
                )
            else:
                print(f"{part} {board}: does not fit: {r['reason'][:200]}")
            pr["boards"][board] = r
        res["partitions"][part] = pr
    Path(a.out).write_text(json.dumps(res, indent=2) + "\n")
    print("wrote", a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
