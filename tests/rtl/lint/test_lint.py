"""Verilator -Wall lint of every rtl/ module over several parameter sets, and rejection of
illegal parameter combinations at build time (fast: no C++ compile)."""

from __future__ import annotations

import pytest

# module -> [parameter sets] (sources: the module and what it instantiates)
LINT = {
    "axis_fifo": [{}, {"DEPTH": 2, "WIDTH": 1}, {"DEPTH": 37, "RAM_STYLE": "block"}],
    "axis_dwc": [
        {"IN_WIDTH": a, "OUT_WIDTH": b}
        for a, b in ((2, 3), (16, 6), (75, 6), (11, 29), (8, 64), (40, 8), (2, 1), (8, 8), (1, 1))
    ],
    "axis_dwc_unload": [{"IN_WIDTH": 2, "OUT_WIDTH": 1}, {"IN_WIDTH": 40, "OUT_WIDTH": 8}],
    "axis_dwc_collect": [{"IN_WIDTH": 1, "OUT_WIDTH": 2}, {"IN_WIDTH": 5, "OUT_WIDTH": 15}],
    "axis_skid": [{}, {"WIDTH": 1}],
    "adder_tree": [
        {"N": n, "IN_W": w, "SIGNED": sg} for n in (1, 2, 7) for w, sg in ((1, 0), (5, 1))
    ],
    "rom_sync": [{}, {"DEPTH": 1, "RAM_STYLE": "distributed"}],
    "weight_mem": [
        {},
        {"DEPTH": 1, "RAM_STYLE": "block"},
        {"RAM_STYLE": "external"},
        {"DEPTH": 1, "WIDTH": 1, "RAM_STYLE": "external"},
        {"DEPTH": 37, "WIDTH": 72, "RAM_STYLE": "ultra"},
    ],
    "mt_count": [
        {},
        {"N_THRES": 1, "V_SIGNED": 0, "OUT_BITS": 1},
        {"N_THRES": 255, "OUT_BITS": 8, "OUT_BIAS": -128, "T_BITS": 16},
    ],
    "thresholding": [
        {},
        {"C": 3, "PE": 3, "IN_BITS": 1, "IN_SIGNED": 0, "N_THRES": 1, "OUT_BITS": 1},
    ],
    "mvau": [
        {},
        {"IN_BIPOLAR": 1, "IN_BITS": 1, "W_BIPOLAR": 1, "W_BITS": 1, "N_THRES": 1, "OUT_BITS": 1},
        {"IN_BIPOLAR": 1, "IN_BITS": 1, "W_SIGNED": 0, "N_THRES": 0, "OUT_BITS": 16},
        {"W_BIPOLAR": 1, "W_BITS": 1, "IN_SIGNED": 0, "SIMD": 1, "PE": 1},
        {"MW": 8, "MH": 4, "SIMD": 8, "PE": 4, "ACC_BITS": 6, "N_THRES": 0, "OUT_BITS": 6},
        {
            "MW": 784,
            "MH": 64,
            "SIMD": 49,
            "PE": 16,
            "IN_BITS": 8,
            "IN_SIGNED": 0,
            "ACC_BITS": 24,
            "N_THRES": 255,
            "OUT_BITS": 8,
            "OUT_BIAS": -128,
            "RAM_STYLE": "block",
        },
        # grouped MVAU (group multipliers): XNOR, ternary, one step per group, NF = 1
        {
            "IN_BIPOLAR": 1,
            "IN_BITS": 1,
            "W_BIPOLAR": 1,
            "W_BITS": 1,
            "N_THRES": 1,
            "OUT_BITS": 1,
            "MULT_BITS": 5,
            "GROUPS": 2,
        },
        {"W_BITS": 2, "MULT_BITS": 3, "GROUPS": 4, "SIMD": 4, "ACC_BITS": 9},
        {
            "MW": 8,
            "MH": 4,
            "SIMD": 1,
            "PE": 4,
            "ACC_BITS": 30,
            "N_THRES": 0,
            "OUT_BITS": 30,
            "MULT_BITS": 16,
            "GROUPS": 8,
        },
    ],
    # window-parallel sliding windows: lanes inside a kernel row, whole rows, CNV's first layer
    "sliding_window": [
        {},
        {"CH": 4, "SIMD": 2, "PAR": 3},
        {"CH": 4, "SIMD": 2, "PAR": 18, "RAM_STYLE": "block"},
        {"IFM_H": 32, "IFM_W": 32, "CH": 3, "SIMD": 3, "PAR": 9, "ELEM_BITS": 8},
        {"K_H": 4, "K_W": 4, "CH": 1, "SIMD": 1, "PAR": 8, "STRIDE_H": 2},
    ],
    # the memory-mapped kernel's modules
    "kernel_ctrl": [{}, {"ADDR_BITS": 12}],
    "kernel_axi_read": [
        {},
        {"DATA_BITS": 512, "BURST_BEATS": 64, "FIFO_DEPTH": 64, "MAX_OUTSTANDING": 1},
        {"DATA_BITS": 32, "BURST_BEATS": 256, "FIFO_DEPTH": 1000, "MAX_OUTSTANDING": 7},
    ],
    "kernel_axi_write": [
        {},
        {"DATA_BITS": 1024, "BURST_BEATS": 32, "MAX_OUTSTANDING": 1},
        {"DATA_BITS": 64, "BURST_BEATS": 1, "MAX_OUTSTANDING": 16},
    ],
    "kernel_unpack": [
        {"BUS_BITS": b, "WORD_BITS": w} for b, w in ((128, 24), (128, 128), (512, 600), (32, 1))
    ],
    "kernel_pack": [
        {"WORD_BITS": w, "BUS_BITS": b} for b, w in ((128, 24), (128, 128), (512, 600), (32, 1))
    ],
    "kernel_shell": [
        {},
        {
            "BUS_BITS": 512,
            "IN_BITS": 600,
            "IN_AXIS_BITS": 600,
            "OUT_BITS": 3,
            "OUT_AXIS_BITS": 8,
            "IN_WORDS": 3,
            "OUT_WORDS": 5,
        },
    ],
    # external weights: the weight streamer, the shared read port, the MVAU/VVAU stream ports
    "kernel_weight_stream": [
        {},
        {"BUS_BITS": 512, "WORD_BITS": 600, "WORDS": 3, "REPEATS": 169, "RING_BEATS": 225},
    ],
    "kernel_read_mux": [{}, {"N": 1, "ORDER_DEPTH": 1}, {"N": 5, "ORDER_DEPTH": 20}],
}
LINT["kernel_axi_read"].append({"WRAP_BEATS": 7})
LINT["mvau"] += [
    {"RAM_STYLE": "external"},
    {"RAM_STYLE": "external", "SIMD": 1, "PE": 1},
    {"RAM_STYLE": "ultra"},
    {"RAM_STYLE": "ultra", "MW": 4, "MH": 2, "SIMD": 4, "PE": 2},
]
LINT.setdefault("vvau", [{}]).extend([{"RAM_STYLE": "external"}, {"RAM_STYLE": "ultra"}])
LINT["kernel_shell"].append({"HAS_LOAD": 1})

# module, illegal parameters, expected piece of the error
ILLEGAL = [
    ("axis_dwc", {"OUT_WIDTH": 0}, "axis_dwc_parameters_IN_WIDTH_and_OUT_WIDTH"),
    ("axis_dwc_unload", {"IN_WIDTH": 12, "OUT_WIDTH": 8}, "IN_WIDTH_must_be_OUT_WIDTH_times"),
    ("axis_dwc_collect", {"IN_WIDTH": 8, "OUT_WIDTH": 8}, "OUT_WIDTH_must_be_IN_WIDTH_times"),
    ("axis_fifo", {"DEPTH": 1}, "axis_fifo_parameter_DEPTH_must_be_at_least_2"),
    ("axis_fifo", {"RAM_STYLE": "fast"}, "RAM_STYLE_must_be"),
    ("thresholding", {"C": 5, "PE": 2}, "PE_must_divide_C"),
    ("weight_mem", {"DEPTH": 0}, "weight_mem_parameters_DEPTH_and_WIDTH_must_be_at_least_1"),
    ("weight_mem", {"RAM_STYLE": "lutram"}, "RAM_STYLE_must_be_auto_block_or_distributed"),
    ("mvau", {"MW": 10, "SIMD": 4}, "mvau_parameter_SIMD_must_divide_MW"),
    ("mvau", {"MH": 9, "PE": 2}, "mvau_parameter_PE_must_divide_MH"),
    ("mvau", {"IN_BIPOLAR": 1, "IN_BITS": 2}, "IN_BIPOLAR_needs_IN_BITS_1"),
    ("mvau", {"N_THRES": 0, "OUT_BITS": 4}, "OUT_BITS_must_equal_ACC_BITS"),
    ("mvau", {"MULT_BITS": 4, "GROUPS": 8}, "GROUPS_must_divide_MW_and_SIMD_the_group_size"),
    ("mvau", {"MULT_BITS": 4, "GROUPS": 3}, "GROUPS_must_divide_MW_and_SIMD_the_group_size"),
    ("mvau", {"GROUPS": 2}, "MULT_BITS_out_of_range_or_GROUPS_without_MULT_BITS"),
    ("sliding_window", {"CH": 4, "SIMD": 2, "PAR": 4}, "PAR_must_divide_K_W_CH_SIMD"),
    ("sliding_window", {"CH": 4, "SIMD": 2, "PAR": 12}, "PAR_must_divide_K_W_CH_SIMD"),
    ("kernel_axi_read", {"DATA_BITS": 96}, "DATA_BITS_must_be_a_power_of_two_32_to_1024"),
    ("kernel_axi_read", {"DATA_BITS": 512, "BURST_BEATS": 128}, "BURST_BEATS_must_be_1_to_256"),
    ("kernel_axi_read", {"BURST_BEATS": 64, "FIFO_DEPTH": 32}, "FIFO_DEPTH_must_be_at_least"),
    ("kernel_axi_read", {"MAX_OUTSTANDING": 0}, "MAX_OUTSTANDING_must_be_at_least_1"),
    ("kernel_axi_write", {"DATA_BITS": 16}, "DATA_BITS_must_be_a_power_of_two_32_to_1024"),
    ("kernel_axi_write", {"BURST_BEATS": 257, "DATA_BITS": 32}, "BURST_BEATS_must_be_1_to_256"),
    ("kernel_ctrl", {"ADDR_BITS": 6}, "ADDR_BITS_must_be_at_least_7"),
    ("kernel_unpack", {"WORD_BITS": 0}, "kernel_unpack_parameters"),
    ("kernel_pack", {"BUS_BITS": 4}, "kernel_pack_parameters"),
    ("kernel_shell", {"IN_BITS": 9, "IN_AXIS_BITS": 8}, "at_most_their_AXIS_width"),
    ("kernel_shell", {"OUT_WORDS": 0}, "IN_WORDS_and_OUT_WORDS_must_be_at_least_1"),
    ("kernel_weight_stream", {"OFFSET": 8}, "OFFSET_bus_aligned"),
    ("kernel_read_mux", {"N": 0}, "N_and_ORDER_DEPTH_must_be_at_least_1"),
]


def _lint(top, params):
    from fpgagen.sim.runner import lint

    return lint(top, params)


@pytest.mark.rtl
@pytest.mark.parametrize("module", list(LINT))
def test_lint_clean(module):
    for params in LINT[module]:
        r = _lint(module, params)
        assert r.returncode == 0 and "%Warning" not in r.stderr, f"{module} {params}:\n{r.stderr}"


@pytest.mark.rtl
@pytest.mark.parametrize("module,params,message", ILLEGAL, ids=[m[2] for m in ILLEGAL])
def test_illegal_parameters_rejected(module, params, message):
    r = _lint(module, params)
    assert r.returncode != 0 and message in r.stderr, f"{module} {params} not rejected:\n{r.stderr}"
