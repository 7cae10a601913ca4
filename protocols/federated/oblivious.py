"""Aggregation beyond sums (issue 5, item 2): a secure elementwise maximum and a secure mean
of client updates clipped obliviously to a public L2 norm.

TRUST MODEL. Two non-colluding aggregation servers and a trusted dealer:

* party 0, the server, is one computing player and the only party that learns a result;
* a helper server is the other player; it learns nothing but which clients' shares
  arrived (public, like the dropouts of SecAgg);
* a dealer (`protocols.sharing.dealer`) deals Beaver triples and comparison masks and
  colludes with neither server; it receives no share.

Each client splits its fixed-point vector (f fractional bits in Z_2^64) into two
additive shares, one per server, and is done. The servers compute on shares with
`protocols.sharing.Mpc`; every message a server receives before the final opening is a
share or a value masked by a uniform ring element, so any one server's view is
uniformly random whatever the inputs (tested). Semi-honest security: clients are
trusted to send well-formed shares of vectors whose squared norm fits the fixed
point range (< 2^(61 - 2f)); nothing proves it.

Secure maximum: a tournament over the clients, each level one batched `lt` of all
pairs (8 rounds) and one Beaver selection (1 round): 9 ceil(log2 m) rounds for m
clients, exact on the fixed-point grid (selection by an integer bit needs no
truncation).

Oblivious clipping, x_i -> x_i min(1, C / ||x_i||), then the sum (the mean is
sum / m, m public):

1. s_i = ||x_i||^2 (one Beaver product, summed, truncated: 2 rounds);
2. one batch of comparisons of s_i against C^2 and the powers of two 2^j between
   C^2 and the top of the range (8 rounds) gives both the clip bit
   over_i = [s_i >= C^2] and the one-hot of the binary exponent e of
   s'_i = max(s_i, C^2) (monotone bits, as in `FixedPoint.reciprocal`);
3. s' = select(over, s, C^2) and m_i = s'_i 2^-(e+1) in [1/2, 1) (3 rounds);
4. y = 1 / sqrt(m) by Newton's iteration y <- y (3 - m y^2) / 2 from
   y0 = 1.7493 - 0.75 m (relative error <= 2.83% on [1/2, 1]; each step maps the
   error e to about 1.5 e^2: 1.2e-3, 2.2e-6, 7e-12), 6 rounds per step;
5. factor = C 2^-((e+1)/2) y = C / ||x|| (the public constants C 2^-((e+1)/2)
   selected by the one-hot, kept with g extra fractional bits), then
   select(over, factor, 1) and x times it (5 rounds), summed locally and opened
   to the server (1 round).

With 3 Newton steps: 1 + 1 + 2 + 8 + 3 + 18 + 5 + 1 = 39 rounds, independent of m
and of the vector length. Error per element of the clipped sum's mean (bounded in
`clip_error_bound`, tested): a relative part from rounding s (2^-f / C^2), m and
each Newton step (a few 2^-f), times |x_ij factor| <= C, plus absolute
truncation errors of a few 2^-f.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from protocols.sharing.mpc import Mpc
from protocols.sharing.ring import RING, decode, encode
from sim import Party

NEWTON_SLOPE = 0.75
"""y0 = NEWTON_START - 0.75 m: the slope is 3/4 so that 0.75 m is a truncation of 3 P."""
NEWTON_START = 1.7493
"""Best intercept for slope 3/4: max relative error of y0 sqrt(m) on [1/2, 1] is 2.83%."""

PHASE_INPUT = "oblivious.input"
PHASE_AGREE = "oblivious.agree"
PHASE_MAX = "oblivious.max"
PHASE_CLIP = "oblivious.clip"
PHASE_RESULT = "oblivious.result"


def clip_error_bound(clip_norm: float, frac_bits: int) -> float:
    """Bound on |secure - plaintext| per element of the clipped mean.

    The plaintext is computed on the fixed-point inputs. Relative error of the
    factor C / ||x||: 2^(4-f) (rounding m, Newton's steps, the constants, as in
    `FixedPoint.reciprocal`) plus 2^-f / C^2 (s rounded to f bits, halved by the
    square root, with margin); it multiplies |x_ij factor| <= C. Absolute part:
    the truncation of x times the factor and of the factor itself, 2^(2-f).
    """
    ulp = 2.0 ** -frac_bits
    return clip_norm * (16 * ulp + ulp / clip_norm**2) + 4 * ulp


@dataclass(frozen=True)
class ClipConstants:
    """The public constants of the clipping circuit for bound C and f fractional bits."""

    frac_bits: int
    thresholds: np.ndarray
    """Ring: C^2 then 2^j for j = j_lo+1 .. j_hi (f fractional bits)."""
    scales: np.ndarray
    """Ring: 2^-(e+1) with `extra` fractional bits, e = j_lo .. j_hi."""
    factors: np.ndarray
    """Ring: C 2^-((e+1)/2) with f + g fractional bits, e = j_lo .. j_hi."""
    extra: int
    g: int
    clip_sq: np.ndarray
    """Ring 0-d: C^2 with f fractional bits."""

    @classmethod
    def build(cls, clip_norm: float, frac_bits: int) -> ClipConstants:
        f = frac_bits
        j_hi = 60 - 2 * f  # ||x||^2 < 2^(61-2f) keeps the unreduced dot product below 2^61
        j_lo = math.floor(math.log2(clip_norm**2))
        if not clip_norm > 0 or j_lo > j_hi:
            raise ValueError(f"clip_norm must be in (0, 2^{(j_hi + 1) / 2}) for {f} "
                             f"fractional bits, got {clip_norm}")
        exps = np.arange(j_lo, j_hi + 1)
        extra = max(j_hi + 1, 0)
        k = clip_norm * 2.0 ** (-(exps + 1) / 2)
        g = max(0, math.ceil(-math.log2(k.min())))
        if math.log2(max(clip_norm, 1.0)) + 2 * f + g + 2 > 61 or f + extra - j_lo > 61:
            raise ValueError(f"clip_norm {clip_norm} with {f} fractional bits overflows "
                             "the 64-bit ring: lower frac_bits")
        return cls(
            frac_bits=f,
            thresholds=np.concatenate([encode([clip_norm**2], f),
                                       encode(2.0 ** exps[1:], f)]),
            scales=np.uint64(1) << (extra - exps - 1).astype(RING),
            factors=encode(k, f + g),
            extra=extra,
            g=g,
            clip_sq=encode(clip_norm**2, f),
        )


@dataclass(frozen=True)
class ObliviousConfig:
    """Who plays which role, and the public parameters.

    Attributes:
        clients: ids of the input owners.
        helper: id of the second aggregation server (party 0 is the first).
        dealer: id of the trusted dealer.
        frac_bits: fractional bits f of the fixed-point encoding.
        clip_norm: the public L2 bound C.
        iterations: Newton steps of the inverse square root.
        timeout: how long the servers wait for the clients' shares (simulated s).
    """

    clients: tuple[int, ...]
    helper: int
    dealer: int
    frac_bits: int = 16
    clip_norm: float = 1.0
    iterations: int = 3
    timeout: float = 1.0

    @property
    def players(self) -> list[int]:
        return [0, self.helper]

    def mpc(self, party: Party) -> Mpc:
        """The sharing context every party of the aggregation builds (keep it across rounds)."""
        return Mpc(party, self.players, self.dealer, self.frac_bits)

    def constants(self) -> ClipConstants:
        return ClipConstants.build(self.clip_norm, self.frac_bits)


@dataclass(frozen=True)
class Outcome:
    """What one aggregation gave: the included clients (every role), and at the server
    only, the elementwise maximum and the sum of the clipped vectors (decoded)."""

    included: tuple[int, ...]
    maximum: np.ndarray | None = None
    clipped_sum: np.ndarray | None = None


async def contribute(mpc: Mpc, values: np.ndarray) -> None:
    """A client: share `values` (real) between the two servers, 1 message each."""
    party = mpc.party
    with party.phase(PHASE_INPUT):
        await mpc.share_fx(party.id, values)


async def aggregate(mpc: Mpc, cfg: ObliviousConfig, length: int, expect: Sequence[int],
                    maximum: bool = True, clipped_sum: bool = True) -> Outcome:
    """The servers' and the dealer's side of one aggregation of `length`-vectors.

    The servers wait up to `cfg.timeout` for the shares of the `expect`ed clients,
    then agree with the dealer on the clients whose shares reached both (1 round).
    """
    included = await _agree(mpc, cfg, expect)
    party = mpc.party
    x = (np.stack(list(included.values())) if mpc.is_player
         else mpc.zeros((len(included), length)))
    top = total = None
    if maximum:
        with party.phase(PHASE_MAX):
            top = await secure_max(mpc, x)
    if clipped_sum:
        with party.phase(PHASE_CLIP):
            total = mpc.sum(await clip(mpc, x, cfg.constants(), cfg.iterations), axis=0)
    with party.phase(PHASE_RESULT):  # both in one message per server (`Mpc.gather`)
        results = [v for v in (top, total) if v is not None]
        revealed = iter(await mpc.gather(*(mpc.reveal(v, to=0) for v in results)))
        opened = [None if v is None else next(revealed) for v in (top, total)]
    f = cfg.frac_bits
    if party.id != 0:
        return Outcome(tuple(included))
    return Outcome(tuple(included),
                   None if opened[0] is None else decode(opened[0], f),
                   None if opened[1] is None else decode(opened[1], f))


async def _agree(mpc: Mpc, cfg: ObliviousConfig, expect: Sequence[int]
                 ) -> dict[int, np.ndarray]:
    """Receive the shares; the clients included are those whose shares reached both
    servers. Each server sends the ids it got to the other and the dealer."""
    party = mpc.party
    with party.phase(PHASE_INPUT):
        got = await party.recv_many(expect, timeout=cfg.timeout) if mpc.is_player else {}
    with party.phase(PHASE_AGREE):
        if mpc.is_player:
            other = cfg.helper if party.id == 0 else 0
            mine = np.array(sorted(got), np.int64)
            for dst in (other, cfg.dealer):
                await party.send(dst, mine)
            lists = [mine, (await party.recv_many([other]))[other]]
        else:
            lists = list((await party.recv_many(cfg.players)).values())
    both = sorted(set(lists[0].tolist()) & set(lists[1].tolist()))
    if not both:
        raise RuntimeError("oblivious aggregation: no client's shares reached both servers")
    return {u: got.get(u) for u in both}


async def secure_max(mpc: Mpc, x: np.ndarray) -> np.ndarray:
    """Shares of the maximum over axis 0 (elementwise over the other axes).

    A tournament: rows (2j, 2j+1) meet, the right one replaces the left where it
    is greater (one batched `lt`, one Beaver selection by the 0/1 result, which is
    exact: no truncation). 9 ceil(log2 m) rounds.
    """
    while x.shape[0] > 1:
        pairs = x.shape[0] // 2
        left, right = x[0:2 * pairs:2], x[1:2 * pairs:2]
        winners = await mpc.select(await mpc.lt(left, right), right, left)
        x = np.concatenate([winners, x[2 * pairs:]]) if x.shape[0] % 2 else winners
    return x[0]


async def clip(mpc: Mpc, x: np.ndarray, k: ClipConstants, iterations: int = 3) -> np.ndarray:
    """Shares of each row of `x` scaled by min(1, C / ||row||) (see the module docstring)."""
    f = k.frac_bits
    one = mpc.add_public(mpc.zeros((x.shape[0], 1)), 1)
    s = await mpc.dot_fx(x, x)
    below = await mpc.lt_public(s[:, None], k.thresholds)
    not_below = mpc.sub(one, below)
    over = not_below[:, 0]
    at_least = np.concatenate([one, not_below[:, 1:]], axis=1)
    onehot = at_least.copy()
    onehot[:, :-1] -= at_least[:, 1:]
    scale = mpc.sum(onehot * k.scales, axis=1)
    factor_const = mpc.sum(onehot * k.factors, axis=1)
    s_prime = await mpc.select(over, s, mpc.add_public(mpc.zeros(s.shape), k.clip_sq))
    p = await mpc.mul(s_prime, scale)
    both = await mpc.trunc(np.concatenate([mpc.mul_public(p, 4), mpc.mul_public(p, 3)]),
                           k.extra + 2)
    m, three_quarters_m = both[:len(p)], both[len(p):]
    y = mpc.add_public_fx(mpc.neg(three_quarters_m), NEWTON_START)
    for _ in range(iterations):
        my2 = await mpc.mul_fx(await mpc.mul_fx(m, y), y)
        y = await mpc.trunc(await mpc.mul(y, mpc.add_public_fx(mpc.neg(my2), 3.0)), f + 1)
    factor = await mpc.trunc(await mpc.mul(factor_const, y), f)  # f + g fractional bits
    unit = mpc.add_public(mpc.zeros(factor.shape), encode(1.0, f + k.g))
    factor = await mpc.select(over, factor, unit)
    return await mpc.trunc(await mpc.mul(x, factor[:, None]), f + k.g)
