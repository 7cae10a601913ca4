"""What a training run is: its parameters, data, model, schedule and minibatches.

The party program (`protocols.parallel.protocol`) and the replay
(`protocols.parallel.replay`) both build their runs from these pieces, so that
they train on the same rows, from the same start, in the same order.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from protocols.parallel import bmuf
from protocols.parallel.data import Data, load
from protocols.parallel.model import MLP, mlp
from sim import Params

Method = Literal["gtc", "bmuf", "hybrid", "sgd"]


class Scale(BaseModel):
    """``[protocol.scale]``: the run a ``cost_only`` run simulates (sizes, not values)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False,
                              use_attribute_docstrings=True)
    params: Annotated[int, Field(ge=1)]
    """Model parameters (float32 on the wire; GTC entries indexed among them)."""
    compute_s_per_batch: Annotated[float, Field(ge=0)]
    """Seconds one worker computes per minibatch (forward, backward, update)."""
    block: Annotated[int, Field(ge=1)]
    """BMUF block, in minibatches per worker."""
    steps: Annotated[int, Field(ge=1)]
    """Minibatches simulated per worker: the window the throughput is measured on."""
    compute_cv: Annotated[float, Field(ge=0)] = 0.0
    """Coefficient of variation of one minibatch's compute time (see `ParallelParams`)."""


class ParallelParams(Params):
    """The ``[protocol]`` table of a ``parallel_training`` scenario.

    Local momentum defaults to 0: on the default model, local momentum 0.9 on top
    of BMUF's block momentum made the hybrid diverge (+94% error at 32 workers
    against +2% without); `momentum` still applies to every method when set.
    The hybrid's groups are ``groups`` groups, or groups of ``per_group`` workers
    (one machine's GPUs, whatever the worker count; ignored by the other methods).
    ``block_momentum`` left unset means ``1 - 1/N`` for the N models averaged
    (all workers for ``bmuf``, the groups for ``hybrid``). ``averaging``: how BMUF
    averages models (``allreduce`` needs a power of two of them, else it broadcasts).
    ``data_seed`` seeds the data, the initial model and the minibatch order
    (default: the run's seed): a sweep fixes it so that every point trains on the
    same data from the same start and shares one baseline. ``compute_cv`` makes
    each minibatch's compute time a lognormal draw of mean ``compute_s_per_batch``
    and this coefficient of variation (minibatches of speech differ in length), so
    that a method that synchronises every minibatch waits for the slowest worker.
    """

    renamed = {"features": "n_features", "lr": "learning_rate"}
    method: Method = "hybrid"
    """gtc, bmuf, their hybrid, or dense synchronous sgd (see `protocols.parallel.protocol`)."""
    workers: Annotated[int, Field(ge=1, le=4096)] = 8
    """Workers, each training on its own shard of the rows."""
    groups: Annotated[int, Field(ge=1)] = 1
    """hybrid: groups of consecutive workers running GTC inside, BMUF across."""
    per_group: Annotated[int, Field(ge=1)] | None = None
    """hybrid: workers per group instead of `groups` (one machine's GPUs at any count)."""
    mode: Literal["full", "cost_only"] = "full"
    """full: values travel; cost_only: the run `scale` describes, sizes only."""
    scale: Scale | None = None
    """cost_only: the model size, compute time and block the simulated run has (default:
    this run's own)."""
    dataset: Literal["synthetic", "digits"] = "synthetic"
    """synthetic (a generated classification task) or digits (scikit-learn's)."""
    data_seed: Annotated[int, Field(ge=0, lt=2**32)] | None = None
    """Seeds the data, initial model and minibatch order (default: the run's seed)."""
    train_samples: Annotated[int, Field(ge=1)] = 32768
    """Training rows, split evenly among the workers."""
    test_samples: Annotated[int, Field(ge=1)] = 16384
    """Held-out rows the error is measured on."""
    n_features: Annotated[int, Field(ge=2)] = 32
    """Features of the synthetic data set."""
    classes: Annotated[int, Field(ge=2)] = 10
    """Classes of the synthetic data set."""
    hidden: tuple[Annotated[int, Field(ge=1)], ...] = (128,)
    """Hidden layer widths of the MLP."""
    epochs: Annotated[int, Field(ge=1)] = 16
    """Passes over the training rows (the same data budget at every worker count)."""
    batch_size: Annotated[int, Field(ge=1)] = 16
    """Minibatch rows per worker."""
    learning_rate: Annotated[float, Field(gt=0)] = 0.05
    """SGD step size at the start of the run."""
    learning_rate_decay: Annotated[float, Field(gt=0, le=1)] = 1.0
    """The step size at the end over that at the start (exponential decay; 1: constant)."""
    momentum: Annotated[float, Field(ge=0, lt=1)] = 0.0
    """Local momentum of every method."""
    tau: Annotated[float, Field(gt=0)] = 0.003
    """GTC threshold: residual entries beyond +-tau are sent as quanta."""
    max_quanta: Annotated[int, Field(ge=1, le=2**40)] = 1
    """GTC: most quanta one entry may carry in one message."""
    block: Annotated[int, Field(ge=1)] = 8
    """BMUF: minibatches between model averagings."""
    block_momentum: Annotated[float, Field(ge=0, lt=1)] | None = None
    """BMUF block momentum (default 1 - 1/N for N models averaged)."""
    block_lr: Annotated[float, Field(gt=0)] = 1.0
    """BMUF block learning rate."""
    nesterov: bool = True
    """BMUF: Nesterov block momentum (else classical)."""
    averaging: Literal["allreduce", "broadcast"] = "allreduce"
    """BMUF: allreduce (power-of-two models) or broadcast."""
    compute_s_per_batch: Annotated[float, Field(ge=0)] = 0.005
    """Modelled seconds a worker computes one minibatch's gradient (full mode)."""
    compute_cv: Annotated[float, Field(ge=0)] = 0.0
    """Coefficient of variation of a minibatch's compute time (lognormal; 0: fixed)."""

    @model_validator(mode="after")
    def _consistent(self) -> ParallelParams:
        if self.workers % self.groups:
            raise ValueError(f"workers ({self.workers}) must be a multiple of groups "
                             f"({self.groups})")
        if self.per_group is not None and self.groups != 1:
            raise ValueError(f"give groups ({self.groups}) or per_group ({self.per_group}), "
                             "not both")
        if self.per_group is not None and self.method == "hybrid" and (
                self.workers % self.per_group):
            raise ValueError(f"workers ({self.workers}) must be a multiple of per_group "
                             f"({self.per_group})")
        if self.train_samples // self.workers < self.batch_size:
            raise ValueError(f"each of {self.workers} workers needs at least batch_size "
                             f"({self.batch_size}) of the {self.train_samples} training rows")
        if self.dataset == "digits" and self.train_samples + self.test_samples > 1797:
            raise ValueError(f"digits has 1797 rows: lower train_samples + test_samples "
                             f"({self.train_samples} + {self.test_samples})")
        if self.scale is not None and self.mode != "cost_only":
            raise ValueError(f"mode {self.mode!r}: a [protocol.scale] table is for "
                             "cost_only runs only")
        if self.scale is not None and self.scale.steps > self.steps:
            raise ValueError(f"scale.steps ({self.scale.steps}) must not exceed the proxy's "
                             f"{self.steps} minibatches per worker")
        return self

    @property
    def steps(self) -> int:
        """Minibatches each worker trains on (the same data in total for any worker count)."""
        return self.epochs * (self.train_samples // self.workers // self.batch_size)

    @property
    def group_size(self) -> int:
        """Workers per group: for the hybrid ``per_group``, or ``workers / groups``; for
        the other methods one group of every worker."""
        if self.method != "hybrid":
            return self.workers
        return self.per_group if self.per_group is not None else self.workers // self.groups

    @property
    def representatives(self) -> tuple[int, ...]:
        """The first worker of each group (`group_size`)."""
        return tuple(range(0, self.workers, self.group_size))

    @property
    def synced(self) -> tuple[int, ...]:
        """The workers whose models BMUF's block filter averages: every worker for bmuf,
        the groups' representatives for the hybrid, none otherwise."""
        return {"bmuf": tuple(range(self.workers)),
                "hybrid": self.representatives}.get(self.method, ())

    def eta(self, models: int) -> float:
        if self.block_momentum is not None:
            return self.block_momentum
        return bmuf.default_block_momentum(models)


# -- the pieces the party program and the replay share ----------------------------------


def data_seed(p: ParallelParams, seed: int) -> int:
    return seed if p.data_seed is None else p.data_seed


@lru_cache(maxsize=4)
def _load(dataset: str, train: int, test: int, features: int, classes: int, seed: int) -> Data:
    return load(dataset, train, test, features, classes, seed)


def dataset(p: ParallelParams, seed: int) -> Data:
    return _load(p.dataset, p.train_samples, p.test_samples, p.n_features, p.classes,
                 data_seed(p, seed))


def network(p: ParallelParams, data: Data) -> MLP:
    return mlp(data.features, p.hidden, p.classes)


def initial_model(p: ParallelParams, seed: int, net: MLP) -> np.ndarray:
    return net.init(np.random.default_rng([data_seed(p, seed), 3]))


def batches(p: ParallelParams, seed: int, worker: int, rows: int) -> Iterator[np.ndarray]:
    """Minibatch row indices of one worker's shard, reshuffled every epoch."""
    rng = np.random.default_rng([data_seed(p, seed), 2, worker])
    per_epoch = rows // p.batch_size
    for _ in range(p.epochs):
        perm = rng.permutation(rows)
        for j in range(per_epoch):
            yield perm[j * p.batch_size:(j + 1) * p.batch_size]


def step_size(p: ParallelParams, step: int) -> float:
    """`learning_rate` decayed exponentially to ``learning_rate * learning_rate_decay``
    over the run's minibatches."""
    return p.learning_rate * p.learning_rate_decay ** (step / p.steps)
