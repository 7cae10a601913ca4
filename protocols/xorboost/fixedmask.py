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

Built on `protocols.sharing` primitives (`Correlations.draw`, `MpcCore._open`,
`_work`), since `Mpc` has no fixed-operand product.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from protocols.sharing.ring import RING, ring_matmul


class FixedOperand:
    """A secret constant Y with its opened mask: `right(X)` = X @ Y, `left(X)` = Y @ X."""

    def __init__(self, mpc: Any, y_shape: tuple[int, ...], a: Any, d: Any, dealer_a: Any):
        self.mpc, self.shape, self.d, self._dealer_a = mpc, y_shape, d, dealer_a
        # only A + D (first player) or A (others) is needed from here on
        self.ad = a + d if mpc.is_first else a

    @classmethod
    async def open(cls, mpc: Any, y: Any) -> FixedOperand:
        """Deal a mask for `y` and open D = y - A (1 round)."""
        kept: dict[str, np.ndarray] = {}

        def keep(values: list[np.ndarray]) -> list[np.ndarray]:
            kept["a"] = values[0]  # the dealer keeps A for later triples
            return [np.zeros(0, RING)]

        a, _ = await mpc.corr.draw([("ring", y.shape)], [("ring", (0,))], keep)
        d = await mpc._open(y - a)
        return cls(mpc, y.shape, a, d, kept.get("a"))

    async def _product(self, x: Any, right: bool) -> Any:
        mpc = self.mpc
        dealer_a = self._dealer_a
        zshape = ((x.shape[0], self.shape[1]) if right else (self.shape[0],) + x.shape[1:])

        def derive(values: list[np.ndarray]) -> list[np.ndarray]:
            b = values[0]
            return [ring_matmul(b, dealer_a) if right else ring_matmul(dealer_a, b)]

        b, c = await mpc.corr.draw([("ring", x.shape)], [("ring", zshape)], derive)
        if not mpc.is_player:
            await mpc._work(0)
            return mpc.zeros(zshape)
        e = await mpc._open(x - b)
        if right:
            z = ring_matmul(e, self.ad) + ring_matmul(b, self.d)
        else:
            z = ring_matmul(self.ad, e) + ring_matmul(self.d, b)
        z += c
        await mpc._work(2 * e.size * len(mpc.players) + 4 * z.size)
        return z

    async def right(self, x: Any) -> Any:
        """Shares of x @ Y."""
        return await self._product(x, right=True)

    async def left(self, x: Any) -> Any:
        """Shares of Y @ x."""
        return await self._product(x, right=False)


class PlainFixed:
    """The same interface in the clear (`protocols.xorboost.plain.PlainRing`)."""

    def __init__(self, y: np.ndarray):
        self.y = y

    async def right(self, x: np.ndarray) -> np.ndarray:
        return ring_matmul(x, self.y)

    async def left(self, x: np.ndarray) -> np.ndarray:
        return ring_matmul(self.y, x)
