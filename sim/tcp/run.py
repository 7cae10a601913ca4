"""Running party programs over TCP: all in one process, or one party per process.

Both ways end the same: every party floods its final record (ledger, link
totals, frame and channel overhead, its phase timeline, whether its program
finished), and the records are merged by `sim.tcp.merge` into the `RunResult`
the simulator returns, so `ppsim.report` builds the same report from either
runtime. Times in it are measured wall-clock seconds since the party's links
came up, the phases' cut from the timeline of the slowest party
(`timed_party`), so that they add up to the online time; bytes are
payload bytes plus the scenario's modelled ``header_bytes`` (as in the
simulator), while the real frame overhead (`TcpRunResult.frame_bytes`) and the
secure channel's (`TcpRunResult.security_bytes`) are reported apart.

A party's output never leaves its process: with one process per party, each
result holds that party's own output only (`TcpRunResult.outputs`), and which
parties finished (`TcpRunResult.finished`). Links are authenticated and
encrypted with the run key (`sim.tcp.secure`); with one process per party the
parties' secrets come from the operating system's random source.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import trio

from sim.costmodel import CostModel
from sim.engine import Crash, LinkFault, PartyFailure, Program, RunResult
from sim.ledger import Ledger
from sim.network import Network
from sim.tcp.merge import export_ledger, import_ledger, merge_ledgers
from sim.tcp.node import Node, RemoteFailure, TcpError
from sim.tcp.party import TcpParty
from sim.tcp.secure import new_run_key

DEFAULT_TIMEOUT_S = 10.0


@dataclass
class TcpRunResult(RunResult):
    """A `RunResult` with what the transport itself cost.

    Attributes:
        frame_bytes: real frame overhead of the data messages (every hop), beyond payloads.
        frame_bytes_by_link: the same per directed link.
        control_bytes: bytes of the runtime's own frames (shutdown, faults, probes).
        security_bytes: what the secure channel added: handshakes and record tags.
        finished: the parties whose programs ran to their end.
        notes: refused connections and dropped links (also logged by ``sim.tcp``).
    """

    frame_bytes: int = 0
    frame_bytes_by_link: dict[tuple[int, int], int] = field(default_factory=dict)
    control_bytes: int = 0
    security_bytes: int = 0
    finished: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def parse_hosts(hosts: Sequence[str], n: int) -> list[tuple[str, int]]:
    """``["host:port", ...]`` (one per party id) to address pairs."""
    if len(hosts) != n:
        raise ValueError(f"{len(hosts)} host:port given for {n} parties")
    out = []
    for item in hosts:
        host, sep, port = item.rpartition(":")
        if not sep or not host.strip("[]") or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"expected host:port with a port in 1..65535, got {item[:60]!r}")
        out.append((host.strip("[]"), int(port)))
    return out


def _check(graph: nx.Graph, programs: Mapping[int, Program],
           faults: Iterable[Crash | LinkFault]) -> int:
    nodes = sorted(graph.nodes)
    if nodes != list(range(len(nodes))):
        raise ValueError(f"topology nodes must be 0..n-1, got {nodes[:10]}")
    for pid in programs:
        if not 0 <= pid < len(nodes):
            raise ValueError(f"program for party {pid}, but the topology has {len(nodes)}")
    if list(faults):
        raise ValueError("the tcp runtime does not simulate faults (crash, drop, delay); "
                         "stop a party process to test a real one")
    if not nx.is_connected(graph):
        raise ValueError("the topology is not connected")
    return len(nodes)


def _bind(node: Node, party: TcpParty, program: Program | None) -> Any:
    """Give `node` its program body and record builder (the record holds no output)."""

    async def body() -> None:
        if program is not None:
            try:
                party.result = await program(party)
            except Exception as exc:
                raise PartyFailure(party.id, party.current_phase, exc) from exc
            party.done = True
        party.finished_at = node.clock()
        party.close_phase()

    def record() -> dict[str, Any]:
        rec: dict[str, Any] = {
            "ledger": export_ledger(node.ledger),
            "links": [[k[0], k[1], link.bytes, link.messages]
                      for k, link in sorted(node.network.links.items()) if link.messages],
            "overhead": [[u, v, b] for (u, v), b in sorted(node.overhead.items())],
            "control": node.control_bytes,
            "finished_at": party.finished_at,
            "timeline": [list(entry) for entry in party.timeline],
            "lost": [[p, t] for p, t in sorted(node.lost.items())],
            "done": party.done,
            "security": node.handshake_bytes + node.security_overhead(),
            "notes": node.notes,
        }
        return rec

    node.final_record = record  # type: ignore[method-assign]
    return body


def _merge(graph: nx.Graph, records: Mapping[int, dict[str, Any]], ledgers: Mapping[int, Ledger],
           outputs: dict[int, Any], parties: list[TcpParty], header_bytes: int,
           record_views: bool, wall: float) -> TcpRunResult:
    n = graph.number_of_nodes()
    ledger = merge_ledgers([ledgers.get(p) for p in range(n)], n, header_bytes, record_views)
    network = Network(graph, parties[0]._node.network.rng)
    overhead: dict[tuple[int, int], int] = {}
    crashed: dict[int, float] = {}
    control = security = 0
    notes = []
    for pid in sorted(records):
        rec = records[pid]
        for u, v, nbytes, messages in rec["links"]:
            network.links[(u, v)].bytes += nbytes
            network.links[(u, v)].messages += messages
        for u, v, nbytes in rec["overhead"]:
            overhead[(u, v)] = overhead.get((u, v), 0) + nbytes
        for p, t in rec["lost"]:
            crashed[p] = min(t, crashed.get(p, t))
        control += rec["control"]
        security += rec["security"]
        notes.extend(rec["notes"])
    times = {pid: phase_times(records[pid]["timeline"], records[pid]["finished_at"],
                              ledger.phases) for pid in sorted(records)}
    offline = {name for name, stats in ledger.phases.items() if stats.offline}
    timed = timed_party(times, {pid: rec["finished_at"] for pid, rec in records.items()},
                        offline)
    along = times.get(timed, {}) if timed is not None else {}
    return TcpRunResult(
        outputs=dict(sorted(outputs.items())),
        ledger=ledger,
        network=network,
        end_time=sum(t for name, t in along.items() if name not in offline),
        offline_time=sum(t for name, t in along.items() if name in offline),
        crashed=dict(sorted(crashed.items())),
        wall_time_s=wall,
        parties=parties,
        cost_model=parties[0].cost_model,
        measured=True,
        phase_time_s=times,
        timed_party=timed,
        frame_bytes=sum(overhead.values()),
        frame_bytes_by_link=dict(sorted(overhead.items())),
        control_bytes=control,
        security_bytes=security,
        finished=sorted(p for p, rec in records.items() if rec["done"]),
        notes=notes,
    )


def phase_times(timeline: Sequence[Sequence[Any]], end: float,
                listed: Collection[str]) -> dict[str, float]:
    """One party's measured seconds per phase, cut from its `TcpParty.timeline`.

    A phase's time runs from the party entering it to the party entering its next
    phase, or finishing its program at `end`. Time in a phase the run does not list
    (`listed`: nobody sent, received or charged work in it, such as the program
    between two phases) goes to the listed phase before it, and time before the
    first listed phase to that phase. The times therefore partition the party's
    clock from its links coming up to its end: they add up to `end` (up to
    rounding). Phases listed first by this party come first.
    """
    out: dict[str, float] = {}
    before = 0.0  # time ahead of the first listed phase
    current = None
    stops = [entry[2] for entry in timeline[1:]] + [max(end, timeline[-1][2])]
    for (name, _, start), stop in zip(timeline, stops, strict=True):
        if name in listed:
            current = name
        if current is None:
            before += stop - start
        else:
            out[current] = out.get(current, 0.0) + (stop - start)
    if out:
        first = next(iter(out))
        out[first] += before
    return out


def timed_party(times: Mapping[int, Mapping[str, float]], finished_at: Mapping[int, float],
                offline: Collection[str]) -> int | None:
    """The party whose timeline the run's phase times are cut from (`phase_times`).

    The simulator gives a phase its share of the critical path, the chain of work,
    waits and messages that ended the run. A real run has no such chain to read
    (a frame does not carry its sender's history), so the measured equivalent is
    the timeline of the slowest party: the one whose program ended latest on its
    own clock (from its links coming up; the parties' clocks share no origin
    across machines, so this is the longest run any party saw), among those that
    spent time in an online phase (a dealer that only preprocesses does not make
    the online run; with none, among all). Its time in each phase, waiting
    included, partitions its clock, so the online phases add up to the online time
    and the offline ones to the preprocessing's share of it; phases only other
    parties were in get nothing, as phases off the critical path do. Ties go to
    the lowest id.
    """
    online = [p for p, spent in times.items() if any(n not in offline for n in spent)]
    pool = online or list(times)
    return max(sorted(pool), key=lambda p: finished_at[p], default=None)


def _first_failure(group: BaseException) -> BaseException:
    """The root cause among a nursery's errors: a party's own failure first."""
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for sub in exc.exceptions:
                walk(sub)
        else:
            leaves.append(exc)

    walk(group)
    for kind in (PartyFailure, TcpError):
        for exc in leaves:
            if isinstance(exc, kind) and not isinstance(exc, RemoteFailure):
                return exc
    return leaves[0] if leaves else group


# -- all parties in one process ------------------------------------------------------


async def run_tcp_async(
    graph: nx.Graph,
    programs: Mapping[int, Program],
    *,
    seed: int = 0,
    header_bytes: int = 0,
    cost_model: CostModel | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    record_views: bool = False,
    hosts: Sequence[str] | None = None,
    faults: Iterable[Crash | LinkFault] = (),
) -> TcpRunResult:
    """`run_tcp` inside a running trio loop (for pytest-trio tests)."""
    n = _check(graph, programs, faults)
    if header_bytes < 0:
        raise ValueError(f"header_bytes must be >= 0, got {header_bytes}")
    wall = time.perf_counter()
    listeners = []
    if hosts is None:
        for _ in range(n):
            listeners.append((await trio.open_tcp_listeners(0, host="127.0.0.1"))[0])
        addresses = [("127.0.0.1", ls.socket.getsockname()[1]) for ls in listeners]
    else:
        addresses = parse_hosts(hosts, n)
        for host, port in addresses:
            listeners.append((await trio.open_tcp_listeners(port, host=host))[0])
    tag = secrets.token_hex(8)
    key = new_run_key()
    nodes = [Node(p, graph, header_bytes=header_bytes, timeout_s=timeout_s, run_key=key,
                  record_views=record_views, tag=tag) for p in range(n)]
    parties = [TcpParty(node, seed, cost_model or CostModel.default()) for node in nodes]
    bodies = [_bind(node, party, programs.get(node.pid))
              for node, party in zip(nodes, parties, strict=True)]

    async def one(pid: int) -> None:
        try:
            await nodes[pid].connect(listeners[pid], addresses)
        finally:
            await listeners[pid].aclose()
        await nodes[pid].serve(bodies[pid])

    try:
        async with trio.open_nursery() as nursery:
            for pid in range(n):
                nursery.start_soon(one, pid)
    except BaseExceptionGroup as group:
        raise _first_failure(group) from None
    outputs = {p: parties[p].result for p in programs if parties[p].done}
    records = {p: node.final_record() for p, node in enumerate(nodes)}
    ledgers = {p: node.ledger for p, node in enumerate(nodes)}
    return _merge(graph, records, ledgers, outputs, parties, header_bytes, record_views,
                  time.perf_counter() - wall)


def run_tcp(graph: nx.Graph, programs: Mapping[int, Program], **options: Any) -> TcpRunResult:
    """Run `programs` over real TCP connections, every party a task of this process.

    Takes the options of `sim.simulate` (``seed``, ``header_bytes``,
    ``cost_model``, ``record_views``; ``faults`` must be empty; no ``hosts`` placement:
    the parties run where they run) plus
    ``timeout_s`` (connecting, and any one blocking receive) and ``hosts``
    (``"host:port"`` per party id to listen on; default: free loopback ports).
    The links are secured with a run key made for the run; in one process the
    parties' generators keep the scenario's seed, so the run repeats the
    simulator's exactly.
    """
    return trio.run(lambda: run_tcp_async(graph, programs, **options))


# -- one party per process -----------------------------------------------------------


async def run_party_async(
    graph: nx.Graph,
    programs: Mapping[int, Program],
    party_id: int,
    hosts: Sequence[str],
    *,
    seed: int = 0,
    header_bytes: int = 0,
    cost_model: CostModel | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    tag: str = "",
    run_key: bytes,
    faults: Iterable[Crash | LinkFault] = (),
) -> TcpRunResult:
    """`run_party_process` inside a running trio loop."""
    n = _check(graph, programs, faults)
    if not 0 <= party_id < n:
        raise ValueError(f"party id {party_id} is not in the run (0..{n - 1})")
    addresses = parse_hosts(hosts, n)
    wall = time.perf_counter()
    host, port = addresses[party_id]
    listener = (await trio.open_tcp_listeners(port, host=host))[0]
    node = Node(party_id, graph, header_bytes=header_bytes, timeout_s=timeout_s, tag=tag,
                run_key=run_key)
    party = TcpParty(node, seed, cost_model or CostModel.default(), os_random=True)
    body = _bind(node, party, programs.get(party_id))
    try:
        await node.connect(listener, addresses)
    finally:
        await listener.aclose()
    await node.serve(body)
    records = dict(node.stats)
    ledgers = {p: import_ledger(rec["ledger"], n, header_bytes)
               for p, rec in records.items() if p != party_id}
    ledgers[party_id] = node.ledger
    outputs = {party_id: party.result} if party.done and party_id in programs else {}
    return _merge(graph, records, ledgers, outputs, [party], header_bytes, False,
                  time.perf_counter() - wall)


def run_party_process(graph: nx.Graph, programs: Mapping[int, Program], party_id: int,
                      hosts: Sequence[str], **options: Any) -> TcpRunResult:
    """Run party `party_id` of a run whose parties listen at `hosts` (one per id).

    Every party of the topology needs its own process (relays too). Each one
    returns the whole run's merged result, built from every party's record,
    with its own output only. Options: ``seed``, ``header_bytes``,
    ``cost_model``, ``timeout_s``, ``tag`` (a run identity every process
    must share; connections from another run are refused) and ``run_key``
    (required: the secret every process shares, `sim.tcp.new_run_key`).
    """
    return trio.run(lambda: run_party_async(graph, programs, party_id, hosts, **options))
