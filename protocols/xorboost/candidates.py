"""The split candidates of a node, in XGBoost's `hist` enumeration order.

Per feature j with B = max_bin buckets (a numerical feature's bucket b holds the
values in [cut_{b-1}, cut_b); padded buckets past the feature's cuts stay empty):

* numerical: FWD b = 0..B-1, "x < cut_b goes left, missing goes right" (XGBoost's
  forward scan), then, if the feature may have missing values, BWD b = B-2..-1,
  "x < cut_b goes left, missing goes LEFT" (its backward scan, highest b first;
  b = -1 sends only the missing values left, threshold the feature's min value);
* categorical (one-hot splits): ONE c, "category c goes right, missing goes
  left", followed, if the feature may have missing values, by ONE_MISS c,
  "category c and missing go right", for c = 0..B-1 interleaved as XGBoost does.

A last, extra candidate is "no split". A node's candidate vector has
`Candidates.count` + 1 entries; which features may have missing values is
public (it sets the length). XGBoost keeps the first best candidate in this
order (a later one must be strictly better) and, across features, the lowest
feature on exact ties, which is also "first in this order": so the secure
argmax breaks exact ties by position (`protocols.xorboost.splits`).

This module holds the public tables: per candidate its feature, kind and
bucket, how its left statistics come from a node's histogram
(`left_stats`), and how a one-hot selection turns into the go-left test of
every sample (`GoLeft`). The analyst decodes revealed selections with
`describe`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

FWD, BWD, ONE, ONE_MISS = 0, 1, 2, 3
"""Candidate kinds (see the module docstring)."""

DEFAULT_LEFT = {FWD: False, BWD: True, ONE: True, ONE_MISS: False}
"""Where missing values go, per kind (XGBoost's ``default_left``)."""


@dataclass(frozen=True)
class Candidates:
    """Public layout of the split candidates of every node."""

    categorical: tuple[bool, ...]
    missing: tuple[bool, ...]
    max_bin: int

    @property
    def d(self) -> int:
        return len(self.categorical)

    @cached_property
    def table(self) -> np.ndarray:
        """(count, 3) int64: feature, kind, bucket of each candidate, in order."""
        B, rows = self.max_bin, []
        for j, (cat, miss) in enumerate(zip(self.categorical, self.missing, strict=True)):
            if cat:
                kinds = (ONE, ONE_MISS) if miss else (ONE,)
                rows += [(j, k, c) for c in range(B) for k in kinds]
            else:
                rows += [(j, FWD, b) for b in range(B)]
                if miss:
                    rows += [(j, BWD, b) for b in range(B - 2, -2, -1)]
        return np.array(rows, np.int64).reshape(-1, 3)

    @property
    def count(self) -> int:
        """Candidates per node, "no split" excluded."""
        return len(self.table)

    @cached_property
    def feature_span(self) -> list[tuple[int, int]]:
        """[start, stop) of each feature's candidates."""
        f = self.table[:, 0]
        return [(int(np.searchsorted(f, j)), int(np.searchsorted(f, j, side="right")))
                for j in range(self.d)]

    # -- statistics ------------------------------------------------------------------

    def left_stats(self, ops: Any, hist: Any, total: Any) -> Any:
        """Left (G, H) of every candidate, shape (2, K, count), from a node's bucket
        sums `hist` (2, K, d, B) and totals `total` (2, K): local linear operations.

        Missing sums are total - sum over buckets. FWD b: prefix_b; BWD b:
        prefix_b + missing; ONE c: total - hist_c; ONE_MISS c: total - hist_c - missing.
        """
        f, kind, b = self.table.T
        num = (kind == FWD) | (kind == BWD)
        prefix = np.cumsum(hist, axis=3, dtype=np.uint64)
        missing = ops.sub(total[:, :, None], ops.sum(hist, axis=3))  # (2, K, d)
        shape = hist.shape[:2] + (self.count,)
        zero = ops.zeros(hist.shape[:2] + (self.d, 1))
        ext = np.concatenate([zero, prefix], axis=3)  # ext[..., b + 1] = prefix_b, prefix_-1 = 0
        left = ops.mul_public(ext[:, :, f, np.where(num, b + 1, 0)], num.astype(np.int64))
        cat = ~num
        if cat.any():
            one = ops.sub(np.broadcast_to(total[:, :, None], shape), hist[:, :, f, b])
            left = ops.add(left, ops.mul_public(one, cat.astype(np.int64)))
        sign = (kind == BWD).astype(np.int64) - (kind == ONE_MISS).astype(np.int64)
        if sign.any():
            left = ops.add(left, ops.mul_public(missing[:, :, f], sign))
        return left

    # -- go-left tests -----------------------------------------------------------------

    @cached_property
    def value_columns(self) -> list[tuple[int, str]]:
        """Columns of the per-sample value operand, by feature: (feature, role) with
        role ``"v"`` (bucket index or category, never missing), ``"vr"`` (bucket, B if
        missing), ``"vl"`` (bucket or category, -1 if missing), ``"m"`` (1 if missing)."""
        cols = []
        for j, (cat, miss) in enumerate(zip(self.categorical, self.missing, strict=True)):
            if not miss:
                cols.append((j, "v"))
            elif cat:
                cols += [(j, "vl"), (j, "m")]
            else:
                cols += [(j, "vr"), (j, "vl")]
        return cols

    def values(self, buckets: np.ndarray, features: np.ndarray) -> np.ndarray:
        """An owner's block of the value operand (rows, its columns), int64, from its
        bucket indices (rows, len(features)), -1 where missing."""
        pos = {int(j): i for i, j in enumerate(features)}
        out = []
        for j, role in self.value_columns:
            if j not in pos:
                continue
            v = buckets[:, pos[j]]
            miss = v < 0
            out.append({"v": v, "vl": v, "vr": np.where(miss, self.max_bin, v),
                        "m": miss.astype(np.int64)}[role])
        return np.stack(out, axis=1).astype(np.int64)

    def value_span(self, features: np.ndarray) -> tuple[int, int]:
        """[start, stop) of the value columns of a contiguous range of features."""
        idx = [i for i, (j, _) in enumerate(self.value_columns) if features[0] <= j <= features[-1]]
        return idx[0], idx[-1] + 1

    @cached_property
    def go_left(self) -> GoLeft:
        return GoLeft.build(self)

    # -- the analyst's view ------------------------------------------------------------

    def describe(self, index: int) -> tuple[int, int, int]:
        """(feature, kind, bucket) of candidate `index`; (-1, -1, 0) for "no split"."""
        if index >= self.count:
            return -1, -1, 0
        f, kind, b = self.table[index]
        return int(f), int(kind), int(b)

    def thresholds(self, feature: int, cuts: np.ndarray, min_value: float,
                   present: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The split value and the "exists" flag of each candidate of one feature.

        Numerical: cut_b for FWD b and BWD b (b past the feature's cuts: its last
        cut), the feature's min value (XGBoost's ``MinValues``) for BWD -1; exists 1.
        Categorical: the category code; exists 1 except ONE_MISS c for a category
        `present` does not hold (XGBoost has no bin for it).
        """
        lo, hi = self.feature_span[feature]
        _, kind, b = self.table[lo:hi].T
        if self.categorical[feature]:
            exists = np.ones(hi - lo, np.int64)
            if present is not None:
                exists = np.where(kind == ONE_MISS, present[b].astype(np.int64), 1)
            return b.astype(np.float64), exists
        top = len(cuts) - 1
        value = np.where(b < 0, min_value, cuts[np.clip(b, 0, top)])
        return value.astype(np.float64), np.ones(hi - lo, np.int64)


@dataclass(frozen=True)
class GoLeft:
    """Public maps from a node's one-hot selection to its samples' go-left bits.

    With V the (n, value columns) operand and sel the (K, count + 1) selection:
    s1 = V @ (sel @ s1_map).T + sel @ s1_const is, for a numerical split, the
    chosen column minus the bucket (so "left" is s1 <= 0) and very negative
    otherwise; s2 likewise for a categorical split (category minus c, "equal" is
    s2 <= 0 and not s2 <= -1; very positive otherwise); mb = V @ (sel @ mb_map).T
    is 1 for a missing value at a ONE_MISS split. Then

        left = [s1 <= 0] - ([s2 <= 0] - [s2 <= -1]) - mb,

    which is 1 for "no split" (s1 very negative, s2 very positive).
    """

    s1_map: np.ndarray
    s1_const: np.ndarray
    s2_map: np.ndarray | None
    s2_const: np.ndarray | None
    mb_map: np.ndarray | None

    @classmethod
    def build(cls, cands: Candidates) -> GoLeft:
        col = {key: i for i, key in enumerate(cands.value_columns)}
        n_cols, count = len(col), cands.count
        big = 4 * cands.max_bin + 8
        s1 = np.zeros((count + 1, n_cols), np.int64)
        s2 = np.zeros((count + 1, n_cols), np.int64)
        mb = np.zeros((count + 1, n_cols), np.int64)
        c1 = np.full(count + 1, -big, np.int64)
        c2 = np.full(count + 1, big, np.int64)
        for i, (j, kind, b) in enumerate(cands.table):
            miss = cands.missing[j]
            if kind in (FWD, BWD):
                role = "v" if not miss else ("vr" if kind == FWD else "vl")
                s1[i, col[(j, role)]] = 1
                c1[i], c2[i] = -b, big
            else:
                s2[i, col[(j, "vl" if miss else "v")]] = 1
                c1[i], c2[i] = -big, -b
                if kind == ONE_MISS:
                    mb[i, col[(j, "m")]] = 1
        has_cat = any(cands.categorical)
        has_mb = any(c and m for c, m in zip(cands.categorical, cands.missing, strict=True))
        return cls(s1, c1, s2 if has_cat else None, c2 if has_cat else None,
                   mb if has_mb else None)

    @property
    def maps(self) -> list[np.ndarray]:
        """The column maps, in the order of the product's output groups."""
        return [m for m in (self.s1_map, self.s2_map, self.mb_map) if m is not None]
