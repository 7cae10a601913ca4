"""Wire profiles checked against the frameworks themselves: ``flower-1.42`` and ``mpyc-0.11``.

**Flower.** For n clients each contributing a 10,000-value vector, runs Flower's real
SecAgg+ (``benchmarks/flower/flower_fleet.py``: its workflow and client mod, every
message through Flower's serialization and Fleet API protobufs) and ppsim's SecAgg+
simulated under the ``flower-1.42`` profile with the same graph degree and threshold
(Flower ``num_shares = k + 1``, ``reconstruction_threshold = t``, modulus 2^32), and
prints the mean bytes per client for each of Flower's four stages (instruction and
reply, both directions), per client sent, received and in all, and the server's
total, with the ratio ppsim / Flower. A last row is FedAvg's: what a global model of
10,000 float64 values adds per client (Flower: in stage 2's instruction; ppsim: its
``fedavg.model`` message). A line below gives, for comparison, what a client sends
and receives under ppsim's own encoding and the one-way rounds with and without the
profile.

**MPyC.** For m parties each contributing a vector of L elements of GF(2^31 - 1),
runs MPyC's secure sum (``benchmarks/mpyc/secure_sum.py``: m processes on 127.0.0.1,
MPyC's own runtime and TCP connections) and ppsim's ``secure_sum`` (``scheme =
"shamir"``, the same threshold t = (m - 1) // 2) under the ``mpyc-0.11`` profile, and
prints the bytes each party sent as MPyC counts them (``nbytes_sent``, what its
shutdown logs as "bytes sent") beside ppsim's prediction: party 0 (the analyst), the
mean of the others, and all parties, with the ratio ppsim / MPyC, and ppsim's own
encoding (uint32 shares) for comparison. ``header_bytes = 0`` on both sides: TCP/IP
below the frameworks' messages is not counted.

Needs the ``flower`` and ``mpyc`` extras (a section whose framework is absent says so
and is skipped)::

    .venv/bin/pip install -e '.[flower,mpyc]'
    .venv/bin/python benchmarks/profiles.py            # Flower n = 10, 100, 1000; MPyC m = 3, 5, 7
    .venv/bin/python benchmarks/profiles.py flower 20  # Flower, chosen n
    .venv/bin/python benchmarks/profiles.py mpyc 3 5   # MPyC, chosen m (L = 1, 1,000, 10,000)
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import logging
import socket
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import networkx as nx
import numpy as np

FRAMEWORKS = {"flower": "flwr", "mpyc": "mpyc"}  # section: the module it needs
INSTALLED = {s: importlib.util.find_spec(m) is not None for s, m in FRAMEWORKS.items()}
HERE = Path(__file__).parent

if INSTALLED["flower"]:
    sys.path.insert(0, str(HERE / "flower"))  # not a benchmark of its own
    import flower_fleet

from protocols.federated.flower import FLOWER  # noqa: E402
from protocols.federated.secure_sum import SecAggParams, plan  # noqa: E402
from protocols.sharing.demos import SUM, SecureSumParams  # noqa: E402
from protocols.sharing.mpyc import FRAME, MPYC  # noqa: E402
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


def flower_bytes(n: int, seed: int = 0) -> dict[str, float]:
    """Flower's mean bytes per client by stage, sent and received by a client, and the
    server's total (every byte it moves is a client's)."""
    k, t = degree_and_threshold(n)
    run = flower_fleet.run_secaggplus(n, M, num_shares=k + 1, threshold=t, seed=seed)
    if not np.allclose(run.total, run.expected, atol=1e-2):
        raise AssertionError("Flower's SecAgg+ did not return the mean of the inputs")
    per_stage = {s: sum(run.traffic.sent[u][s] + run.traffic.received[u][s]
                        for u in run.node_ids) / n for s in flower_fleet.STAGES}
    sent, received = (sum(sum(way[u].values()) for u in run.node_ids) / n
                      for way in (run.traffic.sent, run.traffic.received))
    return {**per_stage, "client sent": sent, "client received": received,
            "client total": sum(per_stage.values()), "server total": n * (sent + received)}


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


def ppsim_bytes(n: int, seed: int = 0) -> dict[str, float]:
    """ppsim's prediction under the Flower profile: mean bytes per client by Flower
    stage (from the profile's sizes of each message the run sent), sent and received
    by a client (each message's whole exchange charged to its direction), and the
    server's total; and the run's one-way rounds (the profile's setup round added)."""
    tally: dict[str, float] = defaultdict(float)
    result = _simulate(n, _tallying(FLOWER, tally), seed)
    # the setup instruction is sized once per aggregation and sent to every client
    tally["secagg.public_keys:instruction"] = n * FLOWER.instruction("secagg.public_keys").size
    per_stage = {s: sum(tally[k] for k in kinds) / n for s, kinds in STAGE_KINDS.items()}
    clients, server = result.ledger.parties[1:], result.ledger.parties[0]
    return {**per_stage, "client sent": sum(c.bytes_sent for c in clients) / n,
            "client received": sum(c.bytes_received for c in clients) / n,
            "client total": sum(per_stage.values()),
            "server total": server.bytes_sent + server.bytes_received,
            "rounds": result.ledger.rounds()}


def own_encoding(n: int, seed: int = 0) -> tuple[float, int]:
    """Mean bytes per client (sent and received) under ppsim's own encoding, and the
    one-way rounds under it."""
    own = _simulate(n, DEFAULT_PROFILE, seed)
    per_client = sum(c.bytes_sent + c.bytes_received for c in own.ledger.parties[1:]) / n
    return per_client, own.ledger.rounds()


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


def compare(n: int) -> tuple[list[tuple[str, float, float]], int]:
    """Rows (what, Flower measured, ppsim under the Flower profile), and the rounds
    under the profile."""
    flower, ppsim = flower_bytes(n), ppsim_bytes(n)
    rows = [(what, flower[what], ppsim[what]) for what in flower]
    rows.append(("+ FedAvg model", *model_bytes(n)))
    return rows, int(ppsim["rounds"])


def main_flower(sizes: list[int]) -> None:
    logging.getLogger("flwr").setLevel(logging.ERROR)
    print(f"SecAgg+ of {M:,} values, modulus 2^{BITS}: Flower 1.42 measured (Fleet API "
          f"protobufs) vs ppsim under the flower-1.42 profile (header_bytes = 0)")
    print(f"{'n':>6} {'k':>3} {'t':>3}  {'stage':<24}{'Flower B':>14}{'ppsim B':>14}{'ratio':>8}")
    for n in sizes:
        t0 = time.perf_counter()
        k, t = degree_and_threshold(n)
        rows, flower_rounds = compare(n)
        for what, got, want in rows:
            print(f"{n:>6} {k:>3} {t:>3}  {what:<24}{got:>14,.0f}{want:>14,.0f}"
                  f"{want / got:>8.3f}")
        own, rounds = own_encoding(n)
        print(f"{'':>6} ppsim's own encoding: {own:,.0f} B per client, {rounds} one-way "
              f"rounds ({flower_rounds} under the flower-1.42 profile)")
        print(f"{'':>6} ({time.perf_counter() - t0:.0f} s)")


# -- MPyC ---------------------------------------------------------------------------

LENGTHS = (1, 1_000, 10_000)


def _free_ports(count: int, attempts: int = 50) -> int:
    """A base port b with b, ..., b + count - 1 free on 127.0.0.1 (MPyC's -B b)."""
    rng = np.random.default_rng()
    for _ in range(attempts):
        base = int(rng.integers(20_000, 60_000))
        try:
            for port in range(base, base + count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {count} consecutive free ports found")


def mpyc_sent(m: int, length: int, options: tuple[str, ...] = (), seed: int = 0,
              timeout: float = 120) -> list[int]:
    """Bytes each of m MPyC parties sent (MPyC's own count) in the secure sum of
    vectors of `length` elements: m processes of ``benchmarks/mpyc/secure_sum.py``
    with MPyC's command-line `options`."""
    base = _free_ports(m)
    program = HERE / "mpyc" / "secure_sum.py"
    parties = [subprocess.Popen([sys.executable, str(program), f"-M{m}", f"-I{i}", "-B",
                                 str(base), "--no-log", *options, str(length), str(seed)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for i in range(m)]
    try:
        outs = [p.communicate(timeout=timeout) for p in parties]
    finally:
        for p in parties:
            p.kill()
    reports = []
    for i, (p, (out, err)) in enumerate(zip(parties, outs, strict=True)):
        if p.returncode != 0:
            raise RuntimeError(f"MPyC party {i} of {m} failed:\n{err}")
        reports.append(json.loads(out.splitlines()[-1]))
    if not reports[0]["ok"]:
        raise AssertionError("MPyC's secure sum did not reveal the sum of the inputs")
    return [sum(r["sent"].values()) for r in reports]


def ppsim_sent(m: int, length: int, profile: Profile, seed: int = 0,
               header_bytes: int = 0) -> list[int]:
    """Bytes each party sends in ppsim's Shamir ``secure_sum`` under `profile`."""
    params = SecureSumParams(parties=m, vector_length=length, scheme="shamir")
    if (why := profile.refusal(SUM.name, params)) is not None:
        raise ValueError(why)
    pl = SUM.plan(params, seed)
    graph = nx.complete_graph(m)
    nx.set_edge_attributes(graph, 1e-4, "latency")
    nx.set_edge_attributes(graph, 1.25e9, "bandwidth")
    result = simulate(graph, pl.programs, seed=seed, header_bytes=header_bytes,
                      profile=profile)
    if not pl.summarize(result)["result_check"]["ok"]:
        raise AssertionError("ppsim's secure sum did not reveal the sum of the inputs")
    return [p.bytes_sent for p in result.ledger.parties]


def _roles(sent: list[int]) -> list[tuple[str, float]]:
    return [("party 0 (analyst)", sent[0]), ("other parties, mean", float(np.mean(sent[1:]))),
            ("all parties", sum(sent))]


def compare_mpyc(m: int, length: int) -> list[tuple[str, float, float, float]]:
    """Rows (what, MPyC measured, ppsim under the mpyc-0.11 profile, ppsim's own encoding)."""
    measured, predicted = _roles(mpyc_sent(m, length)), _roles(ppsim_sent(m, length, MPYC))
    own = _roles(ppsim_sent(m, length, DEFAULT_PROFILE))
    return [(what, got, want, mine) for (what, got), (_, want), (_, mine)
            in zip(measured, predicted, own, strict=True)]


def main_mpyc(sizes: list[int]) -> None:
    print("Secure sum over GF(2^31 - 1), party 0 learns it: MPyC 0.11 measured (its "
          "nbytes_sent, parties on 127.0.0.1) vs ppsim under the mpyc-0.11 profile "
          "(header_bytes = 0); bytes sent")
    print(f"{'n':>3} {'t':>3} {'L':>7}  {'who':<22}{'MPyC B':>12}{'ppsim B':>12}{'ratio':>8}"
          f"{'ppsim own B':>13}")
    for m in sizes:
        for length in LENGTHS:
            t0 = time.perf_counter()
            for what, got, want, own in compare_mpyc(m, length):
                print(f"{m:>3} {(m - 1) // 2:>3} {length:>7,}  {what:<22}{got:>12,.0f}"
                      f"{want:>12,.0f}{want / got:>8.3f}{own:>13,.0f}")
            print(f"{'':>3} ({time.perf_counter() - t0:.1f} s)")
        # MPyC's 32/64-bit mode marshals 4 B per element: ppsim's own encoding, 12 B framing
        mixed = sum(mpyc_sent(m, 1000, ("--mix32-64bit",)))
        own = sum(ppsim_sent(m, 1000, DEFAULT_PROFILE, header_bytes=FRAME))
        print(f"{'':>3} L = 1,000 with MPyC's --mix32-64bit: {mixed:,} B in all; ppsim's own "
              f"encoding with header_bytes = {FRAME}: {own:,} B")


SECTIONS = {"flower": (main_flower, [10, 100, 1000]), "mpyc": (main_mpyc, [3, 5, 7])}


def main(args: list[str]) -> None:
    if args and args[0] not in SECTIONS:
        sys.exit(f"usage: benchmarks/profiles.py [{'|'.join(SECTIONS)} [sizes ...]]: sizes "
                 "mean parties for one section (Flower clients, MPyC processes)")
    chosen = [args.pop(0)] if args else list(SECTIONS)
    for section in chosen:
        if not INSTALLED[section]:
            print(f"benchmarks/profiles.py: the {section} section needs the {section} extra: "
                  f"pip install -e '.[{section}]'")
            continue
        run, default = SECTIONS[section]
        run([int(a) for a in args] or default)


if __name__ == "__main__":
    main(sys.argv[1:])
