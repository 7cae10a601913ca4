"""The XORBoost run: owners, computing parties, a dealer and an analyst.

Parties (ids in this order): the data owners 0..O-1; the computing parties
(the owners themselves when ``servers = 0``, else ``servers`` separate parties);
the dealer (TRUSTED third party: it deals Beaver triples and masks offline,
seed-compressed, and must not collude with a computing party); the analyst, the
only party that learns the model.

Phases: ``binning`` (co-owners of a column exchange local summaries, see
`binning`), ``input`` (owners secret-share bucket indicators, labels and
their cut values), ``tree<t>.*`` (training, see `train`), ``reveal`` (the
model's shares go to the analyst only). The analyst returns the `Model`.

Preprocessing done in the clear by the scenario, before owners get their data:
the train/test split and, for regression, standardizing the labels with the
training mean and deviation (the squared-error gradient bound assumes it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from protocols import data as datamod
from protocols.sharing import Mpc
from protocols.sharing.ring import decode
from protocols.xorboost import binning
from protocols.xorboost.costonly import Ghost, GhostMpc
from protocols.xorboost.model import Model
from protocols.xorboost.train import (
    Hyper,
    Shape,
    decode_threshold_bits,
    encode_threshold_bits,
    threshold_vector,
    train,
)
from sim import FileParam, Params, Party, Plan


class XorboostParams(Params):
    """Data, split, parties and XGBoost hyper-parameters of one run."""

    renamed = {"data": "dataset"}
    dataset: Annotated[str, FileParam()] = "breast_cancer"
    label: str | None = None
    n_samples: int = Field(200, ge=4)
    n_features: int = Field(5, ge=1)
    data_seed: int | None = None
    nan: datamod.NanPolicy = "keep"
    binary: bool = False
    test_fraction: float = Field(0.25, gt=0, lt=1)
    split: datamod.SplitKind = "horizontal"
    owners: int = Field(2, ge=1)
    fractions: list[float] | None = None
    row_groups: int = Field(2, ge=2)
    servers: int = Field(0, ge=0, le=5)
    n_estimators: int = Field(2, ge=1)
    max_depth: int = Field(3, ge=1, le=10)
    learning_rate: float = Field(0.3, gt=0, le=1)
    reg_lambda: float = Field(1.0, gt=0)
    gamma: float = Field(0.0, ge=0)
    min_child_weight: float = Field(1.0, ge=0)
    max_bin: int = Field(16, ge=2, le=1024)
    objective: Literal["binary:logistic", "reg:squarederror"] | None = None
    base_score: float | None = None
    sigmoid_segments: int = Field(16, ge=2, le=64)
    frac_bits: int = Field(16, ge=8, le=24)
    mode: Literal["full", "cost_only"] = "full"

    @model_validator(mode="after")
    def _parties(self) -> XorboostParams:
        if self.servers == 1:
            raise ValueError(f"servers must be 0 (the owners compute) or 2..5, got {self.servers}")
        if self.servers == 0 and self.owners < 2:
            raise ValueError(
                f"with servers = 0 the owners compute: need owners >= 2, got {self.owners}"
            )
        return self


@dataclass(frozen=True)
class Layout:
    owners: list[int]
    players: list[int]
    dealer: int
    analyst: int

    @property
    def n_parties(self) -> int:
        return self.analyst + 1


def layout(params: XorboostParams) -> Layout:
    owners = list(range(params.owners))
    players = owners if params.servers == 0 else list(
        range(params.owners, params.owners + params.servers))
    dealer = max(owners + players) + 1
    return Layout(owners, players, dealer, dealer + 1)


@dataclass(frozen=True)
class Prepared:
    """The scenario's data, split and hyper-parameters (computed once per plan).

    In cost-only mode `train` and `test` are None: only public sizes are known.
    """

    train: datamod.Dataset | None
    test: datamod.Dataset | None
    split: datamod.OwnerSplit
    hp: Hyper
    shape: Shape
    task: str

    @property
    def cost_only(self) -> bool:
        return self.train is None


def _hyper(params: XorboostParams, task: str) -> Hyper:
    objective = params.objective or (
        "binary:logistic" if task == "binary" else "reg:squarederror")
    if (objective == "binary:logistic") != (task == "binary"):
        raise ValueError(f"objective {objective!r} does not fit a {task} data set")
    base = params.base_score if params.base_score is not None else (
        0.5 if objective == "binary:logistic" else 0.0)
    return Hyper(params.n_estimators, params.max_depth, params.learning_rate,
                 params.reg_lambda, params.gamma, params.min_child_weight, params.max_bin,
                 objective, base, params.sigmoid_segments)


def _shapes_only(params: XorboostParams) -> Prepared:
    """Cost-only: sizes of a generator's data without generating it."""
    n_test = int(round(params.n_samples * params.test_fraction))
    n = params.n_samples - n_test
    d = params.n_features
    categorical = [False] * d
    if params.dataset == "health":
        d = max(8, d)
        categorical = [j in (0, 2) for j in range(d)]
    task = "regression" if params.dataset == "synthetic_regression" else "binary"
    split = datamod.split_owners(n, d, params.split, params.owners, params.fractions,
                                 params.row_groups)
    return Prepared(None, None, split, _hyper(params, task), Shape(n, tuple(categorical)), task)


def prepare(params: XorboostParams, seed: int) -> Prepared:
    if params.mode == "cost_only" and params.dataset in datamod.GENERATED:
        return _shapes_only(params)
    data_seed = seed if params.data_seed is None else params.data_seed
    ds = datamod.load(params.dataset, label=params.label, n_samples=params.n_samples,
                      n_features=params.n_features, seed=data_seed, nan=params.nan,
                      binary=params.binary)
    if ds.task == "multiclass":
        raise ValueError(f"data {params.dataset!r} is multiclass: XORBoost here trains binary "
                         "or regression models (set binary = true)")
    hp = _hyper(params, ds.task)
    train_ds, test_ds = datamod.train_test_split(ds, params.test_fraction, data_seed)
    if ds.task == "regression":
        mean, std = train_ds.y.mean(), train_ds.y.std() or 1.0
        train_ds = datamod.Dataset(train_ds.x, (train_ds.y - mean) / std, ds.names,
                                   ds.categorical, ds.task)
        test_ds = datamod.Dataset(test_ds.x, (test_ds.y - mean) / std, ds.names,
                                  ds.categorical, ds.task)
    for j in np.flatnonzero(ds.categorical):
        top = np.nanmax(train_ds.x[:, j]) + 1 if not np.isnan(train_ds.x[:, j]).all() else 1
        if top > params.max_bin:
            raise ValueError(f"categorical feature {ds.names[j]!r} has {int(top)} categories, "
                             f"more than max_bin={params.max_bin}")
    n, d = train_ds.x.shape
    split = datamod.split_owners(n, d, params.split, params.owners, params.fractions,
                                 params.row_groups)
    shape = Shape(n, tuple(bool(c) for c in ds.categorical))
    if params.mode == "cost_only":
        return Prepared(None, None, split, hp, shape, ds.task)
    return Prepared(train_ds, test_ds, split, hp, shape, ds.task)


def column_owners(split: datamod.OwnerSplit, d: int) -> list[list[int]]:
    """For each column, the owners holding a piece of it (in owner order)."""
    holders: list[list[int]] = [[] for _ in range(d)]
    for part in split.parts:
        for c in part.cols:
            holders[c].append(part.owner)
    return holders


async def agree_cuts(party: Party, prep: Prepared) -> list[np.ndarray]:
    """This owner's cut points for its columns (by column index), after exchanging
    local summaries with the co-owners of shared columns (one message per pair)."""
    part = prep.split.parts[party.id]
    hp, cat = prep.hp, prep.shape.categorical
    holders = column_owners(prep.split, prep.shape.d)
    shared_cols = [(i, int(c)) for i, c in enumerate(part.cols) if len(holders[c]) > 1]
    if prep.cost_only:  # the largest summaries: exact for columns with many distinct values
        size = binning.SUMMARY_FACTOR * hp.max_bin
        mine = {c: Ghost((2, size), np.float64) for _, c in shared_cols}
        values = Ghost((part.rows.size, part.cols.size), np.float64)
    else:
        values = prep.train.x[np.ix_(part.rows, part.cols)]
        mine = {c: binning.local_summary(values[:, i], hp.max_bin, cat[c])
                for i, c in shared_cols}
    partners = sorted({o for c in part.cols for o in holders[c] if o != party.id})
    for q in partners:
        shared = [c for c in prep.split.parts[q].cols if c in mine]
        await party.send(q, [mine[c] for c in shared])
    got = await party.recv_many(partners) if partners else {}
    summaries: dict[int, list[np.ndarray]] = {c: [s] for c, s in mine.items()}
    for q, items in got.items():
        shared = [c for c in prep.split.parts[q].cols if c in mine]
        for c, s in zip(shared, items, strict=True):
            summaries[c].append(s)
    await party.work(ring=values.size * max(1, part.rows.size.bit_length()),  # sorting
                     call=100 * part.cols.size)  # a quantile sketch per column
    if prep.cost_only:
        return []
    return [binning.column_cuts(values[:, i], hp.max_bin, cat[c]) if len(holders[c]) == 1
            else binning.merge_cuts(summaries[c], hp.max_bin, cat[c])
            for i, c in enumerate(part.cols)]


async def share_inputs(mpc: Mpc, prep: Prepared, cuts: list[np.ndarray] | None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shares of the bucket indicators (n, d*B), labels (n,) and thresholds (d*B+1,)."""
    hp, shape = prep.hp, prep.shape
    B, me = hp.max_bin, mpc.party.id
    holders = column_owners(prep.split, shape.d)
    onehot = mpc.zeros((shape.n, shape.d * B))
    y = mpc.zeros((shape.n,))
    thresholds = mpc.zeros((shape.d * B + 1,))
    for part in prep.split.parts:
        o, rows, cols = part.owner, part.rows, part.cols
        block = span = None
        if me == o and not prep.cost_only:
            x = prep.train.x[np.ix_(rows, cols)]
            buckets = np.column_stack([binning.bucketize(x[:, i], cuts[i])
                                       for i in range(len(cols))])
            block = binning.one_hot(buckets, B)
        span = slice(int(cols[0]) * B, (int(cols[-1]) + 1) * B)
        if me == o:  # bucketize and one-hot encode
            await mpc.party.work(ring=rows.size * cols.size * (B + 1), call=4 * cols.size)
        block = await mpc.share(o, block, shape=(rows.size, cols.size * B))
        if mpc.is_player:  # others keep untouched zeros: no memory for n x d*B placeholders
            onehot[rows[0]:rows[-1] + 1, span] = block
        if part.has_labels:
            y[rows[0]:rows[-1] + 1] = await mpc.share_fx(
                o, prep.train.y[rows].astype(np.float64)
                if me == o and not prep.cost_only else None,
                shape=(rows.size,))
        first = [i for i, c in enumerate(cols) if holders[c][0] == o]
        if first:
            lo, hi = int(cols[first[0]]), int(cols[first[-1]]) + 1
            value = None
            if me == o and not prep.cost_only:
                vec = threshold_vector([cuts[i] for i in first],
                                       shape.categorical[lo:hi], B)[:-1]
                value = encode_threshold_bits(vec)
            thresholds[lo * B:hi * B] = await mpc.share(o, value, shape=((hi - lo) * B,))
    return onehot, y, thresholds


def _flatten(res: dict[str, list[np.ndarray]]) -> np.ndarray:
    return np.concatenate([a.ravel() for k in ("selections", "thresholds", "leaves")
                           for a in res[k]])


def revealed_size(hp: Hyper, shape: Shape) -> int:
    """Ring elements the analyst receives: per tree and level K*(d*B+1) + K, plus leaves."""
    per_tree = sum((1 << lv) * (shape.d * hp.max_bin + 2) for lv in range(hp.max_depth))
    return hp.n_estimators * (per_tree + (1 << hp.max_depth))


def decode_model(flat: np.ndarray, hp: Hyper, shape: Shape, frac_bits: int) -> Model:
    """The analyst's `Model` from the opened vector (layout of `_flatten`)."""
    width = shape.d * hp.max_bin + 1
    sels, thrs, leaves, pos = [], [], [], 0
    for _ in range(hp.n_estimators):
        for lv in range(hp.max_depth):
            k = 1 << lv
            sels.append(flat[pos:pos + k * width].reshape(k, width).astype(np.int64))
            pos += k * width
    for _ in range(hp.n_estimators):
        for lv in range(hp.max_depth):
            thrs.append(decode_threshold_bits(flat[pos:pos + (1 << lv)]))
            pos += 1 << lv
    for _ in range(hp.n_estimators):
        leaves.append(decode(flat[pos:pos + (1 << hp.max_depth)], frac_bits))
        pos += 1 << hp.max_depth
    return Model.from_revealed(sels, thrs, leaves, hp.max_bin, hp.objective, hp.base_score,
                               shape.categorical)


def make_program(prep: Prepared, lay: Layout, frac_bits: int):
    """Every party's coroutine (the same program, role-dependent inside)."""

    async def program(party: Party) -> Any:
        me = party.id
        mpc = (GhostMpc if prep.cost_only else Mpc)(party, lay.players, lay.dealer, frac_bits)
        if me == lay.analyst:
            with party.phase("reveal"):
                flat = await mpc.reveal(mpc.zeros((revealed_size(prep.hp, prep.shape),)),
                                        to=lay.analyst)
            return None if prep.cost_only else decode_model(flat, prep.hp, prep.shape,
                                                            frac_bits)
        cuts = None
        if me in lay.owners:
            with party.phase("binning"):
                cuts = await agree_cuts(party, prep)
        if me not in lay.players and me != lay.dealer:
            with party.phase("input"):
                await share_inputs(mpc, prep, cuts)
            return None
        with party.phase("input"):
            inputs = [await share_inputs(mpc, prep, cuts)]
        # pop: `train` holds the only reference to the one-hot shares and frees them
        res = await train(mpc, *inputs.pop(), prep.shape, prep.hp)
        if me in lay.players:
            with party.phase("reveal"):
                await mpc.reveal(_flatten(res), to=lay.analyst)
        return None

    return program


def xgboost_params(hp: Hyper) -> dict[str, Any]:
    """The plaintext baseline's parameters: the same model, tree_method hist."""
    return {"tree_method": "hist", "max_bin": hp.max_bin, "max_depth": hp.max_depth,
            "eta": hp.learning_rate, "reg_lambda": hp.reg_lambda, "gamma": hp.gamma,
            "min_child_weight": hp.min_child_weight, "objective": hp.objective,
            "base_score": hp.base_score, "max_cat_to_onehot": hp.max_bin, "nthread": 1}


def dmatrix(ds: datamod.Dataset, label: bool = True):
    import xgboost as xgb

    types = ["c" if c else "q" for c in ds.categorical]
    return xgb.DMatrix(ds.x, label=ds.y if label else None, feature_types=types,
                       enable_categorical=bool(ds.categorical.any()))


def baseline(prep: Prepared):
    """Plaintext xgboost on the pooled training data, same hyper-parameters."""
    import xgboost as xgb

    return xgb.train(xgboost_params(prep.hp), dmatrix(prep.train), prep.hp.n_estimators)


def metrics(task: str, y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    if task == "binary":
        auc = float(roc_auc_score(y, pred)) if len(np.unique(y)) == 2 else float("nan")
        return {"auc": auc, "accuracy": float(np.mean((pred > 0.5) == y))}
    return {"rmse": float(np.sqrt(np.mean((pred - y) ** 2)))}


def plan(params: XorboostParams, seed: int) -> Plan:
    prep = prepare(params, seed)
    lay = layout(params)
    program = make_program(prep, lay, params.frac_bits)

    def summarize(result: Any) -> dict[str, Any]:
        return summary(prep, lay, params, result.outputs.get(lay.analyst))

    roles = {"owners": lay.owners, "dealer": [lay.dealer], "analyst": [lay.analyst]}
    if params.servers:
        roles["servers"] = lay.players
    return Plan(
        n_parties=lay.n_parties,
        programs=dict.fromkeys(range(lay.n_parties), program),
        summarize=summarize,
        roles=roles,
        trust=f"party {lay.dealer} is a trusted dealer (Beaver triples, truncation and "
              "comparison masks, offline); it must not collude with a computing party",
        reveals=public_facts(prep),
        hub=lay.players[0],
        outputs=[lay.analyst],
    )


def public_facts(prep: Prepared) -> list[str]:
    hp = prep.hp
    return [
        f"samples n={prep.shape.n}, features d={prep.shape.d} and which are categorical",
        f"n_estimators={hp.n_estimators}, max_depth={hp.max_depth}, max_bin={hp.max_bin}, "
        "the other hyper-parameters",
        "the owner split layout (who holds which rows and columns)",
        "the model (split features, thresholds, leaf values), to the analyst only",
    ]


def learned(prep: Prepared) -> dict[str, str]:
    """What each party learns, beyond the public facts."""
    shared = any(len(h) > 1 for h in column_owners(prep.split, prep.shape.d))
    owners = ("each co-owner of a column learns the other co-owners' local summaries of it "
              "(distinct values with counts, or 8*max_bin local quantiles) and the agreed cuts"
              if shared else "nothing: each owner bins its own columns alone")
    return {
        "owners": owners,
        "computing parties": "uniformly random shares only (nothing opened is unmasked)",
        "dealer": "nothing (it sends, never receives a share)",
        "analyst": "the trees: split features, thresholds of the used splits, leaf values",
    }


def summary(prep: Prepared, lay: Layout, params: XorboostParams, model: Model | None
            ) -> dict[str, Any]:
    task = prep.task
    metric = "auc" if task == "binary" else "rmse"
    out: dict[str, Any] = {
        "split": {"kind": prep.split.kind, "owners": prep.split.owners,
                  "parts": prep.split.describe()["parts"]},
        "mode": params.mode,
        "public": public_facts(prep),
        "learned": learned(prep),
    }
    if prep.cost_only:
        out["absent"] = {"accuracy": "not computed in cost_only mode: payloads carry shapes, "
                                     "not values, so no model exists to score"}
        return out
    base_metrics = metrics(task, prep.test.y, baseline(prep).predict(
        dmatrix(prep.test, label=False)))
    if model is None:
        out["absent"] = {"accuracy": "no model reached the analyst (a party crashed); the "
                                     f"plaintext baseline's {metric} is {base_metrics[metric]:.4g}"}
        return out
    values = metrics(task, prep.test.y, model.predict(prep.test.x))
    out["accuracy"] = {"metric": metric, "value": values[metric],
                       "baseline": base_metrics[metric],
                       "secure": values, "plaintext_xgboost": base_metrics}
    return out
