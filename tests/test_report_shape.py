"""One report shape across protocol families: `split` an object, accuracy a value or absent
with a reason (cost-only runs, cost demonstrations)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from ppsim import report
from ppsim.cli import main
from ppsim.run import run_scenario
from ppsim.scenario import from_dict, load

ROOT = Path(__file__).resolve().parent.parent
STAR = {"kind": "star", "latency": 0.001, "bandwidth": 1e7}

FAMILIES = {
    "fedavg": {"name": "fedavg", "clients": 3, "model": "logreg", "dataset": "synthetic",
               "n_samples": 200, "n_features": 6, "rounds": 2, "local_epochs": 1},
    "secureboost": {"name": "secureboost", "clients": 2, "dataset": "synthetic",
                    "n_samples": 120, "n_features": 6, "n_estimators": 1, "max_depth": 2,
                    "key_bits": 512, "insecure_keys": True},
    "xorboost": {"name": "xorboost", "dataset": "synthetic", "n_samples": 120, "n_features": 4,
                 "split": "mixed", "owners": 3, "servers": 2, "max_depth": 2,
                 "n_estimators": 1, "max_bin": 4},
    "secagg": {"name": "secagg", "clients": 4, "vector_length": 16},
}


def _run(protocol: dict, **extra) -> dict:
    return run_scenario(from_dict({"seed": 2, "protocol": protocol, "topology": STAR, **extra}))


@pytest.fixture(scope="module")
def reports() -> dict[str, dict]:
    return {family: _run(protocol) for family, protocol in FAMILIES.items()}


def test_split_is_one_object_in_every_family(reports):
    kinds = {}
    for family, rep in reports.items():
        split = rep["split"]
        assert set(split) == {"kind", "owners", "parts"}, family
        assert split["owners"] == len(split["parts"])
        for k, part in enumerate(split["parts"]):
            assert set(part) == {"owner", "rows", "cols", "labels"}
            assert part["owner"] == k and part["rows"] > 0 and part["cols"] > 0
        kinds[family] = split["kind"]
    assert kinds == {"fedavg": "horizontal", "secureboost": "vertical", "xorboost": "mixed",
                     "secagg": "horizontal"}


def test_split_parts_add_up_to_the_data(reports):
    fedavg = reports["fedavg"]["split"]["parts"]
    assert sum(p["rows"] for p in fedavg) == 150  # 200 samples, a quarter held out
    assert {p["cols"] for p in fedavg} == {6} and all(p["labels"] for p in fedavg)
    boost = reports["secureboost"]["split"]["parts"]
    assert sum(p["cols"] for p in boost) == 6
    assert [p["labels"] for p in boost] == [True, False, False]
    secagg = reports["secagg"]["split"]["parts"]
    assert [(p["rows"], p["cols"], p["labels"]) for p in secagg] == [(1, 16, False)] * 4


def test_accuracy_is_a_value_beside_its_baseline(reports):
    for family in ("fedavg", "secureboost", "xorboost"):
        acc = reports[family]["accuracy"]
        assert isinstance(acc["value"], float) and isinstance(acc["baseline"], float), family
        assert "absent" not in reports[family]


def test_cost_only_leaves_accuracy_out_and_says_why(tmp_path, capsys):
    rep = _run({**FAMILIES["xorboost"], "mode": "cost_only"})
    assert "accuracy" not in rep and rep["mode"] == "cost_only"
    assert rep["absent"]["accuracy"].startswith("not computed in cost_only mode")
    report.print_table(rep, _console())
    shown = capsys.readouterr().out
    assert "not computed in cost_only mode" in shown and "None" not in shown


def test_a_cost_demonstration_shows_no_accuracy():
    rep = _run(FAMILIES["fedavg"], output={"accuracy": False})
    assert "accuracy" not in rep and "accuracy_per_round" not in rep
    assert "cost demonstration" in rep["absent"]["accuracy"]
    shipped = tomllib.loads((ROOT / "scenarios" / "fed_secureboost_1000.toml").read_text())
    assert shipped["output"]["accuracy"] is False  # chance-level data: marked, not scored
    assert load(ROOT / "scenarios" / "fed_secureboost_1000.toml").model.output.accuracy is False


@pytest.mark.parametrize(("keys", "message"), [
    ({"split": "horizontal"}, "expected an object with kind, owners and parts"),
    ({"accuracy": {"metric": "auc", "value": None, "baseline": 0.7}}, "no accuracy and the"),
    ({"accuracy": {"metric": "auc", "value": 0.7, "baseline": 0.7},
      "absent": {"accuracy": "why"}}, "expected reasons for keys it leaves out"),
])
def test_a_protocol_breaking_the_shape_is_caught(keys, message):
    with pytest.raises(ValueError, match=message):
        report.check_shape("demo", keys)


def test_the_cli_prints_the_reason(tmp_path, capsys):
    path = tmp_path / "cost.toml"
    path.write_text("""
seed = 1
[protocol]
name = "xorboost"
mode = "cost_only"
dataset = "synthetic"
n_samples = 100
n_features = 3
split = "vertical"
owners = 2
n_estimators = 1
max_depth = 2
max_bin = 4
[topology]
kind = "star"
""")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "not computed in cost_only mode" in out
    assert "vertical, 2 data owners" in out


def _console():
    from ppsim.console import make_console

    return make_console()


def test_timing_says_the_simulators_times_are_critical_path_shares(reports, capsys):
    """A simulated report says its times are simulated shares of the critical path; its
    terminal keeps the simulator's captions (no "modelled" label: every time is)."""
    for family, rep in reports.items():
        timing = rep["timing"]
        assert timing["clock"] == "simulated" and timing["timed_party"] is None, family
        assert "critical path" in timing["phases"]
    report.print_table(reports["secagg"], _console())
    shown = capsys.readouterr().out
    assert "compute (s)" in shown and "waiting (s)" in shown and "modelled" not in shown
