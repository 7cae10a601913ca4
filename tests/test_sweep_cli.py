"""Sweeps from the command line: run, validate, report, compare; shipped sweep files."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest

from ppsim import compare, sweep
from ppsim.cli import main

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "scenarios").glob("sweep_*.toml"))

BASE = """
seed = 5
[protocol]
name = "secure_sum"
vector_length = 30
[topology]
kind = "star"
latency = 0.001
bandwidth = 1.25e8
"""


def _file(tmp_path: Path, sweep_table: str, base: str = BASE) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(base + "[sweep]\n" + sweep_table + "\n")
    return path


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> Path:
    """A small sweep run through the command line: parties x topology."""
    tmp = tmp_path_factory.mktemp("cli")
    path = _file(tmp, '"protocol.parties" = [3, 6, 12]\n"topology.kind" = ["star", "ring"]')
    out = tmp / "out"
    assert main(["run", str(path), "--out", str(out), "--jobs", "2", "--quiet"]) == 0
    return out


def test_run_writes_every_point_and_the_table(ran):
    table = pd.read_parquet(ran / "results.parquet")
    assert len(table) == 6 and set(table["status"]) == {"ok"}
    assert len(list((ran / "points").glob("*/report.json"))) == 6
    assert main(["run", str(ran.parent / "s.toml"), "--out", str(ran), "--quiet"]) == 0


def test_a_rerun_after_editing_the_base_recomputes_and_says_why(tmp_path, capsys):
    path = _file(tmp_path, '"protocol.parties" = [3, 4]')
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--jobs", "1", "--quiet"]) == 0
    path.write_text(path.read_text().replace("vector_length = 30", "vector_length = 50000"))
    capsys.readouterr()
    assert main(["run", str(path), "--out", str(out), "--jobs", "1", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "2 ran now, 0 were already done" in text
    assert "2 ran because scenario changed: protocol.vector_length 30 -> 50000" in text
    assert main(["run", str(path), "--out", str(out), "--quiet", "--fresh"]) == 0
    assert "2 ran because --fresh" in capsys.readouterr().out


@pytest.mark.parametrize(("table", "message"), [
    ('"protocol.partys" = [3]', "unknown parameter 'protocol.partys'"),
    ('"protocol.parties" = []', "empty"),
    ('[sweep.zip]\n"protocol.parties" = [3, 4]\n"topology.kind" = ["ring"]', "same length"),
    ('"protocol.parties" = [3, 1]', "point 1 (protocol.parties=1) is invalid"),
])
def test_bad_sweeps_exit_2_and_run_nothing(tmp_path, capsys, table, message):
    path = _file(tmp_path, table)
    out = tmp_path / "out"
    assert main(["validate", str(path)]) == 2
    assert main(["run", str(path), "--out", str(out)]) == 2
    assert message in " ".join(capsys.readouterr().err.split())
    assert not out.exists()


def test_an_unreachable_cluster_exits_2_and_runs_nothing(tmp_path, capsys):
    path = _file(tmp_path, '"protocol.parties" = [3, 4]')
    out = tmp_path / "out"
    code = main(["run", str(path), "--out", str(out), "--cluster", "tcp://127.0.0.1:9",
                 "--connect-timeout", "0.5"])
    assert code == 2
    assert "cannot reach the Dask scheduler" in " ".join(capsys.readouterr().err.split())
    assert not out.exists()


def test_a_failing_point_exits_1_after_the_others_ran(tmp_path, capsys):
    path = _file(tmp_path, '"protocol.parties" = [3]\n'
                 'faults = [[], [{kind = "crash", party = 1, at = 0.0}]]')
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--jobs", "1", "--quiet"]) == 1
    table = pd.read_csv(out / "results.csv")
    assert list(table["status"]) == ["ok", "failed"]
    assert "1 of 2 runs failed" in " ".join(capsys.readouterr().out.split())


def test_an_interrupted_run_keeps_its_points_and_resumes(tmp_path, monkeypatch):
    path = _file(tmp_path, '"protocol.parties" = [3, 4, 5, 6]')
    out = tmp_path / "out"
    calls: list[int] = []
    real = sweep.run_point

    def interrupted_at_third(data, source, *limits):
        calls.append(data["protocol"]["parties"])
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(data, source, *limits)

    monkeypatch.setattr(sweep, "run_point", interrupted_at_third)
    assert main(["run", str(path), "--out", str(out), "--jobs", "1", "--quiet"]) == 1
    table = pd.read_csv(out / "results.csv")
    assert list(table["status"]) == ["ok", "ok", "missing", "missing"]
    calls.clear()
    monkeypatch.setattr(sweep, "run_point", lambda data, source, *limits: (
        calls.append(data["protocol"]["parties"]), real(data, source, *limits))[1])
    assert main(["run", str(path), "--out", str(out), "--jobs", "1", "--quiet"]) == 0
    assert calls == [5, 6]
    assert set(pd.read_csv(out / "results.csv")["status"]) == {"ok"}


def test_report_writes_a_summary_and_plots_that_open(ran, tmp_path):
    dest = tmp_path / "rep"
    assert main(["report", str(ran), "--out", str(dest)]) == 0
    summary = (dest / "summary.md").read_text()
    pngs = sorted(dest.glob("*.png"))
    assert {p.name for p in pngs} == {"cost_vs_protocol_parties.png",
                                      "cost_vs_topology_kind.png"}
    for png in pngs:
        assert f"]({png.name})" in summary
        height, width, _ = matplotlib.image.imread(png).shape
        assert height > 200 and width > 200
    assert "6 runs: 6 ok" in summary and "| protocol.parties | topology.kind |" in summary


def test_report_of_a_single_run(ran, tmp_path):
    point = next((ran / "points").iterdir())
    dest = tmp_path / "one"
    assert main(["report", str(point / "report.json"), "--out", str(dest)]) == 0
    assert (dest / "phases.png").exists() and "## Phases" in (dest / "summary.md").read_text()
    assert main(["report", str(tmp_path / "nowhere")]) == 2


def test_compare_lists_changed_keys_with_ratios(ran, capsys):
    table = pd.read_parquet(ran / "results.parquet").set_index(["protocol.parties",
                                                                 "topology.kind"])
    a = ran / "points" / table.loc[(3, "star"), "point"]
    b = ran / "points" / table.loc[(12, "star"), "point"]
    ra, rb = compare.read(a), compare.read(b)
    diffs = {key: (va, vb, r) for key, va, vb, r in compare.differences(ra, rb)}
    assert diffs["scenario.protocol.parties"][:2] == (3, 12)
    assert diffs["totals.bytes"] == (ra["totals"]["bytes"], rb["totals"]["bytes"],
                                     rb["totals"]["bytes"] / ra["totals"]["bytes"])
    assert "totals.rounds" not in diffs  # 2 rounds for both: unchanged keys are left out
    assert main(["compare", str(a), str(b)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "totals.bytes" in out and f"{diffs['totals.bytes'][2]:.4g}x" in out
    assert main(["compare", str(a), str(a / "missing.json")]) == 2


# ---------------------------------------------------------------- shipped sweeps


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_sweep_validates_every_point(path):
    assert main(["validate", str(path)]) == 0


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_sweep_runs_reduced(path, tmp_path):
    """Each shipped sweep on every topology, with the two smallest sizes and short vectors."""
    data = tomllib.loads(path.read_text())
    if "vector_length" in data["protocol"]:
        data["protocol"]["vector_length"] = 8
    for table in (data["sweep"], data["sweep"].get("zip", {})):
        for name, values in table.items():
            if isinstance(values, list) and not isinstance(values[0], dict):
                table[name] = values[:2]
    parsed = sweep.parse(data, str(path))
    sweep.check(parsed)
    result = sweep.run(parsed, tmp_path, jobs=1, progress=False)
    assert result.failed == [] and set(result.table["status"]) == {"ok"}
    reports = [json.loads(rep.read_text()) for rep in (tmp_path / "points").glob("*/report.json")]
    assert len(reports) == len(result.table)
    for rep in reports:  # each run's own check, where its protocol makes one
        assert rep.get("result_check", {}).get("ok", True)
        assert "result_check" in rep or "accuracy" in rep


def test_a_federated_sweep_tabulates_and_plots_accuracy(tmp_path):
    base = """
seed = 2
[protocol]
name = "fedavg"
clients = 3
model = "logreg"
dataset = "synthetic"
n_samples = 300
rounds = 3
local_epochs = 1
[topology]
kind = "star"
"""
    path = _file(tmp_path, '"protocol.aggregation" = ["secagg", "secagg+"]', base)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--jobs", "1", "--quiet"]) == 0
    table = pd.read_parquet(out / "results.parquet")
    for row in table.to_dict("records"):
        rep = compare.read(out / "points" / row["point"])
        assert row["accuracy"] == rep["accuracy"]["value"]
        assert row["accuracy_baseline"] == rep["accuracy"]["baseline"]
        assert row["accuracy_metric"] == rep["accuracy"]["metric"]
    assert main(["report", str(out)]) == 0
    for name in ("accuracy_vs_cost.png", "accuracy_per_round.png"):
        assert matplotlib.image.imread(out / name).shape[0] > 200
