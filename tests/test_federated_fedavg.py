"""FedAvg over secure aggregation: accuracy near the centralized baseline, exact weighted
averaging, dropouts handled, and every federated scenario file runs."""

from __future__ import annotations

import tomllib
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ppsim.catalog import known
from protocols.federated import data as fdata
from protocols.federated.aggregate import decode, encode, planned_dropouts
from protocols.federated.fedavg import FedAvgParams, plan
from protocols.federated.models import Net, sgd
from sim.engine import Crash, simulate

ROOT = Path(__file__).resolve().parent.parent


def star(n_parties: int, latency: float = 0.001, bandwidth: float = 1.25e8) -> nx.Graph:
    g = nx.star_graph(n_parties - 1)
    nx.set_edge_attributes(g, latency, "latency")
    nx.set_edge_attributes(g, bandwidth, "bandwidth")
    return g


def run(p, seed=0, **options):
    pl = plan(p, seed)
    result = simulate(star(pl.n_parties), pl.programs, seed=seed, **options)
    return pl.summarize(result), result


@given(st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=50), st.integers(32, 64))
def test_fixed_point_roundtrip(values, bits):
    v = np.array(values)
    assert np.allclose(decode(encode(v, 16, bits), 16, bits), v, atol=2.0**-16)


def test_mlp_gradient_matches_finite_differences():
    net = Net((5, 4, 3))
    rng = np.random.default_rng(0)
    w, x, y = net.init(rng), rng.normal(size=(7, 5)), rng.integers(0, 3, 7)

    def loss(w):
        z = net._forward(w, x)[-1]
        z = z - z.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(7), y]))
    g = net.gradient(w, x, y)
    for i in rng.choice(net.n_params, 10, replace=False):
        e = np.zeros_like(w)
        e[i] = 1e-6
        assert g[i] == pytest.approx((loss(w + e) - loss(w - e)) / 2e-6, abs=1e-6)


@pytest.mark.parametrize("kw", [
    dict(dataset="synthetic", n_samples=8000, rounds=20, local_epochs=2),
    dict(model="mlp", dataset="digits", rounds=30, local_epochs=3),
], ids=["logreg-synthetic", "mlp-digits"])
def test_fedavg_iid_is_within_one_point_of_central(kw):
    report, _ = run(FedAvgParams(clients=10, shards="iid", **kw), seed=1)
    acc = report["accuracy"]
    assert acc["metric"] == "accuracy" and len(report["accuracy_per_round"]) == kw["rounds"]
    assert acc["value"] >= acc["baseline"] - 0.01, acc


def test_one_round_is_the_weighted_mean_of_local_models():
    """The secure sum yields the same model as averaging the clients' local models in the
    clear, up to the fixed-point precision (2^-24 per value)."""
    p = FedAvgParams(clients=5, rounds=1, local_epochs=1, aggregation="secagg")
    pl = plan(p, 2)
    result = simulate(star(6), pl.programs, seed=2)
    d = fdata.load(p.dataset, 2)
    net = Net((d.x_train.shape[1], d.classes))
    w0 = net.init(np.random.default_rng([2, 23]))
    parts = fdata.shards(d.y_train, 5, "iid", 0.5, 2)
    local = [sgd(net, w0, d.x_train[r], d.y_train[r], 1, p.batch_size, p.learning_rate,
                 np.random.default_rng([2, 25, k + 1])) for k, r in enumerate(parts)]
    want = sum(len(r) * w for r, w in zip(parts, local, strict=True)) / len(d.y_train)
    assert np.allclose(result.outputs[0]["model"], want, atol=1e-6)


def test_dropouts_are_reported_and_training_goes_on():
    p = FedAvgParams(clients=10, rounds=4, dropout_rate=0.2)
    planned = set(planned_dropouts(10, 0.2, 4, 3))
    crash = min(set(range(1, 11)) - planned)
    report, result = run(p, 3, faults=[Crash(crash, 0.0)])
    dropped = {d["party"] for d in report["dropped"]}
    assert dropped == planned | {crash} and len(dropped) == 3
    included = report["fedavg"]["included_per_round"]
    assert included[0] <= 9 and included[-1] == 10 - len(dropped)
    assert report["accuracy"]["value"] > 0.85


def test_label_skew_gives_skewed_shards():
    y = np.repeat(np.arange(4), 250)
    parts = fdata.shards(y, 20, "label_skew", 0.1, 0)
    assert sorted(np.concatenate(parts).tolist()) == list(range(1000))
    majority = [np.bincount(y[p], minlength=4).max() / len(p) for p in parts]
    assert np.mean(majority) > 0.6  # IID would give about 0.25 + noise


def _scenarios(prefix: str = "fed_"):
    out = []
    for path in sorted((ROOT / "scenarios").glob(f"{prefix}*.toml")):
        data = tomllib.loads(path.read_text())
        marks = [pytest.mark.slow] if "slow" in data.get("tags", []) else []
        out.append(pytest.param(path, marks=marks, id=path.stem))
    return out


@pytest.mark.parametrize("path", _scenarios())
def test_federated_scenario_runs(path):
    """Each fed_*.toml through plan() and the engine on a star around the plan's hub
    (the lead's runner does the same via ppsim.run)."""
    data = tomllib.loads(path.read_text())
    proto = dict(data["protocol"])
    spec = known()[proto.pop("name")]
    p = spec.params(**proto)
    pl = spec.plan(p, data["seed"])
    topo = data["topology"]
    assert topo["kind"] == "star"
    faults = [Crash(f["party"], f["at"]) for f in data.get("faults", [])]
    result = simulate(star(pl.n_parties, topo["latency"], topo["bandwidth"]), pl.programs,
                      seed=data["seed"], faults=faults,
                      header_bytes=data.get("network", {}).get("header_bytes", 0))
    report = pl.summarize(result)
    assert {"split", "dropped"} <= set(report)
    if faults or proto.get("dropout_rate"):
        assert report["dropped"]
    if "result_check" in report:
        assert report["result_check"]["ok"], report["result_check"]
    if "accuracy" in report:
        acc = report["accuracy"]
        assert acc["value"] >= acc["baseline"] - 0.05, acc
