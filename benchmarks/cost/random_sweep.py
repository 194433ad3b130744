#!/usr/bin/env python3
"""Random calibration and hold-out designs for the cost model (issue 18).

    python benchmarks/cost/random_sweep.py list [--set train|holdout|regime]
    python benchmarks/cost/random_sweep.py sweep [--set ...] [--limit N] [-j 1]   # layers
    python benchmarks/cost/random_sweep.py tops  [--set holdout] [-j 1]            # stitched tops
    python benchmarks/cost/random_sweep.py resynth --ids REGEX [-j 1]   # stored designs again
    python benchmarks/cost/random_sweep.py issue [-j 1]                            # the issue's 2 MLPs

Every layer type with a LUT cost is sampled by a Latin hypercube (one stratum per design in
every parameter, strata shuffled independently) over its parameters, mapped to integers
log-uniformly; a design the current model puts above :data:`MAX_LUT` LUTs (or that the
layer class refuses) is drawn again, so each Yosys run stays in the seconds-to-a-minute range.

The seeds are fixed and committed (:data:`SEEDS`) before any fit:

* ``train``  (seed 18001): the designs the fit may use, with the regular sweep of
  ``calibrate.py``;
* ``holdout`` (seed 18002): never used by the fit; the held-out error of docs/cost_model.md;
* ``regime`` (seed 18003): designs in the regimes that :func:`regime_of` names (PE >= 32,
  more than 3 thresholds); for the left-out-regime check the fit also drops every ``train``
  and regular design of that regime;
* ``holdout2``, ``regime2`` (seeds 18012, 18013): a second hold-out and regime set drawn
  like the first, committed (c. 2026-12-06) after the sub-block features had been chosen
  with the first hold-out set in view; neither is ever fitted;
* ``holdout3`` (seed 18015): a third hold-out set drawn like the first, committed before it
  was synthesized, once the first two had been looked at while features were chosen; never
  fitted;
* ``holdout4`` (seed 18016): a fourth, drawn and committed the same way after two changes
  had been made on seeing the third; never fitted;
* ``holdout5``, ``regime3`` (seeds 18017, 18018): a fifth hold-out set and a third regime
  set, committed before they were synthesized and before any model change of the session
  that scores them; never fitted;
* ``holdout6``, ``regime4`` (seeds 18019, 18020): the same again, committed once the fifth
  had been scored, for a second clean look at the same model;
* ``holdout8``, ``regime6``, ``unrolled`` (seeds 18023, 18024, 18025): the same, and 24 fully
  unrolled MVAUs, committed after the constant-weight RTL and the shared-node model;
* ``holdout7``, ``regime5`` (seeds 18021, 18022): the same, committed after the sixth was
  scored; no change was adopted after it, so a third clean look at the same model;
* ``train4`` (seed 18036): more training designs of the small layer types (DWC, padding,
  global pool, FIFO, thresholding, pool, VVAU), drawn like ``train`` and fitted with it;
* ``train2`` (seed 18014): more training designs of the streaming layers (sliding window,
  pool, DWC, FIFO, global pool), drawn like ``train`` and fitted with it, and sliding windows
  with ``PAR``/``MMV``/``IPAR`` > 1 (kind ``SlidingWindowPar``), add/duplicate streams,
  padding and label select.

A set is the designs drawn and stored when it was first synthesized: the draw rejects designs
the cost model of the day puts above :data:`MAX_LUT` (:func:`_ok`), so that drawing a set
again with a later model can give other designs from the first rejection on (drawn again in
the ninth session of issue 18: 137 of the 1,437 stored designs, in 11 sets). ``sweep`` keeps
every stored design of a set as it is and synthesizes only those it lacks
(:func:`set_designs`); ``resynth`` synthesizes stored designs again.

Layer results go to ``benchmarks/results/cost_random.json`` (keyed by design id, spec + Yosys
counts as in ``cost_sweep.json``); stitched tops and the issue's MLPs to
``benchmarks/results/cost_tops.json``. Yosys runs are cached in ``$FPGAGEN_CACHE/yosys``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "generator"))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import calibrate  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
RANDOM = RESULTS / "cost_random.json"
TOPS = RESULTS / "cost_tops.json"

#: committed before the first fit; never change them (the hold-out set is defined by them)
SEEDS = {
    "train": 18001,
    "holdout": 18002,
    "regime": 18003,
    "tops": 18004,
    "tops_holdout": 18006,
    "tops_holdout2": 18060,
    "holdout2": 18012,
    "regime2": 18013,
    "train2": 18014,
    "holdout3": 18015,
    "holdout4": 18016,
    "holdout5": 18017,
    "regime3": 18018,
    "holdout6": 18019,
    "regime4": 18020,
    "holdout7": 18021,
    "regime5": 18022,
    "holdout8": 18023,
    "regime6": 18024,
    "unrolled": 18025,
    "train3": 18026,
    "unrolled2": 18027,
    "holdout9": 18028,
    "regime7": 18029,
    "unrolled3": 18030,
    "holdout10": 18031,
    "regime8": 18032,
    "unrolled4": 18033,
    "holdout11": 18034,
    "regime9": 18035,
    "train4": 18036,
    "holdout12": 18037,
    "regime10": 18038,
    "unrolled5": 18039,
    "holdout13": 18040,
    "romfed": 18041,
    "holdout14": 18042,
    "regime11": 18043,
    "unrolled6": 18044,
    "holdout15": 18045,
    "regime12": 18046,
    "unrolled7": 18047,
    "holdout16": 18048,
    "regime13": 18049,
    "unrolled8": 18050,
    "train5": 18051,
    "holdout17": 18052,
    "regime14": 18053,
    "unrolled9": 18054,
    "dwcs": 18055,
    "holdout18": 18056,
    "regime15": 18057,
    "train6": 18058,
    "dwcs2": 18059,
    "train7": 18061,
    "holdout19": 18062,
    "regime16": 18063,
    "train8": 18064,
    "holdout20": 18065,
    "regime17": 18066,
    "holdout21": 18067,
    "regime18": 18068,
    "holdout22": 18069,
    "regime19": 18070,
    "holdout23": 18071,
    "regime20": 18072,
    "holdout24": 18073,
    "regime21": 18074,
    "holdout25": 18075,
    "regime22": 18076,
    "holdout26": 18077,
    "regime23": 18078,
    "holdout27": 18079,
    "regime24": 18080,
    "train9": 18081,
    "holdout28": 18082,
    "regime25": 18083,
    "holdout29": 18084,
    "regime26": 18085,
    "holdout30": 18086,
    "regime27": 18087,
    "holdout31": 18088,
    "regime28": 18089,
    "holdout32": 18090,
    "regime29": 18091,
    "holdout33": 18092,
    "regime30": 18093,
    "holdout34": 18094,
    "regime31": 18095,
    "holdout35": 18096,
    "regime32": 18097,
    "holdout36": 18098,
    "regime33": 18099,
    "holdout37": 18100,
    "regime34": 18101,
    "holdout38": 18102,
    "regime35": 18103,
    "holdout39": 18104,
    "regime36": 18105,
}
#: stitched tops drawn per top set: ``tops`` (18004) calibrates the stitching term,
#: ``tops_holdout`` (18006, ids ``r_toph_*``) is never used by any fit
TOP_COUNTS = {"tops": 10, "tops_holdout": 12, "tops_holdout2": 12}

#: designs drawn per layer type and set
COUNTS = {
    "train": {
        "MVAU": 50,
        "VVAU": 8,
        "Thresholding": 8,
        "SlidingWindow": 5,
        "Pool": 4,
        "FIFO": 5,
        "DWC": 5,
        "AddStreams": 2,
        "DuplicateStreams": 2,
        "LabelSelect": 3,
        "FMPadding": 2,
        "GlobalAccPool": 2,
    },
    "holdout": {
        "MVAU": 24,
        "VVAU": 4,
        "Thresholding": 4,
        "SlidingWindow": 3,
        "Pool": 2,
        "FIFO": 3,
        "DWC": 3,
        "AddStreams": 1,
        "DuplicateStreams": 1,
        "LabelSelect": 1,
        "FMPadding": 1,
        "GlobalAccPool": 1,
    },
    "regime": {"MVAU": 10, "VVAU": 3, "Thresholding": 3},
}
# the second hold-out and regime sets (seeds 18012, 18013), drawn and committed after the
# sub-block model's features were chosen with the first hold-out set in view: the clean check
COUNTS["holdout2"] = dict(COUNTS["holdout"])
COUNTS["regime2"] = dict(COUNTS["regime"])
# a third hold-out set (seed 18015), committed (2026-12-06, third session) before it was
# synthesized, after the first two had been looked at while the act_out / rdot tables and the
# distinct-threshold count were chosen: scored once, with the final model of that session
COUNTS["holdout3"] = dict(COUNTS["holdout"])
# a fourth (seed 18016), committed before it was synthesized, after two changes had been made
# on seeing the third: scored once, with the model of fcfe208
COUNTS["holdout4"] = dict(COUNTS["holdout"])
# a fifth hold-out set and a third regime set (seeds 18017, 18018), committed (fourth session,
# 2026-12-06, at adccf1b) before they were synthesized and before any change of that session:
# scored once, with the session's final model
COUNTS["holdout5"] = dict(COUNTS["holdout"])
COUNTS["regime3"] = dict(COUNTS["regime"])
# a sixth and a fourth (seeds 18019, 18020), committed after the fifth had been scored with the
# final model of that session (32147d4) and before they were synthesized: a second clean look
# at the same model
COUNTS["holdout6"] = dict(COUNTS["holdout"])
COUNTS["regime4"] = dict(COUNTS["regime"])
# a seventh and a fifth (seeds 18021, 18022), committed after the sixth had been scored and
# before they were synthesized, for a change made after that; the change tried (constant
# comparisons outside a channel's reach removed) made the seen sets worse and was dropped,
# so they were scored once with the same final model: a third clean look at it
COUNTS["holdout7"] = dict(COUNTS["holdout"])
COUNTS["regime5"] = dict(COUNTS["regime"])
# an eighth and a sixth (seeds 18023, 18024), and 24 fully unrolled MVAUs (18025), committed
# (fifth session, 2026-12-06) after the fully unrolled MVAU's RTL took its weights as constants
# and the model counted the PEs' shared products and adders, before they were synthesized:
# scored once, with that model
COUNTS["holdout8"] = dict(COUNTS["holdout"])
COUNTS["regime6"] = dict(COUNTS["regime"])
COUNTS["unrolled"] = {"MVAUFull": 24}
# fully unrolled MVAUs for the fit (seed 18026; the other training sets have 20), and a second
# fully unrolled hold-out set (18027), both committed after the first had been scored (12 of 24
# within 15%) and before they were synthesized; the second scored once, with the final model
COUNTS["train3"] = {"MVAUFull": 48}
COUNTS["unrolled2"] = {"MVAUFull": 24}
# a ninth hold-out set, a seventh regime set and a third fully unrolled set (seeds 18028,
# 18029, 18030), committed after the eighth and the second fully unrolled sets had been
# scored and a change had been made (DSP-wide products by +-2^k constants as shifts), before
# they were synthesized: scored once, with the final model
COUNTS["holdout9"] = dict(COUNTS["holdout"])
COUNTS["regime7"] = dict(COUNTS["regime"])
COUNTS["unrolled3"] = {"MVAUFull": 24}
# a tenth hold-out set, an eighth regime set and a fourth fully unrolled set (seeds 18031,
# 18032, 18033), committed on 2026-12-07 after three model changes made on seen data (the
# constant-weight blocks' share held past their grid, tables never falling past their grid,
# threshold ROMs costed by their distinct columns), before they were synthesized: scored
# once, with the final model of that session
COUNTS["holdout10"] = dict(COUNTS["holdout"])
COUNTS["regime8"] = dict(COUNTS["regime"])
COUNTS["unrolled4"] = {"MVAUFull": 24}
# an eleventh hold-out set and a ninth regime set (seeds 18034, 18035), committed on
# 2026-12-07 after the tenth had been scored and one fix made for it (no URAM for ``auto``
# memories), before they were synthesized: scored once, with that final model
COUNTS["holdout11"] = dict(COUNTS["holdout"])
COUNTS["regime9"] = dict(COUNTS["regime"])
# a twelfth hold-out set, a tenth regime set and a fifth fully unrolled set (seeds 18037,
# 18038, 18039), committed on 2026-12-07 (seventh session) after that session's changes (the
# fourth training set, ROM-fed products at the layer's PE count, deep soft ROMs in context),
# before they were synthesized: scored once, with that final model
COUNTS["holdout12"] = dict(COUNTS["holdout"])
COUNTS["regime10"] = dict(COUNTS["regime"])
COUNTS["unrolled5"] = {"MVAUFull": 24}
# a thirteenth hold-out set and 24 MVAUs whose 2-8-word weight ROM feeds LUT products (kind
# ``MVAURom``: the pairs the ROM-fed blocks cover), seeds 18040 and 18041, committed on
# 2026-12-07 (seventh session) after the ROM-fed products' dead-lane correction, before they
# were synthesized: scored once, with that model
COUNTS["holdout13"] = dict(COUNTS["holdout"])
COUNTS["romfed"] = {"MVAURom": 24}
# a fourteenth hold-out set, an eleventh regime set and a sixth fully unrolled set (seeds
# 18042, 18043, 18044), committed on 2026-12-07 (eighth session) while the constant-weight
# blocks were measured at more PE counts, before they were synthesized: scored once, with the
# session's final model
COUNTS["holdout14"] = dict(COUNTS["holdout"])
COUNTS["regime11"] = dict(COUNTS["regime"])
COUNTS["unrolled6"] = {"MVAUFull": 24}
# a fifteenth hold-out set, a twelfth regime set and a seventh fully unrolled set (seeds
# 18045, 18046, 18047), committed on 2026-12-07 (eighth session) after the fourteenth had been
# scored and one more change made (TERNARY adder trees as wide as their sums' ranges), before
# they were synthesized: scored once, with that final model
COUNTS["holdout15"] = dict(COUNTS["holdout"])
COUNTS["regime12"] = dict(COUNTS["regime"])
COUNTS["unrolled7"] = {"MVAUFull": 24}
# a sixteenth hold-out set, a thirteenth regime set and an eighth fully unrolled set (seeds
# 18048, 18049, 18050), committed on 2026-12-07 (ninth session; the model unchanged since the
# fifteenth) before they were synthesized: scored once
COUNTS["holdout16"] = dict(COUNTS["holdout"])
COUNTS["regime13"] = dict(COUNTS["regime"])
COUNTS["unrolled8"] = {"MVAUFull": 24}
# training designs of small fully unrolled MVAUs (1-8 PEs of 1-8 lanes; seed 18051, ninth
# session): the fit had 6 fully unrolled layers under 60 LUTs, which the model puts a median
# 19.5% high where Yosys maps two draws of each the same (jitter.py --twins)
COUNTS["train5"] = {"MVAUFullSmall": 32}
# a seventeenth hold-out set, a fourteenth regime set and a ninth fully unrolled set (seeds
# 18052, 18053, 18054), committed on 2026-12-07 (ninth session) after train5 joined the fit,
# before they were synthesized: scored once, with that model
COUNTS["holdout17"] = dict(COUNTS["holdout"])
COUNTS["regime14"] = dict(COUNTS["regime"])
COUNTS["unrolled9"] = {"MVAUFull": 24}
# 40 data-width converters drawn like the hold-out sets' (seed 18055), an eighteenth hold-out
# set and a fifteenth regime set (18056, 18057), committed on 2026-12-07 (tenth session) after
# axis_dwc took whole-word paths for integer ratios and pairs with a small lcm (unload,
# collect, chain) and before they were synthesized: scored once, with the model refitted to
# the converters' new RTL
COUNTS["dwcs"] = {"DWC": 40}
COUNTS["holdout18"] = dict(COUNTS["holdout"])
COUNTS["regime15"] = dict(COUNTS["regime"])
# training converters of integer ratios 2-16 (seed 18058, tenth session; kind ``DWCRatio``):
# since the whole-word paths the fit had 8 collects and 9 unloads, one of them 2:1, the
# ratio between the layers of most networks; and a second set of 40 fresh converters drawn
# like the hold-out sets' (18059), committed with them before either was synthesized: scored
# once, with the model refitted on them
COUNTS["train6"] = {"DWCRatio": 32}
COUNTS["dwcs2"] = {"DWC": 40}
# training MVAUs of one PE (seed 18061, tenth session; kind ``MVAUPe1``: folded, 1-32 lanes,
# 2-48 output rows): the hold-out sets' and the stitched tops' one-PE layers were a median 7%
# under Yosys where the fit's 29 sat at 0%; and a second set of 12 held-out stitched tops
# (``tops_holdout2``, seed 18060, ids ``r_tophb_*``, drawn like ``tops_holdout``), committed
# with it before either was synthesized: scored once, with the model refitted on them
COUNTS["train7"] = {"MVAUPe1": 32}
# a nineteenth hold-out set and a sixteenth regime set (seeds 18062, 18063), committed on
# 2026-12-07 (eleventh session) before any model change of that session and before they were
# synthesized: scored once, with the session's final model
COUNTS["holdout19"] = dict(COUNTS["holdout"])
COUNTS["regime16"] = dict(COUNTS["regime"])
# training label selects (seed 18064, eleventh session): the fit had 14, the hold-out sets'
# 18 were 14 within 15% (one-PE lists of 12-20-bit scores 24-32% under Yosys)
COUNTS["train8"] = {"LabelSelect": 24}
# a twentieth hold-out set and a seventeenth regime set (seeds 18065, 18066), committed on
# 2026-12-07 (eleventh session) after the nineteenth was scored and the pruned-layer pricing
# (a795882), before any later model change and before they were synthesized: scored once,
# with the session's final model
COUNTS["holdout20"] = dict(COUNTS["holdout"])
COUNTS["regime17"] = dict(COUNTS["regime"])
# a twenty-first hold-out set and an eighteenth regime set (seeds 18067, 18068), committed on
# 2026-12-07 (eleventh session) with the session's final model (a4fc254), before they were
# synthesized: scored once, with that model
COUNTS["holdout21"] = dict(COUNTS["holdout"])
COUNTS["regime18"] = dict(COUNTS["regime"])
# twenty-second and twenty-third hold-out sets with the nineteenth and twentieth regime sets
# (seeds 18069-18072), committed on 2026-12-07 (twelfth session) after the label select's list
# stopped clearing its entries (rtl/label_select.v, 2c70f48) and the model followed, before
# they were synthesized: scored once, with that model; the first sets whose 1x1 windows have
# stride 2 (FLOW_WINDOWS_FROM)
COUNTS["holdout22"] = dict(COUNTS["holdout"])
COUNTS["regime19"] = dict(COUNTS["regime"])
COUNTS["holdout23"] = dict(COUNTS["holdout"])
COUNTS["regime20"] = dict(COUNTS["regime"])
# twenty-fourth and twenty-fifth hold-out sets with the twenty-first and twenty-second regime
# sets (seeds 18073-18076), committed on 2026-12-07 (twelfth session) after the twenty-second
# and twenty-third were scored, with the same model (no LUT change since 2c70f48), before they
# were synthesized: scored once, to measure the rate on more fresh designs
COUNTS["holdout24"] = dict(COUNTS["holdout"])
COUNTS["regime21"] = dict(COUNTS["regime"])
COUNTS["holdout25"] = dict(COUNTS["holdout"])
COUNTS["regime22"] = dict(COUNTS["regime"])
# twenty-sixth and twenty-seventh hold-out sets with the twenty-third and twenty-fourth regime
# sets (seeds 18077-18080), committed on 2026-12-07 (twelfth session) with the session's final
# model (d414628: 1x1 windows built as window_decimate), before they were synthesized: scored
# once, with that model
COUNTS["holdout26"] = dict(COUNTS["holdout"])
COUNTS["regime23"] = dict(COUNTS["regime"])
COUNTS["holdout27"] = dict(COUNTS["holdout"])
COUNTS["regime24"] = dict(COUNTS["regime"])
# more training designs of the streaming layers (seed 18014), whose first training set had
# 4-5 designs per type: drawn like ``train``, fitted like it
COUNTS["train2"] = {"SlidingWindow": 14, "Pool": 14, "DWC": 14, "FIFO": 6, "GlobalAccPool": 4}
# ... and sliding windows with several read lanes or input words per beat (PAR, MMV, IPAR > 1),
# which no other set has (added after the first 52: a kind of its own, so that their draws,
# seeded per kind, leave the others unchanged)
COUNTS["train2"]["SlidingWindowPar"] = 12
# ... and the small stream layers, which had 2-3 random designs each (added after the above,
# kinds of their own as well)
COUNTS["train2"].update({"AddStreams": 6, "DuplicateStreams": 4, "FMPadding": 8, "LabelSelect": 8})
# more training designs of the layer types whose fits had 6-20 random designs and whose
# hold-out misses are mostly small designs (seed 18036, seventh session, 2026-12-07): fitted
# like ``train``
COUNTS["train4"] = {
    "DWC": 20,
    "FMPadding": 16,
    "GlobalAccPool": 16,
    "FIFO": 12,
    "Thresholding": 16,
    "Pool": 10,
    "VVAU": 12,
}

# twenty-eighth and twenty-ninth hold-out sets with the twenty-fifth and twenty-sixth regime
# sets (seeds 18082-18085), committed on 2026-12-07 (thirteenth session) with the session's
# model (afeb6d0: the FIFO's AND tests and wrap term, block-RAM windows in the fit, LUTRAM
# without an emulation score), before they were synthesized: scored once, with that model
COUNTS["holdout28"] = dict(COUNTS["holdout"])
COUNTS["regime25"] = dict(COUNTS["regime"])
COUNTS["holdout29"] = dict(COUNTS["holdout"])
COUNTS["regime26"] = dict(COUNTS["regime"])
# thirtieth and thirty-first hold-out sets with the twenty-seventh and twenty-eighth regime
# sets (seeds 18086-18089), committed on 2026-12-07 (thirteenth session) with the model of
# 097ae0c (the windows' walk_wrap term, after the twenty-eighth and twenty-ninth were
# scored), before they were synthesized: scored once, with that model
COUNTS["holdout30"] = dict(COUNTS["holdout"])
COUNTS["regime27"] = dict(COUNTS["regime"])
COUNTS["holdout31"] = dict(COUNTS["holdout"])
COUNTS["regime28"] = dict(COUNTS["regime"])
# thirty-second and thirty-third hold-out sets with the twenty-ninth and thirtieth regime sets
# (seeds 18090-18093), committed on 2026-12-07 (thirteenth session) with the session's final
# model (f5ecb37: the pools' sext term), before they were synthesized: scored once, with it
COUNTS["holdout32"] = dict(COUNTS["holdout"])
COUNTS["regime29"] = dict(COUNTS["regime"])
COUNTS["holdout33"] = dict(COUNTS["holdout"])
COUNTS["regime30"] = dict(COUNTS["regime"])
# thirty-fourth and thirty-fifth hold-out sets with the thirty-first and thirty-second regime
# sets (seeds 18094-18097), committed on 2026-12-07 (fourteenth session) with the model of
# 6c198ca (the ROM-fed blocks at 3-6 lanes and up to 32 PEs, the binary ROM-fed pairs, the
# narrowed DSP products), before they were synthesized: scored once, with that model
COUNTS["holdout34"] = dict(COUNTS["holdout"])
COUNTS["regime31"] = dict(COUNTS["regime"])
COUNTS["holdout35"] = dict(COUNTS["holdout"])
COUNTS["regime32"] = dict(COUNTS["regime"])
# thirty-sixth and thirty-seventh hold-out sets with the thirty-third and thirty-fourth regime
# sets (seeds 18098-18101), committed on 2026-12-07 (fourteenth session) with the session's
# final model (b80cdd3: the comparator blocks of 1-2-bit values, after the thirty-fourth and
# thirty-fifth were scored), before they were synthesized: scored once, with it
COUNTS["holdout36"] = dict(COUNTS["holdout"])
COUNTS["regime33"] = dict(COUNTS["regime"])
COUNTS["holdout37"] = dict(COUNTS["holdout"])
COUNTS["regime34"] = dict(COUNTS["regime"])
# thirty-eighth and thirty-ninth hold-out sets with the thirty-fifth and thirty-sixth regime
# sets (seeds 18102-18105), committed on 2026-12-08 (fifteenth session) with the session's
# model (the pruned ROM-fed blocks, RDOT_SPARSE), before they were synthesized: scored once,
# with it
COUNTS["holdout38"] = dict(COUNTS["holdout"])
COUNTS["regime35"] = dict(COUNTS["regime"])
COUNTS["holdout39"] = dict(COUNTS["holdout"])
COUNTS["regime36"] = dict(COUNTS["regime"])
# training sliding windows whose line buffer is block RAM (seed 18081, thirteenth session; kind
# ``SlidingWindowBram``): the fit had 5, and the CNV builds' W2A2 windows with a block-RAM
# buffer (deep buffers of narrow words: 2x2 pools and 3x3 convolutions over 64-128 channels
# with SIMD 2-16) were 14-24% over Yosys where the LUTRAM-buffered ones sit within 10%
COUNTS["train9"] = {"SlidingWindowBram": 32}

#: the largest design (current model's LUT estimate) a draw may be
MAX_LUT = 2500
#: sets of this seed and later draw a 1x1 window with stride 2 only: the lowering instantiates
#: no 1x1 stride-1 window (a 1x1/1 convolution reads its input stream as it is:
#: transforms/lower/conv.py), and the earlier sets' 1x1/1 windows (13% of their windows, 33-48
#: LUTs, 4 of 4 held-out ones 26-29% over Yosys) priced a layer no build has
FLOW_WINDOWS_FROM = 18069

#: MVAU/VVAU (input, weight) types
MAC_TYPES = [
    ("BIPOLAR", "BIPOLAR"),
    ("TERNARY", "TERNARY"),
    ("INT2", "TERNARY"),
    ("UINT2", "TERNARY"),
    ("UINT3", "TERNARY"),
    ("INT4", "TERNARY"),
    ("UINT2", "INT2"),
    ("INT2", "INT2"),
    ("INT3", "INT3"),
    ("UINT4", "INT4"),
    ("INT4", "INT4"),
    ("UINT6", "INT2"),
    ("INT8", "INT4"),
    ("UINT8", "INT8"),
    ("UINT4", "BIPOLAR"),
    ("BIPOLAR", "INT4"),
]
THRESHOLDS = [0, 0, 1, 2, 3, 7, 15]
#: the (input, weight) types of the ``MVAURom`` kind: those the ROM-fed blocks (``rdot``) cover
ROM_FED_TYPES = [
    ("INT2", "TERNARY"),
    ("UINT2", "TERNARY"),
    ("UINT3", "TERNARY"),
    ("INT4", "TERNARY"),
    ("UINT2", "INT2"),
    ("INT2", "INT2"),
    ("TERNARY", "TERNARY"),
]


def regime_of(spec: dict) -> list[str]:
    """Regimes a design belongs to: ``pe32`` (PE >= 32 of an MVAU/VVAU), ``thr7`` (more than 3
    thresholds)."""
    out = []
    if spec["type"] in ("MVAU", "VVAU") and spec.get("pe", 1) >= 32:
        out.append("pe32")
    if spec.get("n_thres", 0) > 3:
        out.append("thr7")
    return out


# ------------------------------------------------------------------------------------------
# Latin hypercube
# ------------------------------------------------------------------------------------------
def lhs(rng, n: int, d: int) -> np.ndarray:
    """``n`` points of a Latin hypercube in ``[0, 1)^d``."""
    strata = np.stack([rng.permutation(n) for _ in range(d)], axis=1)
    return (strata + rng.random((n, d))) / n


def pick(u: float, options):
    return options[min(int(u * len(options)), len(options) - 1)]


def logint(u: float, lo: int, hi: int) -> int:
    """Log-uniform integer in ``[lo, hi]``."""
    return int(min(hi, max(lo, round(math.exp(math.log(lo) + u * math.log(hi / lo * 1.0))))))


def divisor_near(n: int, want: int) -> int:
    """The divisor of ``n`` closest to ``want`` (in log scale)."""
    ds = [d for d in range(1, n + 1) if n % d == 0]
    return min(ds, key=lambda d: abs(math.log(d) - math.log(max(1, want))))


def _window_spec(sid, ifm, ch, simd, k, stride, bits) -> dict:
    """A square sliding window's spec (``calibrate.build``)."""
    return {
        "id": sid,
        "type": "SlidingWindow",
        "ifm": ifm,
        "ch": ch,
        "simd": simd,
        "k": k,
        "stride": stride,
        "bits": bits,
    }


def _spec(kind: str, u, set_name: str, i: int, regime: bool) -> dict:
    """One design of ``kind`` from the unit vector ``u``."""
    sid = f"r_{set_name}_{kind.lower()}_{i:03d}"
    if kind == "MVAURom":  # a 2-8-word weight ROM in soft logic feeding LUT products
        ind, wd = pick(u[0], ROM_FED_TYPES)
        pe, simd = logint(u[1], 1, 64), logint(u[2], 1, 32)
        depth = logint(u[3], 2, 8)
        sf = pick(u[4], [d for d in range(1, depth + 1) if depth % d == 0])
        nf = depth // sf
        thr = pick(u[6], THRESHOLDS)
        s = {"id": sid, "type": "MVAU", "in": ind, "w": wd, "pe": pe, "simd": simd}
        s.update({"mw": simd * sf, "mh": pe * nf, "n_thres": thr, "ram_style": "auto"})
        if wd == "TERNARY" and u[8] < 0.4:
            s["zeros"] = pick(u[8] / 0.4, [0.3, 0.6, 0.9])
        return s
    if kind in ("MVAU", "MVAUFull", "MVAUFullSmall", "MVAUPe1"):
        ind, wd = pick(u[0], MAC_TYPES)
        pe = logint(u[1], 32 if regime and i % 2 == 0 else 1, 64)
        simd = logint(u[2], 1, 64)
        if kind == "MVAUFullSmall":  # fully unrolled and small: 1-8 PEs of 1-8 lanes
            pe, simd = logint(u[1], 1, 8), logint(u[2], 1, 8)
        if kind == "MVAUPe1":  # folded, one PE of 1-32 lanes
            pe, simd = 1, logint(u[2], 1, 32)
        nf, sf = logint(u[3], 1, 48), logint(u[4], 1, 64)
        if kind == "MVAUPe1":
            nf = max(nf, 2)
        elif u[5] < 0.12 or kind.startswith("MVAUFull"):  # fully unfolded: constant weights
            nf = sf = 1
        thr = pick(u[6], [7, 15] if regime and i % 2 == 1 else THRESHOLDS)
        style = pick(u[7], ["auto", "auto", "block", "distributed"])
        if nf * sf == 1:
            style = "auto"
        s = {"id": sid, "type": "MVAU", "in": ind, "w": wd, "pe": pe, "simd": simd}
        s.update({"mw": simd * sf, "mh": pe * nf, "n_thres": thr, "ram_style": style})
        if wd == "TERNARY" and u[8] < 0.4:
            s["zeros"] = pick(u[8] / 0.4, [0.3, 0.6, 0.9])
        return s
    if kind == "VVAU":
        ind, wd = pick(u[0], MAC_TYPES)
        pe = logint(u[1], 32 if regime and i % 2 == 0 else 1, 64)
        cf = logint(u[2], 1, 16)
        k = pick(u[3], [4, 9, 9, 25])
        thr = pick(u[4], [7, 15] if regime and i % 2 == 1 else THRESHOLDS)
        s = {"id": sid, "type": "VVAU", "in": ind, "w": wd, "pe": pe, "ch": pe * cf, "k": k}
        s.update({"n_thres": thr, "nv": 4})
        return s
    if kind == "Thresholding":
        pe = logint(u[0], 1, 32)
        c = pe * logint(u[1], 1, 64)
        bits = logint(u[2], 3, 20)
        signed = u[3] < 0.6
        n = pick(u[4], [7, 15] if regime else [1, 2, 3, 3, 7, 15])
        n = min(n, 2**bits - 2)
        ind = f"{'INT' if signed else 'UINT'}{bits}"
        return {"id": sid, "type": "Thresholding", "c": c, "pe": pe, "in": ind, "n_thres": n}
    if kind == "SlidingWindow":
        ifm = logint(u[0], 4, 32)
        k = min(ifm, pick(u[1], [1, 2, 3, 3, 5]))
        ch = logint(u[2], 1, 64)
        simd = divisor_near(ch, logint(u[3], 1, 32))
        st = pick(u[4], [1, 1, 2])
        if k == 1 and SEEDS[set_name] >= FLOW_WINDOWS_FROM:
            st = 2  # the flow has no 1x1 stride-1 window (see FLOW_WINDOWS_FROM)
        b = pick(u[5], [1, 2, 3, 4, 8])
        return _window_spec(sid, ifm, ch, simd, k, st, b)
    if kind == "SlidingWindowBram":
        # CNV-like: a 2x2/2 pool window or a 3x3 convolution window over many channels of
        # narrow elements, few lanes: a deep buffer of narrow words (random_designs keeps only
        # those whose buffer maps to block RAM); half of them with a power-of-two channel
        # count, as networks have (the other sets' log-uniform counts rarely are: their
        # counters and modulo adders always wrap at a compare)
        k = pick(u[1], [2, 3, 3])
        ifm = logint(u[0], 5, 32)
        ch = logint(u[2], 16, 256)
        if u[6] < 0.5:
            ch = pick(u[6] / 0.5, [16, 32, 64, 128, 256])
        simd = divisor_near(ch, logint(u[3], 1, 16))
        st = 2 if k == 2 else pick(u[4], [1, 1, 1, 2])
        b = pick(u[5], [1, 2, 2, 4])
        return _window_spec(sid, ifm, ch, simd, k, st, b)
    if kind == "SlidingWindowPar":
        # a window of 2x2 .. 3x3 whose PAR (a divisor of the kernel row's words, or whole
        # kernel rows), MMV (with PAR the whole window) and IPAR are drawn from the layer's
        # own options
        from fpgagen.datatypes import DataType
        from fpgagen.layers.conv import SlidingWindow

        ifm = logint(u[0], 4, 24)
        k = pick(u[1], [2, 3, 3])
        ch = logint(u[2], 1, 32)
        simd = divisor_near(ch, logint(u[3], 1, 16))
        st = pick(u[4], [1, 1, 2])
        b = pick(u[5], [1, 2, 4, 8])
        l = SlidingWindow("s", DataType(f"UINT{b}"), (ifm, ifm), ch, (k, k), (st, st), simd=simd)
        pars = [p for p in l.par_options() if p > 1] or [1]
        par = pick(u[6], pars)
        mmv = 1
        if par == l._window_words(simd) and u[7] < 0.5:
            mmv = pick(u[7] / 0.5, l.mmv_options())
        ipar = pick(u[8], l.ipar_options()) if u[8] < 0.5 else 1
        s = {"id": sid, "type": "SlidingWindow", "ifm": ifm, "ch": ch, "simd": simd, "k": k}
        s.update({"stride": st, "bits": b, "par": par, "mmv": mmv, "ipar": ipar})
        return s
    if kind == "Pool":
        ch = logint(u[0], 2, 64)
        pe = divisor_near(ch, logint(u[1], 1, 32))
        k = pick(u[2], [2, 3, 4, 9])
        mode = pick(u[3], ["max", "sum"])
        ind = pick(u[4], ["UINT2", "UINT4", "INT4", "INT8", "UINT1"])
        s = {"id": sid, "type": "Pool", "ch": ch, "pe": pe, "k": k, "mode": mode, "in": ind}
        return s
    if kind == "FIFO":
        return {
            "id": sid,
            "type": "FIFO",
            "width": logint(u[0], 1, 256),
            "depth": logint(u[1], 2, 4096),
        }
    if kind in ("DWC", "DWCRatio"):
        if kind == "DWC":
            a, b = logint(u[0], 1, 64), logint(u[1], 1, 64)
            if a == b:
                b = a + 1
        else:  # an integer ratio K of 2-16, narrowing or widening
            a, k = logint(u[0], 1, 32), pick(u[1], [2, 2, 3, 4, 4, 6, 8, 16])
            a, b = (a * k, a) if u[3] < 0.5 else (a, a * k)
        return {
            "id": sid,
            "type": "DWC",
            "in_elems": a,
            "out_elems": b,
            "bits": pick(u[2], [1, 2, 3, 4, 8]),
        }
    if kind == "AddStreams":
        ch = logint(u[0], 2, 128)
        pe = divisor_near(ch, logint(u[1], 1, 32))
        ind = pick(u[2], ["UINT2", "UINT4", "INT4", "INT8", "UINT8"])
        return {"id": sid, "type": "AddStreams", "ch": ch, "pe": pe, "in": ind}
    if kind == "DuplicateStreams":
        return {"id": sid, "type": "DuplicateStreams", "width": logint(u[0], 1, 256)}
    if kind == "LabelSelect":
        ch = logint(u[0], 2, 200)
        pe = divisor_near(ch, logint(u[1], 1, 16))
        k = min(ch, pick(u[2], [1, 1, 3, 5]))
        ind = pick(u[3], ["INT8", "INT12", "INT16", "UINT8", "INT20"])
        return {"id": sid, "type": "LabelSelect", "ch": ch, "pe": pe, "k": k, "in": ind}
    if kind == "FMPadding":
        ifm = logint(u[0], 4, 32)
        ch = logint(u[1], 1, 64)
        simd = divisor_near(ch, logint(u[2], 1, 32))
        b = pick(u[3], [1, 2, 4, 8])
        return {"id": sid, "type": "FMPadding", "ifm": ifm, "ch": ch, "simd": simd, "bits": b}
    if kind == "GlobalAccPool":
        ch = logint(u[0], 2, 128)
        pe = divisor_near(ch, logint(u[1], 1, 16))
        n = logint(u[2], 4, 1024)
        ind = pick(u[3], ["UINT2", "UINT4", "INT4", "UINT8"])
        return {"id": sid, "type": "GlobalAccPool", "ch": ch, "pe": pe, "n_pix": n, "in": ind}
    raise ValueError(kind)


def _ok(spec: dict) -> bool:
    """True when the layer class accepts the design and it is small enough to synthesize."""
    from fpgagen.cost import model

    try:
        l = calibrate.build(spec)
        l.check_hw()
        est = model.estimate(l)
    except Exception:
        return False
    if spec["type"] in ("MVAU", "VVAU"):
        words = (
            l.nf * l.sf * l.weight_word_bits
            if spec["type"] == "MVAU"
            else l.k * l.cf * l.weight_word_bits
        )
        if words > 2_000_000:
            return False
    return est["lut"] <= MAX_LUT


def _block_ram(spec: dict) -> bool:
    """True when the design's memory maps to block RAM (the model's map_memory, exact on every
    stored design)."""
    from fpgagen.cost import model

    return model.estimate(calibrate.build(spec))["bram18"] > 0


def random_designs(set_name: str) -> list[dict]:
    """The designs of one set (deterministic: seeded by :data:`SEEDS`)."""
    out = []
    for kind, n in COUNTS[set_name].items():
        rng = np.random.default_rng([SEEDS[set_name], zlib_id(kind)])
        pts = lhs(rng, n, 9)
        for i in range(n):
            u = pts[i]
            for _attempt in range(200):
                s = _spec(kind, u, set_name, i, set_name.startswith("regime"))
                if _ok(s) and (kind != "SlidingWindowBram" or _block_ram(s)):
                    break
                if kind == "SlidingWindowBram":  # a fresh point: shrinking keeps it LUTRAM
                    u = rng.random(u.shape)
                    continue
                # shrink towards the small end of every parameter and retry
                u = u * rng.uniform(0.6, 0.95, size=u.shape)
            else:
                continue
            s["seed"] = int(rng.integers(1 << 30))
            out.append(s)
    return out


def set_designs(set_name: str, stored: dict | None = None) -> list[dict]:
    """The designs of one set: :func:`random_designs` with every design already stored in
    ``stored`` (the ``designs`` of ``cost_random.json``; read when None) replaced by its
    stored spec, the set as it was synthesized and scored."""
    if stored is None:
        stored = _load(RANDOM)["designs"]
    return [stored[s["id"]]["spec"] if s["id"] in stored else s for s in random_designs(set_name)]


def zlib_id(s: str) -> int:
    import zlib

    return zlib.crc32(s.encode())


# ------------------------------------------------------------------------------------------
# layer sweep
# ------------------------------------------------------------------------------------------
def _load(path: Path) -> dict:
    if path.is_file():
        return json.loads(path.read_text())
    return {"designs": {}}


def _save(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


def interleaved(sets) -> list[dict]:
    """The designs of ``sets`` in an order that mixes sets and layer types (a sweep stopped
    early still has some of everything); the hold-out and regime sets come twice as fast as
    the training set (the first half of the training set is interleaved with all of them)."""
    stored = _load(RANDOM)["designs"]
    lists = [set_designs(s, stored) for s in sets]
    out = []
    for i in range(max(len(x) for x in lists)):
        for x in lists:
            if i < len(x):
                out.append(x[i])
    # mix types: sort by the position within its type
    pos: dict = {}
    keyed = []
    for s in out:
        k = (s["id"].split("_")[1], s["type"])
        pos[k] = pos.get(k, 0) + 1
        speed = 2.0 if k[0] == "train" else 1.0
        n_kind = COUNTS[k[0]].get(s["type"]) or sum(COUNTS[k[0]].values())  # MVAUFull: MVAU
        keyed.append((pos[k] / n_kind * speed, s))
    keyed.sort(key=lambda t: t[0])
    return [s for _, s in keyed]


def cmd_sweep(args) -> int:
    from fpgagen.synth import yosys_version
    from fpgagen.tasks import Task, run_tasks

    sets = [args.set] if args.set else ["train", "holdout", "regime"]
    specs = interleaved(sets)
    if args.limit:
        specs = specs[: args.limit]
    data = _load(RANDOM)
    data["yosys"] = yosys_version()
    data["seeds"] = SEEDS
    todo = [
        s for s in specs if s["id"] not in data["designs"] or data["designs"][s["id"]]["spec"] != s
    ]
    print(f"{len(specs)} designs, {len(todo)} to synthesize, {args.jobs} worker(s)", flush=True)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="fpgagen_rnd_")).resolve()
    batch = max(1, args.batch)
    failed = []
    for b0 in range(0, len(todo), batch):
        chunk = todo[b0 : b0 + batch]
        tasks = [
            Task(
                calibrate.synth_design,
                {"spec": s, "workdir": str(work)},
                label=s["id"],
                kind="calibrate",
            )
            for s in chunk
        ]
        outs = run_tasks(
            tasks, jobs=args.jobs, cache=False, progress=lambda m: print(m, flush=True)
        )
        data = _load(RANDOM) | {"yosys": data["yosys"], "seeds": SEEDS}
        failed += _store(outs, data)
        _save(RANDOM, data)
        print(f"saved {len(data['designs'])} designs ({time.strftime('%H:%M:%S')})", flush=True)
    return 1 if failed else 0


def cmd_resynth(args) -> int:
    """Synthesize again the stored designs whose id matches ``--ids`` (a regex), from their
    stored specs (the generator of the early sets has changed since they were drawn), and
    replace their Yosys counts: after a change of the RTL they map to."""
    from fpgagen.tasks import Task, run_tasks

    data = _load(RANDOM)
    specs = [v["spec"] for k, v in data["designs"].items() if re.fullmatch(args.ids, k)]
    print(f"{len(specs)} stored designs to synthesize again, {args.jobs} worker(s)", flush=True)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="fpgagen_rnd_")).resolve()
    tasks = [
        Task(calibrate.synth_design, {"spec": s, "workdir": str(work)}, label=s["id"])
        for s in specs
    ]
    outs = run_tasks(tasks, jobs=args.jobs, cache=False, progress=lambda m: print(m, flush=True))
    data = _load(RANDOM)
    failed = _store(outs, data)
    _save(RANDOM, data)
    return 1 if failed else 0


def _store(outs, data: dict) -> list:
    """Put the synthesized designs of ``outs`` (task outcomes) into ``data``; returns the
    failed outcomes, each reported."""
    failed = []
    for o in outs:
        if o.ok:
            r = o.result
            data["designs"][r["spec"]["id"]] = {
                k: r[k] for k in ("spec", "layer", "yosys", "cells")
            }
        else:
            failed.append(o)
            print(f"FAILED: {o.label}: {o.error}", flush=True)
    return failed


# ------------------------------------------------------------------------------------------
# stitched tops and the issue's MLPs
# ------------------------------------------------------------------------------------------
def mlp_model(sizes, in_bits, in_signed, w_bits, act_bits, act_signed, seed):
    """A QONNX MLP ``sizes[0] -> ... -> sizes[-1]`` (hand-built graph, no torch): input Quant
    of ``in_bits``, weights Quant of ``w_bits`` (2 = ternary), BatchNorm + (Relu) + Quant of
    ``act_bits`` between layers (signed, narrow when ``act_signed``), the last layer raw."""
    from tests.support.qonnx_graphs import GraphBuilder

    rng = np.random.default_rng(seed)
    b = GraphBuilder([1, sizes[0]])
    h = b.quant("x", 0.125, in_bits, signed=int(in_signed))
    for j, (a, o) in enumerate(itertools.pairwise(sizes)):
        lim = 2 ** (w_bits - 1) - 1
        w = b.qweight(rng.integers(-lim, lim + 1, (a, o)) * 0.5, 0.5, w_bits)
        h = b.node("MatMul", [h, w])
        if j == len(sizes) - 2:
            break
        h = b.node(
            "BatchNormalization",
            [
                h,
                b.const(rng.uniform(0.5, 1.5, o).astype(np.float32)),
                b.const(rng.normal(0, 1, o).astype(np.float32)),
                b.const(rng.normal(0, 1, o).astype(np.float32)),
                b.const(rng.uniform(1, 3, o).astype(np.float32) * a / 8),
            ],
        )
        if act_signed:
            h = b.quant(h, 0.5, act_bits, signed=1, narrow=1)
        else:
            h = b.quant(b.node("Relu", [h]), 0.5, act_bits, signed=0)
    b.node("Mul", [h, b.const(np.float32(0.5))])
    return b.model([1, sizes[-1]])


#: the issue's two MLPs (ZCU104, 64 cycles per frame)
ISSUE = [
    {
        "id": "issue_tern_mlp_64_40_24_10",
        "sizes": [64, 40, 24, 10],
        "in_bits": 4,
        "in_signed": True,
        "w_bits": 2,
        "act_bits": 3,
        "act_signed": False,
        "target_cycles": 64,
        "seed": 1801,
        # the foldings of the issue's table (what the optimiser chose then)
        "folding": {"MatMul_10": [40, 1], "MatMul_26": [2, 8], "MatMul_42": [2, 2]},
    },
    {
        "id": "issue_tfc_w2a2_784_64_64_64_10",
        "sizes": [784, 64, 64, 64, 10],
        "in_bits": 2,
        "in_signed": True,
        "w_bits": 2,
        "act_bits": 2,
        "act_signed": True,
        "target_cycles": 64,
        "seed": 1802,
        "folding": {
            "MatMul_10": [16, 49],
            "MatMul_25": [4, 16],
            "MatMul_40": [4, 16],
            "MatMul_55": [10, 1],
        },
    },
]


def top_specs(set_name: str = "tops") -> list[dict]:
    """Random MLPs (seed :data:`SEEDS` ``[set_name]``) for stitched-top checks; kept small."""
    rng = np.random.default_rng(SEEDS[set_name])
    n = TOP_COUNTS[set_name]
    pts = lhs(rng, n, 6)
    out = []
    prefix = {"tops": "r_top", "tops_holdout": "r_toph", "tops_holdout2": "r_tophb"}[set_name]
    for i in range(n):
        u = pts[i]
        depth = pick(u[0], [2, 2, 3])
        sizes = [logint(float(x), 8, 40) for x in rng.random(depth + 1)]
        sizes[-1] = min(sizes[-1], 16)
        wb = pick(u[1], [1, 2, 2, 3, 4])
        ab = pick(u[2], [1, 2, 3, 4])
        out.append(
            {
                "id": f"{prefix}_{i:02d}",
                "sizes": sizes,
                "in_bits": pick(u[3], [2, 4, 8]),
                "in_signed": bool(u[4] < 0.5),
                "w_bits": max(2, wb),
                "act_bits": max(2, ab),
                "act_signed": bool(u[5] < 0.3),
                "target_cycles": int(pick(u[5], [32, 64, 128, 256, 512])),
                "seed": {"tops": 18100, "tops_holdout": 18200, "tops_holdout2": 18300}[set_name]
                + i,
            }
        )
    return out


def run_top(spec: dict, work: Path, jobs: int, top: bool = True) -> dict:
    """Build ``spec``'s MLP for the ZCU104 (rtl backend) and synthesize every layer and the
    stitched top."""
    import onnx
    from fpgagen import flow
    from fpgagen.synth import synth_build

    d = work / spec["id"]
    d.mkdir(parents=True, exist_ok=True)
    m = mlp_model(
        spec["sizes"],
        spec["in_bits"],
        spec["in_signed"],
        spec["w_bits"],
        spec["act_bits"],
        spec["act_signed"],
        spec["seed"],
    )
    mp = d / "model.onnx"
    onnx.save(m, mp)
    out = d / "build"
    kw = {"target_cycles_": spec["target_cycles"]}
    if spec.get("folding"):  # a fixed folding (PE, SIMD) per layer
        fp = d / "folding.json"
        fold = {k: {"PE": v[0], "SIMD": v[1]} for k, v in spec["folding"].items()}
        fp.write_text(json.dumps({"layers": fold}))
        kw = {"folding": str(fp)}
    flow.build(mp, "zcu104", out, backend="rtl", progress=lambda *a, **k: None, io="stream", **kw)
    r = synth_build(out, top=top, jobs=jobs, progress=lambda m: print("   ", m, flush=True))
    meta = json.loads((out / "dataflow.json").read_text())
    return {
        "spec": spec,
        "synth": r,
        "folding": meta["folding"],
        "fifo_depths": meta.get("fifo_depths"),
    }


def cmd_tops(args) -> int:
    if args.cmd == "issue":
        specs = ISSUE
    else:
        name = {"holdout": "tops_holdout", "holdout2": "tops_holdout2"}.get(args.set, "tops")
        specs = top_specs(name)
    if args.only:
        specs = [s for s in specs if args.only in s["id"]]
    data = _load(TOPS)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="fpgagen_tops_")).resolve()
    for s in specs:
        have = data["designs"].get(s["id"])
        if have and have["spec"] == s and (have["top"] or args.no_top):
            continue
        print(f"== {s['id']} {s}", flush=True)
        try:
            r = run_top(s, work, args.jobs, top=not args.no_top)
        except Exception as e:  # report and go on
            print(f"FAILED {s['id']}: {type(e).__name__}: {e}", flush=True)
            continue
        data = _load(TOPS)
        syn = r["synth"]
        data["designs"][s["id"]] = {
            "spec": s,
            "layers": [
                {k: x.get(k) for k in ("name", "type", "folding", "estimate", "status", "actual")}
                for x in syn["layers"]
            ],
            "top": {k: v for k, v in (syn.get("top") or {}).items() if k not in ("log",)},
            "folding": r["folding"],
            "fifo_depths": r["fifo_depths"],
            "sum_estimate": syn["sum_estimate_all"],
            "sum_actual": syn["sum_actual"],
        }
        _save(TOPS, data)
        t = syn.get("top") or {}
        print(
            f"   top LUT {t.get('lut')} vs sum of layers {syn['sum_actual'].get('lut')} "
            f"(estimate {syn['sum_estimate_all'].get('lut')}) {time.strftime('%H:%M:%S')}",
            flush=True,
        )
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("resynth")
    r.add_argument("--ids", required=True, help="regex on the ids of stored designs")
    r.add_argument("-j", "--jobs", type=int, default=1)
    r.add_argument("--workdir", default=None)
    for name in ("list", "sweep", "tops", "issue"):
        p = sub.add_parser(name)
        p.add_argument("--set", choices=sorted(COUNTS), default=None)
        p.add_argument("-j", "--jobs", type=int, default=1)
        p.add_argument("--limit", type=int, default=0)
        p.add_argument("--batch", type=int, default=8)
        p.add_argument("--workdir", default=None)
        p.add_argument("--only", default=None)
        p.add_argument("--no-top", action="store_true", help="layers only (tops, issue)")
    a = ap.parse_args(argv)
    if a.cmd == "list":
        for s in interleaved([a.set] if a.set else ["train", "holdout", "regime"]):
            print(s["id"], {k: v for k, v in s.items() if k not in ("id", "seed")})
        return 0
    if a.cmd == "sweep":
        return cmd_sweep(a)
    if a.cmd == "resynth":
        return cmd_resynth(a)
    return cmd_tops(a)


if __name__ == "__main__":
    sys.exit(main())
