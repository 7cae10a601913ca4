"""Vertical federated XGBoost: SecureBoost (Cheng et al. 2021) with Paillier encryption.

Columns are split: party 0, the *active* party, holds the labels and a block
of features; parties 1..n (*passive*) hold the other blocks, on the same rows.
Per tree the active party encrypts each row's gradient and hessian (Paillier,
`phe` with gmpy2; g+, g- and h packed as three 64-bit fixed-point slots of one
plaintext, so one ciphertext per row) and sends them to every passive party.
Per level it tells them which rows are in which open node (the instance
spaces); each passive party returns, for every node and each of its features
and bins, the homomorphic sum of the ciphertexts of the node's rows in that
bin. The active party decrypts, adds its own plaintext histograms, and picks
each node's split with XGBoost's rule (`trees`); if the split is a passive
party's, it asks that party, which keeps the (feature, bin) in its own lookup
table and answers with the rows that go left. At the last level no histograms
are needed: the active party knows the leaves' gradient sums itself.

What each party learns: the active party learns the per-bin gradient sums of
every passive feature (not the feature values or thresholds) and, like everyone,
the instance space of each node; a passive party learns only ciphertexts, the
instance spaces and which of its own (feature, bin) splits were chosen. Bins are
each party's own equal-width bins. Trees equal XGBoost ``hist`` on the pooled
binned columns (``tree_check``). Paillier keys and encryption randomness come
from the OS (`phe` takes no generator for key generation), so ciphertexts differ
between runs; their wire size is fixed (2 * key bytes, zero-padded on the TCP
runtime) and the modulus n always has exactly key_bits bits, so byte counts,
trees and reports do not.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

import numpy as np
import phe
import xgboost as xgb
from pydantic import Field, model_validator

from protocols.federated import data as fdata
from protocols.federated import trees
from protocols.ppxgboost.paillier import Ciphertexts
from sim import Params, Party, Plan

SLOT = 64
FRAC = 32


class SecureBoostParams(Params):
    """``[protocol]`` of a ``secureboost`` scenario: `clients` passive parties."""

    renamed = trees.RENAMED
    clients: Annotated[int, Field(ge=1, le=10_000)] = 9
    """Passive parties (parties 1..clients), each holding a block of features; party 0 holds
    the labels and a block too."""
    dataset: Literal["breast_cancer", "synthetic"] = "breast_cancer"
    """breast_cancer (scikit-learn's bundled set) or synthetic."""
    n_samples: Annotated[int, Field(ge=10)] = 1000
    """Rows of the synthetic data set."""
    n_features: Annotated[int, Field(ge=2)] = 20
    """Features of the synthetic data set."""
    max_bin: Annotated[int, Field(ge=2, le=256)] = 16
    """Equal-width histogram bins per feature."""
    n_estimators: Annotated[int, Field(ge=1)] = 3
    """Trees (boosting rounds)."""
    max_depth: Annotated[int, Field(ge=1, le=10)] = 3
    """Depth of each tree."""
    learning_rate: Annotated[float, Field(gt=0)] = 0.3
    """Shrinkage of each leaf value (XGBoost's eta)."""
    reg_lambda: Annotated[float, Field(ge=0)] = 1.0
    """L2 regularisation of leaf values."""
    min_child_weight: Annotated[float, Field(ge=0)] = 1.0
    """Least hessian sum of a child for a split to be valid."""
    key_bits: Annotated[int, Field(ge=256, le=4096)] = 1024
    """Paillier modulus size: even, and >= 1024 unless `insecure_keys`."""
    insecure_keys: bool = False
    """Allow key_bits below 1024 (insecure; quick demos and tests whose costs scale down)."""
    timeout: Annotated[float, Field(gt=0)] = 5.0
    """Seconds the active party waits for a passive party before going on without it."""

    @model_validator(mode="after")
    def _keys(self) -> SecureBoostParams:
        if self.key_bits % 2:
            raise ValueError(f"key_bits = {self.key_bits}: a Paillier modulus needs an even "
                             "size (two primes of key_bits / 2 bits)")
        if self.key_bits < 1024 and not self.insecure_keys:
            raise ValueError(f"key_bits = {self.key_bits} is insecure: use >= 1024 (2048 in "
                             "earnest), or set insecure_keys = true for a quick demo")
        return self

    @property
    def tree_params(self) -> trees.TreeParams:
        return trees.TreeParams(self.max_depth, self.learning_rate, self.reg_lambda,
                                self.min_child_weight)


@lru_cache(maxsize=8)
def columns(p: SecureBoostParams, seed: int):
    """Binned train/test columns, labels, and each party's block of feature ids."""
    d = fdata.load(p.dataset, seed, p.n_samples, p.n_features)
    n_feat = d.x_train.shape[1]
    if n_feat < p.clients + 1:
        raise ValueError(f"{n_feat} features cannot be split among {p.clients + 1} parties")
    edges = trees.equal_width_bins(d.x_train, p.max_bin)  # per feature: each owner's own bins
    blocks = np.array_split(np.arange(n_feat), p.clients + 1)
    return (trees.to_bins(d.x_train, edges), d.y_train, trees.to_bins(d.x_test, edges),
            d.y_test, blocks)


@lru_cache(maxsize=8)
def central(p: SecureBoostParams, seed: int) -> xgb.Booster:
    xtr, ytr, _, _, _ = columns(p, seed)
    return xgb.train(p.tree_params.xgboost(), xgb.DMatrix(xtr, label=ytr),
                     num_boost_round=p.n_estimators)


def _pack(g: np.ndarray, h: np.ndarray) -> list[int]:
    """Three fixed-point slots (g+, g-, h) of one Paillier plaintext per row."""
    gp = np.round(np.maximum(g, 0) * 2.0**FRAC).astype(np.uint64)
    gn = np.round(np.maximum(-g, 0) * 2.0**FRAC).astype(np.uint64)
    hq = np.round(h * 2.0**FRAC).astype(np.uint64)
    return [int(a) | int(b) << SLOT | int(c) << 2 * SLOT for a, b, c in zip(gp, gn, hq,
                                                                             strict=True)]


def _unpack(plain: int) -> tuple[float, float]:
    mask = (1 << SLOT) - 1
    g = (plain & mask) - (plain >> SLOT & mask)
    return g / 2.0**FRAC, (plain >> 2 * SLOT & mask) / 2.0**FRAC


def plan(p: SecureBoostParams, seed: int) -> Plan:
    xtr, ytr, xte, yte, blocks = columns(p, seed)
    tp, n_rows, n_bins = p.tree_params, len(ytr), p.max_bin
    passive = tuple(range(1, p.clients + 1))

    async def active(party: Party) -> dict[str, Any]:
        pk, sk = phe.generate_paillier_keypair(n_length=p.key_bits)
        mine = xtr[:, blocks[0]]
        y = ytr.astype(np.float64)
        margin, forest, per_tree, live = np.zeros(n_rows), [], [], passive
        dropped_at: dict[int, float] = {}
        for _ in range(p.n_estimators):
            g, h = trees.gh(margin, y)
            with party.phase("sb.encrypt_gradients"):
                cts = Ciphertexts([pk.raw_encrypt(v) for v in _pack(g, h)], p.key_bits)
                await party.work(paillier_encrypt=n_rows, ring=12 * n_rows, call=n_rows // 4,
                                 bits=p.key_bits)
                for q in live:
                    await party.send(q, (pk.n, cts))
            nodes, active_ids = [trees.Node(0)], [0]
            at = np.zeros(n_rows, dtype=np.int64)
            while active_ids:
                depth = nodes[active_ids[0]].depth
                k_act = len(active_ids)
                hist = np.zeros((k_act, xtr.shape[1], n_bins, 2))
                for k in range(k_act):  # own block, in the clear
                    rows = at == k
                    for j, f in enumerate(blocks[0]):
                        hist[k, f, :, 0] = np.bincount(mine[rows, j], g[rows], n_bins)
                        hist[k, f, :, 1] = np.bincount(mine[rows, j], h[rows], n_bins)
                await party.work(scatter=2 * n_rows * len(blocks[0]),
                                 ring=k_act * n_rows * (1 + 2 * len(blocks[0])),
                                 call=6 * k_act * len(blocks[0]))
                if depth < tp.max_depth:
                    with party.phase("sb.instance_space"):
                        for q in live:
                            await party.send(q, at.astype(np.int32))
                    with party.phase("sb.encrypted_histograms"):
                        got = await party.recv_many(live, timeout=p.timeout)
                        for q in live:
                            if q not in got:
                                dropped_at[q] = party.now()
                        live = tuple(got)
                        for q, sums in got.items():
                            plain = [_unpack(sk.raw_decrypt(c)) for c in sums.values]
                            hist[:, blocks[q]] = np.array(plain).reshape(
                                k_act, len(blocks[q]), n_bins, 2)
                        received = sum(len(s.values) for s in got.values())
                        await party.work(paillier_decrypt=received, call=received // 4,
                                         bits=p.key_bits)
                with party.phase("sb.split"):
                    requests: dict[int, list] = {q: [] for q in live}
                    owner = {f: q for q in range(len(blocks)) for f in blocks[q]}
                    splits = trees.best_splits(hist, depth, tp)
                    await party.work(**trees.split_work(hist.size, k_act))
                    for k, split in enumerate(splits):
                        if split is not None and owner[split[0]] in requests:
                            requests[owner[split[0]]].append((k, split[0], split[1]))
                    masks = {}
                    if depth < tp.max_depth:  # (the last level's nodes are all leaves)
                        for q in live:
                            await party.send(q, np.array(requests[q], dtype=np.int32))
                        masks = await party.recv_many([q for q in live if requests[q]],
                                                      timeout=p.timeout)
                    go_left: dict[int, np.ndarray] = {}
                    for q, mask in masks.items():
                        for (k, _, _), row_mask in zip(requests[q], mask, strict=True):
                            go_left[k] = row_mask
                    for k, split in enumerate(splits):
                        if split is not None and owner[split[0]] == 0:
                            go_left[k] = xtr[:, split[0]] <= split[1]
                new_at, children = np.full_like(at, -1), []
                for k, split in enumerate(splits):
                    node, rows = nodes[active_ids[k]], at == k
                    if split is None or k not in go_left:  # a leaf (or its owner dropped)
                        node.value = trees.leaf_value(g[rows].sum(), h[rows].sum(), tp)
                        margin[rows] += node.value
                        continue
                    node.feature, node.bin = split
                    node.left, node.right = len(nodes), len(nodes) + 1
                    nodes += [trees.Node(depth + 1), trees.Node(depth + 1)]
                    new_at[rows & go_left[k]] = len(children)
                    new_at[rows & ~go_left[k]] = len(children) + 1
                    children += [node.left, node.right]
                at, active_ids = new_at, children
            with party.phase("sb.instance_space"):
                for q in live:
                    await party.send(q, np.zeros(0, dtype=np.int32))  # tree done
            forest.append(nodes)
            per_tree.append(float(np.mean((trees.predict(forest, xte) > 0.5) == yte)))
        return {"forest": forest, "accuracy_per_round": per_tree, "dropped_at": dropped_at}

    async def passive_party(party: Party) -> dict[str, Any]:
        cols = xtr[:, blocks[party.id]]
        lookup = []  # (feature, bin) of each split this party owns: its private table
        for _ in range(p.n_estimators):
            n, cts = await party.recv(0)
            nsq = n * n
            while True:
                at = await party.recv(0)
                if at.size == 0:
                    break
                with party.phase("sb.encrypted_histograms"):
                    k_act = int(at.max()) + 1
                    acc = [1] * (k_act * cols.shape[1] * n_bins)
                    for r in np.flatnonzero(at >= 0):
                        c, base = cts.values[r], int(at[r]) * cols.shape[1] * n_bins
                        for j in range(cols.shape[1]):
                            i = base + j * n_bins + int(cols[r, j])
                            acc[i] = acc[i] * c % nsq
                    products = int((at >= 0).sum()) * cols.shape[1]
                    await party.work(paillier_mul=products, call=products // 8,
                                     bits=p.key_bits)
                    await party.send(0, Ciphertexts(acc, p.key_bits))
                requests = await party.recv(0)
                if len(requests):
                    with party.phase("sb.split"):
                        lookup += [(int(f), int(b)) for _, f, b in requests]
                        await party.send(0, np.array([xtr[:, f] <= b for _, f, b in requests]))
        return {"lookup": lookup}

    def summarize(result: Any) -> dict[str, Any]:
        out = result.outputs[0]
        booster = central(p, seed)
        base = booster.predict(xgb.DMatrix(xte))
        mine = trees.predict(out["forest"], xte)
        ledger = result.ledger
        dropped = [{"party": q, "at": t, "how": "crash"} for q, t in sorted(result.crashed.items())]
        check = {
            **trees.compare_with_xgboost(out["forest"], booster, xtr),
            "max_prediction_diff": float(np.abs(mine - base).max()),
            "expected_equal": not result.crashed,
        }
        return {
            "split": fdata.vertical_split(n_rows, blocks),
            "accuracy": {"metric": "accuracy", "value": float(np.mean((mine > 0.5) == yte)),
                         "baseline": float(np.mean((base > 0.5) == yte))},
            "accuracy_per_round": out["accuracy_per_round"],
            "dropped": dropped,
            "tree_check": check,
            "result_check": {"ok": check["same_trees"] or not check["expected_equal"]},
            "secureboost": {
                "passive_parties": p.clients,
                "features_per_party": [len(b) for b in blocks],
                "key_bits": p.key_bits,
                "n_estimators": p.n_estimators,
                "max_bin": p.max_bin,
                "active_bytes": ledger.parties[0].bytes_sent + ledger.parties[0].bytes_received,
                "passive_bytes_mean": float(np.mean(
                    [ledger.parties[q].bytes_sent + ledger.parties[q].bytes_received
                     for q in passive])),
                "sim_time_s": result.end_time,
                "learns": {
                    "active": "labels, trees' structure, per-bin gradient sums of passive "
                              "features, instance spaces; not passive features or thresholds",
                    "passive": "encrypted gradients only, instance spaces, its own chosen "
                               "(feature, bin) splits",
                },
            },
        }

    return Plan(
        n_parties=p.clients + 1,
        programs={0: active, **dict.fromkeys(passive, passive_party)},
        summarize=summarize,
        roles={"active": [0], "passive": list(passive)},
        reveals=["active party: per-bin gradient/hessian sums of passive features and "
                 "the instance space of every node; passive parties: instance spaces",
                 "message sizes show each tree's shape and how many of a level's splits each "
                 "passive party owns, which the active party and that party learn anyway"],
        hub=0,
        outputs=[0],
    )
