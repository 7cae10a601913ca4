"""Shamir (t, n) secret sharing over the prime field p = 2^31 - 1.

A secret s is the constant term of a random polynomial of degree t; party k
(1-based evaluation point x_k = k) holds its value at x_k. Any t+1 shares
determine s by Lagrange interpolation at 0; any t shares are uniform and
independent of s. p < 2^31 keeps every product of two field elements inside
int64, so numpy does the arithmetic (shares are int64 in [0, p)); on the wire a
field element takes 4 bytes (uint32).

Array-level functions (`shamir_share`, `shamir_reconstruct`) need no `Party`;
`ShamirMpc` runs sharing, reveal and multiplication among parties. No dealer
is involved: multiplication uses degree reduction by resharing (GRR/BGW).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import ArrayLike

from sim.party import Party

PRIME = 2**31 - 1


def to_field(x: ArrayLike) -> np.ndarray:
    """Integers (any sign, |x| < p/2 to decode back) as field elements."""
    return np.mod(np.asarray(x, dtype=np.int64), PRIME)


def from_field(u: ArrayLike) -> np.ndarray:
    """Field elements as signed integers in (-p/2, p/2]."""
    u = np.asarray(u, dtype=np.int64)
    return np.where(u > PRIME // 2, u - PRIME, u)


def shamir_share(secrets: ArrayLike, t: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Shares of each secret for parties at x = 1..n: shape ``(n,) + secrets.shape``.

    Polynomials of degree t evaluated by vectorized Horner's rule.
    """
    if not 0 <= t < n:
        raise ValueError(f"shamir_share needs 0 <= t < n, got t={t}, n={n}")
    secrets = to_field(secrets)
    coeffs = rng.integers(0, PRIME, size=(t,) + secrets.shape, dtype=np.int64)
    xs = np.arange(1, n + 1, dtype=np.int64).reshape((n,) + (1,) * secrets.ndim)
    acc = np.zeros((n,) + secrets.shape, dtype=np.int64)
    for coeff in coeffs[::-1]:
        acc += coeff
        acc *= xs
        acc %= PRIME
    acc += secrets
    acc %= PRIME
    return acc


def lagrange_at_zero(xs: Sequence[int]) -> np.ndarray:
    """Coefficients l_k with f(0) = sum_k l_k f(x_k) for every f of degree < len(xs)."""
    xs = [int(x) % PRIME for x in xs]
    if len(set(xs)) != len(xs) or 0 in xs:
        raise ValueError(f"evaluation points must be distinct and nonzero, got {xs}")
    coeffs = []
    for k, xk in enumerate(xs):
        num, den = 1, 1
        for j, xj in enumerate(xs):
            if j != k:
                num = num * xj % PRIME
                den = den * (xj - xk) % PRIME
        coeffs.append(num * pow(den, PRIME - 2, PRIME) % PRIME)
    return np.array(coeffs, dtype=np.int64)


def _combine(shares: Iterable[np.ndarray], coeffs: np.ndarray) -> np.ndarray:
    out = None
    for share, coeff in zip(shares, coeffs, strict=True):
        term = np.asarray(share, dtype=np.int64) * coeff % PRIME
        out = term if out is None else (out + term) % PRIME
    return out


def shamir_reconstruct(shares: ArrayLike, xs: Sequence[int]) -> np.ndarray:
    """The secrets from shares at points `xs` (shape ``(len(xs),) + ...``).

    Give at least t+1 shares of a degree-t sharing; any subset works.
    """
    shares = np.asarray(shares, dtype=np.int64)
    if shares.shape[0] != len(xs):
        raise ValueError(f"{shares.shape[0]} shares for {len(xs)} evaluation points")
    return _combine(shares, lagrange_at_zero(xs))


def _wire(x: np.ndarray) -> np.ndarray:
    return x.astype(np.uint32)


class ShamirMpc:
    """Shamir-shared computation among `players` with threshold `t`.

    Player k (0-based position in `players`) holds the evaluation at k + 1.
    Shares are int64 arrays in [0, p); non-players hold placeholder zeros.
    """

    def __init__(self, party: Party, players: Sequence[int], t: int):
        self.party, self.players, self.t = party, [int(p) for p in players], t
        if not 0 <= t < len(self.players):
            raise ValueError(f"threshold t={t} needs more than t players, got {self.players}")
        self.is_player = party.id in self.players
        self.x = self.players.index(party.id) + 1 if self.is_player else None
        self.peers = [p for p in self.players if p != party.id]

    async def share(self, owner: int, value: ArrayLike | None = None,
                    shape: tuple[int, ...] | None = None) -> np.ndarray:
        """The owner deals degree-t shares: 1 round, one 4L-byte message per other player."""
        party = self.party
        if party.id == owner:
            shares = shamir_share(value, self.t, len(self.players), party.rng)
            for k, pid in enumerate(self.players):
                if pid != owner:
                    await party.send(pid, _wire(shares[k]))
            await party.work(shares.size * (self.t + 1))
            return shares[self.x - 1] if self.is_player else np.zeros(shares.shape[1:], np.int64)
        if shape is None:
            raise ValueError("share: parties other than the owner must give the shape")
        if self.is_player:
            return (await party.recv(owner)).astype(np.int64)
        return np.zeros(shape, np.int64)

    async def reveal(self, x: np.ndarray, to: int | None = None,
                     senders: Sequence[int] | None = None) -> np.ndarray | None:
        """Open `x` to every player (``to=None``) or to party `to`.

        `senders` (default: all players) are the players whose shares are used;
        any t+1 of them suffice. Returns the field elements, None elsewhere.
        """
        senders = self.players if senders is None else [int(s) for s in senders]
        if len(senders) <= self.t:
            raise ValueError(f"reveal needs at least t+1 = {self.t + 1} senders, got {senders}")
        receivers = self.players if to is None else [to]
        party = self.party
        if party.id in senders:
            for pid in receivers:
                if pid != party.id:
                    await party.send(pid, _wire(x))
        if party.id not in receivers:
            return None
        got = await party.recv_many([s for s in senders if s != party.id])
        if party.id in senders:
            got[party.id] = x
        points = sorted(got)
        xs = [self.players.index(s) + 1 for s in points]
        out = _combine((got[s] for s in points), lagrange_at_zero(xs))
        await party.work(out.size * len(points))
        return out

    def add(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (x + y) % PRIME

    def sub(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (x - y) % PRIME

    def mul_public(self, x: np.ndarray, k: ArrayLike) -> np.ndarray:
        return x * to_field(k) % PRIME

    async def mul(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Product with degree reduction (GRR/BGW): requires 2t < number of players.

        Each player multiplies locally (a degree-2t sharing), reshares its product
        with degree t to every player (1 round, p(p-1) messages of 4L bytes) and
        combines the sub-shares with the Lagrange coefficients at 0 of all p
        points. Honest-but-curious; no dealer.
        """
        n = len(self.players)
        if 2 * self.t >= n:
            raise ValueError(f"Shamir multiplication needs 2t < n, got t={self.t}, n={n}")
        shape = np.broadcast_shapes(x.shape, y.shape)
        if not self.is_player:
            return np.zeros(shape, np.int64)
        party = self.party
        sub = shamir_share(x * y % PRIME, self.t, n, party.rng)
        for k, pid in enumerate(self.players):
            if pid != party.id:
                await party.send(pid, _wire(sub[k]))
        got = await party.recv_many(self.peers)
        got[party.id] = sub[self.x - 1]
        out = _combine((got[p] for p in self.players), lagrange_at_zero(range(1, n + 1)))
        await party.work(sub.size * (self.t + 2) + out.size * n)
        return out
