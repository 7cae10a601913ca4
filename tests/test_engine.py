"""The simulated runtime: parties, crashes, failures, deadlocks, rounds, ledger and views."""

from __future__ import annotations

import dataclasses
import gc
import warnings

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import topologies
from sim import CostModel
from sim.engine import Crash, Deadlock, LinkFault, PartyFailure
from sim.engine import simulate as _simulate


def simulate(graph, programs, **options):
    """The engine with every operation free unless a test gives a model: these tests
    check the clock, the network and the ledger against formulas."""
    return _simulate(graph, programs, **{"cost_model": CostModel.free(), **options})

LAT, BW = 0.01, 1e6


def _complete(n: int) -> nx.Graph:
    return topologies.complete(n, latency=LAT, bandwidth=BW)


# -- local work and time ---------------------------------------------------------------------


def test_compute_and_work_advance_only_that_partys_clock():
    seen = {}

    async def worker(party):
        await party.compute(0.5)
        await party.work(ring=1000)
        seen[party.id] = party.now()

    async def idle(party):
        seen[party.id] = party.now()

    model = CostModel.free().with_overrides({"ring": 1e-4})
    result = simulate(_complete(2), {0: worker, 1: idle}, cost_model=model)
    assert seen == {0: pytest.approx(0.5 + 1000 * 1e-4), 1: 0.0}
    assert result.end_time == pytest.approx(0.6)


def test_outputs_are_the_programs_return_values():
    async def program(party):
        return party.id * 10

    assert simulate(_complete(3), dict.fromkeys(range(3), program)).outputs == {
        0: 0, 1: 10, 2: 20,
    }


# -- receiving -------------------------------------------------------------------------------


def test_recv_many_returns_all_keyed_and_sorted_by_sender():
    async def client(party):
        await party.compute(0.1 * (4 - party.id))  # later ids send first
        await party.send(0, party.id * 100)

    async def server(party):
        got = await party.recv_many([3, 1, 2])
        return list(got.items())

    programs = {0: server, 1: client, 2: client, 3: client}
    assert simulate(_complete(4), programs).outputs[0] == [(1, 100), (2, 200), (3, 300)]


def test_recv_keeps_per_sender_fifo_order_and_buffers_early_messages():
    async def sender(party):
        for i in range(5):
            await party.send(0, i)

    async def receiver(party):
        await party.compute(10.0)  # everything arrived meanwhile
        return [await party.recv(1) for _ in range(5)]

    assert simulate(_complete(2), {0: receiver, 1: sender}).outputs[0] == [0, 1, 2, 3, 4]


def test_broadcast_reaches_every_other_party():
    async def root(party):
        await party.broadcast("hello")

    async def leaf(party):
        return await party.recv(0)

    programs = {0: root, **dict.fromkeys(range(1, 4), leaf)}
    assert simulate(_complete(4), programs).outputs == {0: None, 1: "hello", 2: "hello",
                                                        3: "hello"}


# -- crashes ---------------------------------------------------------------------------------


def test_crashed_party_messages_never_arrive_and_timeout_returns_exactly_then():
    timeout = 3.0

    async def client(party):
        await party.compute(1.0)  # party 1 crashes at 0.5, before it sends
        await party.send(0, party.id)

    async def server(party):
        got = await party.recv_many([1, 2], timeout=timeout)
        return got, party.now()

    result = simulate(_complete(3), {0: server, 1: client, 2: client},
                      faults=[Crash(1, at=0.5)])
    got, at = result.outputs[0]
    assert got == {2: 2}
    assert at == timeout
    assert result.crashed == {1: 0.5}
    assert 1 not in result.outputs
    assert result.ledger.parties[1].messages_sent == 0


def test_recv_many_with_timeout_returns_early_when_all_arrive():
    async def client(party):
        await party.send(0, party.id)

    async def server(party):
        got = await party.recv_many([1, 2], timeout=5.0)
        return got, party.now()

    got, at = simulate(_complete(3), {0: server, 1: client, 2: client}).outputs[0]
    assert got == {1: 1, 2: 2}
    assert at == pytest.approx(LAT + 8 / BW)


def test_a_message_after_the_timeout_waits_for_a_later_recv():
    async def late(party):
        await party.compute(5.0)
        await party.send(0, "late")

    async def server(party):
        got = await party.recv_many([1], timeout=1.0)
        return got, await party.recv(1), party.now()

    got, later, at = simulate(_complete(2), {0: server, 1: late}).outputs[0]
    assert (got, later) == ({}, "late")
    assert at == pytest.approx(5.0 + LAT + 4 / BW)


def test_a_stale_timer_does_not_resume_a_later_wait():
    # the recv_many completes early; its 1 s timer must not wake the recv that follows
    async def client(party):
        await party.send(0, 1)
        await party.compute(3.0)
        await party.send(0, 2)

    async def server(party):
        first = await party.recv_many([1], timeout=1.0)
        second = await party.recv(1)
        return first, second, party.now()

    first, second, at = simulate(_complete(2), {0: server, 1: client}).outputs[0]
    assert (first, second) == ({1: 1}, 2)
    assert at == pytest.approx(3.0 + LAT + 8 / BW)


def test_messages_to_a_crashed_party_are_dropped_and_waiting_on_it_is_a_deadlock():
    async def sender(party):
        await party.compute(1.0)
        await party.send(1, 7)
        return await party.recv(1)

    async def receiver(party):
        await party.recv(0)
        await party.send(0, 8)

    expected = r"party 0 .*waits for a message from party 1.*crashed: \[1\]"
    with pytest.raises(Deadlock, match=expected):
        simulate(_complete(2), {0: sender, 1: receiver}, faults=[Crash(1, at=0.5)])


def test_crash_during_a_wait_ends_the_party_without_output():
    async def waiter(party):
        await party.recv(0)

    async def late(party):
        await party.compute(2.0)
        await party.send(1, 1)

    result = simulate(_complete(2), {0: late, 1: waiter}, faults=[Crash(1, at=1.0)])
    assert result.outputs == {0: None}
    assert result.ledger.dropped_messages == 1


# -- failures and deadlocks ------------------------------------------------------------------


def test_exception_in_a_party_names_party_and_phase():
    async def fine(party):
        await party.recv(1)  # would wait forever: the failure must end the run

    async def broken(party):
        with party.phase("sharing"):
            await party.compute(0.1)
            raise ZeroDivisionError("boom")

    with pytest.raises(PartyFailure, match="party 1 failed in phase 'sharing'.*boom") as info:
        simulate(_complete(2), {0: fine, 1: broken})
    assert (info.value.party, info.value.phase) == (1, "sharing")
    assert isinstance(info.value.error, ZeroDivisionError)


def test_failure_names_the_innermost_phase_it_was_raised_in():
    async def nested(party):
        with party.phase("outer"):
            with party.phase("inner"):
                await party.compute(0.1)
            if party.id == 0:
                raise KeyError("after inner")
            with party.phase("inner"):
                raise KeyError("in inner")

    with pytest.raises(PartyFailure, match="party 0 failed in phase 'outer'"):
        simulate(_complete(2), {0: nested})
    with pytest.raises(PartyFailure, match="party 1 failed in phase 'inner'"):
        simulate(_complete(2), {1: nested})


def test_failure_at_the_first_step_stops_the_run_and_closes_the_other_coroutines():
    started = []

    async def broken(party):
        raise RuntimeError("first")

    async def other(party):
        started.append(party.id)
        await party.recv(0)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            simulate(_complete(3), {0: broken, 1: other, 2: other})
        except PartyFailure as exc:
            assert "party 0 failed in phase 'main'" in str(exc)
        else:
            pytest.fail("no PartyFailure")
        gc.collect()  # a coroutine left unclosed warns "never awaited" when collected
    assert started == []  # the run stopped before anyone else ran
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []


def test_sending_to_a_bad_party_fails_the_run():
    async def program(party):
        await party.send(5, 1)

    with pytest.raises(PartyFailure, match="party 0 .*cannot send to 5"):
        simulate(_complete(2), {0: program})


def test_awaiting_a_foreign_awaitable_fails_the_run():
    class Foreign:
        def __await__(self):
            yield None

    async def program(party):
        await Foreign()

    with pytest.raises(PartyFailure, match="party 0 .*foreign"):
        simulate(_complete(2), {0: program})


def test_deadlock_names_who_waits_for_whom():
    async def program(party):
        with party.phase("exchange"):
            return await party.recv(1 - party.id)

    with pytest.raises(Deadlock) as info:
        simulate(_complete(2), {0: program, 1: program})
    text = str(info.value)
    assert "party 0 (phase 'exchange') waits for a message from party 1" in text
    assert "party 1 (phase 'exchange') waits for a message from party 0" in text


def test_deadlock_in_recv_many_lists_the_missing_senders():
    async def server(party):
        await party.recv_many([1, 2, 3])

    async def client(party):
        await party.send(0, 1)

    with pytest.raises(Deadlock, match=r"party 0 .*messages from parties \[1, 3\]"):
        simulate(_complete(4), {0: server, 2: client})


# -- rounds ----------------------------------------------------------------------------------


def _ping_pong(exchanges: int):
    async def ping(party):
        for i in range(exchanges):
            await party.send(1, i)
            await party.recv(1)

    async def pong(party):
        for _ in range(exchanges):
            await party.send(0, await party.recv(0))

    return {0: ping, 1: pong}


@given(k=st.integers(1, 30))
@settings(max_examples=15, deadline=None)
def test_ping_pong_of_k_exchanges_is_2k_rounds(k):
    result = simulate(_complete(2), _ping_pong(k))
    assert result.ledger.phase_rounds() == {"main": 2 * k}
    assert result.parties[0].depth == 2 * k
    # each message takes one hop: 2k * (l + 8/b)
    assert result.end_time == pytest.approx(2 * k * (LAT + 8 / BW))


def test_a_phase_counts_the_depth_it_adds():
    # "a" ping-pongs twice (4 rounds); "b" is a fan-out to 3 parties (1 round: they are
    # concurrent); "c" has each leaf answer (1 round).
    async def root(party):
        with party.phase("a"):
            for _ in range(2):
                await party.send(1, 0)
                await party.recv(1)
        with party.phase("b"):
            await party.broadcast(1)
        with party.phase("c"):
            await party.recv_many([1, 2, 3])

    async def leaf(party):
        with party.phase("a"):
            if party.id == 1:
                for _ in range(2):
                    await party.send(0, await party.recv(0))
        with party.phase("b"):
            await party.recv(0)
        with party.phase("c"):
            await party.send(0, 2)

    result = simulate(_complete(4), {0: root, **dict.fromkeys((1, 2, 3), leaf)})
    assert result.ledger.phase_rounds() == {"a": 4, "b": 1, "c": 1}


def test_independent_messages_are_one_round():
    async def program(party):
        await party.broadcast(party.id)
        await party.recv_many(party.others)

    result = simulate(_complete(5), dict.fromkeys(range(5), program))
    assert result.ledger.phase_rounds() == {"main": 1}


def test_offline_phase_is_counted_apart_from_online_rounds():
    async def dealer(party):
        with party.phase("deal", offline=True):
            await party.broadcast(np.zeros(100, dtype=np.uint64), dsts=[1, 2])

    async def worker(party):
        with party.phase("deal", offline=True):
            await party.recv(0)
        with party.phase("online"):
            await party.send(3 - party.id, 1)
            await party.recv(3 - party.id)

    result = simulate(_complete(3), {0: dealer, 1: worker, 2: worker})
    ledger = result.ledger
    assert ledger.phase_rounds() == {"deal": 1, "online": 1}
    assert ledger.phases["deal"].offline and not ledger.phases["online"].offline
    # the dealer's two messages on an idle network: l + 800/b each (different links)
    assert result.offline_time == pytest.approx(LAT + 800 / BW)


def test_offline_sender_is_paced_until_its_message_is_taken():
    async def dealer(party):
        with party.phase("deal", offline=True):
            await party.send(1, 1)
            await party.send(1, 2)
        return party.now()

    async def taker(party):
        await party.compute(2.0)
        with party.phase("deal", offline=True):
            return [await party.recv(0), await party.recv(0)]

    result = simulate(_complete(2), {0: dealer, 1: taker})
    # the dealer's second send returns when the taker takes the first, at t = 2
    assert result.outputs == {0: 2.0, 1: [1, 2]}


def test_offline_message_never_taken_is_a_deadlock_naming_the_taker():
    async def dealer(party):
        with party.phase("deal", offline=True):
            await party.send(1, 1)

    with pytest.raises(Deadlock, match="party 0 .*waits for party 1 to take its offline message"):
        simulate(_complete(2), {0: dealer})


# -- ledger and views ------------------------------------------------------------------------


def test_ledger_counts_by_phase_party_and_link():
    header = 10
    vec = np.arange(50, dtype=np.uint64)  # 400 bytes

    async def a(party):
        with party.phase("send"):
            await party.send(1, vec)
            await party.send(2, vec[:10])
        with party.phase("bits"):
            await party.send(1, np.ones(17, dtype=bool))  # bit-packed: 3 bytes

    async def b(party):
        with party.phase("send"):
            await party.recv(0)
        with party.phase("bits"):
            await party.recv(0)

    async def c(party):
        await party.recv(0)

    result = simulate(_complete(3), {0: a, 1: b, 2: c}, header_bytes=header)
    ledger = result.ledger
    assert (ledger.phases["send"].bytes, ledger.phases["send"].messages) == (
        400 + 80 + 2 * header, 2
    )
    assert (ledger.phases["bits"].bytes, ledger.phases["bits"].messages) == (3 + header, 1)
    assert dataclasses.astuple(ledger.parties[0]) == (400 + 80 + 3 + 3 * header, 0, 3, 0)
    assert dataclasses.astuple(ledger.parties[1]) == (0, 400 + 3 + 2 * header, 0, 2)
    assert dataclasses.astuple(ledger.parties[2]) == (0, 80 + header, 0, 1)
    links = result.network.links
    assert (links[(0, 1)].bytes, links[(0, 1)].messages) == (400 + 3 + 2 * header, 2)
    assert (links[(0, 2)].bytes, links[(0, 2)].messages) == (80 + header, 1)
    assert links[(1, 2)].messages == links[(1, 0)].messages == 0


def test_views_record_what_each_party_received():
    async def a(party):
        with party.phase("p"):
            await party.send(1, b"secret")

    async def b(party):
        with party.phase("p"):
            await party.recv(0)

    result = simulate(_complete(3), {0: a, 1: b}, record_views=True)
    views = result.ledger.views
    assert [dataclasses.astuple(v) for v in views[1]] == [
        (pytest.approx(LAT + 6 / BW), 0, "p", b"secret")
    ]
    assert views[0] == [] and views[2] == []
    assert simulate(_complete(3), {0: a, 1: b}).ledger.views is None


def _noisy_run(seed: int):
    async def program(party):
        for _ in range(20):
            dst = int(party.rng.choice(party.others))
            await party.send(dst, party.rng.integers(0, 2**63, size=int(party.rng.integers(1, 9))))
            await party.compute(float(party.rng.random()) * 1e-3)
        got = await party.recv_many(party.others, timeout=1.0)
        return sorted(got)

    graph = topologies.ring(5, latency=LAT, bandwidth=BW)
    result = simulate(graph, dict.fromkeys(range(5), program), seed=seed, record_views=True,
                      faults=[LinkFault(0, 1, drop=0.3)])
    ledger = result.ledger
    views = {pid: [(v.time, v.src, v.phase, v.payload.tolist()) for v in entries]
             for pid, entries in ledger.views.items()}
    links = {k: dataclasses.astuple(v) for k, v in result.network.links.items()}
    return (
        repr(ledger.phases), repr(ledger.parties), ledger.dropped_messages, views, links,
        result.outputs, result.end_time,
    )


def test_same_seed_gives_an_identical_ledger():
    first = _noisy_run(11)
    assert _noisy_run(11) == first
    assert _noisy_run(12) != first


def test_party_generators_differ_between_parties_and_follow_the_seed():
    async def program(party):
        return party.rng.integers(0, 2**63)

    one = simulate(_complete(3), dict.fromkeys(range(3), program), seed=1).outputs
    assert len(set(one.values())) == 3
    assert simulate(_complete(3), dict.fromkeys(range(3), program), seed=1).outputs == one
    assert simulate(_complete(3), dict.fromkeys(range(3), program), seed=2).outputs != one


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"header_bytes": -1}, "header_bytes"),
        ({"faults": [Crash(7, at=0.1)]}, "crash fault names party 7"),
        ({"faults": [LinkFault(0, 5)]}, "no such link"),
    ],
)
def test_bad_options_are_value_errors(kwargs, match):
    async def program(party):
        return None

    with pytest.raises(ValueError, match=match):
        simulate(_complete(3), {0: program}, **kwargs)
