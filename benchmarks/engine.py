"""Engine throughput (prints figures; not a test).

* 2-party ping-pong: simulated messages per wall-clock second (issue 3 target:
  at least 250,000 on one core); again with a progress callback (what the
  command line attaches to a run), whose cost should stay within noise.
* 1,000-party fan-in/fan-out on a star: a server sums one message from each of
  999 clients and answers all of them, 20 rounds.

Each runs twice: with every operation free (the network alone: one event per
message and hop) and with the shipped cost model, whose per-message CPU work
adds the sender's serialization and the receiver's decoding (two more events
per message). The cost model's constants come from ``ppsim calibrate``.

Best of --repeat runs; CPU time is printed next to wall time because a shared
machine's load inflates the wall clock (the engine runs on one core either way).

    .venv/bin/python benchmarks/engine.py [--profile] [--repeat N]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from functools import partial

import topologies
from sim import CostModel
from sim.engine import simulate

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
    parties: int = FAN_PARTIES, rounds: int = FAN_ROUNDS, **options
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
    result = simulate(graph, programs, **options)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert result.outputs[1] == sum(c + rounds - 1 for c in clients)
    return 2 * rounds * len(clients), wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true", help="cProfile the ping-pong")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (best kept)")
    args = parser.parse_args()
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(ping_pong, cost_model=CostModel.default())
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)
        return
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for label, model in (("free", CostModel.free()), ("default model", CostModel.default())):
        watched = partial(ping_pong, progress=lambda _progress: None, progress_every_s=0.1)
        for name, bench in (("2-party ping-pong", ping_pong),
                            ("2-party ping-pong, progress callback every 0.1 s", watched),
                            (f"{FAN_PARTIES}-party fan-in/fan-out, {FAN_ROUNDS} rounds",
                             fan_in_out)):
            runs = [bench(cost_model=model) for _ in range(args.repeat)]
            messages = runs[0][0]
            wall = min(run[1] for run in runs)
            cpu = min(run[2] for run in runs)
            print(f"{name} ({label}): {messages:,} messages, best wall {wall:.3f} s, best CPU "
                  f"{cpu:.3f} s -> {messages / wall:,.0f} simulated messages/s "
                  f"({messages / cpu:,.0f} per CPU second)")


if __name__ == "__main__":
    main()
