"""XGBoost's quantile sketch (``hist`` cut points), single-machine and merged, in numpy.

A port of XGBoost's ``WQSummary`` / ``WQuantileSketch`` (src/common/quantile.h)
and of how ``SketchContainerImpl`` turns sketches into cut points, locally and
across workers (src/common/quantile.cc, version 3.2), with float32 values and
float32 ranks, operation for operation, so that the cut points equal XGBoost's
bit for bit:

* `local_sketch`: one worker's column pushed value by value in row order into a
  sketch of precision eps = 1 / (8 min(max_bin, n)) (exact while the queue of
  2 limit_size entries holds the column, then merged level by level), its
  summary pruned to min(total count, 8 max_bin) entries (`Summary.prune`);
* `merge`: the workers' summaries reduced in rank order (combine, then prune
  to that size), as XGBoost's distributed ``AllReduce`` does;
* `cuts`: the final prune to max_bin + 1 entries, then ``AddCutPoint`` and the
  last cut v + |v| + 1e-5, and ``MinValues``.

With one worker this is XGBoost's single-machine sketch; with the owners of a
column as workers it is XGBoost's distributed training on that row partition
(the same summaries exchanged), with its error guarantee (eps-approximate ranks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

F32 = np.float32
EPS = 1e-5
FACTOR = 8
"""XGBoost's ``WQSketch::kFactor``."""


@dataclass
class Summary:
    """A weighted quantile summary: per entry rmin, rmax, wmin (float32) and value."""

    rmin: np.ndarray
    rmax: np.ndarray
    wmin: np.ndarray
    value: np.ndarray

    @classmethod
    def empty(cls) -> Summary:
        z = np.zeros(0, F32)
        return cls(z, z, z, z)

    @classmethod
    def exact(cls, values: np.ndarray, weights: np.ndarray) -> Summary:
        """``Queue::MakeSummary``: distinct values with their summed weights."""
        order = np.argsort(values, kind="stable")
        v, w = values[order].astype(F32), weights[order].astype(F32)
        uniq, start = np.unique(v, return_index=True)
        wsum = np.add.reduceat(w, start).astype(F32) if v.size else np.zeros(0, F32)
        rmin = np.concatenate([[F32(0)], np.cumsum(wsum, dtype=F32)[:-1]]).astype(F32)
        return cls(rmin, (rmin + wsum).astype(F32), wsum, uniq.astype(F32))

    @property
    def size(self) -> int:
        return len(self.value)

    def rmin_next(self) -> np.ndarray:
        return (self.rmin + self.wmin).astype(F32)

    def rmax_prev(self) -> np.ndarray:
        return (self.rmax - self.wmin).astype(F32)

    def take(self, idx: np.ndarray) -> Summary:
        return Summary(self.rmin[idx], self.rmax[idx], self.wmin[idx], self.value[idx])

    def prune(self, maxsize: int) -> Summary:
        """``SetPrune``: at most `maxsize` entries at evenly spaced ranks."""
        if self.size <= maxsize:
            return self
        begin = self.rmax[0]
        span = F32(self.rmin[-1] - self.rmax[0])
        n = maxsize - 1
        k = np.arange(1, n, dtype=np.float64).astype(F32)
        dx2 = (F32(2) * ((k * span) / F32(n) + begin)).astype(F32)
        mid = (self.rmax + self.rmin).astype(F32)
        # first i >= 1 with dx2 < mid[i + 1]: while loops of the C++ code
        i = np.searchsorted(mid[2:], dx2, side="right") + 1
        i = np.minimum(i, self.size - 1)
        stop = np.flatnonzero(i == self.size - 1)
        if stop.size:
            i, dx2 = i[:stop[0]], dx2[:stop[0]]
        nxt, prv = self.rmin_next(), self.rmax_prev()
        choice = np.where(dx2 < (nxt[i] + prv[np.minimum(i + 1, self.size - 1)]).astype(F32),
                          i, i + 1)
        keep = choice[np.concatenate([[True], choice[1:] != choice[:-1]])] if choice.size \
            else choice
        keep = keep[keep != 0]
        idx = np.concatenate([[0], keep])
        if idx[-1] != self.size - 1:
            idx = np.append(idx, self.size - 1)
        return self.take(idx)

    def combine(self, other: Summary) -> Summary:
        """``SetCombine``: the merged summary of two (ranks add up)."""
        if self.size == 0:
            return other
        if other.size == 0:
            return self
        a_part = _one_side(self, other)
        b_part = _one_side(other, self, skip_common=True)
        rmin, rmax, wmin, value = (np.concatenate([x, y]) for x, y in zip(a_part, b_part,
                                                                          strict=True))
        order = np.argsort(value, kind="stable")
        return Summary(rmin[order], rmax[order], wmin[order], value[order])


def _one_side(a: Summary, b: Summary, skip_common: bool = False
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The merged entries of a's values (`SetCombine`): common values add both sides'
    ranks; others add the other side's rmin_next before and rmax_prev after (its last
    rmax past its end)."""
    j = np.searchsorted(b.value, a.value, side="left")
    common = (j < b.size) & (b.value[np.minimum(j, b.size - 1)] == a.value)
    b_next, b_prev = b.rmin_next(), b.rmax_prev()
    before = np.where(j > 0, b_next[np.maximum(j - 1, 0)], F32(0)).astype(F32)
    after = np.where(j < b.size, b_prev[np.minimum(j, b.size - 1)], b.rmax[-1]).astype(F32)
    jc = np.minimum(j, b.size - 1)
    rmin = np.where(common, a.rmin + b.rmin[jc], a.rmin + before).astype(F32)
    rmax = np.where(common, a.rmax + b.rmax[jc], a.rmax + after).astype(F32)
    wmin = np.where(common, a.wmin + b.wmin[jc], a.wmin).astype(F32)
    keep = ~common if skip_common else np.ones(a.size, bool)
    return rmin[keep], rmax[keep], wmin[keep], a.value[keep]


def _limit(n: int, eps: float) -> int:
    """``LimitSizeLevel``: the summary size of a sketch of n values at precision eps."""
    level = 1
    while True:
        limit = min(n, math.ceil(level / eps) + 1)
        if (1 << level) * limit >= n:
            return limit
        level += 1


def local_sketch(values: np.ndarray, max_bin: int) -> tuple[Summary, int]:
    """One worker's summary of a column (NaN skipped, row order kept) and its count.

    ``WQuantileSketch`` with eps = 1 / (8 min(max_bin, n)): the queue holds
    2 limit_size runs of values (a run: consecutive equal values); when full, its
    exact summary is pruned to limit_size and merged up the levels.
    """
    v = values[~np.isnan(values)].astype(F32)
    n = v.size
    if n == 0:
        return Summary.empty(), 0
    eps = 1.0 / (max(min(max_bin, n), 1) * FACTOR)
    limit = _limit(n, eps)
    # the queue holds `capacity` runs (consecutive equal values merge); a full queue is
    # flushed up the levels when the next run starts, the last one stays for GetSummary
    runs = np.flatnonzero(np.concatenate([[True], v[1:] != v[:-1]]))
    capacity = 2 * limit
    starts = runs[::capacity]
    chunks = list(zip(starts, [*starts[1:], n], strict=True))
    levels: list[Summary] = []
    for lo, hi in chunks[:-1]:
        levels = _push_temp(levels, Summary.exact(v[lo:hi], np.ones(hi - lo, F32)), limit)
    lo, hi = chunks[-1]
    out = Summary.exact(v[lo:hi], np.ones(hi - lo, F32))
    acc = out.prune(limit)
    if not levels:
        return acc, n
    for lev in levels:
        if lev.size == 0:
            continue
        acc = lev if acc.size == 0 else acc.combine(lev).prune(limit)
    return acc, n


def _push_temp(levels: list[Summary], temp: Summary, limit: int) -> list[Summary]:
    """``PushTemp``: merge a full queue's summary up the levels (levels[0] is level 1)."""
    levels = list(levels)
    for lev in range(len(levels) + 1):
        if lev == len(levels):
            levels.append(Summary.empty())
        if levels[lev].size == 0:
            levels[lev] = temp.prune(limit)
            return levels
        temp = temp.prune(limit).combine(levels[lev])
        if temp.size > limit:
            levels[lev] = Summary.empty()
        else:
            levels[lev] = temp
            return levels
    return levels


def intermediate(total: int, max_bin: int) -> int:
    """The size summaries are pruned to before and after the merge."""
    return min(total, max_bin * FACTOR)


def merge(summaries: list[Summary], total: int, max_bin: int) -> Summary:
    """XGBoost's ``AllReduce`` of the workers' (already pruned) summaries, in rank order."""
    size = intermediate(total, max_bin)
    out = Summary.empty()
    for s in summaries:
        out = out.combine(s).prune(size)
    return out.prune(size)


@dataclass(frozen=True)
class ColumnCuts:
    """XGBoost's cut points of a numerical column and its ``MinValues`` entry."""

    values: np.ndarray
    min_value: float


def cuts(reduced: Summary, total: int, max_bin: int) -> ColumnCuts:
    """``MakeCuts`` from the reduced summary of a column of `total` values."""
    if total == 0:
        m = F32(EPS)
        return ColumnCuts(np.array([float(_beyond(m))]), float(m))
    bins = min(intermediate(total, max_bin), max_bin)
    a = reduced.prune(bins + 1)
    m = float(a.value[0])
    min_value = float(F32(m - abs(m) - float(F32(EPS))))
    out: list[np.float32] = []
    for i in range(1, min(a.size, bins)):
        if i == 1 or a.value[i] > out[-1]:
            out.append(a.value[i])
    out.append(_beyond(a.value[-1]))
    return ColumnCuts(np.array(out, np.float64), min_value)


def _beyond(v: np.float32) -> np.float32:
    """The last cut v + (|v| + 1e-5), computed in double as XGBoost's ``fabs`` does."""
    return F32(float(v) + (abs(float(v)) + float(F32(EPS))))
