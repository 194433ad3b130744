"""``fpgagen run``: a deploy folder on a device, inputs from and outputs to .npy files."""

from __future__ import annotations

import numpy as np

from ..errors import DeployError
from .accelerator import Accelerator

__all__ = ["run_command"]


def _load(path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DeployError(f"{path}: no such file") from None
    except Exception as e:
        raise DeployError(f"{path}: not a .npy array file ({type(e).__name__})") from None


def run_command(deploy, inputs, device="auto", output=None, throughput=None, out=print) -> int:
    """Run ``inputs`` (.npy) through the deploy folder on ``device``; write ``output``
    (.npy, ONNX output layout) or print the outputs; with ``throughput`` also time N frames."""
    x = _load(inputs)
    with Accelerator(deploy, device=device) as acc:
        y = acc.run(x)
        if output:
            np.save(output, y)
            out(f"{len(y)} frames on device {acc.device.name}: outputs {y.shape} -> {output}")
        else:
            out(f"{len(y)} frames on device {acc.device.name}: outputs {y.shape}")
            with np.printoptions(threshold=200, precision=6):
                out(str(y))
        if throughput:
            r = acc.throughput(throughput)
            s = r["seconds"]
            line = (
                f"throughput on {r['device']}: {r['frames']} frames, {r['fps_kernel']:,.1f} fps "
                f"kernel, {r['fps_end_to_end']:,.1f} fps end to end; seconds: "
                + ", ".join(f"{k} {v:.6f}" for k, v in s.items())
            )
            if "cycles" in r:
                line += f"; {r['cycles']} cycles = {r['fps_at_clock']:,.0f} fps at the clock"
            out(line)
    return 0
