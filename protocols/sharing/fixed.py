"""Reciprocal and division of fixed-point shares, for inputs in a public range.

reciprocal(x) for 0 < lo <= x <= hi:

1. Normalize with ONE batch of comparisons against the powers of two
   2^j, j = J_lo+1 .. J_hi (J = floor(log2)): the bits b_j = [x >= 2^j] are
   monotone, so the one-hot of x's binary exponent e is b_e - b_{e+1} (local).
2. s = sum_e onehot_e 2^-(e+1) (a local combination with public constants,
   encoded with F extra fractional bits so that every 2^-(e+1) is an integer),
   and m = x s in [0.5, 1).
3. Newton's iteration y <- y(2 - m y) from y0 = 2.9142 - 2m, whose relative
   error is at most 0.0858 on [0.5, 1]; each iteration squares it
   (3 iterations: 5.4e-5, 4: 2.9e-9).
4. 1/x = y s.

Error (tested): with f <= 24 fractional bits and the default 4 iterations,
|result - 1/x| <= 2^(4-f) / x + 2^(1-f), x being the encoded input: a
relative part from rounding m and each Newton step to f bits (Newton's own
error, 2.9e-9, is below 2^-24) and an absolute part from the final
truncation. Measured worst cases use about a tenth of the relative part.

Rounds: 8 (comparisons) + 2 (m) + 4 per iteration + 2 (rescale) = 28 by default;
the comparisons are skipped when lo and hi share a binary exponent, and the two
rescaling truncations when hi < 1/2 (F = 0).
"""

from __future__ import annotations

import math

import numpy as np

from protocols.sharing.compare import Comparisons
from protocols.sharing.ring import BITS, RING, encode


class FixedPoint(Comparisons):
    """`reciprocal` and `div` (mixed into `protocols.sharing.Mpc`)."""

    async def reciprocal(self, x: np.ndarray, lo: float, hi: float,
                         iterations: int = 4) -> np.ndarray:
        """Shares of 1/x (fixed point) for x known to lie in [lo, hi], 0 < lo <= hi."""
        if not 0 < lo <= hi:
            raise ValueError(f"reciprocal needs 0 < lo <= hi, got lo={lo}, hi={hi}")
        f = self.frac_bits
        j_lo, j_hi = math.floor(math.log2(lo)), math.floor(math.log2(hi))
        extra = max(j_hi + 1, 0)  # F: 2^(F - e - 1) is an integer for every e <= J_hi
        if f + extra - j_lo > BITS - 3:
            raise ValueError(f"reciprocal: range [{lo}, {hi}] too wide for {f} fractional bits")
        exps = np.arange(j_lo, j_hi + 1)
        one = self.add_public(self.zeros(x.shape + (1,)), 1)
        at_least = one  # b_j = [x >= 2^j] for j = J_lo..J_hi; b_{J_lo} = 1
        if len(exps) > 1:
            below = await self.lt_public(x[..., None], encode(2.0 ** exps[1:], f))
            at_least = np.concatenate([one, self.sub(one, below)], axis=-1)
        onehot = at_least.copy()
        onehot[..., :-1] -= at_least[..., 1:]
        self._local(ring=3 * onehot.size, call=3)  # the one-hot, times the scales
        scales = (np.uint64(1) << (extra - exps - 1).astype(RING))  # 2^-(e+1) with F frac bits
        s = self.sum(onehot * scales, axis=-1)
        m = await self.trunc(await self.mul(x, s), extra) if extra else await self.mul(x, s)
        y = self.add_public_fx(self.mul_public(m, -2), 2.9142)
        for _ in range(iterations):
            my = await self.mul_fx(m, y)
            y = await self.mul_fx(y, self.add_public_fx(self.neg(my), 2.0))
        out = await self.mul(y, s)
        return await self.trunc(out, extra) if extra else out

    async def div(self, a: np.ndarray, b: np.ndarray, lo: float, hi: float,
                  iterations: int = 4) -> np.ndarray:
        """a / b for b in the public range [lo, hi]: a * reciprocal(b)."""
        return await self.mul_fx(a, await self.reciprocal(b, lo, hi, iterations))
