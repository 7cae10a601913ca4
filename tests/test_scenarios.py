"""Every file in scenarios/ validates and runs, its own checks pass, and its costs add up."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from ppsim.run import run_scenario
from ppsim.scenario import load
from ppsim.sweep import check, parse
from sim.costs import SPLIT

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted((ROOT / "scenarios").glob("*.toml"))


def _param(path: Path):
    data = tomllib.loads(path.read_text())
    if "sweep" in data:  # many runs each: every point validated below, sweeps run in test_sweep*
        return pytest.param(path, marks=pytest.mark.skip(reason="sweep file"), id=path.stem)
    marks = [pytest.mark.slow] if "slow" in data.get("tags", []) else []
    return pytest.param(path, marks=marks, id=path.stem)


def test_there_is_a_quickstart():
    assert (ROOT / "scenarios" / "quickstart.toml") in FILES


SWEEPS = [p for p in FILES if "sweep" in tomllib.loads(p.read_text())]


@pytest.mark.parametrize("path", SWEEPS, ids=[p.stem for p in SWEEPS])
def test_every_point_of_a_shipped_sweep_validates(path: Path):
    """Each point's scenario (the base with the point's values, references included)
    passes the same validation as a scenario file, without running."""
    sweep = parse(tomllib.loads(path.read_text()), str(path))
    assert sweep.points
    check(sweep)


@pytest.mark.parametrize("path", [_param(p) for p in FILES])
def test_scenario_runs(path: Path):
    report = run_scenario(load(path))
    totals = report["totals"]
    assert totals["messages"] > 0 and totals["bytes"] > 0 and totals["sim_time_s"] > 0
    assert sum(p["bytes"] for p in report["phases"]) == totals["bytes"]
    assert sum(p["bytes_sent"] for p in report["parties"]) == totals["bytes"]
    assert_phase_times_add_up(report)
    for key in ("result_check", "prediction_check"):
        if key in report and "ok" in report[key]:
            assert report[key]["ok"], report[key]
    if "accuracy" in report:  # a scenario that shows accuracy has learned something
        acc = report["accuracy"]
        assert LEARNED.get(acc["metric"], lambda _: True)(acc["baseline"]), acc
        assert LEARNED.get(acc["metric"], lambda _: True)(acc["value"]), acc


LEARNED = {
    "accuracy": lambda v: v >= 0.6,  # binary sets here, or 10-class digits
    "auc": lambda v: v >= 0.6,
    "error_rate": lambda v: v <= 0.4,
}
"""Well away from chance; a scenario whose data cannot be learned says so instead
(``[output] accuracy = false``: a cost demonstration)."""


def assert_phase_times_add_up(report: dict) -> None:
    """The phases' times add up to the online time (offline phases to the preprocessing's).

    Simulated, they are shares of the critical path, each split into compute,
    messaging, network and wait. Measured (TCP), each is the slowest party's wall
    time in the phase, not split; ``timing`` says so. Either way a phase's time is
    a sum of differences of one clock's readings that telescopes to the total, so
    only float rounding separates them: rel=1e-9 is far above it (dozens of terms,
    each off by ~1e-16 relative) and far below any time a phase could lose.
    """
    measured = report["timing"]["clock"] == "measured"
    for offline, total in ((False, report["totals"]["sim_time_s"]),
                           (True, report["offline"]["sim_time_s"])):
        phases = [p for p in report["phases"] if p["offline"] == offline]
        assert sum(p["sim_time_s"] for p in phases) == pytest.approx(total, rel=1e-9, abs=1e-12)
        for p in phases:
            if measured:
                assert [p[k] for k in SPLIT] == [None] * 4, p["name"]
                continue
            split = sum(p[k] for k in SPLIT)
            assert split == pytest.approx(p["sim_time_s"], rel=1e-9, abs=1e-12), p["name"]
    assert "add up to totals.sim_time_s" in report["timing"]["phases"]
