"""Hosts, message CPU and the critical path: formulas for small runs.

A host's cores are FIFO servers shared by its parties' compute and message work;
with message costs m (per message) and b (per byte) a message of W wire bytes
holds the sender for m + bW (its program waits), crosses the route, and holds
the receiver's host for m + bW before it is delivered. Parties of one host talk
through memory (no link). Phase times are shares of the critical path.
"""

from __future__ import annotations

import pytest

import topologies
from ppsim.report import rollup
from ppsim.run import run_scenario
from ppsim.scenario import ScenarioError, from_dict
from sim import CostModel, Host, simulate
from sim.costs import costs

M, B, LAT, BW = 1e-4, 1e-8, 1e-3, 1e6
MESSAGING = CostModel.free().with_overrides({"message": M, "wire_byte": B})


def _computes(seconds: float):
    async def program(party):
        await party.compute(seconds)
        return party.now()
    return program


@pytest.mark.parametrize(("cores", "ends"), [(1, [1.0, 2.0, 3.0]), (2, [1.0, 1.0, 2.0]),
                                             (3, [1.0, 1.0, 1.0])])
def test_parties_of_a_host_share_its_cores_first_come_first_served(cores, ends):
    graph = topologies.complete(3)
    hosts = [Host("box", (0, 1, 2), cores=cores)]
    result = simulate(graph, dict.fromkeys(range(3), _computes(1.0)), hosts=hosts,
                      cost_model=CostModel.free())
    assert [result.outputs[i] for i in range(3)] == pytest.approx(ends)
    assert costs(result)["hosts"] == [{"name": "box", "parties": [0, 1, 2], "cores": cores,
                                       "cpu_busy_s": pytest.approx(3.0)}]
    # without hosts every party has a core of its own
    alone = simulate(graph, dict.fromkeys(range(3), _computes(1.0)), cost_model=CostModel.free())
    assert [alone.outputs[i] for i in range(3)] == pytest.approx([1.0] * 3)


def _one_message(size: int):
    async def sender(party):
        await party.send(1, b"x" * size)
        return party.now()

    async def receiver(party):
        await party.recv(0)
        return party.now()

    return {0: sender, 1: receiver}


def test_a_message_costs_cpu_at_both_ends_around_the_link():
    size, header = 1000, 40
    wire = size + header
    cpu = M + B * wire
    result = simulate(topologies.complete(2, latency=LAT, bandwidth=BW), _one_message(size),
                      cost_model=MESSAGING, header_bytes=header)
    assert result.outputs[0] == pytest.approx(cpu)  # the sender waited for its serialization
    assert result.outputs[1] == pytest.approx(cpu + wire / BW + LAT + cpu)
    rep = costs(result)
    assert [r["send_s"] for r in rep["party_phases"] if r["party"] == 0] == [pytest.approx(cpu)]
    assert [r["recv_s"] for r in rep["party_phases"] if r["party"] == 1] == [pytest.approx(cpu)]


def test_parties_of_one_host_talk_through_memory_at_the_cost_of_cpu():
    size = 1000
    result = simulate(topologies.complete(2, latency=LAT, bandwidth=BW), _one_message(size),
                      cost_model=MESSAGING, hosts=[Host("box", (0, 1))])
    assert result.outputs[1] == pytest.approx(2 * (M + B * size))  # no link, no latency
    assert result.network.links[(0, 1)].messages == 0


def test_a_relay_forwards_with_its_own_cpu():
    size = 1000
    cpu = M + B * size
    graph = topologies.star(3, hub=0, latency=LAT, bandwidth=BW)

    async def sender(party):
        await party.send(2, b"x" * size)

    async def receiver(party):
        await party.recv(1)
        return party.now()

    result = simulate(graph, {1: sender, 2: receiver}, cost_model=MESSAGING)
    hop = size / BW + LAT
    assert result.outputs[2] == pytest.approx(cpu + hop + cpu + hop + cpu)


def test_a_hosts_interface_is_shared_by_its_parties():
    size, nic = 1000, 1e5
    graph = topologies.complete(4, latency=LAT, bandwidth=BW)

    async def sender(party):
        await party.send(party.id + 2, b"x" * size)

    async def receiver(party):
        await party.recv(party.id - 2)
        return party.now()

    programs = {0: sender, 1: sender, 2: receiver, 3: receiver}
    shared = simulate(graph, programs, cost_model=CostModel.free(),
                      hosts=[Host("box", (0, 1), nic_bandwidth=nic)])
    first, second = sorted([shared.outputs[2], shared.outputs[3]])
    assert first == pytest.approx(size / nic + size / BW + LAT)
    assert second == pytest.approx(2 * size / nic + size / BW + LAT)  # queued behind
    nics = costs(shared)["nics"]
    assert nics == [{"party": 0, "parties": [0, 1], "egress_bytes": 2 * size,
                     "egress_busy_s": pytest.approx(2 * size / nic), "ingress_bytes": 0,
                     "ingress_busy_s": 0.0}]


@pytest.mark.parametrize(("hosts", "words"), [
    ([Host("a", (0,)), Host("b", (0, 1))], "party 0 is placed on two hosts"),
    ([Host("a", (5,))], "names party 5, not in the run"),
    ([Host("a", (0,)), Host("a", (1,))], "host names must be distinct"),
])
def test_bad_placements_are_refused(hosts, words):
    with pytest.raises(ValueError, match=words):
        simulate(topologies.complete(2), {}, hosts=hosts)


@pytest.mark.parametrize(("hosts", "key", "words"), [
    ({"a": {"parties": [0, 9]}}, "hosts.a.parties", "got party 9"),
    ({"a": {"parties": [0]}, "b": {"parties": [0]}}, "hosts.b.parties", "already on host 'a'"),
    ({"a": {"parties": "all", "cores": 0}}, "hosts.a.cores", "greater than or equal to 1"),
])
def test_bad_hosts_in_a_scenario_name_the_key(hosts, key, words):
    data = {"protocol": {"name": "secure_sum", "parties": 3}, "topology": {"kind": "complete"},
            "hosts": hosts}
    with pytest.raises(ScenarioError, match=words) as err:
        from_dict(data, "s.toml")
    assert err.value.key == key


# -- the critical path ---------------------------------------------------------------


def test_phase_times_follow_the_chain_that_ended_the_run():
    """Party 0 computes 1 s in "a" and sends; party 1, waiting meanwhile, computes 2 s in
    "b". The chain: a's compute, a's message, b's compute; party 1's wait is not in it."""
    size = 1000

    async def first(party):
        with party.phase("a"):
            await party.compute(1.0)
            await party.send(1, b"x" * size)

    async def second(party):
        with party.phase("b"):
            await party.recv(0)
            await party.compute(2.0)

    result = simulate(topologies.complete(2, latency=LAT, bandwidth=BW),
                      {0: first, 1: second}, cost_model=CostModel.free())
    rep = costs(result)
    phases = {p["name"]: p for p in rep["phases"]}
    assert phases["a"]["compute_s"] == pytest.approx(1.0)
    assert phases["a"]["network_s"] == pytest.approx(LAT + size / BW)
    assert phases["b"]["compute_s"] == pytest.approx(2.0)
    assert phases["b"]["wait_s"] == 0
    total = sum(p["sim_time_s"] for p in rep["phases"])
    assert total == pytest.approx(result.end_time) == pytest.approx(3.0 + LAT + size / BW)
    rows = {(r["party"], r["phase"]): r for r in rep["party_phases"]}
    assert rows[(1, "b")]["wait_s"] == pytest.approx(1.0 + LAT + size / BW)
    assert rows[(1, "b")]["time_s"] == pytest.approx(result.end_time)


def test_timeouts_and_busy_cores_are_waiting_on_the_path():
    async def waiter(party):
        with party.phase("w"):
            await party.recv_many([1], timeout=0.5)
        with party.phase("c"):
            await party.compute(1.0)

    async def busy(party):
        with party.phase("busy"):
            await party.compute(2.0)

    result = simulate(topologies.complete(2), {0: waiter, 1: busy},
                      cost_model=CostModel.free(), hosts=[Host("box", (0, 1))])
    phases = {p["name"]: p for p in costs(result)["phases"]}
    # party 0 ends at 3.0: 0.5 s timeout, then 1.5 s waiting for the core party 1 holds,
    # then its 1 s of compute; party 1 ends at 2.0
    assert result.end_time == pytest.approx(3.0)
    assert phases["w"]["wait_s"] == pytest.approx(0.5)
    assert phases["c"]["wait_s"] == pytest.approx(1.5)
    assert phases["c"]["compute_s"] == pytest.approx(1.0)
    assert phases["busy"]["sim_time_s"] == 0


def test_a_scenario_on_one_host_shares_its_core(tmp_path):
    """On links with no latency and ample bandwidth the only difference is the core
    the four parties then share: the run takes longer, bytes are the same."""
    data = {"seed": 2, "protocol": {"name": "secure_mul_cmp", "parties": 3,
                                    "vector_length": 2000},
            "topology": {"kind": "complete", "latency": 0.0, "bandwidth": 1e12}}
    apart = run_scenario(from_dict(data))
    together = run_scenario(from_dict({**data, "hosts": {"laptop": {"parties": "all"}}}))
    assert together["totals"]["bytes"] == apart["totals"]["bytes"]
    assert together["totals"]["sim_time_s"] > apart["totals"]["sim_time_s"]
    (host,) = together["hosts"]
    assert host["name"] == "laptop" and host["parties"] == [0, 1, 2, 3]
    assert together["scenario"]["hosts"] == {
        "laptop": {"parties": "all", "cores": 1, "nic_bandwidth": None}}


def test_rollup_groups_dotted_names_and_sums_their_figures():
    def row(name, t, offline=False):
        return {"name": name, "offline": offline, "bytes": 10, "messages": 1, "rounds": 1,
                "sim_time_s": t, "compute_s": t, "messaging_s": 0.0, "network_s": 0.0,
                "wait_s": 0.0}

    phases = [row("masking", 1.0), row("tree0.level0", 2.0), row("tree0.level1", 3.0),
              row("tree1.level0", 4.0), row("offline:tree0.level0", 5.0, offline=True)]
    by_tree = rollup(phases)
    assert [(r["name"], r["offline"], r["phases"], r["sim_time_s"]) for r in by_tree] == [
        ("masking", False, 1, 1.0), ("tree0", False, 2, 5.0), ("tree1", False, 1, 4.0),
        ("tree0", True, 1, 5.0)]
    by_level = rollup(phases, level=1)
    assert [(r["name"], r["sim_time_s"], r["bytes"]) for r in by_level[:3]] == [
        ("masking", 1.0, 10), ("level0", 6.0, 20), ("level1", 3.0, 10)]
    assert sum(r["sim_time_s"] for r in by_level) == sum(p["sim_time_s"] for p in phases)


def test_an_unlabelled_wait_goes_to_the_phase_of_the_message_that_ends_it():
    """FedAvg's issue: a client idling in "main" until the server's broadcast; the
    time belongs to the broadcast's phase, not to "main"."""
    async def server(party):
        with party.phase("broadcast"):
            await party.compute(1.0)
            await party.send(1, 1)

    async def client(party):
        await party.recv(0)

    result = simulate(topologies.complete(2), {0: server, 1: client},
                      cost_model=CostModel.free())
    phases = {p["name"]: p["sim_time_s"] for p in costs(result)["phases"]}
    assert phases.get("main", 0.0) == 0.0
    assert phases["broadcast"] == pytest.approx(result.end_time)


def test_many_phases_print_rolled_up_within_a_screenful():
    from io import StringIO

    from rich.console import Console

    from ppsim.report import SCREEN_PHASES, print_table

    data = {"seed": 1, "protocol": {"name": "xorboost", "mode": "cost_only", "dataset": "synthetic",
                                    "n_samples": 200, "n_features": 4, "split": "vertical",
                                    "n_estimators": 8, "max_depth": 3, "max_bin": 4},
            "topology": {"kind": "complete"}}
    rep = run_scenario(from_dict(data))
    assert len(rep["phases"]) > 3 * SCREEN_PHASES
    out = StringIO()
    print_table(rep, Console(file=out, width=120))
    text = out.getvalue()
    assert len(text.splitlines()) <= 60
    assert "tree7 (5)" in text and "level2 (8)" in text and "offline *" in text
