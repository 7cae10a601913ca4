"""Products with a constant secret matrix, opened once against a fixed dealer mask.

The bucket indicators (n x d*B) and the go-left indicators (n x (d*B+1)) never
change during training, yet every level multiplies them by fresh secrets. With
plain Beaver triples each product would reopen the whole n x d*B operand. Here
the dealer deals one mask A for the constant Y, players open D = Y - A once
(`open_fixed`), and each product X @ Y uses a triple (B, C = B @ A) with a
fresh B: players open only E = X - B, and

    X @ Y = (B + E)(A + D) = C + B @ D + E @ (A + D)     (E @ D by the first player)

is linear in the shares of A, B, C. D stays uniform (A is used for nothing
else), each E is uniform (fresh B): the openings reveal nothing. Per product:
1 round, p(p-1) messages of 8|X| bytes; offline one correction of 8|X @ Y|.
Opening D costs p(p-1) messages of 8|Y| bytes once.

Local products use `ring_matmul` (exact Z_2^64 on float64 BLAS). Memory: at
n = 10^5 samples and d*B = 1600 each n x d*B array is 1.3 GB, so `open`
overwrites its input with y - A, the first player turns its draw A into A + D
in place, the dealer keeps only A, and the players of one process share one
read-only copy of the public D (`_interned`).

Built on `protocols.sharing` primitives (`Correlations.draw`, `MpcCore._open`,
`_work`), since `Mpc` has no fixed-operand product.
"""

from __future__ import annotations

import hashlib
import weakref
from collections import Counter
from typing import Any

import numpy as np

from protocols.sharing.ring import RING, matmul_work, ring_matmul


class FixedOperand:
    """A secret constant Y with its opened mask: `right(X)` = X @ Y, `left(X)` = Y @ X."""

    def __init__(self, mpc: Any, y_shape: tuple[int, ...], a: Any, d: Any, dealer_a: Any):
        self.mpc, self.shape, self._dealer_a = mpc, y_shape, dealer_a
        # only A + D (first player) or A (others) is needed from here on
        if d is not None and mpc.is_first:
            np.add(a, d, out=a)  # a is this player's fresh PRG draw: reuse its memory
        self.ad = None if d is None else a
        self.d = _interned(d)

    @classmethod
    async def open(cls, mpc: Any, y: Any) -> FixedOperand:
        """Deal a mask for `y` and open D = y - A (1 round).

        Consumes `y`: a player overwrites it with y - A (one n x d*B array less
        at the run's memory peak); callers pass shares they no longer need.
        """
        kept: dict[str, np.ndarray] = {}

        def keep(values: list[np.ndarray]) -> list[np.ndarray]:
            kept["a"] = values[0]  # the dealer keeps A for later triples
            return [np.zeros(0, RING)]

        a, _ = await mpc.corr.draw([("ring", y.shape)], [("ring", (0,))], keep)
        if not mpc.is_player:  # keeps no n x d*B placeholders (memory at large n)
            return cls(mpc, y.shape, None, None, kept.get("a"))
        d = await mpc._open(np.subtract(y, a, out=y))
        await mpc._work(**Counter(ring=(2 if mpc.is_first else 1) * y.size)
                        + mpc._open_work(y.size))
        return cls(mpc, y.shape, a, d, kept.get("a"))

    async def _product(self, x: Any, right: bool) -> Any:
        mpc = self.mpc
        dealer_a = self._dealer_a
        zshape = ((x.shape[0], self.shape[1]) if right else (self.shape[0],) + x.shape[1:])

        def derive(values: list[np.ndarray]) -> list[np.ndarray]:
            b = values[0]
            return [ring_matmul(b, dealer_a) if right else ring_matmul(dealer_a, b)]

        product = (x.shape, self.shape) if right else (self.shape, x.shape)
        b, c = await mpc.corr.draw([("ring", x.shape)], [("ring", zshape)], derive,
                                   matmul_work(*product))
        if not mpc.is_player:
            await mpc._work()
            return mpc.zeros(zshape)
        e = await mpc._open(x - b)
        if right:
            z = ring_matmul(e, self.ad) + ring_matmul(b, self.d)
        else:
            z = ring_matmul(self.ad, e) + ring_matmul(self.d, b)
        z += c
        await mpc._work(**Counter(ring=e.size + 2 * z.size) + mpc._open_work(e.size)
                        + matmul_work(*product) + matmul_work(*product))
        return z

    async def right(self, x: Any) -> Any:
        """Shares of x @ Y."""
        return await self._product(x, right=True)

    async def left(self, x: Any) -> Any:
        """Shares of Y @ x."""
        return await self._product(x, right=False)


_PUBLIC: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _interned(d: Any) -> Any:
    """One read-only copy per process of an opened (public) array.

    Every player opens the same D; when a simulation holds all players in one
    process, they share one copy (at n = 10^5, d*B = 1600 each copy is 1.3 GB).
    Players in separate processes (TCP runtime) each keep their own, as before.
    Keyed by shape and a 128-bit BLAKE2b digest of the contents.
    """
    if not isinstance(d, np.ndarray):
        return d
    key = (d.shape, hashlib.blake2b(np.ascontiguousarray(d), digest_size=16).digest())
    kept = _PUBLIC.get(key)
    if kept is None:
        d.flags.writeable = False
        _PUBLIC[key] = kept = d
    return kept


class PlainFixed:
    """The same interface in the clear (`protocols.xorboost.plain.PlainRing`)."""

    def __init__(self, y: np.ndarray):
        self.y = y

    async def right(self, x: np.ndarray) -> np.ndarray:
        return ring_matmul(x, self.y)

    async def left(self, x: np.ndarray) -> np.ndarray:
        return ring_matmul(self.y, x)
