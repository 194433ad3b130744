"""The one packing/unpacking module of fpgagen.

Golden model, RTL testbenches, HLS testbenches and the board driver all pack and unpack
streams and memories here (docs/conventions.md has the rules):

* a word carries ``elems`` consecutive elements; element 0 sits in the least significant bits;
* an element of a type with ``b`` bits occupies ``b`` bits: BIPOLAR encodes -1 as 0 and +1 as 1,
  signed types are two's complement, unsigned types are plain binary;
* words are represented in Python as a ``(n_words, n_bytes)`` ``uint8`` matrix, little endian
  (byte 0 holds bits 7..0), or as hex text, most significant digit first, one word per line;
* AXI-Stream TDATA is the word padded with zero bits up to a multiple of 8;
* a memory buffer of the accelerator kernel concatenates words bit by bit (no padding between
  words, word 0 in the least significant bits of byte 0) and pads only the end, to a multiple
  of the bus width (:func:`pack_buffer`, :func:`unpack_buffer`); since a stream word of
  ``elems`` elements has exactly ``elems * bits`` bits, that buffer is the elements' bit fields
  concatenated, which :func:`pack_values_buffer` / :func:`unpack_values_buffer` build
  directly (8 fields per 64-bit integer for types of up to 8 bits, the bus-width padding
  included): the same bytes, without a bit per byte in between.
"""

from __future__ import annotations

import numpy as np

from .datatypes import DataType

__all__ = [
    "axis_width",
    "decode",
    "encode",
    "from_hex",
    "ints_to_words",
    "pack",
    "pack_buffer",
    "pack_values_buffer",
    "to_hex",
    "unpack",
    "unpack_buffer",
    "unpack_values_buffer",
    "words_to_ints",
]


def axis_width(word_bits: int) -> int:
    """AXI-Stream TDATA width for a word of ``word_bits`` bits (padded to a multiple of 8)."""
    return max(8, (word_bits + 7) // 8 * 8)


def encode(values, dtype: DataType) -> np.ndarray:
    """Integer values -> raw bit fields (uint64) of ``dtype.bits`` bits each."""
    v = np.asarray(values)
    if not dtype.allowed(v):
        bad = v[~_allowed_mask(v, dtype)].ravel()[:1]
        raise ValueError(f"value {bad[0] if bad.size else '?'} is not a valid {dtype}")
    v = v.astype(np.int64)
    if dtype.is_bipolar:
        return ((v + 1) // 2).astype(np.uint64)
    mask = (
        np.uint64((1 << dtype.bits) - 1) if dtype.bits < 64 else np.uint64(~0 & 0xFFFFFFFFFFFFFFFF)
    )
    return v.astype(np.uint64) & mask


def _allowed_mask(v, dtype):
    v = np.asarray(v)
    if dtype.is_bipolar:
        return (v == -1) | (v == 1)
    return (v >= dtype.min) & (v <= dtype.max) & (np.round(v) == v)


def decode(fields, dtype: DataType) -> np.ndarray:
    """Raw bit fields -> integer values (int64)."""
    f = np.asarray(fields).astype(np.uint64)
    if dtype.is_bipolar:
        return (f.astype(np.int64) & 1) * 2 - 1
    bits = dtype.bits
    f = f & np.uint64((1 << bits) - 1) if bits < 64 else f
    if dtype.signed and bits < 64:  # sign-extend: move the sign bit to bit 63 and back
        shift = 64 - bits
        return (f << np.uint64(shift)).view(np.int64) >> np.int64(shift)
    return f.astype(np.int64)


def pack(values, dtype: DataType, elems: int) -> np.ndarray:
    """Pack a flat sequence of values into words of ``elems`` elements.

    ``values`` is flattened in C order; its size must be a multiple of ``elems``. Returns a
    ``(n_words, n_bytes)`` uint8 matrix (little endian), ``n_bytes = ceil(elems*bits/8)``.
    """
    fields = encode(np.asarray(values).ravel(), dtype)
    if fields.size % elems:
        raise ValueError(f"{fields.size} elements do not fill words of {elems} elements")
    bits = dtype.bits
    n_words = fields.size // elems
    shifts = np.arange(bits, dtype=np.uint64)
    bitmat = ((fields[:, None] >> shifts[None, :]) & np.uint64(1)).astype(np.uint8)
    bitmat = bitmat.reshape(n_words, elems * bits)
    n_bytes = (elems * bits + 7) // 8
    pad = n_bytes * 8 - elems * bits
    if pad:
        bitmat = np.concatenate([bitmat, np.zeros((n_words, pad), np.uint8)], axis=1)
    return np.packbits(bitmat, axis=1, bitorder="little")


def unpack(words: np.ndarray, dtype: DataType, elems: int) -> np.ndarray:
    """Inverse of :func:`pack`: ``(n_words, n_bytes)`` uint8 -> flat int64 values.

    Bits above ``elems * bits`` (AXI-Stream padding) are ignored.
    """
    words = np.atleast_2d(np.asarray(words, dtype=np.uint8))
    bits = dtype.bits
    bitmat = np.unpackbits(words, axis=1, bitorder="little")[:, : elems * bits]
    if bitmat.shape[1] < elems * bits:
        raise ValueError(f"words of {words.shape[1]} bytes cannot hold {elems} x {bits} bits")
    bitmat = bitmat.reshape(-1, bits).astype(np.uint64)
    fields = (bitmat << np.arange(bits, dtype=np.uint64)[None, :]).sum(axis=1, dtype=np.uint64)
    return decode(fields, dtype)


def to_hex(words: np.ndarray, word_bits: int) -> list[str]:
    """Words (uint8 matrix) -> hex strings of ``ceil(word_bits/4)`` digits, MSB first."""
    words = np.atleast_2d(np.asarray(words, dtype=np.uint8))
    digits = max(1, (word_bits + 3) // 4)
    rev = words[:, ::-1]
    out = []
    for row in rev:
        h = row.tobytes().hex()
        out.append(h[len(h) - digits :] if len(h) >= digits else h.rjust(digits, "0"))
    return out


def from_hex(lines, word_bits: int) -> np.ndarray:
    """Hex strings (MSB first) -> words (uint8 matrix of ceil(word_bits/8) bytes)."""
    n_bytes = max(1, (word_bits + 7) // 8)
    out = np.zeros((len(lines), n_bytes), dtype=np.uint8)
    for i, line in enumerate(lines):
        s = line.strip().lower()
        if "x" in s or "z" in s:
            raise ValueError(f"word {i} has unknown bits: {line.strip()!r}")
        s = s.rjust(n_bytes * 2, "0")[-n_bytes * 2 :]
        out[i] = np.frombuffer(bytes.fromhex(s)[::-1], dtype=np.uint8)
    return out


def words_to_ints(words: np.ndarray) -> list[int]:
    """Words (uint8 matrix) -> Python integers (for simulators' signal values)."""
    words = np.atleast_2d(np.asarray(words, dtype=np.uint8))
    return [int.from_bytes(row.tobytes(), "little") for row in words]


def ints_to_words(ints, word_bits: int) -> np.ndarray:
    """Python integers -> words (uint8 matrix)."""
    n_bytes = max(1, (word_bits + 7) // 8)
    mask = (1 << word_bits) - 1
    return np.array(
        [np.frombuffer((int(i) & mask).to_bytes(n_bytes, "little"), dtype=np.uint8) for i in ints],
        dtype=np.uint8,
    ).reshape(-1, n_bytes)


def pack_buffer(words: np.ndarray, word_bits: int, bus_bits: int) -> np.ndarray:
    """Words (uint8 matrix, bits above ``word_bits`` ignored) -> a dense kernel buffer.

    The words are concatenated bit by bit, word 0 in the least significant bits of byte 0;
    the result (flat uint8) is padded with zero bits to a multiple of ``bus_bits``.
    """
    if word_bits < 1 or bus_bits < 8 or bus_bits % 8:
        raise ValueError(f"bad widths: word_bits={word_bits}, bus_bits={bus_bits}")
    words = np.atleast_2d(np.asarray(words, dtype=np.uint8))
    bits = np.unpackbits(words, axis=1, bitorder="little")
    if bits.shape[1] < word_bits:
        raise ValueError(f"words of {words.shape[1]} bytes cannot hold {word_bits} bits")
    flat = bits[:, :word_bits].ravel()
    total = -(-flat.size // bus_bits) * bus_bits
    if total > flat.size:
        flat = np.concatenate([flat, np.zeros(total - flat.size, np.uint8)])
    return np.packbits(flat, bitorder="little")


def unpack_buffer(buf, n_words: int, word_bits: int) -> np.ndarray:
    """Inverse of :func:`pack_buffer`: the first ``n_words`` words of a dense buffer
    (flat uint8) -> words (uint8 matrix of ``ceil(word_bits/8)`` bytes)."""
    buf = np.asarray(buf, dtype=np.uint8).ravel()
    need = n_words * word_bits
    if buf.size * 8 < need:
        raise ValueError(f"a buffer of {buf.size} bytes cannot hold {n_words} x {word_bits} bits")
    bits = np.unpackbits(buf, bitorder="little")[:need].reshape(n_words, word_bits)
    n_bytes = max(1, (word_bits + 7) // 8)
    pad = n_bytes * 8 - word_bits
    if pad:
        bits = np.concatenate([bits, np.zeros((n_words, pad), np.uint8)], axis=1)
    return np.packbits(bits, axis=1, bitorder="little")


def _group(bits: int) -> int:
    """Fields per group whose bits fill whole bytes (``lcm(bits, 8) / bits``); groups of up
    to 64 bits (types of 1-8, 16, 24, 32, 40, 48 and 56 bits) are packed as integers."""
    from math import gcd

    return 8 // gcd(bits, 8)


def pack_values_buffer(values, dtype: DataType, bus_bits: int) -> np.ndarray:
    """Values -> the dense kernel buffer (flat uint8): the same bytes as
    ``pack_buffer(pack(values, dtype, elems), elems * dtype.bits, bus_bits)`` for every
    ``elems`` dividing the number of values."""
    if bus_bits < 8 or bus_bits % 8:
        raise ValueError(f"bad bus width: bus_bits={bus_bits}")
    v = np.asarray(values).ravel()
    bits = dtype.bits
    n = v.size
    total = -(-(n * bits) // bus_bits) * bus_bits // 8  # bytes, padded to the bus
    g = _group(bits)
    if bits >= 64 or g * bits > 64:
        return _pack_slow(encode(v, dtype), bits, bus_bits)
    nb = g * bits // 8  # bytes per group
    wt = np.uint32 if nb <= 4 else np.uint64
    if v.dtype.kind in "iu" and n:
        # integers: the range check alone, then the low bits (two's complement)
        lo, hi = v.min(), v.max()
        if dtype.is_bipolar:
            if lo < -1 or hi > 1 or np.any(v == 0):
                bad = lo if lo < -1 else hi if hi > 1 else 0
                raise ValueError(f"value {bad} is not a valid {dtype}")
            fields = ((v + 1) >> 1).astype(wt)
        else:
            if lo < dtype.min or hi > dtype.max:
                bad = lo if lo < dtype.min else hi
                raise ValueError(f"value {bad} is not a valid {dtype}")
            fields = v.astype(wt if v.dtype.itemsize <= np.dtype(wt).itemsize else v.dtype)
            fields = (fields & ((1 << bits) - 1)).astype(wt)
    else:
        fields = encode(v, dtype).astype(wt)
    if bits == 1:  # one bit per value: numpy's own bit packing
        out = np.zeros(total, dtype=np.uint8)
        body = np.packbits(fields.astype(np.uint8), bitorder="little")
        out[: body.size] = body
        return out
    ng = -(-n // g)
    if ng * g != n:
        fields = np.concatenate([fields, np.zeros(ng * g - n, wt)])
    f = fields.reshape(ng, g)
    word = f[:, 0].copy()
    for j in range(1, g):
        word |= f[:, j] << wt(j * bits)
    out = np.zeros(total, dtype=np.uint8)
    isz = np.dtype(wt).itemsize
    body = word.astype(np.dtype(wt).newbyteorder("<")).view(np.uint8).reshape(ng, isz)
    body = body[:, :nb].reshape(-1)
    used = (n * bits + 7) // 8
    out[:used] = body[:used]
    return out


def _pack_slow(fields, bits, bus_bits):
    shifts = np.arange(bits, dtype=np.uint64)
    flat = ((fields[:, None] >> shifts[None, :]) & np.uint64(1)).astype(np.uint8).ravel()
    total = -(-flat.size // bus_bits) * bus_bits
    if total > flat.size:
        flat = np.concatenate([flat, np.zeros(total - flat.size, np.uint8)])
    return np.packbits(flat, bitorder="little")


def unpack_values_buffer(buf, n_values: int, dtype: DataType) -> np.ndarray:
    """Inverse of :func:`pack_values_buffer`: the first ``n_values`` values of a dense buffer
    (flat uint8) -> int64 values (the same as ``unpack(unpack_buffer(...), dtype, elems)``)."""
    buf = np.asarray(buf, dtype=np.uint8).ravel()
    bits = dtype.bits
    if buf.size * 8 < n_values * bits:
        raise ValueError(f"a buffer of {buf.size} bytes cannot hold {n_values} x {bits} bits")
    if bits == 1:  # one bit per value: numpy's own bit unpacking
        f = np.unpackbits(buf[: (n_values + 7) // 8], bitorder="little")[:n_values]
        return f.astype(np.int64) * 2 - 1 if dtype.is_bipolar else f.astype(np.int64)
    g = _group(bits)
    if bits >= 64 or g * bits > 64:
        flat = np.unpackbits(buf, bitorder="little")[: n_values * bits].reshape(-1, bits)
        f = (flat.astype(np.uint64) << np.arange(bits, dtype=np.uint64)).sum(
            axis=1, dtype=np.uint64
        )
        return decode(f, dtype)
    nb = g * bits // 8
    ng = -(-n_values // g)
    raw = np.zeros(ng * nb, dtype=np.uint8)
    m = min(raw.size, buf.size)
    raw[:m] = buf[:m]
    b8 = np.zeros((ng, 8), dtype=np.uint8)
    b8[:, :nb] = raw.reshape(ng, nb)
    word = b8.view("<u8").reshape(ng)
    mask = np.uint64((1 << bits) - 1)
    f = np.empty((ng, g), dtype=np.uint64)
    for j in range(g):
        f[:, j] = (word >> np.uint64(j * bits)) & mask
    f = f.reshape(-1)[:n_values]
    if dtype.is_bipolar:
        return f.astype(np.int64) * 2 - 1
    if not dtype.signed:
        return f.astype(np.int64)
    return decode(f, dtype)
