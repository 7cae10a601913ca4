"""`ppsim compare` as a regression gate: what it refuses, what it matches, its exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ppsim import compare, sweep
from ppsim.cli import main
from ppsim.report import dumps
from ppsim.run import run_scenario
from ppsim.scenario import from_dict

SCENARIO = {
    "seed": 3,
    "protocol": {"name": "secure_sum", "parties": 4, "vector_length": 50},
    "topology": {"kind": "star", "latency": 0.001, "bandwidth": 1e6},
}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict:
    return run_scenario(from_dict(SCENARIO))


def _write(folder: Path, rep: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(dumps(rep))
    return folder


def _grown(rep: dict, bytes_factor: float = 1.0, extra_rounds: int = 0) -> dict:
    """The same run with its costs grown, as a regressed protocol would report them."""
    out = json.loads(dumps(rep))
    out["totals"]["bytes"] = round(out["totals"]["bytes"] * bytes_factor)
    out["totals"]["rounds"] += extra_rounds
    return out


def test_two_runs_of_one_scenario_pass_a_zero_limit(base, tmp_path, capsys):
    a = _write(tmp_path / "a", base)
    b = _write(tmp_path / "b", run_scenario(from_dict(SCENARIO)))
    assert main(["compare", str(a), str(b), "--max-increase", "bytes=0,rounds=0"]) == 0
    out = capsys.readouterr().out
    assert "ok: 2 check(s) within their limits" in out


@pytest.mark.parametrize(("limits", "code"), [
    ("bytes=1%", 1),            # grew 2%
    ("bytes=3%", 0),
    (f"bytes={10**9}", 0),      # an absolute amount
    ("rounds=0", 1),            # one more round
    ("rounds=1", 0),
    ("bytes=3%,rounds=0", 1),   # any exceeded limit fails the gate
    ("phases[reveal].bytes=0", 0),  # any report key; this one did not grow
])
def test_a_cost_regression_exits_1_past_its_limit(base, tmp_path, limits, code):
    a = _write(tmp_path / "a", base)
    b = _write(tmp_path / "b", _grown(base, bytes_factor=1.02, extra_rounds=1))
    assert main(["compare", str(a), str(b), "--max-increase", limits]) == code


def test_json_output_names_each_check_and_the_verdict(base, tmp_path, capsys):
    a = _write(tmp_path / "a", base)
    b = _write(tmp_path / "b", _grown(base, bytes_factor=1.02))
    code = main(["compare", str(a), str(b), "--max-increase", "bytes=1%",
                 "--max-increase", "rounds=0", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["ok"] is False and doc["kind"] == "reports"
    checks = {c["metric"]: c for c in doc["checks"]}
    assert checks["bytes"]["exceeded"] and not checks["rounds"]["exceeded"]
    assert checks["bytes"]["a"] == base["totals"]["bytes"]
    assert checks["bytes"]["b"] == round(base["totals"]["bytes"] * 1.02)
    diff = {d["key"]: d for d in doc["differences"]}
    assert diff["totals.bytes"]["ratio"] == pytest.approx(1.02, rel=1e-3)


def test_different_runtimes_or_schemas_are_refused_unless_forced(base, tmp_path, capsys):
    a = _write(tmp_path / "a", base)
    tcp = _write(tmp_path / "tcp", {**base, "runtime": "tcp"})
    newer = _write(tmp_path / "newer", {**base, "schema_version": base["schema_version"] + 1})
    assert main(["compare", str(a), str(tcp)]) == 2
    assert "A ran on the sim runtime and B on the tcp runtime" in capsys.readouterr().err
    assert main(["compare", str(a), str(newer)]) == 2
    assert "schema version" in capsys.readouterr().err
    assert main(["compare", str(a), str(tcp), "--force"]) == 0
    assert "warning: A ran on the sim runtime" in capsys.readouterr().out


def test_different_scenarios_warn_and_are_refused_under_limits(base, tmp_path, capsys):
    other = {**SCENARIO, "protocol": {**SCENARIO["protocol"], "parties": 6}}
    a = _write(tmp_path / "a", base)
    b = _write(tmp_path / "b", run_scenario(from_dict(other)))
    assert main(["compare", str(a), str(b)]) == 0
    assert "warning: the scenarios differ in protocol.parties" in capsys.readouterr().out
    assert main(["compare", str(a), str(b), "--max-increase", "bytes=1%"]) == 2
    assert "limits compare runs of one scenario" in capsys.readouterr().err
    assert main(["compare", str(a), str(b), "--max-increase", "bytes=1%", "--force"]) == 1


@pytest.mark.parametrize("limits", ["bytes", "bytes=-1", "bytes=lots", "=3"])
def test_a_malformed_limit_exits_2(base, tmp_path, capsys, limits):
    a = _write(tmp_path / "a", base)
    assert main(["compare", str(a), str(a), "--max-increase", limits]) == 2
    assert "--max-increase" in capsys.readouterr().err


def test_an_unknown_metric_exits_2(base, tmp_path, capsys):
    a = _write(tmp_path / "a", base)
    assert main(["compare", str(a), str(a), "--max-increase", "byts=1%"]) == 2
    assert "no metric 'byts'" in capsys.readouterr().err


# ---------------------------------------------------------------- sweeps

SWEEP = {**SCENARIO, "sweep": {"protocol.parties": [3, 5], "topology.kind": ["star", "ring"]}}


def _sweep(folder: Path, data: dict = SWEEP) -> Path:
    parsed = sweep.parse(data, "test")
    sweep.run(parsed, folder, jobs=1, progress=False)
    return folder


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("sweeps")
    return _sweep(tmp / "a"), _sweep(tmp / "b")


def _regress(folder: Path, dest: Path, parties: int, kind: str) -> Path:
    """A copy of a sweep's table in which one row's bytes grew by 10%."""
    dest.mkdir()
    (dest / "sweep.json").write_text((folder / "sweep.json").read_text())
    (dest / "points").symlink_to(folder / "points")
    table = sweep.load_table(folder)
    row = (table["protocol.parties"] == parties) & (table["topology.kind"] == kind)
    table.loc[row, "bytes"] = (table.loc[row, "bytes"] * 1.1).round().astype(int)
    sweep.write_table(table, dest)
    return dest


def test_two_runs_of_one_sweep_match_row_by_row(sweeps, capsys):
    a, b = sweeps
    assert main(["compare", str(a), str(b), "--max-increase", "bytes=0,rounds=0"]) == 0
    out = capsys.readouterr().out
    assert "identical" in out and "ok: 8 check(s)" in out  # 4 rows x 2 limits


def test_a_regressed_sweep_row_fails_the_gate_and_is_named(sweeps, tmp_path, capsys):
    a, _ = sweeps
    b = _regress(a, tmp_path / "b", parties=5, kind="ring")
    code = main(["compare", str(a), str(b), "--max-increase", "bytes=5%", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["kind"] == "sweeps"
    failed = [c for c in doc["checks"] if c["exceeded"]]
    assert [c["point"] for c in failed] == [
        {"protocol.parties": 5, "topology.kind": "ring", "repetition": 0}]
    assert [d["point"] for d in doc["differences"]] == [failed[0]["point"]]
    assert main(["compare", str(a), str(b), "--max-increase", "bytes=11%"]) == 0


def test_sweeps_with_different_points_warn_and_with_other_parameters_are_refused(
        sweeps, tmp_path, capsys):
    a, _ = sweeps
    wider = _sweep(tmp_path / "wider", {**SWEEP, "sweep": {"protocol.parties": [3, 5, 7],
                                                           "topology.kind": ["star", "ring"]}})
    assert main(["compare", str(a), str(wider)]) == 0
    assert "2 row(s) only in B: protocol.parties=7" in capsys.readouterr().out
    other = _sweep(tmp_path / "other", {**SWEEP, "sweep": {"protocol.parties": [3, 5]}})
    assert main(["compare", str(a), str(other)]) == 2
    assert "vary different parameters" in capsys.readouterr().err
    report = _write(tmp_path / "single", compare.read(next((a / "points").iterdir())))
    assert main(["compare", str(a), str(report)]) == 2



def test_float_noise_is_no_difference_but_a_real_change_is():
    """Times summed in another order differ in their last bits (quickstart against
    sum_ring: 9.089999999999793e-05 against 9.09000000000014e-05): not a difference.
    One part in a million is, and so is 0 against 1e-12."""
    a = {"phases": [{"name": "sum", "sim_time_s": 9.09000000000014e-05}], "totals": {"rounds": 3}}
    noise = {"phases": [{"name": "sum", "sim_time_s": 9.089999999999793e-05}],
             "totals": {"rounds": 3}}
    real = {"phases": [{"name": "sum", "sim_time_s": 9.09e-05 * (1 + 1e-6)}],
            "totals": {"rounds": 3}}
    assert compare.differences(a, noise) == []
    assert [row[0] for row in compare.differences(a, real)] == ["phases[sum].sim_time_s"]
    zero = {"phases": [{"name": "sum", "sim_time_s": 0.0}], "totals": {"rounds": 3}}
    tiny = {"phases": [{"name": "sum", "sim_time_s": 1e-12}], "totals": {"rounds": 3}}
    assert len(compare.differences(zero, tiny)) == 1
