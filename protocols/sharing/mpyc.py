"""The ``mpyc-0.11`` wire profile: the bytes MPyC 0.11 sends for ``secure_sum`` on Shamir shares.

MPyC runs Shamir secret sharing over a prime field among n parties, as ppsim's
``secure_sum`` with ``scheme = "shamir"`` does, and its secure sum exchanges the
same messages one for one: each party deals degree-t shares of its vector to
every other party (``mpc.input``: one message per peer, ``SUM_KINDS[0]``), the parties
add the shared vectors locally (no message), and each party sends its share of
the sum to party 0, which interpolates (``mpc.output``: ``SUM_KINDS[1]``). Neither
step draws pseudo-random shares (PRSS), so ``--no-prss`` changes nothing here.
Derived from MPyC 0.11's source (``mpyc.asyncoro.MessageExchanger.send``,
``Runtime.input`` / ``_distribute`` and ``Runtime.output``) and checked against
MPyC itself by ``benchmarks/profiles.py``:

* framing: every message is the runtime's program counter (8 bytes, signed) and
  the payload's length (4 bytes) before the payload: 12 B;
* a shared vector (a secure array, ``secfld.array``) travels as ``pickle.dumps``
  of a NumPy object array of Python integers (`pickled_ints`): about 150 B of
  header, then 5 B per element below 2^31 (2 B below 2^8, 3 B below 2^16), 2 B
  per thousand elements and 9 B per 64 KiB frame: 5.0 B per element of
  GF(2^31 - 1) against ppsim's 4 B (uint32).

**Setting to match:** MPyC with ``-M n`` parties and threshold ``-T t`` (MPyC's
default (n - 1) // 2 is ppsim's; MPyC requires 2t < n), the field
``mpc.SecFld(2**31 - 1)``, each party's vector input as one secure array, and the
sum opened by ``mpc.output(total, receivers=0, threshold=n - 1)``: every other
party sends its share to party 0, as in ppsim. MPyC's default opening
(``threshold=None``) has only party 0's t predecessors send, t messages where
ppsim sends n - 1. Without ``--mix32-64bit``: with it MPyC marshals 4 B per element
(``field.to_bytes``), which is ppsim's own encoding (the default profile) with
``header_bytes = 12``. Pickled with NumPy 2 (NumPy 1's module path is one byte
shorter).

Not predicted: what MPyC's count leaves out too, the connection set-up (each
party's 2-byte id and its PRSS keys, 16 B per key) and the closing
synchronisation (a pickled id to every party), and TCP/IP below (the
scenario's ``header_bytes``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from protocols.sharing.demos import SUM_KINDS
from sim import Profile

NAME = "mpyc-0.11"

FRAME = 8 + 4  # MessageExchanger.send: program counter (q) and payload size (I)
PICKLE_HEAD = 136  # pickle protocol 4 of an empty object ndarray, without shape and frame
BATCH = 1000  # the pickler appends list items in batches: MARK ... APPENDS
FRAME_TARGET = 64 * 1024  # pickle protocol 4 frames: 9 B (FRAME opcode, length) each


def _pickled_int(n: int) -> int:
    """Bytes of a pickled integer in [0, 2^31): opcode BININT1, BININT2 or BININT and its
    1, 2 or 4 bytes."""
    return 2 if n < 2**8 else 3 if n < 2**16 else 5


def pickled_ints(values: np.ndarray) -> int:
    """``len(pickle.dumps(a))`` of a 1-D NumPy object array `a` of Python integers in
    [0, 2^31) with these values, as MPyC marshals a secure array's shares."""
    values = np.asarray(values).reshape(-1)
    n = values.size
    small, medium = np.count_nonzero(values < 2**8), np.count_nonzero(values < 2**16)
    items = 5 * n - 3 * small - 2 * (medium - small)
    appends = 1 if n == 1 else 2 * -(-n // BATCH)  # APPEND alone, or MARK and APPENDS per batch
    body = PICKLE_HEAD + _pickled_int(n) + items + appends
    return body + 9 * max(1, -(-body // FRAME_TARGET))


def message(payload: Any) -> int:
    """One MPyC message carrying the shares in `payload` (ppsim's uint32 field elements)."""
    return FRAME + pickled_ints(payload)


def _refuse(protocol: str, params: Any) -> str | None:
    """MPyC shares with Shamir's scheme over a prime field, with threshold 2t < n."""
    if params.scheme != "shamir":
        return (f"MPyC shares with Shamir's scheme, not scheme = {params.scheme!r}: "
                "set scheme = \"shamir\"")
    if 2 * params.t >= params.parties:
        return (f"MPyC needs threshold 2t < n, got t = {params.t} for n = {params.parties} "
                "parties: lower threshold")
    return None


MPYC = Profile(
    NAME,
    sizes=dict.fromkeys(SUM_KINDS, message),
    protocols=frozenset({"secure_sum"}),
    refuse=_refuse,
    setting="MPyC -M n -T t, mpc.SecFld(2**31 - 1) secure arrays, the sum opened by "
            "mpc.output(total, receivers=0, threshold=n - 1): every party sends its share "
            "to party 0 (MPyC's default has only t of them send)",
)
"""The profile; a scenario names it ``[network] profile = "mpyc-0.11"``."""
