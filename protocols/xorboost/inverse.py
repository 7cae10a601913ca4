"""A high-precision reciprocal for split gains and leaf weights, kept in parts.

`Mpc.reciprocal` runs Newton's iteration at the shares' f fractional bits, so its
relative error is about 2^(6-f). Gains need more: a gain is a difference of terms
G^2/(H+lambda) much larger than itself. `reciprocal` therefore returns 1/x as a
mantissa and an exponent, x = m 2^(e+k) with m in [2^-k, 1), k = EXP_BITS, e on
a grid of step k (`exponent_grid`):

1. one batch of comparisons of x with the grid's powers of two gives the
   one-hot of e (8 rounds); a coarser grid means fewer comparisons (the
   costliest part: about log2(hi/lo)/k per value) and more Newton steps;
2. m at scale 2^P (P = 28): one product of the one-hot with x and public powers
   of two (1 round), then a truncation by Q (1 round) when x's own fractional
   bits f are too many for a left shift (Q = f + e_top + k - P > 0);
3. Newton steps y <- y(2 - m y) from the best linear start on [2^-k, 1]
   (relative error 1 - beta 2^-k, beta = 8 / (4a + (a+1)^2), a = 2^-k: 0.43 for
   k = 3), each squaring the error; NEWTON_STEPS (5 for k = 3) bring it below
   2^-30; the start costs a truncation (1 round), each step two products and two
   truncations (4 rounds).

y = 1/m at scale 2^P (y <= 2^k) has relative error below 2^-25 (rounding of
m, y0 and the steps). A caller multiplies by y and applies 2^-(e+k) with
`times_power` (one product of the one-hot with its value and public powers),
keeping the bits of its own products in budget (`protocols.xorboost.precision`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from protocols.sharing.ring import const, encode

MANTISSA_BITS = 28
EXP_BITS = 3
_A = 2.0**-EXP_BITS
_BETA = 8 / (4 * _A + (_A + 1) ** 2)
_ALPHA = _BETA * (_A + 1)
NEWTON_STEPS = next(s for s in range(1, 10) if (1 - _BETA * _A) ** (2**s) < 2.0**-30)


def _powers(exps: np.ndarray) -> np.ndarray:
    return np.ones(exps.shape, np.int64) << exps.astype(np.int64)


def exponent_grid(lo: float, hi: float) -> np.ndarray:
    """The exponents e, step EXP_BITS from floor(log2 lo), whose intervals
    [2^e, 2^(e + EXP_BITS)) cover [lo, hi]."""
    j_lo, j_hi = math.floor(math.log2(lo)), math.floor(math.log2(hi))
    return np.arange(j_lo, j_hi + 1, EXP_BITS)


@dataclass
class Reciprocal:
    """1/x = y 2^-P 2^-(e + EXP_BITS): y (shares, scale 2^P) and the one-hot of e
    over `exps`."""

    y: Any
    onehot: Any
    exps: np.ndarray


async def reciprocal(ops: Any, x: Any, lo: float, hi: float, frac: int) -> Reciprocal:
    """The parts of 1/x for fixed-point x (scale 2^frac) known to lie in [lo, hi]."""
    p, k = MANTISSA_BITS, EXP_BITS
    if not 0 < lo <= hi:
        raise ValueError(f"reciprocal: range [{lo}, {hi}] is not positive")
    exps = exponent_grid(lo, hi)
    if frac + int(exps[-1]) + k > 61:
        raise ValueError(f"reciprocal: range [{lo}, {hi}] does not fit frac={frac}")
    one = ops.add_public(ops.zeros(x.shape + (1,)), const(1))
    at_least = one
    if len(exps) > 1:
        below = await ops.lt_public(x[..., None], encode(2.0 ** exps[1:], frac))
        at_least = np.concatenate([one, ops.sub(ops.add_public(ops.zeros(below.shape),
                                                                const(1)), below)], axis=-1)
    onehot = ops.sub(at_least, np.concatenate(
        [at_least[..., 1:], ops.zeros(x.shape + (1,))], axis=-1))
    # m = x 2^(P - f - e - k) at scale 2^P; integer multipliers 2^(... + Q), then trunc by Q
    q = max(0, frac + int(exps[-1]) + k - p)
    picked = await ops.mul(onehot, x[..., None])
    m = await rescale(ops, ops.sum(ops.mul_public(picked, _powers(p - frac - exps - k + q)),
                                   axis=-1), q)
    two = const(2 << p)
    beta_m = await ops.trunc(ops.mul_public(m, round(_BETA * 2**20)), 20)
    y = ops.add_public(ops.neg(beta_m), encode(_ALPHA, p))  # y0 = alpha - beta m
    for _ in range(NEWTON_STEPS):
        my = await ops.trunc(await ops.mul(m, y), p)
        y = await ops.trunc(await ops.mul(y, ops.add_public(ops.neg(my), two)), p)
    return Reciprocal(y, onehot, exps)


async def rescale(ops: Any, x: Any, shift: int) -> Any:
    """x 2^-shift: a truncation, or for shift <= 0 an exact multiplication."""
    if shift > 0:
        return await ops.trunc(x, shift)
    return ops.mul_public(x, 1 << -shift) if shift else x


async def times_power(ops: Any, r: Reciprocal, v: Any) -> Any:
    """v 2^(e_top - e), exactly (one product): the caller divides by 2^(e_top + EXP_BITS)
    through its bookkeeping of scales or a truncation."""
    top = int(r.exps[-1])
    scaled = await ops.mul(r.onehot, v[..., None])
    return ops.sum(ops.mul_public(scaled, _powers(top - r.exps)), axis=-1)
