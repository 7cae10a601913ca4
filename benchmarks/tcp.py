"""Loopback throughput of the tcp runtime: bytes/s and messages/s between two processes.

Party 0 streams `count` uint8 vectors of `size` bytes to party 1, which answers
once it has them all; party 0 reports the wall time from its first send to the
answer. Run: ``.venv/bin/python benchmarks/tcp.py``.
"""

from __future__ import annotations

import multiprocessing as mp
import socket
import sys

import networkx as nx
import numpy as np

from sim.party import Party
from sim.tcp import run_party_process

CASES = [(64, 20_000), (4096, 10_000), (1 << 20, 200)]


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


def _party(pid: int, hosts: list[str], size: int, count: int, out: mp.Queue) -> None:
    graph = nx.complete_graph(2)
    nx.set_edge_attributes(graph, 0.0, "latency")
    nx.set_edge_attributes(graph, 1e9, "bandwidth")
    program = _stream(size, count)
    result = run_party_process(graph, {0: program, 1: program}, pid, hosts, timeout_s=60)
    if pid == 0:
        out.put((result.outputs[0], result.frame_bytes, result.ledger.parties[0].bytes_sent))


def main() -> int:
    print(f"{'payload':>10} {'messages':>9} {'seconds':>8} {'messages/s':>11} {'MB/s':>9} "
          f"{'overhead/msg':>13}")
    for size, count in CASES:
        socks = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]
        hosts = [f"127.0.0.1:{s.getsockname()[1]}" for s in socks]
        for s in socks:
            s.close()
        out: mp.Queue = mp.Queue()
        procs = [mp.Process(target=_party, args=(pid, hosts, size, count, out))
                 for pid in range(2)]
        for p in procs:
            p.start()
        seconds, frame_bytes, payload = out.get(timeout=300)
        for p in procs:
            p.join()
        print(f"{size:>10} {count:>9} {seconds:>8.3f} {count / seconds:>11,.0f} "
              f"{payload / seconds / 1e6:>9.1f} {frame_bytes / (count + 1):>13.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
