"""The fast golden model (``execute``, fpgagen.layers.npkernels) against the plain int64
reference (``execute_reference``) on every layer type, with random and extreme inputs."""

import numpy as np
import pytest
from fpgagen.datatypes import BIPOLAR, TERNARY, int_type, uint_type
from fpgagen.layers import npkernels
from fpgagen.layers.branch import AddStreams
from fpgagen.layers.conv import FMPadding, SlidingWindow
from fpgagen.layers.mvau import MVAU
from fpgagen.layers.pool import GlobalAccPool, LabelSelect, Pool
from fpgagen.layers.thresholding import Thresholding
from fpgagen.layers.vvau import VVAU


def _values(rng, dtype, shape, extreme=0.3):
    """Random values of ``dtype``, a fraction ``extreme`` of them at its minimum or maximum."""
    lo, hi = (-1, 1) if dtype.is_bipolar else (dtype.min, dtype.max)
    if dtype.is_bipolar:
        return rng.choice(np.array([-1, 1]), size=shape)
    v = rng.integers(lo, hi, size=shape, endpoint=True)
    m = rng.random(shape) < extreme
    v[m] = np.where(rng.random(int(m.sum())) < 0.5, lo, hi)
    return v


def _narrow(x, dtype):
    """The input as the fast path sees it from a previous layer: narrowest int dtype."""
    lo, hi = (-1, 1) if dtype.is_bipolar else (dtype.min, dtype.max)
    return x.astype(npkernels.int_dtype(lo, hi))


def _thresholds(rng, rows, n, acc_lo, acc_hi):
    """Ascending thresholds spread over (and a little beyond) the accumulator range,
    including duplicates and values exactly at the range ends."""
    t = rng.integers(acc_lo - 2, acc_hi + 3, size=(rows, n))
    t[rng.random((rows, n)) < 0.1] = acc_lo
    t[rng.random((rows, n)) < 0.1] = acc_hi
    return np.sort(t, axis=1)


def _agree(layer, x, in_dtype):
    want = layer.execute_reference(x)
    got = layer.execute(_narrow(x, in_dtype))
    assert want.dtype == np.int64
    np.testing.assert_array_equal(np.asarray(got, np.int64), want)
    assert np.asarray(got).shape == want.shape
    return want


# (in dtype, weight dtype, thresholds per channel: None = raw accumulator, out dtype)
MVAU_CASES = [
    (BIPOLAR, BIPOLAR, 1, BIPOLAR),  # XNOR-popcount, binary output
    (BIPOLAR, BIPOLAR, None, None),  # XNOR, raw popcount
    (BIPOLAR, BIPOLAR, 3, uint_type(2)),
    (uint_type(8), BIPOLAR, 1, BIPOLAR),  # first CNV layer
    (int_type(2), TERNARY, 3, int_type(2)),  # ternary weights, out_bias -2
    (uint_type(4), int_type(4), 15, uint_type(4)),  # many thresholds: searchsorted
    (int_type(8), int_type(8), None, None),  # wide raw accumulator
    (int_type(8), int_type(8), 255, uint_type(8)),
    (BIPOLAR, int_type(3), 1, BIPOLAR),
]


@pytest.mark.parametrize("case", range(len(MVAU_CASES)))
@pytest.mark.parametrize("grouped", [False, True])
def test_mvau_fast_equals_reference(case, grouped):
    in_dt, w_dt, n_thr, out_dt = MVAU_CASES[case]
    rng = np.random.default_rng(case + 10 * grouped)
    mh, mw = 12, 36
    w = _values(rng, w_dt, (mh, mw), extreme=0.5)
    kw = {}
    if grouped:
        kw["group_mult"] = rng.integers(1, 2**12, size=(mh, 4))
        kw["group_mult"][0] = 2**12 - 1  # extreme multipliers
    layer = MVAU("m", w, in_dt, w_dt, num_vectors=5, **kw)
    if n_thr is not None:
        lo, hi = layer.acc_range()
        bias = -2 if out_dt.signed and not out_dt.is_bipolar else 0
        layer.set_thresholds(
            _thresholds(rng, mh, n_thr, int(lo.min()), int(hi.max())), bias, out_dt
        )
    x = _values(rng, in_dt, (7, 5, mw))
    x[0] = in_dt.max if not in_dt.is_bipolar else 1  # whole frames at the extremes
    x[1] = in_dt.min if not in_dt.is_bipolar else -1
    want = _agree(layer, x, in_dt)
    assert len(np.unique(want)) > 1


def _bound(layer):
    return npkernels.abs_bound(layer.acc_weights(), layer.in_dtype.min, layer.in_dtype.max)


def test_mvau_float64_and_int64_paths():
    """Accumulators beyond 2^24 use float64, beyond 2^53 int64; both exact."""
    rng = np.random.default_rng(3)
    w = _values(rng, int_type(16), (4, 64), extreme=0.9)
    layer = MVAU("m", w, int_type(16), int_type(16), num_vectors=3)
    assert npkernels.exact_float_dtype(_bound(layer)) == np.float64
    _agree(layer, _values(rng, int_type(16), (5, 3, 64), extreme=0.9), int_type(16))
    w = _values(rng, int_type(30), (3, 8), extreme=1.0)
    layer = MVAU("m", w, int_type(30), int_type(30), num_vectors=2)
    assert npkernels.exact_float_dtype(_bound(layer)) is None
    _agree(layer, _values(rng, int_type(30), (4, 2, 8), extreme=1.0), int_type(30))


def test_float32_bound_is_the_exactness_limit():
    """At ``B = 2**24`` float32 is refused: an odd sum just above 2^24 would round."""
    assert npkernels.exact_float_dtype(2**24 - 1) == np.float32
    assert npkernels.exact_float_dtype(2**24) == np.float64
    assert npkernels.exact_float_dtype(2**53) is None
    x = np.array([[2**12] * 2**12 + [1]], dtype=np.int64)  # sum 2^24 + 1
    w = np.ones((x.shape[1], 1), dtype=np.int64)
    assert np.float32(2**24 + 1) == 2**24  # what float32 would do
    b = npkernels.abs_bound(w.T, 0, 2**12)
    got = npkernels.gemm_exact(x, w.astype(npkernels.exact_float_dtype(b)), b)
    assert int(got[0, 0]) == 2**24 + 1


@pytest.mark.parametrize(
    "in_dt,w_dt", [(BIPOLAR, BIPOLAR), (uint_type(4), TERNARY), (int_type(8), int_type(8))]
)
def test_vvau_fast_equals_reference(in_dt, w_dt):
    rng = np.random.default_rng(5)
    ch, k = 6, 9
    layer = VVAU("v", _values(rng, w_dt, (ch, k), extreme=0.5), in_dt, w_dt, num_vectors=4)
    _agree(layer, _values(rng, in_dt, (3, 4, k * ch)), in_dt)
    lo, hi = layer.acc_range()
    out = uint_type(2)
    layer.set_thresholds(_thresholds(rng, ch, 3, int(lo.min()), int(hi.max())), 0, out)
    _agree(layer, _values(rng, in_dt, (3, 4, k * ch)), in_dt)


@pytest.mark.parametrize(
    "in_dt,n,out_dt,bias",
    [
        (int_type(8), 1, BIPOLAR, 0),  # thresholds at 128 = max + 1 need a wider compare
        (int_type(8), 3, int_type(2), -2),
        (uint_type(8), 255, uint_type(8), 0),
        (int_type(12), 40, uint_type(6), 0),
        (BIPOLAR, 1, uint_type(1), 0),
    ],
)
def test_thresholding_fast_equals_reference(in_dt, n, out_dt, bias):
    rng = np.random.default_rng(n)
    lo, hi = (-1, 1) if in_dt.is_bipolar else (in_dt.min, in_dt.max)
    t = _thresholds(rng, 10, n, lo, hi)
    t[0, -1] = hi + 1  # never reached
    layer = Thresholding("t", t, in_dt, out_dt, bias, num_vectors=6)
    _agree(layer, _values(rng, in_dt, (4, 6, 10)), in_dt)


def test_count_thresholds_searchsorted_equals_compare():
    rng = np.random.default_rng(9)
    acc = rng.integers(-1000, 1001, size=(50, 7))
    t = _thresholds(rng, 7, 100, -1000, 1000)
    want = (acc[..., None] >= t).sum(-1)
    np.testing.assert_array_equal(npkernels.count_thresholds(acc, t, -1000, 1000), want)
    np.testing.assert_array_equal(
        npkernels.count_thresholds(acc.astype(np.float64), t, -1000, 1000), want
    )


@pytest.mark.parametrize("k", [1, 63, 64, 65, 576])
def test_xnor_popcount_packed_equals_gemm(k):
    rng = np.random.default_rng(k)
    x = rng.choice(np.array([-1, 1], np.int8), size=(33, k))
    w = rng.choice(np.array([-1, 1], np.int8), size=(5, k))
    x[0] = 1
    x[1] = -1
    got = npkernels.xnor_popcount_packed(npkernels.pack_bipolar(x), npkernels.pack_bipolar(w), k)
    np.testing.assert_array_equal(got, (k + x.astype(np.int64) @ w.T.astype(np.int64)) // 2)


@pytest.mark.parametrize("dt", [BIPOLAR, uint_type(8), int_type(4)])
def test_stream_layers_fast_equal_reference(dt):
    rng = np.random.default_rng(1)
    swu = SlidingWindow("s", dt, (7, 6), 3, (3, 2), (2, 1))
    _agree(swu, _values(rng, dt, (2, 42, 3)), dt)
    pad_value = dt.min if not dt.is_bipolar else -1
    pad = FMPadding("p", dt, (4, 5), 3, (1, 2, 0, 1), pad_value)
    _agree(pad, _values(rng, dt, (2, 20, 3)), dt)
    for mode in ("max", "sum"):
        pool = Pool("q", dt, 3, 4, mode, num_vectors=5)
        _agree(pool, _values(rng, dt, (2, 5, 12)), dt)
    gp = GlobalAccPool("g", dt, 3, 9)
    _agree(gp, _values(rng, dt, (2, 9, 3)), dt)
    if dt.is_bipolar:
        return  # AddStreams rejects BIPOLAR streams
    add = AddStreams("a", dt, 3, 4)
    a, b = _values(rng, dt, (2, 12)), _values(rng, dt, (2, 12))
    want = add.execute_streams([a, b])[0]
    got = add.execute_streams([_narrow(a, dt), _narrow(b, dt)])[0]
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(want, a + b)


def test_label_select_unsigned_scores():
    """Unsigned narrow scores (e.g. uint8 popcounts) rank like their int64 values."""
    layer = LabelSelect("l", uint_type(8), 10, 3)
    x = np.array([[[0, 255, 7, 255, 1, 0, 200, 3, 3, 9]]])
    np.testing.assert_array_equal(layer.execute(x.astype(np.uint8)), [[[1, 3, 6]]])
    _agree(layer, x, uint_type(8))


@pytest.mark.torch
@pytest.mark.parametrize("name", ["cnv_w2a2", "resnet_t4", "dwsep_w4a4"])
def test_networks_fast_equal_reference(name, cnn_onnx, cifar_like_samples):
    """Whole networks (multi-bit thresholds, residual add/duplicate, depthwise VVAU, padding,
    pooling): ``run_layers`` with the fast layers equals the all-reference run, per layer."""
    pytest.importorskip("torch")
    from fpgagen.boards import load_board
    from fpgagen.flow import make_dataflow
    from fpgagen.layers.base import HWLayer

    df = make_dataflow(cnn_onnx(name, 0), load_board("zcu104"))
    codes = df.hw_input(cifar_like_samples[:4])
    fast, ref = {}, {}
    df.run_layers(codes, fast)
    patched = [l for l in df.layers if type(l).execute_reference is not HWLayer.execute_reference]
    assert patched  # the networks do exercise the fast kernels
    for l in patched:
        l.execute = l.execute_reference
    try:
        df.run_layers(codes, ref)
    finally:
        for l in patched:
            del l.execute
    assert fast.keys() == ref.keys()
    for k in ref:
        np.testing.assert_array_equal(fast[k], ref[k], err_msg=k)
    assert len({tuple(r) for r in ref[df.layers[-1].name]}) > 1
