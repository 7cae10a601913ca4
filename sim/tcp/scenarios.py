"""Scenarios on the real runtime: reports, and the entry point of a party process.

``python -m sim.tcp FILE --id K --hosts h0:p0,h1:p1,...`` runs party K of the
scenario (every party id needs such a process); each process writes the whole
run's report, identical across the processes apart from times.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim import report
from sim.engine import SimulationError
from sim.scenario import Scenario, ScenarioError, load
from sim.tcp.run import DEFAULT_TIMEOUT_S, TcpRunResult, run_party_process, run_tcp


def _options(scenario: Scenario) -> dict[str, Any]:
    model = scenario.model
    return {"seed": model.seed, "header_bytes": model.network.header_bytes,
            "element_time_s": model.cost.element_time_s, "faults": scenario.faults}


def run_tag(scenario: Scenario) -> str:
    """A run identity every party process derives alike from the scenario."""
    text = json.dumps(scenario.as_dict(), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def tcp_report(scenario: Scenario, result: TcpRunResult) -> dict[str, Any]:
    """`sim.report.build` for a real run, with ``runtime: "tcp"`` and a ``transport`` key.

    ``transport`` holds ``frame_bytes`` (the real frame overhead of the data
    messages, every hop), ``frame_bytes_by_link`` and ``control_bytes`` (the
    runtime's own frames); the totals keep the scenario's modelled header.
    """
    rep = report.build(scenario, result)
    rep["runtime"] = "tcp"
    rep["transport"] = {
        "frame_bytes": result.frame_bytes,
        "frame_bytes_by_link": [{"src": u, "dst": v, "bytes": b}
                                for (u, v), b in result.frame_bytes_by_link.items()],
        "control_bytes": result.control_bytes,
        "notes": result.notes,
    }
    return rep


def run_scenario_tcp(scenario: Scenario, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                     hosts: Sequence[str] | None = None) -> dict[str, Any]:
    """Run every party of `scenario` in this process over TCP; return the report."""
    result = run_tcp(scenario.graph, scenario.plan.programs, timeout_s=timeout_s, hosts=hosts,
                     record_views=scenario.model.output.record_views, **_options(scenario))
    return tcp_report(scenario, result)


def run_scenario_party(scenario: Scenario, party_id: int, hosts: Sequence[str], *,
                       timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, Any]:
    """Run party `party_id` of `scenario` (one process per party); return the run's report."""
    result = run_party_process(scenario.graph, scenario.plan.programs, party_id, hosts,
                               timeout_s=timeout_s, tag=run_tag(scenario), **_options(scenario))
    return tcp_report(scenario, result)


def main(argv: Sequence[str] | None = None) -> int:
    """Exit codes as ``ppsim``: 0 done, 1 the run failed, 2 bad input."""
    ap = argparse.ArgumentParser(prog="python -m sim.tcp",
                                 description="Run one party of a scenario over TCP.")
    ap.add_argument("scenario", help="a scenario file (TOML)")
    ap.add_argument("--id", type=int, required=True, help="this party's id")
    ap.add_argument("--hosts", required=True,
                    help="host:port of every party, by id, comma separated")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                    help="seconds to wait for a peer to connect or to answer")
    ap.add_argument("--out", help="write report.json into this folder")
    args = ap.parse_args(argv)
    try:
        scenario = load(args.scenario)
        rep = run_scenario_party(scenario, args.id, args.hosts.split(","),
                                 timeout_s=args.timeout)
    except (ScenarioError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SimulationError as exc:
        print(f"party {args.id}: run failed: {exc}", file=sys.stderr)
        return 1
    if args.out:
        path = report.write(rep, Path(args.out))
        print(f"party {args.id}: report written to {path}")
    return 0
