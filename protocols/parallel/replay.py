"""The parallel trainers' arithmetic for all workers at once: what the error figures use.

Why: the party program (`protocols.parallel.protocol`) runs each worker as a
simulated party, so one GTC step at N workers costs N (N - 1) simulated messages,
too many for the thousands of blocks per worker that BMUF needs to reach its steady
state at 128 workers (issue 19). The training itself does not depend on timing
(every method here is synchronous), so this module replays it with the workers
as rows of ``(N, P)`` arrays and the same pieces the parties use, in the same
order: `MLP.gradients` (one worker's `gradient` is its one-row case),
`gtc.quanta` (what `gtc.encode` sends), `allreduce.stacked_mean` (the allreduce's
float arithmetic) and `bmuf.BlockFilter`. Its final model is the parties' model
bit for bit (tested); it also records how many GTC entries each worker sent at
each step, the measured update density the cost-only mode charges at scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from protocols.parallel import allreduce, bmuf, gtc, training
from protocols.parallel.model import DTYPE
from protocols.parallel.training import ParallelParams


@dataclass(frozen=True)
class Replay:
    """A replayed training run.

    Attributes:
        model: the final model (every worker's, which the methods make equal).
        entries: ``(steps, N)`` GTC entries each worker sent at each minibatch
            (zeros for methods without GTC).
        error: the final model's held-out error rate.
        same_model: whether every worker ended with that model, bit for bit.
    """

    model: np.ndarray
    entries: np.ndarray
    error: float
    same_model: bool


def replay(p: ParallelParams, seed: int) -> Replay:
    """Train as `p` says, all workers in lockstep; `seed` is the run's seed.

    Runs that differ only in what a cost-only run simulates (``mode``, ``scale``),
    or in a run seed that `p.data_seed` overrides, are one replay (cached).
    """
    return _replay(p.model_copy(update={"mode": "full", "scale": None}),
                   training.data_seed(p, seed))


@lru_cache(maxsize=8)
def _replay(p: ParallelParams, seed: int) -> Replay:
    data = training.dataset(p, seed)
    net = training.network(p, data)
    n, steps = p.workers, p.steps
    w = np.tile(training.initial_model(p, seed, net), (n, 1))
    v = np.zeros_like(w)
    residual = np.zeros_like(w)
    entries = np.zeros((steps, n), dtype=np.int64)
    size, synced = p.group_size, list(p.synced)
    filt = bmuf.BlockFilter(w[0], p.eta(len(synced)), p.block_lr, p.nesterov) if synced else None
    shards = [data.shard(i, n) for i in range(n)]
    streams = [training.batches(p, seed, i, len(y)) for i, (_, y) in enumerate(shards)]
    for t in range(steps):
        rows = [next(s) for s in streams]
        x = np.stack([xs[r] for (xs, _), r in zip(shards, rows, strict=True)])
        y = np.stack([ys[r] for (_, ys), r in zip(shards, rows, strict=True)])
        grad = net.gradients(w, x, y)
        lr = training.step_size(p, t)
        if p.method == "sgd":
            update = np.mean(lr * grad, axis=0, dtype=DTYPE)
        elif p.method in ("gtc", "hybrid"):
            residual += lr * grad
            idx, signed = gtc.quanta(residual, p.tau, p.max_quanta)
            sender, entry = np.divmod(idx, net.n_params)
            entries[t] = np.bincount(sender, minlength=n)
            sums = np.bincount(sender // size * net.n_params + entry, weights=signed,
                               minlength=n // size * net.n_params)  # what `gtc.decode` sums
            update = np.repeat((sums.reshape(n // size, -1) * p.tau).astype(DTYPE), size,
                               axis=0)
        else:
            update = lr * grad
        v *= p.momentum
        v += update
        w -= v
        if filt is not None and ((t + 1) % p.block == 0 or t + 1 == steps):
            start = filt.update(allreduce.stacked_mean(w[synced]))
            w[:] = filt.model if t + 1 == steps else start
    return Replay(w[0].copy(), entries, net.error_rate(w[0], data.x_test, data.y_test),
                  bool((w == w[0]).all()))
