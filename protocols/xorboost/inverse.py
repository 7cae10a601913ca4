"""A high-precision reciprocal for split gains and leaf weights.

`Mpc.reciprocal` runs Newton's iteration at the shares' f fractional bits, so its
relative error is about 2^(6-f) (1e-3 for f = 16). A split gain is a difference
of terms G^2/(H+lambda) that are much larger than the gain, and a 1e-3 relative
error there flips splits whose gain is small. This version, built on `Mpc`'s
comparison, product and truncation, keeps the normalized mantissa at P = 28
fractional bits, which the products of two such numbers still fit in the ring:

1. one batch of comparisons with the powers of two 2^j, j in (J_lo, J_hi]
   gives the one-hot of x's exponent e (8 rounds);
2. m = x 2^-(e+1) in [0.5, 1) at scale 2^P: one product of the one-hot with x
   and public integer powers of two, no truncation (1 round);
3. three Newton steps y <- y(2 - m y) from y0 = 2.9142 - 2m (relative error
   0.0858^8 < 2^-28), each two products and two truncations (12 rounds);
4. 1/x = y 2^-(e+1) at scale 2^out: one product of the one-hot with y times
   2^(J_hi - e), then one truncation by P + J_hi + 1 - out (2 rounds).

23 rounds. Error: relative 2^-25 from the mantissa (rounding of m, y0 and three
steps), plus one unit of 2^-out from the last truncation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from protocols.sharing.ring import const, encode

MANTISSA_BITS = 28
NEWTON_STEPS = 3


def _powers(exps: np.ndarray) -> np.ndarray:
    return (np.ones(exps.shape, np.int64) << exps.astype(np.int64))


async def inverse(ops: Any, x: Any, lo: float, hi: float, out_frac: int) -> Any:
    """Shares of 1/x at scale 2^out_frac, for fixed-point x (scale 2^f) in [lo, hi]."""
    f, p = ops.frac_bits, MANTISSA_BITS
    j_lo, j_hi = math.floor(math.log2(lo)), math.floor(math.log2(hi))
    if not 0 < lo <= hi or p < f + j_hi + 1 or p + j_hi + 1 - out_frac < 1:
        raise ValueError(f"inverse: range [{lo}, {hi}] or out_frac={out_frac} does not fit "
                         f"{p} mantissa bits with f={f}")
    exps = np.arange(j_lo, j_hi + 1)
    one = ops.add_public(ops.zeros(x.shape + (1,)), const(1))
    at_least = one
    if len(exps) > 1:
        below = await ops.lt_public(x[..., None], encode(2.0 ** exps[1:], f))
        at_least = np.concatenate([one, ops.sub(ops.add_public(ops.zeros(below.shape),
                                                                const(1)), below)], axis=-1)
    onehot = ops.sub(at_least, np.concatenate(
        [at_least[..., 1:], ops.zeros(x.shape + (1,))], axis=-1))
    # m = x 2^(P - f - e - 1) at scale 2^P (integer multipliers since P >= f + J_hi + 1)
    picked = await ops.mul(onehot, x[..., None])
    m = ops.sum(ops.mul_public(picked, _powers(p - f - exps - 1)), axis=-1)
    two = const(2 << p)
    y = ops.add_public(ops.mul_public(m, -2), encode(2.9142, p))
    for _ in range(NEWTON_STEPS):
        my = await ops.trunc(await ops.mul(m, y), p)
        y = await ops.trunc(await ops.mul(y, ops.add_public(ops.neg(my), two)), p)
    scaled = await ops.mul(onehot, y[..., None])
    z = ops.sum(ops.mul_public(scaled, _powers(j_hi - exps)), axis=-1)
    return await ops.trunc(z, p + j_hi + 1 - out_frac)


def inverse_extra_bits(frac_bits: int, shift: int, reg_lambda: float) -> int:
    """Extra fractional bits k of 1/(H+lambda) such that (G^2 at scale 2^f) times it
    fits the ring: 2^(18+f) * 2^(f+k) / lambda_s < 2^61, lambda_s = lambda 2^-shift."""
    lam_s = reg_lambda / 2.0**shift
    return max(0, math.floor(61 - 18 - 2 * frac_bits - math.log2(1 / lam_s)))

