"""Engine throughput and the local-work cost model (prints figures; not a test).

* 2-party ping-pong: simulated messages per wall-clock second (issue 3 target:
  at least 250,000 on one core); again with a progress callback (what the
  command line attaches to a run), whose cost should stay within noise.
* 1,000-party fan-in/fan-out on a star: a server sums one message from each of
  999 clients and answers all of them, 20 rounds.
* numpy uint64 element-op time on this machine: the basis of
  `sim.engine.DEFAULT_ELEMENT_TIME_S` (one modelled element of local work).

Best of --repeat runs; CPU time is printed next to wall time because a shared
machine's load inflates the wall clock (the engine runs on one core either way).

    .venv/bin/python benchmarks/engine.py [--profile] [--repeat N]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from functools import partial

import numpy as np

import topologies
from sim.engine import DEFAULT_ELEMENT_TIME_S, simulate

PING_PONG_EXCHANGES = 100_000  # 200,000 messages
FAN_PARTIES = 1_000
FAN_ROUNDS = 20


def ping_pong(exchanges: int = PING_PONG_EXCHANGES, **options) -> tuple[int, float, float]:
    """Run the ping-pong (`options` go to `simulate`); return (messages, wall seconds,
    CPU seconds)."""
    async def ping(party):
        for i in range(exchanges):
            await party.send(1, i)
            await party.recv(1)

    async def pong(party):
        for _ in range(exchanges):
            await party.send(0, await party.recv(0))

    graph = topologies.complete(2, latency=1e-3, bandwidth=1.25e8)
    start, cpu = time.perf_counter(), time.process_time()
    result = simulate(graph, {0: ping, 1: pong}, **options)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert result.ledger.phase_rounds() == {"main": 2 * exchanges}
    return 2 * exchanges, wall, cpu


def fan_in_out(
    parties: int = FAN_PARTIES, rounds: int = FAN_ROUNDS
) -> tuple[int, float, float]:
    """Server 0 sums one value from every client and broadcasts the sum, `rounds` times;
    return (messages, wall seconds, CPU seconds)."""
    clients = list(range(1, parties))

    async def server(party):
        for _ in range(rounds):
            got = await party.recv_many(clients)
            await party.broadcast(sum(got.values()))

    async def client(party):
        total = 0
        for r in range(rounds):
            await party.send(0, party.id + r)
            total = await party.recv(0)
        return total

    graph = topologies.star(parties, hub=0, latency=1e-3, bandwidth=1.25e8)
    programs = {0: server, **dict.fromkeys(clients, client)}
    start, cpu = time.perf_counter(), time.process_time()
    result = simulate(graph, programs)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert result.outputs[1] == sum(c + rounds - 1 for c in clients)
    return 2 * rounds * len(clients), wall, cpu


def element_op_time(n: int = 1_000_000, repeat: int = 20) -> dict[str, float]:
    """Seconds per element of one uint64 ring operation (best of `repeat`), by operation."""
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2**63, n, dtype=np.uint64)
    b = rng.integers(0, 2**63, n, dtype=np.uint64)
    out = np.empty_like(a)
    ops = {
        "add": lambda: np.add(a, b, out=out),
        "multiply": lambda: np.multiply(a, b, out=out),
        "xor": lambda: np.bitwise_xor(a, b, out=out),
        "shift": lambda: np.right_shift(a, np.uint64(16), out=out),
    }
    per_element = {}
    for name, op in ops.items():
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            op()
            best = min(best, time.perf_counter() - start)
        per_element[name] = best / n
    return per_element


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true", help="cProfile the ping-pong")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (best kept)")
    args = parser.parse_args()
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(ping_pong)
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)
        return
    watched = partial(ping_pong, progress=lambda _progress: None, progress_every_s=0.1)
    for name, bench in (("2-party ping-pong", ping_pong),
                        ("2-party ping-pong, progress callback every 0.1 s", watched),
                        (f"{FAN_PARTIES}-party fan-in/fan-out, {FAN_ROUNDS} rounds", fan_in_out)):
        runs = [bench() for _ in range(args.repeat)]
        messages = runs[0][0]
        wall = min(run[1] for run in runs)
        cpu = min(run[2] for run in runs)
        print(f"{name}: {messages:,} messages, best wall {wall:.3f} s, best CPU {cpu:.3f} s "
              f"-> {messages / wall:,.0f} simulated messages/s "
              f"({messages / cpu:,.0f} per CPU second)")
    per_element = element_op_time()
    for name, seconds in per_element.items():
        print(f"numpy uint64 {name}: {seconds * 1e9:.2f} ns/element")
    binary = [per_element[name] for name in ("add", "multiply", "xor")]
    print(f"DEFAULT_ELEMENT_TIME_S = {DEFAULT_ELEMENT_TIME_S:g} s "
          f"(mean of the binary ops add, multiply, xor here: {np.mean(binary):.3g} s)")

if __name__ == "__main__":
    main()
