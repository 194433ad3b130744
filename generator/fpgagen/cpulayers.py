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

A convolution (``[pad,] window, matmul``) runs fused, in bands of output rows: each band's
windows are built in the product's own type (float32 for ``f32``) straight from the padded
image, multiplied and thresholded while they are in cache, and the bands run on
:func:`cpu_threads` threads (numpy's BLAS and ufuncs release the GIL, so the board's four
cores share the work). Every output integer is computed exactly as the unfused layers
compute it, so the result is the same whatever the banding and the thread count.

Numpy only: this module is vendored into a build's ``deploy/`` folder.
"""

from __future__ import annotations

import os
import threading

import numpy as np

__all__ = ["CpuLayerError", "cpu_threads", "run_layers", "spec_const_names"]

#: output rows per band of a fused convolution (a 416-wide 3x3x3 layer: ~180 kB of float32
#: windows per band, within a Cortex-A53's 1 MB L2 with four bands in flight)
BAND_ROWS = 8
_POOL: list = [None, 0]
_POOL_LOCK = threading.Lock()


def cpu_threads() -> int:
    """Threads of the fused convolutions: ``FPGAGEN_CPU_THREADS`` if set, else the CPUs this
    process may use, at most 4 (the boards' quad Cortex-A53)."""
    env = os.environ.get("FPGAGEN_CPU_THREADS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise CpuLayerError(
                f"FPGAGEN_CPU_THREADS={env!r} is not a thread count; give an integer >= 1"
            ) from None
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(4, n))


def _pool(n: int):
    from concurrent.futures import ThreadPoolExecutor

    with _POOL_LOCK:
        if _POOL[0] is None or _POOL[1] != n:
            if _POOL[0] is not None:
                _POOL[0].shutdown(wait=False)
            _POOL[0] = ThreadPoolExecutor(n, thread_name_prefix="fpgagen-cpu")
            _POOL[1] = n
        return _POOL[0]


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


_COMPUTE_DTYPE = {"f32": np.float32, "f64": np.float64}


def _fused_conv(v, pad, win, mm, consts, threads):
    """``[pad,] window, matmul`` in bands of output rows on ``threads`` threads; the same
    integers as running the three layers one after the other."""
    n = v.shape[0]
    exact = mm.get("exact", "f64")
    ct = _COMPUTE_DTYPE.get(exact, np.int64)
    w = consts[mm["weights"]]
    mh, mw = w.shape
    kh, kw = win["kernel"]
    sh, sw = win["stride"]
    h, wd, c = win["ifm_h"], win["ifm_w"], win["ch"]
    if mw != kh * kw * c:
        raise CpuLayerError(
            f"CPU layer {mm.get('name', '?')}: {mw} weight columns for {kh}x{kw}x{c} windows"
        )
    oh, ow = (h - kh) // sh + 1, (wd - kw) // sw + 1
    if pad is not None:
        t, l, b, r = pad["pads"]
        src = v.reshape(n, pad["ifm_h"], pad["ifm_w"], pad["ch"]).astype(ct)
        img = np.pad(src, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=pad["value"])
    else:
        img = v.reshape(n, h, wd, c).astype(ct)
    thr = consts[mm["thresholds"]] if mm.get("thresholds") else None
    if thr is not None and ct is np.float32:
        thr = np.clip(thr, -(2**24), 2**24).astype(np.float32)
    out = np.empty((n, oh, ow, mh), dtype=np.int64)

    # channel-major inside a band: windows (K, P), accumulators (MH, P), so that each
    # threshold level is one long compare per channel rather than rows of MH elements
    wt = np.ascontiguousarray(w.astype(ct))
    if thr is not None:
        nt = thr.shape[1]
        cnt_t = np.int8 if nt < 127 else (np.int16 if nt < 2**15 else np.int64)
        levels = [np.ascontiguousarray(thr[:, k])[:, None] for k in range(nt)]
    xnor = bool(mm.get("xnor_popcount"))

    def band(job):
        i, r0, r1 = job
        rows = img[i, r0 * sh : (r1 - 1) * sh + kh]
        nr = r1 - r0
        x = np.empty((kh, kw, c, nr, ow), dtype=ct)
        for a in range(kh):
            for b in range(kw):
                sl = rows[a : a + (nr - 1) * sh + 1 : sh, b : b + (ow - 1) * sw + 1 : sw]
                x[a, b] = sl.transpose(2, 0, 1)
        acc = wt @ x.reshape(mw, nr * ow)  # (MH, P)
        if exact == "f64":
            acc = np.rint(acc)
        if xnor:
            acc = (mw + acc) // 2
        if thr is not None:
            cnt = np.zeros(acc.shape, dtype=cnt_t)
            for lv in levels:  # ascending thresholds: one compare per level
                np.add(cnt, acc >= lv, out=cnt, casting="unsafe")
            res = cnt.astype(np.int64)
            if mm["bipolar_out"]:
                res = 2 * res - 1
            elif int(mm["out_bias"]):
                res += int(mm["out_bias"])
        else:
            res = acc if acc.dtype == np.int64 else np.rint(acc)
        out[i, r0:r1] = res.T.reshape(nr, ow, mh)

    jobs = [(i, r0, min(oh, r0 + BAND_ROWS)) for i in range(n) for r0 in range(0, oh, BAND_ROWS)]
    if threads > 1 and len(jobs) > 1:
        for f in [_pool(threads).submit(band, j) for j in jobs]:
            f.result()
    else:
        for j in jobs:
            band(j)
    return out.reshape(n, -1)


def run_layers(v, layers, consts: dict, threads: int | None = None) -> np.ndarray:
    """Run a list of layer specs on integer codes ``(N, elements)``; returns ``(N, elements)``.

    ``[pad,] window, matmul`` sequences run fused in bands on ``threads`` threads (default
    :func:`cpu_threads`); the result does not depend on it."""
    v = np.asarray(v)
    if v.ndim != 2:
        raise CpuLayerError(f"CPU layers take codes of shape (N, elements), got {v.shape}")
    threads = cpu_threads() if threads is None else max(1, int(threads))
    i = 0
    while i < len(layers):
        s = layers[i]
        pad = s if s["op"] == "pad" else None
        j = i + (pad is not None)
        if (
            j + 1 < len(layers)
            and layers[j]["op"] == "window"
            and layers[j + 1]["op"] == "matmul"
            and (pad is None or _pad_feeds(pad, layers[j]))
        ):
            v = _fused_conv(v, pad, layers[j], layers[j + 1], consts, threads)
            i = j + 2
            continue
        v = run_layer(v, s, consts)
        i += 1
    return np.asarray(v, dtype=np.int64)


def _pad_feeds(pad: dict, win: dict) -> bool:
    t, l, b, r = pad["pads"]
    return (
        pad["ifm_h"] + t + b == win["ifm_h"]
        and pad["ifm_w"] + l + r == win["ifm_w"]
        and pad["ch"] == win["ch"]
    )
