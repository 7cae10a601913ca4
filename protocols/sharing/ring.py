"""The ring Z_2^64 as numpy uint64, fixed-point encoding, and seeded bit draws.

Arithmetic shares are uint64 arrays: numpy array arithmetic on uint64 wraps
modulo 2^64, which is exactly the ring. Under numpy 2's promotion rules
(NEP 50) a negative Python int cannot meet a uint64 array, so every public
constant goes through `const` first.

A fixed-point value x is stored as round(x * 2^f) in two's complement
(int64 viewed as uint64); the sign lives in the most significant bit.
"""

from __future__ import annotations

import sys

import numpy as np
from numpy.typing import ArrayLike

RING = np.uint64
"""The dtype of arithmetic shares."""

BITS = 64
"""Bit width of the ring."""

DEFAULT_FRAC_BITS = 16

if sys.byteorder != "little":  # pragma: no cover - bit extraction below assumes it
    raise ImportError("protocols.sharing assumes a little-endian machine")


def const(value: int) -> np.uint64:
    """A public integer constant as a ring element (negative ints wrap)."""
    return np.uint64(int(value) % 2**BITS)


def encode(x: ArrayLike, frac_bits: int = DEFAULT_FRAC_BITS) -> np.ndarray:
    """Fixed-point encode: round(x * 2^f) as int64, viewed as uint64."""
    scaled = np.round(np.asarray(x, dtype=np.float64) * 2.0**frac_bits)
    if np.any(np.abs(scaled) >= 2.0**63):
        raise ValueError(f"value too large for 64-bit fixed point with {frac_bits} fractional bits")
    return scaled.astype(np.int64).astype(RING)


def decode(u: ArrayLike, frac_bits: int = DEFAULT_FRAC_BITS) -> np.ndarray:
    """Fixed-point decode: the signed value of `u` divided by 2^f (float64)."""
    return signed(u) / 2.0**frac_bits


def signed(u: ArrayLike) -> np.ndarray:
    """The ring elements as signed int64 (two's complement)."""
    return np.asarray(u, dtype=RING).astype(np.int64)


def to_ring(x: ArrayLike) -> np.ndarray:
    """Integers (any sign, |x| < 2^63) as ring elements."""
    return np.asarray(x, dtype=np.int64).astype(RING)


def bits_msb_first(u: np.ndarray) -> np.ndarray:
    """The 64 bits of each element, most significant first: shape ``u.shape + (64,)``."""
    u8 = np.ascontiguousarray(u, dtype=RING).view(np.uint8).reshape(u.shape + (8,))
    bits = np.unpackbits(u8, axis=-1, bitorder="little")  # bit j of the value at column j
    return bits[..., ::-1].view(np.bool_)


def draw_ring(gen: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Uniform ring elements of `shape` from `gen`: its raw 64-bit outputs.

    `integers` over the full uint64 range yields the same values as
    ``bit_generator.random_raw`` but measured about twice as fast here.
    """
    return gen.integers(0, 2**64 - 1, size=shape, dtype=RING, endpoint=True)


def draw_bits(gen: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Uniform bits of `shape` as a bool array, 64 bits per raw PRG output."""
    n = int(np.prod(shape))
    raw = gen.bit_generator.random_raw((n + 63) // 64)
    return np.unpackbits(raw.view(np.uint8), count=n).view(np.bool_).reshape(shape)


def additive_split(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Split ring elements into `n` additive shares: shape ``(n,) + x.shape``.

    Shares 1..n-1 are uniform; share 0 is the remainder, so any n-1 shares are
    uniform and independent of `x`.
    """
    x = np.asarray(x, dtype=RING)
    shares = np.empty((n,) + x.shape, dtype=RING)
    shares[1:] = draw_ring(rng, (n - 1,) + x.shape)
    np.subtract(x, shares[1:].sum(axis=0, dtype=RING), out=shares[0])
    return shares


def xor_split(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Split bits into `n` XOR shares: shape ``(n,) + x.shape``; any n-1 are uniform."""
    x = np.asarray(x, dtype=np.bool_)
    shares = np.empty((n,) + x.shape, dtype=np.bool_)
    shares[1:] = draw_bits(rng, (n - 1,) + x.shape)
    np.bitwise_xor(x, np.bitwise_xor.reduce(shares[1:], axis=0), out=shares[0])
    return shares
