#!/usr/bin/env python3
"""Fit the cost model with cross-validation and check it on designs the fit never saw (issue 18).

    python benchmarks/cost/crossval.py fit [--write]      # fit, CV, hold-out, regimes, tops
    python benchmarks/cost/crossval.py fit [--markdown] [--cnv] [--cv N]

Data (all Yosys 0.70 ``synth_xilinx -family xcup`` through :func:`fpgagen.synth.synth_layer`):

* fit set: the regular sweep of ``calibrate.py`` (``cost_sweep.json``) and the ``train``,
  ``train2`` and ``regime`` sets of ``random_sweep.py`` (``cost_random.json``);
* hold-out set: the ``holdout`` set of ``random_sweep.py`` (seed committed before any fit),
  never in any fit;
* left-out regimes (``random_sweep.regime_of``: PE >= 32, more than 3 thresholds): the fit
  is repeated without every design of the regime, and checked on all designs of the regime
  (those of the fit set and of the hold-out set);
* the issue's eight rows and the random stitched tops (``cost_tops.json``): layers of complete
  builds and their stitched top levels, never in any fit; ``--cnv``: the layers of the three
  CNV builds of docs/cost_model.md (``synth_cnv_*.json``, needs torch).

The fit (per coefficient set, i.e. per ``layer.cost_coef``: the VVAU and Thresholding share the
MVAU's; and per resource) finds non-negative coefficients minimising the mean (``l1``, a linear
program) or the mean square (``l2``) of the relative error, whichever has the lower 5-fold
cross-validated error for that set; the out-of-fold residuals give the uncertainty band of
each layer type (:func:`bands`). ``--write`` regenerates
``generator/fpgagen/cost/_coef.py`` (COEF, BAND, BAND_SOFT, BAND_CORR, TOP_GLUE_PE) and writes
``benchmarks/results/cost_crossval.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "generator"))
sys.path.insert(0, str(HERE))

import calibrate  # noqa: E402
import random_sweep  # noqa: E402
import rom_context  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
OUT = RESULTS / "cost_crossval.json"
COEF_PY = ROOT / "generator" / "fpgagen" / "cost" / "_coef.py"

#: sets of the fit: the regular sweep, the random ``train`` .. ``train8`` sets (``train2``
#: more streaming layers, ``train3`` and ``train5`` fully unrolled MVAUs, ``train4`` the small
#: layer types, ``train6`` converters of integer ratios, ``train7`` one-PE MVAUs, ``train8``
#: label selects) and the ``regime`` set; never ``holdout``/``holdout2``/``regime2``, the
#: LATE_HOLDOUTS or the LATE_REGIMES
FIT_SOURCES = (
    "regular",
    "train",
    "train2",
    "train3",
    "train4",
    "train5",
    "train6",
    "train7",
    "train8",
    "train9",
    "regime",
)
#: hold-out sets drawn after the second, each committed before it was synthesized: (number,
#: word, seed)
LATE_HOLDOUTS = {
    "holdout3": (3, "third", 18015),
    "holdout4": (4, "fourth", 18016),
    "holdout5": (5, "fifth", 18017),
    "holdout6": (6, "sixth", 18019),
    "holdout7": (7, "seventh", 18021),
    "holdout8": (8, "eighth", 18023),
    "unrolled": (9, "fully unrolled (MVAU)", 18025),
    "unrolled2": (10, "second fully unrolled (MVAU)", 18027),
    "holdout9": (11, "ninth", 18028),
    "unrolled3": (12, "third fully unrolled (MVAU)", 18030),
    "holdout10": (13, "tenth", 18031),
    "unrolled4": (14, "fourth fully unrolled (MVAU)", 18033),
    "holdout11": (15, "eleventh", 18034),
    "holdout12": (16, "twelfth", 18037),
    "unrolled5": (17, "fifth fully unrolled (MVAU)", 18039),
    "holdout13": (18, "thirteenth", 18040),
    "romfed": (19, "ROM-fed (MVAU)", 18041),
    "holdout14": (20, "fourteenth", 18042),
    "unrolled6": (21, "sixth fully unrolled (MVAU)", 18044),
    "holdout15": (22, "fifteenth", 18045),
    "unrolled7": (23, "seventh fully unrolled (MVAU)", 18047),
    "holdout16": (24, "sixteenth", 18048),
    "unrolled8": (25, "eighth fully unrolled (MVAU)", 18050),
    "holdout17": (26, "seventeenth", 18052),
    "unrolled9": (27, "ninth fully unrolled (MVAU)", 18054),
    "dwcs": (28, "data-width converters (DWC)", 18055),
    "holdout18": (29, "eighteenth", 18056),
    "dwcs2": (30, "second data-width converters (DWC)", 18059),
    "holdout19": (31, "nineteenth", 18062),
    "holdout20": (32, "twentieth", 18065),
    "holdout21": (33, "twenty-first", 18067),
    "holdout22": (34, "twenty-second", 18069),
    "holdout23": (35, "twenty-third", 18071),
    "holdout24": (36, "twenty-fourth", 18073),
    "holdout25": (37, "twenty-fifth", 18075),
    "holdout26": (38, "twenty-sixth", 18077),
    "holdout27": (39, "twenty-seventh", 18079),
    "holdout28": (40, "twenty-eighth", 18082),
    "holdout29": (41, "twenty-ninth", 18084),
    "holdout30": (42, "thirtieth", 18086),
    "holdout31": (43, "thirty-first", 18088),
    "holdout32": (44, "thirty-second", 18090),
    "holdout33": (45, "thirty-third", 18092),
    "holdout34": (46, "thirty-fourth", 18094),
    "holdout35": (47, "thirty-fifth", 18096),
    "holdout36": (48, "thirty-sixth", 18098),
    "holdout37": (49, "thirty-seventh", 18100),
    "holdout38": (50, "thirty-eighth", 18102),
    "holdout39": (51, "thirty-ninth", 18104),
}
#: the regime set drawn with a late hold-out set (its designs join the hold-out set's own in
#: the left-out-regime check): ``regime3`` (seed 18018) with the fifth, ``regime4`` (18020)
#: with the sixth, ``regime5`` (18022) with the seventh
LATE_REGIMES = {
    "holdout5": "regime3",
    "holdout6": "regime4",
    "holdout7": "regime5",
    "holdout8": "regime6",
    "holdout9": "regime7",
    "holdout10": "regime8",
    "holdout11": "regime9",
    "holdout12": "regime10",
    "holdout14": "regime11",
    "holdout15": "regime12",
    "holdout16": "regime13",
    "holdout17": "regime14",
    "holdout18": "regime15",
    "holdout19": "regime16",
    "holdout20": "regime17",
    "holdout21": "regime18",
    "holdout22": "regime19",
    "holdout23": "regime20",
    "holdout24": "regime21",
    "holdout25": "regime22",
    "holdout26": "regime23",
    "holdout27": "regime24",
    "holdout28": "regime25",
    "holdout29": "regime26",
    "holdout30": "regime27",
    "holdout31": "regime28",
    "holdout32": "regime29",
    "holdout33": "regime30",
    "holdout34": "regime31",
    "holdout35": "regime32",
    "holdout36": "regime33",
    "holdout37": "regime34",
    "holdout38": "regime35",
    "holdout39": "regime36",
}
#: folds of the cross-validation and its seed
K_FOLDS, CV_SEED = 5, 18005
#: LUTs added to the denominator of a relative residual (tiny layers: a few LUTs of error
#: are not 50%); the band is relative to ``estimate + SOFT``
SOFT = 20
#: quantile of the out-of-fold |residuals| a layer's band covers
BAND_Q = 0.95
#: types with fewer out-of-fold points than this take the pooled band of all types
BAND_MIN_N = 6


# ------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------
class Row:
    """One synthesized layer: its layer object, features, Yosys counts and where it is from."""

    def __init__(self, rid, source, layer, yosys, spec=None):
        from fpgagen.cost import model

        self.id, self.source, self.layer, self.y = rid, source, layer, yosys
        self.spec = spec
        self.type = layer.op_type
        self.band_key = model.band_key(layer)  # the type, or "MVAU/unrolled"
        self.key = getattr(layer, "cost_coef", None) or layer.op_type
        self.f = model.features(layer)
        self.regimes = random_sweep.regime_of(spec) if spec else _regimes_of_layer(layer)
        self.grouped = "group" in self.f


def _regimes_of_layer(l) -> list[str]:
    spec = {"type": l.op_type, "pe": getattr(l, "pe", 1), "n_thres": 0}
    t = getattr(l, "thresholds", None)
    if t is not None and getattr(t, "ndim", 0) == 2:
        spec["n_thres"] = int(t.shape[1])
    return random_sweep.regime_of(spec)


def _load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {"designs": {}}


def layer_rows() -> list[Row]:
    rows = []
    for did, d in sorted(_load(calibrate.SWEEP)["designs"].items()):
        rows.append(Row(did, "regular", calibrate.build(d["spec"]), d["yosys"], d["spec"]))
    for did, d in sorted(_load(random_sweep.RANDOM)["designs"].items()):
        src = did.split("_")[1]  # train / train2 / holdout / regime / holdout2 / regime2
        rows.append(Row(did, src, calibrate.build(d["spec"]), d["yosys"], d["spec"]))
    return rows


def build_rows() -> tuple[list[Row], list[dict]]:
    """Layers of the stitched builds (issue rows, random tops) and the builds themselves."""
    import onnx
    from fpgagen import flow

    rows, tops = [], []
    data = _load(random_sweep.TOPS)["designs"]
    for bid, d in sorted(data.items()):
        spec = d["spec"]
        # re-create the build's dataflow (deterministic) to get the layer objects
        import tempfile

        tmp = Path(tempfile.mkdtemp(prefix="fpgagen_cv_"))
        m = random_sweep.mlp_model(
            spec["sizes"],
            spec["in_bits"],
            spec["in_signed"],
            spec["w_bits"],
            spec["act_bits"],
            spec["act_signed"],
            spec["seed"],
        )
        onnx.save(m, tmp / "model.onnx")
        from fpgagen.boards import load_board

        df = flow.make_dataflow(
            tmp / "model.onnx",
            load_board("zcu104"),
            folding=d["folding"],
            fifo_depths=d.get("fifo_depths"),
            io="stream",
        )
        by_name = {l.name: l for l in df.layers}
        lrows = []
        for e in d["layers"]:
            l = by_name.get(e["name"])
            if l is None or e.get("status") != "ok" or not e.get("actual"):
                continue
            r = Row(
                f"{bid}/{e['name']}", "issue" if bid.startswith("issue") else "top", l, e["actual"]
            )
            lrows.append(r)
        rows += lrows
        tops.append({"id": bid, "spec": spec, "rows": lrows, "top": d["top"], "layers": df.layers})
    return rows, tops


def cnv_builds():
    """``(path, record, dataflow)`` of each CNV build of docs/cost_model.md
    (``synth_cnv_*.json``), its dataflow re-created with the recorded folding (needs torch
    for the export)."""
    import tempfile

    from fpgagen.boards import load_board
    from fpgagen.flow import make_dataflow
    from fpgagen.models.cnn import make_cnn
    from fpgagen.models.export import export_qonnx_model

    work = Path(tempfile.mkdtemp(prefix="fpgagen_cv_cnv_"))
    for path in sorted(RESULTS.glob("synth_cnv_*.json")):
        d = json.loads(path.read_text())
        net = d["network"]
        onnx = work / f"{net}.onnx"
        if not onnx.exists():
            export_qonnx_model(make_cnn(net, seed=0).eval(), (1, 3, 32, 32), onnx)
        fold = {"layers": {e["name"]: e["folding"] for e in d["layers"] if e["folding"]}}
        yield path, d, make_dataflow(onnx, load_board(d["board"]), folding=fold)


def cnv_rows() -> list[Row]:
    """Compute layers of the CNV builds (:func:`cnv_builds`); default-script layers only."""
    rows = []
    for path, d, df in cnv_builds():
        by_name = {l.name: l for l in df.layers}
        for e in d["layers"]:
            l = by_name.get(e["name"])
            if l is None or e.get("status") != "ok" or not e.get("actual"):
                continue
            # FIFO depths and DWC shapes are not recorded in those files (the plumbing of
            # today's code may differ): compute layers with their recorded folding only
            # (folding parameters added since, e.g. PAR/MMV, must be at their default 1)
            fo = dict(l.folding())
            if getattr(l, "ram_style", "auto") != "auto":  # recorded like folding.json
                fo["ram_style"] = l.ram_style
            same = all(fo.get(k) == v for k, v in e["folding"].items()) and all(
                v == 1 for k, v in fo.items() if k not in e["folding"]
            )
            if l.plumbing or not same:
                continue
            # files written before the synth rows recorded ram_style lack the style the
            # build's optimiser chose: a layer whose re-created memory differs from the
            # build's estimate is another design
            from fpgagen.cost import model

            if e.get("estimate") and e["estimate"]["bram18"] != model.estimate(l)["bram18"]:
                continue
            rows.append(Row(f"{path.stem}/{e['name']}", "cnv", l, e["actual"]))
    return rows


# ------------------------------------------------------------------------------------------
# fitting
# ------------------------------------------------------------------------------------------
def _keys(rows, res) -> list[str]:
    ks = set()
    for r in rows:
        ks |= set(r.f[res])
    return sorted(ks)


def _fixed_part(r, res, fixed) -> float:
    """The part of row ``r``'s estimate that the fixed coefficients give."""
    fx = (fixed or {}).get(r.key, {}) if res == "lut" else {}
    return sum(c * r.f[res].get(k, 0.0) for k, c in fx.items())


def _matrix(rows, res, keys, fixed=None):
    X = np.array([[r.f[res].get(k, 0.0) for k in keys] for r in rows], dtype=float)
    y = np.array(
        [r.y[res] - _group_part(r, res) - _fixed_part(r, res, fixed) for r in rows], dtype=float
    )
    yy = np.array([r.y[res] for r in rows], dtype=float)
    return X, y, yy


def _group_part(r, res) -> float:
    """The grouped MVAU's extra terms (fixed GROUP_COEF, not fitted here)."""
    if not r.grouped:
        return 0.0
    from fpgagen.cost import model

    return sum(model.GROUP_COEF[res][k] * v for k, v in r.f["group"][res].items())


def _fit_l1(X, y, yy):
    """Non-negative coefficients minimising sum |X c - y| / (yy + SOFT) (a linear program)."""
    from scipy.optimize import linprog

    w = 1.0 / (np.maximum(yy, 0) + SOFT)
    A = X * w[:, None]
    b = y * w
    n, k = A.shape
    # variables: c (k), t (n) with -t <= A c - b <= t
    a_ub = np.block([[A, -np.eye(n)], [-A, -np.eye(n)]])
    b_ub = np.r_[b, -b]
    cost = np.r_[np.zeros(k), np.ones(n)]
    r = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=[(0, None)] * (k + n), method="highs")
    if r.status != 0:
        from scipy.optimize import nnls

        return nnls(A, b)[0]
    return r.x[:k]


def _fit_l2(X, y, yy):
    """Non-negative least squares on the relative error ``(X c - y) / (yy + SOFT)``."""
    from scipy.optimize import nnls

    w = 1.0 / (np.maximum(yy, 0) + SOFT)
    return nnls(X * w[:, None], y * w)[0]


#: hardware-nominal LUTs per unit of an MVAU feature (a counter, adder, comparator or
#: LUTRAM bit is about one LUT; a comparison with a constant or a product with a narrow or
#: constant operand about half of one; a ROM of <= 4 words merges into its consumer): the
#: prior that the ``prior`` fits shrink the coefficients towards, so that a feature few fit
#: designs exercise gets a physical value rather than whatever its few designs leave over
PRIOR = {
    "MVAU": {
        "ctrl": 1.0,
        "ibuf": 1.0,
        "wrom_small": 0.0,
        "wrom": 1.0,
        "wrom_deep": 1.0,
        "dot": 1.0,
        "tree_const": 1.0,
        "dsp": 1.0,
        "acc": 1.0,
        "act": 1.0,
        "act_rom": 1.0,
        "out": 0.5,
    },
    # streaming layers (rtl/pool.v, global_acc_pool.v, sliding_window.v, axis_fifo.v): a
    # mux, adder, comparator or counter bit is about one LUT (a LUT6 is a 4:1 mux), the
    # LUTs of LUTRAM cells count as they are; pool.v's ``sel`` is two muxes per output bit
    # (bypass + first element, skid buffer)
    "Pool": {"ctrl": 1.0, "sel": 2.0, "carry": 1.0, "cmp": 1.0, "mem": 1.0},
    "GlobalAccPool": {"ctrl": 1.0, "sel": 2.0, "carry": 1.0, "mem": 1.0},
    "SlidingWindow": {
        "walk": 1.0,
        "addr": 1.0,
        "lane": 1.0,
        "lutram": 1.0,
        "rdmux": 1.0,
        "width": 1.0,
        # a 1x1 window (rtl/window_decimate.v): its counters, and its handshake (a few LUTs)
        "dec_walk": 1.0,
        "dec_const": 3.0,
    },
    "FIFO": {"ctrl": 1.0, "mem": 1.0, "wrap": 1.0},
    "LabelSelect": {"cmp": 1.0, "mux": 1.0, "out": 1.0, "ctrl": 1.0},
}
# a fully unrolled MVAU (model.band_key "MVAU/unrolled") has a coefficient set of its own
# (MVAU.cost_coef "MVAU_unrolled"), with the same priors
PRIOR["MVAU_unrolled"] = dict(PRIOR["MVAU"], cdot=1.0)

#: features whose coefficient is not fitted: the sub-block costs that Yosys measured on the
#: blocks in isolation (benchmarks/cost/blocks.py) count as they are, the fit models the rest
#: (control, memories, accumulators, constant-weight products) and what the blocks leave over
FIXED = {
    "MVAU": {
        # a ROM of <= 4 words is a function of <= 2 address bits that merges into the LUTs
        # it feeds (PRIOR's 0): one training design exercises the feature, which the weak
        # prior fits let take 5 times the ROM table's LUTs (0.37 before the table's depth-4
        # point moved), against three held-out designs that want 0
        "wrom_small": 0.0,
        "dot": 1.0,
        "act": 1.0,
        "act_rom": 1.0,
        "wrom": 1.0,
        # a deep soft ROM costs more in its layer than alone: the median ratio of the two on
        # the fit designs that have one (rom_context.py: 1.02 .. 1.43, one 4-bit ROM 0.68)
        "wrom_deep": rom_context.context_factor(),
        "rdot": 1.0,
        "xdot": 1.0,
    }
}
FIXED["MVAU_unrolled"] = dict(FIXED["MVAU"])
# the gearbox of axis_dwc (pairs that are neither an integer ratio nor of a small lcm) keeps
# the coefficients fitted when every converter was one (the 44 training converters of the
# ninth session, commit 83c0a59): the RTL of the gearbox is unchanged, and since the
# whole-word paths (tenth session) only 4 training converters take it
FIXED["DWC"] = {"slots": 1.0, "ctrl": 1.4444, "buf": 0.0}
# the unload and collect parts (a chain is one of each) count as Yosys measured them on the
# converters alone (model.dwc_part_luts, blocks.py ``dwc``): no fitted term is left
FIXED["DWC"]["part"] = 1.0


def _fit_prior(lam: float, key: str, keys: list[str]):
    """Least squares of the relative error plus ``lam`` x the squared distance of each
    coefficient from :data:`PRIOR` (scaled by the feature's mean relative size), non-negative."""

    def f(X, y, yy):
        from scipy.optimize import nnls

        w = 1.0 / (np.maximum(yy, 0) + SOFT)
        A, b = X * w[:, None], y * w
        pri = PRIOR.get(key, {})
        rows, rhs = [], []
        for j, k in enumerate(keys):
            if k in pri:
                # the typical relative size of the feature where it occurs: a prior row
                # weighs as much as lam x n such designs, so a feature few designs exercise
                # stays near its prior
                nz = A[:, j][A[:, j] > 0]
                m = float(np.mean(nz)) if nz.size else 0.0
                if m > 0:
                    g = math.sqrt(lam * len(b)) * m
                    r = np.zeros(len(keys))
                    r[j] = g
                    rows.append(r)
                    rhs.append(g * pri[k])
        if rows:
            A, b = np.vstack([A, np.array(rows)]), np.r_[b, rhs]
        return nnls(A, b)[0]

    return f


FITTERS = {"l1": _fit_l1, "l2": _fit_l2}
#: prior strengths tried by :func:`choose_methods` (``prior0.1`` etc.)
PRIOR_LAMBDAS = (0.003, 0.01, 0.03, 0.1)


#: whether fit() keeps the FIXED coefficients (``--free-blocks`` fits them too, to compare)
USE_FIXED = True


def fit(rows, methods: dict | None = None) -> dict:
    """``{coef key: {res: {feature: coefficient}}}`` fitted on ``rows``; ``methods``: the
    fitter per coefficient set (``l1``: least mean relative error, ``l2``: least squares of
    the relative error; default ``l1``)."""
    coef: dict = {}
    by_key: dict = {}
    for r in rows:
        by_key.setdefault(r.key, []).append(r)
    for key, rr in sorted(by_key.items()):
        coef[key] = {}
        fixed = FIXED if USE_FIXED else {}
        for res in ("lut", "ff"):
            fx = fixed.get(key, {}) if res == "lut" else {}
            keys = [k for k in _keys(rr, res) if k not in fx]
            X, y, yy = _matrix(rr, res, keys, fixed)
            m = (methods or {}).get(key, "l1")
            if not keys:  # every coefficient fixed
                c = []
            elif m.startswith("prior"):
                c = _fit_prior(float(m[5:]), key, keys)(X, y, yy)
            else:
                c = FITTERS[m](X, y, yy)
            coef[key][res] = {k: round(float(v), 4) for k, v in zip(keys, c) if v > 1e-6}
            coef[key][res].update(fx)
    return coef


def choose_methods(rows) -> dict:
    """Per coefficient set, the fitter with the lower mean out-of-fold LUT error of a 5-fold
    cross-validation (the L1 fit is sparse and exact on many designs; with few designs per
    feature the L2 fit spreads the weight and generalises better)."""
    out = {}
    for key in sorted({r.key for r in rows}):
        rr = [r for r in rows if r.key == key]
        best = None
        cands = list(FITTERS) + ([f"prior{x}" for x in PRIOR_LAMBDAS] if key in PRIOR else [])
        for m in cands:
            oof = crossval(rr, methods={key: m})
            e = float(np.mean([abs(soft_rel(oof[r.id]["lut"], r.y["lut"])) for r in rr]))
            if best is None or e < best[0] - 1e-9:
                best = (e, m)
        out[key] = best[1]
    return out


def predict(r: Row, coef: dict) -> dict:
    """Estimate of row ``r`` with the coefficient set ``coef`` (as cost.model.estimate)."""
    out = {}
    c = coef.get(r.key)
    for res in ("lut", "ff"):
        if c is None:
            out[res] = float("nan")
            continue
        tot = sum(c[res].get(k, 0.0) * v for k, v in r.f[res].items()) + _group_part(r, res)
        out[res] = max(1, int(round(tot)))
    out["bram18"] = int(r.f["mem"]["bram18"])
    out["dsp"] = int(r.f["mem"]["dsp"])
    return out


def rel(e, a) -> float:
    return (e - a) / a if a else (0.0 if e == 0 else float("inf"))


def crossval(rows, k=K_FOLDS, seed=CV_SEED, methods=None) -> dict:
    """Out-of-fold LUT estimates ``{row id: estimate}`` of a k-fold CV (folds stratified by
    coefficient set)."""
    rng = np.random.default_rng(seed)
    fold = {}
    by_key: dict = {}
    for r in rows:
        by_key.setdefault(r.key, []).append(r)
    for rr in by_key.values():
        perm = rng.permutation(len(rr))
        for j, i in enumerate(perm):
            fold[rr[i].id] = j % k
    oof = {}
    for f in range(k):
        train = [r for r in rows if fold[r.id] != f]
        coef = fit(train, methods)
        for r in rows:
            if fold[r.id] == f:
                oof[r.id] = predict(r, coef)
    return oof


# ------------------------------------------------------------------------------------------
# bands
# ------------------------------------------------------------------------------------------
def soft_rel(e, a) -> float:
    return (e - a) / (a + SOFT)


def bands(rows, oof) -> dict:
    """LUT uncertainty band per layer type (``model.band_key``: the fully unrolled MVAUs
    apart): the BAND_Q quantile of the out-of-fold
    ``|est - yosys| / (yosys + SOFT)``, widened by ``1 + 1/sqrt(n)`` for ``n`` points (few
    points: a wider band); types with fewer than BAND_MIN_N points take the pooled quantile of
    all types, widened the same way."""
    res: dict = {}
    allr = [abs(soft_rel(oof[r.id]["lut"], r.y["lut"])) for r in rows]
    pooled = float(np.quantile(allr, BAND_Q))
    for t in sorted({r.band_key for r in rows}):
        rr = [abs(soft_rel(oof[r.id]["lut"], r.y["lut"])) for r in rows if r.band_key == t]
        n = len(rr)
        # with fewer designs than features the out-of-fold fits are degenerate: the pooled
        # quantile stands in
        q = float(np.quantile(rr, BAND_Q)) if n >= BAND_MIN_N else pooled
        res[t] = {"band": round(q * (1 + 1 / math.sqrt(n)), 4), "n": n}
    res["_pooled"] = {"band": round(pooled, 4), "n": len(allr)}
    return res


# ------------------------------------------------------------------------------------------
# evaluation
# ------------------------------------------------------------------------------------------
def _stats(errs, lim=0.15) -> dict:
    a = np.abs(np.asarray(errs, dtype=float))
    if not a.size:
        return {"n": 0}
    return {
        "n": int(a.size),
        "mean_abs_pct": round(100 * float(a.mean()), 1),
        "p95_abs_pct": round(100 * float(np.quantile(a, 0.95)), 1),
        "max_abs_pct": round(100 * float(a.max()), 1),
        f"within_{round(100 * lim)}pct": int((a <= lim + 1e-12).sum()),
    }


def evaluate(rows, coef, lim=0.15) -> dict:
    per_type: dict = {}
    out = []
    for r in rows:
        p = predict(r, coef)
        e = rel(p["lut"], r.y["lut"])
        out.append(
            {
                "id": r.id,
                "type": r.type,
                "lut_est": p["lut"],
                "lut_yosys": r.y["lut"],
                "lut_err_pct": round(100 * e, 1),
                "ff_est": p["ff"],
                "ff_yosys": r.y["ff"],
                "bram18": [p["bram18"], r.y["bram18"]],
                "dsp": [p["dsp"], r.y["dsp"]],
            }
        )
        per_type.setdefault(r.band_key, []).append(e)
    ok_b = sum(o["bram18"][0] == o["bram18"][1] for o in out)
    ok_d = sum(o["dsp"][0] == o["dsp"][1] for o in out)
    return {
        "lut": _stats([o["lut_err_pct"] / 100 for o in out], lim),
        "ff": _stats([rel(o["ff_est"], o["ff_yosys"]) for o in out], lim),
        "bram18_exact": ok_b,
        "dsp_exact": ok_d,
        "per_type": {t: _stats(v, lim) for t, v in sorted(per_type.items())},
        "designs": out,
    }


def _is_cal_top(t) -> bool:
    """A calibration top (seed 18004, ``r_top_*``): the stitching term and BAND_CORR are set
    on these; the held-out tops (``r_toph_*``, seed 18006) and the issue's builds never are."""
    return t["id"].startswith("r_top_") and bool(t["top"].get("lut"))


def glue_per_pe(tops) -> float:
    """Median over the calibration tops of ``(top - sum of its layers) / PEs`` (Yosys LUTs;
    PEs of the MVAUs and VVAUs, :func:`fpgagen.cost.model.stitched_pes`): what stitching adds
    per PE (0 without tops)."""
    from fpgagen.cost import model

    fr = [
        (t["top"]["lut"] - sum(r.y["lut"] for r in t["rows"])) / pes
        for t in tops
        if _is_cal_top(t) and (pes := model.stitched_pes(t["layers"]))
    ]
    return round(float(np.median(fr)), 3) if fr else 0.0


def top_estimate(layers, coef, band, corr, glue_pe=0.0) -> dict:
    """Sum of the layer estimates of a build plus the stitching term (``glue_pe`` per PE) with
    its band (as :func:`fpgagen.cost.model.total_lut_band`: ``(1 - corr) x RSS + corr x sum``
    of the layer bands)."""
    from fpgagen.cost import model

    tot, var, lin = 0.0, 0.0, 0.0
    for l in layers:
        r = Row(l.name, "x", l, {"lut": 0, "ff": 0})
        p = predict(r, coef)
        tot += p["lut"]
        b = math.ceil(band.get(l.op_type, band["_pooled"])["band"] * (p["lut"] + SOFT))
        var += b * b
        lin += b
    glue = round(glue_pe * model.stitched_pes(layers))
    return {"lut": tot + glue, "band": (1 - corr) * math.sqrt(var) + corr * lin}


#: grid of BAND_CORR values tried (the smallest covering the calibration tops is kept)
CORR_GRID = [round(0.05 * i, 2) for i in range(21)]


def band_corr(tops, coef, band, glue=0.0) -> float:
    """The smallest ``corr`` of :data:`CORR_GRID` whose total band covers the stitched top of
    every random top (``r_top_*``; the issue's builds are kept for the check)."""
    cal = [t for t in tops if _is_cal_top(t)]
    if not cal:
        return 0.5
    for c in CORR_GRID:
        if all(
            abs((e := top_estimate(t["layers"], coef, band, c, glue))["lut"] - t["top"]["lut"])
            <= e["band"]
            for t in cal
        ):
            return c
    return CORR_GRID[-1]


def run(cnv: bool = False) -> dict:
    rows = layer_rows()
    brows, tops = build_rows()
    # the regime set is fitted too (the regime check refits without each regime); the
    # hold-out sets, the builds and the CNVs never are
    fitset = [r for r in rows if r.source in FIT_SOURCES and not r.grouped]
    hold = [r for r in rows if r.source == "holdout"]
    reg = [r for r in rows if r.source == "regime"]
    # the second hold-out and regime sets (seeds 18012, 18013): drawn and synthesized after
    # the sub-block features were chosen with the first hold-out set in view, the clean check
    hold2 = [r for r in rows if r.source == "holdout2"]
    reg2 = [r for r in rows if r.source == "regime2"]
    # the later hold-out sets (seeds 18015, 18016): each committed before it was synthesized
    # and scored once with the model of its time (docs/cost_model.md)
    late = {name: [r for r in rows if r.source == name] for name in LATE_HOLDOUTS}
    late_reg = {h: [r for r in rows if r.source == g] for h, g in LATE_REGIMES.items()}
    print(
        f"fit set {len(fitset)}, hold-out {len(hold)}, regime {len(reg)}, build layers {len(brows)}"
    )
    methods = choose_methods(fitset)
    coef = fit(fitset, methods)
    oof = crossval(fitset, methods=methods)
    band = bands(fitset, oof)
    result = {
        "methods": methods,
        "coef": coef,
        "band": band,
        "fit": evaluate(fitset, coef),
        "cv": {
            "lut": _stats([rel(oof[r.id]["lut"], r.y["lut"]) for r in fitset]),
            "per_type": {
                t: _stats([rel(oof[r.id]["lut"], r.y["lut"]) for r in fitset if r.band_key == t])
                for t in sorted({r.band_key for r in fitset})
            },
            "designs": [
                {
                    "id": r.id,
                    "type": r.type,
                    "est": oof[r.id]["lut"],
                    "y": r.y["lut"],
                    "err": round(rel(oof[r.id]["lut"], r.y["lut"]), 4),
                }
                for r in fitset
            ],
        },
        "holdout": evaluate(hold, coef),
        "holdout2": evaluate(hold2, coef),
        **{name: evaluate(late[name], coef) for name in LATE_HOLDOUTS},
    }
    # left-out regimes: refit without every design of the regime
    result["regimes"] = {}
    result["regimes2"] = {}
    for name in LATE_HOLDOUTS:
        result[f"regimes_{name}"] = {}
    allrows = fitset + hold
    for name in ("pe32", "thr7"):
        sub = [r for r in fitset if name not in r.regimes]
        c2 = fit(sub, methods)
        test = [r for r in allrows if name in r.regimes]
        result["regimes"][name] = {
            "n_fit": len(sub),
            **evaluate(test, c2),
        }
        # the second sets' designs of the regime, with the same fit
        test2 = [r for r in reg2 + hold2 if name in r.regimes]
        result["regimes2"][name] = {"n_fit": len(sub), **evaluate(test2, c2)}
        for h in LATE_HOLDOUTS:
            test3 = [r for r in late[h] + late_reg.get(h, []) if name in r.regimes]
            result[f"regimes_{h}"][name] = {"n_fit": len(sub), **evaluate(test3, c2)}
    # where the misses are: the random hold-out sets' designs (not the fully unrolled or
    # ROM-fed sets, which draw one kind of layer) by size and kind, with this model
    pool = hold + hold2 + [r for n in LATE_HOLDOUTS if n.startswith("holdout") for r in late[n]]
    result["holdout_by_class"] = by_class(pool, coef)
    # the rows and the stitched tops: layers and totals
    result["issue_layers"] = evaluate([r for r in brows if r.source == "issue"], coef)
    if cnv:
        crow = cnv_rows()
        result["cnv_layers"] = evaluate(crow, coef)
        result["cnv_sums"] = {}
        for name in sorted({r.id.split("/")[0] for r in crow}):
            rr = [r for r in crow if r.id.startswith(name + "/")]
            est = sum(predict(r, coef)["lut"] for r in rr)
            y = sum(r.y["lut"] for r in rr)
            result["cnv_sums"][name] = {
                "n": len(rr),
                "lut_est": est,
                "lut_yosys": y,
                "err_pct": round(100 * rel(est, y), 1),
            }
    result["top_layers"] = evaluate([r for r in brows if r.source == "top"], coef)
    glue = glue_per_pe(tops)
    corr = band_corr(tops, coef, band, glue)
    result["band_corr"] = corr
    result["top_glue_pe"] = glue
    tl = []
    for t in tops:
        # a calibration top is predicted with the stitching term of the other calibration tops
        # (leave one out), so every top is held out: the layer model never sees a top
        g = glue_per_pe([x for x in tops if x is not t]) if _is_cal_top(t) else glue
        te = top_estimate(t["layers"], coef, band, corr, g)
        y = t["top"].get("lut")
        tl.append(
            {
                "id": t["id"],
                "lut_est": round(te["lut"]),
                "band": round(te["band"]),
                "lut_yosys": y,
                "sum_layers_yosys": sum(r.y["lut"] for r in t["rows"]),
                "err_pct": round(100 * rel(te["lut"], y), 1) if y else None,
                "in_band": bool(y and abs(te["lut"] - y) <= te["band"]),
                "held_out": not _is_cal_top(t),
                "glue_pe": g,
            }
        )
    result["tops"] = tl
    for key, sel in (("tops_held_out", True), ("tops_calibration_loo", False)):
        ho = [t for t in tl if t["lut_yosys"] and t["held_out"] == sel]
        result[key] = {
            "n": len(ho),
            "within_10pct": sum(abs(t["err_pct"]) <= 10 for t in ho),
            "in_band": sum(t["in_band"] for t in ho),
        }
    return result


#: the size under which a layer counts as small in :func:`by_class` (a few LUTs of control
#: decide 15% there)
SMALL_LUT = 60


def by_class(rows, coef) -> dict:
    """``{class: {"n", "within_15pct"}}`` of ``rows``: layers under :data:`SMALL_LUT` LUTs
    (Yosys), fully unrolled MVAUs of that size or more, and the rest."""
    out: dict = {}
    for r in rows:
        if r.y["lut"] < SMALL_LUT:
            k = f"under {SMALL_LUT} LUTs"
        elif r.band_key == "MVAU/unrolled":
            k = f"fully unrolled MVAUs of {SMALL_LUT} LUTs or more"
        else:
            k = "the rest"
        c = out.setdefault(k, {"n": 0, "within_15pct": 0})
        c["n"] += 1
        c["within_15pct"] += abs(rel(predict(r, coef)["lut"], r.y["lut"])) <= 0.15
    return out


def _summary_lines(r) -> list[str]:
    out = []

    def line(name, ev):
        s = ev["lut"]
        if not s.get("n"):
            return
        out.append(
            f"{name:<22} n={s['n']:>4}  LUT mean {s['mean_abs_pct']:>5}%  p95 {s['p95_abs_pct']:>5}%  "
            f"max {s['max_abs_pct']:>6}%  within 15%: {s['within_15pct']}/{s['n']}  "
            f"BRAM exact {ev.get('bram18_exact', '-')}  DSP exact {ev.get('dsp_exact', '-')}"
        )

    line("fit", r["fit"])
    s = r["cv"]["lut"]
    out.append(
        f"{'5-fold CV':<22} n={s['n']:>4}  LUT mean {s['mean_abs_pct']:>5}%  p95 {s['p95_abs_pct']:>5}%  max {s['max_abs_pct']:>6}%  within 15%: {s['within_15pct']}/{s['n']}"
    )
    line("hold-out", r["holdout"])
    for k, v in r["regimes"].items():
        line(f"regime {k}", v)
    line("hold-out 2", r["holdout2"])
    for k, v in r["regimes2"].items():
        line(f"regime {k} (set 2)", v)
    for h, (num, _word, _seed) in LATE_HOLDOUTS.items():
        line(f"hold-out {num}", r[h])
        for k, v in r[f"regimes_{h}"].items():
            line(f"regime {k} (set {num})", v)
    for k, c in r.get("holdout_by_class", {}).items():
        out.append(f"random hold-out sets, {k}: {c['within_15pct']}/{c['n']} within 15%")
    line("issue layers", r["issue_layers"])
    if "cnv_layers" in r:
        line("CNV build layers", r["cnv_layers"])
    line("top layers", r["top_layers"])
    h, c = r["tops_held_out"], r["tops_calibration_loo"]
    out.append(
        f"held-out stitched tops: {h['within_10pct']}/{h['n']} within 10%, {h['in_band']} in band; "
        f"calibration tops (leave one out): {c['within_10pct']}/{c['n']}, {c['in_band']} in band; "
        f"stitching {r['top_glue_pe']} LUT per PE"
    )
    for t in r["tops"]:
        out.append(
            f"  top {'(held out) ' if t['held_out'] else ''}{t['id']:<34} est {t['lut_est']:>6} +- {t['band']:>5}  yosys {t['lut_yosys']}  ({t['err_pct']}%)  layers sum {t['sum_layers_yosys']}  in band {t['in_band']}"
        )
    return out


def markdown(r) -> str:
    """Tables for docs/cost_model.md."""
    out = [
        "| set | designs | LUT mean / p95 / max abs err | within 15% | BRAM18 exact | DSP exact |",
        "|---|---|---|---|---|---|",
    ]

    def row(name, ev):
        s = ev["lut"]
        if not s.get("n"):
            return
        out.append(
            f"| {name} | {s['n']} | {s['mean_abs_pct']}% / {s['p95_abs_pct']}% / "
            f"{s['max_abs_pct']}% | {s['within_15pct']} ({100 * s['within_15pct'] / s['n']:.0f}%) "
            f"| {ev.get('bram18_exact', '-')} | {ev.get('dsp_exact', '-')} |"
        )

    row("fit (regular + random train)", r["fit"])
    cvs = r["cv"]["lut"]
    out.append(
        f"| 5-fold CV (out of fold) | {cvs['n']} | {cvs['mean_abs_pct']}% / "
        f"{cvs['p95_abs_pct']}% / {cvs['max_abs_pct']}% | {cvs['within_15pct']} "
        f"({100 * cvs['within_15pct'] / cvs['n']:.0f}%) | - | - |"
    )
    row("**hold-out random set**", r["holdout"])
    for k, v in r["regimes"].items():
        row(f"left-out regime {k} (fit on {v['n_fit']})", v)
    row("**second hold-out set** (seed 18012)", r["holdout2"])
    for k, v in r["regimes2"].items():
        row(f"left-out regime {k}, second sets (fit on {v['n_fit']})", v)
    for h, (_num, word, seed) in LATE_HOLDOUTS.items():
        row(f"**{word} hold-out set** (seed {seed})", r[h])
        for k, v in r[f"regimes_{h}"].items():
            row(f"left-out regime {k}, {word} set (fit on {v['n_fit']})", v)
    row("issue 18 layers", r["issue_layers"])
    if "cnv_layers" in r:
        row("CNV builds' compute layers (3 builds)", r["cnv_layers"])
    row("random tops' layers", r["top_layers"])
    out += [
        "",
        "| layer type | hold-out n | hold-out LUT mean / max | CV n | CV mean / p95 | band |",
        "|---|---|---|---|---|---|",
    ]
    for t in sorted(r["band"]):
        if t.startswith("_"):
            continue
        h = r["holdout"]["per_type"].get(t, {"n": 0})
        c = r["cv"]["per_type"].get(t, {"n": 0})
        hs = f"{h['mean_abs_pct']}% / {h['max_abs_pct']}%" if h["n"] else "-"
        cs = f"{c['mean_abs_pct']}% / {c['p95_abs_pct']}%" if c["n"] else "-"
        out.append(
            f"| {t} | {h['n']} | {hs} | {c['n']} | {cs} | {100 * r['band'][t]['band']:.0f}% |"
        )
    out += [
        "",
        "| build | set | stitched top Yosys | estimate +- band | error | in band |",
        "|---|---|---|---|---|---|",
    ]
    for t in r["tops"]:
        if not t["lut_yosys"]:
            continue
        out.append(
            f"| {t['id']} | {'held out' if t['held_out'] else 'calibration (LOO)'} | {t['lut_yosys']} | "
            f"{t['lut_est']} +- {t['band']} | "
            f"{t['err_pct']:+.1f}% | {'yes' if t['in_band'] else 'no'} |"
        )
    out += [
        "",
        "| issue 18 build / layer | type | LUT est / Yosys | error | BRAM18 est / Yosys | DSP |",
        "|---|---|---|---|---|---|",
    ]
    for d in r["issue_layers"]["designs"]:
        out.append(
            f"| {d['id']} | {d['type']} | {d['lut_est']} / {d['lut_yosys']} | "
            f"{d['lut_err_pct']:+.1f}% | {d['bram18'][0]} / {d['bram18'][1]} | "
            f"{d['dsp'][0]} / {d['dsp'][1]} |"
        )
    return "\n".join(out)


def write_coef(coef: dict, band: dict, corr: float, glue: float) -> None:
    body = json.dumps(coef, indent=4, sort_keys=True)
    bands_ = {t: v["band"] for t, v in band.items()}
    COEF_PY.write_text(
        '"""Fitted coefficients and uncertainty bands of fpgagen.cost.model.\n\nGenerated by '
        "`python benchmarks/cost/crossval.py fit --write` from\n"
        "benchmarks/results/cost_sweep.json and cost_random.json (Yosys synth_xilinx -family\n"
        "xcup). BAND: relative LUT band per layer type (95% of the out-of-fold residuals of a\n"
        "5-fold cross-validation, widened for types with few designs; relative to estimate + "
        f"{SOFT}).\nDo not edit.\n"
        '"""\n\n# fmt: off\nCOEF = '
        + body
        + "\n\nBAND = "
        + json.dumps(bands_, indent=4, sort_keys=True)
        + f"\n\nBAND_SOFT = {SOFT}\n\nBAND_CORR = {corr}\n\nTOP_GLUE_PE = {glue}\n"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fit")
    f.add_argument("--write", action="store_true")
    f.add_argument("--cv", type=int, default=0, help="print the N worst out-of-fold designs")
    f.add_argument("--markdown", action="store_true", help="print the tables of the docs")
    f.add_argument("--cnv", action="store_true", help="also check the CNV builds (needs torch)")
    f.add_argument(
        "--free-blocks", action="store_true", help="fit the sub-block coefficients too (compare)"
    )
    a = ap.parse_args(argv)
    global USE_FIXED
    USE_FIXED = not a.free_blocks
    r = run(cnv=a.cnv)
    print("\n".join(_summary_lines(r)))
    for k, v in r.get("cnv_sums", {}).items():
        print(
            f"   {k}: {v['n']} layers, LUT est {v['lut_est']} yosys {v['lut_yosys']} ({v['err_pct']}%)"
        )
    if a.cv:
        cvd = sorted(r["cv"]["designs"], key=lambda d: -abs(d["err"]))[: a.cv]
        for d in cvd:
            print(
                f"   CV worst: {d['id']:<36} {d['type']:<14} est {d['est']:>6} yosys {d['y']:>6} ({100 * d['err']:+.1f}%)"
            )
    for name in ("holdout", "holdout2", *LATE_HOLDOUTS):
        bad = [d for d in r[name]["designs"] if abs(d["lut_err_pct"]) > 15]
        for d in bad:
            print(
                f"   {name} > 15%: {d['id']} {d['type']} est {d['lut_est']} yosys {d['lut_yosys']} ({d['lut_err_pct']}%)"
            )
    late = [(f" (set {n})", r[f"regimes_{h}"]) for h, (n, _w, _s) in LATE_HOLDOUTS.items()]
    for tag, regs in (("", r["regimes"]), (" (set 2)", r["regimes2"]), *late):
        for k, v in regs.items():
            for d in v["designs"]:
                if abs(d["lut_err_pct"]) > 15:
                    print(
                        f"   regime {k}{tag} > 15%: {d['id']} est {d['lut_est']} yosys {d['lut_yosys']} ({d['lut_err_pct']}%)"
                    )
    for d in r["issue_layers"]["designs"]:
        print(
            f"   issue {d['id']:<50} est {d['lut_est']:>6} yosys {d['lut_yosys']:>6} ({d['lut_err_pct']}%)"
        )
    if a.markdown:
        print(markdown(r))
    if a.write:
        write_coef(r["coef"], r["band"], r["band_corr"], r["top_glue_pe"])
        slim = dict(r)
        OUT.write_text(json.dumps(slim, indent=1, default=str) + "\n")
        print(f"wrote {COEF_PY} and {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
