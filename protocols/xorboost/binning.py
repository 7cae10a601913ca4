"""Quantization of features into at most `max_bin` buckets.

Cut points follow XGBoost's ``hist`` layout so that both see the same buckets:
a feature's cuts are increasing float32 values c_0 < ... < c_{k-1}; a value x
falls in bucket ``#{j : c_j <= x}`` (XGBoost's upper bound), and a split
"x < c_b" sends buckets 0..b left. An owner holding a whole numerical column
runs XGBoost's own quantile sketch on it locally (`xgboost.QuantileDMatrix`,
which sketches each feature independently), so its quantization equals the
plaintext baseline's exactly. A column held in pieces gets cuts from the merged
local summaries: with at most `max_bin` distinct values, those values but the
smallest plus a last cut ``v_max + |v_max| + 1e-5`` (XGBoost's rule, so again
identical); with more, the values at weighted ranks i/max_bin of the merged
summaries (an approximation of XGBoost's sketch).

Categorical features hold codes 0..k-1 and get one bucket per category (the
bucket is the code); a feature with more categories than `max_bin` is an
error. NaN falls in no bucket (its indicator row is all zero); a split learns
where missing values go (`protocols.xorboost.candidates`). A column's `Cuts`
also keep XGBoost's ``MinValues`` entry (the threshold of the split that sends
only missing values left) and, for a categorical column, which categories occur.

How owners agree on cuts without pooling the data (`agree_cuts`):

* an owner holding every row of a column (vertical split) computes its cuts
  alone and reveals them to no one (the analyst later learns the thresholds
  the trees use);
* columns held in pieces by several owners (horizontal and mixed splits): each
  such owner sends the others its local summary (`local_summary`: distinct
  values with counts, or 8 * max_bin local quantiles), and every one of them
  derives the same cuts from the merged summaries. Those owners therefore
  learn each other's local summaries, as in federated XGBoost's sketch
  exchange; the computing parties learn nothing (they receive only shares of
  the bucket indicators).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CUT_EPS = 1e-5


@dataclass(frozen=True)
class Cuts:
    """A column's quantization: increasing float32 cut points (numerical), XGBoost's
    min value, and for a categorical column the categories present (max_bin,)."""

    values: np.ndarray
    min_value: float
    present: np.ndarray | None = None


def min_value(v: np.ndarray) -> float:
    """XGBoost's ``MinValues`` entry: m - |m| - 1e-5 in float32 (m the smallest value),
    1e-5 for a column without values."""
    if v.size == 0:
        return float(np.float32(CUT_EPS))
    m = np.float32(v.min())
    return float(m - np.float32(abs(m)) - np.float32(CUT_EPS))


SUMMARY_FACTOR = 8
"""A local summary keeps up to SUMMARY_FACTOR * max_bin points (XGBoost's sketch factor)."""


def local_summary(values: np.ndarray, max_bin: int, categorical: bool) -> np.ndarray:
    """What an owner reveals about one column to its co-owners: (2, k) values and weights.

    Its distinct values with their counts when there are at most
    ``SUMMARY_FACTOR * max_bin`` of them (always for categorical), else that many
    equally spaced local quantiles, each weighing an equal share of its rows.
    """
    v = values[~np.isnan(values)]
    uniq, counts = np.unique(v, return_counts=True)
    size = SUMMARY_FACTOR * max_bin
    if categorical or uniq.size <= size:
        return np.stack([uniq, counts.astype(np.float64)])
    points = np.quantile(v, np.linspace(0, 1, size), method="lower")
    return np.stack([points, np.full(size, v.size / size)])


def cuts_from_summary(summary: np.ndarray, max_bin: int, categorical: bool) -> Cuts:
    """Cut points from a (possibly merged) weighted summary (2, k) of one column.

    At most max_bin distinct values: XGBoost's rule (every value but the smallest,
    plus a last cut). More: the values at weighted ranks i/max_bin, i = 1..max_bin-1,
    plus the last cut.
    """
    values, weights = summary
    if categorical:
        top = int(values.max()) + 1 if values.size else 1
        if top > max_bin:
            raise ValueError(
                f"a categorical feature has {top} categories, more than max_bin={max_bin}"
            )
        present = np.zeros(max_bin, bool)
        present[values.astype(np.int64)] = True
        return Cuts(np.arange(1, top + 1, dtype=np.float64), 0.0, present)
    if values.size == 0:
        return Cuts(np.array([3 * CUT_EPS]), min_value(values))
    last = values[-1]
    if values.size <= max_bin:  # XGBoost: every value but the smallest is a cut
        inner = values[1:]
    else:
        rank = np.cumsum(weights) / weights.sum()
        picks = np.searchsorted(rank, np.arange(1, max_bin) / max_bin, side="left")
        inner = np.unique(values[np.minimum(picks + 1, values.size - 1)])
        inner = inner[inner < last]
    cuts = np.concatenate([inner, [last + abs(last) + CUT_EPS]])
    return Cuts(cuts.astype(np.float32).astype(np.float64), min_value(values))


def column_cuts(values: np.ndarray, max_bin: int, categorical: bool) -> Cuts:
    """Cuts of a column held whole by one owner (XGBoost's sketch if numerical)."""
    v = values[~np.isnan(values)]
    if categorical:
        if v.size and (np.any(v < 0) or np.any(v != np.round(v))):
            raise ValueError("categorical feature values must be codes 0, 1, 2, ...")
        return cuts_from_summary(local_summary(v, max_bin, True), max_bin, categorical)
    if v.size == 0:
        return cuts_from_summary(np.zeros((2, 0)), max_bin, False)
    import xgboost as xgb

    indptr, cuts = xgb.QuantileDMatrix(values.reshape(-1, 1), max_bin=max_bin,
                                       nthread=1).get_quantile_cut()
    lo, hi = int(indptr[0]), int(indptr[1])
    return Cuts(cuts[lo + 1:hi].astype(np.float64), float(cuts[lo]))


def merge_cuts(summaries: list[np.ndarray], max_bin: int, categorical: bool) -> Cuts:
    """Cuts every co-owner of a column derives from all their local summaries."""
    merged = np.concatenate(summaries, axis=1) if summaries else np.zeros((2, 0))
    values, where = np.unique(merged[0], return_inverse=True)
    weights = np.bincount(where, weights=merged[1], minlength=values.size)
    return cuts_from_summary(np.stack([values, weights]), max_bin, categorical)


def bucketize(values: np.ndarray, cuts: Cuts) -> np.ndarray:
    """Bucket index per value (int64), -1 for NaN; values past the last cut go last;
    a categorical value's bucket is its code."""
    if cuts.present is not None:
        return np.where(np.isnan(values), -1, np.nan_to_num(values)).astype(np.int64)
    idx = np.searchsorted(cuts.values, values.astype(np.float32), side="right")
    idx = np.minimum(idx, len(cuts.values) - 1)
    return np.where(np.isnan(values), -1, idx).astype(np.int64)
