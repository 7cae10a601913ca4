"""Cost-only mode: the same protocol code on payloads that carry shapes, not values.

XORBoost's messages and local work depend only on public sizes, so running the
very same program with `Ghost` arrays (`protocols.costonly`: a shape and a
dtype, no memory) gives the exact rounds, bytes and simulated time of shapes far
too large to compute. `protocols.sharing.Mpc` and `protocols.xorboost.train`
run unchanged on them; `GhostMpc` overrides only the few `Mpc` primitives that
touch values directly (the dealer's PRG draws, the Beaver opening buffer, bit
decomposition, input sharing).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from protocols.costonly import Ghost, reduced
from protocols.sharing import Mpc
from protocols.sharing.bits import Rows
from protocols.sharing.core import Input
from protocols.sharing.dealer import Correlations, Derive, Spec, dealer_work, prg_work
from protocols.sharing.ring import RING, split_work


def _pack_size(specs: Sequence[Spec]) -> int:
    """Wire bytes of a dealer correction (`dealer._pack`): ring parts and the packed bytes
    of rows, then all bool bits (bits parts and the rows' tails)."""
    rings = sum(8 * math.prod(s) for k, s in specs if k == "ring")
    packed = sum(s[0] * (s[1] // 8) for k, s in specs if k == "rows")
    bits = sum(math.prod(s) for k, s in specs if k == "bits")
    bits += sum(s[0] * (s[1] % 8) for k, s in specs if k == "rows")
    return rings + packed + (bits + 7) // 8


def ghost_rows(rows: int, length: int) -> Rows:
    """`Rows` of ghosts: the shapes of (rows, length) packed bits."""
    return Rows(Ghost((rows, length // 8), np.uint8), Ghost((rows, length % 8), np.bool_))


def _ghost(spec: Spec) -> Any:
    kind, shape = spec
    if kind == "rows":
        return ghost_rows(*shape)
    return Ghost(shape, RING if kind == "ring" else np.bool_)


class _Correction:
    def __init__(self, size: int):
        self.size = size

    def __wire_size__(self) -> int:
        return self.size


class GhostCorrelations(Correlations):
    """The dealer's correlations with the same messages and work, and no values."""

    async def draw(self, free: Sequence[Spec], derived: Sequence[Spec], derive: Derive,
                   derive_work: Any = None,
                   holders: Sequence[Sequence[int] | None] | None = None) -> list[Any]:
        await self.setup()
        party = self.party
        specs = (*free, *derived)
        drawn = [spec for spec, who in zip(free, holders or [None] * len(free), strict=True)
                 if who is None or party.id in who]
        if party.id == self.dealer:
            with party.phase(f"offline:{party.current_phase}", offline=True):
                await party.work(**dealer_work(free, derived, len(self.players), derive_work,
                                               holders))
                await party.send(self.players[0], _Correction(_pack_size(derived)))
        elif party.id == self.players[0]:
            await party.recv(self.dealer)
            await party.work(**prg_work(drawn))
        elif party.id in self.players:
            await party.work(**prg_work((*drawn, *derived)))
        return [_ghost(spec) for spec in specs]


class GhostMpc(Mpc):
    """`Mpc` on `Ghost` arrays: identical messages, sizes, rounds and work charges."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.corr = GhostCorrelations(self.party, self.players, self.dealer)

    @staticmethod
    def zeros(shape: tuple[int, ...], bits: bool = False) -> Ghost:
        return Ghost(shape, np.bool_ if bits else RING)

    async def _open(self, mine: Any) -> Ghost:
        if not self.is_player:
            return Ghost(mine.shape, mine.dtype)
        for pid in self.peers:
            await self.party.send(pid, mine)
        await self.party.recv_many(self.peers)
        return Ghost(mine.shape, mine.dtype)

    async def share_all(self, inputs: Sequence[Input], bits: bool = False) -> list[Ghost]:
        party, me = self.party, self.party.id
        pieces = [Ghost(tuple(s if s is not None else v.shape), np.bool_ if bits else RING)
                  for _, v, s in inputs]
        own = [piece for (o, _, _), piece in zip(inputs, pieces, strict=True) if o == me]
        if own:
            for pid in self.players:
                if pid != me:
                    await party.send(pid, own[0] if len(own) == 1 else tuple(own))
            work: Counter = Counter()
            for piece in own:
                work += split_work(piece.size, len(self.players), bits)
            await party.work(**work)
        owners = sorted({int(o) for o, _, _ in inputs} - {me})
        if self.is_player and owners:
            await party.recv_many(owners)
        return pieces

    async def share_all_fx(self, inputs: Sequence[Input]) -> list[Ghost]:
        return await self.share_all(inputs)

    def _opened(self, x: Any, got: dict[int, Any]) -> Ghost:
        return Ghost(x.shape, x.dtype)

    async def _beaver(self, x, y, a, b, c, op, zshape) -> Ghost:
        if not self.is_player:
            await self._work()
            return Ghost(zshape)
        await self._open(Ghost((x.size + y.size,)))
        await self._work(**self._beaver_work(x.shape, y.shape, zshape, op))
        return Ghost(zshape)

    @staticmethod
    def _rows_of(c: Any, width: int) -> Rows:
        return ghost_rows(width, c.size)

    @staticmethod
    def _row_bools(bits: Rows, shape: tuple[int, ...]) -> Ghost:
        return Ghost(shape, np.bool_)

    def sum(self, x: Any, axis: int | None = None) -> Ghost:
        self._local(ring=x.size, call=1)
        return reduced(x, axis, RING)

    async def trunc(self, x: Any, f: int | None = None) -> Ghost:
        f = self.frac_bits if f is None else f
        if not 0 < f < 62:
            raise ValueError(f"trunc: f must be in 1..61, got {f}")
        await self.corr.draw([("ring", x.shape)], [("ring", x.shape), ("ring", x.shape)],
                             lambda v: v)
        if not self.is_player:
            await self._work()
            return Ghost(x.shape)
        await self._open(Ghost(x.shape))
        await self._work(**self._trunc_work(x.size))
        return Ghost(x.shape)
