"""fold.fifo: the word-level need of every layer on hand-computed patterns, their composition
along a branch, and the skip-FIFO depth of a residual block."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from fpgagen.datatypes import int_type, uint_type
from fpgagen.fold.fifo import MARGIN, SizeSkipFIFOs, branch_need, need
from fpgagen.layers import (
    DWC,
    FIFO,
    MVAU,
    AddStreams,
    DuplicateStreams,
    FMPadding,
    GlobalAccPool,
    LabelSelect,
    Pool,
    SlidingWindow,
    Thresholding,
)

U4 = uint_type(4)


def _mvau(mh, mw, pe=1, simd=1, nv=1):
    return MVAU("m", np.ones((mh, mw), np.int64), U4, int_type(2), num_vectors=nv, pe=pe, simd=simd)


def test_mvau_needs_the_whole_input_vector():
    # NF = 2 output folds, SF = 3 input words per vector, 2 vectors: each output word needs
    # its vector's 3 words
    assert need(_mvau(4, 6, pe=2, simd=2, nv=2)).tolist() == [3, 3, 6, 6]


def test_streaming_layers_need_one_word_per_word():
    t = Thresholding("t", np.zeros((4, 1), np.int64), U4, uint_type(1), num_vectors=2, pe=2)
    assert need(t).tolist() == [1, 2, 3, 4]
    assert need(FIFO("f", U4, 4, 2, depth=4, num_vectors=2)).tolist() == [1, 2, 3, 4]
    dup = DuplicateStreams("d", U4, 2, 1, 3)
    assert need(dup).tolist() == list(range(1, 7))
    assert need(AddStreams("a", U4, 2, 3)).tolist() == list(range(1, 7))


def test_dwc_needs_the_input_words_covering_each_output_word():
    # 2 -> 3 elements per word, 6 elements: output word 0 = elements 0..2 (input words 0, 1),
    # output word 1 = elements 3..5 (input words 1, 2)
    assert need(DWC("w", U4, 6, 2, 3)).tolist() == [2, 3]
    # 3 -> 2: output words cover elements 0-1, 2-3, 4-5 -> input words 1, 2, 2
    assert need(DWC("w", U4, 6, 3, 2)).tolist() == [1, 2, 2]


def test_sliding_window_needs_its_window_element():
    # 3x3 map, 1 channel, 2x2 kernel, stride 1: the 4 windows read input pixels
    # (0,1,3,4), (1,2,4,5), (3,4,6,7), (4,5,7,8); the stream is read in order (running max)
    sw = SlidingWindow("s", U4, (3, 3), 1, (2, 2), (1, 1))
    raw = [1, 2, 4, 5, 2, 3, 5, 6, 4, 5, 7, 8, 5, 6, 8, 9]
    assert need(sw).tolist() == np.maximum.accumulate(raw).tolist()
    # stride 2 on a 4x4 map: windows (0,1,4,5), (2,3,6,7), (8,9,12,13), (10,11,14,15)
    sw2 = SlidingWindow("s", U4, (4, 4), 1, (2, 2), (2, 2))
    raw = [1, 2, 5, 6, 3, 4, 7, 8, 9, 10, 13, 14, 11, 12, 15, 16]
    assert need(sw2).tolist() == np.maximum.accumulate(raw).tolist()


def test_padding_needs_nothing_for_the_border():
    # 2x2 map padded by 1 on every side: inside pixels of the 4x4 output are input 1..4
    p = FMPadding("p", U4, (2, 2), 1, (1, 1, 1, 1), 0)
    assert need(p).tolist() == [0, 0, 0, 0, 0, 1, 2, 2, 2, 3, 4, 4, 4, 4, 4, 4]


def test_pools_need_their_window_or_the_whole_frame():
    # 2 channels, PE 1 (CF = 2), a window of 4 elements per pixel, 2 pixels
    assert need(Pool("p", U4, 2, 4, "max", 2)).tolist() == [8, 8, 16, 16]
    g = GlobalAccPool("g", U4, 4, 5, pe=2)  # 5 pixels x 2 words
    assert need(g).tolist() == [10, 10]
    ls = LabelSelect("l", U4, 10, 3, pe=2)
    assert need(ls).tolist() == [5, 5, 5]


def test_branch_need_composes_along_the_stream():
    # MVAU (NF=2, SF=2, 2 vectors) then a Thresholding: output word j of the branch needs the
    # MVAU's output word j, i.e. input words 2, 2, 4, 4
    m = _mvau(2, 2, nv=2)
    t = Thresholding("t", np.zeros((2, 1), np.int64), m.out_dtype, uint_type(1), num_vectors=2)
    assert branch_need([m, t], 4).tolist() == [2, 2, 4, 4]
    # a DWC 1 -> 2 in front doubles the input words needed
    w = DWC("w", U4, 2, 1, 2, num_vectors=2)  # 2 elements per vector, in words of 1
    assert branch_need([m, w], 2).tolist() == [2, 4]


def _residual(short_depth: int, long_layers):
    """dup -> (long_layers) -> add.in0 ; dup -> FIFO(short_depth) -> add.in1"""
    dup = DuplicateStreams("dup", U4, 2, 1, 4)
    dup.ins, dup.outs = ["s_in"], ["s_a", "s_b"]
    prev = "s_a"
    for i, l in enumerate(long_layers):
        l.ins, l.outs = [prev], [f"s_l{i}"]
        prev = f"s_l{i}"
    f = FIFO("short", U4, 2, 1, depth=short_depth, num_vectors=4)
    f.ins, f.outs = ["s_b"], ["s_short"]
    add = AddStreams("add", U4, 2, 4)
    add.ins, add.outs = [prev, "s_short"], ["s_out"]
    layers = [dup, *long_layers, f, add]

    def producer(s):
        return next((l for l in layers if s in l.outs), None)

    return SimpleNamespace(layers=layers, producer=producer), f


def test_skip_fifo_depth_is_twice_the_lag_plus_margin():
    # long branch: FIFO then an MVAU 2x2 (NF=SF=2) over 4 vectors: add word j needs dup words
    # 2, 2, 4, 4, 6, 6, 8, 8; the short branch needs j+1: lag max 1 -> 2*1 + MARGIN
    m = MVAU("m", np.ones((2, 2), np.int64), U4, int_type(2), num_vectors=4)
    df, short = _residual(2, [FIFO("fl", U4, 2, 1, depth=2, num_vectors=4), m])
    _, changed = SizeSkipFIFOs().apply(df)
    assert changed and short.depth == 2 * 1 + MARGIN
    assert short.sized_for == "add"
    # applied again: nothing changes
    assert SizeSkipFIFOs().apply(df)[1] is False


def test_skip_fifo_over_a_line_buffer():
    # long branch: padding 1 + 3x3 window + pool over a 2x2 map of 2 channels (like a conv):
    # the lag is the line buffer's read-ahead, computed from the composed needs
    pad = FMPadding("pad", U4, (2, 2), 2, (1, 1, 1, 1), 0)
    sw = SlidingWindow("sw", U4, (4, 4), 2, (3, 3), (1, 1))
    pool = Pool("pool", U4, 2, 9, "max", 4)
    df, short = _residual(2, [pad, sw, pool])
    n = 8  # add words: 4 pixels x 2 channels
    long_need = branch_need([pad, sw, pool], n)
    lag = int((long_need - np.arange(1, n + 1)).max())
    assert lag > 0
    SizeSkipFIFOs().apply(df)
    assert short.depth == 2 * lag + MARGIN
    # by hand: the last pooled pixel needs the whole padded map's last inside word (8)
    assert long_need.tolist()[-1] == 8


def test_a_deep_enough_skip_fifo_is_left_alone():
    m = MVAU("m", np.ones((2, 2), np.int64), U4, int_type(2), num_vectors=4)
    df, short = _residual(64, [FIFO("fl", U4, 2, 1, depth=2, num_vectors=4), m])
    assert SizeSkipFIFOs().apply(df)[1] is False and short.depth == 64


def test_a_layer_without_need_is_an_error():
    class Odd(FIFO):
        op_type = "OddNeed"

        def need(self):
            return super(FIFO, self).need()

    with pytest.raises(ValueError, match="no need function for OddNeed"):
        need(Odd("o", U4, 2, 1, depth=2))
