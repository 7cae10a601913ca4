"""Comparison, equality, oblivious selection and argmax on additive shares.

Less-than reduces to the sign bit: [x < y] = msb(x - y) when |x - y| < 2^63.
The sign of a shared a is found by masking (as in the dealer-aided protocols
of CrypTen and ABY3-style bit decomposition):

1. the dealer deals r uniform in Z_2^64 with XOR shares of its 64 bits;
2. players open c = a + r (1 round; c is uniform, so it reveals nothing);
3. msb(a) = msb(c) XOR msb(r) XOR carry, where carry = [c_low < r_low] compares
   the public low 63 bits of c with the bit-shared low bits of r;
4. the carry is a prefix combination over bit positions, most significant
   first: combine(hi, lo) = (lt_hi XOR (eq_hi AND lt_lo), eq_hi AND eq_lo), with
   leaves lt_j = r_j AND NOT c_j and eq_j = NOT(c_j XOR r_j), both local since c
   is public. A balanced tree does one vectorized AND round per level:
   ceil(log2 63) = 6 rounds;
5. the XOR-shared result becomes an additive 0/1 (`b2a`, 1 round).

Rounds: 2 + ceil(log2(ell - 1)) = 8 for the 64-bit ring. Equality opens
c = (x - y) + r the same way and ANDs the 64 bitwise equalities: also
2 + ceil(log2 64) = 8 rounds. The trees work on `bits.Rows` (one row per bit
position, the values packed eight to a byte), never element by element; their
messages have the sizes of the same bits packed whole.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from protocols.sharing.bits import Rows, rows_of, rows_work
from protocols.sharing.core import MpcCore
from protocols.sharing.ring import BITS, RING, const


def _bytes(bits: int) -> int:
    """Bytes of `bits` packed bits: what a gate on them passes over."""
    return -(-bits // 8)


def tree_and_counts(width: int, with_lt: bool) -> list[int]:
    """ANDs per element in each level of the combining tree over `width` bits.

    For less-than (`with_lt`), a pair of nodes needs two ANDs (eq_hi AND lt_lo,
    eq_hi AND eq_lo) except at the last level, where only lt is needed; for
    equality, one AND per pair. An odd node passes through to the next level.
    """
    counts = []
    while width > 1:
        pairs, width = width // 2, width // 2 + width % 2
        counts.append(pairs * (2 if with_lt and width > 1 else 1))
    return counts


def comparison_memory(elements: int, players: int) -> float:
    """Peak bytes of comparing (`lt`) `elements` pairs of shared fixed-point values, with the
    Beaver product of the same operands beside it, among `players` players and a dealer
    held in one process: about 72 bytes per element for each player's shares, for what the
    dealer deals each player, and twice for the dealer (measured 67 and 71 in
    secure_mul_cmp at 200,000 elements with 2 and 3 players)."""
    return 72.0 * elements * (2 * players + 2)


class Comparisons(MpcCore):
    """`msb`, `lt`, `eq`, `select`, `argmax` (mixed into `protocols.sharing.Mpc`).

    Local work on packed `Rows` is charged as ``bit`` operations per byte (a gate
    on L packed bits is one pass over L / 8 bytes).
    """

    async def _masked_bits(self, a: np.ndarray) -> tuple[np.ndarray | None, Rows]:
        """Open c = a + r; return (c, XOR shares of the bits of r as rows, most
        significant first: `Rows` (64, a.size)); c is None for parties without shares."""
        r, r_bits = await self.corr.draw([("ring", a.shape)], [("rows", (BITS, a.size))],
                                         lambda v: [rows_of(v[0], BITS)])
        c = await self._open(a + r)
        await self._work(**self._masked_work(a.size))
        return (c if self.is_player else None), r_bits

    def _public_rows(self, c: np.ndarray, width: int) -> Rows:
        """The low `width` bits of public ring elements as rows, most significant first."""
        self._local(**rows_work(c.size, width))
        return self._rows_of(c, width)

    def _bools(self, bits: Rows, shape: tuple[int, ...]) -> np.ndarray:
        """A one-row `Rows` as a bool array of `shape`."""
        self._local(bit=bits.size, call=3)
        return self._row_bools(bits, shape)

    @staticmethod
    def _rows_of(c: np.ndarray, width: int) -> Rows:
        return rows_of(c, width)

    @staticmethod
    def _row_bools(bits: Rows, shape: tuple[int, ...]) -> np.ndarray:
        return bits.bools()[0].reshape(shape)

    async def _and_triple(self, shape: tuple[int, int]) -> list[Rows]:
        """A Beaver bit triple (a, b, a AND b) of `Rows` of `shape`."""
        return await self.corr.draw([("rows", shape), ("rows", shape)], [("rows", shape)],
                                    lambda v: [v[0] & v[1]])

    async def _and_rows(self, x: Rows, y: Rows) -> Rows:
        """AND of XOR-shared `Rows` of one shape: `and_` on packed bits, with the same
        message and the same size (1 round)."""
        a, b, c = await self._and_triple(x.shape)
        if not self.is_player:
            return x
        mine = Rows.stack([x ^ a, y ^ b])
        for pid in self.peers:
            await self.party.send(pid, mine.payload())
        got = await self.party.recv_many(self.peers)
        for part in got.values():
            mine = mine ^ mine.from_payload(part)
        n = x.shape[0]
        d, e = mine[:n], mine[n:]
        z = (d & b) ^ c ^ (a & e)
        if self.is_first:
            z = z ^ (d & e)
        terms = 3 if self.is_first else 2
        opened, zbytes = _bytes(mine.size), _bytes(z.size)
        await self._work(**Counter(bit=2 * opened + 2 * terms * zbytes, call=4 + 2 * terms)
                         + self._open_work(opened, bits=True))
        return z

    async def _tree_rounds(self, shape: tuple[int, int], with_lt: bool) -> None:
        """The AND rounds of `_prefix_lt` (or, without `with_lt`, `_all`) over `shape`'s
        rows, for a party without shares: the same correlations are dealt and drawn,
        no bits are computed."""
        width, length = shape
        while width > 1:
            pairs = width // 2
            width = pairs + width % 2
            await self._and_triple((2 * pairs if with_lt and width > 1 else pairs, length))

    async def _prefix_lt(self, lt: Rows, eq: Rows) -> Rows:
        """XOR shares of [c < r] (one row) from per-bit (lt, eq) rows, most significant
        first: one AND round per tree level."""
        if not self.is_player:
            await self._tree_rounds(lt.shape, True)
            return lt[:1]
        length = lt.shape[1]
        while lt.shape[0] > 1:
            width = lt.shape[0]
            pairs = width // 2
            hi = np.arange(0, 2 * pairs, 2)
            lt_hi, lt_lo, eq_hi, eq_lo = lt[hi], lt[hi + 1], eq[hi], eq[hi + 1]
            if pairs + width % 2 == 1:
                self._local(bit=4 * _bytes(length), call=6)  # the operands, then lt
                return lt_hi ^ await self._and_rows(eq_hi, lt_lo)
            # the operands (gathered, then stacked), then the new lt
            self._local(bit=9 * _bytes(pairs * length), call=10)
            anded = await self._and_rows(Rows.stack([eq_hi, eq_hi]),
                                         Rows.stack([lt_lo, eq_lo]))
            new_lt, new_eq = lt_hi ^ anded[:pairs], anded[pairs:]
            if width % 2:
                self._local(bit=2 * _bytes((pairs + 1) * length), call=4)
                new_lt = Rows.stack([new_lt, lt[width - 1:]])
                new_eq = Rows.stack([new_eq, eq[width - 1:]])
            lt, eq = new_lt, new_eq
        return lt

    async def _all(self, bits: Rows) -> Rows:
        """XOR shares of the AND of all rows (one row): one AND round per tree level."""
        if not self.is_player:
            await self._tree_rounds(bits.shape, False)
            return bits[:1]
        while bits.shape[0] > 1:
            width = bits.shape[0]
            pairs = width // 2
            anded = await self._and_rows(bits[0:2 * pairs:2], bits[1:2 * pairs:2])
            if width % 2:
                self._local(bit=_bytes((pairs + 1) * bits.shape[1]), call=2)
            bits = Rows.stack([anded, bits[width - 1:]]) if width % 2 else anded
        return bits

    async def msb_bits(self, a: np.ndarray) -> np.ndarray:
        """XOR shares of the sign bit of `a`: 7 rounds (see the module docstring)."""
        c, r_bits = await self._masked_bits(a)
        if not self.is_player:
            await self._tree_rounds((BITS - 1, a.size), True)
            return self.zeros(a.shape, bits=True)
        c_bits = self._public_rows(c, BITS)
        c_low, r_low = c_bits[1:], r_bits[1:]
        # lt and eq, then the carry's xors
        self._local(bit=(4 + 2 * self.is_first) * _bytes(c_low.size), call=8)
        lt = r_low & ~c_low
        eq = r_low ^ ~c_low if self.is_first else r_low
        out = await self._prefix_lt(lt, eq) ^ r_bits[:1]
        if self.is_first:
            out = out ^ c_bits[:1]
        return self._bools(out, a.shape)

    async def trunc_exact(self, x: np.ndarray, f: int | None = None) -> np.ndarray:
        """floor(x / 2^f), exactly (for |x| < 2^62): equal inputs give equal outputs.

        `trunc` drops the borrow out of the low f bits and so rounds up or down at
        random; here it is computed: the dealer also deals XOR shares of r's low f
        bits, and the borrow [c_low < r_low] of the public low bits of the
        opening c = x + 2^62 + r is the prefix comparison of `msb_bits`. Rounds:
        1 (open) + ceil(log2 f) (ANDs) + 1 (b2a). Online bytes per element:
        p(p-1) [8 + sum_levels ceil(2 A_l / 8) + 1/8], A_l = tree_and_counts(f, True).
        """
        f = self.frac_bits if f is None else f
        if not 0 < f < 62:
            raise ValueError(f"trunc_exact: f must be in 1..61, got {f}")
        shift, top = const(f), const(63)
        r, r_shift, r_msb, r_low = await self.corr.draw(
            [("ring", x.shape)],
            [("ring", x.shape), ("ring", x.shape), ("rows", (f, x.size))],
            lambda v: [v[0] >> shift, v[0] >> top, rows_of(v[0], f)],
            derive_work=Counter(ring=2 * x.size, call=2) + rows_work(x.size, f))
        mine = x + r
        if self.is_first:
            mine += const(2**62)
        c = await self._open(mine)
        if not self.is_player:
            await self._tree_rounds((f, x.size), True)
            await self.b2a(self.zeros(x.shape, bits=True))
            return self.zeros(x.shape)
        c_low = self._public_rows(c, f)
        self._local(**Counter(bit=(4 + 2 * self.is_first) * _bytes(c_low.size), call=6)
                    + self._open_work(x.size))  # the opening, lt and eq
        lt = r_low & ~c_low
        eq = r_low ^ ~c_low if self.is_first else r_low
        borrow = await self.b2a(self._bools(await self._prefix_lt(lt, eq), x.shape))
        out = (c >> top) ^ const(1)
        out *= r_msb
        out <<= const(64 - f)
        out -= r_shift
        out -= borrow
        if self.is_first:
            out += (c >> shift) - const(2 ** (62 - f))
        await self._work(ring=(7 + 4 * self.is_first) * x.size, call=9 + 4 * self.is_first)
        return out

    async def msb(self, a: np.ndarray) -> np.ndarray:
        """Additive shares of [a < 0] as a ring 0/1 (a signed, |a| < 2^63): 8 rounds."""
        return await self.b2a(await self.msb_bits(a))

    async def lt(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Additive shares of [x < y] (0/1) for |x - y| < 2^62: 8 rounds.

        Online bytes for p players, L elements, header excluded:
        p(p-1) [8L + sum_levels ceil(2 A_l L / 8) + ceil(L / 8)], with A_l the
        ANDs per element of each level, `tree_and_counts(63, True)`
        = [62, 32, 16, 8, 4, 1] (123 in all). Offline (to the first player only):
        8L (bits of r) + sum_levels ceil(A_l L / 8) + 8L (b2a), in 8 messages.
        """
        return await self.msb(self.sub(x, y))

    async def lt_public(self, x: np.ndarray, c: np.ndarray) -> np.ndarray:
        """[x < c] for a public ring constant/array `c` (broadcast)."""
        return await self.msb(self.add_public(x, -np.asarray(c, RING)))

    async def eq(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Additive shares of [x == y] (0/1): 8 rounds.

        Opens c = (x - y) + r; x == y iff every bit of c equals that of r, an AND
        of 64 local equalities: tree_and_counts(64, False) = [32, 16, 8, 4, 2, 1].
        """
        d = self.sub(x, y)
        c, r_bits = await self._masked_bits(d)
        if not self.is_player:
            await self._tree_rounds((BITS, d.size), False)
            return await self.b2a(self.zeros(d.shape, bits=True))
        c_bits = self._public_rows(c, BITS)
        self._local(bit=2 * _bytes(c_bits.size) * self.is_first, call=2)
        same = r_bits ^ ~c_bits if self.is_first else r_bits
        return await self.b2a(self._bools(await self._all(same), d.shape))

    async def select(self, b: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Oblivious if-then-else: x where b = 1 else y, for b an additive 0/1.

        y + b(x - y): one Beaver product, 1 round; no truncation since b is an
        integer bit. `b` broadcasts against x and y.
        """
        return self.add(y, await self.mul(b, self.sub(x, y)))

    async def argmax(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One-hot shares of the argmax over the last axis, and shares of the max.

        A tournament over contiguous ranges: at each level, neighbours (2j, 2j+1)
        meet; the right one wins only if strictly greater, so ties go to the
        LOWEST index. Each level is one batched `lt` of all pairs (8 rounds) and
        one batched Beaver product (1 round) that selects the winners' values and
        multiplies each index's running indicator by its side's win bit:
        9 ceil(log2 k) rounds for k candidates.
        """
        k = x.shape[-1]
        node = np.arange(k)
        one = self.add_public(self.zeros(x.shape[:-1] + (1,)), 1)
        vals, onehot = x, None
        while vals.shape[-1] > 1:
            width = vals.shape[-1]
            pairs = width // 2
            left, right = vals[..., 0:2 * pairs:2], vals[..., 1:2 * pairs:2]
            right_wins = await self.lt(left, right)
            paired = node < 2 * pairs
            parent = np.minimum(node // 2, pairs - 1)
            win = right_wins[..., parent]
            lose = self.sub(one, win)
            factor = np.where(node % 2 == 1, win, lose)
            factor = np.where(paired, factor, one)
            self._local(ring=4 * x.size // k * width, call=8)  # the winners' factors
            diff = self.sub(right, left)
            if onehot is None:
                picked = await self.mul(right_wins, diff)
                onehot = factor
            else:
                both = await self.mul(np.concatenate([right_wins, onehot], axis=-1),
                                      np.concatenate([diff, factor], axis=-1))
                picked, onehot = both[..., :pairs], both[..., pairs:]
            new_vals = self.add(left, picked)
            if width % 2:
                new_vals = np.concatenate([new_vals, vals[..., -1:]], axis=-1)
            vals = new_vals
            node = np.where(paired, node // 2, pairs)
        if onehot is None:  # a single candidate
            onehot = np.broadcast_to(one, x.shape).copy()
        return onehot, vals[..., 0]
