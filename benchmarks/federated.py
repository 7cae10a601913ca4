"""Federated benchmarks: SecAgg+ simulation speed, and bytes per client for SecAgg, SecAgg+
and plain FedAvg aggregation (formula of `secagg.client_bytes` next to measured runs).

    .venv/bin/python benchmarks/federated.py           # runs up to 1,000 clients
    .venv/bin/python benchmarks/federated.py --full    # also measures SecAgg+ at 10,000
"""

from __future__ import annotations

import sys
import time

import networkx as nx

from protocols.federated import secagg
from protocols.federated.secure_sum import SecAggParams, plan
from sim import simulate

M, BITS, HEADER = 10_000, 32, 40


def star(n_parties: int) -> nx.Graph:
    g = nx.star_graph(n_parties - 1)
    nx.set_edge_attributes(g, 0.01, "latency")
    nx.set_edge_attributes(g, 1.25e7, "bandwidth")
    return g


def measure(n: int, aggregation: str) -> tuple[float, float, float]:
    """(mean bytes per client, server bytes, wall seconds) of one aggregation of M values."""
    p = SecAggParams(clients=n, vector_length=M, bits=BITS, aggregation=aggregation)
    pl = plan(p, 0)
    t0 = time.perf_counter()
    result = simulate(star(pl.n_parties), pl.programs, seed=0, header_bytes=HEADER)
    wall = time.perf_counter() - t0
    report = pl.summarize(result)
    assert report["result_check"]["ok"]
    s = report["secagg"]
    return (s["client_bytes_sent_mean"] + s["client_bytes_received_mean"],
            s["server_bytes_sent"] + s["server_bytes_received"], wall)


def formula(n: int, aggregation: str) -> int:
    if aggregation == "plain":
        return M * 4 + HEADER
    d = n - 1 if aggregation == "secagg" else secagg.plus_degree(n)
    return sum(secagg.client_bytes(d, M, BITS, HEADER))


def main() -> None:
    full = "--full" in sys.argv
    print(f"One SecAgg+ round, vectors of {M:,} values in Z_2^{BITS}, star, header {HEADER} B")
    for n in (100, 1000):
        _, _, wall = measure(n, "secagg+")
        print(f"  n={n:>6}: {wall:6.2f} s wall, {n / wall:7.1f} simulated clients/s")
    print(f"\nBytes per client (sent + received) for one aggregation of {M:,} values")
    print(f"{'n':>7} {'mode':>8} {'k':>5} {'formula':>12} {'measured':>12} {'server':>14}")
    for n in (100, 1000, 10_000):
        for mode in ("plain", "secagg", "secagg+"):
            k = n - 1 if mode == "secagg" else secagg.plus_degree(n) if mode == "secagg+" else 0
            run = (mode == "plain" and n <= 1000) or (mode == "secagg" and n <= 100) or \
                (mode == "secagg+" and (n <= 1000 or full))
            measured, server = ("-", "-")
            if run:
                c, s, _ = measure(n, mode)
                measured, server = f"{c:,.0f}", f"{s:,.0f}"
            print(f"{n:>7} {mode:>8} {k:>5} {formula(n, mode):>12,} {measured:>12} {server:>14}")


if __name__ == "__main__":
    main()
