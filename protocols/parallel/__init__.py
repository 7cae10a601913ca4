"""Data-parallel neural-net training: GTC, BMUF and their hybrid (see `protocol`)."""

from protocols.parallel.protocol import ParallelParams, central_error, plan
from sim import ProtocolSpec

SPEC = ProtocolSpec(
    name="parallel_training",
    summary="data-parallel MLP training with GTC, BMUF, their hybrid, or dense SGD",
    params=ParallelParams,
    plan=plan,
)

__all__ = ["SPEC", "ParallelParams", "central_error", "plan"]
