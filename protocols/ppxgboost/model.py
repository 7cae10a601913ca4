"""An XGBoost model as flat arrays, read from the booster's own JSON.

Everything comes from ``booster.save_raw("json")`` and ``booster.save_config()``:
the trees (children, split feature, float32 threshold, default direction on a
missing value, leaf value), each tree's output group (class), the objective,
and ``base_score`` from ``learner_model_param``, which XGBoost >= 2 fits from the
data (so it is rarely 0.5) and stores in the output space: the margin starts at
``logit(base_score)`` for ``binary:logistic``. `margins` evaluates the plain model
the way XGBoost does (features cast to float32, ``x < threshold`` goes left, NaN
follows the default direction); it is the reference the encrypted run must match.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import xgboost as xgb

_SUPPORTED = ("binary:logistic", "multi:softprob", "multi:softmax", "reg:squarederror")


@dataclass(frozen=True)
class Tree:
    """One tree; node ``i`` is a leaf when ``left[i] == -1`` (then ``value[i]`` is its weight)."""

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray  # float32
    default_left: np.ndarray  # bool
    value: np.ndarray  # float32 leaf weights (0 on internal nodes)
    group: int

    @property
    def leaves(self) -> np.ndarray:
        return np.flatnonzero(self.left == -1)


@dataclass(frozen=True)
class Model:
    trees: tuple[Tree, ...]
    n_features: int
    n_groups: int
    objective: str
    base_margin: np.ndarray  # float32, one per group

    def leaf_index(self, tree: Tree, x: np.ndarray) -> np.ndarray:
        """The leaf each row of float32 `x` reaches in `tree` (XGBoost's rule)."""
        node = np.zeros(len(x), dtype=np.int64)
        rows = np.arange(len(x))
        while True:
            inner = tree.left[node] != -1
            if not inner.any():
                return node
            fv = x[rows, tree.feature[node]]
            go_left = np.where(np.isnan(fv), tree.default_left[node], fv < tree.threshold[node])
            nxt = np.where(go_left, tree.left[node], tree.right[node])
            node = np.where(inner, nxt, node)

    def margins(self, x: np.ndarray) -> np.ndarray:
        """Raw scores (n, n_groups), float64 sums of the float32 leaves."""
        x = np.asarray(x, dtype=np.float32)
        out = np.tile(self.base_margin.astype(np.float64), (len(x), 1))
        for tree in self.trees:
            out[:, tree.group] += tree.value[self.leaf_index(tree, x)]
        return out


def link(objective: str, margins: np.ndarray) -> np.ndarray:
    """What `Booster.predict` returns from the margins (the client applies it)."""
    if objective == "binary:logistic":
        return 1.0 / (1.0 + np.exp(-margins[:, 0]))
    if objective == "multi:softprob":
        z = np.exp(margins - margins.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)
    if objective == "multi:softmax":
        return margins.argmax(axis=1).astype(np.float64)
    return margins[:, 0]


def _base_margin(objective: str, base_score: np.ndarray, n_groups: int) -> np.ndarray:
    score = np.broadcast_to(base_score, (n_groups,)).astype(np.float64)
    if objective == "binary:logistic":
        score = np.log(score / (1.0 - score))
    return score.astype(np.float32)


def from_booster(booster: xgb.Booster) -> Model:
    """Parse a gbtree booster (numerical splits) into a `Model`."""
    raw = json.loads(booster.save_raw("json"))
    config = json.loads(booster.save_config())["learner"]
    objective = config["objective"]["name"]
    if objective not in _SUPPORTED:
        raise ValueError(f"objective {objective!r} not supported ({', '.join(_SUPPORTED)})")
    param = config["learner_model_param"]
    base_score = np.array(json.loads(param["base_score"]), dtype=np.float64).ravel()
    gbtree = raw["learner"]["gradient_booster"]["model"]
    n_groups = max(1, int(param["num_class"]))
    trees = []
    for tree, group in zip(gbtree["trees"], gbtree["tree_info"], strict=True):
        if any(tree.get("split_type", [])):
            raise ValueError("categorical splits are not supported")
        left = np.array(tree["left_children"], dtype=np.int64)
        cond = np.array(tree["split_conditions"], dtype=np.float32)
        leaf = left == -1
        trees.append(Tree(
            left=left,
            right=np.array(tree["right_children"], dtype=np.int64),
            feature=np.array(tree["split_indices"], dtype=np.int64),
            threshold=np.where(leaf, np.float32(0), cond).astype(np.float32),
            default_left=np.array(tree["default_left"], dtype=bool),
            value=np.where(leaf, cond, np.float32(0)).astype(np.float32),
            group=int(group),
        ))
    return Model(tuple(trees), int(param["num_feature"]), n_groups, objective,
                 _base_margin(objective, base_score, n_groups))
