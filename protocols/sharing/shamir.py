"""Shamir (t, n) secret sharing over a prime field, by default p = 2^31 - 1.

A secret s is the constant term of a random polynomial of degree t; party k
(1-based evaluation point x_k = k) holds its value at x_k. Any t+1 shares
determine s by Lagrange interpolation at 0; any t shares are uniform and
independent of s. p < 2^31 keeps every product of two field elements inside
int64, so numpy does the arithmetic (shares are int64 in [0, p)); on the wire a
field element takes 4 bytes (uint32).

The array-level functions (`shamir_share`, `shamir_reconstruct`,
`lagrange_at_zero`) also take another `prime` and other evaluation points.
Primes up to 2^31 keep the int64 path; larger ones (e.g. the 257-bit field in
which `protocols.federated.shamir` shares key seeds) use numpy object arrays
of Python integers: slower, meant for a few secrets rather than vectors.

Array-level functions need no `Party`; `ShamirMpc` (over 2^31 - 1 only) runs
sharing, reveal and multiplication among parties. No dealer is involved:
multiplication uses degree reduction by resharing (GRR/BGW).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike

from sim import Party

PRIME = 2**31 - 1
INT64_PRIMES = 2**31  # primes up to this keep a Horner step, (2p) * x with x < p, in int64


def to_field(x: ArrayLike) -> np.ndarray:
    """Integers (any sign, |x| < p/2 to decode back) as field elements."""
    return np.mod(np.asarray(x, dtype=np.int64), PRIME)


def from_field(u: ArrayLike) -> np.ndarray:
    """Field elements as signed integers in (-p/2, p/2]."""
    u = np.asarray(u, dtype=np.int64)
    return np.where(u > PRIME // 2, u - PRIME, u)


def _dtype(prime: int) -> type:
    return np.int64 if prime <= INT64_PRIMES else object


def _big_coefficients(rng: np.random.Generator, prime: int, count: int) -> list[int]:
    """`count` field elements, each ceil(bits/8) random bytes (big-endian) reduced mod p.

    One `rng.bytes` call per element keeps the random stream the federated
    seed sharing has always drawn. The result is within statistical distance
    min(r, p - r) / 2^(8 bytes) of uniform, r = 2^(8 bytes) mod p (below
    2^-246 for 2^256 + 297); primes for which that exceeds 2^-40 (the usual
    statistical security parameter) are refused.
    """
    nbytes = (prime.bit_length() + 7) // 8
    r = (1 << 8 * nbytes) % prime
    if min(r, prime - r) > 1 << (8 * nbytes - 40):
        raise ValueError(f"prime {prime} is too far from a power of 256 for byte-wise draws")
    return [int.from_bytes(rng.bytes(nbytes), "big") % prime for _ in range(count)]


def shamir_share(secrets: ArrayLike, t: int, n: int, rng: np.random.Generator, *,
                 prime: int = PRIME, points: Sequence[int] | None = None) -> np.ndarray:
    """Shares of each secret for parties at x = 1..n: shape ``(n,) + secrets.shape``.

    Polynomials of degree t evaluated by vectorized Horner's rule; `points`
    (n distinct nonzero field elements) replace 1..n as evaluation points.
    Secrets are taken mod `prime`; a prime above 2^31 gives an object array of
    Python integers.
    """
    if not 0 <= t < n:
        raise ValueError(f"shamir_share needs 0 <= t < n, got t={t}, n={n}")
    dtype = _dtype(prime)
    if points is None:
        xs = np.arange(1, n + 1, dtype=np.int64)
    else:
        xs = np.array([int(x) % prime for x in points], dtype=dtype)
        if len(xs) != n or len(set(xs.tolist())) != n or 0 in xs.tolist():
            raise ValueError(f"shamir_share needs {n} distinct nonzero points, got {points}")
    if dtype is np.int64:
        secrets = np.mod(np.asarray(secrets, dtype=np.int64), prime)
        coeffs = rng.integers(0, prime, size=(t,) + secrets.shape, dtype=np.int64)
    else:
        secrets = np.asarray(np.asarray(secrets, dtype=object) % prime, dtype=object)
        draws = _big_coefficients(rng, prime, t * secrets.size)
        coeffs = np.array(draws, dtype=object).reshape((t,) + secrets.shape)
    xs = xs.astype(dtype, copy=False).reshape((n,) + (1,) * secrets.ndim)
    acc = np.zeros((n,) + secrets.shape, dtype=dtype)
    for coeff in coeffs[::-1]:
        acc += coeff
        acc *= xs
        if dtype is np.int64:  # Python integers cannot overflow: reduce once, at the end
            acc %= prime
    acc += secrets
    acc %= prime
    return acc


@lru_cache(maxsize=4096)
def _lagrange(xs: tuple[int, ...], prime: int) -> tuple[int, ...]:
    coeffs = []
    for k, xk in enumerate(xs):
        num, den = 1, 1
        for j, xj in enumerate(xs):
            if j != k:
                num = num * xj % prime
                den = den * (xj - xk) % prime
        coeffs.append(num * pow(den, prime - 2, prime) % prime)
    return tuple(coeffs)


def lagrange_at_zero(xs: Sequence[int], prime: int = PRIME) -> np.ndarray:
    """Coefficients l_k with f(0) = sum_k l_k f(x_k) for every f of degree < len(xs).

    Cached by points, since a protocol reuses the same few sets of points.
    """
    xs = tuple(int(x) % prime for x in xs)
    if len(set(xs)) != len(xs) or 0 in xs:
        raise ValueError(f"evaluation points must be distinct and nonzero, got {list(xs)}")
    return np.array(_lagrange(xs, prime), dtype=_dtype(prime))


def _combine(shares: Iterable[np.ndarray], coeffs: np.ndarray,
             prime: int = PRIME) -> np.ndarray:
    out, dtype = None, _dtype(prime)
    for share, coeff in zip(shares, coeffs, strict=True):
        term = np.asarray(share, dtype=dtype) * coeff % prime
        out = term if out is None else (out + term) % prime
    return out


def shamir_reconstruct(shares: ArrayLike, xs: Sequence[int], prime: int = PRIME) -> np.ndarray:
    """The secrets from shares at points `xs` (shape ``(len(xs),) + ...``).

    Give at least t+1 shares of a degree-t sharing; any subset works.
    """
    dtype = _dtype(prime)
    shares = np.asarray(shares, dtype=dtype)
    if shares.shape[0] != len(xs):
        raise ValueError(f"{shares.shape[0]} shares for {len(xs)} evaluation points")
    coeffs = lagrange_at_zero(xs, prime)
    if dtype is object:  # one vectorized sum: Python integers cannot overflow
        return np.sum(shares * coeffs.reshape((-1,) + (1,) * (shares.ndim - 1)), axis=0) % prime
    return _combine(shares, coeffs, prime)


def share_work(count: int, t: int, n: int) -> Counter:
    """What `shamir_share` of `count` secrets (int64 field) computes, by cost class:
    t coefficients drawn per secret, then Horner's rule at n points (an add, a
    multiply and a reduction per step)."""
    return Counter(ring=2 * t * count + (2 * t + 1) * n * count, mod=(t + 1) * n * count,
                   call=4 * t + 4)


def combine_work(count: int, points: int) -> Counter:
    """What interpolating `count` secrets from `points` shares computes (`_combine`)."""
    return Counter(ring=2 * points * count, mod=2 * points * count, call=4 * points)


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
            await party.work(**share_work(shares[0].size, self.t, len(self.players)))
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
        await party.work(**combine_work(out.size, len(points)))
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
        await party.work(**Counter(ring=out.size, mod=out.size) + share_work(out.size, self.t, n)
                         + combine_work(out.size, n))
        return out
