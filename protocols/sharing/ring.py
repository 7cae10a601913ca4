"""The ring Z_2^64 as numpy uint64, fixed-point encoding, and seeded bit draws.

Arithmetic shares are uint64 arrays: numpy array arithmetic on uint64 wraps
modulo 2^64, which is exactly the ring. Under numpy 2's promotion rules
(NEP 50) a negative Python int cannot meet a uint64 array, so every public
constant goes through `const` first.

A fixed-point value x is stored as round(x * 2^f) in two's complement
(int64 viewed as uint64); the sign lives in the most significant bit.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from typing import Any

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


def draw_work(count: int, bits: bool = False) -> Counter:
    """What drawing `count` uniform ring elements (or bits) from numpy's generator
    costs, by cost class: a raw 64-bit draw is about two element operations; bits
    come 64 to a draw and are unpacked one by one."""
    if bits:
        return Counter(ring=2 * -(-count // 64), bit=2 * count, call=3)
    return Counter(ring=2 * count, call=1)


def split_work(count: int, n: int, bits: bool = False) -> Counter:
    """What `additive_split` (or `xor_split`) of `count` elements into `n` shares
    computes: n-1 uniform draws, their sum and the remainder."""
    combine = Counter(bit=n * count) if bits else Counter(ring=n * count)
    return draw_work((n - 1) * count, bits) + combine + Counter(call=4)


def matmul_shape(xs: tuple[int, ...], ys: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of ``np.matmul`` of arrays of shapes `xs` and `ys`, without computing it."""
    x2 = xs if len(xs) >= 2 else (1,) + xs
    y2 = ys if len(ys) >= 2 else ys + (1,)
    if x2[-1] != y2[-2]:
        raise ValueError(f"matmul: shapes {xs} and {ys} do not align")
    out = np.broadcast_shapes(x2[:-2], y2[:-2]) + (x2[-2], y2[-1])
    if len(xs) < 2:
        out = out[:-2] + out[-1:]
    if len(ys) < 2:
        out = out[:-1]
    return out


LIMB_BITS = 22
"""Largest limb width of `ring_matmul`: 64 bits as limbs of 22, 21 and 21 bits,
so 6 limb pairs have a shift below 64 (16-bit limbs: 10), at the price of an
inner dimension cut into chunks of 512 (2^53 / 2^44) rather than about 2^21.
Measured here, 16-bit limbs (even read as uint16 words) were slower."""

_EXACT = 2**53
"""float64 holds every integer up to 2^53 exactly."""

_TILE = 1 << 17
"""Elements per tile of the larger operand: limb buffers of a few MB, mostly in cache
(measured fastest here among 2^15..2^21)."""

_CHUNK = 1 << 20
"""Elements per inner chunk of the smaller operand (limbed once per chunk): the inner
dimension is cut at 512 for exactness with full 64-bit operands, and narrower only
past this bound. Bounding it by 2^17 elements instead cut XORBoost's 16 x 25,000 x
38,400 histogram product into three-wide chunks, five times slower here."""

_SMALL = 1 << 15
"""Below this many multiply-adds numpy's own uint64 matmul is as fast."""

_NARROW = 8
"""numpy's uint64 matmul is as fast or faster (memory-bound either way) when the
product has at most this many columns, or one row (measured here)."""

_SCAN = 1 << 20
"""Operands up to this many elements are scanned for their largest element (to
use fewer limbs); larger ones are taken as full 64-bit: a scan of a large
uniform share costs a memory pass and never saves a limb."""

Limbs = list[tuple[int, int]]
"""(shift, width) of each limb of an operand."""


def ring_matmul(x: np.ndarray, y: np.ndarray, inner_chunk: int | None = None) -> np.ndarray:
    """``np.matmul(x, y)`` over Z_2^64, exactly, on float64 BLAS.

    numpy's uint64 matmul has no BLAS kernel (0.6 GFlop/s here against tens
    for float64) and was XORBoost's bottleneck. Each operand is split into
    limbs of at most 22 bits (`LIMB_BITS`), as many as its largest element
    needs (a 0/1 matrix has one; operands too large to scan cheaply are taken
    as full 64-bit). Every limb pair (i, j) with shift s_i + s_j below 64 is
    one float64 product; the products are added back modulo 2^64 with their
    shifts (pairs at shift >= 64 vanish modulo 2^64). A product is exact when
    every partial sum stays at most 2^53, so the inner dimension is cut into
    chunks of at most 2^53 / (largest limb_i * largest limb_j) terms (512 for
    full 64-bit operands; fewer with `inner_chunk`, which tests use to force
    more chunks). Operands are processed in small tiles, so the float64 buffers
    stay small whatever the shapes.

    Non-arrays (cost-only `Ghost`s), stacks of matrices, tiny products and
    products with one row or few columns go to ``np.matmul``, which is exact
    on uint64 too.
    """
    if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)):
        return np.matmul(x, y)
    if not (1 <= x.ndim <= 2 and 1 <= y.ndim <= 2 and x.shape[-1] == y.shape[0]):
        return np.matmul(x, y)  # stacks, or numpy's own shape error
    x2 = np.asarray(x, RING).reshape(-1, x.shape[-1])
    y2 = np.asarray(y, RING).reshape(y.shape[0], -1)
    (m, k), n = x2.shape, y2.shape[1]
    shape = (m,) * (x.ndim == 2) + (n,) * (y.ndim == 2)
    if inner_chunk is None and (m * k * n < _SMALL or n <= _NARROW or m == 1):
        return np.matmul(x2, y2).reshape(shape)
    with _one_blas_thread():
        return _limb_matmul(x2, y2, inner_chunk).reshape(shape)


def _one_blas_thread() -> Any:
    """A context that runs BLAS on one thread.

    The tiles are small, and on this 2-core machine shared with other runs a
    threaded BLAS was 5-10 times slower than a single thread (spinning
    threads); one thread also keeps a run's speed independent of the load.
    """
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


_BLAS: Any = None


def _limb_layout(a: np.ndarray, limb_bits: int) -> Limbs:
    """The fewest limbs of at most `limb_bits` bits for `a`'s largest element,
    widths as even as possible, wider first (64 bits in 22-bit limbs: 22, 21,
    21, whose high pairs then reach shift 64 sooner)."""
    top = max(int(a.max(initial=0)).bit_length(), 1) if a.size <= _SCAN else BITS
    return _layout(top, limb_bits)


def _layout(top: int, limb_bits: int) -> Limbs:
    """Limbs of at most `limb_bits` bits covering `top` bits (see `_limb_layout`)."""
    count = -(-top // limb_bits)
    widths = [top // count + (t < top % count) for t in range(count)]
    shifts = np.cumsum([0] + widths[:-1])
    return [(int(s), w) for s, w in zip(shifts, widths, strict=True)]


def _limbs(tile: np.ndarray, layout: Limbs) -> np.ndarray:
    """float64 limbs of a 2-D uint64 tile, stacked on a new first axis."""
    out = np.empty((len(layout),) + tile.shape, np.float64)
    tmp = np.empty(tile.shape, RING)
    for t, (s, w) in enumerate(layout):
        if s == 0:
            np.bitwise_and(tile, np.uint64((1 << w) - 1), out=tmp)
        else:
            np.right_shift(tile, np.uint64(s), out=tmp)
            if s + w < BITS:
                np.bitwise_and(tmp, np.uint64((1 << w) - 1), out=tmp)
        out[t] = tmp.view(np.int64)  # limbs < 2^63: int64 converts faster than uint64
    return out


def _pairs(xl: Limbs, yl: Limbs) -> list[tuple[int, int]]:
    """Limb pairs whose product survives modulo 2^64 (shift below 64)."""
    return [(i, j) for i, (si, _) in enumerate(xl) for j, (sj, _) in enumerate(yl)
            if si + sj < BITS]


def _tiles(m: int, k: int, n: int, xl: Limbs, yl: Limbs, inner_chunk: int | None
           ) -> tuple[int, int]:
    """(inner chunk, tile) of `_limb_matmul`: exact float64 partial sums, the smaller
    operand's chunk of at most `_CHUNK` elements and the larger operand's tiles (rows
    of x, or columns of y) of at most `_TILE` elements per limb."""
    worst = max((2**xl[i][1] - 1) * (2**yl[j][1] - 1) for i, j in _pairs(xl, yl))
    kc = _EXACT // worst if inner_chunk is None else min(_EXACT // worst, inner_chunk)
    kc = max(1, min(kc, k, _CHUNK // min(m, n)))
    return kc, max(1, min(max(m, n), _TILE // kc))


def matmul_work(xs: tuple[int, ...], ys: tuple[int, ...]) -> Counter:
    """What `ring_matmul` computes for operands of shapes `xs` and `ys`, by cost class
    (`sim.OPS`): its own dispatch and loops, counted from the shapes alone.

    Operands are taken as full 64-bit (shares and masked openings are uniform):
    three limbs each, six limb pairs. Per inner chunk and tile: the limbs
    (three in-place element passes each), one float64 product per limb pair
    (``madd``), and each pair's part added back (its BLAS output written,
    converted, shifted, added: four passes of the output). Small, narrow and
    one-row products and stacks are numpy's uint64 matmul (``ring_madd``; a
    vector times a matrix larger than the caches is several times slower per
    multiply-add than this charges).
    """
    if not (1 <= len(xs) <= 2 and 1 <= len(ys) <= 2 and xs[-1] == ys[0]):
        out = matmul_shape(xs, ys)
        return Counter(ring_madd=math.prod(out) * xs[-1], call=1)
    m, k, n = (xs[0] if len(xs) == 2 else 1), xs[-1], (ys[1] if len(ys) == 2 else 1)
    if m * k * n < _SMALL or n <= _NARROW or m == 1:
        return Counter(ring_madd=m * k * n, call=2)
    limbs = _layout(BITS, LIMB_BITS)
    pairs = len(_pairs(limbs, limbs))
    kc, tile = _tiles(m, k, n, limbs, limbs, None)
    chunks, blocks = -(-k // kc), -(-max(m, n) // tile)
    passes = m * n + 3 * len(limbs) * (k * n + m * k) + 4 * pairs * chunks * m * n
    if m >= n:  # the smaller operand's limbs are stacked once per tile of x's rows
        passes += len(limbs) * k * n * blocks
    calls = chunks * (4 * len(limbs) + blocks * (4 * len(limbs) + 4 * pairs + 4))
    return Counter({"madd": pairs * m * k * n, "pass": passes, "call": calls})


def _limb_matmul(x: np.ndarray, y: np.ndarray, inner_chunk: int | None) -> np.ndarray:
    (m, k), n = x.shape, y.shape[1]
    x_big = m >= n  # group the products by the limbs of the larger operand
    xl, yl = _limb_layout(x, LIMB_BITS), _limb_layout(y, LIMB_BITS)
    kc, tile = _tiles(m, k, n, xl, yl, inner_chunk)
    out = np.zeros((m, n), RING)
    for k0 in range(0, k, kc):
        if x_big:  # the smaller operand's limbs once per inner chunk, the larger's by tiles
            ylimbs = _limbs(y[k0:k0 + kc], yl)  # (Ly, kc', n)
            for m0 in range(0, m, tile):
                xlimbs = _limbs(x[m0:m0 + tile, k0:k0 + kc], xl)
                _accumulate(out[m0:m0 + tile], xlimbs, ylimbs, xl, yl, x_big)
        else:
            xlimbs = _limbs(x[:, k0:k0 + kc], xl)  # (Lx, m, kc')
            for n0 in range(0, n, tile):
                ylimbs = _limbs(y[k0:k0 + kc, n0:n0 + tile], yl)
                _accumulate(out[:, n0:n0 + tile], xlimbs, ylimbs, xl, yl, x_big)
    return out


def _accumulate(out: np.ndarray, xlimbs: np.ndarray, ylimbs: np.ndarray, xl: Limbs,
                yl: Limbs, x_big: bool) -> None:
    """out += sum over limb pairs below shift 64 of (X_i @ Y_j) << (s_i + s_j), mod 2^64.

    One BLAS call per limb of the larger operand, against the smaller one's
    limbs stacked (as columns of Y limbs, or rows of X limbs): the pairs of a
    limb i are a prefix j = 0, 1, ... of the other's limbs.
    """
    rows, cols = out.shape
    if x_big:
        ystack = np.concatenate(list(ylimbs), axis=1)  # (kc, Ly * n)
        for i, (si, _) in enumerate(xl):
            js = [j for j, (sj, _) in enumerate(yl) if si + sj < BITS]
            prod = xlimbs[i] @ ystack[:, : len(js) * cols]
            for j in js:
                _add_shifted(out, prod[:, j * cols:(j + 1) * cols], si + yl[j][0])
    else:
        xstack = xlimbs.reshape(-1, xlimbs.shape[2])  # (Lx * rows, kc)
        for j, (sj, _) in enumerate(yl):
            iis = [i for i, (si, _) in enumerate(xl) if si + sj < BITS]
            prod = xstack[: len(iis) * rows] @ ylimbs[j]
            for i in iis:
                _add_shifted(out, prod[i * rows:(i + 1) * rows], xl[i][0] + sj)


def _add_shifted(out: np.ndarray, part: np.ndarray, shift: int) -> None:
    """out += part << shift (mod 2^64); `part` holds exact integers in [0, 2^53]."""
    u = part.astype(RING)
    if shift:
        np.left_shift(u, np.uint64(shift), out=u)
    np.add(out, u, out=out)
