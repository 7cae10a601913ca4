"""The revealed model: complete level-wise trees, prediction, and XGBoost JSON export.

A tree of depth D has 2^D - 1 internal nodes in heap order (level l, node k at
index 2^l - 1 + k; children 2k and 2k+1 on the next level) and 2^D leaves.
Each internal node splits on (feature, bucket) with a threshold and a learned
direction for missing values (XGBoost's ``default_left``), or does not split
(feature -1): then every sample goes left, and the right subtree is empty.
Numerical split: x < threshold goes left. Categorical split (one category
against the rest, as XGBoost's one-hot splits): x == category goes right,
other categories go left. NaN goes left iff ``default_left``. Comparisons use
float32, as XGBoost does.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from protocols.sharing.ring import RING, signed
from protocols.xorboost.candidates import DEFAULT_LEFT, Candidates


def encode_threshold_bits(x: np.ndarray) -> np.ndarray:
    """Split values as their float32 bit patterns in the ring: a one-hot selection
    dotted with them gives the chosen value exactly (no fixed-point rounding)."""
    return np.asarray(x, np.float32).view(np.int32).astype(np.int64).view(RING)


def decode_threshold_bits(u: np.ndarray) -> np.ndarray:
    return signed(u).astype(np.int32).view(np.float32).astype(np.float64)


@dataclass(frozen=True)
class Tree:
    feature: np.ndarray  # (2^D - 1,) int, -1: no split
    bucket: np.ndarray  # (2^D - 1,) int
    threshold: np.ndarray  # (2^D - 1,) float
    default_left: np.ndarray  # (2^D - 1,) bool: where missing values go
    leaves: np.ndarray  # (2^D,) float

    @property
    def depth(self) -> int:
        return int(round(math.log2(len(self.leaves))))


@dataclass(frozen=True)
class Model:
    trees: list[Tree]
    objective: str
    base_score: float
    categorical: tuple[bool, ...]

    @classmethod
    def from_revealed(cls, selections: list[np.ndarray], thresholds: list[np.ndarray],
                      leaves: list[np.ndarray], cands: Candidates, objective: str,
                      base_score: float) -> Model:
        """Decode opened selections (one-hot per node over the candidates of
        `cands`, per level), thresholds and leaves."""
        depth = len(selections) // len(leaves)
        trees = []
        for t, w in enumerate(leaves):
            sel = np.concatenate(selections[t * depth:(t + 1) * depth], axis=0)
            parts = np.array([cands.describe(int(i)) for i in np.argmax(sel, axis=1)])
            feature, kind, bucket = parts.T
            left = np.array([DEFAULT_LEFT.get(int(k), True) for k in kind])
            thr = np.concatenate(thresholds[t * depth:(t + 1) * depth])
            trees.append(Tree(feature, bucket, thr, left, np.asarray(w, np.float64)))
        return cls(trees, objective, base_score, cands.categorical)

    @property
    def base_margin(self) -> float:
        if self.objective == "binary:logistic":
            return math.log(self.base_score / (1 - self.base_score))
        return self.base_score

    def predict_margin(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)
        n = x.shape[0]
        cat = np.asarray(self.categorical)
        margin = np.full(n, np.float32(self.base_margin), np.float32)
        rows = np.arange(n)
        for tree in self.trees:
            k = np.zeros(n, np.int64)
            for level in range(tree.depth):
                node = (1 << level) - 1 + k
                f = tree.feature[node]
                value = x[rows, np.maximum(f, 0)]
                thr = tree.threshold[node].astype(np.float32)
                is_cat = cat[np.maximum(f, 0)]
                right = np.where(is_cat, value == thr, ~(value < thr))
                right = np.where(np.isnan(value), ~tree.default_left[node], right)
                right &= f >= 0
                k = 2 * k + right
            margin += tree.leaves[k].astype(np.float32)
        return margin

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Probabilities (logistic) or values (squared error)."""
        m = self.predict_margin(x).astype(np.float64)
        return 1 / (1 + np.exp(-m)) if self.objective == "binary:logistic" else m

    # -- export --------------------------------------------------------------

    def to_xgboost_json(self) -> bytes:
        """The model in XGBoost's JSON format (load with ``xgboost.Booster``).

        Pass-through ("no split") nodes are collapsed into their left child, so
        the exported trees are XGBoost's usual pruned trees with the same
        predictions.
        """
        d = len(self.categorical)
        trees = [_export_tree(t, i, self.categorical) for i, t in enumerate(self.trees)]
        model = {
            "learner": {
                "attributes": {},
                "feature_names": [],
                "feature_types": ["c" if c else "q" for c in self.categorical],
                "gradient_booster": {
                    "model": {
                        "cats": {"enc": [], "feature_segments": [], "sorted_idx": []},
                        "gbtree_model_param": {"num_parallel_tree": "1",
                                               "num_trees": str(len(trees))},
                        "iteration_indptr": list(range(len(trees) + 1)),
                        "tree_info": [0] * len(trees),
                        "trees": trees,
                    },
                    "name": "gbtree",
                },
                "learner_model_param": {
                    "base_score": f"[{self.base_score!r}]", "boost_from_average": "0",
                    "num_class": "0", "num_feature": str(d), "num_target": "1",
                },
                "objective": {"name": self.objective,
                              "reg_loss_param": {"scale_pos_weight": "1"}},
            },
            "version": [3, 0, 0],
        }
        return json.dumps(model).encode()


def _export_tree(tree: Tree, tree_id: int, categorical: tuple[bool, ...]) -> dict:
    depth = tree.depth
    nodes: list[dict] = []

    def visit(level: int, k: int, parent: int) -> int:
        while level < depth and tree.feature[(1 << level) - 1 + k] < 0:
            level, k = level + 1, 2 * k  # pass-through: everyone goes left
        nid = len(nodes)
        entry: dict = {"parent": parent}
        nodes.append(entry)
        if level == depth:
            entry.update(leaf=float(tree.leaves[k]))
            return nid
        node = (1 << level) - 1 + k
        entry.update(feature=int(tree.feature[node]), threshold=float(tree.threshold[node]),
                     default_left=bool(tree.default_left[node]))
        entry["left"] = visit(level + 1, 2 * k, nid)
        entry["right"] = visit(level + 1, 2 * k + 1, nid)
        return nid

    visit(0, 0, 2147483647)
    n = len(nodes)
    out: dict = {
        "base_weights": [], "categories": [], "categories_nodes": [],
        "categories_segments": [], "categories_sizes": [], "default_left": [], "id": tree_id,
        "left_children": [], "loss_changes": [0.0] * n, "parents": [], "right_children": [],
        "split_conditions": [], "split_indices": [], "split_type": [],
        "sum_hessian": [0.0] * n,
        "tree_param": {"num_deleted": "0", "num_feature": str(len(categorical)),
                       "num_nodes": str(n), "size_leaf_vector": "1"},
    }
    for nid, e in enumerate(nodes):
        out["parents"].append(e["parent"])
        if "leaf" in e:
            out["left_children"].append(-1)
            out["right_children"].append(-1)
            out["split_conditions"].append(e["leaf"])
            out["base_weights"].append(e["leaf"])
            out["split_indices"].append(0)
            out["split_type"].append(0)
            out["default_left"].append(0)
            continue
        f = e["feature"]
        out["left_children"].append(e["left"])
        out["right_children"].append(e["right"])
        out["split_indices"].append(f)
        out["base_weights"].append(0.0)
        out["default_left"].append(int(e["default_left"]))
        if categorical[f]:
            out["split_type"].append(1)
            out["split_conditions"].append(0.0)
            out["categories_nodes"].append(nid)
            out["categories_segments"].append(len(out["categories"]))
            out["categories_sizes"].append(1)
            out["categories"].append(int(round(e["threshold"])))
        else:
            out["split_type"].append(0)
            out["split_conditions"].append(e["threshold"])
    return out


# -- comparing with XGBoost's trees -------------------------------------------------------


def _xgb_trees(raw: bytes) -> list[dict]:
    return json.loads(raw)["learner"]["gradient_booster"]["model"]["trees"]


def _condition(t: dict, nid: int) -> tuple:
    if t["split_type"][nid] == 1:
        pos = t["categories_nodes"].index(nid)
        seg = t["categories_segments"][pos]
        return ("category", tuple(t["categories"][seg:seg + t["categories_sizes"][pos]]))
    return ("below", float(np.float32(t["split_conditions"][nid])))


def _goes_right(t: dict, nid: int, x: np.ndarray) -> np.ndarray:
    v = x[:, t["split_indices"][nid]].astype(np.float32)
    kind, value = _condition(t, nid)
    right = np.isin(v, value) if kind == "category" else ~(v < np.float32(value))
    return np.where(np.isnan(v), t["default_left"][nid] == 0, right)


def _tree_diff(a: dict, b: dict, x: np.ndarray, atol: float, na: int = 0, nb: int = 0,
               path: str = "root") -> str | None:
    leaf_a, leaf_b = a["left_children"][na] == -1, b["left_children"][nb] == -1
    if leaf_a or leaf_b:
        if leaf_a != leaf_b:
            return f"{path}: leaf against split"
        va, vb = a["split_conditions"][na], b["split_conditions"][nb]
        return None if abs(va - vb) <= atol else f"{path}: leaf {va} against {vb}"
    fa, fb = a["split_indices"][na], b["split_indices"][nb]
    if fa != fb or _condition(a, na) != _condition(b, nb):
        return f"{path}: split {fa} {_condition(a, na)} against {fb} {_condition(b, nb)}"
    if np.isnan(x[:, fa]).any() and a["default_left"][na] != b["default_left"][nb]:
        return f"{path}: default_left {a['default_left'][na]} against {b['default_left'][nb]}"
    right = _goes_right(a, na, x)
    return (_tree_diff(a, b, x[~right], atol, a["left_children"][na], b["left_children"][nb],
                       path + "L")
            or _tree_diff(a, b, x[right], atol, a["right_children"][na],
                          b["right_children"][nb], path + "R"))


def compare_trees(ours: bytes, theirs: bytes, x: np.ndarray, leaf_atol: float
                  ) -> list[str | None]:
    """Per tree of two models in XGBoost JSON, the first difference on the rows x, None
    where they are the same tree: split for split the same feature and threshold (or
    category), the same missing-value direction wherever x has a missing value in the
    node's feature, leaves within `leaf_atol`."""
    return [_tree_diff(a, b, x, leaf_atol)
            for a, b in zip(_xgb_trees(ours), _xgb_trees(theirs), strict=True)]
