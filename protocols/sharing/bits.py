"""XOR-shared bits of comparison circuits, packed eight to a byte.

The circuits of `protocols.sharing.compare` work on the bits of L values at
once: one row per bit position, one column per value. Kept as bools, a row of
L bits takes L bytes and every gate a pass over them; `Rows` keeps the first
L - L % 8 columns packed eight to a byte and the last L % 8 as bools, so that
gates cost 8 times less memory traffic while every message keeps its size:
an opening of r rows is r (L - L % 8) / 8 bytes plus ceil(r (L % 8) / 8) for the
bool tail, exactly the ceil(r L / 8) bytes of the same bits bit-packed whole.

Works on `protocols.costonly.Ghost` arrays too (shapes only), through
numpy's operators.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from protocols.sharing.ring import RING

_CHUNK = 1 << 14
"""Values transposed at a time in `rows_of` (bytes of 16 K values: in cache)."""


@dataclass
class Rows:
    """A (rows, L) bit matrix: `packed` (rows, L // 8) uint8, `tail` (rows, L % 8) bool."""

    packed: Any
    tail: Any

    @property
    def shape(self) -> tuple[int, int]:
        return self.packed.shape[0], 8 * self.packed.shape[1] + self.tail.shape[1]

    @property
    def size(self) -> int:
        rows, length = self.shape
        return rows * length

    @classmethod
    def zeros(cls, rows: int, length: int) -> Rows:
        return cls(np.zeros((rows, length // 8), np.uint8), np.zeros((rows, length % 8), bool))

    def __xor__(self, other: Rows) -> Rows:
        return Rows(self.packed ^ other.packed, self.tail ^ other.tail)

    def __and__(self, other: Rows) -> Rows:
        return Rows(self.packed & other.packed, self.tail & other.tail)

    def __invert__(self) -> Rows:
        return Rows(~self.packed, ~self.tail)

    def __getitem__(self, rows: Any) -> Rows:
        return Rows(self.packed[rows], self.tail[rows])

    def copy(self) -> Rows:
        return Rows(self.packed.copy(), self.tail.copy())

    @staticmethod
    def stack(parts: list[Rows]) -> Rows:
        """The rows of `parts`, one after the other."""
        return Rows(np.concatenate([p.packed for p in parts]),
                    np.concatenate([p.tail for p in parts]))

    def payload(self) -> tuple[Any, Any]:
        """What goes on the wire: the packed bytes and the tail as one flat bool array."""
        return self.packed, self.tail.ravel()

    def from_payload(self, payload: tuple[Any, Any]) -> Rows:
        """Rows of this shape from a `payload`."""
        packed, tail = payload
        return Rows(packed, tail.reshape(self.tail.shape))

    def bools(self) -> np.ndarray:
        """The (rows, L) bool matrix."""
        rows, length = self.shape
        head = np.unpackbits(self.packed, axis=1, count=length - self.tail.shape[1])
        return np.concatenate([head.view(bool), self.tail], axis=1)

    @classmethod
    def from_bools(cls, bits: np.ndarray) -> Rows:
        """Rows from a (rows, L) bool matrix."""
        cut = bits.shape[1] - bits.shape[1] % 8
        return cls(np.packbits(bits[:, :cut], axis=1), np.ascontiguousarray(bits[:, cut:]))


def rows_work(size: int, width: int) -> Counter:
    """What `rows_of` computes for `size` values and `width` bits, by cost class: per
    byte position a gather, per bit a shift, a mask and a pack (about three passes
    over one byte per value, ``bit``); a step of the loop per chunk and bit."""
    chunks, positions = -(-size // _CHUNK), -(-width // 8)
    return Counter(bit=(3 * width + positions) * size, call=chunks * (width + positions) + 4)


def rows_of(u: np.ndarray, width: int) -> Rows:
    """The low `width` bits of each ring element of the flat array u, as rows, most
    significant first (row 0 holds bit width - 1).

    By chunks of values: each byte position is gathered into a contiguous array,
    then each of its bits packed (a bit transpose through bytes: 5 times faster here
    than unpacking all bits and packing their transpose)."""
    u = np.ascontiguousarray(u, RING).ravel()
    length = u.size
    cut = length - length % 8
    packed = np.empty((width, cut // 8), np.uint8)
    for start in range(0, cut, _CHUNK):
        stop = min(cut, start + _CHUNK)
        by = u[start:stop].view(np.uint8).reshape(-1, 8)  # byte k holds bits 8k..8k+7
        for k in range((width + 7) // 8):
            column = np.ascontiguousarray(by[:, k])
            for j in range(min(8, width - 8 * k)):
                packed[width - 1 - 8 * k - j, start // 8:stop // 8] = np.packbits(
                    (column >> j) & 1)
    tail_bits = np.unpackbits(u[cut:].view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
    tail = np.ascontiguousarray(tail_bits[:, width - 1::-1].T).view(bool)
    return Rows(packed, tail.reshape(width, length - cut))
