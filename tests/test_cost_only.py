"""Cost-only runs (payloads that carry shapes, not values) cost what full runs cost.

Every shipped scenario whose protocol has a cost-only ``mode`` runs in both modes;
the reports must agree key for key but for ``wall_time_s``, ``mode`` (and the
scenario's own ``protocol.mode``) and ``accuracy``: a cost-only run computes no
values, so it has no model to score (it says so under ``absent``). Equal bytes,
rounds and times need every message size and every compute charge to depend only
on public sizes.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ppsim import report
from ppsim.catalog import find
from ppsim.run import run_scenario
from ppsim.scenario import from_dict, read

ROOT = Path(__file__).resolve().parent.parent


def _supports_cost_only(data: dict[str, Any]) -> bool:
    field = find(data["protocol"]["name"]).params.model_fields.get("mode")
    return field is not None and "cost_only" in str(field.annotation)


def _cases() -> list:
    cases = []
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        data = read(path)
        if "sweep" in data or not _supports_cost_only(data):
            continue
        if data["protocol"].get("mode") == "cost_only":  # too large to run in full
            continue
        marks = [pytest.mark.slow] if "slow" in data.get("tags", []) else []
        cases.append(pytest.param(path, marks=marks, id=path.stem))
    return cases


def _report(data: dict[str, Any], mode: str, source: str) -> dict[str, Any]:
    data = copy.deepcopy(data)
    data["protocol"]["mode"] = mode
    rep = json.loads(report.dumps(run_scenario(from_dict(data, source))))
    rep["scenario"]["protocol"].pop("mode")
    for key in ("wall_time_s", "mode", "accuracy", "absent"):
        rep.pop(key, None)
    return rep


def test_there_are_cases():
    assert len(_cases()) >= 8


@pytest.mark.parametrize("path", _cases())
def test_cost_only_report_equals_the_full_one(path: Path):
    data = read(path)
    full = _report(data, "full", str(path))
    cost = _report(data, "cost_only", str(path))
    assert set(full) == set(cost)
    flat_full, flat_cost = report.flatten(full, "report"), report.flatten(cost, "report")
    differ = sorted(k for k in flat_full if flat_full[k] != flat_cost.get(k))
    assert not differ, f"cost-only differs in {differ}"
