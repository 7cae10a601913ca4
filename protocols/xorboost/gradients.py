"""Gradients and hessians on shares, as precise as XGBoost's float32 ones.

Logistic loss: g = p - y, h = p(1 - p), p = sigmoid(margin); squared error:
g = margin - y, h = 1. In the first tree every margin is the public base margin,
so p is a public constant there (no secure sigmoid).

`sigmoid` evaluates p piecewise, by symmetry (sigmoid(-x) = 1 - sigmoid(x)):
s = [x < 0] (8 rounds), |x| = x (1 - 2s) (1), one batch of comparisons of |x|
with the knots 1..R (8) gives the one-hot of the unit piece [j, j + 1) holding
|x| (or the tail |x| >= R); then, in the local coordinate t = |x| - j in
[0, 1), a degree-6 polynomial whose coefficients the one-hot selects (a local
combination with public tables): powers t^2..t^6 in three rounds of products
(6 rounds with truncations), the coefficients times the powers (1), one
truncation (1), and p = f + s (1 - 2f) (1); n R comparisons.
With R = 16 the pieces' approximation error is 2.6e-8 and the tail's
1 - sigmoid(16) = 1.1e-7; the fixed-point error is a few units of 2^-F
(F = 24: about 1e-7), comparable with float32.

Every truncation here is exact (`Mpc.trunc_exact`, 7 rounds instead of 1):
gradients are then a deterministic function of the margin, so samples with the
same margin and label get the same (g, h), as in XGBoost. Without it, two
different sample sets with the same multiset of gradients (common once trees
have few distinct leaf values) would sum to slightly different values, and
their exactly tied splits could no longer be recognized as ties (`splits`).
With the exact truncations the sigmoid takes 56 rounds.
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
    pieces on [j, j + 1), j = 0..R-1, least squares on 2001 points; last row: the
    tail constant sigmoid(R)."""
    rows = []
    for j in range(SIGMOID_RANGE):
        t = np.linspace(0.0, 1.0, 2001)
        rows.append(np.polynomial.polynomial.polyfit(t, 1 / (1 + np.exp(-(j + t))),
                                                     SIGMOID_DEGREE))
    tail = np.zeros(SIGMOID_DEGREE + 1)
    tail[0] = 1 / (1 + math.exp(-SIGMOID_RANGE))
    return np.array(rows + [tail])


def _public(ops: Any, shape: tuple[int, ...], value: Any) -> Any:
    return ops.add_public(ops.zeros(shape), value)


async def _mul_exact(ops: Any, x: Any, y: Any) -> Any:
    """Fixed-point product truncated exactly (`Mpc.trunc_exact`)."""
    return await ops.trunc_exact(await ops.mul(x, y))


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
    knots = np.arange(1, SIGMOID_RANGE + 1)
    at_least = ops.sub(_public(ops, (n, SIGMOID_RANGE), const(1)),
                       await ops.lt_public(absx[:, None], encode(knots, f)))
    prev = np.concatenate([_public(ops, (n, 1), const(1)), at_least], axis=1)
    nxt = np.concatenate([at_least, ops.zeros((n, 1))], axis=1)
    piece = ops.sub(prev, nxt)  # (n, R + 1) one-hot: [j, j + 1), then the tail
    start = np.append(np.arange(SIGMOID_RANGE), SIGMOID_RANGE).astype(np.int64)
    t = ops.sub(absx, ops.matmul_public(piece, (start << f)[:, None])[:, 0])
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

