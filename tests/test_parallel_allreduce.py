"""protocols/parallel/allreduce: BMUF's model averaging by recursive halving and doubling."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import topologies
from protocols.parallel import allreduce
from sim.engine import simulate


def _run(n: int, vectors: list[np.ndarray], how=allreduce.allreduce_mean):
    async def program(party):
        return await how(party, tuple(range(n)), vectors[party.id])

    graph = topologies.complete(n, latency=1e-3, bandwidth=1e8)
    return simulate(graph, dict.fromkeys(range(n), program), seed=0)


@settings(max_examples=25, deadline=None)
@given(log_n=st.integers(0, 4), size=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
def test_allreduce_is_the_mean_everywhere_and_costs_rabenseifners_formula(log_n, size, seed):
    n = 2**log_n
    rng = np.random.default_rng(seed)
    vectors = [rng.normal(size=size).astype(np.float32) for _ in range(n)]
    result = _run(n, vectors)
    first = result.outputs[0]
    np.testing.assert_allclose(first, np.mean(vectors, axis=0, dtype=np.float64),
                               rtol=1e-5, atol=1e-6)
    assert all(np.array_equal(out, first) for out in result.outputs.values())
    # the replay's average is the same float arithmetic, bit for bit
    np.testing.assert_array_equal(allreduce.stacked_mean(np.stack(vectors)), first)
    # Thakur, Rabenseifner and Gropp 2005 (recursive halving + doubling allreduce):
    # 2 log2 n rounds, each peer sends 2 (n - 1) / n of the vector: 2 (n - 1) vectors in all
    assert result.ledger.rounds() == 2 * log_n
    assert sum(p.messages_sent for p in result.ledger.parties) == 2 * n * log_n
    assert sum(p.bytes_sent for p in result.ledger.parties) == 2 * (n - 1) * size * 4


def test_other_counts_fall_back_to_broadcasting_every_model():
    rng = np.random.default_rng(1)
    vectors = [rng.normal(size=7).astype(np.float32) for _ in range(3)]
    result = _run(3, vectors)
    np.testing.assert_array_equal(result.outputs[0], np.mean(vectors, axis=0, dtype=np.float32))
    np.testing.assert_array_equal(allreduce.stacked_mean(np.stack(vectors)), result.outputs[0])
    assert sum(p.messages_sent for p in result.ledger.parties) == 3 * 2


def test_allreduce_runs_on_ghosts_and_charges_the_same_bytes():
    """Cost-only mode: the same rounds and bytes from shapes alone."""
    from protocols.costonly import Ghost

    n, size = 8, 1000
    vectors = [np.zeros(size, dtype=np.float32) for _ in range(n)]
    full = _run(n, vectors)
    ghost = _run(n, [Ghost((size,), np.float32) for _ in range(n)])
    assert ghost.ledger.rounds() == full.ledger.rounds()
    assert [p.bytes_sent for p in ghost.ledger.parties] == [
        p.bytes_sent for p in full.ledger.parties]
    assert ghost.end_time == full.end_time
