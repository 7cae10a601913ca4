"""Training data: scikit-learn's bundled digits or its synthetic generator (no downloads).

Rows are shuffled with the run's seed, features standardised on the training
part, and the training rows cut into equal contiguous shards, one per worker.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits, make_classification

from protocols.data import TrainTest
from protocols.parallel.model import DTYPE

Data = TrainTest


def load(
    dataset: str, train: int, test: int, features: int, classes: int, seed: int
) -> Data:
    """`train` + `test` rows of ``digits`` (at most 1797 in all) or ``synthetic``."""
    if dataset == "digits":
        x, y = load_digits(return_X_y=True)
        if train + test > len(y):
            raise ValueError(f"digits has {len(y)} rows; asked for {train} + {test}")
    else:
        x, y = make_classification(
            n_samples=train + test, n_features=features, n_informative=features * 3 // 4,
            n_redundant=0, n_classes=classes, n_clusters_per_class=2, class_sep=1.5,
            flip_y=0.0, random_state=seed,
        )
    order = np.random.default_rng([seed, 1]).permutation(len(y))[: train + test]
    x, y = x[order], y[order].astype(np.int64)
    mean, std = x[:train].mean(axis=0), x[:train].std(axis=0) + 1e-8
    x = ((x - mean) / std).astype(DTYPE)
    return Data(x[:train], y[:train], x[train:], y[train:])
