"""Correlated randomness from a trusted dealer, seed-compressed.

TRUST: the dealer is a trusted third party. It learns nothing about the inputs
(it never receives a share) but knows every mask and triple it produced, so it
must not collude with any player.

Seed compression (as CrypTen's trusted-third-party provider does): in a setup
step the dealer sends each player a 16-byte seed, and both then run the same
PRG, AES-128 in counter mode keyed by the seed. A correlation has *free*
components (Beaver's a and b, a mask r) whose shares every player simply draws
from its PRG, and *derived* components (c = a*b, r >> f, the bits of r) whose
shares players 2..p draw while the first player receives one correction from
the dealer, so that the shares add up (or XOR) to the right value. The offline
cost of a correlation is therefore one message, to the first player, the size
of its derived components.

Players and the dealer call `Correlations.draw` at the same point of the same
program (public control flow), so their PRG streams stay aligned.

AES-CTR rather than numpy's PCG64: it is a cryptographic PRG (PCG64 is only
statistical), and it writes into a fresh buffer without numpy's per-draw
overhead: about 1 ms per million ring elements here against 2.4 ms for
``PCG64`` (measured while writing `benchmarks/sharing.py`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from protocols.sharing.bits import Rows
from protocols.sharing.ring import RING
from sim import Party

Spec = tuple[str, tuple[int, ...]]
"""A component: ``("ring", shape)`` (additive uint64 shares), ``("bits", shape)`` (XOR
shares, bools) or ``("rows", (rows, length))`` (XOR shares as packed `Rows`)."""

Derive = Callable[[list[np.ndarray]], list[np.ndarray]]
"""The dealer's map from the free components' values to the derived ones'."""


class NoDealerError(RuntimeError):
    """An operation needs correlated randomness but the run has no dealer."""


class SeedPrg:
    """AES-128-CTR keyed by a 16-byte seed: uniform ring elements and bits."""

    _zeros = bytes(0)

    def __init__(self, seed: bytes):
        if len(seed) != 16:
            raise ValueError(f"a PRG seed is 16 bytes, got {len(seed)}")
        self._cipher = Cipher(algorithms.AES(seed), modes.CTR(bytes(16))).encryptor()

    def raw(self, n: int) -> np.ndarray:
        """The next `n` 64-bit outputs."""
        nbytes = 8 * n
        if len(SeedPrg._zeros) < nbytes:
            SeedPrg._zeros = bytes(nbytes)
        out = np.empty(nbytes + 15, np.uint8)  # update_into wants block_size - 1 spare bytes
        self._cipher.update_into(memoryview(SeedPrg._zeros)[:nbytes], out)
        return out[:nbytes].view(RING)

    @staticmethod
    def ring_at(seed: bytes, offset: int, count: int) -> np.ndarray:
        """Elements offset .. offset + count - 1 of the ring stream keyed by `seed`.

        Random access into the same AES-128-CTR stream `raw` produces (a 16-byte
        counter block holds two ring elements), so a large mask can be
        regenerated block by block instead of kept in memory.
        """
        first = offset // 2
        cipher = Cipher(algorithms.AES(seed), modes.CTR(first.to_bytes(16, "big"))).encryptor()
        skip = offset - 2 * first
        nbytes = 8 * (count + skip)
        if len(SeedPrg._zeros) < nbytes:
            SeedPrg._zeros = bytes(nbytes)
        out = np.empty(nbytes + 15, np.uint8)
        cipher.update_into(memoryview(SeedPrg._zeros)[:nbytes], out)
        return out[8 * skip:nbytes].view(RING)

    def draw(self, spec: Spec) -> Any:
        kind, shape = spec
        n = int(np.prod(shape))
        if kind == "ring":
            return self.raw(n).reshape(shape)
        if kind == "rows":  # packed bytes straight from the stream, then the bool tail
            rows, length = shape
            nbytes = rows * (length // 8)
            packed = self.raw((nbytes + 7) // 8).view(np.uint8)[:nbytes]
            return Rows(packed.reshape(rows, length // 8),
                        self.draw(("bits", (rows, length % 8))))
        raw = self.raw((n + 63) // 64).view(np.uint8)
        return np.unpackbits(raw, count=n).view(np.bool_).reshape(shape)


def placeholder(spec: Spec) -> Any:
    """Zeros of a component's kind and shape."""
    kind, shape = spec
    if kind == "rows":
        return Rows.zeros(*shape)
    return np.zeros(shape, RING if kind == "ring" else np.bool_)


def _element_op(kind: str) -> str:
    return "ring" if kind == "ring" else "bit"


def _elements(kind: str, shape: tuple[int, ...]) -> int:
    """Elements an operation on a component passes over (packed rows: bytes)."""
    n = math.prod(shape)
    return n // 8 if kind == "rows" else n


def prg_work(specs: Sequence[Spec], times: int = 1) -> Counter:
    """What drawing `specs` from a `SeedPrg` (`times` over) costs, by cost class: 8
    keystream bytes per ring element or per 64 bits, written into a fresh array, and
    unpacking each bit (packed ``rows`` are the keystream bytes themselves: one pass
    per byte)."""
    work = Counter(call=2 * len(specs) * times)
    for kind, shape in specs:
        n = math.prod(shape)
        work["aes_byte"] += times * 8 * (n if kind == "ring" else -(-n // 64))
        work[_element_op(kind)] += times * _elements(kind, shape)
    return work


def dealer_work(free: Sequence[Spec], derived: Sequence[Spec], players: int,
                derive: Mapping[str, float] | None = None,
                holders: Sequence[Sequence[int] | None] | None = None) -> Counter:
    """The dealer's work for one correlation: every holder's draws of the free
    components (combined), the derived values (`derive`: default one element
    operation each), the other players' draws of them and the correction."""
    work = prg_work(derived, players - 1)
    for k, (kind, shape) in enumerate(free):  # drawn and combined per holder
        count = players if holders is None or holders[k] is None else len(holders[k])
        work += prg_work([(kind, shape)], count)
        work[_element_op(kind)] += count * _elements(kind, shape)
    for kind, shape in derived:  # combining the derived draws, then the correction
        work[_element_op(kind)] += players * _elements(kind, shape)
        if derive is None:
            work[_element_op(kind)] += _elements(kind, shape)
    return work + Counter(derive) if derive is not None else work


def _combine(acc: Any, part: Any) -> None:
    """acc += part in the component's group (addition mod 2^64, or XOR), in place."""
    if isinstance(acc, Rows):
        np.bitwise_xor(acc.packed, part.packed, out=acc.packed)
        np.bitwise_xor(acc.tail, part.tail, out=acc.tail)
    elif acc.dtype == np.bool_:
        np.bitwise_xor(acc, part, out=acc)
    else:
        np.add(acc, part, out=acc)


def _remove(total: Any, acc: Any) -> Any:
    """The share that completes `acc` to `total`."""
    if isinstance(total, Rows) or total.dtype == np.bool_:
        return total ^ acc
    return total - acc


class Correlations:
    """One party's end of the dealer's correlated randomness.

    Args:
        party: this party.
        players: ids of the computing parties; the first receives the corrections.
        dealer: the dealer's id, or None (then `draw` raises `NoDealerError`).
    """

    def __init__(self, party: Party, players: Sequence[int], dealer: int | None):
        self.party, self.players, self.dealer = party, list(players), dealer
        self._gens: dict[int, SeedPrg] | None = None

    async def setup(self) -> None:
        """Offline: the dealer sends each player a 16-byte PRG seed (once)."""
        if self._gens is not None:
            return
        if self.dealer is None:
            raise NoDealerError("this operation needs correlated randomness: give Mpc a dealer")
        party = self.party
        gens: dict[int, SeedPrg] = {}
        if party.id == self.dealer:
            with party.phase("offline:seeds", offline=True):
                for pid in self.players:
                    seed = party.rng.bytes(16)
                    gens[pid] = SeedPrg(seed)
                    await party.send(pid, seed)
        elif party.id in self.players:
            gens[party.id] = SeedPrg(await party.recv(self.dealer))
        self._gens = gens

    async def subseed(self) -> dict[int, bytes]:
        """A fresh 16-byte seed per player, known to that player and to the dealer.

        Drawn from the players' streams (no message): the dealer gets every
        player's seed, a player its own, anyone else nothing. Keys a stream that
        can be regenerated at random offsets (`SeedPrg.ring_at`).
        """
        await self.setup()
        pid = self.party.id
        if pid == self.dealer:
            return {p: self._gens[p].raw(2).tobytes() for p in self.players}
        if pid in self.players:
            return {pid: self._gens[pid].raw(2).tobytes()}
        return {}

    async def fork(self, n: int) -> list[dict[int, SeedPrg] | None]:
        """`n` fresh streams per PRG, one set per operation run together (`Mpc.gather`).

        Each operation draws from its own set, so the dealer (whose operations run
        without waiting) and the players (whose operations interleave round by
        round) stay aligned. A fork is 16 keystream bytes of each stream, in the
        same order everywhere; without a dealer, n Nones.
        """
        if self._gens is None:
            return [None] * n
        forks = [{p: SeedPrg(gen.raw(2).tobytes()) for p, gen in self._gens.items()}
                 for _ in range(n)]
        await self.party.work(**prg_work([("ring", (2,))], n * len(self._gens)))
        return forks

    def switch(self, party: Party, gens: dict[int, SeedPrg] | None
               ) -> tuple[Party, dict[int, SeedPrg] | None]:
        """Make `party` and the streams `gens` current; the previous pair (`gather`)."""
        previous = self.party, self._gens
        self.party, self._gens = party, gens
        return previous

    async def draw(self, free: Sequence[Spec], derived: Sequence[Spec], derive: Derive,
                   derive_work: Mapping[str, float] | None = None,
                   holders: Sequence[Sequence[int] | None] | None = None) -> list[Any]:
        """This party's shares of the free then derived components.

        The dealer gets placeholder zeros (it holds no shares) after sending the
        first player its correction in the offline phase named
        ``offline:<current phase>``. `derive_work` is what `derive` computes, by
        cost class (default: one element operation per derived element). `holders`
        may restrict a free component to some players (one entry per free
        component, None for all): the others draw nothing for it (they get zeros)
        and the dealer's value is the sum over its holders only.
        """
        await self.setup()
        party = self.party
        holders = [None] * len(free) if holders is None else list(holders)
        if party.id == self.dealer:
            with party.phase(f"offline:{party.current_phase}", offline=True):
                correction = self._dealer_correction(free, derived, derive, holders)
                await party.work(**dealer_work(free, derived, len(self.players), derive_work,
                                               holders))
                await party.send(self.players[0], correction)
            return [placeholder(spec) for spec in (*free, *derived)]
        if party.id not in self.players:
            return [placeholder(spec) for spec in (*free, *derived)]
        gen = self._gens[party.id]
        mine = [who is None or party.id in who for who in holders]
        out = [gen.draw(spec) if drawn else placeholder(spec)
               for spec, drawn in zip(free, mine, strict=True)]
        first = party.id == self.players[0]
        if first:
            correction = await party.recv(self.dealer)
            out += _unpack(correction, derived)
        else:
            out += [gen.draw(spec) for spec in derived]
        drawn = [spec for spec, d in zip(free, mine, strict=True) if d]
        await party.work(**prg_work(drawn if first else (*drawn, *derived)))
        # 0-d results of ring arithmetic are scalars: back to arrays
        return [a if isinstance(a, Rows) else np.asarray(a) for a in out]

    def _dealer_correction(self, free: Sequence[Spec], derived: Sequence[Spec],
                           derive: Derive, holders: Sequence[Sequence[int] | None]
                           ) -> tuple[np.ndarray, ...] | np.ndarray:
        gens = self._gens
        values = [placeholder(spec) for spec in free]
        for pid in self.players:
            for acc, spec, who in zip(values, free, holders, strict=True):
                if who is None or pid in who:
                    _combine(acc, gens[pid].draw(spec))
        targets = derive(values)
        partial: list[np.ndarray] = []
        for pid in self.players[1:]:
            draws = [gens[pid].draw(spec) for spec in derived]
            if not partial:
                partial = draws
                continue
            for acc, part in zip(partial, draws, strict=True):
                _combine(acc, part)
        if not partial:  # a single player: its correction is the whole value
            return _pack(targets)
        return _pack([_remove(t, a) for t, a in zip(targets, partial, strict=True)])


def _pack(parts: list[Any]) -> tuple[np.ndarray, ...] | np.ndarray:
    """One payload: ring parts and the packed bytes of `Rows` as they are, all bool bits
    (bits parts, the tails of `Rows`) in one flat bool array (so bit-packing rounds up
    once; the packed bytes hold whole bytes, so the size is that of all bits packed)."""
    items, bits = [], []
    for p in parts:
        if isinstance(p, Rows):
            items.append(p.packed)
            bits.append(p.tail.ravel())
        elif p.dtype == np.bool_:
            bits.append(p.ravel())
        else:
            items.append(p)
    if bits:
        items.append(np.concatenate(bits))
    return items[0] if len(items) == 1 else tuple(items)


def _unpack(payload: tuple[np.ndarray, ...] | np.ndarray, specs: Sequence[Spec]) -> list[Any]:
    items = list(payload) if isinstance(payload, tuple) else [payload]
    has_bits = any(k in ("bits", "rows") for k, _ in specs)
    flat_bits = items.pop() if has_bits else None
    out, offset = [], 0
    for kind, shape in specs:
        if kind == "ring":
            out.append(items.pop(0))
            continue
        if kind == "rows":
            rows, length = shape
            packed, shape = items.pop(0), (rows, length % 8)
        size = int(np.prod(shape))
        bits = flat_bits[offset:offset + size].reshape(shape)
        offset += size
        out.append(Rows(packed, bits) if kind == "rows" else bits)
    return out
