"""The XORBoost run: owners, computing parties, a dealer and an analyst.

Parties (ids in this order): the data owners 0..O-1; the computing parties
(the owners themselves when ``servers = 0``, else ``servers`` separate parties);
the dealer (TRUSTED third party: it deals Beaver triples and masks offline,
seed-compressed, and must not collude with a computing party); the analyst, the
only party that learns the model.

Phases: ``binning`` (co-owners of a column exchange local summaries, see
`binning`), ``input`` (owners mask and publish their bucket indicators and
per-sample values once, see `fixedmask`, and secret-share labels and split
values), ``tree<t>.*`` (training, see `train`), ``reveal`` (the model's shares
go to the analyst only). The analyst returns the `Model`.

Public: the sizes, which features are categorical and which may have missing
values (a data set's schema: it sets the number of split candidates), the
owner split layout and the hyper-parameters; the fixed-point precision follows
from them (`precision`).

Preprocessing done in the clear by the scenario, before owners get their data:
the train/test split and, for regression, standardizing the labels with the
training mean and deviation (the squared-error gradient bound assumes it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from protocols import data as datamod
from protocols.costonly import Ghost
from protocols.sharing import Mpc
from protocols.sharing.ring import RING, decode, encode
from protocols.xorboost import binning, precision
from protocols.xorboost.candidates import Candidates
from protocols.xorboost.costonly import GhostMpc
from protocols.xorboost.fixedmask import Block, FixedOperand, OneHotBlock, ValueBlock
from protocols.xorboost.model import (
    Model,
    compare_trees,
    decode_threshold_bits,
    encode_threshold_bits,
)
from protocols.xorboost.train import Hyper, train
from sim import FileParam, Params, Party, Plan


class XorboostParams(Params):
    """Data, split, parties and XGBoost hyper-parameters of one run."""

    renamed = {"data": "dataset"}
    dataset: Annotated[str, FileParam()] = "breast_cancer"
    """A `protocols.data` source: bundled (breast_cancer, diabetes, ...), generated
    (synthetic, synthetic_regression, health) or a .csv/.parquet file."""
    label: str | None = None
    """The label column of a file data set."""
    n_samples: int = Field(200, ge=4)
    """Rows of a generated data set (before the test split)."""
    n_features: int = Field(5, ge=1)
    """Columns of a generated data set."""
    data_seed: int | None = None
    """Seed of the generator and of the train/test split (default: the run's seed)."""
    nan: datamod.NanPolicy = "keep"
    """Rows with missing values: keep (XGBoost's handling, learned per split), drop, error."""
    binary: bool = False
    """A multiclass data set as class 0 against the rest."""
    test_fraction: float = Field(0.25, gt=0, lt=1)
    """Share of the rows held out to score the model."""
    split: datamod.SplitKind = "horizontal"
    """How the owners hold the training data: by rows, by columns, or both (mixed)."""
    owners: int = Field(2, ge=1)
    """Data owners (parties 0..owners-1)."""
    fractions: list[float] | None = None
    """Uneven shares along the split's axis (rows, columns, or row groups); even if absent."""
    row_groups: int = Field(2, ge=2)
    """Row groups of a mixed split (each group's columns are cut among its owners)."""
    servers: int = Field(0, ge=0, le=5)
    """Computing parties apart from the owners (0: the owners compute, owner-assisted
    products; 2 to 5: the owners share their data and leave)."""
    n_estimators: int = Field(2, ge=1)
    """Trees (XGBoost's n_estimators)."""
    max_depth: int = Field(3, ge=1, le=10)
    """Depth of every tree; levels are computed whole, so costs do not depend on the data."""
    learning_rate: float = Field(0.3, gt=0, le=1)
    """Shrinkage of the leaf values (XGBoost's eta)."""
    reg_lambda: float = Field(1.0, gt=0)
    """L2 regularization of the leaf values (XGBoost's lambda)."""
    gamma: float = Field(0.0, ge=0)
    """Smallest loss reduction that makes a split (XGBoost's min_split_loss)."""
    min_child_weight: float = Field(1.0, ge=0)
    """Smallest hessian sum of each side of a split, as XGBoost applies it."""
    max_bin: int = Field(16, ge=2, le=1024)
    """Buckets per feature (XGBoost's max_bin; a categorical feature's codes must be fewer)."""
    objective: Literal["binary:logistic", "reg:squarederror"] | None = None
    """The loss (default: from the data set's task)."""
    base_score: float | None = None
    """Initial prediction (default: 0.5 for logistic, 0 for squared error)."""
    frac_bits: int | None = Field(None, ge=8, le=precision.MAX_FRAC)
    """Fractional bits of the fixed-point values (default: chosen from n and the
    objective, 24 below 2^36 samples: `protocols.xorboost.precision`)."""
    mode: Literal["full", "cost_only"] = "full"
    """full computes every value; cost_only runs the same program on shapes, for exact
    costs of shapes too large to compute."""

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
    n: int
    cands: Candidates
    prec: precision.Precision
    task: str

    @property
    def cost_only(self) -> bool:
        return self.train is None


LABEL_BOUND = 8.0
"""Standardized regression labels must lie within +-LABEL_BOUND (the gradient bound
of `precision` assumes |margin - y| <= 16)."""


def _hyper(params: XorboostParams, task: str) -> Hyper:
    objective = params.objective or (
        "binary:logistic" if task == "binary" else "reg:squarederror")
    if (objective == "binary:logistic") != (task == "binary"):
        raise ValueError(f"objective {objective!r} does not fit a {task} data set")
    base = params.base_score if params.base_score is not None else (
        0.5 if objective == "binary:logistic" else 0.0)
    return Hyper(params.n_estimators, params.max_depth, params.learning_rate,
                 params.reg_lambda, params.gamma, params.min_child_weight, params.max_bin,
                 objective, base)


def _prepared(params: XorboostParams, train_ds: datamod.Dataset | None,
              test_ds: datamod.Dataset | None, n: int, categorical: list[bool],
              missing: list[bool], task: str) -> Prepared:
    hp = _hyper(params, task)
    split = datamod.split_owners(n, len(categorical), params.split, params.owners,
                                 params.fractions, params.row_groups)
    cands = Candidates(tuple(categorical), tuple(missing), params.max_bin)
    prec = precision.choose(n, hp.objective, hp.reg_lambda, params.frac_bits)
    return Prepared(train_ds, test_ds, split, hp, n, cands, prec, task)


def _shapes_only(params: XorboostParams) -> Prepared:
    """Cost-only: sizes of a generator's data without generating it (no missing values)."""
    n_test = int(round(params.n_samples * params.test_fraction))
    n = params.n_samples - n_test
    d = params.n_features
    categorical = [False] * d
    if params.dataset == "health":
        d = max(8, d)
        categorical = [j in (0, 2) for j in range(d)]
    task = "regression" if params.dataset == "synthetic_regression" else "binary"
    return _prepared(params, None, None, n, categorical, [False] * d, task)


def prepare(params: XorboostParams, seed: int) -> Prepared:
    if params.mode == "cost_only" and params.dataset in datamod.GENERATED:
        return _shapes_only(params)
    data_seed = seed if params.data_seed is None else params.data_seed
    ds = datamod.load(params.dataset, label=params.label, n_samples=params.n_samples,
                      n_features=params.n_features, seed=data_seed, nan=params.nan,
                      binary=params.binary)
    return prepare_data(params, ds, data_seed)


def prepare_data(params: XorboostParams, ds: datamod.Dataset, data_seed: int) -> Prepared:
    """`prepare` on a given data set (split into train and test with `data_seed`)."""
    if ds.task == "multiclass":
        raise ValueError(f"data {params.dataset!r} is multiclass: XORBoost here trains binary "
                         "or regression models (set binary = true)")
    train_ds, test_ds = datamod.train_test_split(ds, params.test_fraction, data_seed)
    if ds.task == "regression":
        mean, std = train_ds.y.mean(), train_ds.y.std() or 1.0
        train_ds = datamod.Dataset(train_ds.x, (train_ds.y - mean) / std, ds.names,
                                   ds.categorical, ds.task)
        test_ds = datamod.Dataset(test_ds.x, (test_ds.y - mean) / std, ds.names,
                                  ds.categorical, ds.task)
        worst = float(np.abs(train_ds.y).max())
        if worst > LABEL_BOUND:
            raise ValueError(f"data {params.dataset!r}: a standardized label is {worst:.1f} "
                             f"deviations from the mean; XORBoost's fixed point assumes at "
                             f"most {LABEL_BOUND:g}")
    for j in np.flatnonzero(ds.categorical):
        top = np.nanmax(train_ds.x[:, j]) + 1 if not np.isnan(train_ds.x[:, j]).all() else 1
        if top > params.max_bin:
            raise ValueError(f"categorical feature {ds.names[j]!r} has {int(top)} categories, "
                             f"more than max_bin={params.max_bin}")
    n = train_ds.x.shape[0]
    missing = [bool(m) for m in np.isnan(train_ds.x).any(axis=0)]
    categorical = [bool(c) for c in ds.categorical]
    if params.mode == "cost_only":
        return _prepared(params, None, None, n, categorical, missing, ds.task)
    return _prepared(params, train_ds, test_ds, n, categorical, missing, ds.task)


def column_owners(split: datamod.OwnerSplit, d: int) -> list[list[int]]:
    """For each column, the owners holding a piece of it (in owner order)."""
    holders: list[list[int]] = [[] for _ in range(d)]
    for part in split.parts:
        for c in part.cols:
            holders[c].append(part.owner)
    return holders


async def agree_cuts(party: Party, prep: Prepared) -> list[binning.Cuts]:
    """This owner's cut points for its columns (by column index): XGBoost's sketch of
    its rows of each column, exchanged with the column's other holders (one message
    per pair, fixed size) and merged in owner order (`binning`)."""
    part = prep.split.parts[party.id]
    hp, cat = prep.hp, prep.cands.categorical
    holders = column_owners(prep.split, prep.cands.d)
    if prep.cost_only:
        values = Ghost((part.rows.size, part.cols.size), np.float64)
        mine = {int(c): tuple(Ghost(*shape) for shape in
                              binning.message_shapes(hp.max_bin, cat[c])) for c in part.cols}
    else:
        values = prep.train.x[np.ix_(part.rows, part.cols)]
        mine = {int(c): binning.message(values[:, i], hp.max_bin, cat[c])
                for i, c in enumerate(part.cols)}
    partners = sorted({o for c in part.cols for o in holders[c] if o != party.id})
    for q in partners:
        await party.send(q, [mine[int(c)] for c in prep.split.parts[q].cols if c in mine])
    got = await party.recv_many(partners) if partners else {}
    received = {q: dict(zip([int(c) for c in prep.split.parts[q].cols if c in mine], items,
                            strict=True)) for q, items in got.items()}
    await party.work(ring=values.size * max(1, part.rows.size.bit_length()),  # sorting
                     call=100 * part.cols.size)  # a quantile sketch per column
    if prep.cost_only:
        return []
    return [binning.cuts([mine[int(c)] if o == party.id else received[o][int(c)]
                          for o in holders[c]], hp.max_bin, cat[c]) for c in part.cols]


@dataclass
class Inputs:
    """A computing party's view of the shared inputs (`share_inputs`)."""

    buckets: FixedOperand
    values: FixedOperand
    y: np.ndarray
    split_values: np.ndarray
    exists: np.ndarray | None


async def share_inputs(mpc: Mpc, prep: Prepared, cuts: list[binning.Cuts] | None) -> Inputs:
    """Owners mask and publish their blocks of the bucket indicators (n, d*B) and of
    the per-sample values (`Candidates.value_columns`), and share labels (n,) and
    each candidate's split value and "exists" flag (from a column's first holder):
    2 rounds, the bucket blocks, then all the rest at once (`Mpc.gather`; one round
    would do, but the owners would then mask every block before sending the first,
    which the paper's shape pays with 2 s more than the round saves)."""
    cands, n, B, me = prep.cands, prep.n, prep.hp.max_bin, mpc.party.id
    holders = column_owners(prep.split, cands.d)
    n_values = len(cands.value_columns)
    bucket_blocks, value_blocks, bucket_nnz, value_nnz = [], [], [], []
    local_buckets = local_values = None
    for part in prep.split.parts:
        rows = (int(part.rows[0]), int(part.rows[-1]) + 1)
        lo, hi = int(part.cols[0]), int(part.cols[-1]) + 1
        v0, v1 = cands.value_span(part.cols)
        bucket_blocks.append(Block(part.owner, rows, (lo * B, hi * B)))
        value_blocks.append(Block(part.owner, rows, (v0, v1)))
        bucket_nnz.append(part.rows.size * part.cols.size)
        value_nnz.append(part.rows.size * (v1 - v0))
        if part.owner == me and not prep.cost_only:
            x = prep.train.x[np.ix_(part.rows, part.cols)]
            idx = np.column_stack([binning.bucketize(x[:, i], cuts[i])
                                   for i in range(part.cols.size)])
            local_buckets = OneHotBlock(idx, B)
            local_values = ValueBlock(cands.values(idx, part.cols))
        if part.owner == me:  # bucketize (a binary search per value), then the values
            await mpc.party.work(ring=part.rows.size * (part.cols.size * (B.bit_length() + 1)
                                                        + v1 - v0), call=6 * part.cols.size)
    # the bucket blocks first, alone: the owners mask the other inputs while they travel
    buckets = await FixedOperand.share(mpc, (n, cands.d * B), bucket_blocks, bucket_nnz,
                                       local_buckets)
    y = mpc.zeros((n,))
    per_cand = mpc.zeros((2, cands.count))
    inputs, places = [], []
    for part in prep.split.parts:
        o, rows, mine = part.owner, part.rows, me == part.owner and not prep.cost_only
        if part.has_labels:
            label = encode(prep.train.y[rows].astype(np.float64), mpc.frac_bits) if mine else None
            inputs.append((o, label, (rows.size,)))
            places.append((y, np.s_[rows[0]:rows[-1] + 1]))
        first = [i for i, c in enumerate(part.cols) if holders[c][0] == o]
        if first:
            lo = cands.feature_span[int(part.cols[first[0]])][0]
            hi = cands.feature_span[int(part.cols[first[-1]])][1]
            value = None
            if mine:
                pairs = [cands.thresholds(int(part.cols[i]), cuts[i].values, cuts[i].min_value,
                                          cuts[i].present) for i in first]
                value = np.stack([encode_threshold_bits(np.concatenate([p[0] for p in pairs])),
                                  np.concatenate([p[1] for p in pairs]).astype(RING)])
            inputs.append((o, value, (2, hi - lo)))
            places.append((per_cand, np.s_[:, lo:hi]))
    # then every owner's value blocks, labels and split values in the same round
    values, shared = await mpc.gather(
        FixedOperand.share(mpc, (n, n_values), value_blocks, value_nnz, local_values),
        mpc.share_all(inputs))
    for (target, where), share in zip(places, shared, strict=True):
        target[where] = share
    split_values = np.concatenate([per_cand[0], mpc.zeros((1,))])
    has_exists = any(c and m for c, m in zip(cands.categorical, cands.missing, strict=True))
    return Inputs(buckets, values, y, split_values, per_cand[1] if has_exists else None)


def _flatten(res: dict[str, list[np.ndarray]]) -> np.ndarray:
    return np.concatenate([a.ravel() for k in ("selections", "thresholds", "leaves")
                           for a in res[k]])


def revealed_size(prep: Prepared) -> int:
    """Ring elements the analyst receives: per tree and level K*(C+1) + K, plus leaves."""
    hp, width = prep.hp, prep.cands.count + 1
    per_tree = sum((1 << lv) * (width + 1) for lv in range(hp.max_depth))
    return hp.n_estimators * (per_tree + (1 << hp.max_depth))


def decode_model(flat: np.ndarray, prep: Prepared) -> Model:
    """The analyst's `Model` from the opened vector (layout of `_flatten`)."""
    hp, width = prep.hp, prep.cands.count + 1
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
        leaves.append(decode(flat[pos:pos + (1 << hp.max_depth)], prep.prec.frac))
        pos += 1 << hp.max_depth
    return Model.from_revealed(sels, thrs, leaves, prep.cands, hp.objective, hp.base_score)


def make_program(prep: Prepared, lay: Layout):
    """Every party's coroutine (the same program, role-dependent inside)."""
    frac = prep.prec.frac

    async def program(party: Party) -> Any:
        me = party.id
        mpc = (GhostMpc if prep.cost_only else Mpc)(party, lay.players, lay.dealer, frac)
        if me == lay.analyst:
            with party.phase("reveal"):
                flat = await mpc.reveal(mpc.zeros((revealed_size(prep),)), to=lay.analyst)
            return None if prep.cost_only else decode_model(flat, prep)
        cuts = None
        if me in lay.owners:
            with party.phase("binning"):
                cuts = await agree_cuts(party, prep)
        with party.phase("input"):
            inputs = await share_inputs(mpc, prep, cuts)
        if me not in lay.players and me != lay.dealer:
            return None
        res = await train(mpc, inputs.buckets, inputs.values, inputs.y, inputs.split_values,
                          inputs.exists, prep.cands, prep.hp, prep.prec)
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
            "base_score": hp.base_score, "max_cat_to_onehot": hp.max_bin + 1, "nthread": 1}


def dmatrix(ds: datamod.Dataset, label: bool = True):
    import xgboost as xgb

    types = ["c" if c else "q" for c in ds.categorical]
    return xgb.DMatrix(ds.x, label=ds.y if label else None, feature_types=types,
                       enable_categorical=bool(ds.categorical.any()))


def baseline(prep: Prepared):
    """Plaintext xgboost on the pooled training data, same hyper-parameters."""
    import xgboost as xgb

    return xgb.train(xgboost_params(prep.hp), dmatrix(prep.train), prep.hp.n_estimators)


def row_groups(split: datamod.OwnerSplit) -> list[np.ndarray]:
    """The training rows of each row group, in group order: one block per owner of a
    horizontal split, one per row group of a mixed split, all rows for a vertical one.
    A column's holders are one owner per row group, in this order (`agree_cuts`)."""
    blocks: dict[int, np.ndarray] = {}
    for part in split.parts:
        blocks.setdefault(part.group, part.rows)
    return [blocks[g] for g in sorted(blocks)]


def on_local_tracker(n_workers: int, task: Callable[[int], Any]) -> list[Any]:
    """`task(rank)` for each rank, each in its own thread inside xgboost.collective with
    a local tracker (XGBoost's distributed training on one machine); the results by rank."""
    import threading

    from xgboost import collective
    from xgboost.tracker import RabitTracker

    tracker = RabitTracker(host_ip="127.0.0.1", n_workers=n_workers, sortby="task")
    tracker.start()
    out: dict[int, Any] = {}

    def work(rank: int) -> None:
        with collective.CommunicatorContext(**tracker.worker_args(), dmlc_task_id=str(rank)):
            out[rank] = task(rank)

    threads = [threading.Thread(target=work, args=(r,)) for r in range(n_workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tracker.wait_for()
    return [out[r] for r in range(n_workers)]


def distributed_baseline(prep: Prepared) -> bytes:
    """XGBoost's own distributed training on the row groups (XGBoost JSON), one worker
    per row group (`row_groups`, `on_local_tracker`); the baseline of horizontal and
    mixed splits, whose cut points come from the row groups' merged sketches. A
    vertical split is one group: single-machine xgboost."""
    import xgboost as xgb

    params = xgboost_params(prep.hp)
    types = ["c" if c else "q" for c in prep.train.categorical]
    parts = [(prep.train.x[rows], prep.train.y[rows]) for rows in row_groups(prep.split)]

    def train(rank: int) -> bytes:
        x, y = parts[rank]
        dm = xgb.QuantileDMatrix(x, y, max_bin=params["max_bin"], nthread=1,
                                 feature_types=types,
                                 enable_categorical=bool(prep.train.categorical.any()))
        return xgb.train(params, dm, prep.hp.n_estimators).save_raw("json")

    return on_local_tracker(len(parts), train)[0]


def versus_distributed(prep: Prepared, model: Model) -> tuple[list[str | None], dict[str, float]]:
    """The secure `model` against XGBoost's distributed training on the same row groups
    (`distributed_baseline`): per tree its first difference (None: the same split for
    split, leaves within 1e-5; `compare_trees`), and the distributed model's `metrics`
    on the test set."""
    import xgboost as xgb

    raw = distributed_baseline(prep)
    diffs = compare_trees(model.to_xgboost_json(), raw, prep.train.x, 1e-5)
    pred = xgb.Booster(model_file=bytearray(raw)).predict(dmatrix(prep.test, label=False))
    return diffs, metrics(prep.task, prep.test.y, pred)


def metrics(task: str, y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    if task == "binary":
        auc = float(roc_auc_score(y, pred)) if len(np.unique(y)) == 2 else float("nan")
        return {"auc": auc, "accuracy": float(np.mean((pred > 0.5) == y))}
    return {"rmse": float(np.sqrt(np.mean((pred - y) ** 2)))}


def plan(params: XorboostParams, seed: int, prep: Prepared | None = None) -> Plan:
    """The run's plan; `prep` (from `prepare_data`) replaces the scenario's data."""
    prep = prepare(params, seed) if prep is None else prep
    lay = layout(params)
    program = make_program(prep, lay)

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
        reveals=public_facts(prep) + [f"owners: {learned(prep)['owners']}"],
        hub=lay.players[0],
        outputs=[lay.analyst],
    )


def public_facts(prep: Prepared) -> list[str]:
    hp, cands = prep.hp, prep.cands
    missing = [j for j, m in enumerate(cands.missing) if m]
    return [
        f"samples n={prep.n}, features d={cands.d} and which are categorical",
        f"which features may have missing values: {missing if missing else 'none'} "
        f"({cands.count} split candidates per node)",
        f"n_estimators={hp.n_estimators}, max_depth={hp.max_depth}, max_bin={hp.max_bin}, "
        "the other hyper-parameters",
        f"the fixed-point precision: {prep.prec.frac} fractional bits",
        "the owner split layout (who holds which rows and columns)",
        "the model (split features, thresholds, missing-value directions, leaf values), "
        "to the analyst only",
    ]


def learned(prep: Prepared) -> dict[str, str]:
    """What each party learns, beyond the public facts."""
    shared = any(len(h) > 1 for h in column_owners(prep.split, prep.cands.d))
    owners = ("each co-holder of a column learns the others' XGBoost sketches of their rows "
              "of it (at most 8*max_bin values with rank bounds, and how many values they "
              "summarize; for a categorical column, the codes held) and the agreed cuts, "
              "XGBoost's own on that row partition"
              if shared else "nothing: each owner bins its own columns alone (XGBoost's cuts)")
    return {
        "owners": owners,
        "computing parties": "uniformly random values only: shares, masked openings, the "
                             "owners' masked blocks Y_o - A_o (nothing opened is unmasked)",
        "dealer": "nothing (it sends, never receives a share or a masked block)",
        "analyst": "the trees: split features, thresholds and missing-value directions of "
                   "the used splits, leaf values",
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
