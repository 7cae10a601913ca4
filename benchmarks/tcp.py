"""The tcp runtime on loopback: throughput, latency, and a secure multiplication vs the simulator.

1. *Throughput*: party 0 streams `count` uint8 vectors of `size` bytes to
   party 1, which answers once it has them all; bytes/s and messages/s from
   party 0's first send to the answer. Two processes.
2. *Latency*: a ping-pong of 8-byte payloads between two processes; the
   one-way latency is half the mean round trip.
3. *Secure multiplication*: `Mpc.mul_fx` of 1,000,000 fixed-point values
   among 3 player processes and a dealer process (4 processes, complete
   topology), timed from the first process entering the operation to the last
   one leaving it (``time.monotonic`` is one system-wide clock on Linux).
   The same program is then simulated on a complete topology whose links have
   the loopback bandwidth and latency measured in 1 and 2: once with a queue
   per link (the default model) and once with one NIC queue per party at the
   loopback bandwidth (``nic_bandwidth``; on loopback a process's sends share
   its one CPU, as a real machine's sends share its one NIC). Local work is
   charged at the engine's default element time.

Run: ``.venv/bin/python benchmarks/tcp.py [throughput|mul|all]`` (default all).
Wall times move with the machine's load; the CPU time per message (each
process's own, connecting included) and the CPU summed over the multiplication's
processes do much less.
On a machine with fewer cores than processes the real run also waits for CPU,
which the simulator does not model (each party has its own CPU there).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import socket
import sys
import time
from typing import Any

import networkx as nx
import numpy as np

from protocols.sharing import Mpc, decode, encode
from protocols.sharing.ring import additive_split
from sim import Party, simulate
from sim.tcp import new_run_key, run_party_process

STREAM_CASES = [(64, 20_000), (4096, 10_000), (1 << 20, 200)]
PINGS = 2_000
MUL_N = 1_000_000
PLAYERS = [0, 1, 2]
DEALER = 3
FRAC_BITS = 16


def _graph(n: int, latency: float, bandwidth: float, nic: float | None = None) -> nx.Graph:
    graph = nx.complete_graph(n)
    nx.set_edge_attributes(graph, latency, "latency")
    nx.set_edge_attributes(graph, bandwidth, "bandwidth")
    if nic is not None:
        nx.set_node_attributes(graph, nic, "nic_bandwidth")
    return graph


def _hosts(n: int) -> list[str]:
    socks = [socket.create_server(("127.0.0.1", 0)) for _ in range(n)]
    hosts = [f"127.0.0.1:{s.getsockname()[1]}" for s in socks]
    for s in socks:
        s.close()
    return hosts


def _run_processes(target: Any, n: int, *args: Any) -> dict[int, Any]:
    """Start `n` party processes running ``target(pid, hosts, key, *args, out)``; their
    answers. Each process puts ``(pid, answer)`` on `out`; `key` is the run key they share.
    """
    hosts = _hosts(n)
    key = new_run_key()
    out: mp.Queue = mp.Queue()
    procs = [mp.Process(target=target, args=(pid, hosts, key, *args, out)) for pid in range(n)]
    for p in procs:
        p.start()
    answers = dict(out.get(timeout=600) for _ in range(n))
    for p in procs:
        p.join()
    return answers


# -- throughput and latency ----------------------------------------------------------


def _stream(size: int, count: int):
    async def program(party: Party) -> float | None:
        if party.id == 0:
            block = np.ones(size, dtype=np.uint8)
            start = party.now()
            for _ in range(count):
                await party.send(1, block)
            await party.recv(1)
            return party.now() - start
        for _ in range(count):
            await party.recv(0)
        await party.send(0, 1)
        return None

    return program


async def _ping_pong(party: Party) -> float | None:
    peer = 1 - party.id
    start = party.now()
    for _ in range(PINGS):
        if party.id == 0:
            await party.send(peer, 0)
            await party.recv(peer)
        else:
            await party.send(peer, await party.recv(peer))
    return (party.now() - start) / PINGS / 2 if party.id == 0 else None


def _two_party(pid: int, hosts: list[str], key: bytes, case: tuple[int, int] | None,
               out: mp.Queue) -> None:
    program = _ping_pong if case is None else _stream(*case)
    cpu = time.process_time()
    result = run_party_process(_graph(2, 0.0, 1e9), {0: program, 1: program}, pid, hosts,
                               timeout_s=60, run_key=key)
    out.put((pid, (result.outputs[pid], result.frame_bytes + result.security_bytes,
                   result.ledger.parties[0].bytes_sent, time.process_time() - cpu)))


def throughput() -> tuple[float, float]:
    """Print the loopback figures; return (payload bytes/s of the largest case, latency s)."""
    print(f"{'payload':>10} {'messages':>9} {'seconds':>8} {'messages/s':>11} {'MB/s':>9} "
          f"{'overhead/msg':>13} {'CPU us/msg sender, receiver':>28}")
    rate = 0.0
    for size, count in STREAM_CASES:
        answers = _run_processes(_two_party, 2, (size, count))
        seconds, frame_bytes, payload, cpu = answers[0]
        rate = payload / seconds
        print(f"{size:>10} {count:>9} {seconds:>8.3f} {count / seconds:>11,.0f} "
              f"{rate / 1e6:>9.1f} {frame_bytes / (count + 1):>13.1f} "
              f"{cpu / count * 1e6:>19.1f}, {answers[1][3] / count * 1e6:.1f}")
    latency = _run_processes(_two_party, 2, None)[0][0]
    print(f"ping-pong of {PINGS} 8-byte messages: one-way latency {latency * 1e6:.1f} us")
    return rate, latency


# -- secure multiplication -----------------------------------------------------------


def _mul_inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-100, 100, MUL_N), rng.uniform(-100, 100, MUL_N)
    return (x, y, additive_split(encode(x, FRAC_BITS), len(PLAYERS), rng),
            additive_split(encode(y, FRAC_BITS), len(PLAYERS), rng))


def _mul_program(inputs: tuple[np.ndarray, ...]):
    """Shares already held (drawn before the run); time `mul_fx`, then check it at player 0."""
    x, y, xs, ys = inputs

    async def program(party: Party) -> tuple[float, ...]:
        mpc = Mpc(party, PLAYERS, DEALER, FRAC_BITS)
        await mpc.setup()
        xi = xs[party.id] if mpc.is_player else mpc.zeros((MUL_N,))
        yi = ys[party.id] if mpc.is_player else mpc.zeros((MUL_N,))
        wall, now, cpu = time.monotonic(), party.now(), time.process_time()
        with party.phase("mul_fx"):
            z = await mpc.mul_fx(xi, yi)
        span = (wall, time.monotonic(), now, party.now(), time.process_time() - cpu)
        with party.phase("check"):
            opened = await mpc.reveal_fx(z, to=0)
        err = None
        if opened is not None:
            exact = decode(encode(x, FRAC_BITS), FRAC_BITS) * decode(encode(y, FRAC_BITS),
                                                                      FRAC_BITS)
            err = float(np.abs(opened - exact).max())
        return (*span, err)

    return program


def _mul_party(pid: int, hosts: list[str], key: bytes, out: mp.Queue) -> None:
    program = _mul_program(_mul_inputs())
    graph = _graph(4, 0.0, 1e9)
    result = run_party_process(graph, dict.fromkeys(range(4), program), pid, hosts,
                               timeout_s=120, seed=7, run_key=key)
    phase = result.ledger.phases["mul_fx"]
    out.put((pid, (result.outputs[pid], phase.bytes, result.ledger.phase_rounds()["mul_fx"])))


def _span(outputs: dict[int, tuple], first: int) -> float:
    return max(o[first + 1] for o in outputs.values()) - min(o[first] for o in outputs.values())


def mul(bandwidth: float, latency: float) -> None:
    """Print the real and the predicted wall time of mul_fx of 1,000,000 values."""
    answers = _run_processes(_mul_party, 4)
    outputs = {pid: answer[0] for pid, answer in answers.items()}  # each process's own
    nbytes, rounds = answers[0][1:]
    real = _span(outputs, 0)
    cpu = sum(o[4] for o in outputs.values())
    print(f"\nmul_fx of {MUL_N:,} values, 3 players + dealer, 4 processes on loopback "
          f"(max abs error {outputs[0][5]:.1e}; online {nbytes / 1e6:.0f} MB, "
          f"{rounds} rounds)")
    print(f"  tcp runtime, measured wall time:             {real:7.3f} s   "
          f"(CPU {cpu:.2f} s summed over the 4 processes; {os.cpu_count()} cores)")
    program = _mul_program(_mul_inputs())
    for label, nic in (("a queue per link", None), ("one NIC queue per party", bandwidth)):
        graph = _graph(4, latency, bandwidth, nic)
        sim = simulate(graph, dict.fromkeys(range(4), program), seed=7)
        print(f"  simulator, {label + ':':<30}    {_span(sim.outputs, 2):7.3f} s   "
              f"(links {bandwidth / 1e6:.0f} MB/s, {latency * 1e6:.0f} us; "
              f"simulation took {sim.wall_time_s:.2f} s)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("part", nargs="?", choices=("throughput", "mul", "all"), default="all")
    args = ap.parse_args()
    bandwidth, latency = throughput()
    if args.part in ("mul", "all"):
        mul(bandwidth, latency)
    return 0


if __name__ == "__main__":
    sys.exit(main())
