"""Dense kernel buffers (packing.pack_buffer/unpack_buffer) and the ABI's size helpers."""

import numpy as np
import pytest
from fpgagen import abi, packing
from fpgagen.datatypes import DataType


@pytest.mark.parametrize("word_bits", [1, 3, 8, 24, 36, 130])
@pytest.mark.parametrize("bus_bits", [32, 128, 512])
@pytest.mark.parametrize("n_words", [1, 7, 64])
def test_buffer_round_trip(word_bits, bus_bits, n_words):
    rng = np.random.default_rng(word_bits * 1000 + bus_bits + n_words)
    ints = [int(rng.integers(0, 2**62)) << 70 | int(rng.integers(0, 2**62)) for _ in range(n_words)]
    words = packing.ints_to_words(ints, word_bits)
    buf = packing.pack_buffer(words, word_bits, bus_bits)
    assert buf.size == abi.buffer_bytes(1, n_words, word_bits, bus_bits)
    assert buf.size * 8 % bus_bits == 0
    back = packing.unpack_buffer(buf, n_words, word_bits)
    assert packing.words_to_ints(back) == packing.words_to_ints(words)


def test_buffer_is_dense_bit_concatenation():
    # 3-bit words 5, 2, 7: bits 101 | 010 | 111 -> value 0b111_010_101 = 0x1D5
    words = packing.ints_to_words([5, 2, 7], 3)
    buf = packing.pack_buffer(words, 3, 32)
    assert int.from_bytes(buf.tobytes(), "little") == 0b111010101
    assert buf.size == 4  # one 32-bit beat, zero padded


def test_buffer_of_elements_matches_stream_packing():
    dt = DataType("INT4")
    vals = np.arange(-8, 8).repeat(3)[:40]
    words = packing.pack(vals, dt, 5)  # 20-bit words
    buf = packing.pack_buffer(words, 20, 128)
    big = int.from_bytes(buf.tobytes(), "little")
    for i, v in enumerate(vals):
        assert packing.decode([(big >> (4 * i)) & 0xF], dt)[0] == v


def test_bad_widths_refused():
    with pytest.raises(ValueError):
        packing.pack_buffer(np.zeros((2, 1), np.uint8), 9, 128)
    with pytest.raises(ValueError):
        packing.unpack_buffer(np.zeros(2, np.uint8), 3, 8)


def test_abi_register_map_matches_vitis_hls_layout():
    # Vitis HLS: 64-bit pointer args take two 32-bit slots plus a reserved word
    assert (abi.REG_IN_LO, abi.REG_IN_HI, abi.REG_OUT_LO, abi.REG_OUT_HI) == (
        0x10,
        0x14,
        0x1C,
        0x20,
    )
    assert abi.REG_N == 0x28 and abi.REG_STATUS < 1 << abi.CONTROL_ADDR_BITS
    assert abi.bus_beats(3, 10, 24, 128) == -(-720 // 128)
