"""Aggregation beyond sums on shares: the secure maximum is exact, the clipped mean is within
the stated bound of plaintext, rounds follow the circuit's formulas, each server's view is
uniformly random; FedAvg with clip_norm; same seed, same report; Paillier ciphertexts keep
their counted size on the wire."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import numpy as np
import phe
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ppsim import report
from ppsim.run import run_scenario
from ppsim.scenario import load
from protocols.federated import data as fdata
from protocols.federated import oblivious as obl
from protocols.federated.fedavg import FedAvgParams
from protocols.federated.fedavg import plan as fedavg_plan
from protocols.federated.models import Net, sgd
from protocols.federated.oblivious_demo import ObliviousParams, plaintext, plan
from protocols.federated.secureboost import Ciphertexts
from sim import codec
from sim.engine import simulate
from sim.testing import assert_view_uniform, view_arrays
from sim.wire import size_of

ROOT = Path(__file__).resolve().parent.parent


def complete(n: int) -> nx.Graph:
    g = nx.complete_graph(n)
    nx.set_edge_attributes(g, 1e-3, "latency")
    nx.set_edge_attributes(g, 1e8, "bandwidth")
    return g


def run(xs: dict[int, np.ndarray], clip_norm: float, frac_bits: int, seed: int = 0,
        iterations: int = 3, record_views: bool = False, absent: frozenset = frozenset()):
    """Aggregate the clients' vectors `xs` (ids 1..n); clients in `absent` send nothing."""
    n, d = len(xs), len(next(iter(xs.values())))
    cfg = obl.ObliviousConfig(tuple(range(1, n + 1)), n + 1, n + 2, frac_bits, clip_norm,
                              iterations, timeout=0.5)

    async def program(party):
        mpc = cfg.mpc(party)
        if party.id in cfg.clients:
            if party.id not in absent:
                await obl.contribute(mpc, xs[party.id])
            return None
        return await obl.aggregate(mpc, cfg, d, cfg.clients)

    return simulate(complete(n + 3), dict.fromkeys(range(n + 3), program), seed=seed,
                    record_views=record_views)


vectors = st.integers(1, 4).flatmap(lambda d: st.lists(
    st.tuples(st.lists(st.floats(-1, 1), min_size=d, max_size=d), st.floats(-3, 3)),
    min_size=2, max_size=6))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(vectors, st.floats(0.05, 20), st.sampled_from([12, 16, 20]), st.integers(0, 2**32))
def test_max_exact_and_clipped_mean_within_bound(rows, clip_norm, frac_bits, seed):
    # Norms spread from e^-3 to e^3 times the bound: some rows are clipped, some not.
    xs = {u: np.array(v) * clip_norm * math.exp(s) for u, (v, s) in enumerate(rows, 1)}
    result = run(xs, clip_norm, frac_bits, seed)
    out = result.outputs[0]
    top, mean, _ = plaintext(xs, tuple(xs), clip_norm, frac_bits)
    assert out.included == tuple(xs)
    assert np.array_equal(out.maximum, top)
    error = np.abs(out.clipped_sum / len(xs) - mean).max()
    assert error <= obl.clip_error_bound(clip_norm, frac_bits)
    for other in (len(xs) + 1, len(xs) + 2):  # the helper and the dealer learn no result
        assert result.outputs[other].maximum is None
        assert result.outputs[other].clipped_sum is None


@pytest.mark.parametrize("clients, iterations", [(2, 1), (5, 2), (8, 3)])
def test_rounds_follow_the_circuit(clients, iterations):
    """Rounds (module docstring of `oblivious`): max 9 ceil(log2 m) (an 8-round `lt`,
    `compare.py`, and a 1-round selection per level); clipping 2 (norm) + 8 (one batch of
    comparisons) + 3 (select, scale, truncate) + 6 per Newton step + 5 (factor, select,
    product); input, agreement and opening 1 each."""
    rng = np.random.default_rng(clients)
    xs = {u: rng.normal(size=3) for u in range(1, clients + 1)}
    rounds = run(xs, 1.0, 16, iterations=iterations).ledger.phase_rounds()
    assert rounds[obl.PHASE_MAX] == 9 * math.ceil(math.log2(clients))
    assert rounds[obl.PHASE_CLIP] == 2 + 8 + 3 + 6 * iterations + 5
    assert rounds[obl.PHASE_INPUT] == rounds[obl.PHASE_AGREE] == rounds[obl.PHASE_RESULT] == 1


def test_absent_client_is_left_out():
    rng = np.random.default_rng(3)
    xs = {u: rng.normal(size=4) * 2 for u in range(1, 6)}
    out = run(xs, 1.0, 16, absent=frozenset({2})).outputs[0]
    top, mean, _ = plaintext(xs, (1, 3, 4, 5), 1.0, 16)
    assert out.included == (1, 3, 4, 5)
    assert np.array_equal(out.maximum, top)
    assert np.abs(out.clipped_sum / 4 - mean).max() <= obl.clip_error_bound(1.0, 16)


@pytest.mark.parametrize("server", ["server", "helper"])
def test_servers_view_is_uniformly_random(server):
    """Before the final opening, a server receives only shares and values masked by
    uniform ring elements or bits. With all-zero and tiny inputs, anything unmasked
    would show as biased bits: every one of the 64 bit positions of the ring elements,
    and the bits of the boolean payloads, must each be set with frequency 1/2 within
    6 standard deviations. The agreement phase (client ids, public) is excluded."""
    n, d = 6, 16
    xs = {u: np.zeros(d) if u % 2 else np.full(d, 2.0 ** -10) for u in range(1, n + 1)}
    result = run(xs, 1.0, 16, seed=7, record_views=True)
    pid = 0 if server == "server" else n + 1
    public = (obl.PHASE_AGREE, obl.PHASE_RESULT)
    seen = view_arrays(result, pid, exclude=public)
    assert sum(a.size for _, a in seen if a.dtype == np.uint64) > 1000
    bits = sum(a.size * (8 if a.dtype == np.uint8 else 1) for _, a in seen
               if a.dtype in (np.bool_, np.uint8))  # comparison rounds send packed bits
    assert bits > 50_000
    assert_view_uniform(result, pid, exclude=public)


def test_clip_constants_reject_a_bound_outside_the_ring():
    with pytest.raises(ValueError, match="clip_norm"):
        obl.ClipConstants.build(2.0 ** 20, 24)
    with pytest.raises(ValueError):
        ObliviousParams(clip_norm=1e9, frac_bits=20)


def test_plan_reports_a_passing_check_with_a_dropout():
    p = ObliviousParams(clients=6, vector_length=20, dropout_rate=0.2, timeout=0.5)
    pl = plan(p, 4)
    summary = pl.summarize(simulate(complete(pl.n_parties), pl.programs, seed=4))
    check = summary["result_check"]
    assert check["ok"] and check["included"] == 5
    assert len(summary["dropped"]) == 1


def _star(n: int) -> nx.Graph:
    g = nx.star_graph(n - 1)
    nx.set_edge_attributes(g, 1e-3, "latency")
    nx.set_edge_attributes(g, 1.25e8, "bandwidth")
    return g


def test_fedavg_round_is_the_mean_of_clipped_updates():
    """One FedAvg round with clip_norm: w0 + mean_i min(1, C / ||u_i||) u_i, u_i the local
    model minus w0, within `clip_error_bound` (C chosen so that about half are clipped)."""
    seed, n = 2, 6
    base = FedAvgParams(clients=n, rounds=1, local_epochs=1, shards="iid")
    d = fdata.load(base.dataset, seed)
    net = Net((d.x_train.shape[1], d.classes))
    w0 = net.init(np.random.default_rng([seed, 23]))
    parts = fdata.shards(d.y_train, n, "iid", 0.5, seed)
    updates = np.stack([sgd(net, w0, d.x_train[r], d.y_train[r], 1, base.batch_size,
                            base.learning_rate, np.random.default_rng([seed, 25, k + 1])) - w0
                        for k, r in enumerate(parts)])
    clip_norm = float(np.median(np.linalg.norm(updates, axis=1)))
    p = FedAvgParams(**(base.model_dump() | {"clip_norm": clip_norm}))
    pl = fedavg_plan(p, seed)
    assert pl.n_parties == n + 3
    result = simulate(_star(pl.n_parties), pl.programs, seed=seed)
    _, want, clipped = plaintext(dict(enumerate(updates, 1)), tuple(range(1, n + 1)),
                                 clip_norm, p.frac_bits)
    assert 0 < clipped < n
    error = np.abs(result.outputs[0]["model"] - w0 - want).max()
    assert error <= obl.clip_error_bound(clip_norm, p.frac_bits)


def test_fedavg_with_clipping_is_within_one_point_of_central():
    p = FedAvgParams(clients=10, dataset="synthetic", n_samples=8000, rounds=20, local_epochs=2,
                     clip_norm=0.1)
    pl = fedavg_plan(p, 1)
    summary = pl.summarize(simulate(_star(pl.n_parties), pl.programs, seed=1))
    acc = summary["accuracy"]
    assert summary["fedavg"]["aggregation"] == "oblivious-clip"
    assert acc["value"] >= acc["baseline"] - 0.01, acc


@pytest.mark.parametrize("name", ["fed_clip_10", "fed_avg_10_clip"])
def test_same_seed_same_report(name):
    def text() -> str:
        rep = run_scenario(load(ROOT / "scenarios" / f"{name}.toml"))
        rep.pop("wall_time_s")
        return report.dumps(rep)
    assert text() == text()


def test_paillier_ciphertexts_cross_the_wire_at_their_counted_size():
    """SecureBoost's ciphertexts (OS randomness) encode to exactly `__wire_size__` bytes
    for the TCP runtime, whatever their value, and decode to the same integers."""
    pk, _ = phe.generate_paillier_keypair(n_length=256)
    cts = Ciphertexts([pk.raw_encrypt(v) for v in (0, 1, 2**70)] + [1], 256)
    desc, chunks = codec.encode_payload(cts)
    data = b"".join(chunks)
    assert len(data) == size_of(cts) == 4 * 64
    assert codec.decode_payload(desc, data).values == cts.values
