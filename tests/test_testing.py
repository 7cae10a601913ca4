"""sim.testing: one call runs programs or a plan on either runtime and gives report.json's
keys; the checks catch what they claim to; the strategies draw valid objects; the pytest
plugin runs one test body on both runtimes."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ppsim import from_dict, run_scenario
from sim import Crash, LinkFault, Party, simulate
from sim.testing import (
    RUNTIMES,
    arun,
    assert_costs,
    assert_view_uniform,
    bits_balanced,
    looks_uniform,
    run,
    view_arrays,
)
from sim.testing.strategies import KINDS, fault_plans, fixed_point, party_counts, topologies

pytest_plugins = ["pytester"]
L = 4000  # values per share: enough for the uniformity checks to see a bias


def sharing(leak: bool = False, floats: bool = False):
    """Party 0 additively shares zeros with parties 1 and 2, who send their share sums
    back. With `leak` the shares are not masked; with `floats` they are plain reals."""
    async def program(party: Party):
        with party.phase("share"):
            if party.id == 0:
                x = np.zeros(L, np.uint64)
                a = x if leak else party.rng.integers(0, 2**64, L, dtype=np.uint64)
                for dst, piece in ((1, a), (2, x - a)):
                    await party.send(dst, piece.astype(np.float64) if floats else piece)
                return None
            mine = await party.recv(0)
        with party.phase("reveal"):
            await party.send(0, mine)
            return mine
    return program


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_run_gives_outputs_costs_and_views_on_both_runtimes(runtime):
    out = run(sharing(), n=3, runtime=runtime, seed=4, record_views=True)
    assert np.array_equal(out.outputs[1] + out.outputs[2], np.zeros(L, np.uint64))
    assert out.report["runtime"] == runtime
    assert_costs(out, "share", rounds=1, messages=2, bytes=2 * 8 * L)
    assert_costs(out, rounds=2, messages=4)
    assert sorted(e.src for e in out.views[0]) == [1, 2]
    assert out.views[1][0].phase == "share"


def test_the_report_of_a_plan_is_report_json_without_the_scenario():
    scenario = from_dict({"seed": 5, "protocol": {"name": "secure_mul_cmp", "vector_length": 20},
                          "topology": {"kind": "star", "latency": 0.002, "bandwidth": 1e7}})
    written = json.loads(json.dumps(run_scenario(scenario)))
    out = run(scenario.plan, topology=scenario.graph, seed=5)
    mine = json.loads(json.dumps(out.report, default=lambda v: v.tolist()))
    for rep in (written, mine):
        rep.pop("wall_time_s")
    assert {k: v for k, v in written.items()
            if k not in ("schema_version", "version", "scenario")} == mine
    assert out.phase("multiply and compare")["rounds"] == 8
    with pytest.raises(KeyError, match="the run's phases: input sharing"):
        out.phase("comparison")


def test_views_must_be_asked_for():
    out = run(sharing(), n=3)
    with pytest.raises(ValueError, match="record_views=True"):
        out.views  # noqa: B018 - the property raises


def test_run_checks_its_arguments():
    with pytest.raises(ValueError, match="runtime must be one of sim, tcp"):
        run(sharing(), n=3, runtime="udp")
    with pytest.raises(ValueError, match="give n"):
        run(sharing())


@pytest.mark.trio
async def test_arun_runs_tcp_inside_the_running_trio_loop():
    out = await arun(sharing(), n=3, runtime="tcp", seed=4)
    assert_costs(out, "share", rounds=1, bytes=2 * 8 * L)


def test_assert_costs_names_what_differs():
    out = run(sharing(), n=3)
    with pytest.raises(AssertionError, match=r"phase 'share': rounds = 1, expected 2"):
        assert_costs(out, "share", rounds=2, messages=2)
    with pytest.raises(AssertionError, match="no phase 'input'"):
        assert_costs(out, "input", rounds=1)
    with pytest.raises(KeyError, match="has no round"):
        assert_costs(out.report, "share", round=1)


def test_view_uniformity_passes_shares_and_catches_leaks():
    def views(**kw):
        return run(sharing(**kw), n=3, seed=1, record_views=True)

    assert_view_uniform(views(), 1)
    assert_view_uniform(views(), 2)
    with pytest.raises(AssertionError, match="do not look uniform: bits"):
        assert_view_uniform(views(leak=True), 1)  # received the zeros themselves
    with pytest.raises(AssertionError, match="float64 values in phase 'share'"):
        assert_view_uniform(views(floats=True), 1)
    with pytest.raises(AssertionError, match="fewer than min_elements"):
        assert_view_uniform(views(), 1, min_elements=10 * L)
    # party 0 gets back both shares: together they are the secret, excluded by phase
    assert_view_uniform(views(), 0, exclude=["share"], phases=["share"], min_elements=0)
    assert len(view_arrays(views(), 0, phases=["reveal"])) == 2


def test_uniformity_tests_reject_structure():
    rng = np.random.default_rng(0)
    uniform = rng.integers(0, 2**64, 20_000, dtype=np.uint64)
    assert looks_uniform(uniform) and bits_balanced(uniform)
    assert not looks_uniform(uniform >> np.uint64(1))  # top bit never set
    assert not looks_uniform(uniform & ~np.uint64(255) | np.uint64(7))  # constant low byte
    field = rng.integers(0, 2**31 - 1, 20_000)
    assert looks_uniform(field, modulus=2**31 - 1)
    assert not looks_uniform(field // 2, modulus=2**31 - 1)  # only the lower half
    assert not bits_balanced(np.zeros(1000, bool)) and bits_balanced(rng.random(10_000) < 0.5)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n=party_counts(1, 9))
def test_topologies_span_the_parties_and_are_connected(data, n):
    graph = data.draw(topologies(n, [k for k in KINDS if k != "ring" or n >= 3]))
    assert sorted(graph.nodes) == list(range(n)) and nx.is_connected(graph)
    assert all("latency" in e and "bandwidth" in e for *_, e in graph.edges(data=True))


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_fault_plans_run_on_the_simulator(data):
    graph = data.draw(topologies(party_counts(2, 5), ["complete", "line", "star"]))
    faults = data.draw(fault_plans(graph, crashable=[p for p in graph.nodes if p], horizon=0.01))
    crashed = [f.party for f in faults if isinstance(f, Crash)]
    assert 0 not in crashed and len(crashed) == len(set(crashed))
    assert all(graph.has_edge(f.u, f.v) for f in faults if isinstance(f, LinkFault))

    async def gossip(party: Party):
        got = await party.recv_many([p for p in graph[party.id]], timeout=0.05) \
            if party.id else {}
        if party.id == 0:
            for dst in graph[0]:
                await party.send(dst, np.arange(3))
        return len(got)

    result = simulate(graph, dict.fromkeys(graph.nodes, gossip), faults=faults)
    assert set(result.crashed) <= set(crashed)  # a crash after the run's end never happens


@settings(max_examples=50, deadline=None)
@given(x=fixed_point(st.tuples(st.integers(0, 5), st.integers(1, 4)), frac_bits=12, bound=3.5))
def test_fixed_point_values_are_on_the_grid_and_in_range(x):
    assert x.dtype == np.float64 and x.ndim == 2
    assert np.all(np.abs(x) <= 3.5)
    assert np.array_equal(np.round(x * 2**12), x * 2**12)


PLUGGED = """
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sim import Party


async def echo(party: Party):
    if party.id == 0:
        await party.send(1, np.arange(4, dtype=np.uint64))
        return None
    return await party.recv(0)


@settings(max_examples=3, deadline=None)
@given(k=st.integers(0, 3))
def test_plain(ppsim_run, ppsim_runtime, k):
    out = ppsim_run(echo, n=2)
    assert out.report["runtime"] == ppsim_runtime and out.outputs[1][k] == k


@pytest.mark.trio
@settings(max_examples=3, deadline=None)
@given(k=st.integers(0, 3))
async def test_trio(ppsim_arun, ppsim_runtime, k):
    out = await ppsim_arun(echo, n=2)
    assert out.report["runtime"] == ppsim_runtime and out.outputs[1][k] == k
"""


def test_the_plugin_runs_one_test_body_on_both_runtimes(pytester):
    pytester.makepyfile(test_plugged=PLUGGED)
    result = pytester.runpytest("-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    for test in ("plain", "trio"):
        for runtime in RUNTIMES:
            result.stdout.fnmatch_lines([f"*test_{test}?{runtime}? PASSED*"])
    only = pytester.runpytest("-v", "-p", "no:cacheprovider", "--ppsim-runtime", "sim")
    only.assert_outcomes(passed=2)


def test_a_plan_whose_result_party_crashed_says_so():
    from sim import Plan, ResultMissing

    async def program(party: Party):
        if party.id == 1:
            await party.send(0, np.arange(3))
            return None
        got = await party.recv(1)
        await party.compute(1.0)  # party 0 crashes while it works
        return got.sum()

    plan = Plan(n_parties=2, programs={0: program, 1: program},
                summarize=lambda r: {"total": r.outputs[0]}, roles={"analyst": [0]},
                outputs=[0])
    assert run(plan).report["total"] == 3
    with pytest.raises(ResultMissing, match=r"party 0 \(analyst\) crashed at t=0.5"):
        run(plan, faults=[Crash(0, 0.5)]).report  # noqa: B018 - the property raises
