"""Cost-only mode: the same protocol code on payloads that carry shapes, not values.

XORBoost's messages and local work depend only on public sizes, so running the
very same program with `Ghost` arrays (a shape and a dtype, no memory) gives the
exact rounds, bytes and simulated time of shapes far too large to compute.

`Ghost` follows numpy's dispatch protocols (``__array_ufunc__`` and
``__array_function__``) for the operations `protocols.sharing.Mpc` and
`protocols.xorboost.train` use, so their code runs unchanged; `GhostMpc`
overrides only the few `Mpc` primitives that touch values directly (the
dealer's PRG draws, the Beaver opening buffer, bit decomposition, input
sharing). Its wire size is what the real array's would be (bool bit-packed).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from protocols.sharing import Mpc
from protocols.sharing.bits import Rows
from protocols.sharing.core import matmul_shape
from protocols.sharing.dealer import Correlations, Derive, Spec, dealer_work, prg_work
from protocols.sharing.ring import RING, split_work

_BOOL_UFUNCS = {np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
                np.logical_and, np.logical_or, np.logical_not, np.logical_xor}


def _shape(x: Any) -> tuple[int, ...]:
    return x.shape if isinstance(x, Ghost) else np.shape(x)


def _dtype(x: Any) -> np.dtype:
    return x.dtype if isinstance(x, Ghost | np.ndarray | np.generic) else np.asarray(x).dtype


def _is_bool(x: Any) -> bool:
    return _dtype(x) == np.bool_


def _dtype_of(items: Sequence[Any]) -> Any:
    """bool if every item is; uint8 if every array item is (packed bits: `Rows`);
    otherwise the ring."""
    if all(_is_bool(x) for x in items):
        return np.bool_
    arrays = [x for x in items if isinstance(x, Ghost | np.ndarray)]
    if arrays and all(_dtype(x) == np.uint8 for x in arrays):
        return np.uint8
    return RING


class Ghost(NDArrayOperatorsMixin):
    """An array's shape and dtype without its values."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: Iterable[int], dtype: Any = RING):
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)

    # -- array attributes ------------------------------------------------------

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __wire_size__(self) -> int:
        return (self.size + 7) // 8 if self.dtype == np.bool_ else self.nbytes

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"Ghost({self.shape}, {self.dtype})"

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError("a Ghost has no values (cost-only mode)")

    # -- shape manipulation ----------------------------------------------------

    def _dummy(self) -> np.ndarray:
        return np.broadcast_to(np.zeros((), np.int8), self.shape)

    def reshape(self, *shape: Any) -> Ghost:
        if len(shape) == 1 and isinstance(shape[0], tuple | list):
            shape = tuple(shape[0])
        return Ghost(_reshaped(self.size, shape), self.dtype)

    def ravel(self) -> Ghost:
        return Ghost((self.size,), self.dtype)

    @property
    def T(self) -> Ghost:  # noqa: N802 - numpy's name
        return Ghost(self.shape[::-1], self.dtype)

    def copy(self) -> Ghost:
        return Ghost(self.shape, self.dtype)

    def astype(self, dtype: Any, copy: bool = True) -> Ghost:
        return Ghost(self.shape, dtype)

    def view(self, dtype: Any) -> Ghost:
        return Ghost(self.shape, dtype)

    def sum(self, axis: int | None = None, dtype: Any = None) -> Ghost:
        return _reduced(self, axis, dtype)

    def __getitem__(self, index: Any) -> Ghost:
        return Ghost(self._dummy()[index].shape, self.dtype)

    def __setitem__(self, index: Any, value: Any) -> None:
        """Values are not kept: assignment changes nothing."""

    # -- numpy dispatch --------------------------------------------------------

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method != "__call__":
            return NotImplemented
        out = kwargs.get("out")
        if ufunc is np.matmul:
            shape = matmul_shape(_shape(inputs[0]), _shape(inputs[1]))
        else:
            shape = np.broadcast_shapes(*(_shape(x) for x in inputs))
        dtype = np.bool_ if ufunc in _BOOL_UFUNCS else _dtype_of(inputs)
        if out is not None:
            target = out[0] if isinstance(out, tuple) else out
            if isinstance(target, Ghost):
                return target
            return NotImplemented
        return Ghost(shape, dtype)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        handler = _FUNCTIONS.get(func)
        if handler is None:
            return NotImplemented
        return handler(*args, **kwargs)


def _reshaped(size: int, shape: Sequence[int]) -> tuple[int, ...]:
    shape = [int(s) for s in shape]
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        shape[shape.index(-1)] = size // known if known else 0
    if math.prod(shape) != size:
        raise ValueError(f"cannot reshape a ghost of size {size} into {tuple(shape)}")
    return tuple(shape)


def _reduced(x: Any, axis: int | None, dtype: Any) -> Ghost:
    shape = _shape(x)
    if axis is None:
        return Ghost((), dtype or RING)
    axis = axis % len(shape)
    return Ghost(shape[:axis] + shape[axis + 1:], dtype or RING)


def _concatenate(arrays: Sequence[Any], axis: int = 0, **_: Any) -> Ghost:
    shapes = [_shape(a) for a in arrays]
    axis = axis % len(shapes[0])
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    return Ghost(out, _dtype_of(arrays))


def _stack(arrays: Sequence[Any], axis: int = 0, **_: Any) -> Ghost:
    shape = _shape(arrays[0])
    axis = axis % (len(shape) + 1)
    return Ghost(shape[:axis] + (len(arrays),) + shape[axis:], _dtype_of(arrays))


def _where(cond: Any, x: Any, y: Any) -> Ghost:
    return Ghost(np.broadcast_shapes(_shape(cond), _shape(x), _shape(y)), _dtype_of([x, y]))


def _broadcast_to(x: Any, shape: Any, **_: Any) -> Ghost:
    return Ghost(tuple(shape), x.dtype)


def _cumsum(x: Any, axis: int | None = None, dtype: Any = None, **_: Any) -> Ghost:
    return Ghost(_shape(x) if axis is not None else (x.size,), dtype or RING)


def _repeat(x: Any, repeats: int, axis: int | None = None) -> Ghost:
    if axis is None:
        return Ghost((x.size * int(repeats),), x.dtype)
    shape = list(_shape(x))
    shape[axis] *= int(repeats)
    return Ghost(shape, x.dtype)


def _sum(x: Any, axis: int | None = None, dtype: Any = None, **_: Any) -> Ghost:
    return _reduced(x, axis, dtype)


def _like(x: Any, *_: Any, **__: Any) -> Ghost:
    return Ghost(_shape(x), x.dtype)


_FUNCTIONS = {
    np.concatenate: _concatenate, np.stack: _stack, np.where: _where,
    np.broadcast_to: _broadcast_to, np.cumsum: _cumsum, np.repeat: _repeat, np.sum: _sum,
    np.zeros_like: _like, np.copy: _like,
}


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

    async def share(self, owner: int, value: Any = None, shape: tuple[int, ...] | None = None,
                    bits: bool = False) -> Ghost:
        party = self.party
        shape = tuple(shape if shape is not None else value.shape)
        piece = Ghost(shape, np.bool_ if bits else RING)
        if party.id == owner:
            for pid in self.players:
                if pid != owner:
                    await party.send(pid, piece)
            await party.work(**split_work(piece.size, len(self.players), bits))
            return piece
        if self.is_player:
            await party.recv(owner)
        return piece

    async def share_fx(self, owner: int, value: Any = None,
                       shape: tuple[int, ...] | None = None) -> Ghost:
        return await self.share(owner, None, shape if shape is not None else value.shape)

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
        return _reduced(x, axis, RING)

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
