"""Testing protocols: run programs or a plan on either runtime in one call, check the result.

    out = run(plan, runtime="tcp", record_views=True)
    assert out.report["result_check"]["ok"]
    assert_costs(out, "input sharing", rounds=1)
    assert_view_uniform(out, party=2)

`run` takes party programs (a dict by id, or one program for ``n`` parties) or
a protocol's `Plan`, over a complete topology or a given one, on the simulator
(``runtime="sim"``) or over loopback TCP (``"tcp"``), and returns an `Outcome`:
the parties' outputs, the report keys a ``report.json`` holds apart from the
scenario (costs from `sim.costs`, and for a plan its roles, trust, reveals and
own keys) and, with ``record_views=True``, what each party received. `arun` is
the same inside a running trio loop (pytest-trio tests). The checks live in
`sim.testing.checks`; hypothesis strategies in `sim.testing.strategies`; the
pytest plugin (fixtures ``ppsim_runtime``, ``ppsim_run``, ``ppsim_arun``) in
`sim.testing.plugin`. This module imports neither pytest nor hypothesis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import networkx as nx

import topologies
from sim.costs import costs
from sim.engine import RunResult, simulate
from sim.ledger import ViewEntry
from sim.party import Program
from sim.plan import Plan
from sim.testing.checks import (
    assert_costs,
    assert_view_uniform,
    bits_balanced,
    chi_square_uniform,
    looks_uniform,
    view_arrays,
)

Runtime = Literal["sim", "tcp"]
RUNTIMES: tuple[Runtime, ...] = ("sim", "tcp")

Runnable = Plan | Mapping[int, Program] | Callable[..., Any]
"""What `run` takes: a protocol's plan, each party's program by id, or one program."""


@dataclass
class Outcome:
    """What a run gave: outputs, report keys and (when recorded) each party's view.

    Attributes:
        result: the runtime's `sim.RunResult` (ledger, network, crashes).
        runtime: ``"sim"`` or ``"tcp"``.
        plan: the plan that ran, or None for bare programs.
    """

    result: RunResult
    runtime: Runtime
    plan: Plan | None = None
    programs: Mapping[int, Program] = field(default_factory=dict, repr=False)

    @property
    def outputs(self) -> dict[int, Any]:
        """Each party's return value, by id (parties that crashed or ran nothing are absent)."""
        return self.result.outputs

    @cached_property
    def report(self) -> dict[str, Any]:
        """The keys of ``report.json`` that need no scenario: ``runtime``, the costs
        (``totals``, ``offline``, ``phases``, ``parties``, ``links``, ...) and, for a
        plan, ``mode``, ``roles``, ``trust``, ``reveals`` and the protocol's own keys.
        Raises `sim.ResultMissing` if a party whose output is the result crashed."""
        if self.plan is not None:
            self.plan.check_outputs(self.result)
            return {"runtime": self.runtime, **self.plan.report(self.result)}
        return {"runtime": self.runtime, **costs(self.result, programs=self.programs)}

    @property
    def views(self) -> dict[int, list[ViewEntry]]:
        """What each party received (time, sender, phase, payload), in order."""
        views = self.result.ledger.views
        if views is None:
            raise ValueError("views were not recorded: run with record_views=True")
        return views

    def phase(self, name: str) -> dict[str, Any]:
        """The report's row of phase `name` (bytes, messages, rounds, times)."""
        rows = {p["name"]: p for p in self.report["phases"]}
        if name not in rows:
            raise KeyError(f"no phase {name!r}; the run's phases: {', '.join(rows) or 'none'}")
        return rows[name]


def _prepare(what: Runnable, n: int | None, topology: nx.Graph | None, latency: float,
             bandwidth: float) -> tuple[nx.Graph, Mapping[int, Program], Plan | None]:
    plan = what if isinstance(what, Plan) else None
    if plan is not None:
        if n is not None and n != plan.n_parties:
            raise ValueError(f"the plan has {plan.n_parties} parties, not n = {n}")
        n, programs = plan.n_parties, plan.programs
    elif callable(what):
        if n is None:
            if topology is None:
                raise ValueError("run(program): give n, the number of parties, or a topology")
            n = topology.number_of_nodes()
        programs = dict.fromkeys(range(n), what)
    else:
        programs = what
    if topology is None:
        size = n if n is not None else max(programs, default=-1) + 1
        topology = topologies.complete(size, latency=latency, bandwidth=bandwidth)
    return topology, programs, plan


def _check_runtime(runtime: str) -> None:
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}; got {runtime!r}")


def run(what: Runnable, *, n: int | None = None, topology: nx.Graph | None = None,
        runtime: Runtime = "sim", latency: float = 1e-3, bandwidth: float = 1.25e8,
        **options: Any) -> Outcome:
    """Run a plan or party programs; return the `Outcome`.

    Args:
        what: a protocol's `Plan`, each party's program by id, or one program
            that every one of `n` parties runs.
        n: the number of parties for a single program (default: the
            topology's size).
        topology: the network; default the complete graph with `latency` (s)
            and `bandwidth` (bytes/s) on every link.
        runtime: ``"sim"`` (virtual time) or ``"tcp"`` (loopback sockets, this
            process; not inside a running trio loop, use `arun` there).
        options: those of `sim.simulate`: ``seed``, ``header_bytes``,
            ``faults`` and ``hosts`` (simulator only), ``cost_model``,
            ``record_views``; on TCP also ``timeout_s``.
    """
    _check_runtime(runtime)
    graph, programs, plan = _prepare(what, n, topology, latency, bandwidth)
    if runtime == "sim":
        result = simulate(graph, programs, **options)
    else:
        from sim.tcp import run_tcp

        result = run_tcp(graph, programs, **options)
    return Outcome(result, runtime, plan, programs)


async def arun(what: Runnable, *, n: int | None = None, topology: nx.Graph | None = None,
               runtime: Runtime = "sim", latency: float = 1e-3, bandwidth: float = 1.25e8,
               **options: Any) -> Outcome:
    """`run` from inside a running trio loop (a pytest-trio test): the TCP runtime
    runs in that loop; the simulator runs at once (it has its own clock)."""
    _check_runtime(runtime)
    graph, programs, plan = _prepare(what, n, topology, latency, bandwidth)
    if runtime == "sim":
        result = simulate(graph, programs, **options)
    else:
        from sim.tcp import run_tcp_async

        result = await run_tcp_async(graph, programs, **options)
    return Outcome(result, runtime, plan, programs)


def run_plan(plan: Plan, **options: Any) -> tuple[RunResult, dict[str, Any]]:
    """Run a protocol's plan (options as for `run`); return the raw result and the
    protocol's summary (its own report keys), without computing the costs."""
    outcome = run(plan, **options)
    return outcome.result, plan.summarize(outcome.result)


__all__ = [
    "RUNTIMES",
    "Outcome",
    "Runnable",
    "Runtime",
    "arun",
    "assert_costs",
    "assert_view_uniform",
    "bits_balanced",
    "chi_square_uniform",
    "looks_uniform",
    "run",
    "run_plan",
    "view_arrays",
]
