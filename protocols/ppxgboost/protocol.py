"""PPXGBoost as simulator parties: proxy, server, clients (issue 6).

Party 0 is the **proxy** (trusted: it holds the plaintext model and every
user's keys), party 1 the **server**, parties ``2..`` the **clients**, one per
user. Phases:

* ``setup``: the proxy issues each user its keys (and the model's objective, so
  the client can apply the link) and sends the server one personalized
  encrypted model per user;
* ``query``: each client OPE-encrypts a batch of test rows and sends it;
* ``response``: the server evaluates the batch on that user's encrypted model
  and returns one Paillier ciphertext per row and output group, or with
  ``pack`` (default) those scores packed ``key_bits / 64`` to a ciphertext
  (`scheme.pack`); the client decrypts and applies the sigmoid or softmax.

Local work is charged by the run's cost model (`sim.costmodel`: Paillier
operations at the key size in use, OPE encryptions, hashing), from counts that
depend only on the model's shape and the query sizes, so the same seed gives
the same simulated time.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import xgboost as xgb
from pydantic import Field, model_validator

from protocols import data as datasets
from protocols.ppxgboost import scheme
from protocols.ppxgboost.model import from_booster
from protocols.ppxgboost.ope import Ope
from protocols.ppxgboost.paillier import Ciphertexts
from sim import FileParam, Params, Party, Plan

PROXY, SERVER, FIRST_CLIENT = 0, 1, 2
TOLERANCE = 1e-6
"""Largest accepted gap between decrypted predictions and `Booster.predict` (issue 6)."""

SERVER_LEARNS = [
    "each tree's shape and output group",
    "the order of each query value against the thresholds of its (labelled) feature",
    "which leaf each query reaches in each tree",
    "which feature labels a query leaves missing, and repeated labels across queries",
]
SERVER_NEVER_SEES = ["feature names", "feature values", "thresholds", "leaf weights",
                     "base score", "scores or predictions"]


class PpxgboostParams(Params):
    renamed = {"data": "dataset", "eta": "learning_rate"}
    dataset: Annotated[str, FileParam()] = "breast_cancer"
    """A `protocols.data` source (bundled or generated) or ``digits`` (scikit-learn)."""
    n_features: int = Field(10, ge=1)
    """For generated data sets."""
    model_path: Annotated[str | None, FileParam()] = None
    """A saved XGBoost model (JSON) to serve instead of training one, e.g. the
    export of a simulator-trained XORBoost model; it must fit `dataset`'s columns."""
    n_estimators: int = Field(10, ge=1)
    """Trees of the model trained here (unused with model_path)."""
    max_depth: int = Field(3, ge=1, le=12)
    """Depth of each tree trained here."""
    learning_rate: float = Field(0.3, gt=0)
    """Shrinkage of the trees trained here (XGBoost's eta)."""
    test_fraction: float = Field(0.3, gt=0, lt=1)
    """Share of the rows held out; queries come from them."""
    queries: int = Field(20, ge=1)
    """Test rows each user queries (at most the test set)."""
    batch: int = Field(10, ge=1)
    """Rows per query message."""
    users: int = Field(1, ge=1)
    """Users, each with its own keys and encrypted model (parties 2..users+1)."""
    key_bits: int = Field(2048, ge=1024, le=8192)
    """Paillier modulus size: even (an odd size never finishes key generation), >= 1024."""
    pack: bool = True
    """Pack many scores into one Paillier ciphertext (`scheme.pack`): one
    decryption per ~(key_bits / 64) scores instead of one per score."""
    missing_fraction: float = Field(0.0, ge=0, lt=1)
    """Share of query values blanked to NaN (they follow the default direction)."""

    @model_validator(mode="after")
    def _even_key(self) -> PpxgboostParams:
        if self.key_bits % 2:
            raise ValueError(f"key_bits = {self.key_bits}: a Paillier modulus needs an even "
                             "size (two primes of key_bits / 2 bits)")
        return self


def _dataset(p: PpxgboostParams, seed: int) -> datasets.Dataset:
    if p.dataset == "digits":
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        d = x.shape[1]
        return datasets.Dataset(x.astype(np.float64), y, tuple(f"pixel{i}" for i in range(d)),
                                np.zeros(d, dtype=bool), "multiclass")
    return datasets.load(p.dataset, n_features=p.n_features, seed=seed)


def train_booster(p: PpxgboostParams, train: datasets.Dataset, seed: int) -> xgb.Booster:
    """The proxy's plaintext model: loaded from `model_path` or trained here."""
    if p.model_path is not None:
        booster = xgb.Booster()
        try:
            booster.load_model(bytearray(Path(p.model_path).read_bytes()))
        except xgb.core.XGBoostError:  # its message is a native stack trace
            raise ValueError(f"{p.model_path}: not an XGBoost model file (JSON or UBJSON, as "
                             "Booster.save_model writes)") from None
        return booster
    if train.task == "regression":
        raise ValueError("ppxgboost serves classification models (binary or multiclass)")
    classes = int(train.y.max()) + 1
    obj = {"objective": "binary:logistic"} if classes <= 2 else {
        "objective": "multi:softprob", "num_class": classes}
    params = {**obj, "max_depth": p.max_depth, "eta": p.learning_rate, "nthread": 1, "seed": seed}
    return xgb.train(params, xgb.DMatrix(train.x, label=train.y), p.n_estimators)


def _query_rows(p: PpxgboostParams, test: datasets.Dataset, seed: int) -> np.ndarray:
    x = test.x[: p.queries].copy()
    if p.missing_fraction:
        blank = np.random.default_rng([seed, 0x0E]).random(x.shape) < p.missing_fraction
        x[blank] = np.nan
    return x


def plan(p: PpxgboostParams, seed: int) -> Plan:
    ds = _dataset(p, seed)
    train, test = datasets.train_test_split(ds, p.test_fraction, seed)
    booster = train_booster(p, train, seed)
    model = from_booster(booster)
    if model.n_features != ds.shape[1]:
        raise ValueError(f"model has {model.n_features} features, data {ds.shape[1]}")
    names = list(ds.names)
    rows = _query_rows(p, test, seed)
    clients = list(range(FIRST_CLIENT, FIRST_CLIENT + p.users))

    async def proxy(party: Party) -> dict[str, Any]:
        issued = {}
        with party.phase("setup"):
            for c in clients:
                keys = scheme.issue_keys(party.rng, p.key_bits)
                enc = scheme.personalize(model, names, keys, party.rng)
                leaves = sum(len(t.leaf) for t in enc.trees) + len(enc.base)
                inner = sum(int((t.left != -1).sum()) for t in model.trees)
                await party.work(paillier_keygen=1, paillier_encrypt_crt=leaves,
                                 ope_encrypt=inner, hash=len(names), call=20 * len(enc.trees),
                                 bits=p.key_bits)
                await party.send(c, (keys, model.objective, model.n_groups))
                await party.send(SERVER, (c, enc))
                issued[c] = (keys, enc)
        return issued

    async def server(party: Party) -> dict[str, Any]:
        models: dict[int, scheme.EncryptedModel] = {}
        with party.phase("setup"):
            for _ in clients:
                c, enc = await party.recv(PROXY)
                models[c] = enc
        steps = {c: 0 for c in clients}
        pending = {c: -(-len(rows) // p.batch) for c in clients}
        with party.phase("response"):
            while any(pending.values()):
                got = await party.recv_many([c for c in clients if pending[c]])
                for c, query in got.items():
                    sums, muls = scheme.evaluate(models[c], query)
                    trees = models[c].trees
                    passes = sum(scheme.depth(t) for t in trees)  # comparisons over the batch
                    await party.work(ring=8 * passes * len(query.values), call=10 * passes)
                    if p.pack:
                        scores = sum(len(row) for row in sums)
                        sums = scheme.pack(models[c], sums)
                        muls += scores * (scheme.SLOT_BITS + 2)
                    await party.work(paillier_mul=muls, call=muls // 8, bits=p.key_bits)
                    flat = sums if p.pack else [s for row in sums for s in row]
                    await party.send(c, Ciphertexts(flat, p.key_bits))
                    steps[c] += len(query.values)
                    pending[c] -= 1
        return {"rows_evaluated": steps}

    async def client(party: Party) -> dict[str, Any]:
        with party.phase("setup"):
            keys, objective, groups = await party.recv(PROXY)
        ope = Ope(keys.ope_key)
        preds, results = [], []
        for start in range(0, len(rows), p.batch):
            x = rows[start: start + p.batch]
            with party.phase("query"):
                query = scheme.encrypt_query(keys, names, x, ope)
                await party.work(ope_encrypt=int((~query.missing).sum()), hash=len(names),
                                 ring=4 * x.size, call=10)
                await party.send(SERVER, query)
            with party.phase("response"):
                sums = (await party.recv(SERVER)).values
                if not p.pack:  # one ciphertext per row and output group
                    sums = [sums[i:i + groups] for i in range(0, len(sums), groups)]
                if p.pack:
                    await party.work(paillier_decrypt=len(sums), call=len(x) * groups,
                                     bits=p.key_bits)
                    preds.append(scheme.unpack_scores(keys, objective, sums, len(x), groups))
                    results.extend(sums)
                else:
                    await party.work(paillier_decrypt=sum(len(s) for s in sums),
                                     bits=p.key_bits)
                    preds.append(scheme.decrypt_scores(keys, objective, sums))
                    results.extend(c for row in sums for c in row)
        return {"pred": np.concatenate(preds), "ciphertexts": results}

    def summarize(result: Any) -> dict[str, Any]:
        return summary(p, booster, rows, clients, result)

    def summarize_own(party: int, result: Any) -> dict[str, Any]:
        """A client's own predictions (the proxy's keys alone check nothing)."""
        return {} if party not in clients else {
            "prediction_check": prediction_check(booster, rows, [party], result)}

    programs = {PROXY: proxy, SERVER: server, **{c: client for c in clients}}
    return Plan(
        n_parties=FIRST_CLIENT + p.users,
        programs=programs,
        summarize=summarize,
        roles={"proxy": [PROXY], "server": [SERVER], "clients": clients},
        trust=f"party {PROXY} is a trusted proxy: it holds the plaintext model and "
              "issues every user's keys",
        reveals=[f"to the server: {x}" for x in SERVER_LEARNS],
        hub=SERVER,
        outputs=[PROXY, *clients] if len(clients) > 1 else clients,  # the proxy's: isolation
        summarize_own=summarize_own,
    )


def prediction_check(booster: xgb.Booster, rows: np.ndarray, clients: list[int],
                     result: Any) -> dict[str, Any]:
    """The `clients`' decrypted predictions against `Booster.predict` on the same rows."""
    expected = booster.predict(xgb.DMatrix(rows))
    diffs = [float(np.abs(result.outputs[c]["pred"].reshape(expected.shape) - expected).max())
             for c in clients]
    return {"queries": len(rows) * len(clients), "max_abs_diff": max(diffs),
            "ok": max(diffs) <= TOLERANCE,
            "per_user": dict(zip(map(str, clients), diffs, strict=True))}


def summary(p: PpxgboostParams, booster: xgb.Booster, rows: np.ndarray, clients: list[int],
            result: Any) -> dict[str, Any]:
    """Decrypted predictions against `Booster.predict`, costs per query, key isolation."""
    phases = result.ledger.phases
    n_queries = len(rows) * len(clients)
    per_query = {name: phases[name].bytes / n_queries for name in ("query", "response")
                 if name in phases}
    out: dict[str, Any] = {
        "prediction_check": prediction_check(booster, rows, clients, result),
        "bytes_per_query": per_query,
        "setup_bytes": phases["setup"].bytes if "setup" in phases else 0,
        "server_learns": SERVER_LEARNS,
        "server_never_sees": SERVER_NEVER_SEES,
    }
    if len(clients) > 1:
        out["key_isolation"] = key_isolation(result.outputs[PROXY], result.outputs, clients)
    return out


def key_isolation(issued: dict[int, Any], outputs: dict[int, Any],
                  clients: list[int]) -> dict[str, Any]:
    """Whether any user's keys open another user's model or results: shared
    feature labels, thresholds that decrypt under the other OPE key to the right
    value, results that decrypt under the other Paillier key to the right score."""
    shared_labels = threshold_hits = score_hits = pairs = 0
    for a in clients:
        keys_a, enc_a = issued[a]
        _, priv_a = keys_a.paillier()
        labels_a = {lab for t in enc_a.trees for lab in t.label if lab is not None}
        truth = [priv_a.raw_decrypt(c) for c in outputs[a]["ciphertexts"]]
        for b in clients:
            if b == a:
                continue
            pairs += 1
            keys_b, enc_b = issued[b]
            _, priv_b = keys_b.paillier()
            labels_b = {lab for t in enc_b.trees for lab in t.label if lab is not None}
            shared_labels += len(labels_a & labels_b)
            wrong = [priv_b.raw_decrypt(c) for c in outputs[a]["ciphertexts"]]
            score_hits += sum(w == t for w, t in zip(wrong, truth, strict=True))
            ope_a, ope_b = Ope(keys_a.ope_key), Ope(keys_b.ope_key)
            thr = enc_a.trees[0].threshold[enc_a.trees[0].left != -1]
            for c in thr.tolist():
                with contextlib.suppress(ValueError):
                    threshold_hits += ope_b.decrypt(int(c)) == ope_a.decrypt(int(c))
    return {"pairs": pairs, "shared_labels": shared_labels,
            "thresholds_opened": threshold_hits, "scores_opened": score_hits}
