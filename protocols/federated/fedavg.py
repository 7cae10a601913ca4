"""FedAvg (McMahan et al. 2017) with secure aggregation of the clients' updates.

Each round the server (party 0) sends the global model to the clients still
online; each trains it for E local epochs of minibatch SGD on its shard and
contributes ``(n_i * w_i, n_i)`` as one fixed-point vector to a secure
aggregation (SecAgg, SecAgg+ or, for comparison, in the clear). The server
learns only the sums, so the new model is the sample-weighted mean of the
included clients' models. Clients that drop are left out of that round's sum
and of later rounds. The server evaluates each round's model on held-out data
(`accuracy_per_round`); the baseline is the same model trained centrally on
the pooled training rows with the same SGD settings for R * E epochs.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from protocols.federated import data as fdata
from protocols.federated.aggregate import (
    AggregationParams,
    dropped_report,
    planned_dropouts,
)
from protocols.federated.models import Net, sgd
from protocols.registry import Plan
from sim.party import Party


class FedAvgParams(AggregationParams):
    """``[protocol]`` of a ``fedavg`` scenario."""

    model: Literal["logreg", "mlp"] = "logreg"
    hidden: Annotated[int, Field(ge=1)] = 32
    dataset: fdata.Source = "breast_cancer"
    samples: Annotated[int, Field(ge=10)] = 20_000
    features: Annotated[int, Field(ge=2)] = 20
    shards: Literal["iid", "label_skew"] = "iid"
    skew_alpha: Annotated[float, Field(gt=0)] = 0.5
    rounds: Annotated[int, Field(ge=1)] = 10
    local_epochs: Annotated[int, Field(ge=1)] = 2
    batch_size: Annotated[int, Field(ge=1)] = 16
    lr: Annotated[float, Field(gt=0)] = 0.05


def _setup(p: FedAvgParams, seed: int) -> tuple[fdata.Data, Net, np.ndarray]:
    d = fdata.load(p.dataset, seed, p.samples, p.features)
    hidden = (p.hidden,) if p.model == "mlp" else ()
    net = Net((d.x_train.shape[1], *hidden, d.classes))
    return d, net, net.init(np.random.default_rng([seed, 23]))


@lru_cache(maxsize=8)
def central_accuracy(p: FedAvgParams, seed: int) -> float:
    """The baseline: the same model and SGD on the pooled rows, R * E epochs."""
    d, net, w0 = _setup(p, seed)
    w = sgd(net, w0, d.x_train, d.y_train, p.rounds * p.local_epochs, p.batch_size, p.lr,
            np.random.default_rng([seed, 24]))
    return net.accuracy(w, d.x_test, d.y_test)


def plan(p: FedAvgParams, seed: int) -> Plan:
    d, net, w0 = _setup(p, seed)
    parts = fdata.shards(d.y_train, p.clients, p.shards, p.skew_alpha, seed)
    agg = p.aggregation_for(seed)
    leaving = planned_dropouts(p.clients, p.dropout_rate, p.rounds, seed)
    length = net.n_params + 1
    wait = 20 * p.timeout

    async def server(party: Party) -> dict[str, Any]:
        w, live, per_round, included = w0.copy(), agg.clients, [], []
        for _ in range(p.rounds):
            with party.phase("fedavg.broadcast"):
                for u in live:
                    await party.send(u, w)
            total, out = await agg.server(party, length, live)
            with party.phase("fedavg.update"):
                w = total[:-1] / total[-1]
                live = out.included
                per_round.append(net.accuracy(w, d.x_test, d.y_test))
                included.append(len(live))
                await party.work(net.flops(len(d.y_test)) // 3)
        for u in live:  # tell the remaining clients that training is over
            await party.send(u, None)
        return {"model": w, "accuracy_per_round": per_round, "included": included}

    async def client(party: Party) -> dict[str, Any]:
        x, y = d.x_train[parts[party.id - 1]], d.y_train[parts[party.id - 1]]
        rng = np.random.default_rng([seed, 25, party.id])
        leave = leaving.get(party.id)
        for r in range(p.rounds + 1):
            got = await party.recv_many([0], timeout=wait)
            if got.get(0) is None:
                break
            with party.phase("fedavg.local_training"):
                w = sgd(net, got[0], x, y, p.local_epochs, p.batch_size, p.lr, rng)
                await party.work(p.local_epochs * net.flops(len(y)))
            step = leave[1] if leave is not None and leave[0] == r else None
            if not await agg.client(party, np.append(len(y) * w, len(y)), step):
                return {"left_at": party.now() if step is not None else None}
        return {"left_at": None}

    def summarize(result: Any) -> dict[str, Any]:
        out = result.outputs[0]
        ledger = result.ledger
        clients = range(1, p.clients + 1)
        left = {u: o["left_at"] for u, o in result.outputs.items()
                if u and o["left_at"] is not None}
        return {
            "split": "horizontal",
            "accuracy": {"metric": "accuracy", "value": out["accuracy_per_round"][-1],
                         "baseline": central_accuracy(p, seed)},
            "accuracy_per_round": out["accuracy_per_round"],
            "dropped": dropped_report(result, left),
            "fedavg": {
                "model": p.model,
                "params": net.n_params,
                "aggregation": agg.variant,
                "clients": p.clients,
                "shards": p.shards,
                "rounds": p.rounds,
                "local_epochs": p.local_epochs,
                "included_per_round": out["included"],
                "client_bytes_mean": float(np.mean(
                    [ledger.parties[u].bytes_sent + ledger.parties[u].bytes_received
                     for u in clients])),
                "server_bytes": ledger.parties[0].bytes_sent + ledger.parties[0].bytes_received,
                "sim_time_s": result.end_time,
            },
        }

    return Plan(
        n_parties=p.clients + 1,
        programs={0: server, **dict.fromkeys(clients_of(p), client)},
        summarize=summarize,
        roles={"server": [0], "clients": list(clients_of(p))},
        reveals=["the server learns each round's weighted sum of the included clients' models "
                 "and their total sample count, and who dropped"]
        if p.aggregation != "plain" else ["the server sees every client's model"],
        hub=0,
    )


def clients_of(p: AggregationParams) -> range:
    return range(1, p.clients + 1)
