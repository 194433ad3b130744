"""The build and verify flows behind the CLI (usable from Python as well)."""

from __future__ import annotations

import copy
import functools
import json
import math
import shutil
import time
from pathlib import Path

import numpy as np

from . import __version__
from .boards import Board, load_board
from .cost.io import io_bounds, io_target_cycles, predict, roofline
from .cost.model import estimate as layer_estimate
from .dataflow import Dataflow
from .errors import FoldingError, FpgagenError, VerificationError
from .fold import apply_folding_file, fold_to_cycles, folding_dict, target_cycles
from .fold.fifo import SizeSkipFIFOs
from .fold.optimize import DEFAULT_CAP, UnreachableTarget, optimize
from .fold.uram import WEIGHT_MODES, optimize_weights
from .frontend import load_model
from .layers.memory import check_board
from .outdir import check_output_folder, commit_build, os_error, staging_folder
from .transforms.base import apply_until_fixpoint
from .transforms.lower import lower
from .transforms.streams import InsertDWCs, InsertFIFOs
from .userio import check_output_file, load_array

__all__ = ["argmax_agree", "build", "estimate", "load_build", "make_dataflow", "verify"]

BACKENDS = ("rtl", "hls")
#: The board file a build was made for, copied into the build (verify uses it).
BOARD_FILE = "board.yaml"


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
    refuse_unreachable: bool = False,
    io: str = "memory",
    weights_uram: bool = False,
    weights: str | None = None,
) -> Dataflow:
    """Frontend + lowering + CPU/FPGA partition + folding + stream plumbing.

    ``cpu_layers`` (``auto``, ``none`` or layer names; :mod:`fpgagen.video.partition`):
    the layers kept on the processor; None means ``auto`` for a detector trained by
    ``fpgagen train --model tinier_yolo`` (ONNX metadata) and ``none`` otherwise.

    Folding: ``strategy="optimize"`` (default) runs the optimiser: with ``fps`` the cheapest
    balanced folding reaching it; without one the cheapest folding that reaches the I/O bound
    of the board (:func:`fpgagen.cost.io.io_bounds`, for ``io="memory"``: the kernel reads its
    input from and writes its output to memory) or, when that does not fit within
    ``max_util``, the highest throughput that does (with ``io="stream"`` there is no I/O
    bound: the highest throughput within ``max_util``). ``"simple"`` is the plain rule of
    :mod:`fpgagen.fold.simple`. A ``folding`` file or dict overrides layer by layer. A design
    that does not fit is refused, and so is an ``fps`` above what the memory path can carry
    (an ``fps`` above the host bound is built: the report says the host binds); with
    ``refuse_unreachable`` (the CLI), so is an ``fps`` no folding reaches (otherwise the
    simple rule takes the fastest folding).
    """
    graph = load_model(model_path)
    df = lower(graph)
    from .video.darknet import detector_meta
    from .video.partition import apply_partition

    apply_partition(df, cpu_layers, default_auto=detector_meta(model_path) is not None)
    clock = clock_mhz or board.default_mhz
    if refuse_unreachable and fps is not None and folding is None:
        _check_reachable(df, fps, clock, board)
    bounds = io_bounds(df, board, clock, io)
    df.meta["io"] = io
    if fps is not None and folding is None and bounds["memory_fps"] is not None:
        if fps > bounds["memory_fps"] * (1 + 1e-9):
            mem = next(b for b in bounds["bounds"] if b["name"] == bounds["memory_binding"])
            raise FpgagenError(
                f"{df.name}: {fps:,.0f} fps is more than the memory path of {board.name} can "
                f"carry at {clock:g} MHz: the I/O bound is {bounds['memory_fps']:,.0f} fps, "
                f"set by the {mem['name']} ({mem['why']}); ask for at most that, or give "
                "--io stream if the input comes from another core on chip"
            )
    if folding is not None:
        fold_to_cycles(df, target_cycles(df, None, clock))
        if isinstance(folding, dict):
            _apply_folding_dict(df, folding)
        else:
            _apply_folding_file(df, folding)
        check_board(df, board)
    elif strategy == "simple":
        fold_to_cycles(df, _cycles_for(df, fps, clock))
    elif strategy == "optimize":
        target = _cycles_for(df, fps, clock) if fps is not None else None
        goal = "fps" if fps is not None else "budget"
        res = None
        # planning with weights in UltraRAM (estimate --weights-uram; never a build)
        # --weights (fold.uram.optimize_weights): onchip, uram, external or auto
        mode = weights or ("uram" if weights_uram else None)
        if mode is not None and mode not in WEIGHT_MODES:
            raise FpgagenError(
                f"--weights {mode!r} is not a weight placement; use {', '.join(WEIGHT_MODES)}"
            )
        opt = optimize
        if mode is not None:
            # external weights cost bandwidth: compare placements by the predicted fps
            def rate(r, df=df):
                return predict(clock * 1e6 / r["cycles"], io_bounds(df, board, clock, io))["fps"]

            opt = functools.partial(optimize_weights, mode=mode, rate=rate)
        # the layers' folding options are computed once for every optimiser run below
        opt = functools.partial(opt, cap=max_util, plumbing=plumbed_totals, options_cache={})
        if target is None and bounds["io_fps"] is not None:
            # the default: the cheapest design that reaches the I/O bound, if it fits; when
            # no folding is that fast, compute binds: the fastest design within the budget
            try:
                res = opt(df, board, io_target_cycles(bounds, clock))
                goal = "io"
            except UnreachableTarget:
                res = None
            if res is not None and not res["fits"]:
                res, goal = None, "budget"
        if res is None:
            res = opt(df, board, target)
        if not res["fits"]:
            _refuse(df, board, clock, max_util, res)
        df.meta["optimizer"] = {
            "max_util": max_util,
            "limiting": res["limiting"],
            "target_fps": fps,
            "goal": goal,
        }
        if res.get("binding"):
            df.meta["optimizer"]["binding"] = res["binding"]
        if mode is not None:
            df.meta["optimizer"]["weights"] = mode
            df.meta["optimizer"]["uram_layers"] = res.get("uram_layers", [])
            df.meta["optimizer"]["external_layers"] = res.get("external_layers", [])
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


def _fastest(df) -> tuple[int, object]:
    """Cycles per frame of the fastest folding of every layer, and the layer that binds it."""
    worst, binding = 0, None
    for l in df.layers:
        opts = l.folding_options()
        if not opts:
            best = l.expected_cycles()
        else:
            saved = l.folding()
            best = None
            try:
                for combo in _product(opts):
                    if not l.folding_valid(**combo):
                        continue
                    l.set_folding(**combo)
                    c = l.expected_cycles()
                    best = c if best is None else min(best, c)
            finally:
                l.set_folding(**saved)
        if best > worst:
            worst, binding = best, l
    return worst, binding


def _product(opts: dict) -> list:
    out = [{}]
    for k, vals in opts.items():
        out = [dict(d, **{k: v}) for d in out for v in vals]
    return out


def _cycles_for(df, fps, clock: float) -> int:
    """Cycles per frame for an fps target: ``floor(clock / fps)``, exact for the fps that
    ``--target-cycles N`` stands for (``clock / (clock / N)`` may round to just below N)."""
    if fps is None:
        return target_cycles(df, None, clock)
    return max(1, _cycles_exact(fps, clock))


def _cycles_exact(fps, clock: float) -> int:
    return math.floor(clock * 1e6 / fps * (1 + 1e-12))


def _check_reachable(df, fps: float, clock: float, board: Board) -> None:
    """Refuse a throughput target no folding reaches, naming the highest reachable fps and
    the layer that binds it (at its fastest folding)."""
    need = _cycles_exact(fps, clock)
    fastest, layer = _fastest(df)
    if need >= fastest:
        return
    top = clock * 1e6 / fastest
    where = f"layer {layer.name} ({layer.op_type})" if layer is not None else "the design"
    raise FpgagenError(
        f"{df.name}: {fps:g} fps ({clock * 1e6 / fps:.3g} cycles per frame at {clock:g} MHz) "
        f"cannot be reached on {board.name}: the fastest foldable design needs {fastest} "
        f"cycles per frame, {top:,.0f} fps, bound by {where} at its fastest folding; ask for "
        f"at most {math.floor(top):d} fps (--target-cycles {fastest}) or raise --clock-mhz "
        f"(up to {board.max_mhz:g})"
    )


def _apply_folding_file(df, path) -> None:
    """Apply a --folding file; every error names the file."""
    try:
        apply_folding_file(df, path)
    except FpgagenError as e:
        msg = str(e)
        raise type(e)(msg if str(path) in msg else f"{path}: {msg}") from None
    except (TypeError, ValueError, AttributeError) as e:
        raise FoldingError(
            f"{path}: invalid folding ({e}); expected "
            '{"layers": {"<layer>": {"PE": <int>, "SIMD": <int>}}}'
        ) from None


def _apply_folding_dict(df, d):
    names = {l.name: l for l in df.layers}
    for k, v in d.get("layers", d).items():
        if k in names:
            v = dict(v)
            if "ram_style" in v:
                names[k].ram_style = v.pop("ram_style")
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
    io: str = "memory",
    weights: str | None = None,
) -> Dataflow:
    """``fpgagen build``: write OUTDIR atomically (a temporary folder moved into place).

    ``cpu_layers``: see :func:`make_dataflow`; a partitioned build or a detector also gets
    ``network.cfg`` (Darknet-style, the split marked) and its deploy folder runs the CPU
    layers. ``io``: ``"memory"`` (the kernel reads and writes DDR: the I/O bound applies) or
    ``"stream"`` (input and output on chip); see :func:`make_dataflow`. ``weights``: where the
    optimiser may put weight memories (``onchip``, ``uram``, ``external``, ``auto``;
    :func:`fpgagen.fold.uram.optimize_weights`)."""
    t0 = time.perf_counter()
    board = load_board(board_name)
    _check_clock(board, clock_mhz)
    if fps is not None and folding is not None:
        raise FpgagenError("give either --fps or --folding, not both")
    if backend not in BACKENDS + ("both",):
        raise FpgagenError(f"unknown backend {backend!r}; use rtl, hls or both")
    inputs = [model_path, board.path]
    if folding is not None and not isinstance(folding, dict):
        inputs.append(folding)
    outdir = check_output_folder(outdir, inputs, content="build")
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
        refuse_unreachable=True,
        io=io,
        weights=weights,
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
    with staging_folder(outdir) as tmp:
        try:
            kept = _write_build(df, tmp, outdir, model_path, board, backend, max_util, progress, t0)
        except OSError as e:
            raise os_error(e, str(outdir), staging=tmp, outdir=outdir) from None
    if kept:
        progress(
            f"kept {len(kept)} file(s) of yours from the earlier build in {outdir}: "
            + ", ".join(kept[:5])
            + (" ..." if len(kept) > 5 else "")
        )
    rf = roofline(df, board)
    progress(
        f"wrote {outdir}: {df.expected_cycles()} cycles/frame expected "
        f"({rf['compute_fps']:,.0f} fps at {df.meta['clock_mhz']:g} MHz); predicted "
        f"{rf['predicted_fps']:,.0f} fps, bound by {rf['binds']}"
    )
    return df


def _copy_model(src, dst: Path) -> None:
    """Copy the model into the build, with external tensor data embedded."""
    import onnx

    m = onnx.load(str(src), load_external_data=False)
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in m.graph.initializer):
        onnx.save(onnx.load(str(src)), str(dst))
    else:
        shutil.copyfile(src, dst)


def _write_build(df, tmp, outdir, model_path, board, backend, max_util, progress, t0) -> list:
    """Write every build file into ``tmp`` and move it to ``outdir`` (see
    :func:`fpgagen.outdir.commit_build`); returns the files of the user's that were kept."""
    _copy_model(model_path, tmp / "model.onnx")
    if board.path is not None:
        shutil.copyfile(board.path, tmp / BOARD_FILE)
    from .video.darknet import detector_meta, write_network_cfg

    det = detector_meta(model_path)
    if det is not None or df.cpu_head or df.cpu_tail:
        write_network_cfg(df, tmp, det)
    from .codegen.rtl import write_rtl

    backends = []
    rtl_info = hls_info = kernel_info = kernel_hls_info = None
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
            from .codegen.kernel import write_kernel_hls

            kernel_hls_info = write_kernel_hls(
                df, tmp, board.kernel.bus_bits, board.part, df.meta["clock_mhz"]
            )
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
            "board_file": BOARD_FILE if board.path is not None else None,
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
            "io": roofline(df, board),
            "kernel_hls": kernel_hls_info,
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
    return commit_build(tmp, outdir, __version__)


def _utilisation(df: Dataflow, board: Board) -> dict:
    tot = df.total_resources()
    r = board.resources
    return {
        "lut": tot["lut"] / r.lut,
        "ff": tot["ff"] / r.ff,
        "bram18": tot["bram18"] / max(1, r.bram18),
        "uram": tot.get("uram", 0) / max(1, r.uram),
        "dsp": tot["dsp"] / max(1, r.dsp),
    }


def load_build(outdir) -> tuple[Dataflow, dict]:
    """Re-create the dataflow of a build folder (from its model.onnx, board file and folding).

    A build folder that is incomplete or whose dataflow.json is damaged is refused with an
    :class:`FpgagenError` naming the file and what is wrong."""
    outdir = Path(outdir)
    meta_path = outdir / "dataflow.json"
    if not meta_path.is_file():
        raise FpgagenError(
            f"{outdir}: not an fpgagen build folder (no dataflow.json); run `fpgagen build` first"
        )
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as e:
        raise FpgagenError(
            f"{meta_path}: cannot be read ({' '.join(str(e).split())}); rebuild with "
            "`fpgagen build`"
        ) from None
    _check_meta(meta, meta_path)
    model = outdir / "model.onnx"
    if not model.is_file():
        raise FpgagenError(f"{model}: missing from the build folder; rebuild with `fpgagen build`")
    board_file = meta.get("board_file")
    if board_file:
        bf = outdir / board_file
        if Path(board_file).name != board_file or not bf.is_file():
            raise FpgagenError(
                f"{bf}: the board file of this build is missing; rebuild with `fpgagen build`"
            )
        board = load_board(str(bf))
    else:
        board = load_board(meta["board"])
    try:
        df = make_dataflow(
            model,
            board,
            folding=meta["folding"],
            clock_mhz=meta.get("clock_mhz"),
            fifo_depths=meta.get("fifo_depths"),
            cpu_layers=(meta.get("partition") or {}).get("cpu_layers", "none"),
            io=(meta.get("io") or {}).get("mode", "memory"),
        )
    except FpgagenError as e:
        raise type(e)(f"{outdir}: the build no longer loads: {e}") from None
    df.name = meta["name"]
    if [l.name for l in df.layers] != [l["name"] for l in meta["layers"]]:
        raise FpgagenError(f"{outdir}: dataflow.json does not match model.onnx; rebuild")
    return df, meta


def _check_meta(meta, path) -> None:
    """The fields of dataflow.json that verify relies on, with their types."""

    def bad(key, want):
        got = meta.get(key, "<missing>") if isinstance(meta, dict) else meta
        raise FpgagenError(
            f"{path}: {key!r} must be {want}, got {json.dumps(got)[:60]}; the build folder "
            "is damaged, rebuild with `fpgagen build`"
        )

    if not isinstance(meta, dict):
        bad("<top level>", "a JSON object")
    for key, typ, want in (
        ("name", str, "a string"),
        ("board", str, "a board name"),
        ("layers", list, "a list of layers"),
        ("folding", dict, "a folding object"),
    ):
        if not isinstance(meta.get(key), typ):
            bad(key, want)
    if not all(isinstance(l, dict) and isinstance(l.get("name"), str) for l in meta["layers"]):
        bad("layers", "a list of objects with a 'name'")
    fl = meta["folding"].get("layers", meta["folding"])
    if not isinstance(fl, dict) or not all(
        isinstance(v, dict)
        and all(
            (isinstance(x, str) and k == "ram_style") or (_is_int(x) and x >= 1)
            for k, x in v.items()
        )
        for v in fl.values()
    ):
        bad(
            "folding",
            '{"layers": {"<layer>": {"PE": n, "SIMD": n}}} with integers >= 1 (and a '
            "ram_style string)",
        )
    c = meta.get("clock_mhz")
    if c is not None and not (_is_num(c) and math.isfinite(c) and c > 0):
        bad("clock_mhz", "a positive number")
    fd = meta.get("fifo_depths")
    if fd is not None and not (
        isinstance(fd, dict) and all(_is_int(v) and v >= 1 for v in fd.values())
    ):
        bad("fifo_depths", "an object of integers >= 1")
    bk = meta.get("backends", [])
    if not isinstance(bk, list) or not all(isinstance(b, str) for b in bk):
        bad("backends", "a list of backend names")
    for key in ("rtl", "hls"):
        if meta.get(key) is not None and not isinstance(meta[key], dict):
            bad(key, "an object")
        if key in bk and not isinstance(meta.get(key), dict):
            bad(key, "an object (the build lists this backend)")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _load_inputs(path, option: str = "--inputs") -> np.ndarray:
    """A numeric, real, finite, non-empty array from a .npy file (one-line errors)."""
    return load_array(path, option)


def _output_path(path, inputs=()) -> Path:
    """Check a ``--save-outputs`` path before any simulation runs (never one of ``inputs``)."""
    return check_output_file(path, "--save-outputs", inputs)


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
    if backend not in ("golden", "kernel") + BACKENDS:
        raise FpgagenError(
            f"unknown backend {backend!r}; use golden, {', '.join(BACKENDS)} or kernel"
        )
    if save_outputs is not None:
        save_outputs = _output_path(save_outputs, (inputs, outputs))
    df, meta = load_build(outdir)
    x = _load_inputs(inputs)
    try:
        gold = df.golden(x)
    except FpgagenError as e:
        raise type(e)(f"--inputs {inputs}: {e}") from None
    produced = gold["hw_out"]  # what the checked backend produced (hardware output integers)
    n = gold["codes"].shape[0]
    report = {"backend": backend, "frames": n, "ok": True}
    if outputs is not None:
        y_ref = _load_inputs(outputs, "--outputs")
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
    needs = "rtl" if backend == "kernel" else backend
    if backend == "kernel" and "rtl" in meta.get("backends", ["rtl"]) and not meta.get("kernel"):
        raise FpgagenError(f"{outdir}: was built without the kernel; rebuild with --backend rtl")
    if backend != "golden" and needs not in meta.get("backends", ["rtl"]):
        raise FpgagenError(
            f"{outdir}: was built without the {needs} backend; rebuild with "
            f"--backend {needs} or --backend both"
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
        if meta.get("kernel_hls"):  # the HLS kernel top on dense buffers, as drivers call it
            from .sim.hls_kernel_csim import simulate_hls_kernel

            kout = simulate_hls_kernel(outdir, df, gold["codes"], meta["kernel_hls"])
            kmism = int(np.sum(np.any(kout != gold["hw_out"], axis=1)))
            report["kernel_mismatched_frames"] = kmism
            progress(
                f"hls kernel fpgagen_kernel (g++ C simulation, dense buffers): "
                f"{n - kmism}/{n} frames bit-exact"
            )
            if kmism:
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
    if backend == "kernel":
        from .sim.kernel_verify import verify_kernel

        kr = verify_kernel(outdir, df, gold, progress, stress)
        report["ok"] = report["ok"] and kr.pop("ok")
        produced = kr.pop("outputs")
        report.update(kr)
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
    """The fps target from --fps or --target-cycles (checked: finite, positive)."""
    if cycles is not None:
        if fps is not None:
            raise FpgagenError("give either --fps or --target-cycles, not both")
        if not _is_int(cycles) or cycles < 1:
            raise FpgagenError(f"--target-cycles must be an integer >= 1, got {cycles!r}")
        return clock_mhz * 1e6 / cycles
    if fps is not None and not (_is_num(fps) and math.isfinite(fps) and fps > 0):
        raise FpgagenError(f"--fps must be positive, got {fps!r}; give frames per second")
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
    io: str = "memory",
    weights_uram: bool = False,
    weights: str | None = None,
) -> dict:
    """``fpgagen estimate``: per-layer cycles and resources without writing anything.

    ``weights_uram``: plan weights in UltraRAM while BRAM binds (:mod:`fpgagen.fold.uram`);
    the layers moved are listed in ``d["optimizer"]["uram_layers"]``."""
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
        refuse_unreachable=True,
        io=io,
        weights_uram=weights_uram,
        weights=weights,
    )
    d = df.to_dict(clock_mhz=df.meta["clock_mhz"])
    if "optimizer" in df.meta:
        d["optimizer"] = df.meta["optimizer"]
    d["board"] = board.name
    d["utilisation"] = _utilisation(df, board)
    from .report import make_report

    d["report"] = make_report(df, board, df.meta["clock_mhz"], cap=max_util)
    return d
