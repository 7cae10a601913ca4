"""Data sets, the train/test split and owner splits (protocols.data)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols import data


@pytest.mark.parametrize(("name", "task"), [
    ("breast_cancer", "binary"), ("diabetes", "regression"), ("wine", "multiclass"),
    ("iris", "multiclass"), ("digits", "multiclass"),
])
def test_bundled(name, task):
    ds = data.load(name)
    assert ds.task == task
    assert ds.x.shape[0] == ds.y.shape[0] and ds.x.shape[1] == len(ds.names)
    assert not np.isnan(ds.x).any()


def test_binary_from_multiclass():
    ds = data.load("wine", binary=True)
    assert ds.task == "binary" and set(np.unique(ds.y)) == {0, 1}


@pytest.mark.parametrize("name", ["synthetic", "synthetic_regression", "health"])
def test_generators_deterministic(name):
    a = data.load(name, n_samples=120, n_features=9, seed=3)
    b = data.load(name, n_samples=120, n_features=9, seed=3)
    c = data.load(name, n_samples=120, n_features=9, seed=4)
    assert a.x.shape == (120, 9)
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x, c.x)


def test_generator_options_override_the_defaults():
    base = data.load("synthetic", n_samples=300, n_features=6, seed=1)
    same = data.load("synthetic", n_samples=300, n_features=6, seed=1,
                     generator_options={"n_informative": 5, "n_redundant": 1})
    np.testing.assert_array_equal(base.x, same.x)  # our defaults for d=6 are 5 and 1
    three = data.load("synthetic", n_samples=300, n_features=6, seed=1,
                      generator_options={"n_classes": 3})
    assert three.task == "multiclass" and set(np.unique(three.y)) == {0, 1, 2}
    quiet = data.load("synthetic_regression", n_samples=50, n_features=3, seed=1,
                      generator_options={"noise": 0.0})
    assert not np.array_equal(quiet.y, data.load("synthetic_regression", n_samples=50,
                                                 n_features=3, seed=1).y)
    for source in ("breast_cancer", "health"):
        with pytest.raises(ValueError, match="generator_options"):
            data.load(source, generator_options={"flip_y": 0.1})


def test_import_is_lazy():
    """TCP party processes import this module: it must not pull in sklearn or pandas."""
    code = "import sys, protocols.data; print('sklearn' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parent.parent)
    assert out.stdout.split() == ["False", "False"]


def test_health_records_mix_categorical_and_numerical():
    ds = data.health_records(400, seed=1, extra_labs=2)
    assert ds.categorical.any() and not ds.categorical.all()
    for j in np.flatnonzero(ds.categorical):
        codes = ds.x[:, j]
        np.testing.assert_array_equal(codes, codes.round())
        assert codes.min() >= 0
    assert 0.05 < ds.y.mean() < 0.95  # both classes present


def test_csv_and_parquet(tmp_path):
    frame = pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0], "color": ["r", "g", "r", "b"],
                          "y": [0, 1, 1, 0]})
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet")
    for path in ("d.csv", "d.parquet"):
        ds = data.load(str(tmp_path / path), label="y")
        assert ds.names == ("a", "color") and ds.task == "binary"
        np.testing.assert_array_equal(ds.categorical, [False, True])
        assert np.isnan(ds.x[2, 0])  # kept as missing (nan="keep")
        assert data.load(str(tmp_path / path), label="y", nan="drop").x.shape == (3, 2)
        with pytest.raises(ValueError, match="missing values"):
            data.load(str(tmp_path / path), label="y", nan="error")
        with pytest.raises(ValueError, match="no label column 'z'"):
            data.load(str(tmp_path / path), label="z")


def test_bad_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.load(str(tmp_path / "nope.csv"), label="y")
    with pytest.raises(ValueError, match="unknown data source"):
        data.load("mnist")
    pd.DataFrame({"a": [1.0, 2.0], "y": [1.0, np.nan]}).to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(ValueError, match="label column 'y' has missing"):
        data.load(str(tmp_path / "m.csv"), label="y")


def test_train_test_split_deterministic_and_disjoint():
    ds = data.load("breast_cancer")
    tr, te = data.train_test_split(ds, 0.25, seed=5)
    tr2, _ = data.train_test_split(ds, 0.25, seed=5)
    np.testing.assert_array_equal(tr.x, tr2.x)
    assert len(tr.y) + len(te.y) == len(ds.y) and len(te.y) == round(0.25 * len(ds.y))
    rows = {tuple(r) for r in tr.x}
    assert not any(tuple(r) in rows for r in te.x)
    with pytest.raises(ValueError):
        data.train_test_split(ds, 1.5, seed=0)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 60), frac=st.floats(0.05, 0.95), seed=st.integers(0, 2**32))
def test_shuffled_split_keeps_the_permutation(n, frac, seed):
    ds = data.Dataset(np.arange(n, dtype=np.float64)[:, None], np.arange(n), ("f",),
                      np.zeros(1, dtype=bool), "regression")
    n_test = int(round(n * frac))
    if not 1 <= n_test < n:
        return
    order = np.random.default_rng([seed, 21]).permutation(n)
    train, test = data.train_test_split(ds, frac, seed, shuffled=True, stream=21)
    np.testing.assert_array_equal(np.concatenate([train.y, test.y]), order)
    assert len(test.y) == n_test
    plain_train, plain_test = data.train_test_split(ds, frac, seed)
    assert set(plain_test.y) == set(np.random.default_rng([seed, 0x5B17]).permutation(n)[:n_test])
    assert np.all(np.diff(plain_train.y) > 0) and np.all(np.diff(plain_test.y) > 0)


def test_standardize_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    x = rng.normal(5, 3, (40, 4))
    x[:, 3] = 7.0  # constant: scaled to 0, not NaN
    ds = data.Dataset(x, np.zeros(40, dtype=np.int64), tuple("abcd"), np.zeros(4, dtype=bool),
                      "binary")
    train, test = ds.take(np.arange(30)), ds.take(np.arange(30, 40))
    s_train, s_test = data.standardize(train, test)
    np.testing.assert_allclose(s_train.x[:, :3].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(s_train.x[:, :3].std(axis=0), 1, rtol=1e-9)
    assert not s_train.x[:, 3].any() and not s_test.x[:, 3].any()
    mean, std = x[:30].mean(axis=0), x[:30].std(axis=0) + 1e-9
    np.testing.assert_array_equal(s_test.x, (x[30:] - mean) / std)
    moved = data.Dataset(test.x + 100, test.y, test.names, test.categorical, test.task)
    np.testing.assert_array_equal(data.standardize(train, moved)[0].x, s_train.x)


def _cover(split, n_rows, n_cols):
    """Every (row, col) cell is held by exactly one owner; every row's label by one."""
    cells = np.zeros((n_rows, n_cols), dtype=int)
    labels = np.zeros(n_rows, dtype=int)
    for p in split.parts:
        cells[np.ix_(p.rows, p.cols)] += 1
        if p.has_labels:
            labels[p.rows] += 1
    return cells, labels


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(["horizontal", "vertical", "mixed"]), owners=st.integers(1, 6),
       n_rows=st.integers(1, 30), n_cols=st.integers(1, 12))
def test_split_partitions_cells(kind, owners, n_rows, n_cols):
    try:
        split = data.split_owners(n_rows, n_cols, kind, owners)
    except ValueError as exc:
        assert "owners" in str(exc)
        return
    cells, labels = _cover(split, n_rows, n_cols)
    assert (cells == 1).all() and (labels == 1).all()
    assert sorted(p.owner for p in split.parts) == list(range(owners))
    assert all(p.rows.size and p.cols.size for p in split.parts)


def test_split_kinds_shape():
    h = data.split_owners(10, 4, "horizontal", 3)
    assert [p.rows.size for p in h.parts] == [4, 3, 3] and all(p.has_labels for p in h.parts)
    v = data.split_owners(10, 5, "vertical", 2, fractions=[0.4, 0.6])
    assert [p.cols.size for p in v.parts] == [2, 3]
    assert [p.has_labels for p in v.parts] == [True, False]
    m = data.split_owners(10, 4, "mixed", 5)
    assert [p.group for p in m.parts] == [0, 0, 0, 1, 1]
    assert m.describe()["kind"] == "mixed" and m.describe()["owners"] == 5


@pytest.mark.parametrize(("args", "match"), [
    ((3, 4, "horizontal", 4), "more owners than rows"),
    ((10, 2, "vertical", 3), "more owners than columns"),
    ((10, 4, "mixed", 2), "mixed split needs"),
    ((10, 4, "diagonal", 2), "split kind"),
])
def test_split_errors(args, match):
    with pytest.raises(ValueError, match=match):
        data.split_owners(*args)


@pytest.mark.parametrize("fractions", [[0.5, 0.6], [1.0], [0.0, 1.0], [0.99, 0.01]])
def test_bad_fractions(fractions):
    with pytest.raises(ValueError, match="fractions"):
        data.split_owners(20, 3, "horizontal", 2, fractions=fractions)
