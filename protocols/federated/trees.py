"""XGBoost's exact split rule on (aggregated) gradient histograms, and the trees it grows.

Shared by federated histogram XGBoost (histograms summed by secure aggregation)
and vertical SecureBoost (histograms decrypted by the label holder). The rule
is that of XGBoost's ``hist`` updater (``CalcGain``/``HistEvaluator``): for a
node with sums (G, H) and a candidate left part (G_L, H_L),
``gain = G_L^2/(H_L+lambda) + G_R^2/(H_R+lambda) - G^2/(H+lambda)``, a
candidate is valid when both sides have hessian >= min_child_weight, the node
splits when the best gain exceeds 1e-6 (``kRtEps``) and depth < max_depth; a
leaf's value is ``-eta * G/(H+lambda)``. Ties go to the lowest (feature, bin),
like XGBoost's ``SplitEntry::NeedReplace``, after rounding gains to float32 as
it does. Features are bin ids 0..B-1; a split (f, b) sends bins <= b left.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RT_EPS = 1e-6
RENAMED = {"samples": "n_samples", "features": "n_features", "bins": "max_bin",
           "trees": "n_estimators", "eta": "learning_rate"}
"""Old names of the tree protocols' parameters (see `sim.Params.renamed`)."""


@dataclass(frozen=True)
class TreeParams:
    max_depth: int = 3
    eta: float = 0.3
    reg_lambda: float = 1.0
    min_child_weight: float = 1.0

    def xgboost(self) -> dict:
        """The same settings for centralized ``xgboost.train`` (hist, binary logistic)."""
        return {"tree_method": "hist", "max_bin": 256, "max_depth": self.max_depth,
                "eta": self.eta, "lambda": self.reg_lambda,
                "min_child_weight": self.min_child_weight, "base_score": 0.5,
                "objective": "binary:logistic", "nthread": 1}


@dataclass
class Node:
    depth: int
    feature: int = -1
    bin: int = -1
    left: int = -1
    right: int = -1
    value: float = 0.0

    @property
    def is_leaf(self) -> bool:
        return self.feature < 0


def gh(margin: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logistic-loss gradient and hessian at the margins."""
    p = 1.0 / (1.0 + np.exp(-margin))
    return p - y, np.maximum(p * (1.0 - p), 1e-16)


def best_splits(hist: np.ndarray, depth: int, tp: TreeParams) -> list[tuple[int, int] | None]:
    """For each node's histogram ``(nodes, features, bins, 2)``: (feature, bin) or None (leaf)."""
    g, h = hist[..., 0], hist[..., 1]
    G, H = g[:, 0].sum(axis=1), h[:, 0].sum(axis=1)
    gl, hl = np.cumsum(g, axis=2)[..., :-1], np.cumsum(h, axis=2)[..., :-1]
    gr, hr = G[:, None, None] - gl, H[:, None, None] - hl
    lam = tp.reg_lambda
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = gl**2 / (hl + lam) + gr**2 / (hr + lam) - (G**2 / (H + lam))[:, None, None]
    gain = np.where((hl >= tp.min_child_weight) & (hr >= tp.min_child_weight), gain, -np.inf)
    # XGBoost keeps loss changes as float32: two splits with the same rows on each side
    # (correlated features) then tie exactly and the lower feature wins, as here.
    gain = gain.astype(np.float32)
    out: list[tuple[int, int] | None] = []
    for k in range(len(G)):
        flat = int(np.argmax(gain[k]))
        f, b = divmod(flat, gain.shape[2])
        ok = depth < tp.max_depth and gain[k, f, b] > RT_EPS
        out.append((f, b) if ok else None)
    return out


def histogram_values(max_depth: int, features: int, bins: int) -> int:
    """Values (g and h) in the histograms of the deepest level of a full tree."""
    return 2**max_depth * features * bins * 2


def search_memory(max_depth: int, features: int, bins: int) -> float:
    """Peak bytes of `best_splits` on the deepest level of a full tree: the histograms
    and, per value, the prefix sums, right-hand sums and gains with their temporaries
    (about 48 bytes a value)."""
    return 48.0 * histogram_values(max_depth, features, bins)


def split_work(hist_size: int, nodes: int) -> dict[str, float]:
    """What `best_splits` computes on a histogram of `hist_size` values (g and h) for
    `nodes` nodes, by cost class: prefix sums, gains (about 12 element passes per
    bucket) and an argmax per node."""
    return {"ring": 7 * hist_size, "call": 20 + 4 * nodes}


def leaf_value(g: float, h: float, tp: TreeParams) -> float:
    """A leaf's weight from its gradient and hessian sums (0 below min_child_weight)."""
    if h < tp.min_child_weight or h <= 0:
        return 0.0
    return -tp.eta * g / (h + tp.reg_lambda)


def route(nodes: list[Node], xbin: np.ndarray) -> np.ndarray:
    """The leaf value each row reaches."""
    at = np.zeros(len(xbin), dtype=np.int64)
    for k, node in enumerate(nodes):  # parents come before their children
        if node.is_leaf:
            continue
        here = at == k
        go_left = xbin[:, node.feature] <= node.bin
        at[here & go_left] = node.left
        at[here & ~go_left] = node.right
    return np.array([n.value for n in nodes])[at]


def predict(forest: list[list[Node]], xbin: np.ndarray) -> np.ndarray:
    """Probabilities of class 1 (base score 0.5, i.e. margin 0)."""
    margin = sum((route(t, xbin) for t in forest), np.zeros(len(xbin)))
    return 1.0 / (1.0 + np.exp(-margin))


def equal_width_bins(x_train: np.ndarray, bins: int) -> np.ndarray:
    """Per-feature edges over each feature's range, taken as public schema metadata."""
    lo, hi = x_train.min(axis=0), x_train.max(axis=0)
    return lo + (hi - lo) * np.linspace(0, 1, bins + 1)[1:-1, None]


def to_bins(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin ids 0..B-1 of each value (B = len(edges) + 1)."""
    return np.stack([np.searchsorted(edges[:, f], x[:, f], side="right")
                     for f in range(x.shape[1])], axis=1).astype(np.int64)


def compare_with_xgboost(forest: list[list[Node]], booster, xbin: np.ndarray) -> dict:
    """Whether every tree has the same splits and (to float32 precision) leaves as `booster`.

    XGBoost's ``hist`` cut for a split is a value present in the data, and
    ``x < cut`` goes left; ours is the largest bin id present on the left.
    So an XGBoost condition maps to the largest value of that feature below it.
    """
    df = booster.trees_to_dataframe()
    mismatches = []
    for t, nodes in enumerate(forest):
        rows = {r.ID: r for r in df[df.Tree == t].itertuples()}
        stack = [(0, f"{t}-0")]
        while stack:
            k, xid = stack.pop()
            mine, theirs = nodes[k], rows.get(xid)
            if theirs is None:
                mismatches.append((t, k, "missing in xgboost"))
                continue
            if mine.is_leaf or theirs.Feature == "Leaf":
                if not (mine.is_leaf and theirs.Feature == "Leaf"
                        and np.isclose(mine.value, theirs.Gain, rtol=1e-4, atol=1e-6)):
                    mismatches.append((t, k, "leaf", mine.value, theirs.Feature, theirs.Gain))
                continue
            f = int(theirs.Feature[1:])
            present = np.unique(xbin[:, f])
            b = int(present[present < theirs.Split].max())
            if (f, b) != (mine.feature, mine.bin):
                mismatches.append((t, k, "split", (mine.feature, mine.bin), (f, b)))
                continue
            stack += [(mine.left, theirs.Yes), (mine.right, theirs.No)]
    return {"same_trees": not mismatches and len(forest) == df.Tree.nunique(),
            "mismatches": mismatches[:5]}
