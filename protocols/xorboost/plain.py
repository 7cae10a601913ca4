"""`PlainRing`: the secure algorithm's ring arithmetic, in the clear.

It offers the `protocols.sharing.Mpc` operations that `train` uses, on plain
ring values instead of shares, so `train(PlainRing(), ...)` is the plaintext
fixed-point reference of the exact secure computation. Where the secure
operations are randomized, this one is deterministic: truncation rounds to
nearest (secure: down or up by one unit, unbiased), comparisons and argmax are
exact. Everything else (sigmoid pieces, the reciprocal's Newton steps,
scaling, candidate scores, tie-breaking) is the same code. Constant operands
are the owners' blocks in the clear (`PlainFixed`).
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

import numpy as np

from protocols.sharing.ring import (
    DEFAULT_FRAC_BITS,
    RING,
    decode,
    encode,
    ring_matmul,
    signed,
    to_ring,
)
from protocols.xorboost import binning
from protocols.xorboost.fixedmask import OneHotBlock, ValueBlock
from protocols.xorboost.model import Model, decode_threshold_bits, encode_threshold_bits
from protocols.xorboost.train import train


class PlainRing:
    """Ring values held in the clear by one party (no communication)."""

    def __init__(self, frac_bits: int = DEFAULT_FRAC_BITS,
                 rng: np.random.Generator | None = None):
        """`rng`: truncate as the secure protocol does (down, or up with probability
        the dropped fraction) instead of to nearest."""
        self.frac_bits, self.rng = frac_bits, rng

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

    def matmul_public(self, x: np.ndarray, m: Any) -> np.ndarray:
        m = np.asarray(m)
        return ring_matmul(x, m if m.dtype == RING else m.astype(np.int64).astype(RING))

    def add_public(self, x: np.ndarray, c: Any) -> np.ndarray:
        return x + np.asarray(c).astype(RING)

    def sum(self, x: np.ndarray, axis: int | None = None) -> np.ndarray:
        return x.sum(axis=axis, dtype=RING)

    async def gather(self, *ops: Coroutine) -> list[Any]:
        """`Mpc.gather` in the clear: the operations one after the other."""
        return [await op for op in ops]

    async def mul(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x * y

    async def matmul(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return ring_matmul(x, y)

    async def trunc(self, x: np.ndarray, f: int | None = None) -> np.ndarray:
        f = self.frac_bits if f is None else f
        if self.rng is None:
            return to_ring((signed(x) + (1 << (f - 1))) >> f)
        low = (signed(x) & ((1 << f) - 1)).astype(np.float64) / 2.0**f
        return to_ring((signed(x) >> f) + (self.rng.random(np.shape(x)) < low))

    async def trunc_exact(self, x: np.ndarray, f: int | None = None) -> np.ndarray:
        f = self.frac_bits if f is None else f
        return to_ring(signed(x) >> f)

    async def mul_fx(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return await self.trunc(x * y)

    async def lt_public(self, x: np.ndarray, c: Any) -> np.ndarray:
        return (signed(x - np.asarray(c).astype(RING)) < 0).astype(RING)

    async def lt(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (signed(x - y) < 0).astype(RING)

    async def msb(self, x: np.ndarray) -> np.ndarray:
        return (signed(x) < 0).astype(RING)

    async def eq(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (x == y).astype(RING)


class PlainFixed:
    """A constant operand in the clear: an owner block (`fixedmask.OneHotBlock`,
    `fixedmask.ValueBlock`) covering the whole matrix."""

    def __init__(self, block: Any):
        self.block = block

    async def reserve(self, rows: int) -> None:
        """Nothing to prepare in the clear."""

    async def right(self, x: np.ndarray) -> np.ndarray:
        return self.block.right(x)

    async def left(self, x: np.ndarray) -> np.ndarray:
        return self.block.left(x)


def run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never waits (the plain back end) to its end."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError("the plain back end awaited something it cannot serve")


def reference(prep: Any, rng: np.random.Generator | None = None) -> Model:
    """The plaintext fixed-point reference model of a prepared run
    (`protocols.xorboost.protocol.prepare`): `train` on `PlainRing` with the
    pooled training data, cut points from whole columns (XGBoost's sketch).
    `rng`: truncate at random like the secure protocol."""
    hp, cands, x, f = prep.hp, prep.cands, prep.train.x, prep.prec.frac
    d = x.shape[1]
    cuts = [binning.column_cuts(x[:, j], hp.max_bin, cands.categorical[j]) for j in range(d)]
    idx = np.column_stack([binning.bucketize(x[:, j], cuts[j]) for j in range(d)])
    pairs = [cands.thresholds(j, c.values, c.min_value, c.present) for j, c in enumerate(cuts)]
    values = np.concatenate([encode_threshold_bits(np.concatenate([p[0] for p in pairs])),
                             np.zeros(1, RING)])
    exists = np.concatenate([p[1] for p in pairs]).astype(RING)
    if not any(c and m for c, m in zip(cands.categorical, cands.missing, strict=True)):
        exists = None
    out = run_sync(train(PlainRing(f, rng), PlainFixed(OneHotBlock(idx, hp.max_bin)),
                         PlainFixed(ValueBlock(cands.values(idx, np.arange(d)))),
                         encode(prep.train.y.astype(np.float64), f), values, exists, cands,
                         hp, prep.prec))
    return Model.from_revealed([s.astype(np.int64) for s in out["selections"]],
                               [decode_threshold_bits(t) for t in out["thresholds"]],
                               [decode(w, f) for w in out["leaves"]], cands, hp.objective,
                               hp.base_score)
