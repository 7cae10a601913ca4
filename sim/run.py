"""Run a validated scenario and build its report."""

from __future__ import annotations

from typing import Any

from sim import report
from sim.engine import simulate
from sim.scenario import Scenario


def run_scenario(scenario: Scenario) -> dict[str, Any]:
    """Simulate `scenario` and return its report (see `sim.report`)."""
    model = scenario.model
    result = simulate(
        scenario.graph,
        scenario.plan.programs,
        seed=model.seed,
        header_bytes=model.network.header_bytes,
        faults=scenario.faults,
        element_time_s=model.cost.element_time_s,
        record_views=model.output.record_views,
    )
    return report.build(scenario, result)
