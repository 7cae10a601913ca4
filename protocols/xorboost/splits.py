"""Choosing each node's split on shares, as XGBoost's `hist` chooses it.

For every node of a level (K nodes at once) and every candidate of
`protocols.xorboost.candidates` (C per node, plus "no split"):

* left statistics from the node's bucket sums (local), right = total - left;
* validity: H_L >= min_child_weight and H_R >= min_child_weight (exact
  comparisons of exact sums; a side with a zero hessian sum is never valid,
  as XGBoost refuses such splits), and for ONE_MISS candidates the category
  exists (an owner's flag);
* score G_L^2/(H_L+lambda) + G_R^2/(H_R+lambda), computed relative to the node:
  every G is first scaled by 2^-ceil(log2 c), c the node's sample count (so a
  node of 10 samples gets the same relative precision as the root), then
  term = G_s^2 / (H+lambda) with the reciprocal in parts (`inverse`);
  invalid candidates score -2^60;
* "no split" scores the node's own term plus max(gamma, 1e-6) (XGBoost splits
  when the loss change exceeds 1e-6 and is at least gamma), in the same units;
* argmax (`argmax_first`): a tournament in which the later candidate wins only
  if its score is higher AND its exact left statistics (G_L, H_L) differ from
  the earlier one's, also mirrored (G_L, H_L) = (G - G_L', H - H_L'). Exact
  ties (identical partitions of the node's statistics, mirrored one-hot
  splits) thus go to the first candidate in XGBoost's order, whatever the
  truncation noise, and no offset biases any gain.

Remaining error bound. The scores carry fixed-point noise: G_s has resolution
2^-a (a = `Precision.gain_frac`, 30 for logistic) relative to c g_max, the
reciprocal a relative error below 2^-25, and each truncation one unit. A
split therefore equals XGBoost's unless two candidates with different left
statistics have gains within about 2^-24 of the node's larger term (plus
XGBoost's own float32 rounding of the gains, about 6e-8 of a term), or a gain
lies that close to max(gamma, 1e-6). Gradients differ from XGBoost's by the
sigmoid's error (2.6e-8 + a few 2^-F, `gradients`), which moves a sum over c
samples by about c 1e-7.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from protocols.sharing.ring import RING, const, encode
from protocols.xorboost.candidates import Candidates
from protocols.xorboost.inverse import (
    MANTISSA_BITS,
    Reciprocal,
    reciprocal,
    rescale,
    times_power,
)
from protocols.xorboost.precision import BIG, RT_EPS, Precision


def _public(ops: Any, shape: tuple[int, ...], value: Any) -> Any:
    return ops.add_public(ops.zeros(shape), value)


def count_onehot(below: Any, ops: Any) -> Any:
    """One-hot (K, E + 1) of e = ceil(log2 count) from b_e = [count <= 2^e], e < E."""
    ones = _public(ops, below.shape[:-1] + (1,), const(1))
    at_most = np.concatenate([below, ones], axis=-1)  # [count <= 2^e], e = 0..E
    prev = np.concatenate([ops.zeros(ones.shape), at_most[..., :-1]], axis=-1)
    return ops.sub(at_most, prev)


async def node_terms(ops: Any, g: Any, recip: Reciprocal, scale: Any, prec: Precision) -> Any:
    """G^2 / (H + lambda) 4^-e_k 2^score_scale for shares g (scale 2^F) with `recip` the
    reciprocal of H + lambda, whose node's count exponent e_k gives the integer
    `scale` = 2^(E - e_k), broadcast to g."""
    f, a, top = prec.frac, prec.gain_frac, prec.count_bits
    g_scaled = await ops.mul(g, scale)  # G 2^(E - e_k), scale 2^F
    g_s = await rescale(ops, g_scaled, f + top - a)  # |G_s| <= g_max, scale 2^a
    q = await ops.trunc(await ops.mul(g_s, recip.y), MANTISSA_BITS)  # G_s / m, scale 2^a
    u = await ops.trunc(await ops.mul(g_s, q), prec.square_shift)
    return await times_power(ops, recip, u)


async def best_splits(ops: Any, hist: Any, total: Any, count: Any, exists: Any,
                      cands: Candidates, hp: Any, prec: Precision, children: bool = False
                      ) -> tuple[Any, Any]:
    """One-hot selection (K, C + 1) of each node's split (module docstring), and
    with `children` the (2, K) left sums of the chosen splits (1 more round).

    hist (2, K, d, B): bucket sums of g and h; total (2, K); count (K,) sample
    counts; exists (C,) shares of the owners' "category exists" flags, or None.
    """
    f = prec.frac
    K, C, top = hist.shape[1], cands.count, prec.count_bits
    left = cands.left_stats(ops, hist, total)  # (2, K, C)
    right = ops.sub(np.broadcast_to(total[:, :, None], left.shape), left)
    thr = max(int(encode(max(hp.min_child_weight, 0.0), f)), 1)
    powers = np.array([(1 << e) + 1 for e in range(top)], np.int64)
    h = np.concatenate([left[1].ravel(), right[1].ravel(), total[1]])
    d = ops.add_public(h, encode(hp.reg_lambda, f))
    below, recip = await ops.gather(  # independent: in the same rounds
        ops.lt_public(
            np.concatenate([left[1].ravel(), right[1].ravel(), np.repeat(count, top)]),
            np.concatenate([np.full(2 * K * C, thr, np.int64), np.tile(powers, K)]).view(RING)),
        reciprocal(ops, d, prec.d_lo, prec.d_hi, f))
    onehot = count_onehot(below[2 * K * C:].reshape(K, top), ops)  # (K, E + 1)
    scale = ops.sum(ops.mul_public(onehot, 1 << (top - np.arange(top + 1))), axis=1)
    g = np.concatenate([left[0].ravel(), right[0].ravel(), total[0]])
    node = np.concatenate([np.repeat(np.arange(K), C), np.repeat(np.arange(K), C),
                           np.arange(K)])
    terms = await node_terms(ops, g, recip, scale[node], prec)
    split = ops.add(terms[:K * C], terms[K * C:2 * K * C]).reshape(K, C)
    ones = _public(ops, (K, C), const(1))
    ok_left = ops.sub(ones, below[:K * C].reshape(K, C))
    ok_right = ops.sub(ones, below[K * C:2 * K * C].reshape(K, C))
    plus_big = ops.add_public(split, const(BIG))
    if exists is None:
        ok, shifted = ok_left, await ops.mul(ok_right, plus_big)
    else:  # one round for both: [ok_L * exists, ok_R * (split + BIG)]
        pair = await ops.mul(np.stack([ok_left, ok_right]),
                             np.stack([np.broadcast_to(exists, (K, C)), plus_big]))
        ok, shifted = pair[0], pair[1]
    score = ops.add_public(await ops.mul(ok, shifted), const(-BIG))
    table = np.array(prec.gain_threshold(max(hp.gamma, RT_EPS)), np.int64)
    nosplit = ops.add(terms[2 * K * C:], ops.sum(ops.mul_public(onehot, table), axis=1))
    scores = np.concatenate([score, nosplit[:, None]], axis=1)
    key_g = np.concatenate([left[0], ops.zeros((K, 1))], axis=1)
    key_h = np.concatenate([left[1], _public(ops, (K, 1), const(-1))], axis=1)
    sel = await argmax_first(ops, scores, key_g, key_h, total)
    if not children:
        return sel, None
    stats = np.concatenate([left, total[:, :, None]], axis=2)  # "no split": all left
    return sel, ops.sum(await ops.mul(sel[None], stats), axis=2)


async def argmax_first(ops: Any, x: Any, key_g: Any, key_h: Any, total: Any) -> Any:
    """One-hot of each row's best entry of x (K, k): the highest score, and among
    entries whose keys (G_L, H_L) are equal, or mirrored through the row's totals
    (2, K), the first. A tournament over neighbours: per level one batch of lt and
    one of eq in the same rounds (8), three products for the tie test and the
    winner bits, one for carrying the winners: 12 rounds, ceil(log2 k) levels.
    """
    k = x.shape[-1]
    node = np.arange(k)
    tg, th = total[0][:, None], total[1][:, None]
    one = _public(ops, x.shape[:-1] + (1,), const(1))
    vals = np.stack([x, key_g, key_h], axis=-1)
    onehot = None
    while vals.shape[-2] > 1:
        width = vals.shape[-2]
        pairs = width // 2
        lo, hi = vals[:, 0:2 * pairs:2], vals[:, 1:2 * pairs:2]
        mirror_g = ops.sub(np.broadcast_to(tg, hi[..., 1].shape), hi[..., 1])
        mirror_h = ops.sub(np.broadcast_to(th, hi[..., 2].shape), hi[..., 2])
        greater, same = await ops.gather(  # independent: in the same rounds
            ops.lt(lo[..., 0], hi[..., 0]),
            ops.eq(np.stack([lo[..., 1], lo[..., 2], lo[..., 1], lo[..., 2]]),
                   np.stack([hi[..., 1], hi[..., 2], mirror_g, mirror_h])))
        both = await ops.mul(same[[0, 2]], same[[1, 3]])  # equal, mirrored
        ones = _public(ops, greater.shape, const(1))
        not_tie = await ops.mul(ops.sub(ones, both[0]), ops.sub(ones, both[1]))
        win = await ops.mul(greater, not_tie)  # the later entry wins
        paired = node < 2 * pairs
        parent = np.minimum(node // 2, pairs - 1)
        w = win[:, parent]
        factor = np.where((node % 2 == 1)[None, :], w, ops.sub(one, w))
        factor = np.where(paired[None, :], factor, one)
        diff = ops.sub(hi, lo)
        if onehot is None:
            picked = await ops.mul(win[..., None], diff)
            onehot = factor
        else:
            both_ = await ops.mul(
                np.concatenate([np.broadcast_to(win[..., None], diff.shape).reshape(
                    win.shape[0], -1), onehot], axis=-1),
                np.concatenate([diff.reshape(diff.shape[0], -1), factor], axis=-1))
            picked = both_[:, :3 * pairs].reshape(diff.shape)
            onehot = both_[:, 3 * pairs:]
        new = ops.add(lo, picked)
        if width % 2:
            new = np.concatenate([new, vals[:, -1:]], axis=1)
        vals = new
        node = np.where(paired, node // 2, pairs)
    if onehot is None:
        onehot = np.broadcast_to(one, x.shape).copy()
    return onehot
