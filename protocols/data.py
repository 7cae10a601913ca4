"""Training data for the protocols: data sets, a train/test split, and owner splits.

Sources (`load`):

* bundled scikit-learn data sets: ``breast_cancer`` (binary), ``diabetes``
  (regression), ``wine``, ``iris`` and ``digits`` (multiclass; ``binary=True``
  keeps class 0 against the rest);
* generators: ``synthetic`` (`sklearn.datasets.make_classification`),
  ``synthetic_regression`` (`make_regression`) and ``health``, a
  health-records-like table with diagnostic, epidemiologic and laboratory
  features, numerical and categorical, shaped after the multiple-sclerosis
  example of the source article;
* a ``.csv`` or ``.parquet`` path with a named label column (other columns are
  features; string columns become categorical codes).

Missing values (NaN) in features follow ``nan``: ``"keep"`` (default) leaves them
as NaN for XGBoost's missing-value handling, ``"drop"`` removes the rows that
have any, ``"error"`` raises. A missing label is always an error.

`train_test_split` holds out a test part; `standardize` scales features by the
training part's statistics.

Owner splits (`split_owners`) say which rows and columns each data owner holds:
``horizontal`` (rows), ``vertical`` (columns; owner 0 also holds the labels) and
``mixed`` (rows cut into row groups, each group's columns cut among its
owners; the first owner of each group holds that group's labels).

scikit-learn and pandas are imported inside the functions that need them, so
that importing this module stays cheap (TCP party processes import it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

Task = Literal["binary", "multiclass", "regression"]
SplitKind = Literal["horizontal", "vertical", "mixed"]
NanPolicy = Literal["keep", "drop", "error"]
BUNDLED = ("breast_cancer", "diabetes", "wine", "iris", "digits")
GENERATED = ("synthetic", "synthetic_regression", "health")
GENERATED_ROWS = 500
"""Rows a generator gives unless asked for another number."""
SHAPES = {"breast_cancer": (569, 30, 2), "diabetes": (442, 10, 0), "wine": (178, 13, 3),
          "iris": (150, 4, 3), "digits": (1797, 64, 10)}
"""Rows, features and classes (0: regression) of each bundled set, known without loading it
(for memory estimates)."""


def shape(source: str, samples: int, features: int) -> tuple[int, int]:
    """Rows and features of a data set without loading it: a bundled set's own (`SHAPES`),
    whatever `samples` and `features` say; otherwise `samples` x `features`."""
    rows, cols, _ = SHAPES.get(source, (samples, features, 0))
    return rows, cols


@dataclass(frozen=True)
class TrainTest:
    """Training and held-out arrays, as the learning protocols use them."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def features(self) -> int:
        return self.x_train.shape[1]

    @property
    def classes(self) -> int:
        """Class count of integer labels 0..k-1."""
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    def shard(self, worker: int, workers: int) -> tuple[np.ndarray, np.ndarray]:
        """Worker `worker`'s contiguous share of the training rows (``len // workers``
        rows each; the tail is unused)."""
        size = len(self.y_train) // workers
        part = slice(worker * size, (worker + 1) * size)
        return self.x_train[part], self.y_train[part]


@dataclass(frozen=True)
class Dataset:
    """A feature matrix with labels.

    Attributes:
        x: float64 features (n, d), NaN where a value is missing.
        y: labels (n,): 0/1 for binary, class ids for multiclass, floats for regression.
        names: one name per feature.
        categorical: bool mask (d,): the feature holds category codes 0..k-1.
        task: what `y` is.
    """

    x: np.ndarray
    y: np.ndarray
    names: tuple[str, ...]
    categorical: np.ndarray
    task: Task

    @property
    def shape(self) -> tuple[int, int]:
        return self.x.shape

    def take(self, rows: np.ndarray) -> Dataset:
        return Dataset(self.x[rows], self.y[rows], self.names, self.categorical, self.task)


def load(
    source: str,
    *,
    label: str | None = None,
    n_samples: int = GENERATED_ROWS,
    n_features: int = 10,
    seed: int = 0,
    nan: NanPolicy = "keep",
    binary: bool = False,
    generator_options: Mapping[str, Any] | None = None,
) -> Dataset:
    """Load `source` (a bundled name, a generator name, or a CSV/Parquet path).

    `n_samples`, `n_features` and `seed` apply to generators; `label` names the
    label column of a file; `binary` turns a multiclass set into class 0 vs rest.
    `generator_options` are keyword arguments for scikit-learn's generator
    (``synthetic``, ``synthetic_regression``) that override ours, e.g.
    ``{"n_informative": 5, "flip_y": 0.02}``.
    """
    if generator_options and source not in ("synthetic", "synthetic_regression"):
        raise ValueError(f"generator_options apply to scikit-learn generators, not {source!r}")
    if source in BUNDLED:
        ds = _bundled(source)
    elif source in GENERATED:
        if n_samples < 2 or n_features < 1:
            raise ValueError(f"generator {source!r} needs n_samples >= 2 and n_features >= 1, "
                             f"got {n_samples} and {n_features}")
        ds = _generated(source, n_samples, n_features, seed, dict(generator_options or {}))
    elif Path(source).suffix.lower() in (".csv", ".parquet"):
        ds = _from_file(Path(source), label)
    else:
        raise ValueError(
            f"unknown data source {source!r}: expected one of {BUNDLED + GENERATED} "
            "or a .csv/.parquet path"
        )
    if binary and ds.task == "multiclass":
        ds = Dataset(ds.x, (ds.y != 0).astype(np.int64), ds.names, ds.categorical, "binary")
    return _apply_nan(ds, nan, source)


def _bundled(name: str) -> Dataset:
    from sklearn import datasets as skd

    loader = {"breast_cancer": skd.load_breast_cancer, "diabetes": skd.load_diabetes,
              "wine": skd.load_wine, "iris": skd.load_iris, "digits": skd.load_digits}[name]
    bunch = loader()
    x = np.asarray(bunch.data, dtype=np.float64)
    if name == "diabetes":
        y, task = np.asarray(bunch.target, dtype=np.float64), "regression"
    else:
        y = np.asarray(bunch.target, dtype=np.int64)
        task = "binary" if name == "breast_cancer" else "multiclass"
    names = tuple(str(n) for n in bunch.feature_names)
    return Dataset(x, y, names, np.zeros(x.shape[1], dtype=bool), task)


def _generated(name: str, n: int, d: int, seed: int, options: dict[str, Any]) -> Dataset:
    if name == "health":
        return health_records(n, seed, extra_labs=max(0, d - 8))
    from sklearn import datasets as skd

    if name == "synthetic":
        informative = max(1, min(d, (d * 3 + 3) // 4))
        kwargs = {"n_informative": informative, "n_redundant": d - informative} | options
        x, y = skd.make_classification(n_samples=n, n_features=d, random_state=seed, **kwargs)
        y = y.astype(np.int64)
        task = "binary" if y.max() <= 1 else "multiclass"  # options may set n_classes
    else:
        kwargs = {"noise": 10.0} | options
        x, y = skd.make_regression(n_samples=n, n_features=d, random_state=seed, **kwargs)
        task = "regression"
    names = tuple(f"f{i}" for i in range(d))
    return Dataset(x.astype(np.float64), y, names, np.zeros(d, dtype=bool), task)


def health_records(n: int, seed: int, extra_labs: int = 0) -> Dataset:
    """A synthetic electronic-health-records table with a binary diagnosis label.

    Features, after the source article's multiple-sclerosis model: diagnostic
    (``other_neuro_disease``, categorical 0..3: none, ADEM, optic neuritis,
    other), epidemiologic (``age``, ``sex`` categorical 0/1, ``visits``),
    laboratory (``hyperlipidemia``, ``hyperglycemia`` as 0/1 flags,
    ``cholesterol``, ``glucose``) and `extra_labs` more noisy lab values. The
    label follows a logistic model of these features, so a tree model can learn it.
    """
    rng = np.random.default_rng([seed, 0x4EA1])
    other = rng.choice(4, size=n, p=[0.7, 0.1, 0.12, 0.08])
    age = np.clip(rng.normal(40, 13, n), 16, 90).round()
    sex = rng.integers(0, 2, n)
    visits = rng.poisson(4 + 3 * (other > 0), n).astype(np.float64)
    chol = rng.normal(200, 35, n).round()
    gluc = rng.normal(100, 20, n).round()
    hyperlip = (chol > 240).astype(np.float64)
    hypergly = (gluc > 125).astype(np.float64)
    labs = rng.normal(0, 1, (n, extra_labs))
    logit = (-2.5 + 1.6 * (other == 1) + 1.2 * (other == 2) + 0.3 * (other == 3)
             + 0.6 * sex - 0.03 * np.abs(age - 32) + 0.12 * visits
             + 0.5 * hyperlip + 0.4 * hypergly
             + (labs[:, :2].sum(axis=1) * 0.5 if extra_labs else 0.0))
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    x = np.column_stack([other, age, sex, visits, hyperlip, hypergly, chol, gluc, labs])
    names = ("other_neuro_disease", "age", "sex", "visits", "hyperlipidemia",
             "hyperglycemia", "cholesterol", "glucose") + tuple(
                 f"lab{i}" for i in range(extra_labs))
    categorical = np.zeros(x.shape[1], dtype=bool)
    categorical[[0, 2]] = True
    return Dataset(x.astype(np.float64), y, names, categorical, "binary")


def _read_table(path: Path) -> Any:
    """The file as a DataFrame; a file that is not a table is one error naming it (and no
    piece of its content)."""
    import pandas as pd

    if not path.is_file():
        raise FileNotFoundError(f"data file {str(path)!r} does not exist")
    parquet = path.suffix.lower() == ".parquet"
    try:
        frame = pd.read_parquet(path) if parquet else pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: the file is empty; expected a table with a header row") \
            from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:  # also UnicodeDecodeError
        kind = "Parquet" if parquet else "CSV (UTF-8, comma-separated)"
        raise ValueError(f"{path}: not a {kind} file ({type(exc).__name__})") from None
    if len(frame) == 0:
        raise ValueError(f"{path}: the table has no rows")
    return frame


def _from_file(path: Path, label: str | None) -> Dataset:
    import pandas as pd

    frame = _read_table(path)
    if label is None:
        raise ValueError(f"{path}: name the label column (label = ...)")
    if label not in frame.columns:
        shown = [str(c)[:20] for c in frame.columns[:8]]
        raise ValueError(f"{path}: no label column {label!r}; columns are {shown}"
                         + (f" and {len(frame.columns) - 8} more" if len(frame.columns) > 8
                            else ""))
    target = frame.pop(label)
    if target.isna().any():
        raise ValueError(f"{path}: label column {label!r} has missing values")
    categorical = []
    for col in frame.columns:
        is_cat = not pd.api.types.is_numeric_dtype(frame[col])
        if is_cat:
            codes = frame[col].astype("category").cat.codes.astype(np.float64)
            frame[col] = codes.where(codes >= 0, np.nan)
        categorical.append(is_cat)
    if pd.api.types.is_numeric_dtype(target) and target.nunique() > 2 and (
            pd.api.types.is_float_dtype(target)):
        y, task = target.to_numpy(np.float64), "regression"
    else:
        codes = target.astype("category").cat.codes.to_numpy(np.int64)
        y, task = codes, ("binary" if codes.max() <= 1 else "multiclass")
        if codes.max() < 1:
            raise ValueError(f"{path}: label column {label!r} has one class "
                             f"({str(target.iloc[0])[:20]!r}); a classifier needs two or more")
    x = frame.to_numpy(np.float64)
    for values, name in ((x, None), (y.astype(np.float64), label)):
        bad = np.isinf(values)
        if bad.any():
            row, col = (np.argwhere(bad)[0].tolist() + [0])[:2]
            column = name if name is not None else str(frame.columns[col])
            raise ValueError(f"{path}: column {column[:20]!r} holds an infinite value (data row "
                             f"{row + 1}); expected finite numbers or empty cells")
    return Dataset(x, y, tuple(map(str, frame.columns)), np.array(categorical, dtype=bool), task)


def _apply_nan(ds: Dataset, policy: NanPolicy, source: str) -> Dataset:
    missing = np.isnan(ds.x)
    if not missing.any() or policy == "keep":
        return ds
    if policy == "error":
        rows, cols = np.nonzero(missing)
        raise ValueError(
            f"{source}: {missing.sum()} missing values (first at row {rows[0]}, feature "
            f"{ds.names[cols[0]]!r}); use nan='keep' or nan='drop'"
        )
    if policy == "drop":
        return ds.take(~missing.any(axis=1))
    raise ValueError(f"nan policy must be 'keep', 'drop' or 'error', got {policy!r}")


def train_test_split(
    ds: Dataset, test_fraction: float, seed: int, *, shuffled: bool = False, stream: int = 0x5B17,
) -> tuple[Dataset, Dataset]:
    """A deterministic shuffled split (same seed => same rows); both parts non-empty.

    The rows are permuted with ``default_rng([seed, stream])``. By default the
    test part is the permutation's first ``round(n * test_fraction)`` rows and
    each part keeps the original row order. With `shuffled` the training part is
    the permutation's first rows and the test part its last, both left in
    permuted order (as the federated protocols load their data).
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    n = len(ds.y)
    n_test = int(round(n * test_fraction))
    if n_test < 1 or n_test >= n:
        raise ValueError(f"{n} rows cannot be split with test_fraction={test_fraction}")
    order = np.random.default_rng([seed, stream]).permutation(n)
    if shuffled:
        return ds.take(order[:n - n_test]), ds.take(order[n - n_test:])
    return ds.take(np.sort(order[n_test:])), ds.take(np.sort(order[:n_test]))


def standardize(train: Dataset, test: Dataset) -> tuple[Dataset, Dataset]:
    """Both parts' features scaled to the training part's zero mean and unit variance.

    Only the training part's statistics are used, so nothing about the test rows
    leaks into training; 1e-9 is added to each standard deviation so that a
    constant feature maps to 0 instead of NaN.
    """
    mean, std = train.x.mean(axis=0), train.x.std(axis=0) + 1e-9

    def scaled(ds: Dataset) -> Dataset:
        return Dataset((ds.x - mean) / std, ds.y, ds.names, ds.categorical, ds.task)

    return scaled(train), scaled(test)


@dataclass(frozen=True)
class OwnerPart:
    """What one data owner holds: a block of rows and columns, maybe with labels."""

    owner: int
    rows: np.ndarray
    cols: np.ndarray
    has_labels: bool
    group: int = 0


@dataclass(frozen=True)
class OwnerSplit:
    """How a training set is divided among `owners` data owners."""

    kind: SplitKind
    owners: int
    parts: list[OwnerPart] = field(repr=False)

    def describe(self) -> dict:
        """The report's ``split`` key."""
        return {
            "kind": self.kind,
            "owners": self.owners,
            "parts": [{"owner": p.owner, "rows": int(p.rows.size), "cols": int(p.cols.size),
                       "labels": p.has_labels} for p in self.parts],
        }


def portions(total: int, k: int, fractions: list[float] | None, what: str) -> np.ndarray:
    """Sizes of `k` contiguous blocks of `total` items: even, or by `fractions`.

    Fractions must be positive and sum to 1 (within 1e-6); sizes are rounded by
    largest remainder, and every block must get at least one item.
    """
    if k < 1:
        raise ValueError(f"need at least one block of {what}, got {k}")
    if k > total:
        raise ValueError(
            f"cannot give {total} {what} to {k} owners/groups: more owners than {what}"
        )
    if fractions is None:
        sizes = np.full(k, total // k)
        sizes[: total % k] += 1
        return sizes
    frac = np.asarray(fractions, dtype=np.float64)
    if frac.shape != (k,):
        raise ValueError(f"expected {k} fractions of {what}, got {len(frac)}")
    if not np.all(np.isfinite(frac)) or np.any(frac <= 0) or abs(frac.sum() - 1) > 1e-6:
        raise ValueError(f"fractions of {what} must be positive and sum to 1, got {fractions}")
    raw = frac * total
    sizes = np.floor(raw).astype(np.int64)
    extra = total - sizes.sum()
    sizes[np.argsort(-(raw - sizes), kind="stable")[:extra]] += 1
    if np.any(sizes == 0):
        raise ValueError(f"fractions {fractions} leave an owner with no {what} (of {total})")
    return sizes


def _blocks(sizes: np.ndarray) -> list[np.ndarray]:
    edges = np.concatenate([[0], np.cumsum(sizes)])
    return [np.arange(edges[i], edges[i + 1]) for i in range(len(sizes))]


def split_owners(
    n_rows: int,
    n_cols: int,
    kind: SplitKind,
    owners: int,
    fractions: list[float] | None = None,
    row_groups: int = 2,
) -> OwnerSplit:
    """Assign rows and columns of an (n_rows, n_cols) training set to `owners` owners.

    `fractions` give uneven shares along the split's axis: rows per owner
    (horizontal), columns per owner (vertical), rows per row group (mixed).
    Mixed needs at least ``row_groups + 1`` owners so that some group is also
    split by columns; owners are spread over the groups as evenly as possible.
    """
    if owners < 1:
        raise ValueError(f"owners must be >= 1, got {owners}")
    if kind == "horizontal":
        rows = _blocks(portions(n_rows, owners, fractions, "rows"))
        cols = np.arange(n_cols)
        parts = [OwnerPart(i, r, cols, True, group=i) for i, r in enumerate(rows)]
    elif kind == "vertical":
        cols = _blocks(portions(n_cols, owners, fractions, "columns"))
        rows = np.arange(n_rows)
        parts = [OwnerPart(i, rows, c, i == 0) for i, c in enumerate(cols)]
    elif kind == "mixed":
        if row_groups < 2 or owners < row_groups + 1:
            raise ValueError(
                f"a mixed split needs row_groups >= 2 and owners >= row_groups + 1, "
                f"got owners={owners}, row_groups={row_groups}"
            )
        groups = _blocks(portions(n_rows, row_groups, fractions, "rows"))
        per_group = portions(owners, row_groups, None, "owners")
        parts, owner = [], 0
        for g, rows in enumerate(groups):
            for j, cols in enumerate(_blocks(portions(n_cols, per_group[g], None,
                                                      "columns"))):
                parts.append(OwnerPart(owner, rows, cols, j == 0, group=g))
                owner += 1
    else:
        raise ValueError(f"split kind must be horizontal, vertical or mixed, got {kind!r}")
    return OwnerSplit(kind, owners, parts)
