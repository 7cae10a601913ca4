"""Running protocols in tests: programs or a plan, on either runtime, in one call.

`run(programs)` runs party programs over a complete topology (or a given one)
on the simulator or on the TCP runtime and returns the `RunResult`;
`run_plan(plan)` does the same for a protocol's `Plan` and also returns the
protocol's summary. Both take the options of `sim.simulate` (``seed``,
``header_bytes``, ``faults``, ``cost_model``, ``hosts``, ``record_views``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import networkx as nx

import topologies
from sim.engine import RunResult, simulate
from sim.party import Program
from sim.plan import Plan

Runtime = Literal["sim", "tcp"]


def run(programs: Mapping[int, Program] | Callable[..., Any], *, n: int | None = None,
        topology: nx.Graph | None = None, runtime: Runtime = "sim",
        latency: float = 1e-3, bandwidth: float = 1.25e8, **options: Any) -> RunResult:
    """Run party programs and return the result.

    Args:
        programs: each party's program by id, or one program that every one of
            ``n`` parties runs.
        n: the number of parties when `programs` is a single program (default:
            the topology's size or the highest program id plus one).
        topology: the network; default the complete graph with `latency` (s)
            and `bandwidth` (bytes/s) on every link.
        runtime: ``"sim"`` (virtual time) or ``"tcp"`` (loopback sockets).
        options: passed to `sim.simulate` or `sim.tcp.run_tcp`.
    """
    if callable(programs):
        if n is None:
            if topology is None:
                raise ValueError("run(program): give n, the number of parties, or a topology")
            n = topology.number_of_nodes()
        programs = dict.fromkeys(range(n), programs)
    if topology is None:
        size = n if n is not None else max(programs, default=-1) + 1
        topology = topologies.complete(size, latency=latency, bandwidth=bandwidth)
    if runtime == "sim":
        return simulate(topology, programs, **options)
    if runtime == "tcp":
        from sim.tcp import run_tcp

        return run_tcp(topology, programs, **options)
    raise ValueError(f"runtime must be 'sim' or 'tcp', got {runtime!r}")


def run_plan(plan: Plan, **options: Any) -> tuple[RunResult, dict[str, Any]]:
    """Run a protocol's plan (see `run` for the options); return the result and the
    protocol's summary (its part of the report)."""
    result = run(plan.programs, n=plan.n_parties, **options)
    return result, plan.summarize(result)
