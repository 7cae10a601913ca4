"""Federated histogram XGBoost: horizontally split rows, histograms summed securely.

Clients (parties 1..n) hold rows; the server (party 0) grows the trees level by
level. For the active nodes of a level, each client computes per-node,
per-feature, per-bin sums of its rows' logistic-loss gradients and hessians,
and the server obtains only their sum over clients by secure aggregation
(fixed point in Z_2^64). From it the server picks each node's split with
XGBoost's rule (`trees`) and sends the decisions (split or leaf value) back;
clients route their rows and update their margins. The pooled histograms are
exactly those of centralized training, so the trees equal XGBoost ``hist``'s on
the pooled data with the same bins (checked in the report: ``tree_check``).

Bins: equal-width over each feature's range, which we take as public schema
metadata; the bin ids are the features both here and for the XGBoost baseline.
The server learns the aggregate histograms (hence the trees), nothing per client.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

import numpy as np
import xgboost as xgb
from pydantic import Field

from protocols.federated import data as fdata
from protocols.federated import trees
from protocols.federated.aggregate import AggregationParams, dropped_report, planned_dropouts
from sim import Party, Plan


class FedXgbParams(AggregationParams):
    """``[protocol]`` of a ``fed_xgboost`` scenario (binary classification)."""

    renamed = trees.RENAMED
    dataset: Literal["breast_cancer", "synthetic"] = "breast_cancer"
    """breast_cancer (scikit-learn's bundled set) or synthetic."""
    n_samples: Annotated[int, Field(ge=10)] = 4000
    """Rows of the synthetic data set."""
    n_features: Annotated[int, Field(ge=2)] = 20
    """Features of the synthetic data set."""
    shards: Literal["iid", "label_skew"] = "iid"
    """iid: equal random shards; label_skew: class proportions from Dirichlet(skew_alpha)."""
    skew_alpha: Annotated[float, Field(gt=0)] = 0.5
    """Dirichlet concentration of label_skew shards (smaller: more skewed)."""
    max_bin: Annotated[int, Field(ge=2, le=256)] = 32
    """Equal-width histogram bins per feature."""
    n_estimators: Annotated[int, Field(ge=1)] = 5
    """Trees (boosting rounds)."""
    max_depth: Annotated[int, Field(ge=1, le=10)] = 3
    """Depth of each tree."""
    learning_rate: Annotated[float, Field(gt=0)] = 0.3
    """Shrinkage of each leaf value (XGBoost's eta)."""
    reg_lambda: Annotated[float, Field(ge=0)] = 1.0
    """L2 regularisation of leaf values."""
    min_child_weight: Annotated[float, Field(ge=0)] = 1.0
    """Least hessian sum of a child for a split to be valid."""
    frac_bits: Annotated[int, Field(ge=0, le=48)] = 32
    """Fractional bits of the fixed-point gradient histograms."""

    @property
    def tree_params(self) -> trees.TreeParams:
        return trees.TreeParams(self.max_depth, self.learning_rate, self.reg_lambda,
                                self.min_child_weight)


@lru_cache(maxsize=8)
def binned(p: FedXgbParams, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train and test bin ids and labels."""
    d = fdata.load(p.dataset, seed, p.n_samples, p.n_features)
    edges = trees.equal_width_bins(d.x_train, p.max_bin)
    return trees.to_bins(d.x_train, edges), d.y_train, trees.to_bins(d.x_test, edges), d.y_test


@lru_cache(maxsize=8)
def central(p: FedXgbParams, seed: int) -> xgb.Booster:
    """XGBoost ``hist`` on the pooled binned rows: the baseline and the trees to match."""
    xtr, ytr, _, _ = binned(p, seed)
    return xgb.train(p.tree_params.xgboost(), xgb.DMatrix(xtr, label=ytr),
                     num_boost_round=p.n_estimators)


def accuracy(prob: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((prob > 0.5) == y))


def plan(p: FedXgbParams, seed: int) -> Plan:
    xtr, ytr, xte, yte = binned(p, seed)
    parts = fdata.shards(ytr, p.clients, p.shards, p.skew_alpha, seed)
    agg = p.aggregation_for(seed)
    tp = p.tree_params
    n_feat, n_bins = xtr.shape[1], p.max_bin
    leaving = planned_dropouts(p.clients, p.dropout_rate, p.n_estimators, seed)
    wait = 20 * p.timeout

    async def server(party: Party) -> dict[str, Any]:
        live, forest, per_tree = agg.clients, [], []
        for _ in range(p.n_estimators):
            nodes, active = [trees.Node(0)], [0]
            while active:
                total, out = await agg.server(party, len(active) * n_feat * n_bins * 2, live)
                live = out.included
                with party.phase("xgb.split"):
                    hist = total.reshape(len(active), n_feat, n_bins, 2)
                    depth = nodes[active[0]].depth
                    decisions, children = np.zeros((len(active), 3)), []
                    for k, split in enumerate(trees.best_splits(hist, depth, tp)):
                        node = nodes[active[k]]
                        if split is None:
                            node.value = trees.leaf_value(hist[k, 0, :, 0].sum(),
                                                          hist[k, 0, :, 1].sum(), tp)
                            decisions[k] = (-1, -1, node.value)
                        else:
                            node.feature, node.bin = split
                            node.left, node.right = len(nodes), len(nodes) + 1
                            nodes += [trees.Node(depth + 1), trees.Node(depth + 1)]
                            children += [node.left, node.right]
                            decisions[k] = (*split, 0.0)
                    await party.work(**trees.split_work(hist.size, len(active)))
                    for u in live:
                        await party.send(u, decisions)
                active = children
            forest.append(nodes)
            per_tree.append(accuracy(trees.predict(forest, xte), yte))
        return {"forest": forest, "accuracy_per_round": per_tree}

    async def client(party: Party) -> dict[str, Any]:
        rows = parts[party.id - 1]
        x, y = xtr[rows], ytr[rows].astype(np.float64)
        margin = np.zeros(len(y))
        leave = leaving.get(party.id)
        cols = np.arange(n_feat) * n_bins
        for t in range(p.n_estimators):
            g, h = trees.gh(margin, y)
            at = np.zeros(len(y), dtype=np.int64)  # index among the level's active nodes
            n_active, level = 1, 0
            while n_active:
                with party.phase("xgb.histograms"):
                    live_rows = at >= 0
                    idx = (at[live_rows, None] * n_feat * n_bins + cols + x[live_rows]).ravel()
                    size = n_active * n_feat * n_bins
                    hist = np.stack([
                        np.bincount(idx, np.repeat(g[live_rows], n_feat), minlength=size),
                        np.bincount(idx, np.repeat(h[live_rows], n_feat), minlength=size),
                    ], axis=1).ravel()
                    await party.work(ring=5 * idx.size, scatter=2 * idx.size, call=12)
                step = leave[1] if leave is not None and leave[0] == t and level == 0 else None
                if not await agg.client(party, hist, step):
                    return {"left_at": party.now() if step is not None else None}
                got = await party.recv_many([0], timeout=wait)
                if 0 not in got:
                    return {"left_at": None}
                decisions = got[0]
                new_at = np.full_like(at, -1)
                children = 0
                for k, (f, b, value) in enumerate(decisions):
                    mine = at == k
                    if f < 0:
                        margin[mine] += value
                        continue
                    left = x[:, int(f)] <= b
                    new_at[mine & left], new_at[mine & ~left] = children, children + 1
                    children += 2
                at, n_active, level = new_at, children, level + 1
        return {"left_at": None}

    def summarize(result: Any) -> dict[str, Any]:
        out = result.outputs[0]
        booster = central(p, seed)
        base = booster.predict(xgb.DMatrix(xte))
        mine = trees.predict(out["forest"], xte)
        left = {u: o["left_at"] for u, o in result.outputs.items()
                if u and o["left_at"] is not None}
        ledger = result.ledger
        check = {
            **trees.compare_with_xgboost(out["forest"], booster, xtr),
            "max_prediction_diff": float(np.abs(mine - base).max()),
            "expected_equal": not result.crashed and not left,
        }
        return {
            "split": fdata.horizontal_split(parts, n_feat),
            "accuracy": {"metric": "accuracy", "value": accuracy(mine, yte),
                         "baseline": accuracy(base, yte)},
            "accuracy_per_round": out["accuracy_per_round"],
            "dropped": dropped_report(result, left),
            "tree_check": check,
            "result_check": {"ok": check["same_trees"] or not check["expected_equal"]},
            "fed_xgboost": {
                "aggregation": agg.variant,
                "clients": p.clients,
                "n_estimators": p.n_estimators,
                "max_bin": p.max_bin,
                "client_bytes_mean": float(np.mean(
                    [ledger.parties[u].bytes_sent + ledger.parties[u].bytes_received
                     for u in agg.clients])),
                "server_bytes": ledger.parties[0].bytes_sent + ledger.parties[0].bytes_received,
                "sim_time_s": result.end_time,
            },
        }

    return Plan(
        n_parties=p.clients + 1,
        programs={0: server, **dict.fromkeys(agg.clients, client)},
        summarize=summarize,
        roles={"server": [0], "clients": list(agg.clients)},
        reveals=["the server learns the pooled gradient/hessian histograms of every node "
                 "(hence the trees); clients learn the trees",
                 "message sizes show each tree's shape (the open nodes of each level), "
                 "which the server and the clients learn anyway, and who dropped"],
        hub=0,
        outputs=[0],
    )
