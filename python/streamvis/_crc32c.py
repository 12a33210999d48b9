"""CRC32C (Castagnoli), the checksum of every frame.

:func:`crc32c` is the C-accelerated ``crc32c`` package when it is installed,
and otherwise :func:`crc32c_fallback`, written here without C. The fallback
checks small buffers a byte at a time from a table; a large buffer is cut
into many lanes whose checksums numpy computes side by side, four bytes per
step, and are then joined (a CRC is linear, so the checksum of ``A + B`` is
the checksum of ``A`` advanced over ``len(B)`` zero bytes, xor that of ``B``).
That keeps a tensor of millions of points at tens of milliseconds instead of
seconds.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["crc32c", "crc32c_fallback", "ACCELERATED"]

_POLY = 0x82F63B78  # reflected Castagnoli polynomial
_MASK = 0xFFFFFFFF


def _make_tables() -> list[list[int]]:
    """Slicing-by-4 tables: ``tables[k][b]`` is the register after byte ``b``
    followed by ``k`` zero bytes."""
    base = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (_POLY if c & 1 else 0)
        base.append(c)
    tables = [base]
    for _ in range(3):
        prev = tables[-1]
        tables.append([(v >> 8) ^ base[v & 0xFF] for v in prev])
    return tables


_TABLES = _make_tables()
_TABLE = _TABLES[0]
_NP_TABLES = [np.array(t, dtype=np.uint32) for t in _TABLES]

# Below this many bytes the table loop is as fast as anything numpy can do.
_SMALL = 4096


def _update_bytes(reg: int, data) -> int:
    """Advances the raw CRC register over ``data`` one byte at a time."""
    table = _TABLE
    for b in data:
        reg = table[(reg ^ b) & 0xFF] ^ (reg >> 8)
    return reg


# A linear map on the 32-bit register, as the images of its 32 basis bits.
_Matrix = tuple


def _apply(matrix: _Matrix, reg: int) -> int:
    out = 0
    i = 0
    while reg:
        if reg & 1:
            out ^= matrix[i]
        reg >>= 1
        i += 1
    return out


def _compose(outer: _Matrix, inner: _Matrix) -> _Matrix:
    return tuple(_apply(outer, col) for col in inner)


_ZERO_BYTE: _Matrix = tuple(_TABLE[(1 << i) & 0xFF] ^ ((1 << i) >> 8) for i in range(32))
_IDENTITY: _Matrix = tuple(1 << i for i in range(32))


@lru_cache(maxsize=256)
def _zeros_matrix(n: int) -> _Matrix:
    """The map advancing a register over ``n`` zero bytes."""
    result, base = _IDENTITY, _ZERO_BYTE
    while n:
        if n & 1:
            result = _compose(base, result)
        n >>= 1
        if n:
            base = _compose(base, base)
    return result


@lru_cache(maxsize=256)
def _zeros_tables(n: int) -> tuple[np.ndarray, ...]:
    """Byte tables applying :func:`_zeros_matrix` to numpy arrays of registers."""
    matrix = np.array(_zeros_matrix(n), dtype=np.uint32)
    index = np.arange(256, dtype=np.uint32)
    tables = []
    for k in range(4):
        table = np.zeros(256, dtype=np.uint32)
        for bit in range(8):
            table ^= np.where((index >> bit) & 1 == 1, matrix[8 * k + bit], np.uint32(0))
        tables.append(table)
    return tuple(tables)


def _update_lanes(reg: int, data: memoryview) -> int:
    """Advances the raw register over ``data`` (at least ``_SMALL`` bytes)."""
    n = len(data)
    lanes = 1 << min(16, (n // 64).bit_length() - 1)
    words_per_lane = n // (4 * lanes)
    main = lanes * words_per_lane * 4
    words = np.frombuffer(data, dtype="<u4", count=main // 4).reshape(lanes, words_per_lane)

    t0, t1, t2, t3 = _NP_TABLES
    regs = np.zeros(lanes, dtype=np.uint32)
    regs[0] = reg
    for j in range(words_per_lane):
        x = regs ^ words[:, j]
        regs = t3[x & 0xFF] ^ t2[(x >> 8) & 0xFF] ^ t1[(x >> 16) & 0xFF] ^ t0[x >> 24]

    # Join neighbouring lanes until one register is left.
    lane_bytes = 4 * words_per_lane
    while len(regs) > 1:
        s0, s1, s2, s3 = _zeros_tables(lane_bytes)
        left, right = regs[0::2], regs[1::2]
        regs = s0[left & 0xFF] ^ s1[(left >> 8) & 0xFF] ^ s2[(left >> 16) & 0xFF] ^ s3[left >> 24] ^ right
        lane_bytes *= 2
    reg = int(regs[0])
    return _update(reg, data[main:])


def _update(reg: int, data: memoryview) -> int:
    if len(data) < _SMALL:
        return _update_bytes(reg, data)
    return _update_lanes(reg, data)


def crc32c_fallback(data, value: int = 0) -> int:
    """CRC32C of ``data`` (any bytes-like object), continuing from ``value``,
    the CRC of what came before; without C."""
    view = memoryview(data)
    if view.nbytes and (view.format != "B" or view.ndim != 1):
        view = view.cast("B")
    return _update(value ^ _MASK, view) ^ _MASK


try:
    from crc32c import crc32c as _accelerated
except ImportError:  # pragma: no cover - depends on the environment
    _accelerated = None

#: Whether the C-accelerated ``crc32c`` package is in use.
ACCELERATED = _accelerated is not None

if _accelerated is not None:

    def crc32c(data, value: int = 0) -> int:
        """CRC32C of ``data`` (any bytes-like object), continuing from
        ``value``, the CRC of what came before."""
        return _accelerated(data, value)

else:  # pragma: no cover - depends on the environment
    crc32c = crc32c_fallback
