"""Gradient threshold compression (Strom 2015): residuals, +-tau quanta, packed messages.

Each worker adds its update to a residual. Every entry whose magnitude reaches
the threshold `tau` is sent as one quantum, +tau or -tau, and that quantum is
subtracted from the residual; everything else stays in the residual for later
minibatches, so no part of any update is ever lost (only delayed).

Message encoding (what the byte count charges): one fixed-width unsigned
integer per sent entry, holding ``index_bits = bit_length(n_params - 1)`` bits
of index, one sign bit, and ``count_bits = bit_length(max_quanta - 1)`` bits of
quanta count (zero bits for Strom's one quantum per entry, the default). The
width is the smallest of 1, 2, 4 or 8 bytes holding those bits, so a message of
``k`` entries is ``k * entry_bytes`` bytes; the indices are neither sorted-delta
nor entropy coded. Strom packs 31 index bits and the sign into 32 bits; small
models here get 16-bit entries by the same rule.

``max_quanta > 1`` lets an entry carry up to that many quanta at once (sent as
the count); with ``tau -> 0`` and a large `max_quanta` the residual empties
every minibatch, which is how GTC reduces to plain SGD.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_WIDTHS = ((1, np.uint8), (2, np.uint16), (4, np.uint32), (8, np.uint64))


def _fields(n_params: int, max_quanta: int) -> tuple[int, int]:
    """(index bits, count bits) of one entry."""
    if n_params < 1 or max_quanta < 1:
        raise ValueError(f"need n_params >= 1 and max_quanta >= 1, got {n_params}, {max_quanta}")
    return max(1, (n_params - 1).bit_length()), (max_quanta - 1).bit_length()


def entry_bytes(n_params: int, max_quanta: int = 1) -> int:
    """Bytes of one sent entry: index, sign and count bits rounded up to 1, 2, 4 or 8 bytes."""
    index_bits, count_bits = _fields(n_params, max_quanta)
    bits = index_bits + 1 + count_bits
    for width, _ in _WIDTHS:
        if bits <= 8 * width:
            return width
    raise ValueError(f"an entry needs {bits} bits, more than 64")


def dtype(n_params: int, max_quanta: int = 1) -> type[np.unsignedinteger]:
    """The unsigned integer type of one packed entry (`entry_bytes` wide)."""
    width = entry_bytes(n_params, max_quanta)
    return next(dt for w, dt in _WIDTHS if w == width)


def quanta(residual: np.ndarray, tau: float, max_quanta: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Take the quanta out of `residual` (in place): which entries send, and how much.

    Each entry whose magnitude reaches `tau` gives ``min(floor(|r| / tau), max_quanta)``
    quanta of its sign and loses them. Returns the flat indices of those entries
    (into `residual`, one model ``(P,)`` or a stack of workers' ``(N, P)``) and their
    signed counts (float64). Only entries near the threshold are examined exactly,
    which keeps a step over many workers cheap when few entries send.
    """
    if tau <= 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    flat = residual.reshape(-1)
    near = np.flatnonzero(np.abs(flat) >= tau * (1 - 1e-6))  # a superset of the senders
    counts = np.minimum(np.floor(np.abs(flat[near].astype(np.float64)) / tau), max_quanta)
    idx = near[counts > 0]
    signed = np.copysign(counts[counts > 0], flat[idx])
    flat[idx] -= signed * tau
    return idx, signed


def encode(residual: np.ndarray, tau: float, max_quanta: int = 1) -> np.ndarray:
    """Take the quanta out of `residual` (in place) and return them as a packed message."""
    _, count_bits = _fields(residual.size, max_quanta)
    idx, signed = quanta(residual, tau, max_quanta)
    negative = signed < 0
    code = (idx.astype(np.uint64) << np.uint64(1 + count_bits)) | (
        negative.astype(np.uint64) << np.uint64(count_bits)
    ) | (np.abs(signed).astype(np.uint64) - np.uint64(1))
    return code.astype(dtype(residual.size, max_quanta))


def decode(
    messages: Sequence[np.ndarray], n_params: int, tau: float, max_quanta: int = 1
) -> np.ndarray:
    """The dense sum of the quantised updates in `messages` (summed in the order given)."""
    _, count_bits = _fields(n_params, max_quanta)
    if not messages:
        return np.zeros(n_params, dtype=np.float32)
    codes = np.concatenate(messages).astype(np.uint64)
    idx = (codes >> np.uint64(1 + count_bits)).astype(np.int64)
    negative = (codes >> np.uint64(count_bits)) & np.uint64(1)
    quanta = (codes & np.uint64((1 << count_bits) - 1)).astype(np.float64) + 1.0
    values = np.where(negative.astype(bool), -quanta, quanta)
    return (np.bincount(idx, weights=values, minlength=n_params) * tau).astype(np.float32)
