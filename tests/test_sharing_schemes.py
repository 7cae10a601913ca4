"""Array-level sharing schemes: reconstruction is the identity, and fewer shares
than needed are uniform (statistical tests, each with a broken scheme as a
negative control to show the test can fail)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.sharing import (
    PRIME,
    additive_split,
    decode,
    encode,
    from_field,
    shamir_reconstruct,
    shamir_share,
    to_field,
    xor_split,
)
from protocols.sharing.ring import RING
from sim.testing import bits_balanced, looks_uniform

SETTINGS = settings(max_examples=25, deadline=None)
SAMPLES = 20_000


def ring_uniform(u: np.ndarray) -> bool:
    """Uniform over Z_2^64: every bit balanced, the low byte even (sim.testing's check)."""
    return looks_uniform(u)


def field_uniform(u: np.ndarray) -> bool:
    """Uniform over GF(PRIME): the high and the low byte even."""
    return looks_uniform(u, modulus=PRIME)


ring_values = st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=16)


@SETTINGS
@given(values=ring_values, n=st.integers(2, 7), seed=st.integers(0, 2**32))
def test_additive_reconstructs(values, n, seed):
    x = np.array(values, dtype=RING)
    shares = additive_split(x, n, np.random.default_rng(seed))
    assert shares.shape == (n, len(values))
    assert np.array_equal(shares.sum(axis=0, dtype=RING), x)


@SETTINGS
@given(values=st.lists(st.booleans(), min_size=1, max_size=40), n=st.integers(2, 7),
       seed=st.integers(0, 2**32))
def test_xor_reconstructs(values, n, seed):
    x = np.array(values, dtype=bool)
    shares = xor_split(x, n, np.random.default_rng(seed))
    assert np.array_equal(np.bitwise_xor.reduce(shares, axis=0), x)


@SETTINGS
@given(values=st.lists(st.integers(-(PRIME // 2), PRIME // 2), min_size=1, max_size=16),
       n=st.integers(2, 7), data=st.data(), seed=st.integers(0, 2**32))
def test_shamir_reconstructs_from_any_t_plus_1(values, n, data, seed):
    t = data.draw(st.integers(0, n - 1))
    subset = data.draw(st.lists(st.integers(1, n), min_size=t + 1, max_size=n, unique=True))
    shares = shamir_share(to_field(values), t, n, np.random.default_rng(seed))
    got = shamir_reconstruct(shares[np.array(subset) - 1], subset)
    assert np.array_equal(from_field(got), np.array(values))


BIG = 2**256 + 297  # the federated seed-sharing field


@SETTINGS
@given(prime=st.sampled_from([65521, PRIME, BIG]), n=st.integers(1, 7), data=st.data(),
       seed=st.integers(0, 2**32))
def test_shamir_other_primes_and_points(prime, n, data, seed):
    """Any prime (int64 up to 2^31, Python integers above) and any nonzero points."""
    values = data.draw(st.lists(st.integers(0, prime - 1), min_size=1, max_size=6))
    points = data.draw(st.lists(st.integers(1, 10**6), min_size=n, max_size=n, unique=True))
    t = data.draw(st.integers(0, n - 1))
    shares = shamir_share(values, t, n, np.random.default_rng(seed), prime=prime, points=points)
    assert shares.dtype == (np.int64 if prime < 2**31 else object)
    pick = data.draw(st.lists(st.integers(0, n - 1), min_size=t + 1, max_size=n, unique=True))
    got = shamir_reconstruct(shares[pick], [points[k] for k in pick], prime=prime)
    assert [int(v) for v in got] == values
    if t > 0:  # t shares and a wrong last one give another secret (negative control)
        bad = shares[pick[: t + 1]].copy()
        bad[-1] = (bad[-1] + 1) % prime
        wrong = shamir_reconstruct(bad, [points[k] for k in pick[: t + 1]], prime=prime)
        assert all(int(w) != v for w, v in zip(wrong, values, strict=True))


def test_shamir_refuses_bad_points_and_biased_primes():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="distinct nonzero"):
        shamir_share([1], 1, 3, rng, points=[1, 2, PRIME])  # PRIME is the point 0
    with pytest.raises(ValueError, match="distinct nonzero"):
        shamir_share([1], 1, 3, rng, points=[1, 2, 2])
    with pytest.raises(ValueError, match="too far from a power of 256"):
        shamir_share([1], 1, 3, rng, prime=2**63 + 2**62 + 17)  # r ~ p/3


@SETTINGS
@given(values=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=16), f=st.integers(8, 24))
def test_fixed_point_roundtrip_within_half_ulp(values, f):
    x = np.array(values)
    assert np.all(np.abs(decode(encode(x, f), f) - x) <= 2.0 ** -(f + 1))


@pytest.mark.parametrize("n", [2, 3, 5])
def test_fewer_additive_shares_are_uniform(n):
    """Any n-1 shares of a fixed secret are uniform: each share, and their sum
    (which is the secret minus the missing share), for two different secrets."""
    rng = np.random.default_rng(n)
    for secret in (0, 2**63 + 12345):
        shares = additive_split(np.full(SAMPLES, secret, dtype=RING), n, rng)
        for subset in itertools.combinations(range(n), n - 1):
            part = shares[list(subset)]
            assert all(ring_uniform(s) for s in part)
            assert ring_uniform(part.sum(axis=0, dtype=RING))


def test_uniformity_check_catches_a_broken_additive_scheme():
    rng = np.random.default_rng(0)
    x = np.full(SAMPLES, 2**63 + 12345, dtype=RING)
    good = additive_split(x, 3, rng)
    broken = good.copy()
    broken[0], broken[2] = good[0] + good[2] - x, x  # still reconstructs, leaks x
    assert np.array_equal(broken.sum(axis=0, dtype=RING), x)
    assert ring_uniform(good[2]) and not ring_uniform(broken[2])


@pytest.mark.parametrize("n", [2, 3, 5])
def test_fewer_xor_shares_are_uniform(n):
    rng = np.random.default_rng(n)
    for secret in (False, True):
        shares = xor_split(np.full((SAMPLES, 8), secret), n, rng)
        for subset in itertools.combinations(range(n), n - 1):
            part = shares[list(subset)]
            for bits in (*part, np.bitwise_xor.reduce(part, axis=0)):
                assert all(bits_balanced(column) for column in bits.T)
    broken = np.full(SAMPLES, True)  # a "share" equal to the secret
    assert not bits_balanced(broken)


@pytest.mark.parametrize(("t", "n"), [(1, 3), (2, 5), (3, 4)])
def test_t_shamir_shares_are_uniform(t, n):
    """Any t shares are uniform over the field: each one and their sum, for two secrets."""
    rng = np.random.default_rng(t * 10 + n)
    for secret in (0, 123456789):
        shares = shamir_share(np.full(SAMPLES, secret), t, n, rng)
        for subset in itertools.combinations(range(n), t):
            part = shares[list(subset)]
            assert all(field_uniform(s) for s in part)
            assert field_uniform(part.sum(axis=0) % PRIME)


def test_uniformity_check_catches_a_broken_shamir_scheme():
    """Degree-t polynomials with a zero leading coefficient are degree t-1: t shares
    then determine the secret, and the check sees it."""
    t, n = 2, 4
    rng = np.random.default_rng(1)
    broken = shamir_share(np.full(SAMPLES, 123456789), t - 1, n, rng)
    # x1 * f(x2) - x2 * f(x1) = (x1 - x2) * secret for a degree-1 f: constant
    combo = (1 * broken[1] - 2 * broken[0]) % PRIME
    good = shamir_share(np.full(SAMPLES, 123456789), t, n, rng)
    assert field_uniform((1 * good[1] - 2 * good[0]) % PRIME)
    assert not field_uniform(combo)
