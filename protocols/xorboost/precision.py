"""Fixed-point precision of a run, chosen from its public sizes.

Every share is an integer of Z_2^64; a product of two must stay below 2^62 in
magnitude before it is truncated (`protocols.sharing.Mpc.trunc`). The budgets,
with n training samples, g_max and h_max the bounds of a sample's gradient and
hessian (logistic: 1 and 1/4; squared error: 16 and 1, labels standardized,
see `protocols.xorboost.protocol.prepare`):

* ``frac`` (F): fractional bits of gradients, hessians, margins and leaves;
  24 by default (float32's 24-bit mantissa: the sigmoid and the gradients are
  as precise as XGBoost's own float32 ones), lower only when n g_max 2^F would
  pass 2^60 (n above 2^36), and at most 26 so that the sigmoid's degree-6
  pieces (coefficients at F + 8 bits times powers at F bits) fit.
* node sums G, H are exact sums at scale 2^F; H + lambda lies in
  [lambda, n h_max + lambda], the range of the reciprocal
  (`protocols.xorboost.inverse`), whose mantissa has MANTISSA_BITS bits.
* gain terms G^2 / (H + lambda) are computed per node relative to the node's
  sample count c (``count_bits`` E = ceil(log2 n) is the largest exponent):
  G_s = G 2^-ceil(log2 c) has |G_s| <= g_max and ``gain_frac`` (a) fractional
  bits, the largest a with G_s times the reciprocal's mantissa y <= 2^(P + k)
  (a + P + k + log2 g_max bits) and G_s times G_s / m (2a + k + 2 log2 g_max
  bits) below 2^61 (k = EXP_BITS). So every node's terms have the same
  relative resolution whatever its size: 2^-a of c g_max in G, 2^-25 from the
  reciprocal. ``square_shift`` (s) truncates G_s^2 / m so that a term times
  2^(e_top - e) (the reciprocal's exponent range) stays below 2^59: a split's
  score (two terms) below 2^60, invalid candidates at -2^60.

Depth enters through the number of nodes per level only (costs), not the
budgets: every level's statistics are exact sums, and margins grow by at most
n_estimators eta |w| (far below the 2^(62 - F) the sigmoid's sign test allows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from protocols.xorboost.inverse import EXP_BITS, MANTISSA_BITS, exponent_grid

GRAD_BOUND = {"binary:logistic": 1.0, "reg:squarederror": 16.0}
HESS_BOUND = {"binary:logistic": 0.25, "reg:squarederror": 1.0}
DEFAULT_FRAC = 24
MAX_FRAC = 26
SCORE_BITS = 59
"""A candidate's gain term stays below 2^SCORE_BITS; scores (two terms) below 2^60."""
BIG = 1 << 60
"""Score of an invalid candidate: -BIG."""
RT_EPS = 1e-6
"""XGBoost's kRtEps: a split must gain more than this (and at least gamma)."""


@dataclass(frozen=True)
class Precision:
    """The fixed-point layout of one run (all public)."""

    frac: int
    count_bits: int
    gain_frac: int
    square_shift: int
    d_lo: float
    d_hi: float
    g_bits: int

    @property
    def exps(self) -> np.ndarray:
        """The reciprocal's exponent grid over [d_lo, d_hi] (`inverse.exponent_grid`)."""
        return exponent_grid(self.d_lo, self.d_hi)

    @property
    def score_scale(self) -> int:
        """log2 of score units per unit of term / 4^ceil(log2 c) (see `choose`)."""
        return int(self.exps[-1]) + EXP_BITS + 2 * self.gain_frac - self.square_shift

    def gain_threshold(self, gain: float) -> list[int]:
        """A gain in score units at a node whose count exponent is e, for e = 0..E."""
        return [min(round(gain * 2.0 ** (self.score_scale - 2 * e)), 1 << SCORE_BITS)
                for e in range(self.count_bits + 1)]


def choose(n: int, objective: str, reg_lambda: float, frac_bits: int | None = None
           ) -> Precision:
    """The precision of a run on n samples (module docstring); `frac_bits` overrides F."""
    g_max, h_max = GRAD_BOUND[objective], HESS_BOUND[objective]
    g_bits = math.ceil(math.log2(g_max))
    sum_bits = math.ceil(math.log2(max(2.0, n * g_max)))
    frac = frac_bits if frac_bits is not None else min(DEFAULT_FRAC, 60 - sum_bits)
    if not 8 <= frac <= MAX_FRAC or frac + sum_bits > 60:
        raise ValueError(f"frac_bits={frac} does not fit n={n} samples: need 8 <= frac_bits "
                         f"<= {min(MAX_FRAC, 60 - sum_bits)}")
    count_bits = max(1, math.ceil(math.log2(n)))
    p, k = MANTISSA_BITS, EXP_BITS
    gain_frac = min(60 - p - k - g_bits, (60 - k - 2 * g_bits) // 2)
    d_lo, d_hi = reg_lambda, n * h_max + reg_lambda
    exps = exponent_grid(d_lo, d_hi)
    spread = int(exps[-1] - exps[0])
    square_shift = max(1, 2 * g_bits + k + spread + 2 * gain_frac - SCORE_BITS)
    if frac + count_bits + g_bits + 1 > 61:
        raise ValueError(f"n={n} is too large for frac_bits={frac}")
    return Precision(frac, count_bits, gain_frac, square_shift, d_lo, d_hi, g_bits)
