"""The XORBoost training algorithm, written once over an arithmetic back end.

`train` runs on any object with `protocols.sharing.Mpc`'s operations: the
secure `Mpc` itself (every value a secret share) or `PlainRing`
(`protocols.xorboost.plain`), which computes the same ring values in the clear
and is the plaintext fixed-point reference of the exact secure algorithm.

Level-wise, all nodes of a level at once, with public control flow (every
level costs the same whatever the data):

* gradients: logistic g = p - y, h = p(1 - p) with p a piecewise-cubic
  sigmoid (`sigmoid_pieces`: error 6.4e-5 on [-8, 8] with 16 pieces, 3.4e-4
  outside); squared error g = margin - y, h = 1. Both are
  scaled by 2^-s, s = max(0, ceil(log2(n * g_max)) - 9), so that every node
  sum |G| <= 2^9 and G^2 fits the ring (|x| < 2^62 before truncation).
* membership M (n x K, K = 2^level): secret 0/1, one column per node.
* histograms: [M*g | M*h]^T (2K x n) @ onehot (n x d*B): one matrix product,
  with the constant one-hot operand opened once against a fixed mask
  (`fixedmask`), so a level opens only the 2K x n left operand.
* split statistics: left sums are prefix sums over buckets (numerical) or the
  complement of one category (categorical: that category goes right); right =
  node total - left. All local.
* gain G_L^2/(H_L+lambda) + G_R^2/(H_R+lambda) - G^2/(H+lambda) with one
  batched high-precision reciprocal (`inverse`: relative error 2^-25, so
  only splits whose gains differ by less than ~1e-6 of the terms can flip);
  candidates with H_L or H_R below min_child_weight, or whose own bucket is
  empty in the node (the same partition as a lower bucket: XGBoost keeps the
  lowest), get a score of -BIG; a "no split" candidate scores gamma, last;
  public offsets (`tie_bias`) send exact ties to the lowest feature, as
  XGBoost does, despite the truncation noise.
* secure argmax over the d*B+1 candidates of each node -> one-hot selection.
* membership update: go-left bits = [prefix/complement indicators | 1] @
  selection^T (one matrix product, constant left operand as above),
  M_left = M * left, M_right = M - M_left:
  no sample's path is ever opened. "No split" sends everyone left.
* leaves: w = -eta * G / (H + lambda) by the same reciprocal; margin += M @ w.

Thresholds: owners share their cut values; the threshold of each node is the
selection dotted with them (revealed only with the model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from protocols.sharing.ring import RING, const, encode, signed
from protocols.xorboost.fixedmask import FixedOperand
from protocols.xorboost.inverse import inverse, inverse_extra_bits

Objective = Literal["binary:logistic", "reg:squarederror"]
SIGMOID_RANGE = 8.0
SIGMOID_EXTRA_BITS = 8
"""Extra fractional bits of the sigmoid's coefficients (x^3 reaches 512 on [-8, 8])."""
GAIN_FLOOR = 2.0**36
"""The score of an invalid candidate is -GAIN_FLOOR (fixed point), far below any gain."""


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
    sigmoid_segments: int = 16


@dataclass(frozen=True)
class Shape:
    """Public sizes: samples, features, which features are categorical."""

    n: int
    categorical: tuple[bool, ...]

    @property
    def d(self) -> int:
        return len(self.categorical)


def grad_bound(objective: str) -> float:
    """|g| per sample: 1 for logistic; squared error assumes standardized labels."""
    return 1.0 if objective == "binary:logistic" else 4.0


def scale_shift(n: int, objective: str) -> int:
    """s such that n * g_max / 2^s <= 2^9 (so G^2 and the gain fit the ring)."""
    return max(0, math.ceil(math.log2(max(1.0, n * grad_bound(objective)))) - 9)


def hess_bound(n: int, hp: Hyper, shift: int) -> float:
    """The largest scaled hessian sum: n/4 (logistic) or n (squared error), over 2^shift."""
    return n * (0.25 if hp.objective == "binary:logistic" else 1.0) / 2.0**shift


def base_margin(hp: Hyper) -> float:
    if hp.objective == "binary:logistic":
        return math.log(hp.base_score / (1 - hp.base_score))
    return hp.base_score


def sigmoid_pieces(segments: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Knots t_j, the pieces' coefficients P_j (S+2, 4: powers 0..3) and the left value.

    f(x) = sigma(t_0) + sum_j [x >= t_j] D_j(x), D_j = P_j - P_{j-1}: a least-squares
    cubic P_j on each of the `segments` pieces of [-8, 8], constants sigma(-8) and
    sigma(8) outside. Max error with 16 pieces: 6.4e-5 inside, 3.4e-4 outside.
    """
    knots = np.linspace(-SIGMOID_RANGE, SIGMOID_RANGE, segments + 1)
    sig = 1 / (1 + np.exp(-knots))
    polys = [np.array([sig[0], 0, 0, 0])]
    for a, b in zip(knots[:-1], knots[1:], strict=True):
        xs = np.linspace(a, b, 257)
        polys.append(np.polyfit(xs, 1 / (1 + np.exp(-xs)), 3)[::-1])
    polys.append(np.array([sig[-1], 0, 0, 0]))
    return knots, np.array(polys), float(sig[0])


def encode_threshold_bits(x: np.ndarray) -> np.ndarray:
    """Thresholds as their float32 bit patterns in the ring: a one-hot selection
    dotted with them gives the chosen threshold exactly (no fixed-point rounding)."""
    return np.asarray(x, np.float32).view(np.int32).astype(np.int64).view(RING)


def decode_threshold_bits(u: np.ndarray) -> np.ndarray:
    return signed(u).astype(np.int32).view(np.float32).astype(np.float64)


def threshold_vector(cuts: list[np.ndarray], categorical: tuple[bool, ...], max_bin: int
                     ) -> np.ndarray:
    """Per (feature, bucket): the split value (cut, or category code), padded, then a
    0 for the "no split" slot: (d * max_bin + 1,). Owners encode it with
    `encode_threshold_bits`."""
    out = np.zeros((len(cuts), max_bin))
    for j, c in enumerate(cuts):
        if categorical[j]:
            out[j] = np.arange(max_bin)
        else:
            out[j, : len(c)] = c
            out[j, len(c):] = c[-1]
    return np.concatenate([out.reshape(-1), [0.0]])


def _public(ops: Any, shape: tuple[int, ...], value: np.ndarray | np.uint64) -> np.ndarray:
    return ops.add_public(ops.zeros(shape), value)


async def sigmoid(ops: Any, x: np.ndarray, segments: int) -> np.ndarray:
    """The piecewise-cubic sigmoid of fixed-point shares, for |x| < 100.

    x^2 and x^3 (4 rounds), one batch of lt against the knots (8), one product of
    the bits with the pieces' polynomials evaluated at scale 2^2f (1), one
    truncation by f back to scale 2^f (1): 14 rounds, n (segments + 1) comparisons.
    """
    knots, pieces, left = sigmoid_pieces(segments)
    f, extra = ops.frac_bits, SIGMOID_EXTRA_BITS
    x2 = await ops.mul_fx(x, x)
    x3 = await ops.mul_fx(x2, x)
    # Encode the pieces, then difference the integers: the changes telescope exactly.
    coef = np.diff(signed(encode(pieces, f + extra)), axis=0)  # (S+1, 4), scale 2^(f+e)
    poly = ops.add(ops.add(ops.mul_public(x[:, None], coef[:, 1]),
                           ops.mul_public(x2[:, None], coef[:, 2])),
                   ops.mul_public(x3[:, None], coef[:, 3]))  # scale 2^(2f+e)
    poly = ops.add_public(poly, (coef[:, 0] << f).view(RING))
    below = await ops.lt_public(x[:, None], encode(knots, f))
    above = ops.sub(_public(ops, below.shape, const(1)), below)
    acc = ops.sum(await ops.mul(above, poly), axis=1)
    return ops.add_public(await ops.trunc(acc, f + extra), encode(left, f))


async def gradients(ops: Any, margin: np.ndarray, y: np.ndarray, hp: Hyper, shift: int
                    ) -> np.ndarray:
    """(n, 2): scaled gradient and hessian per sample, fixed point."""
    f = ops.frac_bits
    if hp.objective == "binary:logistic":
        p = await sigmoid(ops, margin, hp.sigmoid_segments)
        g = ops.sub(p, y)
        h = await ops.mul_fx(p, ops.add_public(ops.neg(p), encode(1.0, f)))
    else:
        g = ops.sub(margin, y)
        h = _public(ops, margin.shape, encode(1.0, f))
    gh = np.stack([g, h], axis=1)
    return await ops.trunc(gh, shift) if shift else gh


def split_indicators(ops: Any, onehot: np.ndarray, shape: Shape, max_bin: int) -> np.ndarray:
    """(n, d*B + 1): 1 where a sample goes left at candidate (feature, bucket); a
    last column of ones is the "no split" candidate (everyone left)."""
    n = onehot.shape[0]
    cube = onehot.reshape(n, shape.d, max_bin)
    cat = np.asarray(shape.categorical)
    left = np.cumsum(cube, axis=2, dtype=RING)
    if cat.any():
        comp = ops.sub(_public(ops, cube[:, cat].shape, const(1)), cube[:, cat])
        left[:, cat] = comp
    return np.concatenate([left.reshape(n, -1), _public(ops, (n, 1), const(1))], axis=1)


async def node_sums(ops: Any, member: np.ndarray, gh: np.ndarray) -> np.ndarray:
    """(n, 2, K): M * g and M * h, one Beaver product (M broadcast over g/h)."""
    return await ops.mul(member[:, None, :], gh[:, :, None])


async def fixed_operand(ops: Any, y: np.ndarray) -> Any:
    """`y` as a constant operand of many products (`fixedmask`; plain: as is)."""
    if hasattr(ops, "fixed"):
        return await ops.fixed(y)
    return await FixedOperand.open(ops, y)


async def best_splits(ops: Any, member: np.ndarray, gh: np.ndarray, onehot: Any,
                      shape: Shape, hp: Hyper, shift: int) -> np.ndarray:
    """One-hot selection (K, d*B + 1) of each node's best candidate."""
    f, B = ops.frac_bits, hp.max_bin
    n, K = member.shape
    z = await node_sums(ops, member, gh)
    total = ops.sum(z, axis=0)  # (2, K)
    hist = (await onehot.right(z.reshape(n, 2 * K).T)).reshape(2, K, shape.d, B)
    cat = np.asarray(shape.categorical)
    left = np.cumsum(hist, axis=3, dtype=RING)
    if cat.any():
        left[:, :, cat] = ops.sub(np.broadcast_to(total[:, :, None, None],
                                                  hist[:, :, cat].shape), hist[:, :, cat])
    right = ops.sub(np.broadcast_to(total[:, :, None, None], left.shape), left)
    stats = np.concatenate([left.reshape(2, -1), right.reshape(2, -1), total], axis=1)
    g_all, h_all = stats[0], stats[1]
    lam = hp.reg_lambda / 2.0**shift
    thr = max(encode(max(hp.min_child_weight, 0.0) / 2.0**shift, f), const(1))
    m = K * shape.d * B
    # [H_L < mcw], [H_R < mcw] and [bucket b empty in the node] in one batch
    bucket_h = hist[1].reshape(-1)
    limits = np.concatenate([np.full(2 * m, thr, RING), np.ones(m, RING)])
    below = await ops.lt_public(np.concatenate([h_all[: 2 * m], bucket_h]), limits)
    ones = _public(ops, (m,), const(1))
    cat_slot = np.broadcast_to(cat[None, :, None], (K, shape.d, B)).reshape(-1)
    filled = np.where(cat_slot, ones, ops.sub(ones, below[2 * m:]))
    k = inverse_extra_bits(f, shift, hp.reg_lambda)
    recip = await inverse(ops, ops.add_public(h_all, encode(lam, f)), lam,
                          hess_bound(n, hp, shift) + lam, f + k)
    sq = await ops.mul_fx(g_all, g_all)
    term = await ops.trunc(await ops.mul(sq, recip), f + k)
    parent = np.repeat(term[2 * m:], shape.d * B)
    gain = ops.sub(ops.add(term[:m], term[m: 2 * m]), parent)
    big = encode(GAIN_FLOOR, f)
    pair = await ops.mul(np.concatenate([ops.sub(ones, below[:m]), filled]),
                         np.concatenate([ops.sub(ones, below[m: 2 * m]),
                                         ops.add_public(gain, big)]))
    score = ops.add_public(await ops.mul(pair[:m], pair[m:]), (-signed(big)).view(RING))
    nosplit = _public(ops, (K, 1), encode(hp.gamma / 2.0**shift, f))
    scores = ops.add_public(np.concatenate([score.reshape(K, -1), nosplit], axis=1),
                            tie_bias(shape.d, B, shift, hp.reg_lambda))
    onehot_sel, _ = await ops.argmax(scores)
    return onehot_sel


def tie_bias(d: int, max_bin: int, shift: int, reg_lambda: float) -> np.ndarray:
    """Public score offsets (ring units) so that exact ties go to the lowest feature.

    Candidates of feature j get t * (d - j), "no split" t * d + 1, with t = 16
    units times the noise gain of a unit of G^2 (2^shift / lambda): more than the
    few units of truncation noise that separate two exactly tied gains. A split
    then needs gain > gamma + t * j, and a lower feature wins over a higher one
    unless the latter is better by t per feature index (XGBoost: lowest index on
    exact ties, in float32).
    """
    t = 16 * max(1, math.ceil(2.0**shift / reg_lambda))
    per_feature = np.repeat(t * (d - np.arange(d)), max_bin)
    return np.concatenate([per_feature, [t * d + 1]]).astype(np.int64).view(RING)


async def leaf_weights(ops: Any, member: np.ndarray, gh: np.ndarray, hp: Hyper, shift: int
                       ) -> np.ndarray:
    """(K,) leaf values -eta * G / (H + lambda), fixed point."""
    f, n = ops.frac_bits, member.shape[0]
    total = ops.sum(await node_sums(ops, member, gh), axis=0)
    lam = hp.reg_lambda / 2.0**shift
    k = inverse_extra_bits(f, shift, hp.reg_lambda)
    recip = await inverse(ops, ops.add_public(total[1], encode(lam, f)), lam,
                          hess_bound(n, hp, shift) + lam, f + k)
    w = await ops.trunc(await ops.mul(total[0], recip), f + k)
    return await ops.trunc(ops.mul_public(w, signed(encode(-hp.learning_rate, f))), f)


async def train(ops: Any, onehot: np.ndarray, y: np.ndarray, thresholds: np.ndarray,
                shape: Shape, hp: Hyper) -> dict[str, list[np.ndarray]]:
    """Train `hp.n_estimators` trees on shares; returns shares of each tree's
    selections (per level), thresholds (per level) and leaf weights.

    `phase` labels per tree and level come from the party when `ops` has one.
    """
    n = shape.n
    shift = scale_shift(n, hp.objective)
    f = ops.frac_bits
    phase = getattr(getattr(ops, "party", None), "phase", None)
    with _label(phase, "masking"):
        goes_left = await fixed_operand(ops, split_indicators(ops, onehot, shape, hp.max_bin))
        buckets = await fixed_operand(ops, onehot)  # consumes onehot (overwritten)
    del onehot  # the caller passes its only reference: free it
    margin = _public(ops, (n,), encode(base_margin(hp), f))
    out: dict[str, list[np.ndarray]] = {"selections": [], "thresholds": [], "leaves": []}
    for t in range(hp.n_estimators):
        with _label(phase, f"tree{t}.gradients"):
            gh = await gradients(ops, margin, y, hp, shift)
        member = _public(ops, (n, 1), const(1))
        for level in range(hp.max_depth):
            with _label(phase, f"tree{t}.level{level}"):
                sel = await best_splits(ops, member, gh, buckets, shape, hp, shift)
                left = await goes_left.left(sel.T)
                to_left = await ops.mul(member, left)
                to_right = ops.sub(member, to_left)
                member = np.stack([to_left, to_right], axis=2).reshape(n, -1)
                out["selections"].append(sel)
                out["thresholds"].append(await ops.matmul(sel, thresholds))
        with _label(phase, f"tree{t}.leaves"):
            w = await leaf_weights(ops, member, gh, hp, shift)
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
