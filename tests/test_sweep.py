"""Sweeps: grid expansion, seeds, the results table, parallel runs, resume and failures."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ppsim import sweep
from ppsim.scenario import ScenarioError

BASE = """
name = "tiny"
seed = 11
[protocol]
name = "secure_sum"
vector_length = 40
[topology]
kind = "star"
latency = 0.001
bandwidth = 1.25e8
[network]
header_bytes = 40
"""

TWELVE = BASE + """
[sweep]
repetitions = 2
"protocol.parties" = [3, 4, 5]
"topology.kind" = ["star", "ring"]
"""


def _sweep(text: str, source: str = "test.toml") -> sweep.Sweep:
    return sweep.parse(tomllib.loads(text), source)


def _reports(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text())
            for p in (out / "points").glob("*/report.json")}


def _without_wall(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=["wall_time_s"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def twelve(tmp_path_factory) -> tuple[sweep.Sweep, Path, sweep.SweepResult]:
    out = tmp_path_factory.mktemp("twelve")
    parsed = _sweep(TWELVE)
    return parsed, out, sweep.run(parsed, out, jobs=1, progress=False)


# ---------------------------------------------------------------- the grid


def test_grid_is_the_product_of_lists_ranges_and_one_zip():
    parsed = _sweep(BASE + """
[sweep]
repetitions = 3
protocol.parties = {start = 3, stop = 7, step = 2}
"topology.bandwidth" = {start = 1e6, stop = 1e9, num = 4, scale = "log"}
[sweep.zip]
"network.header_bytes" = [0, 40]
"protocol.scheme" = ["additive", "shamir"]
""")
    assert parsed.names == ["protocol.parties", "topology.bandwidth", "network.header_bytes",
                            "protocol.scheme"]
    combos = {tuple(p.params.values()) for p in parsed.points}
    assert len(parsed.points) == 3 * 4 * 2 * 3 and len(combos) == 3 * 4 * 2
    assert {c[0] for c in combos} == {3, 5, 7}
    assert sorted({c[1] for c in combos}) == pytest.approx([1e6, 1e7, 1e8, 1e9])
    assert {(c[2], c[3]) for c in combos} == {(0, "additive"), (40, "shamir")}
    point = parsed.points[-1]
    data = parsed.data(point)
    assert data["protocol"]["parties"] == 7 and data["network"]["header_bytes"] == 40
    assert data["topology"] == {"kind": "star", "latency": 0.001, "bandwidth": 1e9}
    assert data["seed"] == point.seed and "sweep" not in data


def test_a_table_value_merges_into_the_scenario_table():
    parsed = _sweep(BASE + """
[sweep]
"protocol.parties" = [4]
topology = [{kind = "ring"}, {kind = "two_level", groups = 2}]
""")
    tops = [parsed.data(p)["topology"] for p in parsed.points]
    assert tops == [{"kind": "ring", "latency": 0.001, "bandwidth": 1.25e8},
                    {"kind": "two_level", "latency": 0.001, "bandwidth": 1.25e8, "groups": 2}]
    sweep.check(parsed)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), parties=st.integers(2, 1000), rep=st.integers(0, 50),
       extra=st.lists(st.integers(2, 1000), max_size=5))
def test_a_points_seed_depends_on_its_values_only(seed, parties, rep, extra):
    params = {"protocol.parties": parties}
    one = sweep.derive_seed(seed, params, rep)
    assert 0 <= one < 2**32
    # the same point inside a bigger grid, listed at another position, keeps its seed
    values = [*extra, parties]
    text = BASE.replace("seed = 11", f"seed = {seed}") + (
        f'[sweep]\nrepetitions = {rep + 1}\n"protocol.parties" = {values}\n')
    grid = _sweep(text)
    mine = [p for p in grid.points if p.params == params and p.repetition == rep]
    assert mine and all(p.seed == one for p in mine)
    assert sweep.derive_seed(seed, params, rep + 1) != one
    assert sweep.derive_seed(seed, {"protocol.parties": parties + 1}, rep) != one


@pytest.mark.parametrize(("table", "words"), [
    ('"protocol.partys" = [3, 4]', ["protocol.partys", "unknown parameter", "secure_sum"]),
    ('"protocl.parties" = [3, 4]', ["protocl.parties", "unknown parameter"]),
    ('"network.header" = [0]', ["network.header", "unknown parameter"]),
    ('"seed" = [1, 2]', ["seed", "repetitions"]),
    ('"protocol.parties" = []', ["sweep.protocol.parties", "empty"]),
    ('"protocol.parties" = {start = 5, stop = 3, step = 1}', ["start <= stop"]),
    ('[sweep.zip]\n"protocol.parties" = [3, 4]\n"topology.kind" = ["ring"]',
     ["sweep.zip", "same length", "protocol.parties has 2", "topology.kind has 1"]),
    ('"protocol.parties" = [3, 1, 4]', ["point 1", "protocol.parties=1", "protocol.parties"]),
    ('"topology.kind" = ["star", "two_level"]\n"protocol.parties" = [3]',
     ["point 1", "topology.kind=two_level", "groups"]),
    ('"protocol.parties" = [3]\n[sweep.reference]\n"protocol.parties" = 2',
     ["sweep.reference.metrics", "non-empty list"]),
    ('"protocol.parties" = [3]\n[sweep.reference]\nmetrics = ["bytes"]',
     ["sweep.reference", "names no parameter"]),
    ('"protocol.parties" = [3]\n[sweep.reference]\n"protocol.parties" = [2]\n'
     'metrics = ["bytes"]', ["sweep.reference.protocol.parties", "one value"]),
    ('"protocol.parties" = [3]\n[sweep.reference]\n"protocol.partys" = 2\n'
     'metrics = ["bytes"]', ["protocol.partys", "unknown parameter"]),
])
def test_bad_sweeps_name_the_problem(table, words):
    text = BASE + "[sweep]\n" + table + "\n"
    if "protocol.parties" not in table:
        text = text.replace('name = "secure_sum"', 'name = "secure_sum"\nparties = 3')
    with pytest.raises(ScenarioError) as err:
        sweep.check(_sweep(text))
    for word in words:
        assert word in str(err.value)


REFERENCED = BASE + """
[sweep]
repetitions = 2
"protocol.parties" = [3, 5]
"topology.kind" = ["star", "complete"]
[sweep.reference]
"protocol.parties" = 2
metrics = ["bytes", "sim_time_s"]
"""


def test_each_point_names_its_reference_and_references_run_once():
    """The reference of (parties=p, kind=k, rep r) is (parties=2, kind=k, rep r): two kinds
    x two repetitions = four references, shared by the two party counts."""
    parsed = _sweep(REFERENCED)
    grid = [p for p in parsed.points if not p.is_reference]
    refs = {p.name: p for p in parsed.points if p.is_reference}
    assert len(grid) == 2 * 2 * 2 and len(refs) == 2 * 2
    for point in grid:
        ref = refs[point.reference]
        assert ref.params == {**point.params, "protocol.parties": 2}
        assert ref.repetition == point.repetition
        assert ref.seed == sweep.derive_seed(11, ref.params, ref.repetition)
        assert ref.index >= 4  # after the grid's own points
    sweep.check(parsed)


def test_a_reference_in_the_grid_is_that_point_not_a_second_run():
    """With parties 2 in the grid, the reference (parties=2, kind=k, rep r) is the grid's
    own point: no extra point, and it is its own reference."""
    parsed = _sweep(REFERENCED.replace('"protocol.parties" = [3, 5]',
                                       '"protocol.parties" = [2, 3, 5]'))
    assert len(parsed.points) == 3 * 2 * 2 and not any(p.is_reference for p in parsed.points)
    by_name = {p.name: p for p in parsed.points}
    for point in parsed.points:
        ref = by_name[point.reference]
        assert ref.params == {**point.params, "protocol.parties": 2}
        assert ref.repetition == point.repetition
        if point.params["protocol.parties"] == 2:
            assert point.reference == point.name


def test_metrics_over_the_reference_are_columns_of_the_table(tmp_path):
    parsed = _sweep(REFERENCED)
    result = sweep.run(parsed, tmp_path, jobs=1, progress=False)
    table = result.table.set_index("point")
    assert table["status"].eq("ok").all() and len(table) == 12
    for _, row in table.iterrows():
        if row["is_reference"]:
            assert row["bytes_vs_ref"] == row["sim_time_s_vs_ref"] == 1.0
            continue
        ref = table.loc[row["reference"]]
        assert row["bytes_vs_ref"] == row["bytes"] / ref["bytes"]
        assert row["sim_time_s_vs_ref"] == row["sim_time_s"] / ref["sim_time_s"]
        assert row["bytes_vs_ref"] > 1  # more parties send more than two do
    spec = sweep.load_spec(tmp_path)
    assert spec["reference"] == {"protocol.parties": 2}
    assert spec["metrics"] == ["bytes", "sim_time_s"]
    from ppsim import plots

    written = {path.name for path in plots.report(tmp_path)}
    assert {"bytes_vs_ref_by_protocol_parties.png",
            "sim_time_s_vs_ref_by_protocol_parties.png"} <= written
    assert "bytes_vs_ref" in (tmp_path / "summary.md").read_text()


def test_a_referenced_sweep_gives_the_same_table_on_a_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    parsed = _sweep(REFERENCED.replace("repetitions = 2", "repetitions = 1"))
    one = sweep.run(parsed, tmp_path / "one", jobs=1, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        dask = sweep.run(parsed, tmp_path / "dask", cluster=cluster.scheduler_address,
                         progress=False)
    pd.testing.assert_frame_equal(_without_wall(dask.table), _without_wall(one.table))
    assert dask.table["bytes_vs_ref"].notna().all()


# ---------------------------------------------------------------- running


def test_twelve_points_give_twelve_reports_and_a_table_equal_to_them(twelve):
    parsed, out, result = twelve
    assert (result.ran, result.skipped, result.failed) == (12, 0, [])
    reports = _reports(out)
    assert len(reports) == 12 and set(reports) == {p.name for p in parsed.points}
    table = result.table
    assert len(table) == 12 and set(table["status"]) == {"ok"}
    assert table.equals(sweep.load_table(out)) or _without_wall(table).equals(
        _without_wall(sweep.load_table(out)))
    csv = pd.read_csv(out / "results.csv")
    assert list(csv["point"]) == list(table["point"])
    for row in table.to_dict("records"):
        rep = reports[row["point"]]
        assert rep["sweep"]["seed"] == row["seed"] == rep["scenario"]["seed"]
        assert rep["scenario"]["protocol"]["parties"] == row["protocol.parties"]
        assert rep["scenario"]["topology"]["kind"] == row["topology.kind"]
        for col, key in (("rounds", "rounds"), ("bytes", "bytes"), ("messages", "messages"),
                         ("sim_time_s", "sim_time_s")):
            assert row[col] == rep["totals"][key]
        assert row["wall_time_s"] == rep["wall_time_s"]
        assert row["offline_bytes"] == rep["offline"]["bytes"]
        assert row["link_bytes"] == sum(link["bytes"] for link in rep["links"])
        assert row["result_check.ok"] is True or row["result_check.ok"] == 1
        assert row["result_check.max_abs_error"] == rep["result_check"]["max_abs_error"]


def test_repetitions_run_with_different_seeds_and_inputs(twelve):
    _, _, result = twelve
    table = result.table
    first = table[table["repetition"] == 0].set_index("index")
    second = table[table["repetition"] == 1].set_index("index")
    assert (first["seed"] != second["seed"]).all()
    # different inputs: the fixed-point rounding error differs between repetitions
    assert (first["result_check.max_abs_error"] != second["result_check.max_abs_error"]).any()


def test_one_job_two_jobs_and_a_dask_cluster_give_the_same_table(twelve, tmp_path):
    distributed = pytest.importorskip("distributed")
    parsed, _, one = twelve
    two = sweep.run(parsed, tmp_path / "two", jobs=2, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        dask = sweep.run(parsed, tmp_path / "dask", cluster=cluster.scheduler_address,
                         progress=False)
    reference = _without_wall(one.table)
    pd.testing.assert_frame_equal(_without_wall(two.table), reference)
    pd.testing.assert_frame_equal(_without_wall(dask.table), reference)
    for other in ("two", "dask"):
        a, b = _reports(tmp_path / other), _reports(twelve[1])
        assert a.keys() == b.keys()
        for name in a:
            a[name].pop("wall_time_s")
            assert a[name] == {k: v for k, v in b[name].items() if k != "wall_time_s"}


def test_an_interrupted_sweep_resumes_without_rerunning_finished_points(
        twelve, tmp_path, monkeypatch):
    parsed, done, first = twelve
    out = tmp_path / "resumed"
    # The state a kill leaves: half the points finished, one report cut mid-write.
    finished = parsed.points[::2]
    for point in finished:
        src = done / "points" / point.name / "report.json"
        (out / "points" / point.name).mkdir(parents=True)
        (out / "points" / point.name / "report.json").write_bytes(src.read_bytes())
    cut = parsed.points[1]
    (out / "points" / cut.name).mkdir(parents=True)
    text = (done / "points" / cut.name / "report.json").read_text()
    (out / "points" / cut.name / "report.json").write_text(text[: len(text) // 2])
    before = {p.name: (out / "points" / p.name / "report.json").stat().st_mtime_ns
              for p in finished}
    ran: list[int] = []
    real = sweep.run_point

    def counting(data, source, *limits):
        ran.append(data["seed"])
        return real(data, source, *limits)

    monkeypatch.setattr(sweep, "run_point", counting)
    result = sweep.run(parsed, out, jobs=1, progress=False)
    assert (result.ran, result.skipped) == (6, 6)
    assert sorted(ran) == sorted(p.seed for p in parsed.points[1::2])
    for name, stamp in before.items():
        assert (out / "points" / name / "report.json").stat().st_mtime_ns == stamp
    pd.testing.assert_frame_equal(result.table.drop(columns="wall_time_s"),
                                  first.table.drop(columns="wall_time_s"))
    # a third run has nothing left to do
    ran.clear()
    assert sweep.run(parsed, out, jobs=1, progress=False).ran == 0 and ran == []


def test_a_report_from_another_grid_is_not_taken_as_done(twelve, tmp_path):
    parsed, done, _ = twelve
    out = tmp_path / "stale"
    point = parsed.points[0]
    rep = json.loads((done / "points" / point.name / "report.json").read_text())
    rep["sweep"]["seed"] += 1  # e.g. the file's seed was edited since
    (out / "points" / point.name).mkdir(parents=True)
    (out / "points" / point.name / "report.json").write_text(json.dumps(rep))
    parsed_one = sweep.Sweep(parsed.source, parsed.base, parsed.names, [point], 1)
    assert sweep.run(parsed_one, out, jobs=1, progress=False).ran == 1


def test_a_point_that_raises_is_recorded_and_the_others_finish(tmp_path):
    # Party 1 crashes before sharing: with additive shares the others wait for its
    # share forever, which the engine reports as a deadlock.
    parsed = _sweep(BASE + """
[sweep]
"protocol.parties" = [3, 4]
faults = [[], [{kind = "crash", party = 1, at = 0.0}]]
""")
    result = sweep.run(parsed, tmp_path, jobs=2, progress=False)
    table = result.table.set_index("point")
    bad = [p.name for p in parsed.points if p.params["faults"]]
    good = [p.name for p in parsed.points if not p.params["faults"]]
    assert sorted(result.failed) == sorted(bad)
    assert set(table.loc[bad, "status"]) == {"failed"}
    assert set(table.loc[good, "status"]) == {"ok"}
    for name in bad:
        error = json.loads((tmp_path / "points" / name / "error.json").read_text())
        assert "Deadlock" in error["error"] and "Traceback" in error["traceback"]
        assert table.loc[name, "error"] == error["error"]
        assert not (tmp_path / "points" / name / "report.json").exists()
    assert table.loc[good, "bytes"].notna().all() and table.loc[bad, "bytes"].isna().all()
    # a second run retries the failed points only
    again = sweep.run(parsed, tmp_path, jobs=1, progress=False)
    assert (again.ran, again.skipped) == (len(bad), len(good))


def test_an_unreachable_cluster_is_reported_before_anything_runs(tmp_path):
    parsed = _sweep(TWELVE)
    with pytest.raises(sweep.ClusterError, match="cannot reach the Dask scheduler"):
        sweep.run(parsed, tmp_path / "out", cluster="tcp://127.0.0.1:9", connect_timeout_s=0.5,
                  progress=False)
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- never stale


def test_editing_the_base_recomputes_every_point_and_says_why(tmp_path, monkeypatch):
    """The issue's case: a fixed parameter and the bandwidth edited between two runs; the
    rerun recomputes every point, names the changed keys, and sweep.json keeps the old base."""
    grid = '\n[sweep]\n"protocol.parties" = [3, 4]\n'
    first = sweep.run(_sweep(BASE + grid), tmp_path, jobs=1, progress=False)
    assert (first.ran, first.skipped) == (2, 0)
    edited = BASE.replace("vector_length = 40", "vector_length = 50").replace(
        "bandwidth = 1.25e8", "bandwidth = 1e7")
    ran: list[int] = []
    real = sweep.run_point
    monkeypatch.setattr(sweep, "run_point",
                        lambda d, *rest: ran.append(d["seed"]) or real(d, *rest))
    second = sweep.run(_sweep(edited + grid), tmp_path, jobs=1, progress=False)
    assert (second.ran, second.skipped) == (2, 0) and len(ran) == 2
    (reason,) = second.reasons
    assert reason.startswith("scenario changed:")
    assert "protocol.vector_length 40 -> 50" in reason and "topology.bandwidth" in reason
    assert set(second.table["status"]) == {"ok"}
    assert (second.table["bytes"] > first.table["bytes"]).all()  # 50 values, not 40
    spec = sweep.load_spec(tmp_path)
    assert spec["base"]["protocol"]["vector_length"] == 50
    assert [h["base"]["protocol"]["vector_length"] for h in spec["history"]] == [40]
    # unchanged now: nothing runs, and the history does not grow
    assert sweep.run(_sweep(edited + grid), tmp_path, jobs=1, progress=False).ran == 0
    assert len(sweep.load_spec(tmp_path)["history"]) == 1


def test_a_default_written_out_is_the_same_point(tmp_path):
    """Identity is the resolved scenario: spelling out a default changes nothing."""
    grid = '\n[sweep]\n"protocol.parties" = [3]\n'
    sweep.run(_sweep(BASE + grid), tmp_path, jobs=1, progress=False)
    explicit = BASE.replace('name = "secure_sum"', 'name = "secure_sum"\nscheme = "additive"')
    assert sweep.run(_sweep(explicit + grid), tmp_path, jobs=1, progress=False).ran == 0


def test_changed_code_or_fresh_recomputes_and_stale_reports_are_not_results(tmp_path,
                                                                            monkeypatch):
    parsed = _sweep(BASE + '\n[sweep]\n"protocol.parties" = [3, 4]\n')
    sweep.run(parsed, tmp_path, jobs=1, progress=False)
    again = sweep.run(parsed, tmp_path, jobs=1, progress=False, fresh=True)
    assert (again.ran, again.reasons) == (2, {"--fresh": 2})
    sweep.code_fingerprint.cache_clear()
    monkeypatch.setattr(sweep, "code_fingerprint", lambda module: "edited")
    assert set(sweep.collect(parsed, tmp_path)["status"]) == {"stale"}
    rerun = sweep.run(parsed, tmp_path, jobs=1, progress=False)
    assert (rerun.ran, rerun.reasons) == (2, {"the code changed": 2})
    assert set(rerun.table["status"]) == {"ok"}


def test_the_code_fingerprint_covers_the_protocols_package():
    module = "protocols.sharing.demos"
    assert sweep.code_fingerprint(module) == sweep.code_fingerprint("protocols.xorboost")
    assert sweep.code_fingerprint(module) != sweep.code_fingerprint("json")
