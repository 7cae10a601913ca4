"""Products with a constant secret matrix that the data owners hold in blocks.

The bucket indicators Y (n x d*B) and the per-sample values (n x a few d) never
change during training, yet every level multiplies them by fresh secrets. Each
owner o holds a block Y_o (its rows, its columns) in the clear. It masks the
block once with A_o, drawn from seed-keyed AES-CTR streams, and sends every
computing party the public D_o = Y_o - A_o: the shares of Y are never sent, and
A is never stored, only regenerated block by block from its seeds. Two ways to
use it, by who computes:

* owner-assisted (the owners are the computing parties, ``servers = 0``):
  A_o = PRG(s_o), s_o a seed of owner o's dealer stream (the dealer knows it,
  nobody else). For X @ Y_o with X shared, each other player q draws U_q,
  sends o the masked X_q - U_q (1 round), and

      X @ Y_o = (X_o + sum_q (X_q - U_q)) @ Y_o + sum_q U_q @ D_o + U @ A_o,

  computed by o (a sparse product with its own one-hot rows), by each q (a
  dense product with the public D_o) and by the dealer (U @ A_o, dealt as
  shares W), so the dense work is one product per other player and one at the
  dealer. o learns X - U (uniform, U is fresh), q learns D_o (uniform).
* generic (separate computing servers, the owners leave after the input):
  A_o = sum_p PRG(s_p) over the players' seeds, which the dealer sends o
  (offline); player p's share of Y_o is PRG(s_p) (+ D_o for the first player).
  X @ Y uses a triple (B, C = B @ A): players open E = X - B (1 round) and

      X @ Y = C + B @ D + E @ A + E @ D,

  player p computing C_p + (B_p + [first] E) @ D + E @ A_p (A_p regenerated).

Both reveal nothing: every opened or sent matrix is masked by a fresh uniform
one. D is one array per block, which in a simulation all players share (the
message payload itself). Y @ X ("left" products) works the same way with the
roles of rows and columns exchanged.

Built on `protocols.sharing` primitives (`Correlations.draw` with per-component
holders and `subseed`, `SeedPrg.ring_at`); local products use `ring_matmul`
(exact Z_2^64 on float64 BLAS) and, for the owners' one-hot blocks, exact
sparse products (`OneHotBlock`).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from protocols.costonly import Ghost
from protocols.sharing.dealer import SeedPrg
from protocols.sharing.ring import RING, matmul_work, ring_matmul

CHUNK = 1 << 21
"""Elements of a mask regenerated at once (16 MB)."""


def sparse_work(r: int, nnz: int, inner: int, outer: int) -> Counter:
    """What an owner's exact product of r vectors with its one-hot block computes
    (`OneHotBlock`), by cost class: per limb of the dense operand (r x `inner`)
    three element operations and a float64 conversion, one sparse multiply-add per
    nonzero and vector (a weighted scatter), and the result's conversion, shift and
    addition (r x `outer`)."""
    limbs = len(_LIMBS)
    return Counter(ring=limbs * (4 * r * inner + 3 * r * outer), scatter=limbs * r * nnz,
                   call=10 * limbs)


@dataclass(frozen=True)
class Block:
    """An owner's block of the matrix: rows [r0, r1), columns [c0, c1)."""

    owner: int
    rows: tuple[int, int]
    cols: tuple[int, int]

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows[1] - self.rows[0], self.cols[1] - self.cols[0]

    @property
    def row_slice(self) -> slice:
        return slice(*self.rows)

    @property
    def col_slice(self) -> slice:
        return slice(*self.cols)


class ValueBlock:
    """An owner's block of small integers (rows, cols), in the clear."""

    def __init__(self, values: np.ndarray):
        self.values = np.asarray(values, np.int64).astype(RING)
        self.shape = self.values.shape

    def dense(self, r0: int, r1: int) -> np.ndarray:
        return self.values[r0:r1]

    def right(self, s: np.ndarray) -> np.ndarray:
        return ring_matmul(s, self.values)

    def left(self, w: np.ndarray) -> np.ndarray:
        return ring_matmul(self.values, w)


class OneHotBlock:
    """An owner's block of bucket indicators, kept as bucket indices (rows, features),
    -1 where missing: (rows, features * max_bin) 0/1 without ever storing it.

    Exact ring products: the dense operand is cut into limbs of at most 22 bits,
    each multiplied in float64 by the sparse indicator matrix (sums of at most
    2^31 limbs stay below 2^53, so exact), and recombined modulo 2^64.
    """

    def __init__(self, buckets: np.ndarray, max_bin: int):
        from scipy import sparse

        rows, feats = buckets.shape
        self.shape = (rows, feats * max_bin)
        present = buckets >= 0
        r, j = np.nonzero(present)
        cols = j * max_bin + buckets[r, j]
        self._buckets = np.asarray(buckets, np.int16 if max_bin < 2**15 else np.int32)
        self._max_bin = max_bin
        self._csr = sparse.csr_matrix((np.ones(r.size), (r, cols)), shape=self.shape)
        self._transposed = self._csr.T.tocsr()

    def dense(self, r0: int, r1: int) -> np.ndarray:
        b = self._buckets[r0:r1]
        out = np.zeros((r1 - r0, b.shape[1], self._max_bin), RING)
        rr, jj = np.nonzero(b >= 0)
        out[rr, jj, b[rr, jj]] = 1
        return out.reshape(r1 - r0, -1)

    def right(self, s: np.ndarray) -> np.ndarray:
        """s @ Y for s (r, rows)."""
        return _limb_apply(self._transposed, s.T).T

    def left(self, w: np.ndarray) -> np.ndarray:
        """Y @ w for w (cols, r)."""
        return _limb_apply(self._csr, w)


_LIMBS = ((0, 22), (22, 21), (43, 21))


def _limb_apply(sparse_01: Any, x: np.ndarray) -> np.ndarray:
    """sparse_01 @ x over Z_2^64 for a 0/1 sparse matrix and uint64 x (k, r)."""
    x = np.ascontiguousarray(x, RING)
    out = np.zeros((sparse_01.shape[0],) + x.shape[1:], RING)
    for shift, width in _LIMBS:
        limb = ((x >> np.uint64(shift)) & np.uint64((1 << width) - 1)).astype(np.float64)
        part = np.asarray(sparse_01 @ limb).astype(RING)
        if shift:
            part <<= np.uint64(shift)
        out += part
    return out


class FixedOperand:
    """A secret constant Y (n, c), in owner blocks: `right(X)` = X @ Y, `left(X)` = Y @ X.

    Build with `share`. Every party of the run calls the same methods (public
    control flow); players get shares, others placeholders.
    """

    def __init__(self, mpc: Any, shape: tuple[int, int], blocks: list[Block], nnz: list[int],
                 assisted: bool, local: Any, seeds: dict[int, bytes]):
        self.mpc, self.shape, self.blocks, self.nnz = mpc, shape, blocks, nnz
        self.assisted, self.local, self.seeds = assisted, local, seeds
        self.public: dict[int, Any] = {}
        self.offsets = [int(o) for o in np.cumsum([0] + [math.prod(b.shape) for b in blocks])]
        self.ghost = isinstance(mpc.zeros((1,)), Ghost)

    @classmethod
    async def share(cls, mpc: Any, shape: tuple[int, int], blocks: list[Block],
                    nnz: list[int], local: Any = None) -> FixedOperand:
        """Mask and publish every block (1 round): owner o sends D_o to the players.

        `nnz` gives, per block, the nonzeros its owner multiplies (public: rows x
        features for one-hot blocks, whose products are sparse; a block with as many
        as elements is dense, `ValueBlock`); `local` is this party's own block in the
        clear (`OneHotBlock`, `ValueBlock`), None for others and in cost-only runs.
        """
        party, me = mpc.party, mpc.party.id
        assisted = all(b.owner in mpc.players for b in blocks)
        seeds = await mpc.corr.subseed() if (mpc.is_player or me == mpc.dealer) else {}
        if not assisted:  # the dealer gives each owner the players' seeds (offline)
            if me == mpc.dealer:
                with party.phase(f"offline:{party.current_phase}", offline=True):
                    for b in blocks:
                        await party.send(b.owner, [seeds[p] for p in mpc.players])
            mine = [b for b in blocks if b.owner == me]
            if mine:
                got = await party.recv(mpc.dealer)
                seeds = dict(zip(mpc.players, got, strict=True))
        op = cls(mpc, shape, blocks, nnz, assisted, local, seeds)
        for i, b in enumerate(blocks):
            if b.owner != me:
                continue
            d = op._masked(i, local)
            for p in mpc.players:
                if p != me:
                    await party.send(p, d)
            # the block written dense, its mask regenerated and subtracted
            await party.work(**op._mask_work(i, len(op._mask_seeds(i)))
                             + Counter(ring=2 * math.prod(b.shape)))
            op.public[i] = d
        for i, b in enumerate(blocks):
            if b.owner != me and mpc.is_player:
                op.public[i] = await party.recv(b.owner)
        return op

    # -- masks -------------------------------------------------------------------------

    def _mask_seeds(self, i: int) -> list[bytes]:
        """The seeds whose streams add up to block i's mask (at the block's offset)."""
        if self.assisted:
            return [self.seeds[self.blocks[i].owner]]
        return [self.seeds[p] for p in self.mpc.players]

    def _mask_rows(self, i: int, seeds: list[bytes], r0: int, r1: int) -> np.ndarray:
        """Rows [r0, r1) of block i's mask summed over `seeds` (regenerated)."""
        cols = self.blocks[i].shape[1]
        offset = (0 if self.assisted else self.offsets[i]) + r0 * cols
        out = SeedPrg.ring_at(seeds[0], offset, (r1 - r0) * cols)
        for s in seeds[1:]:
            out += SeedPrg.ring_at(s, offset, (r1 - r0) * cols)
        return out.reshape(r1 - r0, cols)

    def _chunks(self, i: int) -> list[tuple[int, int]]:
        rows, cols = self.blocks[i].shape
        step = max(1, CHUNK // max(cols, 1))
        return [(r, min(rows, r + step)) for r in range(0, rows, step)]

    def _masked(self, i: int, local: Any) -> Any:
        """D_i = Y_i - A_i, by chunks of rows."""
        b = self.blocks[i]
        if self.ghost:
            return Ghost(b.shape, RING)
        d = np.empty(b.shape, RING)
        seeds = self._mask_seeds(i)
        for r0, r1 in self._chunks(i):
            np.subtract(local.dense(r0, r1), self._mask_rows(i, seeds, r0, r1), out=d[r0:r1])
        return d

    def _times_mask(self, i: int, seeds: list[bytes], x: Any, right: bool) -> Any:
        """x @ A_i (right: x has block i's rows as columns) or A_i @ x (left), the
        mask regenerated by chunks of rows."""
        b = self.blocks[i]
        if self.ghost:
            return Ghost((x.shape[0], b.shape[1]) if right else (b.shape[0], x.shape[1]))
        if right:
            out = np.zeros((x.shape[0], b.shape[1]), RING)
            for r0, r1 in self._chunks(i):
                out += ring_matmul(np.ascontiguousarray(x[:, r0:r1]),
                                   self._mask_rows(i, seeds, r0, r1))
            return out
        out = np.empty((b.shape[0], x.shape[1]), RING)
        for r0, r1 in self._chunks(i):
            out[r0:r1] = ring_matmul(self._mask_rows(i, seeds, r0, r1), x)
        return out

    # -- work, counted from shapes (the one place that knows each product's m, k, n) -----

    def _mask_work(self, i: int, seeds: int) -> Counter:
        """Regenerating block i's mask from `seeds` streams (summed), chunk by chunk."""
        elements = math.prod(self.blocks[i].shape)
        return Counter(aes_byte=8 * elements * seeds, ring=elements * seeds,
                       call=4 * seeds * len(self._chunks(i)))

    def _times_mask_work(self, i: int, seeds: int, r: int, right: bool) -> Counter:
        """`_times_mask` of block i with r vectors: the mask's regeneration, a ring
        product per chunk of its rows and (right) the sum of the chunks' products."""
        cols = self.blocks[i].shape[1]
        work = self._mask_work(i, seeds)
        for r0, r1 in self._chunks(i):
            h = r1 - r0
            work += (matmul_work((r, h), (h, cols)) + Counter(ring=r * cols) if right
                     else matmul_work((h, cols), (cols, r)))
        return work

    def _public_work(self, i: int, r: int, right: bool) -> Counter:
        """A dense ring product of r vectors with block i's public D_i."""
        rows, cols = self.blocks[i].shape
        return (matmul_work((r, rows), (rows, cols)) if right
                else matmul_work((rows, cols), (cols, r)))

    def _local_work(self, i: int, r: int, right: bool) -> Counter:
        """The owner's product of r vectors with its own block i in the clear."""
        rows, cols = self.blocks[i].shape
        if self.nnz[i] < rows * cols:  # one-hot: sparse
            return sparse_work(r, self.nnz[i], *((rows, cols) if right else (cols, rows)))
        return self._public_work(i, r, right)

    # -- products ----------------------------------------------------------------------

    async def right(self, x: Any) -> Any:
        """Shares of x @ Y for shares x (r, n)."""
        return await self._product(x, right=True)

    async def left(self, x: Any) -> Any:
        """Shares of Y @ x for shares x (c, r)."""
        return await self._product(x, right=False)

    def _piece(self, x: Any, i: int, right: bool) -> Any:
        """The part of x that meets block i: its rows' columns (right) or its columns'
        rows (left)."""
        b = self.blocks[i]
        return x[:, b.row_slice] if right else x[b.col_slice, :]

    def _place(self, out: Any, i: int, part: Any, right: bool) -> None:
        b = self.blocks[i]
        if right:
            out[:, b.col_slice] += part
        else:
            out[b.row_slice, :] += part

    def _out_shape(self, x: Any, right: bool) -> tuple[int, int]:
        return (x.shape[0], self.shape[1]) if right else (self.shape[0], x.shape[1])

    async def _product(self, x: Any, right: bool) -> Any:
        mpc, me = self.mpc, self.mpc.party.id
        r = x.shape[0] if right else x.shape[1]
        zshape = self._out_shape(x, right)
        if self.assisted:
            return await self._assisted(x, right, r, zshape)
        # generic: triple (B, C = B @ A or A @ B), open E = X - B
        seeds = self.seeds

        def derive(values: list[np.ndarray]) -> list[np.ndarray]:
            c = np.zeros(zshape, RING)
            for i in range(len(self.blocks)):
                piece = self._piece(values[0], i, right)
                self._place(c, i, self._times_mask(i, [seeds[p] for p in mpc.players],
                                                   piece, right), right)
            return [c]

        players = len(mpc.players)
        derive_work = sum((self._times_mask_work(i, players, r, right)
                           for i in range(len(self.blocks))), Counter(ring=2 * math.prod(zshape)))
        b, c = await mpc.corr.draw([("ring", x.shape)], [("ring", zshape)], derive,
                                   derive_work=derive_work)
        if not mpc.is_player:
            await mpc._work()
            return mpc.zeros(zshape)
        e = await mpc._open(x - b)
        bd = b + e if mpc.is_first else b
        out = c
        for i in range(len(self.blocks)):
            d = self.public[i]
            part = (ring_matmul(self._piece(bd, i, right), d) if right
                    else ring_matmul(d, self._piece(bd, i, right)))
            part += self._times_mask(i, [seeds[me]], self._piece(e, i, right), right)
            self._place(out, i, part, right)
            mpc._local(**self._public_work(i, r, right) + self._times_mask_work(i, 1, r, right)
                       + Counter(ring=2 * part.size, call=4))
        await mpc._work(**Counter(ring=(2 if mpc.is_first else 1) * x.size)
                        + mpc._open_work(x.size))
        return out

    async def reserve(self, rows: int) -> None:
        """Deal now the masks of the next `rows` rows of right products (owner-assisted
        runs; otherwise nothing): U does not depend on the data, so each player's
        U_q @ D_o and the dealer's U @ A_o become one dense product per block for the
        whole training instead of one per product (online, the products then only
        send masked pieces and do the owners' sparse work)."""
        if self.assisted:
            self._reserve = await self._deal(rows, True)
            self._reserved = 0

    async def _deal(self, r: int, right: bool) -> tuple[list[Any], list[Any], Any]:
        """The masks of an assisted product with r rows (right) or columns (left):
        this player's U per block (zeros for its own block), its U @ D_o per block
        owned by another player, and its share of W = sum_o U_o @ A_o (dealt)."""
        mpc, party, me = self.mpc, self.mpc.party, self.mpc.party.id
        blocks = self.blocks
        zshape = (r, self.shape[1]) if right else (self.shape[0], r)
        shapes = [self._piece_shape(i, r, right) for i in range(len(blocks))]
        holders = [[p for p in mpc.players if p != b.owner] for b in blocks]

        def derive(values: list[np.ndarray]) -> list[np.ndarray]:
            w = np.zeros(zshape, RING)
            for i, b in enumerate(blocks):
                self._place(w, i, self._times_mask(i, [self.seeds[b.owner]], values[i],
                                                   right), right)
            return [w]

        derive_work = sum((self._times_mask_work(i, 1, r, right) for i in range(len(blocks))),
                          Counter(ring=2 * math.prod(zshape)))  # W's zeros and places
        *u, w = await mpc.corr.draw([("ring", s) for s in shapes], [("ring", zshape)],
                                    derive, derive_work=derive_work, holders=holders)
        ud: list[Any] = [None] * len(blocks)
        if mpc.is_player:
            for i, b in enumerate(blocks):
                if b.owner != me:
                    d = self.public[i]
                    ud[i] = ring_matmul(u[i], d) if right else ring_matmul(d, u[i])
                    await party.work(**self._public_work(i, r, right))
        return u, ud, w

    async def _masks(self, r: int, right: bool) -> tuple[list[Any], list[Any], Any]:
        """`_deal`'s masks for one product: the next rows of the reserve when it has
        them (right products), else dealt now."""
        reserve = getattr(self, "_reserve", None)
        if not right or reserve is None or self._reserved + r > reserve[2].shape[0]:
            return await self._deal(r, right)
        rows = slice(self._reserved, self._reserved + r)
        self._reserved += r
        u, ud, w = reserve
        return ([x[rows] for x in u], [None if x is None else x[rows] for x in ud], w[rows])

    async def _assisted(self, x: Any, right: bool, r: int, zshape: tuple[int, int]) -> Any:
        mpc, party, me = self.mpc, self.mpc.party, self.mpc.party.id
        blocks = self.blocks
        u, ud, w = await self._masks(r, right)
        if not mpc.is_player:
            await mpc._work()
            return mpc.zeros(zshape)
        for o in mpc.peers:  # my masked pieces of o's blocks
            await party.send(o, [self._piece(x, i, right) - u[i]
                                 for i, b in enumerate(blocks) if b.owner == o])
        got = await party.recv_many(mpc.peers)
        out = w.copy()
        k = 0
        for i, b in enumerate(blocks):
            if b.owner == me:
                s = self._piece(x, i, right).copy()
                for q in mpc.peers:
                    s += got[q][k]
                k += 1
                self._place(out, i, self._local_product(i, s, right), right)
                await party.work(**self._local_work(i, r, right)
                                 + Counter(ring=s.size * (1 + len(mpc.peers))))
            else:
                self._place(out, i, ud[i], right)
        # the masked pieces, the copy of W and the blocks' places
        await mpc._work(ring=sum(u_i.size for u_i in u) + 2 * out.size, call=4 * len(blocks))
        return out

    def _piece_shape(self, i: int, r: int, right: bool) -> tuple[int, int]:
        rows, cols = self.blocks[i].shape
        return (r, rows) if right else (cols, r)

    def _local_product(self, i: int, s: Any, right: bool) -> Any:
        """The owner's product with its own block in the clear."""
        if self.ghost:
            rows, cols = self.blocks[i].shape
            return Ghost((s.shape[0], cols) if right else (rows, s.shape[1]))
        return self.local.right(s) if right else self.local.left(s)
