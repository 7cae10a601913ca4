"""Data for the federated protocols, loaded through `protocols.data`, and client shards.

`load` takes scikit-learn's bundled sets or its classification generator (no
downloads) from `protocols.data`, holds out a test part (rows left in shuffled
order) and standardises the features with the training part's statistics
(public preprocessing, as when the owners agree on a schema). The synthetic
set is harder than `protocols.data`'s default: half the features informative,
a quarter redundant, 2% of labels flipped.

What is federated-specific stays here: horizontal shards that are IID (a
random equal split) or skewed by label (each client's class proportions drawn
from a Dirichlet(alpha), the usual non-IID benchmark of Hsu et al. 2019).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from protocols import data

Source = Literal["breast_cancer", "digits", "synthetic"]


Data = data.TrainTest


@lru_cache(maxsize=8)
def load(source: Source, seed: int, samples: int = 20_000, features: int = 20,
         test_fraction: float = 0.25) -> Data:
    """The data set, shuffled and split with `seed` (`samples`/`features` for synthetic)."""
    options = None
    if source == "synthetic":
        options = {"n_informative": features // 2, "n_redundant": features // 4, "flip_y": 0.02}
    ds = data.load(source, n_samples=samples, n_features=features, seed=seed,
                   generator_options=options)
    train, test = data.standardize(
        *data.train_test_split(ds, test_fraction, seed, shuffled=True, stream=21))
    return Data(train.x, train.y, test.x, test.y)


def table_memory(source: Source, samples: int, features: int) -> float:
    """Peak bytes of the table `load` builds and of what the protocols derive from it
    whole (shuffled split, standardised copy, bin ids, per-client copies): about 32 bytes
    a value (measured 32.5 at 200,000 x 40 in fed_xgboost)."""
    rows, cols = data.shape(source, samples, features)
    return 32.0 * rows * cols


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


def horizontal_split(parts: Sequence[np.ndarray], n_cols: int, labels: bool = True
                     ) -> dict[str, Any]:
    """The report's ``split``: owner k (party k + 1) holds the rows ``parts[k]`` of every
    one of the `n_cols` columns, and their labels when `labels`."""
    cols = np.arange(n_cols)
    owners = [data.OwnerPart(k, rows, cols, labels, group=k) for k, rows in enumerate(parts)]
    return data.OwnerSplit("horizontal", len(owners), owners).describe()


def vertical_split(n_rows: int, blocks: Sequence[np.ndarray]) -> dict[str, Any]:
    """The report's ``split``: owner q (party q) holds the columns ``blocks[q]`` of every
    row; owner 0 also holds the labels."""
    rows = np.arange(n_rows)
    owners = [data.OwnerPart(q, rows, cols, q == 0) for q, cols in enumerate(blocks)]
    return data.OwnerSplit("vertical", len(owners), owners).describe()


def vector_split(clients: int, length: int) -> dict[str, Any]:
    """The report's ``split`` of an aggregation: each client holds one vector of `length`
    values (one row, no label)."""
    return horizontal_split([np.arange(1)] * clients, length, labels=False)
