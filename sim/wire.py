"""How many bytes a payload takes on the wire.

The rule, shared by the simulator and the real-network runtime:

* a numpy array counts its raw data: ``itemsize`` bytes per element (a Z_2^64
  ring element is 8 bytes), except boolean arrays, which are bit-packed
  (``ceil(size / 8)`` bytes: an XOR-shared bit costs one bit);
* ``bytes`` count their length, ``str`` its UTF-8 length;
* an ``int`` is 8 bytes when it fits in 64 bits, else its minimal big-endian
  length (a Paillier ciphertext counts what it really is); a ``float`` is 8;
* tuples, lists and dicts count the sum of their items (dict keys included);
* any other object says its own size through a ``__wire_size__()`` method
  (cost-only placeholders, ciphertext wrappers).

Type tags and array shapes are framing: they belong to the per-message header,
which the scenario sets (``header_bytes``) and the report counts apart.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def size_of(payload: Any) -> int:
    """The payload's size in bytes by the rule above."""
    kind = type(payload)
    if kind is int:  # the common cases first, by exact type (subclasses fall through)
        return 8 if -(2**63) <= payload < 2**64 else (payload.bit_length() + 8) // 8
    if kind is np.ndarray:
        return (payload.size + 7) // 8 if payload.dtype == np.bool_ else payload.nbytes
    if isinstance(payload, np.ndarray):
        if payload.dtype == np.bool_:
            return (payload.size + 7) // 8
        return payload.nbytes
    if isinstance(payload, bytes | bytearray | memoryview):
        return len(payload)
    if isinstance(payload, bool):
        return 1
    if isinstance(payload, int):
        if -(2**63) <= payload < 2**64:
            return 8
        return (payload.bit_length() + 8) // 8
    if isinstance(payload, float | np.floating | np.integer):
        return 8
    if isinstance(payload, str):
        return len(payload.encode())
    if payload is None:
        return 0
    if isinstance(payload, tuple | list):
        return sum(size_of(item) for item in payload)
    if isinstance(payload, dict):
        return sum(size_of(k) + size_of(v) for k, v in payload.items())
    sizer = getattr(payload, "__wire_size__", None)
    if sizer is None:
        raise TypeError(
            f"cannot size a payload of type {type(payload).__name__}: "
            "send arrays, bytes, numbers, str, tuples/lists/dicts of them, "
            "or an object with __wire_size__()"
        )
    return int(sizer())
