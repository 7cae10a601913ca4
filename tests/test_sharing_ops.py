"""Secure operations over the simulator equal the plaintext computation.

Exact for integers; fixed-point results within the bounds stated in the
docstrings (trunc: floor or floor + 1 unit; mul_fx: 2^-f; reciprocal:
2^(4-f)/x + 2^(1-f)). 2 to 7 players, a dealer, and an input party that does
not compute.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.sharing import (
    Mpc,
    NoDealerError,
    ShamirMpc,
    decode,
    encode,
    from_field,
    signed,
    to_field,
    to_ring,
)
from protocols.sharing.harness import run_mpc
from sim import PartyFailure
from sim.testing import bits_balanced, run

SETTINGS = settings(max_examples=25, deadline=None)
players = st.integers(2, 7)
small_ints = st.integers(-(2**30), 2**30)


def int_vectors(min_size=1, max_size=6):
    return st.lists(st.tuples(small_ints, small_ints), min_size=min_size, max_size=max_size)


@SETTINGS
@given(n=players, pairs=int_vectors(), k=st.integers(-1000, 1000), seed=st.integers(0, 2**16))
def test_integer_ops_are_exact(n, pairs, k, seed):
    xv = np.array([p[0] for p in pairs], dtype=np.int64)
    yv = np.array([p[1] for p in pairs], dtype=np.int64)
    yv[::3] = xv[::3]  # some equal pairs for eq
    owner = n + 1  # the input party after the dealer: shares but does not compute
    L = len(xv)

    async def body(m: Mpc):
        me = m.party.id
        x = await m.share(0, to_ring(xv) if me == 0 else None, (L,))
        y = await m.share(owner, to_ring(yv) if me == owner else None, (L,))
        lt = await m.lt(x, y)
        outs = [
            m.add(x, y), m.sub(x, y), m.neg(x), m.mul_public(x, k), m.add_public(x, k),
            await m.mul(x, y), await m.dot(x, y), lt, await m.eq(x, y),
            await m.select(lt, x, y), await m.trunc(m.mul_public(x, 1000), 5),
            await m.mul(x[:, None], y[None, :]),
            await m.matmul(x[None, :], np.stack([y, x], axis=1)),
        ]
        return [await m.reveal(o, to=owner) for o in outs]

    got = run_mpc(n, body, extra=1, seed=seed).outputs[owner]
    got = [signed(g) for g in got]
    x, y = xv, yv
    want = [x + y, x - y, -x, x * k, x + k, x * y, np.array(np.dot(x, y)), x < y, x == y,
            np.minimum(x, y)]
    for g, w in zip(got, want, strict=False):
        assert np.array_equal(g, np.asarray(w, dtype=np.int64))
    floor = (x * 1000) >> 5
    assert np.all((got[10] == floor) | (got[10] == floor + 1))
    assert np.array_equal(got[11], np.outer(x, y))
    assert np.array_equal(got[12], x[None, :] @ np.stack([y, x], axis=1))


@SETTINGS
@given(n=players, pairs=st.lists(st.tuples(st.floats(-1000, 1000), st.floats(-1000, 1000)),
                                 min_size=1, max_size=6),
       f=st.integers(10, 20), seed=st.integers(0, 2**16))
def test_fixed_point_mul_within_one_unit(n, pairs, f, seed):
    xv, yv = (np.array([p[i] for p in pairs]) for i in (0, 1))
    L = len(xv)

    async def body(m: Mpc):
        me = m.party.id
        x = await m.share_fx(0, xv if me == 0 else None, (L,))
        y = await m.share_fx(n - 1, yv if me == n - 1 else None, (L,))
        mat = await m.matmul_fx(x[None, :], y[:, None])
        return (await m.reveal_fx(await m.mul_fx(x, y)), await m.reveal_fx(mat),
                await m.reveal(await m.lt(x, y)))

    z, mat, lt = run_mpc(n, body, frac_bits=f, seed=seed).outputs[0]
    xq, yq = decode(encode(xv, f), f), decode(encode(yv, f), f)
    assert np.all(np.abs(z - xq * yq) <= 2.0**-f)
    assert abs(mat[0, 0] - np.dot(xq, yq)) <= 2.0**-f * 1.0000001
    assert np.array_equal(lt, xq < yq)


@SETTINGS
@given(n=players, bits=st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=20),
       seed=st.integers(0, 2**16))
def test_boolean_ops_are_exact(n, bits, seed):
    xv, yv = (np.array([b[i] for b in bits]) for i in (0, 1))
    L = len(xv)

    async def body(m: Mpc):
        me = m.party.id
        x = await m.share(0, xv if me == 0 else None, (L,), bits=True)
        y = await m.share(1, yv if me == 1 else None, (L,), bits=True)
        outs = [await m.and_(x, y), m.xor(x, y), m.not_(x), m.xor_public(x, yv),
                m.and_public(x, yv)]
        opened = [await m.reveal(o) for o in outs]
        return opened + [await m.reveal(await m.b2a(x))]

    got = run_mpc(n, body, seed=seed).outputs[n - 1]
    want = [xv & yv, xv ^ yv, ~xv, xv ^ yv, xv & yv]
    for g, w in zip(got, want, strict=False):
        assert np.array_equal(g, w)
    assert np.array_equal(signed(got[-1]), xv.astype(np.int64))


@SETTINGS
@given(n=players, rows=st.integers(1, 3), k=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_argmax_picks_the_lowest_index_of_the_max(n, rows, k, seed):
    vals = np.random.default_rng(seed).integers(-3, 4, size=(rows, k))  # many ties

    async def body(m: Mpc):
        x = await m.share(0, to_ring(vals) if m.party.id == 0 else None, vals.shape)
        onehot, top = await m.argmax(x)
        return await m.reveal(onehot), await m.reveal(top)

    onehot, top = run_mpc(n, body, seed=seed).outputs[0]
    assert np.array_equal(signed(onehot), np.eye(k, dtype=np.int64)[vals.argmax(axis=-1)])
    assert np.array_equal(signed(top), vals.max(axis=-1))


@settings(max_examples=10, deadline=None)
@given(n=players, lo_exp=st.integers(-8, 4), span=st.integers(0, 10),
       f=st.sampled_from([16, 20]), seed=st.integers(0, 2**16))
def test_reciprocal_and_division_within_stated_bound(n, lo_exp, span, f, seed):
    rng = np.random.default_rng(seed)
    lo, hi = 2.0**lo_exp * 1.1, 2.0 ** (lo_exp + span) * 1.7
    xv = np.exp(rng.uniform(np.log(lo), np.log(hi), 12))
    av = rng.uniform(-10, 10, 12)

    async def body(m: Mpc):
        me = m.party.id
        x = await m.share_fx(0, xv if me == 0 else None, xv.shape)
        a = await m.share_fx(0, av if me == 0 else None, av.shape)
        return await m.reveal_fx(await m.reciprocal(x, lo, hi)), await m.reveal_fx(
            await m.div(a, x, lo, hi))

    inv, quo = run_mpc(n, body, frac_bits=f, seed=seed).outputs[0]
    xq, aq = decode(encode(xv, f), f), decode(encode(av, f), f)
    bound = 2.0 ** (4 - f) / xq + 2.0 ** (1 - f)
    assert np.all(np.abs(inv - 1 / xq) <= bound)
    # a * (1/x + e) truncated: |a| bound + one unit
    assert np.all(np.abs(quo - aq / xq) <= np.abs(aq) * bound + 2.0**-f)


@SETTINGS
@given(n=st.integers(3, 7), data=st.data(), seed=st.integers(0, 2**16))
def test_shamir_share_reveal_and_multiply(n, data, seed):
    t = data.draw(st.integers(0, (n - 1) // 2))
    senders = data.draw(st.lists(st.integers(0, n - 1), min_size=t + 1, max_size=n, unique=True))
    vals = data.draw(st.lists(st.tuples(st.integers(-30000, 30000), st.integers(-30000, 30000)),
                              min_size=1, max_size=6))
    xv, yv = (np.array([v[i] for v in vals]) for i in (0, 1))
    L = len(xv)

    async def program(party):
        s = ShamirMpc(party, list(range(n)), t)
        x = await s.share(0, to_field(xv) if party.id == 0 else None, (L,))
        y = await s.share(n, to_field(yv) if party.id == n else None, (L,))  # a non-player
        z = s.add(await s.mul(x, y), s.mul_public(x, -3))
        return await s.reveal(z, to=n, senders=senders)

    result = run(program, n=n + 1, seed=seed)
    assert np.array_equal(from_field(result.outputs[n]), xv * yv - 3 * xv)


def test_same_seed_same_shares_and_results():
    async def body(m: Mpc):
        x = await m.share_fx(0, np.arange(5.0) if m.party.id == 0 else None, (5,))
        return await m.mul_fx(x, x)

    a, b = run_mpc(3, body, seed=3), run_mpc(3, body, seed=3)
    for pid in range(3):
        assert np.array_equal(a.outputs[pid], b.outputs[pid])
    assert not np.array_equal(a.outputs[1], run_mpc(3, body, seed=4).outputs[1])


def test_dealer_receives_nothing_online():
    """The dealer's view is empty; players get from it only offline messages
    (the seed and corrections)."""
    async def body(m: Mpc):
        x = await m.share(0, to_ring(np.arange(4)) if m.party.id == 0 else None, (4,))
        return await m.lt(x, m.add_public(m.zeros((4,)), 2))

    result = run_mpc(3, body, record_views=True)
    assert result.views[3] == []
    for pid in range(3):
        from_dealer = [v for v in result.views[pid] if v.src == 3]
        assert from_dealer and all(v.phase.startswith("offline:") for v in from_dealer)


@pytest.mark.parametrize("op", ["trunc", "lt"])
def test_opened_masked_values_are_uniform(op):
    """What players open in trunc and lt (c = x + r, from the views) is uniform even
    for a constant secret: every bit is set half of the time."""
    L, p = 20_000, 3

    async def body(m: Mpc):
        with m.party.phase("input"):
            x = await m.share(0, to_ring(np.full(L, 5)) if m.party.id == 0 else None, (L,))
        with m.party.phase("op"):
            return await (m.trunc(x) if op == "trunc" else m.lt(x, x))

    views = run_mpc(p, body, record_views=True).views
    opened = {(pid, v.src): v.payload for pid in range(2) for v in views[pid]
              if v.phase == "op" and isinstance(v.payload, np.ndarray)
              and v.payload.dtype == np.uint64}  # the first round only
    assert len(opened) == 2 * (p - 1)
    # player 0 received the openings of players 1..p-1, player 1 that of player 0
    c = opened[(1, 0)] + sum(opened[(0, src)] for src in range(1, p))
    assert bits_balanced(c)
    assert not bits_balanced(np.full(L, 5 + 2**62, np.uint64))  # an unmasked opening would fail


def test_operations_needing_a_dealer_fail_clearly_without_one():
    async def body(m: Mpc):
        x = await m.share(0, to_ring([1, 2]) if m.party.id == 0 else None, (2,))
        assert np.array_equal(signed(await m.reveal(m.add(x, x))), [2, 4])
        await m.mul(x, x)

    with pytest.raises(PartyFailure) as info:
        run_mpc(2, body, dealer=False)
    assert isinstance(info.value.error, NoDealerError)


@SETTINGS
@given(n=players, pairs=st.lists(st.tuples(st.integers(-(2**61), 2**61 - 1),
                                           st.integers(-(2**61), 2**61 - 1)),
                                 min_size=1, max_size=8), seed=st.integers(0, 2**16))
def test_comparison_exact_over_its_whole_range(n, pairs, seed):
    """lt and eq hold for every |x - y| < 2^62, not just for small values."""
    xv, yv = (np.array([p[i] for p in pairs], dtype=np.int64) for i in (0, 1))
    L = len(xv)

    async def body(m: Mpc):
        me = m.party.id
        x = await m.share(0, to_ring(xv) if me == 0 else None, (L,))
        y = await m.share(1, to_ring(yv) if me == 1 else None, (L,))
        return (await m.reveal(await m.lt(x, y)), await m.reveal(await m.lt(y, x)),
                await m.reveal(await m.eq(x, y)), await m.reveal(await m.eq(x, x)))

    lt, gt, eq, same = (signed(v) for v in run_mpc(n, body, seed=seed).outputs[0])
    assert np.array_equal(lt, xv < yv) and np.array_equal(gt, yv < xv)
    assert np.array_equal(eq, xv == yv) and np.all(same == 1)
