"""Progress of a run: the simulator's callback, and the lines a run prints outside a terminal."""

from __future__ import annotations

import re
from pathlib import Path

import topologies
from ppsim.cli import main
from sim import CostModel, Progress, simulate

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 300


async def _ping(party):
    with party.phase("ping"):
        for i in range(ROUNDS):
            await party.send(1, i)
            await party.recv(1)
    return "ping done"


async def _pong(party):
    with party.phase("pong"):
        for _ in range(ROUNDS):
            await party.send(0, await party.recv(0))


def _run(**options):
    """Every operation free: messages cost no CPU, so each is one event (see below)."""
    graph = topologies.complete(2, latency=1e-3, bandwidth=1e6)
    return simulate(graph, {0: _ping, 1: _pong}, seed=1, cost_model=CostModel.free(),
                    **options)


def test_the_callback_sees_the_run_advance_and_its_last_call_the_final_figures():
    seen: list[Progress] = []
    result = _run(progress=seen.append, progress_every_s=0.0)
    assert len(seen) > 2  # an interval of 0 reports at every look at the clock
    assert [s.finished for s in seen] == [False] * (len(seen) - 1) + [True]
    for earlier, later in zip(seen, seen[1:], strict=False):
        assert earlier.sim_time_s <= later.sim_time_s
        assert earlier.messages <= later.messages and earlier.events <= later.events
    last = seen[-1]
    ledger = result.ledger
    assert last.messages == 2 * ROUNDS == sum(p.messages for p in ledger.phases.values())
    assert last.bytes == sum(p.bytes for p in ledger.phases.values())
    assert last.sim_time_s == result.end_time
    assert (last.phases, last.parties_done, last.parties) == (2, 2, 2)
    # one simpy event per delivered message plus one start per party
    assert last.events == 2 * ROUNDS + 2
    running = [s for s in seen if not s.finished and s.parties_done == 0]
    assert running and all(s.phase in ("ping", "pong") for s in running)


def test_watching_a_run_changes_nothing_in_it():
    plain, watched = _run(), _run(progress=lambda _state: None, progress_every_s=0.0)
    assert watched.outputs == plain.outputs
    assert watched.end_time == plain.end_time
    assert watched.ledger.phase_rounds() == plain.ledger.phase_rounds()
    assert [vars(p) for p in watched.ledger.parties] == [vars(p) for p in plain.ledger.parties]


LINE = re.compile(r"^\[\s*\d+\.\d s\] quickstart: (.*)$")


def test_a_run_outside_a_terminal_prints_plain_progress_lines_on_stderr(tmp_path, capsys):
    scenario = ROOT / "scenarios" / "quickstart.toml"
    assert main(["run", str(scenario), "--out", str(tmp_path), "--progress-every", "0"]) == 0
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert lines and all(LINE.match(line) for line in lines), err
    said = [LINE.match(line).group(1) for line in lines]
    assert said[0] == "loading the scenario"
    assert any(re.match(r"simulating; simulated .+, [\d,]+ messages, .+ phases begun", s)
               for s in said), said
    assert said[-2].startswith("building the report; the run simulated")
    assert said[-1] == "finished"
    assert "\x1b[" not in err  # plain text: no terminal control codes
    assert not any(LINE.match(line) for line in out.splitlines())  # stdout: the report only
    assert "report written to" in out


def test_quiet_prints_no_progress(tmp_path, capsys):
    scenario = ROOT / "scenarios" / "quickstart.toml"
    args = ["run", str(scenario), "--out", str(tmp_path), "--progress-every", "0", "--quiet"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.strip().startswith("report written to")


def test_a_short_run_prints_no_progress_by_default(tmp_path, capsys):
    assert main(["run", str(ROOT / "scenarios" / "quickstart.toml"), "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().err == ""  # quicker than the 5 s between lines


def test_a_sweep_outside_a_terminal_prints_points_done(tmp_path, capsys):
    path = tmp_path / "sweep.toml"
    path.write_text((ROOT / "scenarios" / "quickstart.toml").read_text()
                    + '\n[sweep]\n"protocol.vector_length" = [4, 8, 16]\n')
    args = ["run", str(path), "--out", str(tmp_path / "out"), "--jobs", "1"]
    assert main([*args, "--progress-every", "0"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert [re.sub(r"^\[\s*\d+\.\d s\] ", "", line) for line in lines] == [
        "points: 1/3 done", "points: 2/3 done", "points: 3/3 done"]
    (tmp_path / "out" / "points").rename(tmp_path / "gone")  # run again: all three anew
    assert main(args) == 0  # every 5 s, and always the last
    assert re.fullmatch(r"\[\s*\d+\.\d s\] points: 3/3 done\n", capsys.readouterr().err)
