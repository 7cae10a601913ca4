"""Run a validated scenario on either runtime and build its report.

* `run_scenario`: the simulator (virtual time, modelled costs).
* `run_scenario_tcp`: every party a task of this process over loopback TCP.
* `run_scenario_party`: one party of a run whose parties are separate processes
  (``ppsim party FILE --id K --hosts h0:p0,h1:p1,... --key-file run.key``);
  each process writes the whole run's costs, identical across the processes
  apart from times. A party's output never leaves its process, so only the
  processes of the result's parties (`sim.Plan.outputs`) can check it: their
  reports carry the protocol's keys (``result_check``, accuracy, ...), the
  others say who holds the result (``result_held_by``). When the result is
  spread over several parties, each of them adds what it can check alone of
  its own output (`sim.Plan.summarize_own`).

A run whose result was not produced (its party crashed or did not finish)
raises `sim.ResultMissing`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ppsim import report
from ppsim.scenario import Scenario, ScenarioError
from sim import Progress, simulate

if TYPE_CHECKING:
    from sim.tcp import TcpRunResult


def _options(scenario: Scenario, **tcp: Any) -> dict[str, Any]:
    """The runtime options of `scenario`, plus the TCP ones that were given (hosts are
    the simulator's: a TCP run's parties share whatever machine they run on)."""
    model = scenario.model
    if tcp and not scenario.profile.is_default:
        raise ScenarioError(
            scenario.source, "network.profile",
            f"got {scenario.profile.name!r}; the TCP runtime sends and counts its own codec's "
            f"bytes, so it takes only the default profile \"ppsim\" (a wire profile is a "
            f"simulator's prediction)")
    return {"seed": model.seed, "header_bytes": model.network.header_bytes,
            "cost_model": scenario.cost_model, "faults": scenario.faults,
            **{k: v for k, v in tcp.items() if v is not None}}


def run_scenario(scenario: Scenario, *, progress: Callable[[Progress], None] | None = None,
                 progress_every_s: float = 0.5) -> dict[str, Any]:
    """Simulate `scenario` and return its report (see `ppsim.report`); `progress` is
    called with the run's `Progress` every `progress_every_s` seconds of wall time."""
    result = simulate(scenario.graph, scenario.plan.programs, profile=scenario.profile,
                      hosts=scenario.hosts, record_views=scenario.model.output.record_views,
                      progress=progress, progress_every_s=progress_every_s,
                      **_options(scenario))
    scenario.plan.check_outputs(result)
    return report.build(scenario, result)


def run_tag(scenario: Scenario) -> str:
    """A run identity every party process derives alike from the scenario."""
    text = json.dumps(scenario.as_dict(), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def tcp_report(scenario: Scenario, result: TcpRunResult) -> dict[str, Any]:
    """`report.build` for a real run, with ``runtime: "tcp"`` and a ``transport`` key.

    ``transport`` holds ``frame_bytes`` (the real frame overhead of the data
    messages, every hop), ``frame_bytes_by_link``, ``control_bytes`` (the
    runtime's own frames), ``security_bytes`` (handshakes and record tags of the
    authenticated, encrypted links) and ``notes`` (refused connections, dropped
    links); the totals keep the scenario's modelled header.
    """
    rep = report.build(scenario, result)
    rep["runtime"] = "tcp"
    rep["transport"] = {
        "frame_bytes": result.frame_bytes,
        "frame_bytes_by_link": [{"src": u, "dst": v, "bytes": b}
                                for (u, v), b in result.frame_bytes_by_link.items()],
        "control_bytes": result.control_bytes,
        "security": "links authenticated by the run key, X25519 + HKDF-SHA256, AES-256-GCM",
        "security_bytes": result.security_bytes,
        "notes": result.notes,
    }
    return rep


def run_scenario_tcp(scenario: Scenario, *, timeout_s: float | None = None,
                     hosts: Sequence[str] | None = None) -> dict[str, Any]:
    """Run every party of `scenario` in this process over TCP; return the report.
    `timeout_s` (default `sim.tcp.DEFAULT_TIMEOUT_S`) bounds any one wait for a peer."""
    from sim.tcp import run_tcp

    result = run_tcp(scenario.graph, scenario.plan.programs, hosts=hosts,
                     record_views=scenario.model.output.record_views,
                     **_options(scenario, timeout_s=timeout_s))
    scenario.plan.check_outputs(result)
    return tcp_report(scenario, result)


def run_scenario_party(scenario: Scenario, party_id: int, hosts: Sequence[str], *,
                       run_key: bytes, timeout_s: float | None = None) -> dict[str, Any]:
    """Run party `party_id` of `scenario` (one process per party); return the run's report
    (see the module docstring). `run_key` is the secret all the processes share."""
    from sim.tcp import run_party_process

    result = run_party_process(scenario.graph, scenario.plan.programs, party_id, hosts,
                               tag=run_tag(scenario), run_key=run_key,
                               **_options(scenario, timeout_s=timeout_s))
    plan = scenario.plan
    plan.check_outputs(result, finished=result.finished)
    holders = plan.output_parties()
    if set(holders) <= {party_id}:
        return tcp_report(scenario, result)
    own = plan.summarize_own if party_id in holders and plan.summarize_own else None
    held = dataclasses.replace(plan, summarize=lambda result: {
        "result_held_by": holders, **(own(party_id, result) if own else {})})
    return tcp_report(dataclasses.replace(scenario, plan=held), result)
