"""Federated histogram XGBoost and vertical SecureBoost grow the same trees as centralized
XGBoost ``hist`` on the pooled (binned) data: same split features and buckets, same leaves,
same predictions."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from protocols.federated import secureboost, trees
from protocols.federated.fedxgb import FedXgbParams
from protocols.federated.fedxgb import plan as fed_plan
from protocols.federated.secureboost import SecureBoostParams
from protocols.federated.secureboost import plan as sb_plan
from sim.engine import Crash, simulate


def star(n_parties: int) -> nx.Graph:
    g = nx.star_graph(n_parties - 1)
    nx.set_edge_attributes(g, 0.001, "latency")
    nx.set_edge_attributes(g, 1.25e8, "bandwidth")
    return g


def run(plan_fn, p, seed=0, **options):
    pl = plan_fn(p, seed)
    result = simulate(star(pl.n_parties), pl.programs, seed=seed, **options)
    return pl.summarize(result), result


@pytest.mark.parametrize("kw", [
    dict(dataset="breast_cancer", n_estimators=4, max_depth=3, aggregation="secagg"),
    dict(dataset="synthetic", n_samples=1500, n_estimators=3, max_depth=4, learning_rate=0.5,
         reg_lambda=2.0, shards="label_skew", aggregation="secagg+", clients=12, degree=6),
], ids=["breast_cancer-secagg", "synthetic-skew-secagg+"])
def test_federated_histogram_xgboost_equals_central_hist(kw):
    report, _ = run(fed_plan, FedXgbParams(**kw), seed=1)
    check = report["tree_check"]
    assert check["same_trees"], check["mismatches"]
    assert check["max_prediction_diff"] < 1e-5
    assert report["accuracy"]["value"] == report["accuracy"]["baseline"]
    assert len(report["accuracy_per_round"]) == kw["n_estimators"]


def test_tree_check_detects_a_different_forest():
    """The comparison can fail: a forest grown with another lambda is not xgboost's."""
    p = FedXgbParams(n_estimators=2, aggregation="plain")
    report, result = run(fed_plan, p, seed=2)
    assert report["tree_check"]["same_trees"]
    other = FedXgbParams(n_estimators=2, aggregation="plain", reg_lambda=50.0)
    from protocols.federated.fedxgb import binned, central
    xtr = binned(p, 2)[0]
    assert not trees.compare_with_xgboost(result.outputs[0]["forest"], central(other, 2),
                                          xtr)["same_trees"]


def test_federated_xgboost_with_dropouts_still_trains():
    p = FedXgbParams(n_estimators=3, dropout_rate=0.2)
    report, _ = run(fed_plan, p, seed=3, faults=[Crash(7, 0.0)])
    assert {d["party"] for d in report["dropped"]} >= {7}
    assert not report["tree_check"]["expected_equal"] and report["result_check"]["ok"]
    assert report["accuracy"]["value"] > 0.85


def test_paillier_packing_roundtrip():
    g = np.array([-1.0, -0.25, 0.0, 0.3, 0.999])
    h = np.array([0.0, 0.1875, 0.25, 0.21, 1e-3])
    packed = secureboost._pack(g, h)
    total = secureboost._unpack(sum(packed))
    assert total == pytest.approx((g.sum(), h.sum()), abs=1e-8)


@pytest.mark.parametrize("kw", [
    dict(clients=9, dataset="breast_cancer", n_estimators=2, max_depth=3),
    dict(clients=4, dataset="synthetic", n_samples=400, n_features=10, n_estimators=2, max_depth=4),
], ids=["breast_cancer-10-parties", "synthetic-5-parties"])
def test_secureboost_equals_central_hist(kw):
    report, result = run(sb_plan, SecureBoostParams(key_bits=512, insecure_keys=True, **kw), seed=1)
    check = report["tree_check"]
    assert check["same_trees"], check["mismatches"]
    assert check["max_prediction_diff"] < 1e-5
    assert report["split"]["kind"] == "vertical"
    assert report["split"]["owners"] == kw["clients"] + 1
    assert [part["labels"] for part in report["split"]["parts"]] == [True] + [False] * kw["clients"]
    # passive parties saw only ciphertexts, instance spaces and their own split requests
    for q in range(1, kw["clients"] + 1):
        assert result.ledger.parties[q].bytes_received > 0


def test_secureboost_passive_view_has_no_plaintext_gradients():
    p = SecureBoostParams(clients=3, dataset="synthetic", n_samples=200, n_features=8,
                          n_estimators=1, max_depth=2, key_bits=512, insecure_keys=True)
    pl = sb_plan(p, 0)
    result = simulate(star(4), pl.programs, seed=0, record_views=True)
    for q in (1, 2, 3):
        for entry in result.ledger.views[q]:
            payload = entry.payload
            assert not (isinstance(payload, np.ndarray) and payload.dtype.kind == "f")
            if isinstance(payload, tuple):
                assert isinstance(payload[1], secureboost.Ciphertexts)


def test_secureboost_survives_a_passive_party_crash():
    p = SecureBoostParams(clients=5, dataset="synthetic", n_samples=300, n_features=12,
                          n_estimators=2, key_bits=512, insecure_keys=True, timeout=0.5)
    report, _ = run(sb_plan, p, seed=4, faults=[Crash(2, 0.0)])
    assert [d["party"] for d in report["dropped"]] == [2]
    assert report["result_check"]["ok"] and report["accuracy"]["value"] > 0.7
