"""The network model: FIFO links, store-and-forward routes, headers, drops and delays.

Expected times are the model's formulas (issue 3, "Network model"): a message of S
bytes over one link of latency l and bandwidth b arrives at l + S/b; messages queue
per directed link; each hop of a route adds its own transmission and latency.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import CostModel
from sim.engine import LinkFault
from sim.engine import simulate as _simulate
from sim.network import Network, NetworkError
from sim.wire import size_of


def simulate(graph, programs, **options):
    """The engine with every operation free: these tests check the network model alone."""
    return _simulate(graph, programs, cost_model=CostModel.free(), **options)


def _graph(edges: dict[tuple[int, int], tuple[float, float]]) -> nx.Graph:
    graph = nx.Graph()
    for (u, v), (latency, bandwidth) in edges.items():
        graph.add_edge(u, v, latency=latency, bandwidth=bandwidth)
    return graph


def _arrivals(graph: nx.Graph, sends: list[tuple[int, int, int]], **options):
    """Each sender sends its messages (src, dst, size) at time 0; returns the arrival times
    of each (src, dst) pair's messages, in order."""
    arrivals: dict[tuple[int, int], list[float]] = {}
    expected: dict[tuple[int, int], int] = {}
    for src, dst, _ in sends:
        expected[(src, dst)] = expected.get((src, dst), 0) + 1

    def sender(pid):
        async def program(party):
            for src, dst, size in sends:
                if src == pid:
                    await party.send(dst, np.zeros(size, dtype=np.uint8))
        return program

    def receiver(pid):
        async def program(party):
            for (src, dst), count in expected.items():
                if dst == pid:
                    for _ in range(count):
                        await party.recv(src)
                        arrivals.setdefault((src, dst), []).append(party.now())
        return program

    programs = {}
    for pid in graph.nodes:
        send, recv = sender(pid), receiver(pid)

        async def both(party, send=send, recv=recv):
            await send(party)
            await recv(party)
        programs[pid] = both
    result = simulate(graph, programs, **options)
    return arrivals, result


finite = {"allow_nan": False, "allow_infinity": False}


@settings(max_examples=50, deadline=None)
@given(
    latency=st.floats(0, 1, **finite),
    bandwidth=st.floats(1e3, 1e10, **finite),
    size=st.integers(0, 10_000),
    header=st.integers(0, 100),
)
def test_one_link_arrival_is_latency_plus_size_over_bandwidth(latency, bandwidth, size, header):
    graph = _graph({(0, 1): (latency, bandwidth)})
    arrivals, result = _arrivals(graph, [(0, 1, size)], header_bytes=header)
    assert arrivals[(0, 1)] == [pytest.approx(latency + (size + header) / bandwidth, rel=1e-12)]
    link = result.network.links[(0, 1)]
    assert (link.bytes, link.messages) == (size + header, 1)
    assert link.busy_s == pytest.approx((size + header) / bandwidth)
    assert result.network.links[(1, 0)].messages == 0


def test_two_messages_on_one_link_queue():
    latency, bandwidth, size = 0.01, 1e6, 5000
    graph = _graph({(0, 1): (latency, bandwidth)})
    arrivals, _ = _arrivals(graph, [(0, 1, size), (0, 1, size)])
    assert arrivals[(0, 1)] == pytest.approx(
        [latency + size / bandwidth, latency + 2 * size / bandwidth]
    )


def test_the_two_directions_of_a_link_do_not_queue_behind_each_other():
    latency, bandwidth, size = 0.01, 1e6, 5000
    graph = _graph({(0, 1): (latency, bandwidth)})
    arrivals, _ = _arrivals(graph, [(0, 1, size), (1, 0, size)])
    assert arrivals[(0, 1)] == arrivals[(1, 0)] == pytest.approx([latency + size / bandwidth])


def test_messages_to_different_links_from_one_sender_do_not_queue():
    graph = _graph({(0, 1): (0.01, 1e6), (0, 2): (0.01, 1e6)})
    arrivals, _ = _arrivals(graph, [(0, 1, 1000), (0, 2, 1000)])
    assert arrivals[(0, 1)] == arrivals[(0, 2)] == pytest.approx([0.01 + 1000 / 1e6])


def test_multi_hop_is_store_and_forward_per_hop():
    # line 0 - 1 - 2 with different links: arrival = sum over hops of (S/b_i + l_i)
    graph = _graph({(0, 1): (0.01, 1e6), (1, 2): (0.03, 2e5)})
    size, header = 4000, 40
    arrivals, result = _arrivals(graph, [(0, 2, size)], header_bytes=header)
    wire = size + header
    assert arrivals[(0, 2)] == pytest.approx([wire / 1e6 + 0.01 + wire / 2e5 + 0.03])
    assert result.network.links[(0, 1)].bytes == result.network.links[(1, 2)].bytes == wire
    # the relay is charged nothing as a sender or receiver
    assert result.ledger.parties[1].bytes_sent == result.ledger.parties[1].bytes_received == 0


def test_route_takes_the_lowest_latency_path_over_fewer_hops():
    # direct link 0-2 has latency 1.0; the detour through 1 has 0.1 + 0.1
    graph = _graph({(0, 2): (1.0, 1e6), (0, 1): (0.1, 1e6), (1, 2): (0.1, 1e6)})
    arrivals, result = _arrivals(graph, [(0, 2, 1000)])
    assert arrivals[(0, 2)] == pytest.approx([2 * (0.1 + 1000 / 1e6)])
    assert result.network.links[(0, 2)].messages == 0
    assert result.network.links[(0, 1)].messages == result.network.links[(1, 2)].messages == 1


def test_relayed_messages_queue_at_the_shared_hop():
    # star: 1 -> 0 -> 2 and 3 -> 0 -> 2 share the link (0, 2); the second waits for the first
    latency, bandwidth, size = 0.01, 1e6, 10_000
    graph = _graph({(0, 1): (latency, bandwidth), (0, 2): (latency, bandwidth),
                    (0, 3): (latency, bandwidth)})
    arrivals, _ = _arrivals(graph, [(1, 2, size), (3, 2, size)])
    hop = size / bandwidth + latency
    assert sorted(arrivals[(1, 2)] + arrivals[(3, 2)]) == pytest.approx(
        [2 * hop, 2 * hop + size / bandwidth]
    )


def test_link_delay_fault_adds_to_each_crossing():
    graph = _graph({(0, 1): (0.01, 1e6), (1, 2): (0.01, 1e6)})
    arrivals, _ = _arrivals(graph, [(0, 2, 1000), (1, 0, 1000)],
                            faults=[LinkFault(0, 1, delay=0.25)])
    assert arrivals[(0, 2)] == pytest.approx([2 * (0.01 + 1000 / 1e6) + 0.25])
    assert arrivals[(1, 0)] == pytest.approx([0.01 + 1000 / 1e6 + 0.25])


def _dropped_payloads(seed: int, probability: float, count: int) -> tuple[list[int], int]:
    graph = _graph({(0, 1): (0.001, 1e9)})

    async def sender(party):
        for i in range(count):
            await party.send(1, i)

    result = simulate(graph, {0: sender}, seed=seed, record_views=True,
                      faults=[LinkFault(0, 1, drop=probability)])
    got = [entry.payload for entry in result.ledger.views[1]]
    return got, result.ledger.dropped_messages


def test_drops_are_seeded_and_about_p_of_messages():
    count, p = 4000, 0.3
    got, dropped = _dropped_payloads(seed=5, probability=p, count=count)
    assert got == sorted(got)  # a lossy link still delivers in order
    assert dropped == count - len(got)
    # binomial(4000, 0.3): standard deviation ~29; allow 5 of them
    assert abs(dropped - p * count) < 5 * (count * p * (1 - p)) ** 0.5
    again, _ = _dropped_payloads(seed=5, probability=p, count=count)
    assert again == got
    other, _ = _dropped_payloads(seed=6, probability=p, count=count)
    assert other != got


def test_drop_probability_zero_and_one():
    assert _dropped_payloads(seed=1, probability=0.0, count=50)[1] == 0
    assert _dropped_payloads(seed=1, probability=1.0, count=50) == ([], 50)


def test_missing_attributes_and_bad_values_are_network_errors():
    graph = nx.Graph()
    graph.add_edge(0, 1, latency=0.1)
    with pytest.raises(NetworkError, match="'bandwidth'"):
        Network(graph, np.random.default_rng(0))
    graph = _graph({(0, 1): (-0.1, 1e6)})
    with pytest.raises(NetworkError, match="latency must be >= 0"):
        Network(graph, np.random.default_rng(0))


def test_no_route_is_a_network_error():
    graph = _graph({(0, 1): (0.1, 1e6)})
    graph.add_node(2)
    with pytest.raises(NetworkError, match="no route from party 0 to party 2"):
        Network(graph, np.random.default_rng(0)).route(0, 2)


@given(value=st.integers(-(2**70), 2**70))
def test_int_size_is_8_bytes_in_64_bits_else_its_length(value):
    expected = 8 if -(2**63) <= value < 2**64 else (value.bit_length() + 8) // 8
    assert size_of(value) == expected
    assert size_of(np.int64(1)) == 8 and size_of(True) == 1


@given(length=st.integers(0, 100))
def test_array_sizes_raw_bytes_and_packed_bits(length):
    assert size_of(np.zeros(length, dtype=np.uint64)) == 8 * length
    assert size_of(np.zeros((length, 2), dtype=np.uint32)) == 8 * length
    assert size_of(np.zeros(length, dtype=bool)) == (length + 7) // 8
    assert size_of((np.zeros(length, dtype=np.uint64), 3)) == 8 * length + 8


def test_a_nic_serializes_what_a_party_sends_on_different_links():
    """Without a NIC, one party's messages to k peers leave at once (one link each) and
    all arrive at l + S/b. With nic_bandwidth B, they queue at the sender's interface:
    the j-th (1-based) leaves the NIC at j*S/B, then crosses its link: arrival
    j*S/B + S/b + l, and the receiver's own NIC adds S/B."""
    import networkx as nx

    k, size, lat, bw, nic = 4, 1000, 0.01, 1e6, 1e5
    arrivals: dict[int, float] = {}

    async def sender(party):
        for dst in range(1, k + 1):
            await party.send(dst, b"x" * size)

    async def receiver(party):
        await party.recv(0)
        arrivals[party.id] = party.now()

    graph = nx.complete_graph(k + 1)
    nx.set_edge_attributes(graph, lat, "latency")
    nx.set_edge_attributes(graph, bw, "bandwidth")
    programs = {0: sender, **dict.fromkeys(range(1, k + 1), receiver)}
    simulate(graph, programs)
    assert all(t == pytest.approx(lat + size / bw) for t in arrivals.values())
    nx.set_node_attributes(graph, nic, "nic_bandwidth")
    result = simulate(graph, programs)
    for j in range(1, k + 1):
        assert arrivals[j] == pytest.approx(j * size / nic + size / bw + lat + size / nic)
    assert result.network.egress[0].bytes == k * size
    assert result.network.ingress[1].bytes == size


def test_a_relay_carries_what_it_forwards_through_its_own_nic():
    """Issue 19: on a two-level topology, a message from a group member to another group
    crosses both representatives. Each hop between machines crosses the sender's egress
    and the receiver's ingress: 1 -> 0 -> 2 -> 3 (0 and 2 representatives) queues at
    egress(1), ingress(0), egress(0), ingress(2), egress(2), ingress(3). With links of
    bandwidth b, NICs of B and latency l: arrival 3 l + 3 S / b + 6 S / B."""
    import topologies

    size, lat, bw, nic = 1000, 0.01, 1e6, 1e5
    graph = topologies.two_level(4, groups=2, latency=lat, bandwidth=bw)
    nx.set_node_attributes(graph, nic, "nic_bandwidth")
    arrivals, result = _arrivals(graph, [(1, 3, size)])
    assert arrivals[(1, 3)] == [pytest.approx(3 * lat + 3 * size / bw + 6 * size / nic)]
    for rep in (0, 2):
        assert result.network.egress[rep].bytes == result.network.ingress[rep].bytes == size


def test_parties_of_one_machine_share_one_nic_and_bypass_it_inside():
    """Parties 0, 1 on machine A, 2, 3 on machine B, every pair linked. Inside a machine
    a message crosses only its link: l + S/b. The messages 0 -> 2 and 1 -> 3 leave
    through A's one NIC one after the other (at S/B and 2 S/B), cross their own links,
    and queue again at B's one NIC: the first arrives S/B + S/b + l + S/B, the second
    S/B after the later of that and its own arrival at B's NIC."""
    import topologies

    size, lat, bw, nic = 1000, 0.01, 1e6, 1e5
    graph = topologies.machines(4, per_machine=2, latency=lat, bandwidth=bw)
    nx.set_node_attributes(graph, nic, "nic_bandwidth")
    arrivals, result = _arrivals(graph, [(0, 1, size), (0, 2, size), (1, 3, size)])
    assert arrivals[(0, 1)] == [pytest.approx(lat + size / bw)]
    first = size / nic + size / bw + lat + size / nic
    second = max(2 * size / nic + size / bw + lat, first) + size / nic
    assert sorted(arrivals[(0, 2)] + arrivals[(1, 3)]) == [pytest.approx(first),
                                                          pytest.approx(second)]
    net = result.network
    assert net.egress[0] is net.egress[1] and net.ingress[2] is net.ingress[3]
    assert net.egress[0].bytes == 2 * size and net.ingress[2].bytes == 2 * size
    assert net.ingress[0].bytes == 0  # the message 0 -> 1 stayed inside machine A


def test_one_machine_with_two_nic_bandwidths_is_an_error():
    graph = nx.complete_graph(2)
    nx.set_edge_attributes(graph, 0.0, "latency")
    nx.set_edge_attributes(graph, 1e6, "bandwidth")
    nx.set_node_attributes(graph, 0, "machine")
    nx.set_node_attributes(graph, {0: 1e5, 1: 2e5}, "nic_bandwidth")
    with pytest.raises(NetworkError, match=r"parties \[0, 1\] share a machine"):
        Network(graph, np.random.default_rng(0))


def test_a_fabric_is_one_queue_for_everything_between_machines():
    """Two machines of two parties each, fabric F, no NICs: 0 -> 2 and 1 -> 3 both cross
    the fabric, one after the other (S/F, then 2 S/F), then their own links; inside a
    machine nothing crosses it."""
    import topologies

    size, lat, bw, fabric = 1000, 0.01, 1e6, 1e5
    graph = topologies.machines(4, per_machine=2, latency=lat, bandwidth=bw,
                                fabric_bandwidth=fabric)
    arrivals, result = _arrivals(graph, [(0, 2, size), (1, 3, size), (0, 1, size)])
    assert sorted(arrivals[(0, 2)] + arrivals[(1, 3)]) == [
        pytest.approx(size / fabric + size / bw + lat),
        pytest.approx(2 * size / fabric + size / bw + lat)]
    assert arrivals[(0, 1)] == [pytest.approx(lat + size / bw)]
    assert result.network.fabric.bytes == 2 * size
