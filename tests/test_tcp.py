"""The real-network runtime gives the simulator's outputs, bytes and rounds, and fails clearly.

Each test runs small protocols (tests/tcp_helpers.py) on the simulator and over
loopback TCP with the same seed and compares what the ledger counts: outputs,
bytes and messages per party and per directed link, per-phase bytes, messages
and rounds. Relaying topologies (star, line) check that forwarded messages are
counted on every hop as the simulator's store-and-forward model counts them.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from tcp_helpers import PROGRAMS, summary, topology

from sim.engine import Crash, PartyFailure, simulate
from sim.party import Party
from sim.tcp import (
    ConnectError,
    PeerTimeout,
    new_run_key,
    run_party_async,
    run_tcp,
    run_tcp_async,
)
from sim.tcp.run import phase_times, timed_party

ROOT = Path(__file__).resolve().parent.parent
EQUAL_CASES = [(p, k) for p in ("secure_sum", "ping_pong", "late_sender", "bulk")
               for k in ("complete", "star", "line")]


@pytest.mark.trio
@pytest.mark.parametrize("program, kind", EQUAL_CASES)
async def test_same_costs_as_the_simulator(program: str, kind: str) -> None:
    graph = topology(kind, 4)
    programs = dict.fromkeys(graph.nodes, PROGRAMS[program])
    simulated = simulate(graph, programs, seed=5, header_bytes=16)
    real = await run_tcp_async(graph, programs, seed=5, header_bytes=16)
    assert summary(real) == summary(simulated)
    # the frame overhead is counted apart: at least the fixed header per message and hop
    hops = sum(link.messages for link in real.network.links.values())
    assert real.frame_bytes >= hops * 24
    assert real.outputs.keys() == simulated.outputs.keys()
    if program == "bulk":
        assert all(out[1] for out in real.outputs.values())  # every burst whole, in order


def test_views_and_outputs_match_the_simulator() -> None:
    graph = topology("star", 3)
    programs = dict.fromkeys(graph.nodes, PROGRAMS["secure_sum"])
    simulated = simulate(graph, programs, seed=9, record_views=True)
    real = run_tcp(graph, programs, seed=9, record_views=True)
    for pid in range(3):
        assert (real.outputs[pid] == simulated.outputs[pid]).all()
        seen = sorted((v.src, v.phase, v.payload.tobytes()) for v in real.ledger.views[pid])
        assert seen == sorted((v.src, v.phase, v.payload.tobytes())
                              for v in simulated.ledger.views[pid])


async def _raises(party: Party) -> None:
    with party.phase("work"):
        if party.id == 1:
            raise ArithmeticError("boom")
        await party.recv(1)


@pytest.mark.trio
async def test_a_failing_party_fails_the_run_naming_it() -> None:
    graph = topology("complete", 3)
    with pytest.raises(PartyFailure, match="party 1 failed .*ArithmeticError: boom"):
        await run_tcp_async(graph, dict.fromkeys(graph.nodes, _raises), timeout_s=5)


async def _both_wait(party: Party) -> None:
    await party.recv(1 - party.id)


@pytest.mark.trio
async def test_a_receive_that_waits_too_long_names_its_peer() -> None:
    graph = topology("complete", 2)
    with pytest.raises(PartyFailure, match=r"PeerTimeout: party \d waited 0.2 s .* party \d"):
        await run_tcp_async(graph, dict.fromkeys(graph.nodes, _both_wait), timeout_s=0.2)
    assert issubclass(PeerTimeout, Exception)


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.mark.trio
async def test_a_peer_that_never_connects_is_named() -> None:
    graph = topology("complete", 2)
    hosts = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    with pytest.raises(ConnectError, match=r"party 0: no connection with party 1 \(127.0.0.1:"):
        await run_party_async(graph, dict.fromkeys(graph.nodes, _both_wait), 0, hosts,
                              timeout_s=0.3, run_key=new_run_key())


def test_simulated_faults_are_refused() -> None:
    graph = topology("complete", 2)
    with pytest.raises(ValueError, match="does not simulate faults"):
        run_tcp(graph, {}, faults=[Crash(1, 0.5)])


def _spawn(program: str, kind: str, n: int, pid: int, hosts: list[str],
           timeout: float, key: bytes) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tcp_helpers", program, kind, str(n), "--id", str(pid),
         "--hosts", ",".join(hosts), "--timeout", str(timeout), "--key", key.hex()],
        cwd=ROOT / "tests", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_three_processes_equal_the_in_process_run() -> None:
    """Costs equal the in-process run's; each process holds only its own output, and with
    secrets from the OS the sum differs from the seeded run's but all three agree on it."""
    graph = topology("line", 3)
    hosts = [f"127.0.0.1:{p}" for p in _free_ports(3)]
    key = new_run_key()
    procs = [_spawn("secure_sum", "line", 3, pid, hosts, 20, key) for pid in range(3)]
    outs = [proc.communicate(timeout=60) for proc in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in outs]
    programs = dict.fromkeys(graph.nodes, PROGRAMS["secure_sum"])
    in_process = summary(run_tcp(graph, programs, seed=5, header_bytes=16))
    seeded_sum = in_process.pop("outputs")["0"]
    sums = []
    for pid, (out, _) in enumerate(outs):
        got = json.loads(out)
        assert list(got.pop("outputs")) == [str(pid)]
        sums.append(json.loads(out)["outputs"][str(pid)])
        assert got == json.loads(json.dumps(in_process))
    assert sums[0] == sums[1] == sums[2] != seeded_sum
    in_process["outputs"] = {}
    simulated = summary(simulate(graph, programs, seed=5, header_bytes=16))
    simulated["outputs"] = {}
    assert in_process == simulated


def test_a_killed_process_makes_the_others_fail_naming_it() -> None:
    hosts = [f"127.0.0.1:{p}" for p in _free_ports(3)]
    key = new_run_key()
    # the timeout is long: the failure must come from the lost connection, not from waiting
    procs = [_spawn("wait_forever", "star", 3, pid, hosts, 30, key) for pid in range(3)]
    assert procs[2].stdout.readline().strip() == "ready"
    procs[2].kill()
    procs[2].communicate()
    for proc in procs[:2]:
        _, err = proc.communicate(timeout=25)
        assert proc.returncode == 1
        assert "party 2 disconnected" in err, err


def test_phase_times_cut_a_timeline_where_phases_are_entered() -> None:
    """Unlisted stretches (the program between phases) go to the listed phase before them,
    the stretch before any listed phase to the first: the times partition the clock."""
    timeline = [("main", False, 0.0), ("a", False, 1.0), ("main", False, 3.0),
                ("b", True, 4.0), ("a", False, 6.5), ("main", False, 7.0)]
    times = phase_times(timeline, 9.0, {"a", "b"})
    assert times == {"a": 1.0 + 2.0 + 1.0 + 0.5 + 2.0, "b": 2.5}
    assert list(times) == ["a", "b"] and sum(times.values()) == 9.0
    assert phase_times([("main", False, 0.0)], 2.0, {"main"}) == {"main": 2.0}
    assert phase_times([("main", False, 0.0)], 2.0, set()) == {}


def test_timed_party_is_the_slowest_online_one() -> None:
    """A dealer that only preprocesses does not make the online run, however late it ends."""
    times = {0: {"online": 2.0}, 1: {"online": 3.0}, 2: {"deal": 9.0}}
    finished = {0: 2.0, 1: 3.0, 2: 9.0}
    assert timed_party(times, finished, {"deal"}) == 1
    assert timed_party({2: {"deal": 9.0}}, {2: 9.0}, {"deal"}) == 2
    assert timed_party({0: {"x": 1.0}, 1: {"x": 1.0}}, {0: 1.0, 1: 1.0}, set()) == 0
    assert timed_party({}, {}, set()) is None


@pytest.mark.parametrize("program", ["secure_sum", "ping_pong"])
def test_measured_phases_partition_each_partys_run(program: str) -> None:
    """Every party's phase times add up to its own run (secure_sum computes between its
    phases, outside any listed phase; ping_pong's dealer preprocesses offline); the
    phases' times are the slowest online party's, online ones adding up to the online time
    and offline ones to the offline time."""
    graph = topology("complete", 4)
    result = run_tcp(graph, dict.fromkeys(graph.nodes, PROGRAMS[program]), seed=5)
    ends = {p.id: p.finished_at for p in result.parties}
    for pid, spent in result.phase_time_s.items():
        if spent:
            assert sum(spent.values()) == pytest.approx(ends[pid], rel=1e-9), pid
    offline = {name for name, s in result.ledger.phases.items() if s.offline}
    online = [p for p, spent in result.phase_time_s.items() if set(spent) - offline]
    slowest = result.timed_party
    assert ends[slowest] == max(ends[p] for p in online)
    assert result.end_time + result.offline_time == pytest.approx(ends[slowest], rel=1e-9)
    mine = result.phase_time_s[slowest]
    assert result.offline_time == pytest.approx(sum(mine.get(n, 0.0) for n in offline))
    if program == "ping_pong":  # parties 0 and 1 wait for the dealer's masks offline
        assert slowest in (0, 1) and result.offline_time > 0 and offline == {"deal"}
