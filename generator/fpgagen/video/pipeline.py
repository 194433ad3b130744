"""The detection pipeline of ``fpgagen video`` (Darknet's demo, with the FPGA in the middle).

Stages per frame: capture, letterbox (resize keeping the aspect ratio, grey borders, RGB,
``[0, 1]``, NCHW), CPU head (the host head's input quantizer and the CPU layers before the
accelerator), pack, accelerator (to device, start, wait, from device), unpack, CPU tail (the
CPU layers after it and the host tail: the region tensor), region decoding, non-maximum
suppression, drawing (boxes with class names and scores) and video output.

Five threads (capture + letterbox, CPU head, pack + accelerator + unpack (the runtime's
``Accelerator.run_codes``), CPU tail + decode + NMS, drawing + output) pass frames through queues; at most ``ring`` frames (Darknet: 3) are in
flight, so capture, CPU and accelerator work overlap; every stage handles frames in order, so
frames leave in order. A frame a stage fails on is counted as failed and leaves unannotated;
a camera frame that finds the ring full is dropped and counted (a file is never dropped).

``reference=True`` replaces CPU head .. CPU tail by QONNX's executor on the whole ONNX model
(the oracle; needs fpgagen and qonnx, not available on a board).

Numpy + OpenCV (+ pynq/pyxrt through the runtime): vendored into ``deploy/``.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
from pathlib import Path

import numpy as np

from .. import hostops, yolo
from ..errors import FpgagenError
from .netcfg import NetworkCfg
from .videoio import VideoError, open_sink, open_source

__all__ = [
    "STAGES",
    "Pipeline",
    "draw_detections",
    "format_stats",
    "letterbox",
    "run_video",
    "to_frame_coords",
]

#: stages in order, with the thread that runs each
STAGES = (
    ("capture", "capture"),
    ("letterbox", "capture"),
    ("cpu_head", "head"),
    ("pack", "accel"),
    ("accelerator", "accel"),
    ("unpack", "accel"),
    ("cpu_tail", "post"),
    ("region", "post"),
    ("nms", "post"),
    ("draw", "output"),
    ("output", "output"),
)
THREADS = ("capture", "head", "accel", "post", "output")
_END = object()


def letterbox(frame: np.ndarray, width: int, height: int):
    """BGR ``uint8`` frame -> float32 ``(3, height, width)`` RGB in [0, 1], the frame resized
    (bilinear) to fit and centred on grey 0.5 (Darknet's letterbox); returns the image and
    ``(scale, dx, dy)`` (network pixel = frame pixel * scale + offset)."""
    import cv2

    h, w = frame.shape[:2]
    scale = min(width / w, height / h)
    nw, nh = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
    dx, dy = (width - nw) // 2, (height - nh) // 2
    small = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((height, width, 3), 0.5, dtype=np.float32)
    canvas[dy : dy + nh, dx : dx + nw] = small[:, :, ::-1].astype(np.float32) / np.float32(255.0)
    return np.ascontiguousarray(canvas.transpose(2, 0, 1)), (scale, dx, dy)


def to_frame_coords(boxes, lb, frame_shape) -> np.ndarray:
    """Boxes in network pixels -> the input frame's pixels (clipped to the frame)."""
    scale, dx, dy = lb
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
    b[:, [0, 2]] = np.clip((b[:, [0, 2]] - dx) / scale, 0, frame_shape[1])
    b[:, [1, 3]] = np.clip((b[:, [1, 3]] - dy) / scale, 0, frame_shape[0])
    return b


def _colour(c: int):
    rng = np.random.default_rng(c * 7919 + 1)
    return tuple(int(v) for v in rng.integers(64, 256, 3))


def draw_detections(frame, boxes, scores, classes, names) -> np.ndarray:
    """Rectangles with ``name score`` labels drawn on (a copy of) a BGR frame."""
    import cv2

    out = frame.copy()
    for b, s, c in zip(boxes, scores, classes):
        x1, y1, x2, y2 = (int(round(v)) for v in b)
        col = _colour(int(c))
        cv2.rectangle(out, (x1, y1), (x2, y2), col, 2)
        label = f"{names[int(c)] if int(c) < len(names) else c} {s:.2f}"
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)
        ty = max(y1, th + base)
        cv2.rectangle(out, (x1, ty - th - base), (x1 + tw, ty), col, -1)
        cv2.putText(out, label, (x1, ty - base), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    return out


def region_candidates(region, cfg: NetworkCfg, thresh: float):
    """Region decoding: every (box, class) scoring at least ``thresh`` (input pixels)."""
    dec = yolo.decode_region(region, (cfg.height, cfg.width), cfg.anchors, cfg.num_classes)
    boxes = dec["boxes"].reshape(-1, 4).copy()
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0.0, cfg.width)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0.0, cfg.height)
    scores = dec["scores"].reshape(-1, cfg.num_classes)
    idx, cls = np.nonzero(scores >= thresh)
    return boxes[idx], scores[idx, cls], cls.astype(np.int64)


def class_nms(boxes, scores, classes, iou: float, max_det: int = 100):
    """Per-class greedy NMS (:func:`fpgagen.yolo.nms`), survivors sorted by score."""
    kb, ks, kc = [], [], []
    for c in np.unique(classes):
        sel = np.flatnonzero(classes == c)
        keep = sel[yolo.nms(boxes[sel], scores[sel], iou)]
        kb.append(boxes[keep])
        ks.append(scores[keep])
        kc.append(classes[keep])
    if not ks:
        return np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=np.int64)
    b, s, c = np.concatenate(kb), np.concatenate(ks), np.concatenate(kc)
    order = np.lexsort((c, -s))[:max_det]  # by score, ties by class
    return b[order], s[order], c[order]


class _Frame:
    __slots__ = ("codes", "dets", "error", "frame", "hw", "index", "lb", "region", "t", "x")

    def __init__(self, index, frame):
        self.index = index
        self.frame = frame
        self.x = self.lb = self.codes = self.hw = self.region = self.dets = None
        self.error = None
        self.t = {}


class Pipeline:
    """A detector build (``OUTDIR``: ``network.cfg`` + ``deploy/``, or the deploy folder,
    which carries a copy of ``network.cfg``) ready to process frames.

    ``device``: an accelerator device (``auto``, ``pynq``, ``xrt``, ``emu``, ``golden``);
    ``reference``: run the whole ONNX model (``OUTDIR/model.onnx``) in QONNX's executor.
    """

    def __init__(
        self,
        outdir,
        device: str = "auto",
        reference: bool = False,
        thresh: float = 0.24,
        nms: float = 0.45,
        ring: int = 3,
        accelerator=None,
    ):
        self.outdir = Path(outdir)
        if not self.outdir.is_dir():
            raise FpgagenError(f"{self.outdir}: no such build folder; run `fpgagen build` first")
        # OUTDIR (network.cfg + deploy/) or the deploy folder itself (a copy on the board)
        deploy = self.outdir if (self.outdir / "design.json").is_file() else self.outdir / "deploy"
        if not 0.0 <= thresh <= 1.0:
            raise FpgagenError(f"--thresh {thresh}: use a score in [0, 1]")
        if not 0.0 <= nms <= 1.0:
            raise FpgagenError(f"--nms {nms}: use an IoU in [0, 1]")
        if ring < 1:
            raise FpgagenError(f"ring {ring}: at least one frame buffer")
        self.cfg = NetworkCfg(self.outdir / "network.cfg")
        self.thresh, self.nms, self.ring = float(thresh), float(nms), int(ring)
        self.reference = bool(reference)
        self.acc = None
        self._qonnx = None
        if self.reference:
            self._open_reference()
        else:
            if accelerator is None:
                accelerator = _open_accelerator(deploy, device)
            self.acc = accelerator
            self.design = self.acc.design
            shape = tuple(self.design.input_shape)
            if shape != (1, self.cfg.channels, self.cfg.height, self.cfg.width):
                raise FpgagenError(
                    f"{self.outdir}: network.cfg says {self.cfg.channels}x{self.cfg.height}x"
                    f"{self.cfg.width} input, deploy/design.json {shape}; rebuild"
                )

    # -- the model ---------------------------------------------------------------------------
    def _open_reference(self):
        onnx_path = self.outdir / "model.onnx"
        if not onnx_path.is_file():
            raise FpgagenError(f"{onnx_path}: no such file; --reference needs the build folder")
        try:
            from fpgagen.video.reference import qonnx_runner
        except ImportError:
            raise FpgagenError(
                "--reference runs QONNX's executor: it needs fpgagen with the train extra "
                "(not on a board)"
            ) from None
        self._qonnx = qonnx_runner(onnx_path)

    def region(self, x: np.ndarray, t: dict | None = None) -> np.ndarray:
        """One letterboxed image ``(3, H, W)`` -> the region tensor ``(A*(5+C), gh, gw)``
        (all of CPU head .. CPU tail, timings into ``t``)."""
        t = {} if t is None else t
        f = _Frame(0, None)
        f.x = x
        self._head(f)
        self._accel(f)
        self._post_tail(f)
        t.update(f.t)
        return f.region

    def _head(self, f: _Frame) -> None:
        t0 = time.perf_counter()
        if self.reference:
            f.codes = f.x
            f.t["cpu_head"] = time.perf_counter() - t0
            return
        d = self.design
        codes = hostops.run_head(f.x[None], d.head, d.consts)
        f.codes = d.run_cpu_head(codes) if d.cpu_head else codes
        f.t["cpu_head"] = time.perf_counter() - t0

    def _accel(self, f: _Frame) -> None:
        t0 = time.perf_counter()
        if self.reference:
            f.hw = self._qonnx(f.codes)
            f.t.update(pack=0.0, accelerator=time.perf_counter() - t0, unpack=0.0)
            return
        f.hw = self.acc.run_codes(f.codes)
        lt = self.acc.last_timing
        f.t["pack"] = lt.get("pack", 0.0)
        f.t["unpack"] = lt.get("unpack", 0.0)
        f.t["accelerator"] = time.perf_counter() - t0 - f.t["pack"] - f.t["unpack"]

    def _post_tail(self, f: _Frame) -> None:
        t0 = time.perf_counter()
        if self.reference:
            y = np.asarray(f.hw)
        else:
            y = self.design.run_tail(f.hw)
        f.region = np.asarray(y).reshape(y.shape[1:] if y.shape[0] == 1 else y.shape)
        f.t["cpu_tail"] = time.perf_counter() - t0

    def detect(self, f: _Frame) -> None:
        t0 = time.perf_counter()
        cand = region_candidates(f.region, self.cfg, self.thresh)
        t1 = time.perf_counter()
        b, s, c = class_nms(*cand, self.nms)
        b = to_frame_coords(b, f.lb, f.frame.shape)
        f.dets = (b, s, c)
        f.t["region"] = t1 - t0
        f.t["nms"] = time.perf_counter() - t1

    # -- running -------------------------------------------------------------------------------
    def run(
        self,
        source,
        sink,
        max_frames: int | None = None,
        on_frame=None,
        progress=None,
    ) -> dict:
        """Process every frame of ``source`` (an :func:`open_source`) into ``sink``;
        ``on_frame(index, boxes, scores, classes)`` gets each frame's detections in frame
        pixels (in order). Returns the statistics (:func:`format_stats`)."""
        slots = threading.Semaphore(self.ring)
        q_head, q_acc, q_post, q_out = (queue.Queue() for _ in range(4))
        errors: list = []
        dropped = [0]
        stop = threading.Event()
        busy = dict.fromkeys(THREADS, 0.0)

        def guarded(name, fn):
            def body():
                try:
                    fn()
                except BaseException as e:  # a fatal error (source/sink): stop everything
                    errors.append(e)
                    stop.set()
                    for q in (q_head, q_acc, q_post, q_out):
                        q.put(_END)

            return threading.Thread(target=body, name=f"fpgagen-{name}", daemon=True)

        def capture():
            n = 0
            it = iter(source)
            while not stop.is_set():
                if max_frames is not None and n >= max_frames:
                    break
                t0 = time.perf_counter()
                item = next(it, None)
                if item is None:
                    break
                i, frame = item
                t_cap = time.perf_counter() - t0
                if source.is_camera:
                    if not slots.acquire(blocking=False):
                        dropped[0] += 1
                        continue
                else:
                    slots.acquire()
                f = _Frame(n, frame)
                n += 1
                f.t["capture"] = t_cap
                t0 = time.perf_counter()
                try:
                    f.x, f.lb = letterbox(frame, self.cfg.width, self.cfg.height)
                except Exception as e:
                    f.error = f"letterbox: {e}"
                f.t["letterbox"] = time.perf_counter() - t0
                busy["capture"] += f.t["capture"] + f.t["letterbox"]
                q_head.put(f)
            q_head.put(_END)

        def stage(name, qin, qout, fn):
            def loop():
                while True:
                    f = qin.get()
                    if f is _END:
                        qout.put(_END)
                        return
                    t0 = time.perf_counter()
                    if f.error is None:
                        try:
                            fn(f)
                        except Exception as e:
                            f.error = f"{name}: {' '.join(str(e).split()) or type(e).__name__}"
                    busy[name] += time.perf_counter() - t0
                    qout.put(f)

            return loop

        def post(f):
            self._post_tail(f)
            self.detect(f)

        threads = [
            guarded("capture", capture),
            guarded("head", stage("head", q_head, q_acc, self._head)),
            guarded("accel", stage("accel", q_acc, q_post, self._accel)),
            guarded("post", stage("post", q_post, q_out, post)),
        ]
        per_frame: list[dict] = []
        failures: list = []
        t_start = time.perf_counter()
        last_print = 0.0
        for th in threads:
            th.start()
        try:
            while True:
                f = q_out.get()
                if f is _END:
                    break
                t0 = time.perf_counter()
                if f.error is None:
                    b, s, c = f.dets
                    img = draw_detections(f.frame, b, s, c, self.cfg.names)
                else:
                    failures.append({"frame": f.index, "error": f.error})
                    b, s, c = np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=np.int64)
                    img = f.frame
                t1 = time.perf_counter()
                sink.write(img)
                f.t["draw"] = t1 - t0
                f.t["output"] = time.perf_counter() - t1
                busy["output"] += f.t["draw"] + f.t["output"]
                if on_frame is not None:
                    on_frame(f.index, b, s, c, f.error)
                per_frame.append(f.t)
                slots.release()
                now = time.perf_counter()
                if progress and now - last_print > 0.5:
                    last_print = now
                    fps = len(per_frame) / (now - t_start)
                    progress(f"frame {len(per_frame)}: {fps:.2f} fps")
        finally:
            stop.set()  # wake every thread: free slots for capture, an end mark in every queue
            for _ in range(self.ring + 1):
                slots.release()
            for q in (q_head, q_acc, q_post):
                q.put(_END)
            for th in threads:
                th.join(timeout=5)
        if errors:
            e = errors[0]
            if isinstance(e, FpgagenError):
                raise e
            raise FpgagenError(f"video pipeline: {type(e).__name__}: {e}") from None
        wall = time.perf_counter() - t_start
        return _stats(per_frame, busy, wall, dropped[0], failures, self)


def _open_accelerator(deploy, device):
    try:
        from .accelerator import Accelerator  # the vendored runtime (deploy folder)
    except ImportError:
        from ..runtime.accelerator import Accelerator
    return Accelerator(deploy, device=device)


def _stats(per_frame, busy, wall, dropped, failures, pipe) -> dict:
    n = len(per_frame)
    stages = {}
    for name, thread in STAGES:
        v = np.array([t.get(name, 0.0) for t in per_frame]) * 1e3
        stages[name] = {
            "thread": thread,
            "mean_ms": float(v.mean()) if n else 0.0,
            "p50_ms": float(np.percentile(v, 50)) if n else 0.0,
            "p95_ms": float(np.percentile(v, 95)) if n else 0.0,
        }
    threads = {k: (v / n * 1e3 if n else 0.0) for k, v in busy.items()}
    limiting = max(threads, key=threads.get) if n else None
    return {
        "frames": n,
        "failed_frames": len(failures),
        "dropped_frames": int(dropped),
        "failures": failures[:20],
        "seconds": wall,
        "fps": n / wall if wall > 0 else 0.0,
        "stages": stages,
        "threads_ms_per_frame": threads,
        "limiting_thread": limiting,
        "limiting_stage": max(
            (s for s in stages if stages[s]["thread"] == limiting),
            key=lambda s: stages[s]["mean_ms"],
        )
        if limiting
        else None,
        "device": "reference" if pipe.reference else pipe.acc.device.name,
        "input_size": [pipe.cfg.height, pipe.cfg.width],
        "ring": pipe.ring,
    }


def format_stats(st: dict) -> str:
    """The statistics as a table (per stage mean/p50/p95 ms, fps, limiting stage)."""
    lines = [f"{'stage':12s} {'thread':8s} {'mean ms':>9s} {'p50 ms':>9s} {'p95 ms':>9s}"]
    for name, s in st["stages"].items():
        lines.append(
            f"{name:12s} {s['thread']:8s} {s['mean_ms']:9.3f} {s['p50_ms']:9.3f} {s['p95_ms']:9.3f}"
        )
    lines.append(
        f"{st['frames']} frames in {st['seconds']:.2f} s: {st['fps']:.2f} fps end to end on "
        f"{st['device']}; limiting: thread {st['limiting_thread']} (stage "
        f"{st['limiting_stage']}); failed {st['failed_frames']}, dropped {st['dropped_frames']}"
    )
    return "\n".join(lines)


def run_video(
    outdir,
    input,
    output,
    device: str = "auto",
    reference: bool = False,
    thresh: float = 0.24,
    nms: float = 0.45,
    max_frames: int | None = None,
    detections=None,
    stats_json=None,
    fourcc=None,
    out_fps=None,
    progress: bool = True,
    accelerator=None,
) -> dict:
    """``fpgagen video``: run the pipeline from ``input`` to ``output`` (see the module
    docstring); ``detections``: JSONL path, one ``{"frame": i, "boxes": [[x1, y1, x2, y2,
    score, class], ...]}`` per frame in the input frame's pixels (2 and 4 decimals; failed
    frames carry ``"error"``); ``stats_json``: the statistics. Returns the statistics."""
    if max_frames is not None and max_frames < 1:
        raise FpgagenError(f"--max-frames {max_frames}: use a positive number of frames")
    for p, what in ((detections, "--detections"), (stats_json, "--json")):
        if p is not None and not Path(p).parent.is_dir():
            raise FpgagenError(f"{what} {p}: folder {Path(p).parent} does not exist")
    pipe = Pipeline(
        outdir, device=device, reference=reference, thresh=thresh, nms=nms, accelerator=accelerator
    )
    source = open_source(input)
    try:
        sink = open_sink(output, out_fps or source.fps or 25.0, fourcc)
    except VideoError:
        source.close()
        raise
    det_file = open(detections, "w") if detections else None

    def on_frame(i, b, s, c, err):
        if det_file is None:
            return
        rec = {
            "frame": int(i),
            "boxes": [
                [*(round(float(v), 2) for v in bb), round(float(ss), 4), int(cc)]
                for bb, ss, cc in zip(b, s, c)
            ],
        }
        if err:
            rec["error"] = err
        det_file.write(json.dumps(rec) + "\n")

    def show(msg):
        print(f"\r{msg}", end="", file=sys.stderr, flush=True)

    try:
        st = pipe.run(source, sink, max_frames, on_frame, show if progress else None)
    finally:
        if progress:
            print(file=sys.stderr)
        source.close()
        sink.close()
        if det_file is not None:
            det_file.close()
        if pipe.acc is not None and accelerator is None:
            pipe.acc.close()
    st["output"] = str(output)
    st["output_frames"] = sink.frames
    if stats_json:
        Path(stats_json).write_text(json.dumps(st, indent=2) + "\n")
    return st
