"""`TcpParty`: the `Party` interface over real sockets.

It behaves as `sim.engine.SimParty` does, with wall time for virtual time:
the same seeded generator, causal depths (online and offline apart) carried in
each frame's header, the same ledger entries; `compute(seconds)` only charges
the ledger (the real work already took its real time); a receive with a
timeout returns what arrived. A blocking receive fails at once if its peer is
lost, and after the run's ``timeout_s`` otherwise, naming the silent party
(`Node.probe` tells it from the parties that wait for it in turn).

Secrets: with ``os_random`` the party's generator (`Party.rng`, which
protocols draw shares, masks and keys from) is seeded by the operating
system, not by the scenario's public seed: the runtime sets it whenever the
parties are separate processes, since a seed every party knows would let any
of them recompute another's secrets. The data a plan builds from the seed stays
fixed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import trio

from sim import codec
from sim.costmodel import CostModel
from sim.ledger import Message
from sim.party import Party
from sim.tcp.node import Node, PeerLost, PeerTimeout


class TcpParty(Party):
    """A party of a real-network run. Protocols see only the `Party` interface."""

    def __init__(self, node: Node, seed: int, cost_model: CostModel, os_random: bool = False):
        super().__init__()
        self.id = node.pid
        self.n = node.n
        self.rng = np.random.default_rng(
            np.random.SeedSequence() if os_random else np.random.SeedSequence([seed, node.pid]))
        self.cost_model = cost_model
        self.result: Any = None
        self.done = False
        self.finished_at = 0.0
        self._node = node
        self.timeline: list[tuple[str, bool, float]] = [(self._phase, self._offline, 0.0)]
        """Each phase this party entered: (name, offline, clock when entered), in order;
        the run's phase times are cut from it (`sim.tcp.run.phase_times`)."""
        self._touched = False

    # -- the Party interface -----------------------------------------------------

    async def send(self, dst: int, payload: Any, kind: str | None = None) -> None:
        # `kind` is for wire profiles, which only the simulator applies: here the
        # codec's real bytes are what counts.
        if not (0 <= dst < self.n) or dst == self.id:
            raise ValueError(f"party {self.id} cannot send to {dst!r}")
        offline = self._offline
        depth, entry, base = self._stamp()
        parts, size = codec.encode_frame(codec.DATA, self.id, dst, payload, depth=depth,
                                         phase=self._phase, offline=offline)
        self._node.ledger.sent(
            Message(self.id, dst, payload, size, depth, self._phase, offline, self.now(),
                    entry=entry, base=base)
        )
        self._touched = True
        await self._node.originate(dst, parts, size)

    async def recv(self, src: int) -> Any:
        self._check_peer(src)
        self._touched = True
        node = self._node
        deadline = trio.current_time() + node.timeout_s
        while True:
            box = node.boxes.get(src)
            if box:
                return self._take(box.popleft())
            if src in node.lost:
                raise PeerLost(f"party {src} disconnected; party {self.id} was waiting "
                               f"for a message from it")
            node.waiting_for = [src]
            changed = await node.wait_change(deadline)
            node.waiting_for = None
            if not changed:
                raise PeerTimeout(f"party {self.id} waited {node.timeout_s:g} s for a message "
                                  f"from party {src}" + await self._blame([src]))

    async def recv_many(self, srcs: Iterable[int], timeout: float | None = None,
                        kind: str | None = None) -> dict[int, Any]:
        srcs = tuple(srcs)
        if len(set(srcs)) != len(srcs):
            raise ValueError(f"recv_many: duplicate senders in {srcs}")
        for src in srcs:
            self._check_peer(src)
        if timeout is not None and timeout < 0:
            raise ValueError(f"recv_many: timeout must be >= 0, got {timeout}")
        self._touched = True
        node = self._node
        now = trio.current_time()
        deadline = now + (node.timeout_s if timeout is None else timeout)
        got: dict[int, Any] = {}
        while True:
            for src in srcs:
                box = node.boxes.get(src)
                if src not in got and box:
                    got[src] = self._take(box.popleft())
            missing = [s for s in srcs if s not in got]
            if not missing or timeout == 0:
                break
            lost = [s for s in missing if s in node.lost]
            if lost and timeout is None:
                raise PeerLost(f"party {lost[0]} disconnected; party {self.id} was waiting "
                               f"for messages from parties {missing}")
            if len(lost) == len(missing):
                break
            node.waiting_for = missing
            changed = await node.wait_change(deadline)
            node.waiting_for = None
            if not changed:
                if timeout is None:
                    raise PeerTimeout(f"party {self.id} waited {node.timeout_s:g} s for "
                                      f"messages from parties {missing}"
                                      + await self._blame(missing))
                break
        return {k: got[k] for k in sorted(got)}

    async def _blame(self, waited: list[int]) -> str:
        """Who is to blame for a wait that timed out: the parties that do not answer a
        probe (stopped, hung, cut off), told apart from those that answer but wait too."""
        node = self._node
        answers = await node.probe(waited, min(node.timeout_s, 1.0))
        silent = [p for p in waited if p not in answers and p not in node.lost]
        text = ""
        if silent:
            who = f"party {silent[0]} is" if len(silent) == 1 else f"parties {silent} are"
            text += (f": {who} silent (no answer to a probe within "
                     f"{min(node.timeout_s, 1.0):g} s: stopped, hung or cut off)")
        waiting = [f"party {p} waits for " + (f"party {answers[p][0]}" if len(answers[p]) == 1
                                              else f"parties {answers[p]}")
                   for p in waited if answers.get(p)]
        if waiting:
            text += ("; " if text else ": ") + "alive but waiting: " + ", ".join(waiting)
        return text

    async def compute(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"compute: seconds must be >= 0, got {seconds}")
        self._node.ledger.computed(self._phase, self._offline, self.id, seconds)
        self._touched = True
        await self._node.pause()

    def _record_work(self, counts: dict[str, float], bits: int | None) -> None:
        self._node.ledger.worked(self._phase, self._offline, counts, bits)

    def now(self) -> float:
        return self._node.clock()

    # -- phases ------------------------------------------------------------------

    def _enter_phase(self, name: str, offline: bool) -> None:
        self.close_phase()
        super()._enter_phase(name, offline)
        self.timeline.append((name, offline, self.now()))
        self._touched = False

    def close_phase(self) -> None:
        """List the current phase in the ledger if this party did anything in it (a
        receive counts: the simulator lists it through the sender)."""
        if self._touched:
            self._node.ledger.use(self._phase, self._offline)

    # -- helpers -----------------------------------------------------------------

    def _check_peer(self, src: int) -> None:
        if not (0 <= src < self.n) or src == self.id:
            raise ValueError(f"party {self.id} cannot receive from {src!r}")

    def _take(self, msg: Message) -> Any:
        if msg.offline:
            self.offline_depth = max(self.offline_depth, msg.depth)
        elif msg.depth > self.depth:
            self.depth = msg.depth
        return msg.payload
