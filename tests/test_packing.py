"""packing.py: round trips for every data type and odd widths, the bit layout checked against
an independent big-integer packing, hex and integer word forms, and the errors."""

import numpy as np
import pytest
from fpgagen import packing
from fpgagen.datatypes import BIPOLAR, TERNARY, DataType, int_type, uint_type

TYPES = (
    [BIPOLAR, TERNARY]
    + [int_type(b) for b in (2, 3, 4, 5, 7, 8, 13, 16, 31, 32, 33, 63, 64)]
    + [uint_type(b) for b in (1, 2, 3, 5, 8, 9, 17, 32, 47, 64)]
)


def _values(dtype, n, rng):
    """``n`` random values of ``dtype`` including its extremes (Python ints, exact)."""
    if dtype.is_bipolar:
        return [int(v) for v in rng.choice([-1, 1], n)]
    lo, hi = dtype.min, dtype.max
    vals = [lo, hi, 0 if lo <= 0 else lo] + [
        lo + int(rng.integers(0, 2**62)) * (hi - lo) // (2**62 - 1) for _ in range(n - 3)
    ]
    return vals[:n]


def _reference_words(values, dtype, elems):
    """Words as little-endian bytes of the big integer sum(field_i << (i * bits))."""
    bits = dtype.bits
    n_bytes = (elems * bits + 7) // 8
    words = []
    for k in range(0, len(values), elems):
        word = 0
        for i, v in enumerate(values[k : k + elems]):
            field = (v + 1) // 2 if dtype.is_bipolar else v & ((1 << bits) - 1)
            word |= field << (i * bits)
        words.append(list(word.to_bytes(n_bytes, "little")))
    return np.array(words, dtype=np.uint8).reshape(-1, n_bytes)


@pytest.mark.parametrize("dtype", TYPES, ids=str)
@pytest.mark.parametrize("elems", [1, 3, 5, 7])
def test_round_trip_and_layout(dtype, elems):
    rng = np.random.default_rng(dtype.bits * 10 + elems)
    vals = _values(dtype, 4 * elems, rng)
    arr = np.array(vals, dtype=np.uint64 if dtype.name == "UINT64" else np.int64)
    words = packing.pack(arr, dtype, elems)
    assert words.shape == (4, (elems * dtype.bits + 7) // 8)
    np.testing.assert_array_equal(words, _reference_words(vals, dtype, elems))
    back = packing.unpack(words, dtype, elems)
    assert back.dtype == np.int64
    # UINT64 values above 2^63 come back as the int64 with the same 64 bits
    assert back.tolist() == [v - 2**64 if v >= 2**63 else v for v in vals]
    # hex text (MSB first) and Python integers carry the same words
    wbits = elems * dtype.bits
    hexes = packing.to_hex(words, wbits)
    assert all(len(h) == (wbits + 3) // 4 for h in hexes)
    np.testing.assert_array_equal(packing.from_hex(hexes, wbits), words)
    ints = packing.words_to_ints(words)
    assert ints == [int(h, 16) for h in hexes]
    np.testing.assert_array_equal(packing.ints_to_words(ints, wbits), words)


def test_hand_packed_words():
    # element 0 in the least significant bits
    assert packing.pack([1, 2, 3], uint_type(3), 3).tolist() == [[0b11010001, 0]]
    assert packing.pack([-1, 2], int_type(4), 2).tolist() == [[0x2F]]
    assert packing.pack([-1, 1, 1, -1, 1], BIPOLAR, 5).tolist() == [[0b10110]]
    assert packing.pack([-1, 0, 1], TERNARY, 3).tolist() == [[0b010011]]
    assert packing.to_hex(packing.pack([5, 1], uint_type(5), 2), 10) == ["025"]
    assert packing.to_hex(np.array([[0xAB, 0xCD]], np.uint8), 16) == ["cdab"]


def test_unpack_ignores_axi_padding_bits():
    words = packing.pack([3, -4, 1], int_type(3), 3)  # 9 bits in 2 bytes
    words[:, 1] |= 0xFE  # garbage in the 7 padding bits
    assert packing.unpack(words, int_type(3), 3).tolist() == [3, -4, 1]


def test_axis_width():
    assert [packing.axis_width(b) for b in (1, 7, 8, 9, 16, 17, 64)] == [8, 8, 8, 16, 16, 24, 64]


@pytest.mark.parametrize(
    "values, dtype, bad",
    [
        ([0, 1], BIPOLAR, "0"),
        ([2], TERNARY, "2"),
        ([8], int_type(4), "8"),
        ([-1], uint_type(3), "-1"),
    ],
)
def test_values_outside_the_type_are_refused(values, dtype, bad):
    with pytest.raises(ValueError, match=f"value {bad} is not a valid {dtype}"):
        packing.pack(values, dtype, len(values))


def test_shape_errors():
    with pytest.raises(ValueError, match="5 elements do not fill words of 2 elements"):
        packing.pack([0] * 5, uint_type(2), 2)
    with pytest.raises(ValueError, match="words of 1 bytes cannot hold 3 x 4 bits"):
        packing.unpack(np.zeros((1, 1), np.uint8), uint_type(4), 3)
    with pytest.raises(ValueError, match="word 1 has unknown bits"):
        packing.from_hex(["0f", "xz"], 8)


def test_ints_to_words_masks_to_the_word():
    assert packing.ints_to_words([0x1FF, 3], 8).tolist() == [[0xFF], [3]]
    assert packing.words_to_ints(packing.ints_to_words([2**40 + 5], 41)) == [2**40 + 5]


def test_datatype_names():
    assert [DataType(n).bits for n in ("BIPOLAR", "TERNARY", "INT7", "UINT1")] == [1, 2, 7, 1]


@pytest.mark.parametrize(
    "name",
    [
        "BIPOLAR",
        "UINT1",
        "UINT2",
        "UINT3",
        "INT3",
        "UINT4",
        "INT5",
        "UINT7",
        "INT8",
        "UINT8",
        "INT9",
        "UINT16",
    ],
)
def test_values_buffer_equals_words_then_buffer(name):
    """pack_values_buffer / unpack_values_buffer (fields straight into bytes) give the same
    buffer as pack + pack_buffer for every word size, and invert it exactly."""
    from fpgagen.packing import pack_values_buffer, unpack_values_buffer

    dt = DataType(name)
    rng = np.random.default_rng(dt.bits)
    for elems, bus, n_words in [(1, 8, 5), (3, 64, 7), (16, 128, 33), (5, 128, 1)]:
        n = elems * n_words
        v = rng.choice([-1, 1], n) if dt.is_bipolar else rng.integers(dt.min, dt.max + 1, n)
        ref = packing.pack_buffer(packing.pack(v, dt, elems), elems * dt.bits, bus)
        assert np.array_equal(pack_values_buffer(v, dt, bus), ref)
        assert np.array_equal(unpack_values_buffer(ref, n, dt), v)
    with pytest.raises(ValueError, match="not a valid"):
        pack_values_buffer(np.array([dt.max + 1]), dt, 64)
