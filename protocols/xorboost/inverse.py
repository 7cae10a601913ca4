"""A high-precision reciprocal for split gains and leaf weights, kept in parts.

`Mpc.reciprocal` runs Newton's iteration at the shares' f fractional bits, so its
relative error is about 2^(6-f). Gains need more: a gain is a difference of terms
G^2/(H+lambda) much larger than itself. `reciprocal` therefore returns 1/x as a
normalized mantissa and an exponent, x = m 2^(e+1) with m in [1/2, 1):

1. one batch of comparisons with the powers of two 2^j, j in (J_lo, J_hi],
   gives the one-hot of x's exponent e (8 rounds);
2. m at scale 2^P (P = 28): one product of the one-hot with x and public powers
   of two (1 round), then a truncation by Q (1 round) when x's own fractional
   bits f are too many for a left shift (Q = f + J_hi + 1 - P > 0);
3. three Newton steps y <- y(2 - m y) from y0 = 2.9142 - 2m (relative error
   0.0858^8 < 2^-28), each two products and two truncations (12 rounds).

y = 1/m at scale 2^P has relative error below 2^-25 (rounding of m, y0 and three
steps). A caller multiplies by y and applies 2^-(e+1) with `times_power` (one
product of the one-hot with its value and public powers), keeping the bits of
its own products in budget (`protocols.xorboost.precision`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from protocols.sharing.ring import const, encode

MANTISSA_BITS = 28
NEWTON_STEPS = 3


def _powers(exps: np.ndarray) -> np.ndarray:
    return np.ones(exps.shape, np.int64) << exps.astype(np.int64)


@dataclass
class Reciprocal:
    """1/x = y 2^-P 2^-(e+1): y (shares, scale 2^P) and the one-hot of e over `exps`."""

    y: Any
    onehot: Any
    exps: np.ndarray


async def reciprocal(ops: Any, x: Any, lo: float, hi: float, frac: int) -> Reciprocal:
    """The parts of 1/x for fixed-point x (scale 2^frac) known to lie in [lo, hi]."""
    p = MANTISSA_BITS
    j_lo, j_hi = math.floor(math.log2(lo)), math.floor(math.log2(hi))
    if not 0 < lo <= hi or frac + j_hi + 1 > 61:
        raise ValueError(f"reciprocal: range [{lo}, {hi}] does not fit frac={frac}")
    exps = np.arange(j_lo, j_hi + 1)
    one = ops.add_public(ops.zeros(x.shape + (1,)), const(1))
    at_least = one
    if len(exps) > 1:
        below = await ops.lt_public(x[..., None], encode(2.0 ** exps[1:], frac))
        at_least = np.concatenate([one, ops.sub(ops.add_public(ops.zeros(below.shape),
                                                                const(1)), below)], axis=-1)
    onehot = ops.sub(at_least, np.concatenate(
        [at_least[..., 1:], ops.zeros(x.shape + (1,))], axis=-1))
    # m = x 2^(P - f - e - 1) at scale 2^P; integer multipliers 2^(... + Q), then trunc by Q
    q = max(0, frac + j_hi + 1 - p)
    picked = await ops.mul(onehot, x[..., None])
    m = ops.sum(ops.mul_public(picked, _powers(p - frac - exps - 1 + q)), axis=-1)
    if q:
        m = await ops.trunc(m, q)
    two = const(2 << p)
    y = ops.add_public(ops.mul_public(m, -2), encode(2.9142, p))
    for _ in range(NEWTON_STEPS):
        my = await ops.trunc(await ops.mul(m, y), p)
        y = await ops.trunc(await ops.mul(y, ops.add_public(ops.neg(my), two)), p)
    return Reciprocal(y, onehot, exps)


async def times_power(ops: Any, r: Reciprocal, v: Any) -> Any:
    """v 2^(J_hi - e), exactly (one product): the caller divides by 2^(J_hi + 1)
    through its bookkeeping of scales or a truncation."""
    top = int(r.exps[-1])
    scaled = await ops.mul(r.onehot, v[..., None])
    return ops.sum(ops.mul_public(scaled, _powers(top - r.exps)), axis=-1)
