"""Small protocols and topologies for the tcp runtime's tests, and a party-process entry.

``python -m tcp_helpers PROGRAM TOPOLOGY N --id K --hosts ... --key HEX [--timeout S]``
runs party K and prints the run's summary (JSON) on stdout; tests compare it
with the in-process run.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import networkx as nx
import numpy as np

from sim.party import Party


def topology(kind: str, n: int) -> nx.Graph:
    """complete, star (hub 0) or line graphs with uniform links."""
    graph = {"complete": nx.complete_graph, "star": lambda k: nx.star_graph(k - 1),
             "line": nx.path_graph}[kind](n)
    nx.set_edge_attributes(graph, 0.001, "latency")
    nx.set_edge_attributes(graph, 1.25e8, "bandwidth")
    return graph


async def secure_sum(party: Party) -> Any:
    """Additive shares over Z_2^64 of a random vector; party 0 learns and broadcasts the sum."""
    with party.phase("input"):
        x = party.rng.integers(0, 2**64, size=17, dtype=np.uint64)
        shares = party.rng.integers(0, 2**64, size=(party.n, 17), dtype=np.uint64)
        shares[party.id] = x - shares[np.arange(party.n) != party.id].sum(axis=0)
        for dst in party.others:
            await party.send(dst, shares[dst])
        got = await party.recv_many(party.others)
        await party.work(ring=17 * party.n)
    local = shares[party.id] + np.sum(list(got.values()), axis=0, dtype=np.uint64)
    with party.phase("reveal"):
        if party.id != 0:
            await party.send(0, local)
            return await party.recv(0)
        total = local + np.sum(list((await party.recv_many(party.others)).values()),
                               axis=0, dtype=np.uint64)
        await party.broadcast(total)
        return total


async def ping_pong(party: Party) -> Any:
    """A dealer (the last party) sends offline masks; parties 0 and 1 bounce mixed payloads."""
    dealer = party.n - 1
    with party.phase("deal", offline=True):
        if party.id == dealer:
            for dst in (0, 1):
                await party.send(dst, party.rng.random(4) < 0.5)
            return None
        mask = await party.recv(dealer) if party.id in (0, 1) else None
    if party.id not in (0, 1):
        return None
    peer = 1 - party.id
    value: Any = (0, "start", mask)
    with party.phase("bounce"):
        for i in range(5):
            if (i % 2) == party.id:
                await party.send(peer, (i, {"k": -(2**70) + i, "b": b"\x00\x01" * i}, 1.5 * i,
                                        value[2]))
            else:
                value = await party.recv(peer)
        return value


async def late_sender(party: Party) -> Any:
    """recv_many with a timeout returns what arrived; the late party answers when asked."""
    if party.id == 0:
        with party.phase("gather"):
            first = await party.recv_many([1, 2], timeout=1.0)
        with party.phase("ask"):
            await party.send(2, "go")
            rest = await party.recv(2)
        return sorted(first), rest
    if party.id == 1:
        with party.phase("gather"):
            await party.send(0, np.arange(6, dtype=np.int32).reshape(2, 3))
        return None
    if party.id != 2:
        return None
    with party.phase("ask"):
        go = await party.recv(0)
        await party.send(0, go + "ne")
    return None


async def wait_forever(party: Party) -> Any:
    """Everyone waits for the last party, which waits for a message that never comes."""
    last = party.n - 1
    with party.phase("wait"):
        if party.id == last:
            print("ready", flush=True)
            return await party.recv(0)
        return await party.recv(last)


async def gather(party: Party) -> Any:
    """Party 2 waits for 0 and 1, party 0 waits for 1, party 1 for 0: stop party 1 to see
    who is blamed."""
    if party.id == 1:
        print("ready", flush=True)
        return await party.recv(0)
    if party.id == 0:
        return await party.recv(1)
    return await party.recv_many([0, 1])


async def bulk(party: Party) -> Any:
    """Each party sends every other one a 3 MB vector, then a burst of small ones.

    Exercises frames larger than a socket buffer (partly written at once, the
    rest by the sender task; read into their own buffer) and bursts of frames
    queued behind one written at once. Returns checksums and whether every
    burst arrived whole and in order.
    """
    with party.phase("bulk"):
        big = party.rng.integers(0, 2**63, size=3 << 17, dtype=np.uint64)
        for dst in party.others:
            await party.send(dst, big + np.uint64(dst))
        for i in range(100):
            for dst in party.others:
                await party.send(dst, np.full(3, i, dtype=np.int16))
        sums, in_order = [], True
        for src in party.others:
            sums.append(int((await party.recv(src)).sum(dtype=np.uint64)))
            for i in range(100):
                in_order &= bool((await party.recv(src) == i).all())
        return sums, in_order


PROGRAMS = {f.__name__: f for f in (secure_sum, ping_pong, late_sender, wait_forever, gather,
                                     bulk)}


def summary(result: Any) -> dict[str, Any]:
    """What must agree between runtimes: outputs, bytes by party and link, phases and rounds."""
    rounds = result.ledger.phase_rounds()
    return {
        "outputs": {str(k): repr(v) for k, v in sorted(result.outputs.items())},
        "parties": [vars(p) for p in result.ledger.parties],
        "links": {f"{k[0]}-{k[1]}": [link.bytes, link.messages]
                  for k, link in sorted(result.network.links.items()) if link.messages},
        "phases": [[s.name, s.offline, s.bytes, s.messages, rounds[s.name]]
                   for s in result.ledger.phases.values() if s.messages],
        "rounds": sum(r for name, r in rounds.items() if not result.ledger.phases[name].offline),
        "dropped": result.ledger.dropped_messages,
    }


def main() -> int:
    from sim.engine import SimulationError
    from sim.tcp import run_party_process

    ap = argparse.ArgumentParser()
    ap.add_argument("program", choices=sorted(PROGRAMS))
    ap.add_argument("topology")
    ap.add_argument("n", type=int)
    ap.add_argument("--id", type=int, required=True)
    ap.add_argument("--hosts", required=True)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--key", required=True, help="the run key, hex")
    args = ap.parse_args()
    graph = topology(args.topology, args.n)
    programs = dict.fromkeys(graph.nodes, PROGRAMS[args.program])
    try:
        result = run_party_process(graph, programs, args.id, args.hosts.split(","), seed=5,
                                   header_bytes=16, timeout_s=args.timeout, tag=args.program,
                                   run_key=bytes.fromhex(args.key))
    except SimulationError as exc:
        print(f"party {args.id}: run failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
