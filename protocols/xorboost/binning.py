"""Quantization of features into at most `max_bin` buckets, as XGBoost ``hist`` does.

A numerical feature's cuts are increasing float32 values c_0 < ... < c_{k-1}; a
value x falls in bucket ``#{j : c_j <= x}`` (XGBoost's upper bound), and a split
"x < c_b" sends buckets 0..b left. A categorical feature holds codes 0..k-1 and
gets one bucket per code up to the largest one seen (XGBoost's bins; a code above
`max_bin` - 1 is an error). NaN falls in no bucket; a split learns where missing
values go (`protocols.xorboost.candidates`). A column's `Cuts` also keep
XGBoost's ``MinValues`` entry (the threshold of the split that sends only
missing values left).

How owners agree on cuts without pooling the data (`protocols.xorboost.protocol`
``agree_cuts``), by XGBoost's own sketch (`sketch`, a bit-exact port):

* every holder of a column sketches its rows of it and prunes the summary to
  8 max_bin entries (XGBoost's ``AllReduce`` does the same); for a categorical
  column, the set of codes it holds;
* co-holders of a column (horizontal and mixed splits) send each other that
  `message`: the summary padded to 8 max_bin entries and the number of values
  it summarizes (or the codes as a max_bin bitmap), a size fixed by public
  parameters. Each co-holder merges them in owner order (`cuts`) exactly as
  XGBoost's distributed training merges its workers' summaries, so the cuts
  equal XGBoost's on that row partition, with XGBoost's error guarantee
  (eps = 1 / (8 max_bin) of the ranks), and every co-holder derives the same;
* a column held whole (vertical split) is that computation with one holder:
  XGBoost's single-machine cuts, exactly.

Co-holders therefore learn each other's pruned summaries (at most 8 max_bin
values with rank bounds) and counts of non-missing values, as XGBoost's
workers do; the computing parties learn nothing (they receive masked blocks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from protocols.xorboost import sketch


@dataclass(frozen=True)
class Cuts:
    """A column's quantization: increasing float32 cut points (numerical), XGBoost's
    min value, and for a categorical column which codes have a bin (max_bin,)."""

    values: np.ndarray
    min_value: float
    present: np.ndarray | None = None


Message = tuple[np.ndarray, np.ndarray]
"""What a holder shares about a column: numerical, the summary entries (8 max_bin, 4)
float32 (rmin, rmax, wmin, value; zero padded) and (2,) int64 (entries, values
summarized); categorical, the codes held (max_bin,) bool and (2,) int64 (0, values)."""


def message_shapes(max_bin: int, categorical: bool) -> tuple[tuple, tuple]:
    """The (public) shapes and dtypes of a column's `Message`."""
    body = ((max_bin,), np.bool_) if categorical else ((sketch.FACTOR * max_bin, 4), np.float32)
    return body, ((2,), np.int64)


def message(values: np.ndarray, max_bin: int, categorical: bool) -> Message:
    """A holder's `Message` about its rows of one column."""
    v = values[~np.isnan(values)]
    if categorical:
        if v.size and (np.any(v < 0) or np.any(v != np.round(v)) or v.max() >= max_bin):
            raise ValueError(f"categorical feature values must be codes 0..{max_bin - 1}")
        held = np.zeros(max_bin, bool)
        held[v.astype(np.int64)] = True
        return held, np.array([0, v.size], np.int64)
    summary, count = sketch.local_sketch(values, max_bin)
    summary = summary.prune(sketch.FACTOR * max_bin)
    body = np.zeros((sketch.FACTOR * max_bin, 4), np.float32)
    body[:summary.size] = np.stack([summary.rmin, summary.rmax, summary.wmin, summary.value],
                                   axis=1)
    return body, np.array([summary.size, count], np.int64)


def cuts(messages: list[Message], max_bin: int, categorical: bool) -> Cuts:
    """The column's cuts from every holder's `Message`, in owner order."""
    total = int(sum(head[1] for _, head in messages))
    if categorical:
        held = np.logical_or.reduce([body for body, _ in messages])
        top = int(np.flatnonzero(held)[-1]) + 1 if held.any() else 1
        return Cuts(np.arange(1, top + 1, dtype=np.float64), 0.0, np.arange(max_bin) < top)
    parts = [sketch.Summary(*body[:int(head[0])].T.copy()) for body, head in messages]
    out = sketch.cuts(sketch.merge(parts, total, max_bin), total, max_bin)
    return Cuts(out.values, out.min_value)


def column_cuts(values: np.ndarray, max_bin: int, categorical: bool) -> Cuts:
    """Cuts of a column held whole by one owner: XGBoost's single-machine cuts."""
    return cuts([message(values, max_bin, categorical)], max_bin, categorical)


def bucketize(values: np.ndarray, cuts: Cuts) -> np.ndarray:
    """Bucket index per value (int64), -1 for NaN; values past the last cut go last;
    a categorical value's bucket is its code."""
    if cuts.present is not None:
        return np.where(np.isnan(values), -1, np.nan_to_num(values)).astype(np.int64)
    idx = np.searchsorted(cuts.values, values.astype(np.float32), side="right")
    idx = np.minimum(idx, len(cuts.values) - 1)
    return np.where(np.isnan(values), -1, idx).astype(np.int64)
