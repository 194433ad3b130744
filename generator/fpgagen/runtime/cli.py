"""``fpgagen run``: a deploy folder on a device, inputs from and outputs to .npy files."""

from __future__ import annotations

import numpy as np

from .accelerator import Accelerator

__all__ = ["run_command"]


def run_command(deploy, inputs, device="auto", output=None, throughput=None, out=print) -> int:
    """Run ``inputs`` (.npy) through the deploy folder on ``device``; write ``output``
    (.npy, ONNX output layout) or print the outputs; with ``throughput`` also time N frames.
    The inputs must be a real, finite, non-empty array; ``output`` may not be the inputs."""
    from ..userio import check_output_file, load_array

    if output:
        check_output_file(output, "-o", (inputs,))
    x = load_array(inputs, "--inputs")
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
