"""The XORBoost training algorithm, written once over an arithmetic back end.

`train` runs on any object with `protocols.sharing.Mpc`'s operations: the
secure `Mpc` itself (every value a secret share) or `PlainRing`
(`protocols.xorboost.plain`), which computes the same ring values in the clear
and is the plaintext fixed-point reference of the exact secure algorithm.

Level-wise, all nodes of a level at once, with public control flow (every
level costs the same whatever the data):

* gradients and hessians per sample (`gradients`), at 2^-F (`precision`);
* membership M (n x K, K = 2^level): secret 0/1, one column per node;
* histograms: [M_left g | M_left h]^T (2K' x n) @ Y (n x d*B), Y the bucket
  indicators, a constant operand the owners masked once (`fixedmask`); only
  the left children's (K' = K/2) are computed, the right ones are the
  parent's minus the left (XGBoost's subtraction trick); node totals and
  sample counts are local sums;
* split choice (`splits`): exact left statistics per candidate
  (`candidates`), validity, gains relative to the node's size, an argmax
  that keeps the first of exactly tied candidates; the selection is one-hot;
* go-left bits: the values operand V (n x ~d: per feature its bucket or
  category, coded for missing values) times a public map of the selection
  gives each sample's value minus the chosen bucket at the chosen feature;
  one batch of comparisons turns it into the go-left bit (`GoLeft`); then
  M_left = M * left, M_right = M - M_left: no sample's path is ever opened.
  "No split" sends everyone left;
* leaves (`leaf_weights`): the chosen splits' statistics give the children's
  sums, w = -eta G / (H + lambda), 0 where H < min_child_weight (XGBoost's
  CalcWeight); margin += M @ w.

Thresholds: owners share one split value per candidate; the threshold of each
node is the selection dotted with them (revealed only with the model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from protocols.sharing.ring import const, encode
from protocols.xorboost.candidates import Candidates
from protocols.xorboost.gradients import base_margin, gradients
from protocols.xorboost.inverse import (
    EXP_BITS,
    MANTISSA_BITS,
    reciprocal,
    rescale,
    times_power,
)
from protocols.xorboost.precision import Precision
from protocols.xorboost.splits import best_splits

Objective = Literal["binary:logistic", "reg:squarederror"]


@dataclass(frozen=True)
class Hyper:
    """XGBoost's hyper-parameters, by XGBoost's names."""

    n_estimators: int = 2
    max_depth: int = 3
    learning_rate: float = 0.3
    reg_lambda: float = 1.0
    gamma: float = 0.0
    min_child_weight: float = 1.0
    max_bin: int = 16
    objective: Objective = "binary:logistic"
    base_score: float = 0.5


def _public(ops: Any, shape: tuple[int, ...], value: Any) -> Any:
    return ops.add_public(ops.zeros(shape), value)


def _interleave(a: Any, b: Any, axis: int) -> Any:
    """[a_0, b_0, a_1, b_1, ...] along `axis` (left and right children in heap order)."""
    both = np.stack([a, b], axis=axis + 1)
    shape = list(a.shape)
    shape[axis] *= 2
    return both.reshape(shape)


async def go_left(ops: Any, values: Any, sel: Any, cands: Candidates) -> Any:
    """(n, K) 0/1: whether each sample goes left at each node's selected split."""
    gl = cands.go_left
    K = sel.shape[0]
    w = np.concatenate([ops.matmul_public(sel, m).T for m in gl.maps], axis=1)
    s = await values.left(w)  # (n, groups * K)
    n = s.shape[0]
    s1 = ops.add(s[:, :K], ops.matmul_public(sel, gl.s1_const[:, None])[:, 0])
    if gl.s2_map is None:
        return await ops.lt_public(s1, const(1))
    s2 = ops.add(s[:, K:2 * K], ops.matmul_public(sel, gl.s2_const[:, None])[:, 0])
    bits = await ops.lt_public(np.stack([s1, s2, s2]),
                               np.array([1, 1, 0], np.uint64)[:, None, None])
    left = ops.sub(bits[0], ops.sub(bits[1], bits[2]))
    if gl.mb_map is not None:
        left = ops.sub(left, s[:, 2 * K:3 * K])
    assert left.shape == (n, K)
    return left


async def leaf_weights(ops: Any, g: Any, h: Any, hp: Any, prec: Precision, n: int) -> Any:
    """(L,) leaf values -eta G / (H + lambda) at scale 2^F, 0 where H < min_child_weight.

    G / (H + lambda) = (G / m) 2^-(e+k) with the reciprocal in parts; G / m
    exactly (to a unit of 2^-F) by splitting G = G1 2^s + G0 so that both
    products with the mantissa's reciprocal (P + k bits) fit (2 products, 2
    truncations). Independent steps share rounds (`Mpc.gather`): the split of G
    with the reciprocal, the two truncations, the validity comparison with all.
    """
    f, p = prec.frac, MANTISSA_BITS
    sum_bits = math.ceil(math.log2(max(2.0, n * 2.0 ** prec.g_bits))) + f
    s = max(1, sum_bits + p + EXP_BITS + 2 - 61)

    async def weights() -> Any:
        d = ops.add_public(h, encode(hp.reg_lambda, f))
        recip, g1 = await ops.gather(reciprocal(ops, d, prec.d_lo, prec.d_hi, f),
                                     ops.trunc(g, s))
        g0 = ops.sub(g, ops.mul_public(g1, 1 << s))
        prods = await ops.mul(np.stack([g1, g0]), np.stack([recip.y, recip.y]))
        spread = int(recip.exps[-1] - recip.exps[0])
        excess = max(0, sum_bits + EXP_BITS + 1 + spread - 60)
        q = ops.add(*await ops.gather(ops.trunc(prods[0], p - s + excess),
                                      ops.trunc(prods[1], p + excess)))
        w = await rescale(ops, await times_power(ops, recip, q),
                          int(recip.exps[-1]) + EXP_BITS - excess)
        return await ops.trunc(
            ops.mul_public(w, int(encode(-hp.learning_rate, f).view(np.int64))), f)

    thr = max(int(encode(max(hp.min_child_weight, 0.0), f)), 1)
    w, below = await ops.gather(weights(), ops.lt_public(h, const(thr)))
    valid = ops.sub(_public(ops, h.shape, const(1)), below)
    return await ops.mul(valid, w)


async def train(ops: Any, buckets: Any, values: Any, y: Any, split_values: Any, exists: Any,
                cands: Candidates, hp: Any, prec: Precision) -> dict[str, list[Any]]:
    """Train `hp.n_estimators` trees; returns shares of each tree's selections (per
    level), thresholds (per level) and leaf weights.

    buckets: the bucket indicators as a constant operand (`right` products);
    values: the per-sample values operand (`left` products); y (n,) labels at
    scale 2^F; split_values (C + 1,) the candidates' split values;
    exists (C,) the "category exists" flags, or None. Phase labels per tree
    and level come from the party when `ops` has one.
    """
    n, f = y.shape[0], ops.frac_bits
    phase = getattr(getattr(ops, "party", None), "phase", None)
    margin = _public(ops, (n,), encode(base_margin(hp.objective, hp.base_score), f))
    out: dict[str, list[Any]] = {"selections": [], "thresholds": [], "leaves": []}
    shape = (2, 1, cands.d, cands.max_bin)
    with _label(phase, "preprocessing"):  # every tree's histogram rows: 2 + sum 2^l = 2^D
        await buckets.reserve(hp.n_estimators << hp.max_depth)
    for t in range(hp.n_estimators):
        with _label(phase, f"tree{t}.gradients"):
            gh = await gradients(ops, margin, y, hp.objective, hp.base_score, t == 0)
        member = _public(ops, (n, 1), const(1))
        count = _public(ops, (1,), const(n))
        for level in range(hp.max_depth):
            with _label(phase, f"tree{t}.level{level}"):
                if level == 0:
                    hist = (await buckets.right(gh.T)).reshape(shape)
                    total = ops.sum(gh, axis=0)[:, None]
                else:
                    z = await ops.mul(member[:, 0::2].T[None, :, :],
                                      gh.T[:, None, :])  # (2, K', n): left children
                    part = (await buckets.right(z.reshape(-1, n))).reshape(
                        (2, -1) + shape[2:])
                    hist = _interleave(part, ops.sub(hist, part), axis=1)
                    left_total = ops.sum(z, axis=2)
                    total = _interleave(left_total, ops.sub(total, left_total), axis=1)
                    left_count = ops.sum(member[:, 0::2], axis=0)
                    count = _interleave(left_count, ops.sub(count, left_count), axis=0)
                last = level == hp.max_depth - 1
                sel, chosen = await best_splits(ops, hist, total, count, exists, cands, hp,
                                                prec, children=last)
                out["selections"].append(sel)
                threshold, left = await ops.gather(ops.matmul(sel, split_values),
                                                   go_left(ops, values, sel, cands))
                out["thresholds"].append(threshold)
                to_left = left if level == 0 else await ops.mul(member, left)
                member = _interleave(to_left, ops.sub(member, to_left), axis=1)
        with _label(phase, f"tree{t}.leaves"):
            sums = _interleave(chosen, ops.sub(total, chosen), axis=1)  # (2, L)
            w = await leaf_weights(ops, sums[0], sums[1], hp, prec, n)
            margin = ops.add(margin, await ops.matmul(member, w))
            out["leaves"].append(w)
    return out


class _label:
    """`party.phase(name)` when there is a party, else nothing."""

    def __init__(self, phase: Any, name: str):
        self._cm = phase(name) if phase is not None else None

    def __enter__(self) -> None:
        if self._cm is not None:
            self._cm.__enter__()

    def __exit__(self, *exc: Any) -> None:
        if self._cm is not None:
            self._cm.__exit__(*exc)
