"""The TCP runtime among strangers: foreign clients, outputs kept home, blame, custom payloads.

* Foreign clients that connect to a party while the run starts (garbage, an
  HTTP request, a 1.5 GiB length prefix, another run's HELLO, a HELLO sealed
  with the wrong run key, a party id nobody expects, a client that says
  nothing) are refused and noted; the run completes.
* A party's output stays in its process: only the analyst holds the sum, and
  no other party receives it in any frame.
* A party stopped with SIGSTOP is the one named silent; the party that waits
  for it while alive is not blamed.
* PPXGBoost's objects (keys, encrypted models, queries) cross the wire with
  the simulator's byte counts.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import trio
import trio.testing
from tcp_helpers import topology

import sim.tcp.run as tcp_run
from ppsim.run import run_scenario, run_scenario_tcp
from ppsim.scenario import from_dict
from sim import codec
from sim.party import Party
from sim.tcp import new_run_key, run_party_async, secure
from sim.tcp.node import FrameReader

ROOT = Path(__file__).resolve().parent.parent


def _free_ports(count: int) -> list[int]:
    socks = [socket.create_server(("127.0.0.1", 0)) for _ in range(count)]
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


async def _sum_to_analyst(party: Party) -> object:
    """Every party sends party 0 a vector; party 0 returns the sum (sent to nobody)."""
    if party.id != 0:
        await party.send(0, np.full(4, party.id, dtype=np.int64))
        return f"party {party.id} done"
    got = await party.recv_many(party.others)
    return np.sum(list(got.values()), axis=0)


async def _connected(port: int) -> trio.SocketStream:
    while True:  # the party opens its port when it starts
        try:
            return await trio.open_tcp_stream("127.0.0.1", port)
        except OSError:
            await trio.sleep(0.01)


async def _until_closed(stream: trio.SocketStream) -> None:
    with trio.move_on_after(10):
        while True:
            try:
                if not await stream.receive_some(65536):
                    break
            except trio.BrokenResourceError:
                break
    await stream.aclose()


def _hello(src: int, dst: int, tag: str, n: int, public: bytes) -> bytes:
    return b"".join(codec.encode_frame(codec.HELLO, src, dst,
                                       (secure.VERSION, tag, n, public))[0])


async def _wrong_key_client(port: int, tag: str) -> None:
    """Completes the HELLO exchange, then confirms with a key of another run."""
    stream = await _connected(port)
    mine = secure.Handshake(new_run_key())
    hello = _hello(1, 0, tag, 2, mine.public)
    await stream.send_all(hello)
    reader = FrameReader(stream)
    answer = codec.parse_frame(await reader.next())
    channel = mine.channel(answer.payload()[3], hello[4:], answer.raw, dialer=True)
    confirm = codec.encode_frame(codec.HELLO, 1, 0, secure.CONFIRM)[0]
    await stream.send_all(b"".join(channel.seal(confirm)))
    await _until_closed(stream)


@pytest.mark.trio
async def test_foreign_clients_during_start_up_are_refused_and_the_run_completes() -> None:
    graph = topology("complete", 2)
    ports = _free_ports(2)
    hosts = [f"127.0.0.1:{p}" for p in ports]
    key, tag = new_run_key(), "run-a"
    programs = dict.fromkeys(graph.nodes, _sum_to_analyst)
    results: dict[int, object] = {}

    async def party(pid: int) -> None:
        results[pid] = await run_party_async(graph, programs, pid, hosts, run_key=key, tag=tag,
                                             timeout_s=30)

    foreign = [
        b"\x00\x01garbage that is not a frame",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        struct.pack("<I", 3 << 29) + b"\x00" * 64,  # announces 1.5 GiB
        _hello(1, 0, "another-run", 2, secure.Handshake(key).public),
        _hello(7, 0, tag, 2, secure.Handshake(key).public),  # a party nobody expects
    ]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(party, 0)
        silent = await _connected(ports[0])  # says nothing at all
        for data in foreign:
            stream = await _connected(ports[0])
            await stream.send_all(data)
            await _until_closed(stream)
        await _wrong_key_client(ports[0], tag)
        nursery.start_soon(party, 1)
    await silent.aclose()
    assert (results[0].outputs[0] == np.full(4, 1)).all()
    notes = "\n".join(results[0].notes)
    assert notes.count("refused a connection") >= 6, notes
    for reason in ("1,610,612,736 bytes announced", "another run", "claiming party 7",
                   "failed authentication"):
        assert reason in notes, (reason, notes)
    assert results[1].outputs.keys() == {1}


@pytest.mark.trio
async def test_only_the_analyst_holds_its_output(monkeypatch) -> None:
    """No party's output travels: each result holds its own, and no frame any party
    received (the final records included) carries the analyst's sum."""
    nodes: list[tcp_run.Node] = []

    class Recorded(tcp_run.Node):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            nodes.append(self)

    monkeypatch.setattr(tcp_run, "Node", Recorded)
    n = 4
    graph = topology("star", n)
    hosts = [f"127.0.0.1:{p}" for p in _free_ports(n)]
    key = new_run_key()
    programs = dict.fromkeys(graph.nodes, _sum_to_analyst)
    results: dict[int, object] = {}

    async def party(pid: int) -> None:
        results[pid] = await run_party_async(graph, programs, pid, hosts, run_key=key,
                                             timeout_s=30)

    async with trio.open_nursery() as nursery:
        for pid in range(n):
            nursery.start_soon(party, pid)
    assert (results[0].outputs[0] == np.full(4, 1 + 2 + 3)).all()
    for pid in range(n):
        assert results[pid].outputs.keys() == {pid}
        assert results[pid].finished == list(range(n))
    for node in nodes:
        assert "outputs" not in repr(node.stats) and "[6 6 6 6]" not in repr(node.stats)
        for record in node.stats.values():
            assert "output" not in record


def _spawn(program: str, pid: int, hosts: list[str], key: bytes,
           timeout: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tcp_helpers", program, "complete", "3", "--id", str(pid),
         "--hosts", ",".join(hosts), "--timeout", str(timeout), "--key", key.hex()],
        cwd=ROOT / "tests", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="POSIX signals")
def test_a_stopped_party_is_the_one_blamed() -> None:
    """Party 1 is stopped; party 0 waits for it, party 2 waits for both: the errors name
    party 1 as silent and party 0 as alive (the old message blamed [0, 1] alike). Party 2
    gives up first (its timeout is the shortest), so its message is the one all report."""
    hosts = [f"127.0.0.1:{p}" for p in _free_ports(3)]
    key = new_run_key()
    procs = [_spawn("gather", pid, hosts, key, 1.5 if pid == 2 else 8.0) for pid in range(3)]
    try:
        assert procs[1].stdout.readline().strip() == "ready"
        os.kill(procs[1].pid, signal.SIGSTOP)
        errs = [procs[p].communicate(timeout=30)[1] for p in (0, 2)]
    finally:
        procs[1].kill()
        procs[1].communicate()
    assert [procs[p].returncode for p in (0, 2)] == [1, 1], errs
    for err in errs:
        assert "party 1 is silent" in err, err
        assert "party 0 is silent" not in err and "[0, 1] are silent" not in err, err
    assert all("party 0 waits for party 1" in err for err in errs), errs


PPX = {"seed": 2, "protocol": {"name": "ppxgboost", "queries": 4, "batch": 2, "users": 2,
                               "n_estimators": 3, "key_bits": 1024},
       "topology": {"kind": "star", "hub": 1, "latency": 0.001, "bandwidth": 1e8}}


def test_ppxgboost_runs_on_tcp_with_the_simulators_bytes() -> None:
    scenario = from_dict(PPX)
    real, simulated = run_scenario_tcp(scenario, timeout_s=60), run_scenario(scenario)
    assert real["prediction_check"]["ok"]
    assert real["key_isolation"] == simulated["key_isolation"]
    assert real["totals"]["bytes"] == simulated["totals"]["bytes"]
    assert [p["bytes_sent"] for p in real["parties"]] == \
        [p["bytes_sent"] for p in simulated["parties"]]


@pytest.mark.trio
async def test_a_long_frame_is_refused_before_it_is_read() -> None:
    """The length prefix alone is enough to refuse: nothing of 1.5 GiB is allocated."""
    left, right = trio.testing.memory_stream_pair()
    reader = FrameReader(right)
    reader.max_length = 1 << 20
    await left.send_all(struct.pack("<I", 3 << 29))
    with pytest.raises(codec.CodecError, match="1,610,612,736 bytes announced"):
        await reader.next()


@pytest.mark.trio
async def test_parties_holding_different_keys_never_connect_and_say_why() -> None:
    graph = topology("complete", 2)
    hosts = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    programs = dict.fromkeys(graph.nodes, _sum_to_analyst)
    errors: dict[int, BaseException] = {}

    async def party(pid: int) -> None:
        try:
            await run_party_async(graph, programs, pid, hosts, run_key=new_run_key(),
                                  timeout_s=1.0)
        except Exception as exc:  # noqa: BLE001 - compared below
            errors[pid] = exc

    async with trio.open_nursery() as nursery:
        for pid in range(2):
            nursery.start_soon(party, pid)
    assert "failed authentication" in str(errors[1]), errors
    assert "no connection with party 1" in str(errors[0]), errors
