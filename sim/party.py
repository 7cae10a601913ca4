"""The `Party`: everything a protocol may await.

Protocols are ``async def`` coroutines that take a `Party` and await only its
methods. Two runtimes implement it: the simulator (`sim.engine`, virtual time on
simpy) and, later, the real-network runtime (trio over TCP). Protocol code must
never import simpy or trio; it asks the party for concurrency instead
(`recv_many` with a timeout rather than spawning tasks).

All methods that touch the network are awaitable, even `send`, so that a
runtime may apply backpressure (the simulator paces the offline dealer this way;
the TCP runtime waits for the socket).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from sim.costmodel import CostModel


class Party(ABC):
    """One participant of a protocol run.

    Attributes:
        id: this party's id, an integer in ``range(n)``.
        n: the number of parties in the run (nodes of the topology).
        rng: a generator seeded from the run's seed and this party's id, so a
            protocol's local randomness is reproducible.
        cost_model: seconds per operation of each class (`sim.costmodel`);
            `work` charges by it.
    """

    id: int
    n: int
    rng: np.random.Generator
    cost_model: CostModel

    def __init__(self) -> None:
        self._phase = "main"
        self._offline = False
        self.depth = 0
        """Deepest online message this party has received (its causal depth)."""
        self.offline_depth = 0
        self._sent_depth = [0, 0]  # deepest message sent, online and offline
        self._entries: dict[str, int] = {"main": 1}
        self._entry = 0
        self._base = 0

    @property
    def others(self) -> tuple[int, ...]:
        """The ids of every other party, in increasing order."""
        return tuple(i for i in range(self.n) if i != self.id)

    # -- communication -------------------------------------------------------

    @abstractmethod
    def send(self, dst: int, payload: Any, kind: str | None = None) -> Awaitable[None]:
        """Send `payload` to party `dst` (await it; it may wait for backpressure).

        `kind` names what the message is in the protocol (``"secagg.public_keys"``),
        so that a wire profile can size it as a framework would encode it and add
        the framework's extra messages (`sim.profiles`); it never changes what
        arrives.
        """

    @abstractmethod
    def recv(self, src: int) -> Awaitable[Any]:
        """Receive the next message from `src`, waiting as long as it takes."""

    @abstractmethod
    def recv_many(
        self, srcs: Iterable[int], timeout: float | None = None, kind: str | None = None
    ) -> Awaitable[dict[int, Any]]:
        """Receive one message from each of `srcs`.

        Without a timeout, waits for all of them. With one, returns after at most
        `timeout` seconds with whatever arrived (so protocols can handle parties
        that dropped out); the dict is keyed by sender, in increasing order.
        `kind` is the kind of message expected (see `send`): a profile whose
        framework must ask for it first sends each sender its instruction.
        """

    async def broadcast(self, payload: Any, dsts: Iterable[int] | None = None,
                        kind: str | None = None) -> None:
        """Send the same payload to every party in `dsts` (default: all others)."""
        for dst in self.others if dsts is None else dsts:
            await self.send(dst, payload, kind)

    # -- local work and time -------------------------------------------------

    @abstractmethod
    def compute(self, seconds: float) -> Awaitable[None]:
        """Charge `seconds` of local computation to this party's clock.

        For work the cost model has no class for (a measured GPU step, say);
        protocols charge their own numpy and crypto work with `work`.
        """

    def work(self, *, bits: int | None = None, **counts: float) -> Awaitable[None]:
        """Charge local work: how many operations of each class it performed
        (`sim.costmodel.OPS`), e.g. ``work(ring=3 * n, madd=m * k * n)``.

        The clock advances by the operations' seconds in this party's cost model
        (`bits`: the key size of Paillier operations); counts come from shapes and
        public sizes, so cost-only runs charge the same. The counts are recorded
        in the ledger by phase.
        """
        seconds = self.cost_model.time(counts, bits)
        self._record_work(counts, bits)
        return self.compute(seconds)

    @abstractmethod
    def _record_work(self, counts: dict[str, float], bits: int | None) -> None:
        """Note the operation counts of a `work` call (runtimes keep them in the ledger)."""

    @abstractmethod
    def now(self) -> float:
        """This party's current time in seconds (virtual in the simulator)."""

    # -- phases --------------------------------------------------------------

    @property
    def current_phase(self) -> str:
        return self._phase

    @property
    def offline(self) -> bool:
        """Whether the current phase is offline (preprocessing, counted apart)."""
        return self._offline

    @contextmanager
    def phase(self, name: str, offline: bool = False) -> Iterator[None]:
        """Label the work inside the block; the ledger breaks costs down by it.

        An offline phase (a dealer's correlated randomness) is counted apart from
        the online run: its messages do not add to the online rounds, and its
        time is that of a separate preprocessing run on the same network.
        """
        before = (self._phase, self._offline)
        self._enter_phase(name, offline)
        try:
            yield
        finally:
            self._enter_phase(*before)

    def _enter_phase(self, name: str, offline: bool) -> None:
        self._phase, self._offline = name, offline
        self._entry = self._entries.get(name, 0)
        self._entries[name] = self._entry + 1
        received = self.offline_depth if offline else self.depth
        self._base = max(received, self._sent_depth[offline])

    def _stamp(self) -> tuple[int, int, int]:
        """Depth, phase entry and entry base of a message this party sends now.

        The depth is one more than the deepest message received (on the
        current track); the entry counts how often this party had entered the
        phase before; the base is the deepest message it had sent or received
        when it entered. The ledger turns these into the rounds each phase adds.
        """
        offline = self._offline
        depth = (self.offline_depth if offline else self.depth) + 1
        if depth > self._sent_depth[offline]:
            self._sent_depth[offline] = depth
        return depth, self._entry, self._base


Program = Callable[[Party], Awaitable[Any]]
"""What a party runs: an ``async def`` taking its `Party`; its return value is the
party's output."""
