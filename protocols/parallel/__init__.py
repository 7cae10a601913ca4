"""Data-parallel neural-net training: GTC, BMUF and their hybrid (see `protocol`)."""

from protocols.parallel.protocol import ParallelParams, central_error, plan
from sim import ProtocolSpec


def memory(p: ParallelParams) -> float:
    """The data set (a few copies) and, per worker, the model, its momentum, gradient and
    the messages in flight."""
    sizes = (p.n_features, *p.hidden, p.classes)
    params = sum((a + 1) * b for a, b in zip(sizes, sizes[1:], strict=False))
    return 24.0 * (p.train_samples + p.test_samples) * p.n_features + 48.0 * params * p.workers


SPEC = ProtocolSpec(
    name="parallel_training",
    summary="data-parallel MLP training with GTC, BMUF, their hybrid, or dense SGD",
    params=ParallelParams,
    plan=plan,
    memory=memory,
)

__all__ = ["SPEC", "ParallelParams", "central_error", "plan"]
