"""Gradients and hessians on shares, as precise as XGBoost's float32 ones.

Logistic loss: g = p - y, h = p(1 - p), p = sigmoid(margin); squared error:
g = margin - y, h = 1. In the first tree every margin is the public base margin,
so p is a public constant there (no secure sigmoid).

`sigmoid` evaluates p piecewise, by symmetry (sigmoid(-x) = 1 - sigmoid(x)):
s = [x < 0] (8 rounds), |x| = x (1 - 2s) (1), a binary search of the unit
piece [j, j + 1) holding |x| (or the tail |x| >= R = 16): log2 R levels of
one comparison each, 5 comparisons per sample in all (`_unit_piece`, 34
rounds); then, in the local coordinate t = |x| - j in [0, 1), a degree-6
polynomial whose coefficients the one-hot selects (a local combination with
public tables): powers t^2..t^6 in three rounds of products, the coefficients
times the powers (1), one truncation, and p = f + s (1 - 2f) (1).
With R = 16 the pieces' approximation error is 2.6e-8 and the tail's
1 - sigmoid(16) = 1.1e-7; the fixed-point error is a few units of 2^-F
(F = 24: about 1e-7), comparable with float32.

Every truncation here is exact (`Mpc.trunc_exact`, 7 rounds instead of 1):
gradients are then a deterministic function of the margin, so samples with the
same margin and label get the same (g, h), as in XGBoost. Without it, two
different sample sets with the same multiset of gradients (common once trees
have few distinct leaf values) would sum to slightly different values, and
their exactly tied splits could no longer be recognized as ties (`splits`).
With the exact truncations (7 rounds each) the sigmoid takes 84 rounds.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np

from protocols.sharing.ring import const, encode

SIGMOID_RANGE = 16
SIGMOID_DEGREE = 6
SIGMOID_EXTRA_BITS = 8
"""Extra fractional bits of the pieces' coefficients."""


def base_margin(objective: str, base_score: float) -> float:
    if objective == "binary:logistic":
        return math.log(base_score / (1 - base_score))
    return base_score


@cache
def sigmoid_pieces() -> np.ndarray:
    """(R + 1, degree + 1) coefficients, powers 0..degree of t = |x| - j, of the
    pieces on [j, j + 1), j = 0..R-1, least squares on 2001 points with the value at
    t = 0 pinned to sigmoid(j); last row: the tail constant sigmoid(R).

    The pin makes sigmoid(0) exactly 0.5 and its hessian exactly 0.25, as in XGBoost's
    float32: samples whose margin is 0 (a leaf whose gradients cancel) then sum to
    exact hessians, and a side of 4 such samples reaches min_child_weight = 1 exactly
    as in XGBoost (a free fit gave 0.5 - 2e-8: 1 - 4 units, an invalid split)."""
    t = np.linspace(0.0, 1.0, 2001)
    powers = t[:, None] ** np.arange(1, SIGMOID_DEGREE + 1)
    rows = []
    for j in range(SIGMOID_RANGE):
        at = 1 / (1 + math.exp(-j))
        rest = np.linalg.lstsq(powers, 1 / (1 + np.exp(-(j + t))) - at, rcond=None)[0]
        rows.append(np.concatenate([[at], rest]))
    tail = np.zeros(SIGMOID_DEGREE + 1)
    tail[0] = 1 / (1 + math.exp(-SIGMOID_RANGE))
    return np.array(rows + [tail])


def _public(ops: Any, shape: tuple[int, ...], value: Any) -> Any:
    return ops.add_public(ops.zeros(shape), value)


async def _mul_exact(ops: Any, x: Any, y: Any) -> Any:
    """Fixed-point product truncated exactly (`Mpc.trunc_exact`)."""
    return await ops.trunc_exact(await ops.mul(x, y))


async def _unit_piece(ops: Any, v: Any) -> tuple[Any, Any]:
    """The one-hot (n, R + 1) of the unit piece [j, j + 1) holding v >= 0 (last: the
    tail v >= R), and t = v - j. Binary search over j's bits, each threshold a
    linear function of the bits above (one comparison per level, 8 rounds); then
    the one-hot from the bits by products of pairs (2 rounds): the piece is the
    outer product of the one-hots of j's high and low halves, the tail (found
    with the top bit) the part of piece R - 1 at or beyond R."""
    f, n, levels = ops.frac_bits, v.shape[0], SIGMOID_RANGE.bit_length() - 1
    first = await ops.lt_public(np.stack([v, v]), encode(np.array(
        [SIGMOID_RANGE, SIGMOID_RANGE // 2], np.float64), f)[:, None])
    ones = _public(ops, (n,), const(1))
    tail, bits = ops.sub(ones, first[0]), [ops.sub(ones, first[1])]
    base = ops.mul_public(bits[0], (SIGMOID_RANGE // 2) << f)
    for level in range(1, levels):
        step = SIGMOID_RANGE >> (level + 1)
        below = await ops.lt_public(ops.sub(v, base), encode(float(step), f))
        bits.append(ops.sub(ones, below))
        base = ops.add(base, ops.mul_public(bits[-1], step << f))
    half = levels // 2
    high, low = bits[:half], bits[half:]
    pair = await ops.mul(np.stack([high[0], low[0]]), np.stack([high[1], low[1]]))
    halves = [_two_bit_onehot(ops, high[0], high[1], pair[0]),
              _two_bit_onehot(ops, low[0], low[1], pair[1])]
    outer = await ops.mul(halves[0][:, :, None], halves[1][:, None, :])
    piece = outer.reshape(n, -1)
    piece = np.concatenate([piece[:, :-1], ops.sub(piece[:, -1:], tail[:, None]),
                            tail[:, None]], axis=1)
    return piece, ops.sub(v, base)


def _two_bit_onehot(ops: Any, hi: Any, lo: Any, both: Any) -> Any:
    """One-hot (n, 4) of the value 2 hi + lo, from the bits and their product."""
    one = ops.sub(ops.sub(_public(ops, hi.shape, const(1)), hi), ops.sub(lo, both))
    return np.stack([one, ops.sub(lo, both), ops.sub(hi, both), both], axis=1)


async def sigmoid(ops: Any, x: Any) -> Any:
    """Shares of sigmoid(x) at scale 2^F for fixed-point shares x, |x| < 2^(61 - F).

    In the tail piece t = |x| - R may be large and its powers wrap around the
    ring; the tail's coefficients of t^1..t^6 are exactly 0, so they vanish.
    """
    f, extra = ops.frac_bits, SIGMOID_EXTRA_BITS
    n = x.shape[0]
    neg = await ops.msb(x)
    ones = _public(ops, (n,), const(1))
    absx = await ops.mul(x, ops.sub(ones, ops.mul_public(neg, 2)))
    piece, t = await _unit_piece(ops, absx)
    t2 = await _mul_exact(ops, t, t)
    t34 = await _mul_exact(ops, np.stack([t2, t2]), np.stack([t, t2]))
    t56 = await _mul_exact(ops, np.stack([t34[1], t34[1]]), np.stack([t, t2]))
    powers = np.stack([t, t2, t34[0], t34[1], t56[0], t56[1]], axis=1)  # t^1..t^6
    coef = ops.matmul_public(piece, encode(sigmoid_pieces(), f + extra))  # scale 2^(f + extra)
    acc = ops.add(ops.sum(await ops.mul(coef[:, 1:], powers), axis=1),
                  ops.mul_public(coef[:, 0], 1 << f))  # scale 2^(2f + extra)
    value = await ops.trunc_exact(acc, f + extra)
    # p = value + neg (1 - 2 value)
    flip = await ops.mul(neg, ops.add_public(ops.mul_public(value, -2), encode(1.0, f)))
    return ops.add(value, flip)


async def gradients(ops: Any, margin: Any, y: Any, objective: str, base_score: float,
                    first: bool) -> Any:
    """(n, 2): gradient and hessian per sample at scale 2^F. `first`: the margins are
    all the public base margin (first tree), so p is public."""
    f = ops.frac_bits
    n = y.shape[0]
    if objective == "binary:logistic":
        if first:
            p0 = 1 / (1 + math.exp(-base_margin(objective, base_score)))
            g = ops.sub(_public(ops, (n,), encode(p0, f)), y)
            h = _public(ops, (n,), encode(p0 * (1 - p0), f))
        else:
            p = await sigmoid(ops, margin)
            g = ops.sub(p, y)
            h = await _mul_exact(ops, p, ops.add_public(ops.neg(p), encode(1.0, f)))
    else:
        g = ops.sub(margin, y)
        h = _public(ops, (n,), encode(1.0, f))
    return np.stack([g, h], axis=1)

