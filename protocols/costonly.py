"""Cost-only payloads: arrays that carry a shape and a dtype, not values.

A protocol whose messages and local work depend only on public sizes can run its
very same program on `Ghost` arrays and get the exact rounds, bytes and simulated
time of shapes far too large to compute (XORBoost's cost-only mode; the parallel
trainer at the article's model size). `Ghost` follows numpy's dispatch protocols
(``__array_ufunc__`` and ``__array_function__``) for the operations those
programs use; arithmetic gives ring elements (`protocols.sharing.RING`) unless
the operands are boolean (or all packed bytes, uint8), and in-place operations
keep their target. Its wire size is what the real array's would be (bool
bit-packed).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from protocols.sharing.core import matmul_shape
from protocols.sharing.ring import RING

_BOOL_UFUNCS = {np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
                np.logical_and, np.logical_or, np.logical_not, np.logical_xor}


def _shape(x: Any) -> tuple[int, ...]:
    return x.shape if isinstance(x, Ghost) else np.shape(x)


def _dtype(x: Any) -> np.dtype:
    return x.dtype if isinstance(x, Ghost | np.ndarray | np.generic) else np.asarray(x).dtype


def _is_bool(x: Any) -> bool:
    return _dtype(x) == np.bool_


def _dtype_of(items: Sequence[Any]) -> Any:
    """bool if every item is; uint8 if every array item is (packed bits, as in
    `protocols.sharing.bits.Rows`); otherwise the ring."""
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
        return reduced(self, axis, dtype)

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


def reduced(x: Any, axis: int | None, dtype: Any) -> Ghost:
    """A ghost of `x` summed along `axis` (all axes when None)."""
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
    return reduced(x, axis, dtype)


def _like(x: Any, *_: Any, **__: Any) -> Ghost:
    return Ghost(_shape(x), x.dtype)


_FUNCTIONS = {
    np.concatenate: _concatenate, np.stack: _stack, np.where: _where,
    np.broadcast_to: _broadcast_to, np.cumsum: _cumsum, np.repeat: _repeat, np.sum: _sum,
    np.zeros_like: _like, np.copy: _like,
}
