"""protocols/parallel: GTC, BMUF and hybrid data-parallel training (issue 7)."""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import topologies
from ppsim.catalog import known
from protocols.parallel import ParallelParams, bmuf, central_error, gtc, plan
from protocols.parallel.replay import replay
from protocols.parallel.training import step_size
from sim.engine import simulate
from sim.wire import size_of

SMALL = {"dataset": "digits", "train_samples": 1280, "test_samples": 500, "hidden": [32],
         "epochs": 1, "batch_size": 16, "learning_rate": 0.05, "compute_s_per_batch": 0.001}


def _run(seed: int = 5, header: int = 0, views: bool = False, **kw):
    p = ParallelParams(**{**SMALL, **kw})
    the_plan = plan(p, seed)
    groups = p.groups if p.method == "hybrid" else 1
    if p.workers == 1:
        graph = nx.Graph()
        graph.add_node(0)
    else:
        graph = topologies.two_level(p.workers, groups=groups, latency=1e-4, bandwidth=1e8)
    result = simulate(graph, the_plan.programs, seed=seed, header_bytes=header,
                      record_views=views)
    return p, result, the_plan.summarize(result)


def _model(result) -> np.ndarray:
    return result.outputs[0]["model"]


def test_registered():
    assert known()["parallel_training"].params is ParallelParams


def test_one_worker_sgd_is_the_plaintext_baseline():
    p, _, summary = _run(method="sgd", workers=1)
    assert summary["accuracy"]["value"] == summary["accuracy"]["baseline"]
    assert summary["accuracy"]["baseline"] == central_error(p, 5)


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_gtc_with_tau_to_zero_on_one_worker_is_plain_sgd(momentum):
    # tau -> 0 with unbounded quanta per entry: the residual empties every minibatch.
    _, sgd, _ = _run(method="sgd", workers=1, momentum=momentum)
    _, small_tau, s = _run(method="gtc", workers=1, momentum=momentum, tau=1e-9,
                           max_quanta=2**40)
    np.testing.assert_allclose(_model(small_tau), _model(sgd), rtol=1e-4, atol=1e-5)
    # ...whereas Strom's one quantum per entry with a real threshold does not.
    _, strom, _ = _run(method="gtc", workers=1, momentum=momentum, tau=3e-3)
    assert not np.allclose(_model(strom), _model(sgd), atol=1e-3)


@settings(max_examples=60, deadline=None)
@given(
    updates=hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 40)),
                       elements=st.floats(-1, 1)),
    tau=st.floats(1e-3, 0.5),
    max_quanta=st.sampled_from([1, 2, 7, 1000]),
)
def test_gtc_residual_keeps_every_unsent_component(updates, tau, max_quanta):
    residual = np.zeros(updates.shape[1])
    sent = np.zeros(updates.shape[1])
    for u in updates:
        residual += u
        msg = gtc.encode(residual, tau, max_quanta)
        step = gtc.decode([msg], residual.size, tau, max_quanta).astype(np.float64)
        sent += step
        # every sent value is a whole number of quanta, at most max_quanta of them
        quanta = np.abs(step) / tau
        np.testing.assert_allclose(quanta, np.round(quanta), atol=1e-3)
        assert quanta.max(initial=0) <= max_quanta + 1e-6
        assert msg.size == np.count_nonzero(np.round(quanta))
    # sum of sent plus residual equals the sum of the updates
    np.testing.assert_allclose(sent + residual, updates.sum(axis=0), atol=1e-5)
    if max_quanta == 1000:  # the cap never binds for |updates| <= 6: residual below tau
        assert np.all(np.abs(residual) < tau + 1e-9)


def test_gtc_entry_encoding():
    # index bits = bit_length(P - 1), one sign bit, bit_length(K - 1) count bits,
    # rounded up to 1/2/4/8 bytes; Strom (2015) packs a 31-bit index and the sign in 32 bits.
    assert gtc.entry_bytes(2**31, 1) == 4
    assert gtc.entry_bytes(2**31 + 1, 1) == 8
    assert gtc.entry_bytes(5514, 1) == 2  # 13 + 1 bits
    assert gtc.entry_bytes(128, 1) == 1  # 7 + 1 bits
    assert gtc.entry_bytes(128, 2) == 2  # 7 + 1 + 1 bits
    assert gtc.entry_bytes(5514, 2**40) == 8


def test_gtc_bytes_are_sent_entries_times_the_encoding():
    header = 40
    p, result, summary = _run(method="gtc", workers=4, header=header, views=True, tau=1e-3)
    n, steps = p.workers, p.steps
    width = summary["parallel"]["gtc_entry_bytes"]
    assert width == gtc.entry_bytes(summary["parallel"]["params"], p.max_quanta)
    # each message: entries * width bytes of payload
    for views in result.ledger.views.values():
        for v in views:
            assert size_of(v.payload) == v.payload.size * width
    # per run: every worker sends its entries to n - 1 others, once per minibatch
    entries = sum(o["entries_sent"] for o in result.outputs.values())
    stats = result.ledger.phases["gtc"]
    assert stats.messages == n * (n - 1) * steps
    assert stats.bytes == entries * (n - 1) * width + stats.messages * header
    assert entries > 0


@pytest.mark.parametrize("momentum", [0.0, 0.5])
@pytest.mark.parametrize("nesterov", [False, True])
def test_bmuf_block_one_without_block_momentum_is_model_averaging(momentum, nesterov):
    # Averaging the models after one local step each is synchronous SGD on the mean
    # update (the update is linear in the gradients), i.e. method "sgd".
    common = {"workers": 4, "momentum": momentum}
    _, avg, _ = _run(method="sgd", **common)
    _, filt, _ = _run(method="bmuf", block=1, block_momentum=0.0, block_lr=1.0,
                      nesterov=nesterov, **common)
    np.testing.assert_allclose(_model(filt), _model(avg), rtol=1e-4, atol=1e-5)


def test_block_filter_follows_chen_and_huo():
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=5)
    eta, zeta = 0.75, 0.5
    for nesterov in (False, True):
        f = bmuf.BlockFilter(w0, eta, zeta, nesterov)
        w, w_g, delta = w0.copy(), w0.copy(), np.zeros(5)
        for _ in range(4):
            avg = w_g + rng.normal(size=5)
            delta = eta * delta + zeta * (avg - w_g)
            w = w + delta
            w_g = w + eta * delta if nesterov else w
            np.testing.assert_allclose(f.update(avg), w_g)
            np.testing.assert_allclose(f.model, w)
    assert bmuf.default_block_momentum(128) == 1 - 1 / 128


@pytest.mark.parametrize("method,groups", [("gtc", 1), ("bmuf", 1), ("hybrid", 2), ("sgd", 1)])
def test_every_worker_ends_with_the_same_model(method, groups):
    _, result, summary = _run(method=method, workers=4, groups=groups, block=3)
    assert summary["result_check"]["all_workers_same_model"]
    assert 0 <= summary["accuracy"]["value"] < 0.75  # digits: better than chance (0.9)


def test_hybrid_talks_gtc_inside_groups_and_bmuf_between_representatives():
    _, result, _ = _run(method="hybrid", workers=6, groups=2, block=4, views=True)
    for dst, views in result.ledger.views.items():
        for v in views:
            same_group = v.src // 3 == dst // 3
            if v.phase == "gtc" or v.phase == "group_broadcast":
                assert same_group
            if v.phase == "bmuf":
                assert {v.src, dst} == {0, 3}
            if v.phase == "group_broadcast":
                assert v.src in (0, 3)


def test_same_seed_same_run():
    _, a, sa = _run(method="hybrid", workers=4, groups=2)
    _, b, sb = _run(method="hybrid", workers=4, groups=2)
    assert np.array_equal(_model(a), _model(b))
    assert a.end_time == b.end_time
    assert sa["accuracy"] == sb["accuracy"]


def test_params_are_validated():
    with pytest.raises(ValueError, match="multiple of groups"):
        ParallelParams(workers=6, groups=4)
    with pytest.raises(ValueError, match="1797"):
        ParallelParams(dataset="digits", train_samples=1700, test_samples=500)
    with pytest.raises(ValueError, match="not both"):
        ParallelParams(workers=8, groups=2, per_group=4)
    with pytest.raises(ValueError, match="multiple of per_group"):
        ParallelParams(method="hybrid", workers=12, per_group=8)
    assert ParallelParams(method="gtc", workers=12, per_group=8).workers == 12  # unused
    assert ParallelParams(method="hybrid", workers=32, per_group=8).group_size == 8
    scale = {"params": 10**6, "compute_s_per_batch": 0.01, "block": 5, "steps": 10}
    with pytest.raises(ValueError, match="scale.*cost_only runs only"):
        ParallelParams(scale=scale)
    with pytest.raises(ValueError, match="scale.steps"):
        ParallelParams(mode="cost_only", scale={**scale, "steps": 10**6})


# -- the replay, the schedule, cost-only mode (issue 19) ----------------------------------

REPLAYED = [("sgd", 4, 1, 0.0), ("gtc", 4, 1, 0.5), ("bmuf", 4, 1, 0.0), ("hybrid", 8, 2, 0.5),
            ("bmuf", 3, 1, 0.0)]


@pytest.mark.parametrize("method,workers,groups,momentum", REPLAYED)
def test_the_replay_trains_the_parties_model_bit_for_bit(method, workers, groups, momentum):
    """All workers in lockstep give exactly the model the simulated parties end with,
    and the GTC entries each party sent (3 workers: BMUF averages by broadcast)."""
    kw = {"method": method, "workers": workers, "groups": groups, "momentum": momentum,
          "block": 3, "learning_rate_decay": 0.1, "tau": 1e-3}
    p, result, summary = _run(**kw)
    again = replay(p, 5)
    np.testing.assert_array_equal(again.model, _model(result))
    assert again.error == summary["accuracy"]["value"]
    sent = [result.outputs[i]["entries_sent"] for i in range(workers)]
    assert again.entries.sum(axis=0).tolist() == sent
    assert (again.entries.sum() > 0) == (method in ("gtc", "hybrid"))


def test_the_learning_rate_decays_exponentially_over_the_run():
    p = ParallelParams(**{**SMALL, "learning_rate": 0.1, "learning_rate_decay": 0.01,
                          "workers": 4})
    assert step_size(p, 0) == 0.1
    assert step_size(p, p.steps // 2) == pytest.approx(0.01, rel=0.05)
    assert step_size(p, p.steps) == pytest.approx(0.001)


def test_a_data_seed_fixes_data_start_and_order_whatever_the_run_seed():
    kw = {**SMALL, "method": "gtc", "workers": 4, "data_seed": 11}
    a, b = (replay(ParallelParams(**kw), s) for s in (1, 2))
    np.testing.assert_array_equal(a.model, b.model)
    assert central_error(ParallelParams(**kw), 1) == central_error(ParallelParams(**kw), 2)


@pytest.mark.parametrize("method,workers,groups", [("gtc", 4, 1), ("bmuf", 4, 1),
                                                   ("hybrid", 4, 2), ("sgd", 4, 1)])
def test_cost_only_at_the_proxys_own_size_costs_what_the_full_run_costs(method, workers,
                                                                         groups):
    """Ghost payloads of the proxy's own size, the proxy's block and every step of its run:
    the same messages, bytes, rounds and simulated time as the run with values."""
    p, full, summary = _run(method=method, workers=workers, groups=groups, block=3, tau=1e-3)
    ghost = ParallelParams(**{**p.model_dump(), "mode": "cost_only"})  # scale: its own
    the_plan = plan(ghost, 5)
    graph = topologies.two_level(workers, groups=groups, latency=1e-4, bandwidth=1e8)
    cost = simulate(graph, the_plan.programs, seed=5)
    assert cost.ledger.rounds() == full.ledger.rounds()
    assert [(q.bytes_sent, q.messages_sent) for q in cost.ledger.parties] == [
        (q.bytes_sent, q.messages_sent) for q in full.ledger.parties]
    assert cost.end_time == pytest.approx(full.end_time, rel=1e-12)
    report = the_plan.summarize(cost)
    assert report["mode"] == "cost_only"
    assert report["accuracy"] == summary["accuracy"]  # the proxy's error, from the replay
    assert report["result_check"] == summary["result_check"] == {"all_workers_same_model": True}
    assert report["parallel"]["gtc_entries_sent"] == summary["parallel"]["gtc_entries_sent"]


def test_cost_only_gtc_entries_scale_with_the_ratio_of_parameters():
    """A model 1000 times the proxy's sends 1000 times its entries (the measured density)."""
    p = ParallelParams(**{**SMALL, "method": "gtc", "workers": 4, "tau": 1e-3})
    proxy = replay(p, 5)
    n_params = proxy.model.size
    big = ParallelParams(**{**p.model_dump(), "mode": "cost_only", "scale": {
        "params": 1000 * n_params, "compute_s_per_batch": 0.01, "block": 4, "steps": p.steps}})
    the_plan = plan(big, 5)
    graph = topologies.complete(4, latency=1e-4, bandwidth=1e9)
    report = the_plan.summarize(simulate(graph, the_plan.programs, seed=5))
    assert report["parallel"]["gtc_entries_sent"] == 1000 * proxy.entries.sum()
    assert report["parallel"]["gtc_entry_bytes"] == 4  # 23 index bits and the sign
    assert report["parallel"]["gtc_density"] == pytest.approx(
        proxy.entries.sum() / (p.steps * 4 * n_params))



def test_minibatch_times_vary_around_their_mean_and_synchronous_steps_wait_for_the_slowest():
    """compute_cv: one worker's minibatches take compute_s_per_batch on average (lognormal,
    so within a few percent over 80 of them); GTC, which exchanges after every minibatch,
    waits each time for the slowest of its workers, so its run gets longer."""
    c = SMALL["compute_s_per_batch"]
    p, one, _ = _run(method="sgd", workers=1, compute_cv=0.2)
    assert one.end_time == pytest.approx(p.steps * c, rel=0.1)
    assert one.end_time != pytest.approx(p.steps * c, rel=1e-6)  # drawn, not the mean
    _, steady, _ = _run(method="gtc", workers=4)
    _, jittery, _ = _run(method="gtc", workers=4, compute_cv=0.2)
    assert jittery.end_time > steady.end_time * 1.05
