"""Additive and XOR secret sharing among players, with a dealer's help.

Every party (players, the dealer, input owners) runs the SAME program over an
`Mpc` context; control flow is public, and each operation behaves by role:

* players hold shares: uint64 arrays (additive over Z_2^64) or bool arrays (XOR);
* the dealer holds placeholder zeros of the right shapes and, whenever an
  operation needs correlated randomness, produces it (see `dealer`);
* any other party (an input owner that does not compute) also holds
  placeholders; it only acts when it shares an input or receives a reveal.

Each round is one message per pair of parties carrying a whole array, so the
number of messages never grows with the vector length. Local operations are
synchronous; their work is charged to the party's clock at its next awaited
operation. Work is counted by operation class from shapes alone (the
``*_work`` methods), so that cost-only runs (`Ghost` arrays) charge the same.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from protocols.sharing.dealer import Correlations
from protocols.sharing.gather import run_together
from protocols.sharing.ring import (
    DEFAULT_FRAC_BITS,
    RING,
    additive_split,
    const,
    decode,
    encode,
    matmul_shape,
    matmul_work,
    ring_matmul,
    split_work,
    xor_split,
)
from sim import Party

_TWO_62 = const(2**62)
_ONE = const(1)

Input = tuple[int, ArrayLike | None, tuple[int, ...] | None]
"""One input to share: (owner, the value at the owner or None elsewhere, its shape)."""


def _combine_into(total: np.ndarray, part: np.ndarray) -> None:
    if total.dtype == np.bool_:
        np.bitwise_xor(total, part, out=total)
    else:
        np.add(total, part, out=total)


def _array(x: np.ndarray) -> np.ndarray:
    """A 0-d share as a 0-d array: numpy gives 0-d results as scalars, which cannot
    be added into in place and warn on wrap-around."""
    return np.asarray(x) if isinstance(x, np.generic) else x


class MpcCore:
    """Sharing, revealing, linear operations, Beaver products and truncation.

    Args:
        party: this party.
        players: ids of the computing parties (at least one; the first adds
            public constants and receives the dealer's corrections).
        dealer: id of the trusted dealer, or None (then only sharing, reveal and
            local operations work; the others raise `NoDealerError`).
        frac_bits: fractional bits f of the fixed-point encoding.
    """

    def __init__(self, party: Party, players: Sequence[int], dealer: int | None = None,
                 frac_bits: int = DEFAULT_FRAC_BITS):
        players = [int(p) for p in players]
        if not players or len(set(players)) != len(players):
            raise ValueError(f"players must be distinct party ids, got {players}")
        if dealer is not None and dealer in players:
            raise ValueError(f"the dealer ({dealer}) cannot also be a player")
        if not 0 < frac_bits < 40:
            raise ValueError(f"frac_bits must be in 1..39, got {frac_bits}")
        self.party, self.players, self.dealer, self.frac_bits = party, players, dealer, frac_bits
        self.is_player = party.id in players
        self.is_first = party.id == players[0]
        self.peers = [p for p in players if p != party.id]
        self.corr = Correlations(party, players, dealer)
        self._pending: dict[str, float] = {}

    # -- bookkeeping ---------------------------------------------------------

    def _local(self, **counts: float) -> None:
        """Record local work of a synchronous op (operations by class, `sim.OPS`);
        charged at the next awaited op."""
        if self.is_player:
            pending = self._pending
            for op, count in counts.items():
                pending[op] = pending.get(op, 0) + count

    async def _work(self, **counts: float) -> None:
        """Charge the pending local work and `counts` (players only)."""
        if self.is_player:
            self._local(**counts)
        total, self._pending = self._pending, {}
        if total:
            await self.party.work(**total)

    # -- work, counted from shapes -------------------------------------------

    def _open_work(self, size: int, bits: bool = False) -> Counter:
        """Combining an opening of `size` elements: a copy and p-1 additions (XORs)."""
        p = len(self.players)
        return Counter({"bit" if bits else "ring": p * size, "call": p})

    def _beaver_work(self, xs: tuple[int, ...], ys: tuple[int, ...], zs: tuple[int, ...],
                     op: Callable) -> Counter:
        """A Beaver product after the triple's draw: the masked operands, their
        opening, then z = d.b + c + a.e (+ d.e at the first player)."""
        nx, ny, nz = math.prod(xs), math.prod(ys), math.prod(zs)
        terms = 3 if self.is_first else 2
        work = Counter(ring=nx + ny, call=4) + self._open_work(nx + ny)
        if op is ring_matmul:
            for _ in range(terms):
                work += matmul_work(xs, ys)
            return work + Counter(ring=terms * nz)
        return work + Counter(ring=2 * terms * nz, call=2 * terms)

    def _trunc_work(self, size: int) -> Counter:
        """Truncation after the mask's draw: the masked opening and the local fix-up."""
        return (Counter(ring=(7 if self.is_first else 5) * size + size, call=8)
                + self._open_work(size))

    def _masked_work(self, size: int) -> Counter:
        """Opening a + r (its bits are split as rows by `Comparisons._public_rows`)."""
        return Counter(ring=size, call=2) + self._open_work(size)

    @staticmethod
    def zeros(shape: tuple[int, ...], bits: bool = False) -> np.ndarray:
        """A placeholder share (what the dealer and non-players hold)."""
        return np.zeros(shape, np.bool_ if bits else RING)

    async def setup(self) -> None:
        """Offline setup: the dealer's PRG seeds (done on first need otherwise)."""
        await self.corr.setup()

    async def gather(self, *ops: Awaitable[Any]) -> list[Any]:
        """Run independent operations in the same rounds; their results, in order.

        ``z, c = await mpc.gather(mpc.mul_fx(x, y), mpc.lt(x, y))`` takes the
        rounds of the longer operation, not the sum: the operations run in
        lockstep and each round's messages to a party travel as one bundle (see
        `protocols.sharing.gather`, also for the limits). The same holds for
        several reveals: ``await mpc.gather(mpc.reveal(a), mpc.reveal_fx(b))``
        is 1 round. The operations must not depend on each other's results;
        every party passes the same operations in the same order. The dealer's
        PRG seeds are sent first if they have not been.
        """
        return await run_together(self, ops)

    async def _open(self, mine: np.ndarray) -> np.ndarray:
        """All-to-all opening among players: one message per ordered pair, 1 round.

        Returns the sum (ring) or XOR (bits) of every player's array; placeholders
        for other parties.
        """
        mine = _array(mine)
        if not self.is_player:
            return np.zeros_like(mine)
        party = self.party
        for pid in self.peers:
            await party.send(pid, mine)
        got = await party.recv_many(self.peers)
        total = mine.copy()
        for part in got.values():
            _combine_into(total, part)
        return total

    # -- input and output ----------------------------------------------------

    async def share(self, owner: int, value: ArrayLike | None = None,
                    shape: tuple[int, ...] | None = None, bits: bool = False) -> np.ndarray:
        """Additive (or, with ``bits=True``, XOR) shares of the owner's `value`.

        The owner (a player or not) splits with its own rng and sends one share to
        each other player: 1 round, p or p-1 messages of 8L bytes (L/8 for bits).
        Parties other than the owner must give `shape`. Several owners' inputs
        go in one round with `share_all`.
        """
        return (await self.share_all([(owner, value, shape)], bits))[0]

    async def share_fx(self, owner: int, value: ArrayLike | None = None,
                       shape: tuple[int, ...] | None = None) -> np.ndarray:
        """Shares of a real-valued input, fixed-point encoded with `frac_bits`."""
        return (await self.share_all_fx([(owner, value, shape)]))[0]

    async def share_all(self, inputs: Sequence[Input], bits: bool = False) -> list[np.ndarray]:
        """Shares of several inputs, of one owner or many, in ONE round.

        `inputs` lists ``(owner, value, shape)``: the owner gives its value (the
        other parties None) and every other party the shape. Each owner first
        sends every other player one message holding its shares of all its
        inputs (a tuple when it owns several), then each player receives from
        every owner: 1 round, p-1 (or p) messages per owner, the bytes of one
        `share` per input. Sharing the same inputs one `share` after another
        measures a round per owner that is also a player, since it receives the
        earlier owners' shares before it sends its own.
        """
        party, me = self.party, self.party.id
        inputs = [(int(o), v, None if s is None else tuple(s)) for o, v, s in inputs]
        missing = [k for k, (o, _, s) in enumerate(inputs) if o != me and s is None]
        if missing:
            raise ValueError(f"share: parties other than the owner must give the shape "
                             f"(input {missing[0]}, owner {inputs[missing[0]][0]})")
        out: list[np.ndarray] = [self.zeros(s or (), bits) if o != me else None
                                 for o, _, s in inputs]
        own = [k for k, (o, _, _) in enumerate(inputs) if o == me]
        if own:
            split = xor_split if bits else additive_split
            pieces = []
            for k in own:
                _, value, shape = inputs[k]
                value = np.asarray(value, dtype=np.bool_ if bits else RING)
                if shape is not None and shape != value.shape:
                    raise ValueError(f"share: value has shape {value.shape}, not {shape}")
                pieces.append(split(value, len(self.players), party.rng))
                out[k] = (pieces[-1][self.players.index(me)] if self.is_player
                          else self.zeros(value.shape, bits))
            for j, pid in enumerate(self.players):
                if pid != me:
                    batch = tuple(shares[j] for shares in pieces)
                    await party.send(pid, batch[0] if len(batch) == 1 else batch)
            work: Counter = Counter()
            for shares in pieces:
                work += split_work(shares[0].size, len(self.players), bits)
            await party.work(**work)
        owners = sorted({o for o, _, _ in inputs} - {me})
        if self.is_player and owners:
            got = await party.recv_many(owners)
            for owner in owners:
                theirs = [k for k, (o, _, _) in enumerate(inputs) if o == owner]
                parts = got[owner] if len(theirs) > 1 else (got[owner],)
                for k, part in zip(theirs, parts, strict=True):
                    out[k] = part
        return out

    async def share_all_fx(self, inputs: Sequence[Input]) -> list[np.ndarray]:
        """`share_all` of real-valued inputs, fixed-point encoded with `frac_bits`."""
        me = self.party.id
        return await self.share_all([(o, encode(v, self.frac_bits) if o == me else None, s)
                                     for o, v, s in inputs])

    async def reveal(self, x: np.ndarray, to: int | Iterable[int] | None = None
                     ) -> np.ndarray | None:
        """Open `x` to the players (``to=None``) or only to the given party/parties.

        Every player sends its share to each receiver other than itself (1 round);
        a receiver gets the ring elements (uint64) or bits, everyone else None.
        Revealing to the dealer would let it unmask nothing by itself, but it
        knows every mask: do not reveal masked values to it.
        """
        receivers = self.players if to is None else ([to] if isinstance(to, int) else list(to))
        party = self.party
        x = _array(x)
        if self.is_player:
            for pid in receivers:
                if pid != party.id:
                    await party.send(pid, x)
        if party.id not in receivers:
            await self._work()
            return None
        got = await party.recv_many([p for p in self.players if p != party.id])
        if self.is_player:
            await self._work(**self._open_work(x.size, x.dtype == np.bool_))
        else:
            await party.work(**self._open_work(x.size, x.dtype == np.bool_))
        return self._opened(x, got)

    def _opened(self, x: np.ndarray, got: dict[int, np.ndarray]) -> np.ndarray:
        """The revealed value from this party's share and the others' (cost-only
        runs override this: they carry shapes, not values)."""
        total = x.copy() if self.is_player else np.zeros_like(next(iter(got.values())))
        for part in got.values():
            _combine_into(total, part)
        return total

    async def reveal_fx(self, x: np.ndarray, to: int | Iterable[int] | None = None
                        ) -> np.ndarray | None:
        """`reveal`, decoded from fixed point to float64."""
        opened = await self.reveal(x, to)
        return None if opened is None else decode(opened, self.frac_bits)

    # -- local linear operations (no communication) --------------------------

    def add(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        self._local(ring=max(x.size, y.size), call=1)
        return x + y

    def sub(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        self._local(ring=max(x.size, y.size), call=1)
        return x - y

    def neg(self, x: np.ndarray) -> np.ndarray:
        self._local(ring=x.size, call=1)
        return -x

    def mul_public(self, x: np.ndarray, k: ArrayLike) -> np.ndarray:
        """Times a public integer (scalar or array; any sign): no truncation."""
        k = np.asarray(k)
        k = const(int(k)) if k.ndim == 0 else np.asarray(k, np.int64).astype(RING)
        self._local(ring=math.prod(np.broadcast_shapes(x.shape, k.shape)), call=2)
        return x * k

    def matmul_public(self, x: np.ndarray, m: ArrayLike) -> np.ndarray:
        """Times a public integer matrix (any sign): ``x @ m``, local."""
        m = np.asarray(m)
        m = m.astype(np.int64).astype(RING) if m.dtype != RING else m
        self._local(**matmul_work(x.shape, m.shape))
        return ring_matmul(x, m)

    def add_public(self, x: np.ndarray, c: ArrayLike) -> np.ndarray:
        """Plus a public ring constant (scalar or array, broadcast); only the first
        player adds it."""
        c = np.asarray(c)
        c = const(int(c)) if c.ndim == 0 and c.dtype != RING else c.astype(RING, copy=False)
        shape = np.broadcast_shapes(x.shape, c.shape)
        out = np.broadcast_to(x, shape).copy()
        if self.is_first:
            out += c
        self._local(ring=(2 if self.is_first else 1) * out.size, call=3)
        return out

    def add_public_fx(self, x: np.ndarray, value: ArrayLike) -> np.ndarray:
        """Plus a public real value, fixed-point encoded."""
        return self.add_public(x, encode(value, self.frac_bits))

    def sum(self, x: np.ndarray, axis: int | None = None) -> np.ndarray:
        self._local(ring=x.size, call=1)
        return np.asarray(x.sum(axis=axis, dtype=RING))

    # -- Beaver products -----------------------------------------------------

    async def mul(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Elementwise product (broadcasting) with a Beaver triple: 1 round.

        Players open d = x - a and e = y - b all-to-all in one message each:
        p(p-1) messages of 8(|x| + |y|) bytes. Offline: one correction of
        8|z| bytes to the first player. No truncation (see `mul_fx`).
        """
        zshape = np.broadcast_shapes(x.shape, y.shape)
        a, b, c = await self.corr.draw([("ring", x.shape), ("ring", y.shape)],
                                       [("ring", zshape)], lambda v: [v[0] * v[1]])
        return await self._beaver(x, y, a, b, c, np.multiply, zshape)

    async def matmul(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Matrix product (np.matmul shapes) with a matrix Beaver triple: 1 round.

        Local products use `ring_matmul` (exact over Z_2^64 on float64 BLAS).

        Opening D (m x k) and E (k x n): p(p-1) messages of 8(mk + kn) bytes.
        """
        zshape = matmul_shape(x.shape, y.shape)
        a, b, c = await self.corr.draw([("ring", x.shape), ("ring", y.shape)],
                                       [("ring", zshape)], lambda v: [ring_matmul(v[0], v[1])],
                                       matmul_work(x.shape, y.shape))
        return await self._beaver(x, y, a, b, c, ring_matmul, zshape)

    async def _beaver(self, x, y, a, b, c, op, zshape) -> np.ndarray:
        if not self.is_player:
            await self._work()
            return self.zeros(zshape)
        mine = np.empty(x.size + y.size, RING)
        np.subtract(x.ravel(), a.ravel(), out=mine[:x.size])
        np.subtract(y.ravel(), b.ravel(), out=mine[x.size:])
        opened = await self._open(mine)
        d, e = opened[:x.size].reshape(x.shape), opened[x.size:].reshape(y.shape)
        z = np.asarray(op(d, b))  # an array even for 0-d shares: no scalar overflow warnings
        z += c
        z += op(a, e)
        if self.is_first:
            z += op(d, e)
        await self._work(**self._beaver_work(x.shape, y.shape, zshape, op))
        return z

    async def dot(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Inner product along the last axis: one Beaver product, then a local sum."""
        return self.sum(await self.mul(x, y), axis=-1)

    async def trunc(self, x: np.ndarray, f: int | None = None) -> np.ndarray:
        """Divide by 2^f (probabilistic, exact-wrap): 1 round, no comparison.

        Requires |x| < 2^62 (as signed). The dealer deals r uniform, r >> f and
        msb(r) (a ring 0/1). Players open c = (x + 2^62) + r, which is uniform.
        With y = x + 2^62 in [0, 2^63), y + r wraps iff msb(r) = 1 and msb(c) = 0,
        so w = msb(r)(1 - msb(c)) is linear in the shared msb(r) and
        y >> f = (c >> f) - (r >> f) + w 2^(64-f) - carry, carry in {0, 1} the
        carry out of the low f bits. Dropping the carry, the result is
        floor(x / 2^f) + carry: within one unit (2^-f after a fixed-point
        product) of x / 2^f, and unbiased (carry = 1 with probability
        (y mod 2^f) / 2^f). Online: p(p-1) messages of 8L bytes; offline: one
        correction of 16L bytes.
        """
        f = self.frac_bits if f is None else f
        if not 0 < f < 62:
            raise ValueError(f"trunc: f must be in 1..61, got {f}")
        shift, top = const(f), const(63)
        r, r_shift, r_msb = await self.corr.draw(
            [("ring", x.shape)], [("ring", x.shape), ("ring", x.shape)],
            lambda v: [v[0] >> shift, v[0] >> top])
        if not self.is_player:
            await self._work()
            return self.zeros(x.shape)
        mine = np.asarray(x + r)
        if self.is_first:
            mine += _TWO_62
        c = await self._open(mine)
        out = np.asarray((c >> top) ^ _ONE)  # 1 - msb(c), public
        out *= r_msb
        out <<= const(64 - f)
        out -= r_shift
        if self.is_first:  # in place: on a 0-d share, `(c >> shift) - k` is scalar math
            out += c >> shift
            out -= const(2 ** (62 - f))
        await self._work(**self._trunc_work(x.size))
        return out

    async def mul_fx(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Fixed-point product: `mul` then `trunc` by frac_bits (2 rounds)."""
        return await self.trunc(await self.mul(x, y))

    async def matmul_fx(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Fixed-point matrix product: `matmul` then `trunc` (2 rounds)."""
        return await self.trunc(await self.matmul(x, y))

    async def dot_fx(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Fixed-point inner product along the last axis (truncates once, after the sum)."""
        return await self.trunc(await self.dot(x, y))

    # -- XOR (boolean) shares ------------------------------------------------

    def xor(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        self._local(bit=max(x.size, y.size), call=1)
        return x ^ y

    def xor_public(self, x: np.ndarray, c: ArrayLike) -> np.ndarray:
        """XOR with public bits (broadcast); only the first player applies them."""
        shape = np.broadcast_shapes(x.shape, np.shape(c))
        out = np.broadcast_to(x, shape).copy()
        if self.is_first:
            out ^= np.asarray(c, np.bool_)
        self._local(bit=(2 if self.is_first else 1) * out.size, call=3)
        return out

    def not_(self, x: np.ndarray) -> np.ndarray:
        return self.xor_public(x, True)

    def and_public(self, x: np.ndarray, c: ArrayLike) -> np.ndarray:
        """AND with public bits: every player masks its own share."""
        self._local(bit=math.prod(np.broadcast_shapes(x.shape, np.shape(c))), call=2)
        return x & np.asarray(c, np.bool_)

    async def and_(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """AND of XOR-shared bits (broadcasting) with a Beaver bit triple: 1 round.

        Opening d = x ^ a and e = y ^ b as one bit-packed array:
        p(p-1) messages of ceil((|x| + |y|) / 8) bytes; offline ceil(|z| / 8).
        """
        zshape = np.broadcast_shapes(x.shape, y.shape)
        a, b, c = await self.corr.draw([("bits", x.shape), ("bits", y.shape)],
                                       [("bits", zshape)], lambda v: [v[0] & v[1]])
        if not self.is_player:
            await self._work()
            return self.zeros(zshape, bits=True)
        mine = np.concatenate([(x ^ a).ravel(), (y ^ b).ravel()])
        opened = await self._open(mine)
        d, e = opened[:x.size].reshape(x.shape), opened[x.size:].reshape(y.shape)
        z = d & b
        z ^= c
        z ^= a & e
        if self.is_first:
            z ^= d & e
        terms = 3 if self.is_first else 2
        await self._work(**Counter(bit=2 * opened.size + 2 * terms * z.size, call=4 + 2 * terms)
                         + self._open_work(opened.size, bits=True))
        return z

    async def b2a(self, x: np.ndarray) -> np.ndarray:
        """XOR-shared bits to additive shares of 0/1 ring elements: 1 round.

        The dealer deals a random bit s in both forms; players open m = x ^ s
        (p(p-1) messages of ceil(L/8) bytes) and x = m + s - 2ms is linear in s.
        Offline: one correction of 8L bytes.
        """
        s_bits, s_ring = await self.corr.draw([("bits", x.shape)], [("ring", x.shape)],
                                              lambda v: [v[0].astype(RING)])
        if not self.is_player:
            await self._work()
            return self.zeros(x.shape)
        m = await self._open(x ^ s_bits)
        out = np.where(m, -s_ring, s_ring)
        if self.is_first:
            out += m
        await self._work(**Counter(bit=x.size, ring=(4 if self.is_first else 2) * x.size, call=4)
                         + self._open_work(x.size, bits=True))
        return out
