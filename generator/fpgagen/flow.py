"""The build and verify flows behind the CLI (usable from Python as well)."""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from . import __version__
from .boards import Board, load_board
from .cost.model import estimate as layer_estimate
from .dataflow import Dataflow
from .errors import FpgagenError, VerificationError
from .fold import apply_folding_file, fold_to_cycles, folding_dict, target_cycles
from .fold.fifo import SizeSkipFIFOs
from .fold.optimize import DEFAULT_CAP, optimize
from .frontend import load_model
from .transforms.base import apply_until_fixpoint
from .transforms.lower import lower
from .transforms.streams import InsertDWCs, InsertFIFOs

__all__ = ["argmax_agree", "build", "estimate", "load_build", "make_dataflow", "verify"]

BACKENDS = ("rtl", "hls")


def add_plumbing(df: Dataflow) -> Dataflow:
    """FIFOs on every edge, DWCs where word sizes differ, skip-FIFO depths."""
    df, _ = InsertFIFOs().apply(df)
    apply_until_fixpoint(df, InsertDWCs())
    SizeSkipFIFOs().apply(df)
    return df


def plumbed_totals(df: Dataflow) -> dict:
    """Resource totals of ``df`` once FIFOs and DWCs are added (``df`` is not modified)."""
    twin = copy.copy(df)
    twin.layers = []
    for l in df.layers:
        c = copy.copy(l)
        c.ins, c.outs = list(l.ins), list(l.outs)
        twin.layers.append(c)
    return add_plumbing(twin).total_resources()


def make_dataflow(
    model_path,
    board: Board,
    fps=None,
    folding=None,
    clock_mhz=None,
    fifo_depths: dict | None = None,
    strategy: str = "optimize",
    max_util: float = DEFAULT_CAP,
    progress=None,
    cpu_layers: str | None = None,
) -> Dataflow:
    """Frontend + lowering + CPU/FPGA partition + folding + stream plumbing.

    ``cpu_layers`` (``auto``, ``none`` or layer names; :mod:`fpgagen.video.partition`):
    the layers kept on the processor; None means ``auto`` for a detector trained by
    ``fpgagen train --model tinier_yolo`` (ONNX metadata) and ``none`` otherwise.

    Folding: ``strategy="optimize"`` (default) runs the optimiser: with ``fps`` the cheapest
    balanced folding reaching it, without one the highest throughput within ``max_util`` of
    the board; ``"simple"`` is the plain rule of :mod:`fpgagen.fold.simple`. A ``folding``
    file or dict overrides layer by layer. A design that does not fit is refused.
    """
    graph = load_model(model_path)
    df = lower(graph)
    from .video.darknet import detector_meta
    from .video.partition import apply_partition

    apply_partition(df, cpu_layers, default_auto=detector_meta(model_path) is not None)
    clock = clock_mhz or board.default_mhz
    if folding is not None:
        fold_to_cycles(df, target_cycles(df, None, clock))
        if isinstance(folding, dict):
            _apply_folding_dict(df, folding)
        else:
            apply_folding_file(df, folding)
    elif strategy == "simple":
        fold_to_cycles(df, target_cycles(df, fps, clock))
    elif strategy == "optimize":
        target = target_cycles(df, fps, clock) if fps is not None else None
        res = optimize(df, board, target, cap=max_util, plumbing=plumbed_totals)
        if not res["fits"]:
            _refuse(df, board, clock, max_util, res)
        df.meta["optimizer"] = {
            "max_util": max_util,
            "limiting": res["limiting"],
            "target_fps": fps,
        }
    else:
        raise FpgagenError(f"unknown folding strategy {strategy!r}; use optimize or simple")
    add_plumbing(df)
    if fifo_depths:
        for l in df.layers:
            if l.buffer_depth is not None and l.name in fifo_depths:
                l.buffer_depth = int(fifo_depths[l.name])
    df.meta["clock_mhz"] = clock
    return df


def _refuse(df, board, clock, cap, res) -> None:
    """The design does not fit: print a per-layer breakdown, raise with the best fps."""
    best = copy.deepcopy(df)
    alt = optimize(best, board, None, cap=cap, plumbing=plumbed_totals)
    tot = res["totals"]
    print(
        f"{'layer':32s} {'type':14s} {'folding':16s} {'cycles':>9s} {'LUT':>9s} "
        f"{'BRAM18':>7s} {'URAM':>5s} {'DSP':>6s}"
    )
    for l in df.layers:
        r = layer_estimate(l)
        f = ",".join(f"{k}={v}" for k, v in l.folding().items())
        print(
            f"{l.name[:32]:32s} {l.op_type:14s} {f:16s} {l.expected_cycles():9d} "
            f"{r['lut']:9d} {r['bram18']:7d} {r['uram']:5d} {r['dsp']:6d}"
        )
    rb = board.resources
    print(
        f"{'total (with FIFOs/DWCs)':64s} {int(tot['lut']):9d} {int(tot['bram18']):7d} "
        f"{int(tot['uram']):5d} {int(tot['dsp']):6d}"
    )
    print(
        f"{'board ' + board.name + ' x ' + f'{cap:.0%}':64s} {int(cap * rb.lut):9d} "
        f"{int(cap * rb.bram18):7d} {int(cap * rb.uram):5d} {int(cap * rb.dsp):6d}"
    )
    if alt["fits"]:
        hint = (
            f"the highest throughput that fits is {clock * 1e6 / alt['cycles']:,.0f} fps "
            f"({alt['cycles']} cycles/frame at {clock:g} MHz)"
        )
    else:
        hint = "even the most folded design does not fit; choose a larger board"
    raise FpgagenError(
        f"{df.name}: the design does not fit {board.name} within {cap:.0%} utilisation "
        f"({res['limiting']} used); {hint}"
    )


def _apply_folding_dict(df, d):
    names = {l.name: l for l in df.layers}
    for k, v in d.get("layers", d).items():
        if k in names:
            names[k].set_folding(**v)


def _check_clock(board: Board, clock_mhz):
    if clock_mhz is not None and not 0 < clock_mhz <= board.max_mhz:
        raise FpgagenError(
            f"--clock-mhz {clock_mhz} is out of range for board {board.name}; "
            f"use a value in (0, {board.max_mhz:g}]"
        )


def build(
    model_path,
    board_name: str,
    outdir,
    fps=None,
    folding=None,
    clock_mhz=None,
    backend: str = "both",
    progress=print,
    max_util: float = DEFAULT_CAP,
    strategy: str = "optimize",
    target_cycles_: int | None = None,
    cpu_layers: str | None = None,
) -> Dataflow:
    """``fpgagen build``: write OUTDIR atomically (a temporary folder moved into place).

    ``cpu_layers``: see :func:`make_dataflow`; a partitioned build or a detector also gets
    ``network.cfg`` (Darknet-style, the split marked) and its deploy folder runs the CPU
    layers."""
    t0 = time.perf_counter()
    board = load_board(board_name)
    _check_clock(board, clock_mhz)
    if fps is not None and folding is not None:
        raise FpgagenError("give either --fps or --folding, not both")
    if backend not in BACKENDS + ("both",):
        raise FpgagenError(f"unknown backend {backend!r}; use rtl, hls or both")
    outdir = Path(outdir)
    if (
        outdir.exists()
        and not (outdir / "dataflow.json").is_file()
        and (not outdir.is_dir() or any(outdir.iterdir()))
    ):
        raise FpgagenError(
            f"{outdir}: exists and is not an fpgagen output folder; choose another -o"
        )
    fps = _fps_from(fps, target_cycles_, clock_mhz or board.default_mhz)
    df = make_dataflow(
        model_path,
        board,
        fps=fps,
        folding=folding,
        clock_mhz=clock_mhz,
        max_util=max_util,
        strategy=strategy,
        cpu_layers=cpu_layers,
    )
    part = df.meta.get("partition")
    if part and (part["cpu_head"] or part["cpu_tail"]):
        progress(
            f"CPU layers: {', '.join(part['cpu_head']) or '-'} before the FPGA, "
            f"{', '.join(part['cpu_tail']) or '-'} after it"
        )
    progress(
        f"lowered {model_path}: {len(df.compute_layers)} compute layers, {len(df.layers)} stages"
    )
    outdir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", dir=outdir.parent))
    try:
        shutil.copyfile(model_path, tmp / "model.onnx")
        from .video.darknet import detector_meta, write_network_cfg

        det = detector_meta(model_path)
        if det is not None or df.cpu_head or df.cpu_tail:
            write_network_cfg(df, tmp, det)
        from .codegen.rtl import write_rtl

        backends = []
        rtl_info = hls_info = kernel_info = None
        if backend in ("rtl", "both"):
            from .codegen.kernel import write_kernel

            rtl_info = write_rtl(df, tmp)
            kernel_info = write_kernel(df, tmp, board.kernel.bus_bits)
            backends.append("rtl")
        if backend in ("hls", "both"):
            from .codegen.hls import write_hls

            try:
                hls_info = write_hls(df, tmp, board.part, df.meta["clock_mhz"])
                backends.append("hls")
            except FpgagenError as e:
                if backend == "hls":
                    raise
                progress(f"note: HLS backend skipped: {e}")
        from .project import write_project

        project_info = write_project(df, board, tmp, backends)
        if project_info and project_info.get("note"):
            progress(f"note: {project_info['note']}")
        d = df.to_dict(clock_mhz=df.meta["clock_mhz"])
        d.update(
            {
                "project": project_info,
                "fpgagen_version": __version__,
                "board": board.name,
                "part": board.part,
                "utilisation": _utilisation(df, board),
                "folding": folding_dict(df),
                "fifo_depths": {
                    l.name: l.buffer_depth for l in df.layers if l.buffer_depth is not None
                },
                "backends": backends,
                "rtl": rtl_info,
                "hls": hls_info,
                "kernel": kernel_info,
                "build_seconds": round(time.perf_counter() - t0, 3),
            }
        )
        from .runtime.deploy import write_deploy

        if (tmp / "network.cfg").is_file():  # a detector: the video pipeline ships in deploy/
            from .video.darknet import write_deploy_video

            write_deploy_video(tmp)
        d["deploy"] = write_deploy(df, tmp, board, df.meta["clock_mhz"], d)
        (tmp / "dataflow.json").write_text(json.dumps(d, indent=2) + "\n")
        from .report import make_report, write_report

        write_report(make_report(df, board, df.meta["clock_mhz"], cap=max_util), tmp)
        (tmp / "folding.json").write_text(json.dumps(folding_dict(df), indent=2) + "\n")
        if outdir.exists():
            shutil.rmtree(outdir)
        tmp.rename(outdir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    progress(
        f"wrote {outdir}: {df.expected_cycles()} cycles/frame expected "
        f"({df.meta['clock_mhz'] * 1e6 / df.expected_cycles():,.0f} fps at "
        f"{df.meta['clock_mhz']:g} MHz)"
    )
    return df


def _utilisation(df: Dataflow, board: Board) -> dict:
    tot = df.total_resources()
    r = board.resources
    return {
        "lut": tot["lut"] / r.lut,
        "ff": tot["ff"] / r.ff,
        "bram18": tot["bram18"] / max(1, r.bram18),
        "dsp": tot["dsp"] / max(1, r.dsp),
    }


def load_build(outdir) -> tuple[Dataflow, dict]:
    """Re-create the dataflow of a build folder (from its model.onnx and folding)."""
    outdir = Path(outdir)
    meta_path = outdir / "dataflow.json"
    if not meta_path.is_file():
        raise FpgagenError(
            f"{outdir}: not an fpgagen build folder (no dataflow.json); run `fpgagen build` first"
        )
    meta = json.loads(meta_path.read_text())
    df = make_dataflow(
        outdir / "model.onnx",
        load_board(meta["board"]),
        folding=meta["folding"],
        clock_mhz=meta.get("clock_mhz"),
        fifo_depths=meta.get("fifo_depths"),
        cpu_layers=(meta.get("partition") or {}).get("cpu_layers", "none"),
    )
    df.name = meta["name"]
    if [l.name for l in df.layers] != [l["name"] for l in meta["layers"]]:
        raise FpgagenError(f"{outdir}: dataflow.json does not match model.onnx; rebuild")
    return df, meta


def _load_inputs(path) -> np.ndarray:
    p = Path(path)
    if not p.is_file():
        raise FpgagenError(f"{p}: no such file")
    try:
        return np.load(p, allow_pickle=False)
    except Exception as e:
        raise FpgagenError(f"{p}: not a .npy array file ({type(e).__name__})") from None


def _output_path(path) -> Path:
    """Check a ``--save-outputs`` path before any simulation runs."""
    p = Path(path)
    if p.suffix != ".npy":
        raise FpgagenError(f"--save-outputs {p}: the file name must end in .npy")
    if not p.parent.is_dir():
        raise FpgagenError(f"--save-outputs {p}: folder {p.parent} does not exist; create it first")
    if p.is_dir():
        raise FpgagenError(f"--save-outputs {p}: is a folder; give a .npy file name")
    return p


def _save_npy(path: Path, y: np.ndarray) -> None:
    """Write ``y`` to ``path`` through a temporary file (no half-written file on failure)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.save(f, y, allow_pickle=False)
        tmp.replace(path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise FpgagenError(f"--save-outputs {path}: cannot write ({e.strerror})") from None


def argmax_agree(y: np.ndarray, ref: np.ndarray, atol: float = 1e-4) -> bool:
    """True when every row's argmax is the same, up to ties.

    The hardware computes exact integers, so equal scores stay exactly equal and the first
    wins; a float executor breaks such ties by rounding noise. A row agrees when its argmax
    in ``y`` scores within ``atol`` of the best score in ``ref``.
    """
    y, ref = np.asarray(y).reshape(len(y), -1), np.asarray(ref).reshape(len(ref), -1)
    am = y.argmax(1)
    picked = ref[np.arange(len(ref)), am]
    return bool(np.all(picked >= ref.max(1) - atol * np.maximum(1.0, np.abs(ref).max(1))))


def verify(
    outdir,
    inputs,
    backend: str = "golden",
    outputs=None,
    progress=print,
    stress: bool = True,
    atol: float = 1e-4,
    save_outputs=None,
) -> dict:
    """``fpgagen verify``: compare a backend with the golden model (and ONNX outputs).

    With ``save_outputs`` (a ``.npy`` path) the checked backend's outputs are written there in
    the ONNX model's output layout and scale (the host tail applied to what the backend
    produced; for rtl the run without idle cycles and back-pressure), also when the backend
    disagrees with the golden model.
    """
    if backend not in ("golden",) + BACKENDS:
        raise FpgagenError(f"unknown backend {backend!r}; use golden or {', '.join(BACKENDS)}")
    if save_outputs is not None:
        save_outputs = _output_path(save_outputs)
    df, meta = load_build(outdir)
    x = _load_inputs(inputs)
    gold = df.golden(x)
    produced = gold["hw_out"]  # what the checked backend produced (hardware output integers)
    n = gold["codes"].shape[0]
    report = {"backend": backend, "frames": n, "ok": True}
    if outputs is not None:
        y_ref = _load_inputs(outputs)
        y = gold["y"]
        if y_ref.shape != y.shape:
            y_ref = y_ref.reshape(y.shape) if y_ref.size == y.size else y_ref
        if y_ref.shape != y.shape:
            raise FpgagenError(f"{outputs}: shape {y_ref.shape}, the model outputs {y.shape}")
        err = float(np.abs(y.astype(np.float64) - y_ref).max())
        same_arg = argmax_agree(y.reshape(n, -1), y_ref.reshape(n, -1), atol)
        report.update({"onnx_max_abs_err": err, "onnx_argmax_equal": same_arg})
        progress(
            f"golden vs ONNX outputs: max |err| {err:.3g}, argmax "
            f"{'identical' if same_arg else 'DIFFERENT'}"
        )
        if err > atol * max(1.0, float(np.abs(y_ref).max())) or not same_arg:
            report["ok"] = False
    if backend != "golden" and backend not in meta.get("backends", ["rtl"]):
        raise FpgagenError(
            f"{outdir}: was built without the {backend} backend; rebuild with "
            f"--backend {backend} or --backend both"
        )
    if backend == "hls":
        from .sim.hls_csim import simulate_hls

        out = simulate_hls(outdir, df, gold["codes"])
        produced = out
        mism = int(np.sum(np.any(out != gold["hw_out"], axis=1)))
        report["mismatched_frames"] = mism
        progress(f"hls (g++ C simulation): {n - mism}/{n} frames bit-exact")
        if mism:
            report["ok"] = False
    if backend == "rtl":
        from .sim.stitched import simulate

        res = simulate(outdir, df, gold["codes"], run_name="run_rtl")
        produced = res.outputs
        mism = int(np.sum(np.any(res.outputs != gold["hw_out"], axis=1)))
        exp = df.expected_cycles()
        report.update(
            {
                "mismatched_frames": mism,
                "cycles_per_frame": res.cycles_per_frame,
                "expected_cycles_per_frame": exp,
                "cycles_error": res.cycles_per_frame / exp - 1,
            }
        )
        progress(
            f"rtl: {n - mism}/{n} frames bit-exact; {res.cycles_per_frame:.1f} cycles/frame "
            f"measured, {exp} expected ({100 * (res.cycles_per_frame / exp - 1):+.1f}%)"
        )
        if mism:
            report["ok"] = False
        if stress:
            res2 = simulate(
                outdir,
                df,
                gold["codes"],
                idle=300,
                backpressure=300,
                seed=7,
                run_name="run_rtl_stress",
            )
            mism2 = int(np.sum(np.any(res2.outputs != gold["hw_out"], axis=1)))
            report["stress_mismatched_frames"] = mism2
            progress(
                f"rtl with 30% random idle input and 30% output back-pressure: "
                f"{n - mism2}/{n} frames bit-exact"
            )
            if mism2:
                report["ok"] = False
    if save_outputs is not None:
        y = df.host_tail(np.asarray(produced).reshape(gold["hw_out"].shape))
        _save_npy(save_outputs, y)
        report["saved_outputs"] = str(save_outputs)
        progress(f"wrote the {backend} outputs, shape {y.shape} {y.dtype}, to {save_outputs}")
    if not report["ok"]:
        raise VerificationError(
            f"{outdir}: backend {backend} disagrees with the golden model "
            f"({json.dumps({k: v for k, v in report.items() if k != 'ok'})})"
        )
    return report


def _fps_from(fps, cycles, clock_mhz):
    if cycles is not None:
        if fps is not None:
            raise FpgagenError("give either --fps or --target-cycles, not both")
        if cycles < 1:
            raise FpgagenError(f"--target-cycles must be >= 1, got {cycles}")
        return clock_mhz * 1e6 / cycles
    return fps


def estimate(
    model_path,
    board_name: str,
    fps=None,
    clock_mhz=None,
    max_util: float = DEFAULT_CAP,
    strategy: str = "optimize",
    target_cycles_: int | None = None,
    cpu_layers: str | None = None,
) -> dict:
    """``fpgagen estimate``: per-layer cycles and resources without writing anything."""
    board = load_board(board_name)
    _check_clock(board, clock_mhz)
    fps = _fps_from(fps, target_cycles_, clock_mhz or board.default_mhz)
    df = make_dataflow(
        model_path,
        board,
        fps=fps,
        clock_mhz=clock_mhz,
        max_util=max_util,
        strategy=strategy,
        cpu_layers=cpu_layers,
    )
    d = df.to_dict(clock_mhz=df.meta["clock_mhz"])
    d["board"] = board.name
    d["utilisation"] = _utilisation(df, board)
    from .report import make_report

    d["report"] = make_report(df, board, df.meta["clock_mhz"], cap=max_util)
    return d
