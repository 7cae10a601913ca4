"""Data for the federated protocols: scikit-learn's bundled sets and generators (no downloads).

Rows are shuffled with the seed, a test part held out, features standardised
with the training part's statistics (public preprocessing, as when the owners
agree on a schema). Horizontal shards are IID (a random equal split) or skewed
by label (each client's class proportions drawn from a Dirichlet(alpha), the
usual non-IID benchmark of Hsu et al. 2019).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, make_classification

Source = Literal["breast_cancer", "digits", "synthetic"]


@dataclass(frozen=True)
class Data:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1


@lru_cache(maxsize=8)
def load(source: Source, seed: int, samples: int = 20_000, features: int = 20,
         test_fraction: float = 0.25) -> Data:
    """The data set, shuffled and split with `seed` (`samples`/`features` for synthetic)."""
    if source == "breast_cancer":
        x, y = load_breast_cancer(return_X_y=True)
    elif source == "digits":
        x, y = load_digits(return_X_y=True)
    else:
        x, y = make_classification(n_samples=samples, n_features=features,
                                   n_informative=features // 2, n_redundant=features // 4,
                                   class_sep=1.0, flip_y=0.02, random_state=seed)
    order = np.random.default_rng([seed, 21]).permutation(len(y))
    x, y = x[order].astype(np.float64), y[order].astype(np.int64)
    cut = len(y) - int(round(test_fraction * len(y)))
    mean, std = x[:cut].mean(axis=0), x[:cut].std(axis=0) + 1e-9
    x = (x - mean) / std
    return Data(x[:cut], y[:cut], x[cut:], y[cut:])


def shards(y: np.ndarray, clients: int, mode: Literal["iid", "label_skew"], alpha: float,
           seed: int) -> list[np.ndarray]:
    """Row indices of each client's shard (every client gets at least one row)."""
    rng = np.random.default_rng([seed, 22])
    if clients > len(y):
        raise ValueError(f"{clients} clients but only {len(y)} training rows")
    if mode == "iid":
        return [np.sort(s) for s in np.array_split(rng.permutation(len(y)), clients)]
    parts: list[list[int]] = [[] for _ in range(clients)]
    for c in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == c))
        share = rng.dirichlet(np.full(clients, alpha))
        cuts = (np.cumsum(share)[:-1] * len(rows)).astype(int)
        for k, part in enumerate(np.split(rows, cuts)):
            parts[k].extend(part.tolist())
    for k in [k for k in range(clients) if not parts[k]]:
        donor = max(range(clients), key=lambda j: len(parts[j]))
        parts[k].append(parts[donor].pop())
    return [np.sort(np.array(p, dtype=np.int64)) for p in parts]
