"""The simulator checked against reality: predicted online time vs the TCP runtime's measure.

Each case is one scenario run twice: on the simulator, with every party on one
host of one core (``[hosts.local]``: the TCP runtime runs all parties as tasks
of one single-threaded process, so they share one core and talk through
loopback), and on the TCP runtime in this process. The prediction is the
simulated online time plus, when a dealer preprocesses, the preprocessing run's
time (over TCP the dealer works on the same core, interleaved). The measure is
taken from the first party's start to the last party's end, as wall time and as
the process's CPU time over the same window: the process has one thread, so on
an idle machine the two agree, and on a loaded one the CPU time is what the run
would have taken alone (connecting and the final exchange of records excluded).

    .venv/bin/python benchmarks/fidelity.py [--cases sum,mul_cmp,...] [--repeat N]
                                            [--model cost_model.toml] [--large]

Prints one row per case (predicted, measured wall and CPU, ratio predicted/CPU,
whether within +-25%) and the load average before and after. ``--large`` adds
the 10^6-element multiplication and comparison (a few GB of memory). A second
table compares `ring_matmul`'s charge (`protocols.sharing.ring.matmul_work`)
with its measured CPU time at the shapes the protocols use.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ppsim.run import run_scenario
from ppsim.scenario import Scenario, from_dict
from protocols.sharing.ring import matmul_work, ring_matmul
from sim import CostModel
from sim.tcp import run_tcp

TOLERANCE = 0.25

LOOPBACK = {"kind": "complete", "latency": 0.0, "bandwidth": 1e12}
"""Links are not used between parties of one host; the values only satisfy the builder."""


def _case(protocol: dict[str, Any], topology: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"seed": 3, "protocol": protocol, "topology": topology or LOOPBACK,
            "hosts": {"local": {"parties": "all", "cores": 1}}}


CASES: dict[str, dict[str, Any]] = {
    "sum 3 parties 1e4": _case({"name": "secure_sum", "parties": 3, "vector_length": 10**4}),
    "sum 3 parties 1e6": _case({"name": "secure_sum", "parties": 3, "vector_length": 10**6}),
    "sum 5 parties shamir 1e5": _case({"name": "secure_sum", "parties": 5, "scheme": "shamir",
                                        "vector_length": 10**5}),
    "mul+cmp 3 players 1e4": _case({"name": "secure_mul_cmp", "parties": 3,
                                    "vector_length": 10**4}),
    "mul+cmp 3 players 1e5": _case({"name": "secure_mul_cmp", "parties": 3,
                                    "vector_length": 10**5}),
    "xorboost vertical 2 owners": _case({
        "name": "xorboost", "dataset": "synthetic", "n_samples": 400, "n_features": 6,
        "split": "vertical", "owners": 2, "n_estimators": 1, "max_depth": 2, "max_bin": 8}),
    "secagg 100 clients": _case(
        {"name": "secagg", "clients": 100, "aggregation": "secagg", "vector_length": 1000,
         "timeout": 60.0},
        {"kind": "star", "latency": 0.0, "bandwidth": 1e12}),
    "ppxgboost batch 64 rows": _case({
        "name": "ppxgboost", "dataset": "breast_cancer", "n_estimators": 10, "max_depth": 3,
        "queries": 64, "batch": 64, "key_bits": 1024}),
}
LARGE: dict[str, dict[str, Any]] = {
    "mul+cmp 3 players 1e6": _case({"name": "secure_mul_cmp", "parties": 3,
                                    "vector_length": 10**6}),
}


def predicted(scenario: Scenario) -> tuple[float, float]:
    """(online, offline) simulated seconds."""
    rep = run_scenario(scenario)
    return rep["totals"]["sim_time_s"], rep["offline"]["sim_time_s"]


def measured(scenario: Scenario) -> tuple[float, float]:
    """(wall, CPU) seconds from the first party's start to the last one's end over TCP."""
    marks: dict[int, tuple[float, float, float, float]] = {}

    def timed(program: Callable) -> Callable:
        async def run(party: Any) -> Any:
            wall, cpu = time.perf_counter(), time.process_time()
            out = await program(party)
            marks[party.id] = (wall, cpu, time.perf_counter(), time.process_time())
            return out

        return run

    programs = {pid: timed(p) for pid, p in scenario.plan.programs.items()}
    model = scenario.model
    run_tcp(scenario.graph, programs, seed=model.seed, header_bytes=model.network.header_bytes,
            cost_model=scenario.cost_model, timeout_s=600.0)
    starts, ends = [m[:2] for m in marks.values()], [m[2:] for m in marks.values()]
    return (max(e[0] for e in ends) - min(s[0] for s in starts),
            max(e[1] for e in ends) - min(s[1] for s in starts))


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def fidelity(cases: dict[str, dict[str, Any]], repeat: int, model: str | None) -> None:
    print(f"load average before: {_load()} ({os.cpu_count()} cores)")
    print(f"{'case':28s} {'predicted':>10s} {'(offline)':>10s} {'wall':>9s} {'CPU':>9s} "
          f"{'pred/CPU':>9s}  within 25%")
    for name, data in cases.items():
        if model is not None:
            data = {**data, "cost": {"model": model}}
        scenario = from_dict(data, "")
        online, offline = predicted(scenario)
        runs = [measured(from_dict(data, "")) for _ in range(repeat)]
        wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
        pred = online + offline
        ratio = pred / cpu
        ok = "yes" if abs(ratio - 1) <= TOLERANCE else "NO"
        print(f"{name:28s} {pred:10.4f} {offline:10.4f} {wall:9.4f} {cpu:9.4f} {ratio:9.2f}  {ok}",
              flush=True)
    print(f"load average after: {_load()}")


MATMUL_SHAPES = [(2, 1500, 38400), (8, 1500, 38400), (16, 1500, 38400), (16, 3000, 1000),
                 (512, 512, 512), (64, 2000, 200), (2000, 700, 16), (32, 25000, 128),
                 (2000, 38401, 8), (300, 5000, 4), (1, 5000, 3000)]
"""XORBoost's histogram products (2K x n x d*B: a tiny inner chunk, see `ring_matmul`), its
go-left products (n x d*B x K, numpy's uint64 path, on a transposed right operand as
there), square and narrow ones, and a vector times a matrix (numpy's slow case)."""


def matmul(model: CostModel) -> None:
    print(f"\nring_matmul: charge (matmul_work) vs measured CPU time, load {_load()}")
    print(f"{'m x k x n':>22s} {'charged':>9s} {'measured':>9s} {'ratio':>6s}")
    rng = np.random.default_rng(0)
    for m, k, n in MATMUL_SHAPES:
        x = rng.integers(0, 2**64 - 1, (m, k), dtype=np.uint64, endpoint=True)
        y = rng.integers(0, 2**64 - 1, (k, n), dtype=np.uint64, endpoint=True)
        if n <= 8:  # as XORBoost's go-left product: a transposed selection
            y = np.ascontiguousarray(y.T).T
        best = float("inf")
        for _ in range(2):
            start = time.process_time()
            ring_matmul(x, y)
            best = min(best, time.process_time() - start)
        charged = model.time(matmul_work((m, k), (k, n)))
        print(f"{f'{m} x {k} x {n}':>22s} {charged:9.4f} {best:9.4f} {charged / best:6.2f}",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", help="comma-separated case names (default: all)")
    parser.add_argument("--repeat", type=int, default=2, help="TCP runs per case (best kept)")
    parser.add_argument("--model", help="a cost model file (default: the shipped one)")
    parser.add_argument("--large", action="store_true", help="add the 10^6-element cases")
    parser.add_argument("--no-matmul", action="store_true", help="skip the ring_matmul table")
    args = parser.parse_args()
    cases = {**CASES, **(LARGE if args.large else {})}
    if args.cases:
        wanted = [c.strip() for c in args.cases.split(",")]
        cases = {k: v for k, v in cases.items() if any(w in k for w in wanted)}
    fidelity(cases, args.repeat, args.model)
    if not args.no_matmul:
        matmul(CostModel.load(args.model) if args.model else CostModel.default())


if __name__ == "__main__":
    main()
