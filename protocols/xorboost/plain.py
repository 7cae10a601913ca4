"""`PlainRing`: the secure algorithm's ring arithmetic, in the clear.

It offers the `protocols.sharing.Mpc` operations that `train` uses, on plain
ring values instead of shares, so `train(PlainRing(), ...)` is the plaintext
fixed-point reference of the exact secure computation. Where the secure
operations are randomized, this one is deterministic: truncation rounds to
nearest (secure: down or up by one unit, unbiased), comparisons and argmax are
exact. Everything else (sigmoid pieces, the reciprocal's Newton steps,
scaling, candidate scores, tie-breaking) is the same code.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

import numpy as np

from protocols.sharing.ring import DEFAULT_FRAC_BITS, RING, ring_matmul, signed, to_ring
from protocols.xorboost.fixedmask import PlainFixed


class PlainRing:
    """Ring values held in the clear by one party (no communication)."""

    def __init__(self, frac_bits: int = DEFAULT_FRAC_BITS):
        self.frac_bits = frac_bits

    @staticmethod
    def zeros(shape: tuple[int, ...]) -> np.ndarray:
        return np.zeros(shape, RING)

    def add(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x + y

    def sub(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x - y

    def neg(self, x: np.ndarray) -> np.ndarray:
        return -x

    def mul_public(self, x: np.ndarray, k: Any) -> np.ndarray:
        return x * np.asarray(k, np.int64).view(RING)

    def add_public(self, x: np.ndarray, c: Any) -> np.ndarray:
        return x + np.asarray(c).astype(RING)

    def sum(self, x: np.ndarray, axis: int | None = None) -> np.ndarray:
        return x.sum(axis=axis, dtype=RING)

    async def mul(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x * y

    async def matmul(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return ring_matmul(x, y)

    async def fixed(self, y: np.ndarray) -> PlainFixed:
        return PlainFixed(y)

    async def trunc(self, x: np.ndarray, f: int | None = None) -> np.ndarray:
        f = self.frac_bits if f is None else f
        return to_ring((signed(x) + (1 << (f - 1))) >> f)

    async def mul_fx(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return await self.trunc(x * y)

    async def lt_public(self, x: np.ndarray, c: Any) -> np.ndarray:
        return (signed(x - np.asarray(c).astype(RING)) < 0).astype(RING)

    async def argmax(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = np.argmax(signed(x), axis=-1)
        onehot = (np.arange(x.shape[-1]) == idx[..., None]).astype(RING)
        return onehot, np.take_along_axis(x, idx[..., None], axis=-1)[..., 0]


def run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never waits (the plain back end) to its end."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError("the plain back end awaited something it cannot serve")
