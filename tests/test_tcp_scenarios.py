"""Scenario files on the real runtime: the same report as the simulator's, apart from times.

Also runs secure aggregation (SecAgg on the complete graph, SecAgg+ on a sparse
one, without dropouts) on both runtimes, and a 3-party scenario as 3 processes
(``python -m ppsim party``), checking that every process writes the report the
in-process run builds.

Over TCP a protocol's receive timeouts are wall-clock seconds: a client slower
than the timeout (a loaded test machine) would be taken for a dropout. The
comparisons therefore raise the aggregation timeout of the federated scenarios
(the simulator's costs do not depend on it when nobody drops out).
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from test_scenarios import assert_phase_times_add_up

from ppsim import report
from ppsim.run import run_scenario, run_scenario_tcp
from ppsim.scenario import Scenario, from_dict, load, read

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ["quickstart", "sum_ring", "sum_two_level", "mul_cmp", "fed_avg_10",
             "xorboost_vertical_3", "ppxgboost"]
TIME_KEYS = {"wall_time_s", "sim_time_s", "busy_s", "at", "control_bytes", "compute_s",
             "messaging_s", "network_s", "wait_s"}
WALL_TIMEOUT_S = 60.0  # aggregation round timeout for the comparisons (see the docstring)


def costs(rep: dict[str, Any]) -> dict[str, Any]:
    """The report without measured times, runtime-only keys, and with phases by name.

    The merged phase order may interleave offline and online phases differently
    from the simulator; rounds are counted per track, so only the order within
    a track matters, and the per-phase figures are compared by name. The per
    party and phase times are the simulator's alone (``party_phases``).
    """

    def strip(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k not in TIME_KEYS}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x

    out = strip({k: v for k, v in rep.items()
                 if k not in ("runtime", "transport", "party_phases", "timing")})
    out["phases"] = {p["name"]: p for p in out["phases"]}
    return out


def same_report(scenario: Scenario) -> dict[str, Any]:
    """Run `scenario` on both runtimes, assert equal reports apart from times; the tcp one.
    Its times are honest too (`assert_honest_times`)."""
    simulated = run_scenario(scenario)
    real = run_scenario_tcp(scenario)
    assert real["runtime"] == "tcp"
    assert real["transport"]["frame_bytes"] > 0
    assert costs(json.loads(json.dumps(real, default=str))) == costs(
        json.loads(json.dumps(simulated, default=str)))
    assert_honest_times(real)
    return real


def assert_honest_times(real: dict[str, Any]) -> None:
    """A TCP report's phases add up to its online time and are the slowest party's
    measured times in them (the longest run of the parties that were online), its
    ``timing`` says so and names the modelled figures, and the terminal says the
    same: the phase table's caption, "compute (modelled)"."""
    assert_phase_times_add_up(real)
    timing = real["timing"]
    assert timing["clock"] == "measured"
    slowest = timing["timed_party"]
    assert f"party {slowest}" in timing["phases"]
    assert "work" in timing["modelled"] and "party_phases.compute_s" in timing["modelled"]
    assert "not measured" in timing["modelled"]
    offline = {p["name"] for p in real["phases"] if p["offline"]}
    spent: dict[int, float] = {}
    online = set()
    for row in real["party_phases"]:
        assert row["time_s"] >= 0 and row["wait_s"] is None
        spent[row["party"]] = spent.get(row["party"], 0.0) + row["time_s"]
        if row["time_s"] and row["phase"] not in offline:
            online.add(row["party"])
    mine = {p["name"]: r["time_s"] for p in real["phases"] for r in real["party_phases"]
            if r["party"] == slowest and r["phase"] == p["name"]}
    assert {p["name"]: p["sim_time_s"] for p in real["phases"] if p["sim_time_s"]} == {
        k: v for k, v in mine.items() if v}
    total = real["totals"]["sim_time_s"] + real["offline"]["sim_time_s"]
    assert spent[slowest] == pytest.approx(total, rel=1e-9)
    assert max(spent[p] for p in online) == pytest.approx(total, rel=1e-9)
    console = Console(width=400, no_color=True, highlight=False, soft_wrap=True,
                      record=True, file=io.StringIO())
    report.print_table(real, console)
    shown = console.export_text()
    assert (f"time: party {slowest}'s wall time in each phase (the slowest party), "
            "adding up to the online time") in shown
    assert "compute (modelled)" in shown and "time (measured)" in shown
    assert "compute by class (modelled)" in shown or not real["work"]


def with_wall_timeout(data: dict[str, Any]) -> dict[str, Any]:
    if data["protocol"]["name"] in ("secagg", "fedavg", "fed_xgboost"):
        data["protocol"]["timeout"] = WALL_TIMEOUT_S
    return data


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_report_equals_the_simulators(name: str) -> None:
    path = ROOT / "scenarios" / f"{name}.toml"
    real = same_report(from_dict(with_wall_timeout(read(path)), source=str(path)))
    if "result_check" in real:  # training protocols report accuracy instead (compared above)
        assert real["result_check"]["ok"]


@pytest.mark.parametrize("aggregation, clients, degree", [("secagg", 5, 4), ("secagg+", 14, 12)])
def test_secure_aggregation_equals_the_simulator(aggregation: str, clients: int,
                                                 degree: int) -> None:
    scenario = from_dict({
        "name": f"tcp_{aggregation}", "seed": 4,
        "protocol": {"name": "secagg", "clients": clients, "aggregation": aggregation,
                     "vector_length": 300, "bits": 32, "timeout": WALL_TIMEOUT_S},
        "topology": {"kind": "star", "hub": 0, "latency": 0.01, "bandwidth": 1.25e6},
        "network": {"header_bytes": 40},
    })
    real = same_report(scenario)
    assert real["result_check"] == {"ok": True, "included": clients, "clients": clients}
    assert real["secagg"]["degree"] == degree  # SecAgg+ runs on a sparse graph, not K_n


SUM3 = """
name = "sum3"
seed = 3
[protocol]
name = "secure_sum"
parties = 3
vector_length = 500
[topology]
kind = "line"
latency = 0.001
bandwidth = 1.25e8
[network]
header_bytes = 40
"""


def party_processes(path: Path, n: int, out: Path) -> list[dict[str, Any]]:
    """Run the scenario at `path` as `n` processes (``python -m ppsim party``, one per
    party, sharing a run key); every process's report, its times honest."""
    key = out / "run.key"
    assert subprocess.run([sys.executable, "-m", "ppsim", "key"], stdout=key.open("w"),
                          check=True).returncode == 0
    socks = [socket.create_server(("127.0.0.1", 0)) for _ in range(n)]
    hosts = ",".join(f"127.0.0.1:{s.getsockname()[1]}" for s in socks)
    for s in socks:
        s.close()
    procs = [
        subprocess.Popen([sys.executable, "-m", "ppsim", "party", str(path), "--id", str(pid),
                          "--hosts", hosts, "--timeout", "20", "--out", str(out / str(pid)),
                          "--key-file", str(key)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for pid in range(n)
    ]
    errs = [proc.communicate(timeout=60)[1] for proc in procs]
    assert [p.returncode for p in procs] == [0] * n, errs
    reports = [json.loads((out / str(pid) / "report.json").read_text()) for pid in range(n)]
    for rep in reports:
        assert rep["runtime"] == "tcp"
        assert rep["transport"]["security_bytes"] > 0
        assert_honest_times(rep)  # from every party's timeline, sent in its record
    return reports


def test_three_party_processes_write_the_in_process_report(tmp_path: Path) -> None:
    """Every process reports the in-process run's costs; only the analyst's (party 0's)
    process holds the sum and checks it, the others say who holds it."""
    path = tmp_path / "sum3.toml"
    path.write_text(SUM3)
    expected = costs(json.loads(json.dumps(run_scenario_tcp(load(path)), default=str)))
    checked = expected.pop("result_check")
    assert checked["ok"]
    for pid, rep in enumerate(party_processes(path, 3, tmp_path)):
        got = costs(rep)
        if pid == 0:
            assert got.pop("result_check")["ok"]
        else:
            assert "result_check" not in got
            assert got.pop("result_held_by") == [0]
        assert got == expected


PPX = """
seed = 2
[protocol]
name = "ppxgboost"
queries = 4
batch = 2
users = {users}
n_estimators = 3
key_bits = 1024
[topology]
kind = "star"
hub = 1
latency = 0.001
bandwidth = 1e8
"""


@pytest.mark.parametrize("users", [1, 2])
def test_ppxgboost_as_one_process_per_party(tmp_path: Path, users: int) -> None:
    """The proxy, the server and each user's client as separate processes (issue 15: "ppxgboost
    runs on TCP"), with the in-process run's costs. With one user its client's process holds
    the result and checks the decrypted predictions against `Booster.predict`; with more,
    the outputs (each client's predictions, and the proxy's keys for the isolation check)
    lie in different processes: each says who holds them, and each client's process checks
    its own predictions (`Plan.summarize_own`); the isolation check needs them all."""
    path = tmp_path / "ppx.toml"
    path.write_text(PPX.format(users=users))
    expected = costs(json.loads(json.dumps(run_scenario_tcp(load(path)), default=str)))
    checked = expected.pop("prediction_check")
    expected.pop("key_isolation", None)
    assert checked["ok"]
    holders = [2] if users == 1 else [0, *range(2, 2 + users)]
    # what only the whole summary gives (`summary`): a process that is not the result's
    # sole holder has every other key, with the in-process run's values
    shared = set(expected) - {"bytes_per_query", "setup_bytes", "server_learns",
                              "server_never_sees"}
    for pid, rep in enumerate(party_processes(path, 2 + users, tmp_path)):
        got = costs(rep)
        if holders == [pid]:
            check = got.pop("prediction_check")
            assert check["ok"] and check["queries"] == 4, check
            assert check["max_abs_diff"] <= 1e-6
            assert got == expected
        elif pid in holders and pid >= 2:  # a client of several: its own predictions
            check = got.pop("prediction_check")
            assert check["ok"] and check["queries"] == 4 and list(check["per_user"]) == [str(pid)]
            assert check["max_abs_diff"] <= 1e-6
            assert "key_isolation" not in got
            assert got.pop("result_held_by") == holders
            assert got == {k: expected[k] for k in shared}, pid
        else:
            assert "prediction_check" not in got
            assert got.pop("result_held_by") == holders
            assert got == {k: expected[k] for k in shared}, pid
