"""The ``flower-1.42`` wire profile checked against Flower 1.42 itself.

For n clients each contributing a 10,000-value vector, runs Flower's real SecAgg+
(``benchmarks/flower/flower_fleet.py``: its workflow and client mod, every message through
Flower's serialization and Fleet API protobufs) and ppsim's SecAgg+ simulated
under the ``flower-1.42`` profile with the same graph degree and threshold
(Flower ``num_shares = k + 1``, ``reconstruction_threshold = t``, modulus 2^32),
and prints the mean bytes per client for each of Flower's four stages
(instruction and reply, both directions), per client in all, and the server's
total, with the ratio ppsim / Flower. A last row is FedAvg's: what a global model
of 10,000 float64 values adds per client (Flower: in stage 2's instruction;
ppsim: its ``fedavg.model`` message). A line below gives, for comparison, what a
client sends and receives under ppsim's own encoding and the one-way rounds with
and without the profile. Needs the ``flower`` extra::

    .venv/bin/pip install -e '.[flower]'
    .venv/bin/python benchmarks/profiles.py            # n = 10, 100, 1000
    .venv/bin/python benchmarks/profiles.py 20 50      # chosen n
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import time
from collections import defaultdict
from pathlib import Path

import networkx as nx
import numpy as np

try:
    import flwr  # noqa: F401
except ImportError:  # `make bench` without the extra: nothing to check against
    if __name__ == "__main__":
        print("benchmarks/profiles.py needs Flower 1.42: pip install -e '.[flower]'")
        sys.exit(0)
    raise

sys.path.insert(0, str(Path(__file__).parent / "flower"))  # not a benchmark of its own

import flower_fleet  # noqa: E402

from protocols.federated.flower import FLOWER  # noqa: E402
from protocols.federated.secure_sum import SecAggParams, plan  # noqa: E402
from sim import DEFAULT_PROFILE, Profile, simulate  # noqa: E402

M, BITS = 10_000, 32
STAGE_KINDS = {  # Flower's stage: (its instruction, its reply) as ppsim message kinds
    "setup": ("secagg.public_keys:instruction", "secagg.public_keys"),
    "share_keys": ("secagg.neighbour_keys", "secagg.encrypted_shares"),
    "collect_masked_vectors": ("secagg.forwarded_shares", "secagg.masked_input"),
    "unmask": ("secagg.survivors", "secagg.unmask_shares"),
}


def degree_and_threshold(n: int) -> tuple[int, int]:
    """ppsim's SecAgg+ degree k (n - 1 when the graph is complete) and threshold t."""
    agg = SecAggParams(clients=n, vector_length=M, bits=BITS).aggregation_for(0)
    cfg = agg.config(M)
    return (n - 1 if cfg.degree is None else cfg.degree), cfg.t


def flower_bytes(n: int, seed: int = 0) -> tuple[dict[str, float], float]:
    """Flower's mean bytes per client by stage, and the server's total."""
    k, t = degree_and_threshold(n)
    run = flower_fleet.run_secaggplus(n, M, num_shares=k + 1, threshold=t, seed=seed)
    if not np.allclose(run.total, run.expected, atol=1e-2):
        raise AssertionError("Flower's SecAgg+ did not return the mean of the inputs")
    per_stage = {s: sum(run.traffic.sent[u][s] + run.traffic.received[u][s]
                        for u in run.node_ids) / n for s in flower_fleet.STAGES}
    return per_stage, sum(per_stage.values()) * n


def _tallying(profile: Profile, tally: dict[str, float]) -> Profile:
    """`profile` with every message sizer also adding what it sized to `tally` by kind."""
    def wrap(kind, sizer):
        def sized(*args):
            size = sizer(*args)
            tally[kind] += size
            return size
        return sized
    return dataclasses.replace(profile, sizes={k: wrap(k, f) for k, f in profile.sizes.items()})


def _simulate(n: int, profile: Profile, seed: int = 0):  # noqa: ANN202 - a sim.RunResult
    """ppsim's SecAgg+ of n clients under `profile`, its result checked."""
    p = SecAggParams(clients=n, vector_length=M, bits=BITS, aggregation="secagg+")
    pl = plan(p, seed)
    graph = nx.star_graph(pl.n_parties - 1)
    nx.set_edge_attributes(graph, 0.01, "latency")
    nx.set_edge_attributes(graph, 1.25e7, "bandwidth")
    result = simulate(graph, pl.programs, seed=seed, header_bytes=0, profile=profile)
    if not pl.summarize(result)["result_check"]["ok"]:
        raise AssertionError("ppsim's SecAgg+ did not return the sum of the inputs")
    return result


def ppsim_bytes(n: int, seed: int = 0) -> tuple[dict[str, float], float]:
    """ppsim's prediction under the Flower profile: mean bytes per client by Flower
    stage (from the profile's sizes of each message the run sent), server's total."""
    tally: dict[str, float] = defaultdict(float)
    result = _simulate(n, _tallying(FLOWER, tally), seed)
    # the setup instruction is sized once per aggregation and sent to every client
    tally["secagg.public_keys:instruction"] = n * FLOWER.instruction("secagg.public_keys").size
    per_stage = {s: sum(tally[k] for k in kinds) / n for s, kinds in STAGE_KINDS.items()}
    server = result.ledger.parties[0]
    return per_stage, server.bytes_sent + server.bytes_received


def own_encoding(n: int, seed: int = 0) -> tuple[float, int, int]:
    """Mean bytes per client (sent and received) under ppsim's own encoding, and the
    one-way rounds under it and under the Flower profile (its setup round added)."""
    own = _simulate(n, DEFAULT_PROFILE, seed)
    per_client = sum(c.bytes_sent + c.bytes_received for c in own.ledger.parties[1:]) / n
    return per_client, own.ledger.rounds(), _simulate(n, FLOWER, seed).ledger.rounds()


def model_bytes(n: int, seed: int = 0) -> tuple[float, float]:
    """What a FedAvg round's global model of M float64 values adds per client:
    Flower measured (stage 2 with the model minus without) and the profile's
    ``fedavg.model`` size."""
    k, t = degree_and_threshold(n)
    model = np.random.default_rng([seed, 9]).standard_normal(M)
    runs = [flower_fleet.run_secaggplus(n, M, k + 1, t, seed=seed, model=w) for w in (None, model)]
    stage = [sum(r.traffic.sent[u]["collect_masked_vectors"]
                 + r.traffic.received[u]["collect_masked_vectors"] for u in r.node_ids) / n
             for r in runs]
    return stage[1] - stage[0], FLOWER.size("fedavg.model", model)


def compare(n: int) -> list[tuple[str, float, float]]:
    """Rows (what, Flower measured, ppsim under the Flower profile)."""
    flower, flower_server = flower_bytes(n)
    ppsim, ppsim_server = ppsim_bytes(n)
    rows = [(stage, flower[stage], ppsim[stage]) for stage in flower_fleet.STAGES]
    rows.append(("client total", sum(flower.values()), sum(ppsim.values())))
    rows.append(("server total", flower_server, ppsim_server))
    rows.append(("+ FedAvg model", *model_bytes(n)))
    return rows


def main(sizes: list[int]) -> None:
    logging.getLogger("flwr").setLevel(logging.ERROR)
    print(f"SecAgg+ of {M:,} values, modulus 2^{BITS}: Flower 1.42 measured (Fleet API "
          f"protobufs) vs ppsim under the flower-1.42 profile (header_bytes = 0)")
    print(f"{'n':>6} {'k':>3} {'t':>3}  {'stage':<24}{'Flower B':>14}{'ppsim B':>14}{'ratio':>8}")
    for n in sizes:
        t0 = time.perf_counter()
        k, t = degree_and_threshold(n)
        for what, got, want in compare(n):
            print(f"{n:>6} {k:>3} {t:>3}  {what:<24}{got:>14,.0f}{want:>14,.0f}"
                  f"{want / got:>8.3f}")
        own, rounds, flower_rounds = own_encoding(n)
        print(f"{'':>6} ppsim's own encoding: {own:,.0f} B per client, {rounds} one-way "
              f"rounds ({flower_rounds} under the flower-1.42 profile)")
        print(f"{'':>6} ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 100, 1000])
