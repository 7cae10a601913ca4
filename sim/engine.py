"""The simulated runtime: party coroutines on simpy's virtual clock.

simpy keeps the time and the event queue. Each party's coroutine is driven by a
small state machine that resumes it from event callbacks, rather than by a
``simpy.Process`` per party: a message that finds its receiver waiting resumes it
directly from the delivery event, so one message costs one scheduled event per
hop, and that event is the `Message` itself (no closure, no `Timeout`). With
messages free of CPU (`CostModel.free()`, or ``message`` and ``wire_byte`` set
to 0) a 2-party ping-pong moves about 250,000 simulated messages per CPU second
on this project's machine (``benchmarks/engine.py``, at a load average of 4: it
was about 310,000 before the critical-path bookkeeping below, 400,000 on a
quiet machine); with the shipped model's message CPU, two more events per
message (the sender's serialization, the receiver's decoding), about 100,000.

A run ends when no event is left. A party that raised fails the run at once
(`PartyFailure`, naming the party and its phase); parties still waiting when the
queue is empty form a deadlock (`Deadlock`, naming who waits for whom).

Local work holds a core of the party's host (`sim.hosts`) for the seconds the
cost model (`sim.costmodel`) gives it. When the model prices messages, a sender
holds a core while it serializes (its program waits, as a real one does) and the
receiver's host holds one while it decodes: the last stage of the message's
route, after the links; a relay's host forwards.

Critical path: every party carries the chain of segments (phase, kind, seconds)
that explains its clock: its own compute and waits for a core or a timeout, and,
when a message woke it, the sender's chain when it sent plus the message's
transit (network, queueing and decoding, in the sender's phase). The chain of the
party that finished last sums to the run's online time, so the phases' shares of
it add up (`RunResult.critical`); the preprocessing run has its own.
"""

from __future__ import annotations

import time
import types
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import simpy
from simpy.core import EmptySchedule
from simpy.events import NORMAL, Timeout

from sim.costmodel import CostModel
from sim.hosts import Cpu, Host, cpus, placement
from sim.ledger import Ledger, Message
from sim.network import Link, Network
from sim.party import Party, Program
from sim.profiles import PPSIM, Instruction, Profile
from sim.wire import size_of

_RECV, _MANY, _SLEEP, _PACED, _SEND = range(5)

COMPUTE, MESSAGING, NETWORK, WAIT = range(4)
KINDS = ("compute", "messaging", "network", "wait")
"""Kinds of critical-path segments: the program's local work; CPU work on messages
(serializing, decoding, relaying); links and interfaces (queueing, transmission,
latency); waiting for a core or a timeout."""

_SPENT_COMPUTE, _SPENT_SEND, _SPENT_RECV, _SPENT_WAIT = range(4)


def _node(parent: tuple | None, phase: str, kind: int, seconds: float) -> tuple | None:
    """One more segment of a critical path (a linked list of tuples, shared)."""
    return (parent, phase, kind, seconds) if seconds > 0 else parent


def segments(node: tuple | None) -> list[tuple[str, int, float]]:
    """The (phase, kind, seconds) segments of a path, earliest first."""
    out = []
    while node is not None:
        node, phase, kind, seconds = node
        out.append((phase, kind, seconds))
    out.reverse()
    return out


class SimulationError(RuntimeError):
    """A run could not complete."""


class PartyFailure(SimulationError):
    """A party's coroutine raised; the run stops at once."""

    def __init__(self, party: int, phase: str, error: BaseException):
        self.party, self.phase, self.error = party, phase, error
        super().__init__(
            f"party {party} failed in phase {phase!r}: {type(error).__name__}: {error}"
        )


class Deadlock(SimulationError):
    """Every live party waits and nothing is in flight."""


@dataclass(frozen=True)
class Crash:
    """Party `party` stops at simulated time `at`: it sends and receives nothing more."""

    party: int
    at: float


@dataclass(frozen=True)
class LinkFault:
    """The link between `u` and `v` (both directions) drops and/or delays messages."""

    u: int
    v: int
    drop: float = 0.0
    delay: float = 0.0


@dataclass
class RunResult:
    """What a simulated run produced and what it cost.

    `critical` and `offline_critical` are the (phase, kind, seconds) segments of
    the online run's and the preprocessing run's critical paths; `hosts` and
    `cpu_busy_s` the placement and each host's core time. A `measured` result
    (the TCP runtime's) has wall-clock times and none of these: instead
    `phase_time_s` holds each party's measured seconds per phase, and
    `timed_party` the party whose timeline gives the phases' times
    (`sim.tcp.run.timed_party`).
    """

    outputs: dict[int, Any]
    ledger: Ledger
    network: Network
    end_time: float
    offline_time: float
    crashed: dict[int, float]
    wall_time_s: float
    parties: list[SimParty] = field(repr=False)
    cost_model: CostModel | None = None
    critical: list[tuple[str, int, float]] = field(default_factory=list)
    offline_critical: list[tuple[str, int, float]] = field(default_factory=list)
    hosts: list[Host] = field(default_factory=list)
    cpu_busy_s: list[float] = field(default_factory=list)
    measured: bool = False
    phase_time_s: dict[int, dict[str, float]] = field(default_factory=dict)
    timed_party: int | None = None


@dataclass(frozen=True)
class Progress:
    """How far a run has come, handed to the `progress` callback of `Simulation`.

    ``messages`` and ``bytes`` count what was sent so far (online and offline);
    ``phases`` is how many distinct phases have begun; ``phase`` is the one most
    of the parties still running are in.
    """

    sim_time_s: float
    wall_time_s: float
    events: int
    messages: int
    bytes: int
    phases: int
    phase: str
    parties_done: int
    parties: int
    finished: bool = False


@types.coroutine
def _suspend(request: tuple) -> Any:
    return (yield request)


@types.coroutine
def _ready(value: Any = None) -> Any:
    return value
    yield  # pragma: no cover - makes this a generator-based awaitable


class _Done:
    """An awaitable that completes at once with None (a sent message): cheaper than
    a fresh `_ready()` generator on the hot path."""

    __slots__ = ()
    __await__ = ().__iter__


_DONE = _Done()


class _Many:
    """A pending `recv_many`: who it waits for and what has arrived."""

    __slots__ = ("srcs", "pending", "got")

    def __init__(self, srcs: tuple[int, ...], pending: set[int], got: dict[int, Any]):
        self.srcs, self.pending, self.got = srcs, pending, got


def _by_sender(got: dict[int, Any]) -> dict[int, Any]:
    return {k: got[k] for k in sorted(got)}


class SimParty(Party):
    """A party in the simulator. Protocols see only the `Party` interface.

    What the party waits for is `_waiting`: None when it runs or is done, else
    the request it suspended on (a fresh object per wait, so a timer set for an
    earlier wait recognises it is stale). `_recv_src` and `_many` duplicate it in
    the shape a delivery checks fastest. `path` is its critical path (see the
    module docstring), `spent` its time by phase: compute, send, recv, wait.
    """

    def __init__(self, sim: Simulation, pid: int, seed: int, cpu: Cpu):
        super().__init__()
        self.id = pid
        self.n = sim.n
        self.rng = np.random.default_rng(np.random.SeedSequence([seed, pid]))
        self.cost_model = sim.cost_model
        self.cpu = cpu
        self._sim = sim
        self._env = sim.env
        self._post = sim.post
        self._ids = sim.ids
        self._routes: dict[int, tuple[Link | Cpu, ...]] = {}
        self._boxes: dict[int, deque[Message]] = {}
        self._waiting: Any = None
        self._recv_src = -1
        self._many: _Many | None = None
        self._coro: Any = None
        self._error_phase: tuple[BaseException, str] | None = None
        self._t0 = 0.0  # when the current wait began
        self._paced_path: tuple | None = None
        self.path: tuple | None = None
        self.offline_path: tuple | None = None
        self.spent: dict[str, list[float]] = {}
        self._row = self.spent["main"] = [0.0, 0.0, 0.0, 0.0]  # the current phase's
        self.offline_clock = 0.0
        self.done = False
        self.crashed = False
        self.result: Any = None
        self.finished_at = 0.0
        self._phase_start = 0.0
        self.offline_reach = 0.0

    # -- the Party interface -------------------------------------------------

    def send(self, dst: int, payload: Any, kind: str | None = None) -> Awaitable[None]:
        if kind is not None and kind in self._sim.profile.instructions:
            return self._send_when_asked(dst, payload, kind)
        return self._send_now(dst, payload, kind)

    def _send_now(self, dst: int, payload: Any, kind: str | None) -> Awaitable[None]:
        sim = self._sim
        if not sim.messaging:
            msg = self._post(self, dst, payload, kind)
            if msg is not None and msg.offline:
                return _suspend((_PACED, msg))
            return _DONE
        if dst == self.id or dst not in self._ids:
            raise ValueError(f"party {self.id} cannot send to {dst!r}")
        if self.crashed:
            return _DONE
        sim.ledger.use(self._phase, self._offline)  # first used now, though posted later
        size = sim.size(kind, payload)
        cost = sim.cost_model.message_time(size + sim.header_bytes)
        if self._offline:  # serialized on the preprocessing clock
            self.offline_path = _node(self.offline_path, self._phase, MESSAGING, cost)
            self.offline_clock += cost
            self._row[_SPENT_SEND] += cost
            msg = self._post(self, dst, payload, kind, size)
            return _suspend((_PACED, msg)) if msg is not None else _DONE
        start, end = self.cpu.reserve(self._env.now, cost)
        return _suspend((_SEND, end, start, dst, payload, kind, size))

    async def _send_when_asked(self, dst: int, payload: Any, kind: str) -> None:
        """Under a profile whose framework sends `kind` only when asked: wait for
        `dst`'s instruction (see `sim.profiles`), then send."""
        asked = await self.recv(dst)
        if not isinstance(asked, Instruction) or asked.kind != kind:
            raise SimulationError(
                f"party {self.id} waited for party {dst}'s instruction to send a {kind!r} "
                f"message but received {type(asked).__name__}: party {dst} must receive "
                f"{kind!r} with recv_many(..., kind={kind!r}) before sending it anything else"
            )
        await self._send_now(dst, payload, kind)

    def recv(self, src: int) -> Awaitable[Any]:
        box = self._boxes.get(src)
        if box:
            return _ready(self._take(box.popleft()))
        if src == self.id or src not in self._ids:
            raise ValueError(f"party {self.id} cannot receive from {src!r}")
        return _suspend((_RECV, src))

    def recv_many(
        self, srcs: Iterable[int], timeout: float | None = None, kind: str | None = None
    ) -> Awaitable[dict[int, Any]]:
        srcs = tuple(srcs)
        if len(set(srcs)) != len(srcs):
            raise ValueError(f"recv_many: duplicate senders in {srcs}")
        for src in srcs:
            if src == self.id or src not in self._ids:
                raise ValueError(f"party {self.id} cannot receive from {src!r}")
        if timeout is not None and timeout < 0:
            raise ValueError(f"recv_many: timeout must be >= 0, got {timeout}")
        ask = self._sim.profile.instruction(kind)
        if ask is not None:  # the framework asks each sender first (see sim.profiles)
            for src in srcs:
                self._post(self, src, ask, kind)
        return _suspend((_MANY, srcs, timeout))

    def compute(self, seconds: float) -> Awaitable[None]:
        if seconds < 0:
            raise ValueError(f"compute: seconds must be >= 0, got {seconds}")
        self._sim.ledger.computed(self._phase, self._offline, self.id, seconds)
        if self._offline:
            self.offline_clock += seconds
            self.offline_path = _node(self.offline_path, self._phase, COMPUTE, seconds)
            self._row[_SPENT_COMPUTE] += seconds
            return _ready()
        if seconds == 0:
            return _ready()
        start, end = self.cpu.reserve(self._env.now, seconds)
        return _suspend((_SLEEP, end, start))

    def _record_work(self, counts: dict[str, float], bits: int | None) -> None:
        self._sim.ledger.worked(self._phase, self._offline, counts, bits)

    def now(self) -> float:
        return self._env.now

    @contextmanager
    def phase(self, name: str, offline: bool = False) -> Iterator[None]:
        """As `Party.phase`; an error leaving the block also notes the innermost
        phase it left, so that `PartyFailure` names the phase it was raised in."""
        with Party.phase(self, name, offline):
            try:
                yield
            except Exception as exc:
                if self._error_phase is None or self._error_phase[0] is not exc:
                    self._error_phase = (exc, name)
                raise

    def _enter_phase(self, name: str, offline: bool) -> None:
        self._close_phase()
        super()._enter_phase(name, offline)
        self._phase_start = self.offline_clock if offline else self._env.now
        self.offline_reach = self.offline_clock
        row = self.spent.get(name)
        if row is None:
            row = self.spent[name] = [0.0, 0.0, 0.0, 0.0]
        self._row = row

    # -- time accounting (`_row`: the current phase's compute, send, recv, wait) --

    def _held(self, req: tuple, kind: int, what: int) -> None:
        """A core was held for a request made at `_t0` (queued, then worked)."""
        _, end, start = req[:3]
        phase = self._phase
        queued = start - self._t0
        self.path = _node(_node(self.path, phase, WAIT, queued), phase, kind, end - start)
        row = self._row
        row[_SPENT_WAIT] += queued
        row[what] += end - start

    def _woken_by(self, msg: Message) -> None:
        """`msg` ended a wait: the critical path runs through its sender and transit."""
        now = self._env.now
        self._row[_SPENT_WAIT] += now - self._t0
        phase, cpu_s, cpu_wait = msg.phase, msg.cpu_s, msg.cpu_wait
        if cpu_s or cpu_wait:
            network = now - msg.sent_at - cpu_s - cpu_wait
            self.path = _node(_node(_node(msg.path, phase, NETWORK, network), phase, WAIT,
                                    cpu_wait), phase, MESSAGING, cpu_s)
        else:
            network = now - msg.sent_at
            self.path = (msg.path, phase, NETWORK, network) if network > 0 else msg.path

    def _waited(self) -> None:
        """A wait ended without a message (a timeout): the party's own time."""
        seconds = self._env.now - self._t0
        self._row[_SPENT_WAIT] += seconds
        self.path = _node(self.path, self._phase, WAIT, seconds)

    # -- driving the coroutine -----------------------------------------------

    def _close_phase(self) -> None:
        """List the phase being left if time passed in it: online, the clock; offline,
        until the last of its messages reached the receiver on the idle network."""
        end = max(self.offline_clock, self.offline_reach) if self._offline else self._env.now
        if end > self._phase_start:
            self._sim.ledger.use(self._phase, self._offline)

    def _failure(self, exc: BaseException) -> PartyFailure:
        noted = self._error_phase
        phase = noted[1] if noted is not None and noted[0] is exc else self._phase
        return PartyFailure(self.id, phase, exc)

    def _take(self, msg: Message) -> Any:
        if msg.offline:
            self.offline_depth = max(self.offline_depth, msg.depth)
            if msg.waiter is not None:
                msg.waiter._paced_path = self.path
                self._sim.wake_later(msg.waiter)
            msg.waiter = False  # taken
        elif msg.depth > self.depth:
            self.depth = msg.depth
        return msg.payload

    def _step(self, value: Any = None) -> None:
        """Run the coroutine until it must wait for something."""
        send = self._coro.send
        boxes = self._boxes
        while True:
            try:
                req = send(value)
            except StopIteration as stop:
                self.done, self.result = True, stop.value
                self.finished_at = self._env.now
                self._close_phase()
                return
            except Exception as exc:
                raise self._failure(exc) from exc
            try:
                kind = req[0]
            except Exception:
                kind = None
            if kind == _RECV:
                src = req[1]
                box = boxes.get(src)
                if box:
                    value = self._take(box.popleft())
                    continue
                self._waiting = req
                self._recv_src = src
                self._t0 = self._env.now
                return
            if kind == _MANY:
                srcs, timeout = req[1], req[2]
                got: dict[int, Any] = {}
                for src in srcs:
                    box = boxes.get(src)
                    if box:
                        got[src] = self._take(box.popleft())
                if len(got) == len(srcs) or timeout == 0:
                    value = _by_sender(got)
                    continue
                many = self._waiting = self._many = _Many(srcs, set(srcs) - got.keys(), got)
                self._t0 = self._env.now
                if timeout is not None:
                    Timeout(self._env, timeout, many).callbacks.append(self._timed_out)
                return
            if kind in (_SLEEP, _SEND):
                self._waiting = req
                now = self._t0 = self._env.now
                Timeout(self._env, req[1] - now, req).callbacks.append(self._wake)
                return
            if kind == _PACED:
                msg = req[1]
                if msg.waiter is False:  # already taken
                    value = None
                    continue
                msg.waiter = self
                self._waiting = req
                self._t0 = self._env.now
                return
            error = TypeError(f"awaited a foreign object {req!r}; await only Party methods")
            raise self._failure(error)

    def _wake(self, event: Timeout) -> None:
        """A timer (or a paced send's release) for wait `event.value` is due."""
        req = event.value
        if self._waiting is req and not self.crashed:
            self._waiting = None
            kind = req[0]
            if kind == _SLEEP:
                self._held(req, COMPUTE, _SPENT_COMPUTE)
            elif kind == _SEND:
                self._held(req, MESSAGING, _SPENT_SEND)
                self._post(self, *req[3:])
            else:  # paced: the dealer waited for the receiver, whose path it takes
                self._row[_SPENT_WAIT] += self._env.now - self._t0
                self.path = self._paced_path
            self._step(None)

    def _timed_out(self, event: Timeout) -> None:
        many = event.value
        if self._waiting is many and not self.crashed:
            self._waiting = self._many = None
            self._waited()
            self._step(_by_sender(many.got))

    def _arrive(self, msg: Message) -> None:
        """A message reached this party: hand it over if awaited, else queue it."""
        src = msg.src
        if src == self._recv_src:
            self._recv_src = -1
            self._waiting = None
            self._woken_by(msg)
            if msg.offline:
                self._step(self._take(msg))
                return
            if msg.depth > self.depth:
                self.depth = msg.depth
            self._step(msg.payload)
            return
        many = self._many
        if many is not None and src in many.pending:
            many.pending.discard(src)
            many.got[src] = self._take(msg)
            if not many.pending:
                self._waiting = self._many = None
                self._woken_by(msg)
                self._step(_by_sender(many.got))
            return
        box = self._boxes.get(src)
        if box is None:
            box = self._boxes[src] = deque()
        box.append(msg)

    def waits_for(self) -> str:
        """Who this party waits for, for deadlock reports."""
        waiting = self._waiting
        if waiting is None:
            return "nothing (idle)"
        if isinstance(waiting, _Many):
            missing = [s for s in waiting.srcs if s in waiting.pending]
            return f"messages from parties {missing}"
        if waiting[0] == _RECV:
            return f"a message from party {waiting[1]}"
        if waiting[0] == _PACED:
            return f"party {waiting[1].dst} to take its offline message"
        return "its clock"


class Simulation:
    """One simulated run of party programs over a network.

    Args:
        graph: the topology; nodes are party ids ``0..n-1``, edges carry
            ``latency`` (s), ``bandwidth`` (bytes/s) and optionally ``loss``.
        programs: the coroutine function of each party; parties without one
            only relay messages.
        seed: fixes every random choice of the run (parties' generators, losses).
        header_bytes: added to every message's size on the wire.
        faults: `Crash` and `LinkFault` items.
        cost_model: seconds per operation (`sim.costmodel`); default the shipped
            model. `CostModel.free()` times the network alone.
        hosts: `sim.hosts.Host` placements; parties not placed get a one-core
            host each.
        record_views: keep every payload each party received (`Ledger.views`).
        profile: the wire profile that sizes tagged messages (`sim.profiles`).
        progress: called with a `Progress` at most every `progress_every_s` seconds
            of wall time while the run goes on, and once at its end. Without it
            the event loop is simpy's own, so an unwatched run pays nothing.
        progress_every_s: the least wall time between two calls of `progress`.
    """

    def __init__(
        self,
        graph: nx.Graph,
        programs: Mapping[int, Program],
        *,
        seed: int = 0,
        header_bytes: int = 0,
        faults: Iterable[Crash | LinkFault] = (),
        cost_model: CostModel | None = None,
        hosts: Iterable[Host] = (),
        record_views: bool = False,
        profile: Profile = PPSIM,
        progress: Callable[[Progress], None] | None = None,
        progress_every_s: float = 0.5,
    ):
        nodes = sorted(graph.nodes)
        if nodes != list(range(len(nodes))):
            raise ValueError(f"topology nodes must be 0..n-1, got {nodes[:10]}")
        if header_bytes < 0:
            raise ValueError(f"header_bytes must be >= 0, got {header_bytes}")
        self.n = len(nodes)
        self.ids = frozenset(range(self.n))
        for pid in programs:
            if not 0 <= pid < self.n:
                raise ValueError(f"program for party {pid}, but the topology has {self.n}")
        self.env = simpy.Environment()
        self.header_bytes = header_bytes
        self.cost_model = cost_model = cost_model or CostModel.default()
        self.messaging = cost_model.messaging
        self.hosts = placement(self.n, hosts)
        per_message, per_byte = (cost_model.seconds.get("message", 0.0),
                                 cost_model.seconds.get("wire_byte", 0.0))
        self.cpus, self.host_of = cpus(self.hosts, self.n, per_message, per_byte)
        self.profile = profile
        self._sized = None if profile.is_default else profile.size
        self.network = Network(graph, np.random.default_rng(np.random.SeedSequence([seed, 2**32])),
                               hosts=self.hosts)
        self.offline_network = self.network.fresh()
        self.ledger = Ledger(self.n, header_bytes, record_views)
        self.parties = [SimParty(self, i, seed, self.cpus[self.host_of[i]])
                        for i in range(self.n)]
        self.programs = dict(programs)
        self.crashed: dict[int, float] = {}
        self.offline_time = 0.0
        self.offline_path: tuple | None = None
        self.first_drops: list[Message] = []  # a deadlock names the first lost messages
        self._faults = list(faults)
        self._schedule = self.env.schedule
        self._progress = progress
        self._progress_every_s = progress_every_s

    # -- messages ------------------------------------------------------------

    def size(self, kind: str | None, payload: Any) -> int:
        """A payload's wire size: the profile's for `kind`, by default `size_of`."""
        return size_of(payload) if self._sized is None else self._sized(kind, payload)

    def post(self, sender: SimParty, dst: int, payload: Any, kind: str | None = None,
             size: int | None = None) -> Message | None:
        """Put a message on the network (called by `SimParty.send`); its size is
        `size` if known, else the profile's for `kind` (`size`)."""
        if dst == sender.id or dst not in self.ids:
            raise ValueError(f"party {sender.id} cannot send to {dst!r}")
        if sender.crashed:
            return None
        offline = sender._offline
        now = self.env.now
        depth, entry, base = sender._stamp()
        msg = Message(
            sender.id, dst, payload, self.size(kind, payload) if size is None else size,
            depth, sender._phase, offline, now, entry=entry, base=base, path=sender.path,
        )
        self.ledger.sent(msg)
        hops = sender._routes.get(dst)
        if hops is None:
            hops = sender._routes[dst] = self._stages(sender.id, dst)
        if offline:
            self._preprocess(sender, msg)
            self.wake_later(None, msg)
        elif hops:
            msg.hops = hops
            self._forward(msg, now)
        else:  # to a party on the same host, with free messaging: at once
            msg.callbacks = [self._hop_done]
            self._schedule(msg, NORMAL, 0)
        return msg

    def _stages(self, src: int, dst: int) -> tuple[Link | Cpu, ...]:
        """What a message from `src` to `dst` crosses: the network's route (NICs and
        links; nothing between parties of one host) and, when messages cost CPU, each
        relay's and the receiver's host CPU."""
        host_of, cpus_ = self.host_of, self.cpus
        if host_of[src] == host_of[dst]:
            return (cpus_[host_of[dst]],) if self.messaging else ()
        hops = self.network.route(src, dst)
        if not self.messaging:
            return hops
        out: list[Link | Cpu] = []
        for link in hops:
            out.append(link)
            if link.src != link.dst and link.dst != dst:  # a relay forwards it
                out.append(cpus_[host_of[link.dst]])
        out.append(cpus_[host_of[dst]])
        return tuple(out)

    def _forward(self, msg: Message, t: float) -> None:
        """Put `msg` on its next stage at time `t`; the message itself is the simpy
        event that fires when it leaves that stage (no closure, no Timeout)."""
        link = msg.hops[msg.hop]
        arrival = link.transmit(t, msg.size + self.header_bytes)
        if link.is_cpu:
            msg.cpu_wait += link.last_wait
            msg.cpu_s += link.last_service
        elif link.loss and self.network.dropped(link):
            self._drop(msg)
            return
        msg.ready_at = arrival
        msg.callbacks = [self._hop_done]
        self._schedule(msg, NORMAL, arrival - self.env.now)

    def _hop_done(self, msg: Message) -> None:
        msg.hop += 1
        if msg.hop < len(msg.hops):
            self._forward(msg, msg.ready_at)
            return
        receiver = self.parties[msg.dst]
        if receiver.crashed:
            self._drop(msg)
            return
        if self.messaging and not msg.offline:
            receiver._row[_SPENT_RECV] += self.cost_model.message_time(
                msg.size + self.header_bytes)
        self.ledger.delivered(msg, self.env.now)
        receiver._arrive(msg)

    def _drop(self, msg: Message) -> None:
        self.ledger.dropped_messages += 1
        if len(self.first_drops) < 3:
            self.first_drops.append(msg)

    def _preprocess(self, sender: SimParty, msg: Message) -> None:
        """Time an offline message on the idle preprocessing network (decoded at once
        by the receiver when messages cost CPU); it may end that run's critical path."""
        wire = msg.size + self.header_bytes
        start = t = sender.offline_clock
        if self.host_of[msg.src] != self.host_of[msg.dst]:
            for link in self.offline_network.route(msg.src, msg.dst):
                t = link.transmit(t, wire)
            for link in self.network.route(msg.src, msg.dst):  # offline bytes count on links
                link.bytes += wire
                link.messages += 1
        decode = self.cost_model.message_time(wire) if self.messaging else 0.0
        if t + decode > self.offline_time:
            self.offline_time = t + decode
            self.offline_path = _node(_node(sender.offline_path, msg.phase, NETWORK, t - start),
                                      msg.phase, MESSAGING, decode)
        sender.offline_reach = max(sender.offline_reach, t + decode)

    def wake_later(self, party: SimParty | None, msg: Message | None = None) -> None:
        """At the current time but outside the running coroutine: resume a paced
        sender, or deliver an offline message."""
        if msg is not None:  # an offline message has no `hops` left: this delivers it
            msg.callbacks = [self._hop_done]
            self._schedule(msg, NORMAL, 0)
        else:
            Timeout(self.env, 0, party._waiting).callbacks.append(party._wake)

    # -- running -------------------------------------------------------------

    def _crash(self, pid: int) -> None:
        party = self.parties[pid]
        if party.done or party.crashed:
            return
        waiting = party._waiting
        seconds = self.env.now - party._t0
        kind = COMPUTE if isinstance(waiting, tuple) and waiting[0] == _SLEEP else WAIT
        party.path = _node(party.path, party._phase, kind, seconds)
        party._row[_SPENT_COMPUTE if kind == COMPUTE else _SPENT_WAIT] += seconds
        party.crashed = True
        party._close_phase()
        self.crashed[pid] = self.env.now
        party._waiting = party._many = None
        party._recv_src = -1
        party._boxes.clear()
        if party._coro is not None:
            party._coro.close()

    @staticmethod
    def _start(event: Timeout) -> None:
        party = event.value
        if not party.crashed:
            party._step(None)

    def _close_all(self) -> None:
        """Close every coroutine left (a failed or deadlocked run), so none is left
        suspended or never started."""
        for party in self.parties:
            if party._coro is not None:
                party._coro.close()

    def _last(self) -> SimParty | None:
        """The party whose end (finish or crash) is the run's end (lowest id on ties)."""
        ends = [(p.finished_at if p.done else self.crashed[p.id], -p.id)
                for p in self.parties if p.done or p.crashed]
        return self.parties[-max(ends)[1]] if ends else None

    def _drops_text(self) -> str:
        """The lost messages a deadlock may come from: the model never retransmits."""
        count = self.ledger.dropped_messages
        if not count:
            return ""
        shown = ", ".join(f"party {m.src} -> {m.dst} in phase {m.phase!r} sent at "
                          f"t={m.sent_at:.6g}s" for m in self.first_drops)
        return (f"; {count} message(s) were lost on lossy links or to crashed parties and are "
                f"never retransmitted (first: {shown})")

    def end_time(self) -> float:
        """When the last party finished or crashed (timers left pending do not count)."""
        return max([p.finished_at for p in self.parties] + list(self.crashed.values()),
                   default=0.0)

    def progress(self, started: float, events: int, finished: bool = False) -> Progress:
        """Where the run stands, for a progress display."""
        phases = self.ledger.phases.values()
        running = Counter(p.current_phase for pid, p in enumerate(self.parties)
                          if pid in self.programs and not (p.done or p.crashed))
        return Progress(
            sim_time_s=self.end_time() if finished else self.env.now,
            wall_time_s=time.perf_counter() - started,
            events=events,
            messages=sum(p.messages for p in phases),
            bytes=sum(p.bytes for p in phases),
            phases=len(self.ledger.phases),
            phase=running.most_common(1)[0][0] if running else "",
            parties_done=sum(self.parties[pid].done for pid in self.programs),
            parties=len(self.programs),
            finished=finished,
        )

    def _run_watched(self, started: float) -> None:
        """simpy's event loop, with a look at the wall clock every few events.

        It looks every 64 events while events are cheap, and after every event once
        64 of them took a tenth of the reporting interval, so a run of slow events
        (large local computations) is still reported on time.
        """
        step, clock, report = self.env.step, time.perf_counter, self._progress
        every = self._progress_every_s
        events, look_at, due, last = 0, 1, started + every, started
        try:
            while True:
                step()
                events += 1
                if events >= look_at:
                    now = clock()
                    if now >= due:
                        report(self.progress(started, events))
                        due = now + every
                    look_at = events + (1 if now - last > every / 10 else 64)
                    last = now
        except EmptySchedule:
            pass
        report(self.progress(started, events, finished=True))

    def run(self) -> RunResult:
        """Run every program to its end; raise `PartyFailure` or `Deadlock` if they do not."""
        wall = time.perf_counter()
        for fault in self._faults:
            if isinstance(fault, Crash):
                if not 0 <= fault.party < self.n:
                    raise ValueError(f"crash fault names party {fault.party}, not in the run")
                ev = Timeout(self.env, fault.at)
                ev.callbacks.append(lambda _ev, p=fault.party: self._crash(p))
            else:
                for key in ((fault.u, fault.v), (fault.v, fault.u)):
                    for net in (self.network, self.offline_network):
                        if key not in net.links:
                            raise ValueError(f"link fault on ({fault.u}, {fault.v}): no such link")
                        net.links[key].loss = fault.drop
                        net.links[key].extra_delay = fault.delay
        for pid, program in sorted(self.programs.items()):
            party = self.parties[pid]
            party._coro = program(party)
            Timeout(self.env, 0, party).callbacks.append(self._start)
        try:
            if self._progress is None:
                self.env.run()
            else:
                self._run_watched(wall)
        except SimulationError:
            self._close_all()
            raise
        stuck = [
            p for pid, p in enumerate(self.parties)
            if pid in self.programs and not p.done and not p.crashed
        ]
        if stuck:
            lines = [f"party {p.id} (phase {p.current_phase!r}) waits for {p.waits_for()}"
                     for p in stuck]
            self._close_all()
            crashed = f"; crashed: {sorted(self.crashed)}" if self.crashed else ""
            raise Deadlock(
                f"deadlock at t={self.env.now:.6g}s: " + "; ".join(lines) + crashed
                + self._drops_text()
            )
        last = self._last()
        return RunResult(
            outputs={pid: self.parties[pid].result for pid in self.programs
                     if self.parties[pid].done},
            ledger=self.ledger,
            network=self.network,
            end_time=self.end_time(),
            offline_time=self.offline_time,
            crashed=dict(self.crashed),
            wall_time_s=time.perf_counter() - wall,
            parties=self.parties,
            cost_model=self.cost_model,
            critical=segments(last.path) if last is not None else [],
            offline_critical=segments(self.offline_path),
            hosts=self.hosts,
            cpu_busy_s=[cpu.busy_s for cpu in self.cpus],
        )


def simulate(graph: nx.Graph, programs: Mapping[int, Program], **options: Any) -> RunResult:
    """Run `programs` over `graph`; see `Simulation` for the options."""
    return Simulation(graph, programs, **options).run()
