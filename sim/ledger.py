"""The cost ledger: bytes, messages, rounds and time, by phase, party and link.

Rounds are measured, never declared. Every message carries a causal depth: one
more than the deepest message its sender had received before sending it (a
Lamport-style counter); the run's rounds are its deepest message. The rounds
of a phase are the depth it adds, summed over the times the program enters
it: for each entry, the deepest message sent in it minus the deepest message
its senders had sent or received before entering. Only per-sender facts go in, so the
ledgers of parties measured apart (the TCP runtime) merge by taking maxima.
Offline phases (a dealer's preprocessing) keep a depth of their own, so
preprocessing never adds to the online rounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sim.costmodel import SIZED


@dataclass(slots=True)
class Message:
    """One message in flight; `size` is the payload's wire size without header.

    The simulator schedules a message in flight as its own simpy event (one per
    hop), which saves an event object and a closure per hop: `hops`, `hop` and
    `ready_at` say where it is, `callbacks` and `_ok` are the event protocol
    `simpy.Environment.step` reads.
    """

    src: int
    dst: int
    payload: Any
    size: int
    depth: int
    phase: str
    offline: bool
    sent_at: float
    waiter: Any = None  # a paced (offline) sender waiting for this to be taken
    entry: int = 0  # how often the sender had entered `phase` before (see Party._stamp)
    base: int = 0  # the deepest message the sender had sent or received when it entered
    path: Any = field(default=None, repr=False)  # the sender's critical path when it left
    cpu_s: float = field(default=0.0, repr=False)  # CPU work on its way (decoding, relaying)
    cpu_wait: float = field(default=0.0, repr=False)  # waiting for those CPUs
    hops: tuple = field(default=(), repr=False)
    hop: int = field(default=0, repr=False)
    ready_at: float = field(default=0.0, repr=False)
    callbacks: list | None = field(default=None, repr=False)
    _ok: bool = field(default=True, repr=False)


@dataclass(slots=True)
class ViewEntry:
    """One payload a party received, kept when views are recorded."""

    time: float
    src: int
    phase: str
    payload: Any


@dataclass
class PhaseStats:
    name: str
    offline: bool
    bytes: int = 0
    messages: int = 0
    max_depth: int = 0
    entries: dict[int, list[int]] = field(default_factory=dict)
    """Per entry into the phase: [deepest base of its senders, deepest message]."""
    compute_s: dict[int, float] = field(default_factory=dict)
    ops: dict[str, float] = field(default_factory=dict)
    """Operations charged by `Party.work`, by class (``name@bits`` for sized ones)."""


@dataclass
class PartyStats:
    bytes_sent: int = 0
    bytes_received: int = 0
    messages_sent: int = 0
    messages_received: int = 0


class Ledger:
    """Collects what a run cost; `ppsim.report` turns it into the report."""

    def __init__(self, n_parties: int, header_bytes: int = 0, record_views: bool = False):
        self.header_bytes = header_bytes
        self.phases: dict[str, PhaseStats] = {}
        self.parties = [PartyStats() for _ in range(n_parties)]
        self.views: dict[int, list[ViewEntry]] | None = (
            {i: [] for i in range(n_parties)} if record_views else None
        )
        self.dropped_messages = 0

    def _phase(self, name: str, offline: bool) -> PhaseStats:
        stats = self.phases.get(name)
        if stats is None:
            stats = self.phases[name] = PhaseStats(name, offline)
        elif stats.offline != offline:
            raise ValueError(f"phase {name!r} is used both online and offline")
        return stats

    def use(self, name: str, offline: bool) -> None:
        """Note that a phase is in use (phases are listed in order of first use)."""
        self._phase(name, offline)

    def sent(self, msg: Message) -> None:
        """Count a sent message: its phase's bytes, messages and depths; its sender's totals."""
        wire = msg.size + self.header_bytes
        stats = self.phases.get(msg.phase)
        if stats is None or stats.offline != msg.offline:
            stats = self._phase(msg.phase, msg.offline)
        stats.bytes += wire
        stats.messages += 1
        if msg.depth > stats.max_depth:
            stats.max_depth = msg.depth
        entry = stats.entries.get(msg.entry)
        if entry is None:
            stats.entries[msg.entry] = [msg.base, msg.depth]
        else:
            if msg.base > entry[0]:
                entry[0] = msg.base
            if msg.depth > entry[1]:
                entry[1] = msg.depth
        party = self.parties[msg.src]
        party.bytes_sent += wire
        party.messages_sent += 1

    def delivered(self, msg: Message, time: float) -> None:
        """Count a message at its receiver (and record it in the receiver's view, if kept)."""
        party = self.parties[msg.dst]
        party.bytes_received += msg.size + self.header_bytes
        party.messages_received += 1
        if self.views is not None:
            self.views[msg.dst].append(ViewEntry(time, msg.src, msg.phase, msg.payload))

    def computed(self, name: str, offline: bool, party: int, seconds: float) -> None:
        """Add `seconds` of `party`'s local work to phase `name`."""
        spent = self._phase(name, offline).compute_s
        spent[party] = spent.get(party, 0.0) + seconds

    def worked(self, name: str, offline: bool, counts: dict[str, float],
               bits: int | None) -> None:
        ops = self._phase(name, offline).ops
        for op, count in counts.items():
            if count:
                key = f"{op}@{bits}" if op in SIZED else op
                ops[key] = ops.get(key, 0) + count

    def phase_rounds(self) -> dict[str, int]:
        """Rounds each phase adds (see the module docstring)."""
        return {
            stats.name: sum(max(0, deepest - base) for base, deepest in stats.entries.values())
            for stats in self.phases.values()
        }

    def rounds(self, offline: bool = False) -> int:
        """The deepest message on the online (or offline) track: the run's rounds."""
        return max((s.max_depth for s in self.phases.values() if s.offline == offline), default=0)

