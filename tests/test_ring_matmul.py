"""`ring_matmul`: exact Z_2^64 matrix products on float64 BLAS, against numpy's uint64 matmul.

numpy's own uint64 matmul wraps modulo 2^64 and is exact, so it is the oracle.
The limb path must match it for every shape and value range, including inner
dimensions long enough to need chunking (partial sums above 2^53 would round).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.sharing import ring
from protocols.sharing.ring import ring_matmul


def _operand(gen: np.random.Generator, shape: tuple[int, ...], bits: int) -> np.ndarray:
    """Uniform values of `bits` bits; bits = 64 is the full ring (shares)."""
    raw = gen.integers(0, 2**64 - 1, size=shape, dtype=np.uint64, endpoint=True)
    return raw >> np.uint64(64 - bits)


@settings(max_examples=80, deadline=None)
@given(m=st.integers(1, 30), k=st.integers(1, 70), n=st.integers(1, 30),
       xbits=st.integers(1, 64), ybits=st.integers(1, 64),
       chunk=st.sampled_from([None, 1, 2, 7, 64]), seed=st.integers(0, 2**32 - 1))
def test_equals_uint64_matmul(m, k, n, xbits, ybits, chunk, seed):
    gen = np.random.default_rng(seed)
    x, y = _operand(gen, (m, k), xbits), _operand(gen, (k, n), ybits)
    np.testing.assert_array_equal(ring_matmul(x, y, inner_chunk=chunk), np.matmul(x, y))


@settings(max_examples=20, deadline=None)
@given(k=st.integers(1, 50), n=st.integers(1, 9), chunk=st.sampled_from([1, 3, None]),
       seed=st.integers(0, 2**32 - 1))
def test_vector_shapes(k, n, chunk, seed):
    """1-D operands follow np.matmul's shape rules (a vector on either side)."""
    gen = np.random.default_rng(seed)
    v, w, a = _operand(gen, (k,), 64), _operand(gen, (k,), 64), _operand(gen, (k, n), 64)
    b = _operand(gen, (n, k), 64)
    for left, right in [(v, a), (b, v), (v, w)]:
        got, want = ring_matmul(left, right, inner_chunk=chunk), np.matmul(left, right)
        assert got.shape == np.shape(want)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("shape", [(4, 1500, 6), (300, 1100, 3), (3, 700, 300)])
def test_automatic_chunking_worst_case(shape):
    """All-ones 64-bit operands (every limb at its maximum) over inner dimensions
    above the 512-term chunk, with several row and column tiles: any partial
    sum past 2^53 would round and break equality. `inner_chunk` far above the
    automatic bound forces the limb path (not numpy's fallback for narrow
    products) with only its own chunking."""
    m, k, n = shape
    gen = np.random.default_rng(k)
    x = np.full((m, k), 2**64 - 1, np.uint64)
    y = _operand(gen, (k, n), 64)
    y[: k // 2] = 2**64 - 1
    free = 2**40
    np.testing.assert_array_equal(ring_matmul(x, y, inner_chunk=free), np.matmul(x, y))
    np.testing.assert_array_equal(ring_matmul(y.T, x.T, inner_chunk=free), np.matmul(y.T, x.T))


def test_limb_layout_covers_the_bits():
    """Limbs tile [0, top) without gaps, each at most LIMB_BITS wide, wider first."""
    for top in range(1, 65):
        a = np.array([2**top - 1], np.uint64)
        layout = ring._limb_layout(a, ring.LIMB_BITS)
        ends = [s + w for s, w in layout]
        assert [s for s, _ in layout] == [0] + ends[:-1] and ends[-1] == top
        widths = [w for _, w in layout]
        assert max(widths) <= ring.LIMB_BITS and widths == sorted(widths, reverse=True)


def test_non_arrays_and_stacks_go_to_numpy():
    """Stacks of matrices fall back to np.matmul (same values)."""
    gen = np.random.default_rng(1)
    x, y = _operand(gen, (2, 30, 40), 64), _operand(gen, (2, 40, 30), 64)
    np.testing.assert_array_equal(ring_matmul(x, y), np.matmul(x, y))
    with pytest.raises(ValueError):
        ring_matmul(x[0], x[0])
