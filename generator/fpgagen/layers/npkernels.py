"""Fast numpy kernels of the golden model (numpy only, no layer classes).

The golden model must be bit-exact *and* fast enough to check whole batches. The layer
classes keep a plain int64 implementation (``execute_reference``) next to the fast one
(``execute``), which calls the kernels here:

* integer matrix products as one float GEMM (BLAS) whenever the float result is provably the
  exact integer (see :func:`exact_float_dtype`);
* thresholds compared in the accumulator's float domain (clipped so that they stay exact),
  or by one global ``searchsorted`` over all channels when there are many of them;
* streams kept in the narrowest integer dtype that holds their values (:func:`int_dtype`),
  so sliding windows copy 1 byte per element instead of 8;
* XNOR-popcount on packed bits (:func:`xnor_popcount_packed`), the hardware's own arithmetic,
  as a second independent oracle of the binary layers.

Exactness argument (docs/benchmarks.md, "Golden model"): all operands are integers. Let
``B = max_o sum_k |w[o, k]| * max|x|``. Every product ``w[o, k] * x[k]`` and every partial sum
of any subset of them, in any order and with or without fused multiply-add, is an integer of
magnitude at most ``B``. IEEE binary32 represents every integer of magnitude up to ``2**24``
exactly, binary64 up to ``2**53``; when all operands and all intermediate results are
representable, each rounded operation returns the exact result, so the GEMM returns exactly
the integer matrix product. Hence float32 when ``B < 2**24``, float64 when ``B < 2**53``
(strict, so that thresholds clipped to ``B + 1`` stay exact too), and int64 arithmetic
otherwise.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "AccumulatorPlan",
    "abs_bound",
    "count_thresholds",
    "exact_float_dtype",
    "gemm_exact",
    "int_dtype",
    "pack_bipolar",
    "xnor_popcount_packed",
]

_INT_TYPES = (np.int8, np.int16, np.int32, np.int64)

#: rows of the left operand converted to float and multiplied per step (bounded temporaries)
_CHUNK_ELEMS = 1 << 22


def int_dtype(lo: int, hi: int) -> np.dtype:
    """Narrowest signed numpy integer dtype holding every integer in ``[lo, hi]``."""
    for t in _INT_TYPES:
        info = np.iinfo(t)
        if info.min <= lo and hi <= info.max:
            return np.dtype(t)
    raise OverflowError(f"[{lo}, {hi}] does not fit in int64")


def exact_float_dtype(bound: int) -> np.dtype | None:
    """Float dtype in which integers of magnitude ``<= bound + 1`` are exact, else None."""
    if bound < 2**24:
        return np.dtype(np.float32)
    if bound < 2**53:
        return np.dtype(np.float64)
    return None


def abs_bound(w: np.ndarray, x_lo: int, x_hi: int) -> int:
    """``max_o sum_k |w[o, k]| * max(|x_lo|, |x_hi|)``: a bound on every partial sum of
    ``w @ x`` for inputs in ``[x_lo, x_hi]`` (exact Python integers, no overflow)."""
    xm = max(abs(int(x_lo)), abs(int(x_hi)))
    if w.size == 0 or xm == 0:
        return 0
    rows = np.abs(np.asarray(w, dtype=np.int64))
    if int(rows.max()) * w.shape[-1] * xm < 2**62:
        return int(rows.sum(axis=-1).max()) * xm
    return max(sum(int(v) for v in r) for r in rows.reshape(-1, w.shape[-1])) * xm


def gemm_exact(x: np.ndarray, wt: np.ndarray, bound: int, post=None) -> np.ndarray:
    """Exact integer product ``x @ wt`` for ``x`` ``(rows, K)`` and ``wt`` ``(K, M)``.

    ``wt`` must already be in the float dtype :func:`exact_float_dtype` chose for ``bound``
    (or int64 when None). The rows are processed in chunks; ``post(acc)`` maps each chunk's
    accumulator (integer-valued floats) to the output chunk (default: int64). Returns the
    stacked outputs.
    """
    rows, k = x.shape
    fdt = exact_float_dtype(bound)
    if fdt is None:
        acc = np.asarray(x, dtype=np.int64) @ wt
        return acc if post is None else post(acc)
    assert wt.dtype == fdt, (wt.dtype, fdt)
    step = max(1, _CHUNK_ELEMS // max(k, 1))
    out = None
    for r0 in range(0, rows, step):
        acc = x[r0 : r0 + step].astype(fdt) @ wt
        y = acc.astype(np.int64) if post is None else post(acc)
        if out is None:
            if r0 + step >= rows:
                return y
            out = np.empty((rows,) + y.shape[1:], dtype=y.dtype)
        out[r0 : r0 + step] = y
    if out is None:  # no rows at all
        acc = np.zeros((0, wt.shape[1]), dtype=fdt)
        return acc.astype(np.int64) if post is None else post(acc)
    return out


def count_thresholds(acc: np.ndarray, thr: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """``#{k : acc[..., c] >= thr[c, k]}`` for ascending rows of ``thr`` ``(C, N)``.

    ``acc`` holds integers in ``[lo, hi]`` (any int or integer-valued float dtype; channels on
    the last axis). Thresholds are clipped to ``[lo, hi + 1]`` (same counts for every value
    in range) and cast to ``acc``'s dtype, which must hold them exactly (callers guarantee it
    by choosing dtypes from the same bounds). Few thresholds: one vectorised comparison per
    threshold; many: one ``searchsorted`` over all channels at once (channel ``c``'s
    thresholds shifted into their own key block). Returns the counts, uint8/16/32 as needed.
    """
    c, n = thr.shape
    cnt_dt = np.uint8 if n < 2**8 else (np.uint16 if n < 2**16 else np.uint32)
    if n == 0:
        return np.zeros(acc.shape, dtype=cnt_dt)
    t = np.clip(np.asarray(thr, dtype=np.int64), lo, hi + 1)
    if np.issubdtype(acc.dtype, np.integer):
        need = int_dtype(lo, hi + 1)
        if np.iinfo(acc.dtype).max < hi + 1 or np.iinfo(acc.dtype).min > lo:
            acc = acc.astype(need)
    if n <= 8 or (not np.issubdtype(acc.dtype, np.integer) and n <= 32):
        tc = t.astype(acc.dtype)
        if n == 1:
            return (acc >= tc[:, 0]).view(np.uint8)
        cnt = np.zeros(acc.shape, dtype=cnt_dt)
        for j in range(n):
            cnt += acc >= tc[:, j]
        return cnt
    span = hi - lo + 2
    if span * c >= 2**62:  # pragma: no cover - keys would overflow: per-threshold compare
        cnt = np.zeros(acc.shape, dtype=cnt_dt)
        for j in range(n):
            cnt += acc >= t[:, j].astype(acc.dtype)
        return cnt
    base = np.arange(c, dtype=np.int64) * span
    flat = ((t - lo) + base[:, None]).ravel()
    keys = acc.astype(np.int64) - lo + base
    pos = np.searchsorted(flat, keys, side="right")
    return (pos - np.arange(c, dtype=np.int64) * n).astype(cnt_dt)


def pack_bipolar(x: np.ndarray) -> np.ndarray:
    """+-1 values ``(..., K)`` -> bits (1 for +1) packed into uint64 words ``(..., ceil(K/64))``
    (little-endian bit order; padding bits are 0)."""
    k = x.shape[-1]
    words = -(-k // 64)
    bits = np.packbits(np.asarray(x) > 0, axis=-1, bitorder="little")
    pad = words * 8 - bits.shape[-1]
    if pad:
        bits = np.concatenate([bits, np.zeros(bits.shape[:-1] + (pad,), np.uint8)], axis=-1)
    return np.ascontiguousarray(bits).view(np.uint64)


def _popcount(v: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # numpy >= 2
        return np.bitwise_count(v)
    lut = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
    return lut[v.view(np.uint8)].reshape(v.shape + (8,)).sum(axis=-1, dtype=np.uint8)


def xnor_popcount_packed(xp: np.ndarray, wp: np.ndarray, k: int) -> np.ndarray:
    """Agreeing pairs of +-1 vectors from packed bits: ``xp`` ``(rows, words)``, ``wp``
    ``(M, words)`` (from :func:`pack_bipolar` of ``K = k`` elements) -> int64 ``(rows, M)``
    counts ``k - popcount(x XOR w)``; both padding regions are 0 so they never disagree."""
    rows, words = xp.shape
    out = np.empty((rows, wp.shape[0]), dtype=np.int64)
    step = max(1, _CHUNK_ELEMS // max(wp.size, 1))
    for r0 in range(0, rows, step):
        d = _popcount(xp[r0 : r0 + step, None, :] ^ wp[None, :, :])
        out[r0 : r0 + step] = k - d.sum(axis=-1, dtype=np.int64)
    return out


class AccumulatorPlan:
    """Precomputed operands of one accumulate-then-threshold layer (MVAU or VVAU).

    ``w`` ``(M, K)``: the integer weights the accumulator is the product with (inputs as
    signed values, BIPOLAR as -1/+1); inputs lie in ``[x_lo, x_hi]``. ``popcount_len``: the
    accumulator is the XNOR popcount ``(L + dot) / 2`` of ``L`` +-1 pairs rather than the dot
    product itself. ``thresholds`` ``(M, N)`` ascending, or None for the raw accumulator
    (int64). Thresholded outputs are ``out_bias + count`` (or ``2 * count - 1`` when
    ``bipolar_out``) in the narrowest integer dtype holding them.
    """

    def __init__(
        self,
        w,
        x_lo: int,
        x_hi: int,
        *,
        popcount_len: int | None = None,
        thresholds=None,
        out_bias: int = 0,
        bipolar_out: bool = False,
    ):
        w = np.asarray(w, dtype=np.int64)
        self.bound = abs_bound(w, x_lo, x_hi)
        self.fdt = exact_float_dtype(self.bound)
        self.dt = self.fdt if self.fdt is not None else np.dtype(np.int64)
        self.wt = np.ascontiguousarray(w.T.astype(self.dt))  # (K, M)
        self.popcount_len = popcount_len
        self.thr = None
        if thresholds is not None:
            t = np.asarray(thresholds, dtype=np.int64)
            if popcount_len is not None:  # (L + dot) / 2 >= T  <=>  dot >= 2T - L
                t = 2 * t - popcount_len
            self.thr = t
            n = t.shape[1]
            self.out_dt = np.int8 if bipolar_out else int_dtype(out_bias, out_bias + n)
        self.out_bias, self.bipolar_out = int(out_bias), bipolar_out

    def post(self, dot: np.ndarray) -> np.ndarray:
        """Dot products (integer-valued, channels last) -> layer outputs."""
        if self.thr is None:
            if self.popcount_len is None:
                return dot.astype(np.int64)
            if self.fdt is None:
                return (dot + self.popcount_len) // 2
            return ((dot + self.popcount_len) * 0.5).astype(np.int64)
        cnt = count_thresholds(dot, self.thr, -self.bound, self.bound)
        if self.bipolar_out:
            y = cnt.astype(np.int8)
            y *= 2
            y -= 1
            return y
        y = cnt.astype(self.out_dt)
        if self.out_bias:
            y += self.out_dt.type(self.out_bias)
        return y

    def matmul(self, x: np.ndarray) -> np.ndarray:
        """``x`` ``(rows, K)`` integers -> outputs ``(rows, M)``."""
        return gemm_exact(x, self.wt, self.bound, self.post)

    def depthwise(self, x: np.ndarray) -> np.ndarray:
        """``x`` ``(rows, K, M)`` -> outputs ``(rows, M)`` with ``acc[r, m] = sum_k x[r, k, m]
        * w[m, k]`` (one vectorised multiply-add per window position ``k``)."""
        rows, k, m = x.shape
        step = max(1, _CHUNK_ELEMS // max(k * m, 1))
        outs = []
        for r0 in range(0, rows, step):
            xc = x[r0 : r0 + step]
            acc = np.zeros((xc.shape[0], m), dtype=self.dt)
            for j in range(k):
                acc += xc[:, j, :].astype(self.dt) * self.wt[j]
            outs.append(self.post(acc))
        if not outs:
            return self.post(np.zeros((0, m), dtype=self.dt))
        return outs[0] if len(outs) == 1 else np.concatenate(outs)
