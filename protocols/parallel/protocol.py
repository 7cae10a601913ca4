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

The step size decays exponentially from ``learning_rate`` by a factor
``learning_rate_decay`` over the run (by the fraction of the data seen, so every
worker count sees the same schedule). Two modes run the same program:

* ``full``: the model's values travel; the report gives the trained model's
  held-out error against one worker trained on the same data (`central_error`).
* ``cost_only``: the run is the one ``[protocol.scale]`` describes (a model of
  ``scale.params`` parameters, ``scale.compute_s_per_batch`` per minibatch,
  BMUF blocks of ``scale.block``; by default this run's own), simulated for
  ``scale.steps`` minibatches per worker with `Ghost` payloads (sizes only).
  GTC messages carry as many entries as the proxy (this table's model and data,
  trained by `replay`) sent, scaled by the ratio of parameters; the window's
  step ``j`` charges the mean density of the ``j``-th of ``scale.steps`` equal
  slices of the proxy's run, so the window is the whole run in miniature. The
  error reported is the proxy's, and so is the check that every worker ends
  with the same model (the replay's workers).

Nothing is trusted beyond the workers, and nothing is private: this protocol
is about speed and accuracy, and workers see each other's updates or models.
All local numpy work is also charged, by operation class, to the cost model
(`party.work`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from protocols.costonly import Ghost
from protocols.parallel import allreduce, bmuf, gtc
from protocols.parallel.model import DTYPE, MLP
from protocols.parallel.replay import replay
from protocols.parallel.training import (
    ParallelParams,
    Scale,
    batches,
    dataset,
    initial_model,
    network,
    step_size,
)
from sim import Party, Plan


def central_error(p: ParallelParams, seed: int) -> float:
    """Held-out error of the same model trained by one worker on the same data and budget.

    The plaintext baseline: a one-worker ``sgd`` run follows exactly these steps.
    """
    return replay(_one_worker(p), seed).error


def _one_worker(p: ParallelParams) -> ParallelParams:
    return p.model_copy(update={"method": "sgd", "workers": 1, "groups": 1,
                                "mode": "full", "scale": None})


# -- one worker's state: values (full) or sizes (cost-only) --------------------------------


@dataclass
class _Values:
    """The full mode's worker: the model, its momentum, GTC residual and block filter."""

    p: ParallelParams
    net: MLP
    w: np.ndarray
    shard: tuple[np.ndarray, np.ndarray]
    rows: Iterator[np.ndarray]
    filt: bmuf.BlockFilter | None
    entries_sent: int = 0
    grad: np.ndarray = field(init=False, repr=False)
    lr: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.v = np.zeros_like(self.w)
        self.residual = np.zeros_like(self.w)

    @property
    def size(self) -> int:
        return self.w.size

    def gradient(self, t: int) -> None:
        x, y = self.shard
        r = next(self.rows)
        self.grad = self.net.gradient(self.w, x[r], y[r])
        self.lr = step_size(self.p, t)

    def _apply(self, update: np.ndarray) -> None:
        self.v *= self.p.momentum
        self.v += update
        self.w -= self.v

    def local_step(self) -> None:
        self._apply(self.lr * self.grad)

    def sgd_message(self) -> np.ndarray:
        return (self.lr * self.grad).astype(DTYPE)

    def apply_sgd(self, messages: list[np.ndarray]) -> None:
        self._apply(np.mean(messages, axis=0, dtype=DTYPE))

    def gtc_message(self, t: int) -> np.ndarray:
        self.residual += self.lr * self.grad
        msg = gtc.encode(self.residual, self.p.tau, self.p.max_quanta)
        self.entries_sent += msg.size
        return msg

    def apply_gtc(self, messages: list[np.ndarray]) -> None:
        self._apply(gtc.decode(messages, self.w.size, self.p.tau, self.p.max_quanta))

    def model(self) -> np.ndarray:
        return self.w.copy()

    def filtered(self, average: np.ndarray, final: bool) -> None:
        start = self.filt.update(average)
        self.w = (self.filt.model if final else start).copy()

    def set_model(self, model: np.ndarray) -> None:
        self.w = model.copy()

    def output(self) -> np.ndarray:
        return self.w


@dataclass
class _Sizes:
    """The cost-only worker: messages of the scale's sizes, GTC entries as measured."""

    params: int
    entries: np.ndarray  # this worker's GTC entries at each simulated step
    entry_dtype: Any
    entries_sent: int = 0

    @property
    def size(self) -> int:
        return self.params

    def gradient(self, t: int) -> None:
        """No values: the minibatch's time is charged by the program."""

    def local_step(self) -> None:
        """No values to update."""

    def sgd_message(self) -> Ghost:
        return Ghost((self.params,), DTYPE)

    def apply_sgd(self, messages: list[Any]) -> None:
        """No values to update."""

    def gtc_message(self, t: int) -> Ghost:
        count = int(self.entries[t])
        self.entries_sent += count
        return Ghost((count,), self.entry_dtype)

    def apply_gtc(self, messages: list[Any]) -> None:
        """No values to update."""

    def model(self) -> Ghost:
        return Ghost((self.params,), DTYPE)

    def filtered(self, average: Any, final: bool) -> None:
        """No values to filter."""

    def set_model(self, model: Any) -> None:
        """No values to keep."""

    def output(self) -> None:
        return None


def _jitter(rng: np.random.Generator, cv: float) -> float:
    """A lognormal factor of mean 1 and coefficient of variation `cv` (exactly 1 for 0)."""
    if not cv:
        return 1.0
    sigma2 = np.log1p(cv * cv)
    return float(rng.lognormal(-sigma2 / 2, np.sqrt(sigma2)))


def window(entries: np.ndarray, steps: int, ratio: float) -> np.ndarray:
    """``(steps, N)`` entries per simulated step: the proxy's ``(S, N)`` counts cut into
    `steps` equal slices of its run, each slice's mean, times `ratio` (the scale's
    parameters over the proxy's), rounded."""
    slices = np.array_split(np.arange(len(entries)), steps)
    means = np.stack([entries[s].mean(axis=0) for s in slices])
    return np.rint(means * ratio).astype(np.int64)


# -- the program ----------------------------------------------------------------------


def _scale(p: ParallelParams, net: MLP) -> Scale | None:
    """The run a cost-only run simulates: ``[protocol.scale]``, or this run's own."""
    if p.mode != "cost_only":
        return None
    return p.scale or Scale(params=net.n_params, compute_s_per_batch=p.compute_s_per_batch,
                            compute_cv=p.compute_cv, block=p.block, steps=p.steps)


def _program(p: ParallelParams, seed: int) -> Callable[[Party], Any]:
    data = dataset(p, seed)
    net = network(p, data)
    scale = _scale(p, net)
    steps = scale.steps if scale else p.steps
    block = scale.block if scale else p.block
    compute = scale.compute_s_per_batch if scale else p.compute_s_per_batch
    cv = scale.compute_cv if scale else p.compute_cv
    size, synced_peers = p.group_size, p.synced
    everyone = tuple(range(p.workers))
    w0 = None if scale else initial_model(p, seed, net)

    @cache
    def measured() -> np.ndarray:
        """GTC entries per simulated step and worker, from the replay (on first use, so
        that validating a scenario does not train)."""
        return window(replay(p, seed).entries, steps, scale.params / net.n_params)

    def state(party: Party) -> _Values | _Sizes:
        if scale:
            return _Sizes(scale.params, measured()[:, party.id],
                          gtc.dtype(scale.params, p.max_quanta))
        filt = (bmuf.BlockFilter(w0, p.eta(len(synced_peers)), p.block_lr, p.nesterov)
                if party.id in synced_peers else None)
        shard = data.shard(party.id, p.workers)
        return _Values(p, net, w0.copy(), shard, batches(p, seed, party.id, len(shard[1])),
                       filt)

    async def average(party: Party, model: Any) -> Any:
        if p.averaging == "broadcast":
            return await allreduce.broadcast_mean(party, synced_peers, model)
        return await allreduce.allreduce_mean(party, synced_peers, model)

    async def worker(party: Party) -> dict[str, Any]:
        me = state(party)
        first = party.id - party.id % size
        group = tuple(range(first, first + size))
        gtc_peers = everyone if p.method == "gtc" else group
        for t in range(steps):
            with party.phase("minibatch"):
                me.gradient(t)
                await party.compute(compute * _jitter(party.rng, cv))
            if p.method == "sgd":
                with party.phase("sgd"):
                    mine = me.sgd_message()
                    await party.broadcast(mine, party.others)
                    got = await party.recv_many(party.others)
                    got[party.id] = mine
                    await party.work(ring=2 * me.size * len(got), call=len(got) + 4)
                    me.apply_sgd([got[i] for i in everyone])
            elif p.method in ("gtc", "hybrid"):
                with party.phase("gtc"):
                    mine = me.gtc_message(t)
                    others = tuple(i for i in gtc_peers if i != party.id)
                    await party.broadcast(mine, others)
                    got = await party.recv_many(others)
                    got[party.id] = mine
                    messages = [got[i] for i in gtc_peers]
                    entries = sum(m.size for m in messages)
                    await party.work(ring=3 * me.size + 6 * entries, scatter=entries, call=12)
                    me.apply_gtc(messages)
            else:
                me.local_step()
            if synced_peers and ((t + 1) % block == 0 or t + 1 == steps):
                with party.phase("bmuf"):
                    if party.id in synced_peers:
                        avg = await average(party, me.model())
                        await party.work(ring=4 * me.size, call=4)  # the block filter
                        me.filtered(avg, final=t + 1 == steps)
                if p.method == "hybrid":
                    with party.phase("group_broadcast"):
                        if party.id == first:
                            await party.broadcast(me.model(), group[1:])
                        else:
                            me.set_model(await party.recv(first))
        return {"model": me.output(), "entries_sent": me.entries_sent}

    return worker


def _summarize(p: ParallelParams, seed: int) -> Callable[[Any], dict[str, Any]]:
    def summarize(result: Any) -> dict[str, Any]:
        data = dataset(p, seed)
        net = network(p, data)
        outs = [result.outputs[i] for i in sorted(result.outputs)]
        scale = _scale(p, net)
        if scale:
            replayed = replay(p, seed)
            error, check = replayed.error, {"all_workers_same_model": replayed.same_model}
        else:
            model = outs[0]["model"]
            error = net.error_rate(model, data.x_test, data.y_test)
            check = {"all_workers_same_model": all(
                np.array_equal(o["model"], model) for o in outs)}
        baseline = central_error(p, seed)
        steps = scale.steps if scale else p.steps
        params = scale.params if scale else net.n_params
        minibatches = steps * p.workers
        entries = sum(o["entries_sent"] for o in outs)
        return {
            "mode": p.mode,
            "accuracy": {"metric": "error_rate", "value": error, "baseline": baseline},
            "result_check": check,
            "parallel": {
                "method": p.method,
                "workers": p.workers,
                "groups": len(p.representatives),
                "params": params,
                "proxy_params": net.n_params,
                "steps_per_worker": steps,
                "minibatches": minibatches,
                "sim_time_s": result.end_time,
                "minibatches_per_s": minibatches / result.end_time if result.end_time else None,
                "error_increase": (error - baseline) / baseline if baseline else None,
                "gtc_entries_sent": entries,
                "gtc_entry_bytes": gtc.entry_bytes(params, p.max_quanta),
                "gtc_density": entries / (minibatches * params),
            },
        }

    return summarize


def plan(p: ParallelParams, seed: int) -> Plan:
    """Every worker runs the same program; worker ids are also the topology's nodes."""
    worker = _program(p, seed)
    roles = {"workers": list(range(p.workers))}
    if p.method == "hybrid":
        roles["representatives"] = list(p.representatives)
    return Plan(
        n_parties=p.workers,
        programs=dict.fromkeys(range(p.workers), worker),
        summarize=_summarize(p, seed),
        roles=roles,
        reveals=["every worker sees the others' updates (sgd, gtc) or models (bmuf, hybrid)",
                 "gtc message sizes (the quanta each worker sends) depend on the updates: "
                 "compression by value; nothing here is private"],
    )
