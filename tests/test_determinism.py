"""The same scenario and seed give byte-identical reports, apart from wall time."""

from __future__ import annotations

from pathlib import Path

import pytest

from ppsim import report
from ppsim.run import run_scenario
from ppsim.scenario import load

ROOT = Path(__file__).resolve().parent.parent

# One scenario per protocol family: sharing with a dealer, faults, XORBoost,
# federated averaging with secure aggregation, Paillier-based SecureBoost.
SCENARIOS = ["mul_cmp", "sum_shamir_crash", "xorboost_mixed_3", "fed_avg_10_dropout",
             "fed_secureboost_10"]


def _text(name: str) -> str:
    rep = run_scenario(load(ROOT / "scenarios" / f"{name}.toml"))
    rep.pop("wall_time_s")
    return report.dumps(rep)


@pytest.mark.parametrize("name", SCENARIOS)
def test_same_seed_same_report(name):
    assert _text(name) == _text(name)
