"""Data-parallel training of an MLP with GTC, BMUF, their hybrid, or dense synchronous SGD.

Every worker is a party holding one shard of the training rows and a copy of
the model (all start from the same initialisation). Per minibatch a worker
computes its gradient (charged as ``compute_s_per_batch`` of simulated time)
and then, by method:

* ``sgd``: broadcasts its dense update ``lr * g`` (float32) to all; everyone
  applies the mean, with momentum. Equivalent to one worker with an N times
  larger minibatch.
* ``gtc``: adds ``lr * g`` to its residual and broadcasts the +-tau quanta
  (`protocols.parallel.gtc`); everyone applies the *sum* of all workers'
  quanta (Strom 2015), with momentum, so the models stay identical.
* ``bmuf``: takes a local momentum-SGD step; every ``block`` minibatches all
  workers average their models (``averaging``: an allreduce by recursive
  halving and doubling, `protocols.parallel.allreduce`, as MPI-based BMUF does;
  or ``broadcast``, every model to every peer) and each applies the same
  block-momentum filter (`protocols.parallel.bmuf`).
* ``hybrid``: ``groups`` groups of consecutive ids run GTC inside the group
  every minibatch; every ``block`` minibatches the groups' representatives
  (first id of each group) run BMUF among themselves and each broadcasts the
  filtered model to its group.

Nothing is trusted beyond the workers, and nothing is private: this protocol
is about speed and accuracy, and workers see each other's updates or models.
All local numpy work also charges its elements to the cost model (`party.work`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from protocols.parallel import allreduce, bmuf, gtc
from protocols.parallel.data import Data, load
from protocols.parallel.model import DTYPE, MLP, mlp
from sim import Params, Party, Plan

Method = Literal["gtc", "bmuf", "hybrid", "sgd"]


class ParallelParams(Params):
    """The ``[protocol]`` table of a ``parallel_training`` scenario.

    Local momentum defaults to 0: on the default model, local momentum 0.9 on top
    of BMUF's block momentum made the hybrid diverge (+94% error at 32 workers
    against +2% without); `momentum` still applies to every method when set.
    ``block_momentum`` left unset means ``1 - 1/N`` for the N models averaged
    (all workers for ``bmuf``, the groups for ``hybrid``). ``averaging``: how BMUF
    averages models (``allreduce`` needs a power of two of them, else it broadcasts).
    """

    renamed = {"features": "n_features", "lr": "learning_rate"}
    method: Method = "hybrid"
    """gtc, bmuf, their hybrid, or dense synchronous sgd (see the module docstring)."""
    workers: Annotated[int, Field(ge=1, le=4096)] = 8
    """Workers, each training on its own shard of the rows."""
    groups: Annotated[int, Field(ge=1)] = 1
    """hybrid: groups of consecutive workers running GTC inside, BMUF across."""
    dataset: Literal["synthetic", "digits"] = "synthetic"
    """synthetic (a generated classification task) or digits (scikit-learn's)."""
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
    """Passes over the training rows."""
    batch_size: Annotated[int, Field(ge=1)] = 16
    """Minibatch rows per worker."""
    learning_rate: Annotated[float, Field(gt=0)] = 0.05
    """SGD step size."""
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
    """Modelled seconds a worker computes one minibatch's gradient."""

    @model_validator(mode="after")
    def _consistent(self) -> ParallelParams:
        if self.workers % self.groups:
            raise ValueError(f"workers ({self.workers}) must be a multiple of groups "
                             f"({self.groups})")
        if self.train_samples // self.workers < self.batch_size:
            raise ValueError(f"each of {self.workers} workers needs at least batch_size "
                             f"({self.batch_size}) of the {self.train_samples} training rows")
        if self.dataset == "digits" and self.train_samples + self.test_samples > 1797:
            raise ValueError(f"digits has 1797 rows: lower train_samples + test_samples "
                             f"({self.train_samples} + {self.test_samples})")
        return self

    @property
    def steps(self) -> int:
        """Minibatches each worker trains on (the same data in total for any worker count)."""
        return self.epochs * (self.train_samples // self.workers // self.batch_size)

    @property
    def group_size(self) -> int:
        return self.workers // self.groups

    def eta(self, models: int) -> float:
        if self.block_momentum is not None:
            return self.block_momentum
        return bmuf.default_block_momentum(models)


@lru_cache(maxsize=4)
def _data(p: ParallelParams, seed: int) -> Data:
    return load(p.dataset, p.train_samples, p.test_samples, p.n_features, p.classes, seed)


def _net(p: ParallelParams, data: Data) -> MLP:
    return mlp(data.features, p.hidden, p.classes)


def _init(p: ParallelParams, seed: int, net: MLP) -> np.ndarray:
    return net.init(np.random.default_rng([seed, 3]))


def _batches(p: ParallelParams, seed: int, worker: int, rows: int):
    """Minibatch row indices of one worker's shard, reshuffled every epoch."""
    rng = np.random.default_rng([seed, 2, worker])
    per_epoch = rows // p.batch_size
    for _ in range(p.epochs):
        perm = rng.permutation(rows)
        for j in range(per_epoch):
            yield perm[j * p.batch_size:(j + 1) * p.batch_size]


@lru_cache(maxsize=8)
def central_error(p: ParallelParams, seed: int) -> float:
    """Held-out error of the same model trained on one processor (momentum SGD, same data).

    The plaintext baseline: a one-worker ``sgd`` run follows exactly these steps.
    """
    one = p.model_copy(update={"workers": 1, "groups": 1})
    data = _data(one, seed)
    net = _net(one, data)
    w = _init(one, seed, net)
    v = np.zeros_like(w)
    x, y = data.shard(0, 1)
    for rows in _batches(one, seed, 0, len(y)):
        v *= one.momentum
        v += one.learning_rate * net.gradient(w, x[rows], y[rows])
        w -= v
    return net.error_rate(w, data.x_test, data.y_test)


@dataclass
class _Worker:
    """One worker's state and the method-specific exchanges it runs."""

    p: ParallelParams
    net: MLP
    party: Party
    w: np.ndarray
    entries_sent: int = 0

    def __post_init__(self) -> None:
        self.v = np.zeros_like(self.w)
        self.residual = np.zeros_like(self.w)
        size = self.p.group_size
        first = self.party.id - self.party.id % size
        self.group = tuple(range(first, first + size))
        self.rep = first
        self.reps = tuple(range(0, self.p.workers, size))
        self.everyone = tuple(range(self.p.workers))

    def apply(self, update: np.ndarray) -> None:
        self.v *= self.p.momentum
        self.v += update
        self.w -= self.v

    async def gtc_step(self, grad: np.ndarray, peers: tuple[int, ...]) -> None:
        party, p = self.party, self.p
        self.residual += p.learning_rate * grad
        msg = gtc.encode(self.residual, p.tau, p.max_quanta)
        self.entries_sent += msg.size
        others = tuple(i for i in peers if i != party.id)
        await party.broadcast(msg, others)
        got = await party.recv_many(others)
        got[party.id] = msg
        messages = [got[i] for i in peers]
        entries = sum(m.size for m in messages)
        await party.work(ring=3 * self.w.size + 6 * entries, scatter=entries, call=12)
        self.apply(gtc.decode(messages, self.w.size, p.tau, p.max_quanta))

    async def sgd_step(self, grad: np.ndarray) -> None:
        party = self.party
        mine = (self.p.learning_rate * grad).astype(DTYPE)
        others = party.others
        await party.broadcast(mine, others)
        got = await party.recv_many(others)
        got[party.id] = mine
        await party.work(ring=2 * self.w.size * len(got), call=len(got) + 4)
        self.apply(np.mean([got[i] for i in self.everyone], axis=0, dtype=DTYPE))

    async def average(self, peers: tuple[int, ...]) -> np.ndarray:
        """The mean of the models of `peers` (this one's included), by `p.averaging`."""
        if self.p.averaging == "broadcast":
            return await allreduce.broadcast_mean(self.party, peers, self.w)
        return await allreduce.allreduce_mean(self.party, peers, self.w)


def _program(p: ParallelParams, seed: int) -> Callable[[Party], Any]:
    data = _data(p, seed)
    net = _net(p, data)
    w0 = _init(p, seed, net)

    async def worker(party: Party) -> dict[str, Any]:
        me = _Worker(p, net, party, w0.copy())
        x, y = data.shard(party.id, p.workers)
        synced = p.method == "bmuf" or (p.method == "hybrid" and party.id in me.reps)
        peers = me.everyone if p.method == "bmuf" else me.reps
        filt = bmuf.BlockFilter(w0, p.eta(len(peers)), p.block_lr, p.nesterov) if synced else None
        final = p.steps
        for t, rows in enumerate(_batches(p, seed, party.id, len(y)), start=1):
            with party.phase("minibatch"):
                grad = net.gradient(me.w, x[rows], y[rows])
                await party.compute(p.compute_s_per_batch)
            if p.method == "sgd":
                with party.phase("sgd"):
                    await me.sgd_step(grad)
            elif p.method == "gtc":
                with party.phase("gtc"):
                    await me.gtc_step(grad, me.everyone)
            elif p.method == "hybrid":
                with party.phase("gtc"):
                    await me.gtc_step(grad, me.group)
            else:
                me.apply(p.learning_rate * grad)
            if p.method in ("bmuf", "hybrid") and (t % p.block == 0 or t == final):
                with party.phase("bmuf"):
                    if filt is not None:
                        start = filt.update(await me.average(peers))
                        me.w = (filt.model if t == final else start).copy()
                if p.method == "hybrid":
                    with party.phase("group_broadcast"):
                        members = tuple(i for i in me.group if i != party.id)
                        if party.id == me.rep:
                            await party.broadcast(me.w.copy(), members)
                        else:
                            me.w = (await party.recv(me.rep)).copy()
        return {"model": me.w, "entries_sent": me.entries_sent}

    return worker


def _summarize(p: ParallelParams, seed: int) -> Callable[[Any], dict[str, Any]]:
    def summarize(result: Any) -> dict[str, Any]:
        data = _data(p, seed)
        net = _net(p, data)
        outs = [result.outputs[i] for i in sorted(result.outputs)]
        model = outs[0]["model"]
        agree = all(np.array_equal(o["model"], model) for o in outs)
        error = net.error_rate(model, data.x_test, data.y_test)
        baseline = central_error(p, seed)
        samples = p.steps * p.batch_size * p.workers
        entries = sum(o["entries_sent"] for o in outs)
        return {
            "accuracy": {"metric": "error_rate", "value": error, "baseline": baseline},
            "result_check": {"all_workers_same_model": agree},
            "parallel": {
                "method": p.method,
                "workers": p.workers,
                "groups": p.groups,
                "params": net.n_params,
                "steps_per_worker": p.steps,
                "samples": samples,
                "sim_time_s": result.end_time,
                "samples_per_s": samples / result.end_time if result.end_time else None,
                "error_increase": (error - baseline) / baseline if baseline else None,
                "gtc_entries_sent": entries,
                "gtc_entry_bytes": gtc.entry_bytes(net.n_params, p.max_quanta),
            },
        }

    return summarize


def plan(p: ParallelParams, seed: int) -> Plan:
    """Every worker runs the same program; worker ids are also the topology's nodes."""
    worker = _program(p, seed)
    reps = list(range(0, p.workers, p.group_size))
    roles = {"workers": list(range(p.workers))}
    if p.method == "hybrid":
        roles["representatives"] = reps
    return Plan(
        n_parties=p.workers,
        programs=dict.fromkeys(range(p.workers), worker),
        summarize=_summarize(p, seed),
        roles=roles,
        reveals=["every worker sees the others' updates (sgd, gtc) or models (bmuf, hybrid)",
                 "gtc message sizes (the quanta each worker sends) depend on the updates: "
                 "compression by value; nothing here is private"],
    )
