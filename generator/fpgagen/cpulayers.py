"""The layers of a partitioned build that run on the processor, in vectorised numpy.

A build split by :mod:`fpgagen.video.partition` keeps some hardware layers on the CPU: the
*CPU head* between the host head's input quantizer and the accelerator, the *CPU tail*
between the accelerator and the host tail (e.g. Tinier-YOLO's 8-bit first 3x3 convolution
and last 1x1 convolution). Each is a list of specs of generic integer operations (JSON-able
dicts ``{"op", "name", ...}``, arrays named into a constants dict) that each hardware layer
describes itself with (its ``cpu_spec``), computed on integer codes exactly as fpgagen's
golden model computes the same hardware layers:

* ``pad`` ``{ifm_h, ifm_w, ch, pads: [top, left, bottom, right], value}``: a constant border
* ``window`` ``{ifm_h, ifm_w, ch, kernel: [kh, kw], stride: [sh, sw]}``: the sliding windows
  in (kh, kw, ch) order, as the SWU streams them
* ``matmul`` ``{weights, thresholds | null, out_bias, bipolar_out, xnor_popcount, exact}``:
  ``acc = x @ W.T`` (``W`` the accumulator weights, group multipliers included; XNOR layers
  count agreeing pairs: ``(MW + dot) // 2``), then the multi-threshold activation
  ``out_bias + #{k : acc >= T[c, k]}`` (``2 * count - 1`` for a BIPOLAR output) or the raw
  accumulator
* ``threshold`` ``{thresholds, out_bias, bipolar_out}``: the multi-threshold activation alone
* ``pool`` ``{mode: max | avg, k, ch, bipolar_in}``: max or sum over each ``k`` elements

Values travel as ``(N, elements)`` integer arrays in the streaming order (NHWC, channels
innermost); :func:`run_layers` returns int64. The products use float32 BLAS when every partial sum stays below 2^24 in
magnitude (``exact: f32``, decided from the weights and input range at build time), else
float64 (below 2^53), else int64: always exact.

Numpy only: this module is vendored into a build's ``deploy/`` folder.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CpuLayerError", "run_layers", "spec_const_names"]

OPS = ("pad", "window", "matmul", "threshold", "pool")


class CpuLayerError(ValueError):
    """Bad CPU-layer spec or input (one-line message)."""


def spec_const_names(layers) -> list:
    """Names of the constant arrays ``layers`` read."""
    names = []
    for s in layers:
        for key in ("weights", "thresholds"):
            if s.get(key):
                names.append(s[key])
    return names


def _thresholds(acc, t, out_bias, bipolar_out):
    """Multi-threshold count per channel (last axis), as the golden model computes it.

    A float32 accumulator (exact integers below 2^24) is compared with the thresholds as
    float32, clipped to +-2^24 (beyond the reachable range the comparison is the same), and
    counted in int16: the same integers, at a quarter of the memory traffic of int64."""
    if acc.dtype == np.float32:
        t = np.clip(t, -(2**24), 2**24).astype(np.float32)
    small = t.shape[1] < 2**15
    cnt = np.zeros(acc.shape, dtype=np.int16 if small else np.int64)
    for k in range(t.shape[1]):  # thresholds are ascending: one compare per level
        cnt += acc >= t[:, k]
    if bipolar_out:
        return 2 * cnt.astype(np.int64) - 1
    return cnt + out_bias if out_bias else cnt


def _matmul(x, w, exact):
    """``x @ w.T``, exact: float32 (returned as float32 integers), float64 or int64."""
    if exact == "f32":
        return x.astype(np.float32) @ w.T.astype(np.float32)
    if exact == "f64":
        return np.rint(x.astype(np.float64) @ w.T.astype(np.float64)).astype(np.int64)
    return x.astype(np.int64) @ w.T


def run_layer(v: np.ndarray, s: dict, consts: dict) -> np.ndarray:
    """One layer: ``(N, elements)`` -> ``(N, elements)``."""
    n = v.shape[0]
    op = s["op"]
    if op == "pad":
        t, l, b, r = s["pads"]
        img = v.reshape(n, s["ifm_h"], s["ifm_w"], s["ch"])
        out = np.pad(img, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=s["value"])
        return out.reshape(n, -1)
    if op == "window":
        kh, kw = s["kernel"]
        sh, sw = s["stride"]
        h, w, c = s["ifm_h"], s["ifm_w"], s["ch"]
        oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
        img = v.reshape(n, h, w, c)
        win = np.lib.stride_tricks.sliding_window_view(img, (kh, kw), axis=(1, 2))
        win = win[:, : (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw]  # n, oh, ow, c, kh, kw
        return np.ascontiguousarray(win.transpose(0, 1, 2, 4, 5, 3)).reshape(n, -1)
    if op == "matmul":
        w = consts[s["weights"]]
        mh, mw = w.shape
        x = v.reshape(-1, mw)
        acc = _matmul(x, w, s.get("exact", "f64"))
        if s.get("xnor_popcount"):
            acc = (mw + acc) // 2  # exact on float32 integers as well (same parity as MW)
        if s.get("thresholds"):
            acc = _thresholds(
                acc, consts[s["thresholds"]], int(s["out_bias"]), bool(s["bipolar_out"])
            )
        elif acc.dtype != np.int64:
            acc = np.rint(acc).astype(np.int64)
        return acc.reshape(n, -1)
    if op == "threshold":
        t = consts[s["thresholds"]]
        x = v.reshape(n, -1, t.shape[0])
        return _thresholds(x, t, int(s["out_bias"]), bool(s["bipolar_out"])).reshape(n, -1)
    if op == "pool":
        x = v.reshape(n, -1, int(s["k"]), int(s["ch"])).astype(np.int64)
        if s["mode"] == "max":
            return x.max(axis=2).reshape(n, -1)
        if s.get("bipolar_in"):
            x = (x + 1) // 2
        return x.sum(axis=2).reshape(n, -1)
    raise CpuLayerError(f"CPU layer {s.get('name', '?')}: op {op!r} is not one of {OPS}")


def run_layers(v, layers, consts: dict) -> np.ndarray:
    """Run a list of layer specs on integer codes ``(N, elements)``; returns ``(N, elements)``."""
    v = np.asarray(v)
    if v.ndim != 2:
        raise CpuLayerError(f"CPU layers take codes of shape (N, elements), got {v.shape}")
    for s in layers:
        v = run_layer(v, s, consts)
    return np.asarray(v, dtype=np.int64)
