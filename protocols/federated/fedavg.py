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

With ``clip_norm = C`` the aggregation is instead `oblivious`: each client
shares its update (local model minus global model) between the server and a
helper server (party n+1), which with a trusted dealer (party n+2) clip every
update to L2 norm C on shares and open only the sum of the clipped updates to
the server; the new model is the global one plus their unweighted mean (the
clipping of DP-FedAvg, McMahan et al. 2018). Trust: the two servers do not
collude, and neither colludes with the dealer.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from protocols.federated import data as fdata
from protocols.federated import oblivious as obl
from protocols.federated.aggregate import (
    AggregationParams,
    dropped_report,
    planned_dropouts,
)
from protocols.federated.models import Net, sgd
from sim import Party, Plan

MODEL_KIND = "fedavg.model"  # server -> client: the global model (float64 weights)
DONE_KIND = "fedavg.done"  # server -> client: None, training is over


class FedAvgParams(AggregationParams):
    """``[protocol]`` of a ``fedavg`` scenario."""

    model: Literal["logreg", "mlp"] = "logreg"
    """logreg: multinomial logistic regression; mlp: one hidden layer."""
    hidden: Annotated[int, Field(ge=1)] = 32
    """Hidden units of the mlp."""
    renamed = {"samples": "n_samples", "features": "n_features", "lr": "learning_rate"}
    dataset: fdata.Source = "breast_cancer"
    """breast_cancer, digits (scikit-learn's bundled sets) or synthetic."""
    n_samples: Annotated[int, Field(ge=10)] = 20_000
    """Rows of the synthetic data set."""
    n_features: Annotated[int, Field(ge=2)] = 20
    """Features of the synthetic data set."""
    shards: Literal["iid", "label_skew"] = "iid"
    """iid: equal random shards; label_skew: class proportions from Dirichlet(skew_alpha)."""
    skew_alpha: Annotated[float, Field(gt=0)] = 0.5
    """Dirichlet concentration of label_skew shards (smaller: more skewed)."""
    rounds: Annotated[int, Field(ge=1)] = 10
    """Training rounds (one aggregation each)."""
    local_epochs: Annotated[int, Field(ge=1)] = 2
    """Epochs of minibatch SGD each client runs per round."""
    batch_size: Annotated[int, Field(ge=1)] = 16
    """Minibatch rows."""
    learning_rate: Annotated[float, Field(gt=0)] = 0.05
    """SGD step size."""
    clip_norm: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    """Clip each update to this L2 norm on secret shares (then `aggregation` is unused)."""

    @model_validator(mode="after")
    def _clip_fits(self) -> FedAvgParams:
        if self.clip_norm is not None:
            if self.frac_bits > 26:
                raise ValueError(f"clip_norm needs frac_bits <= 26, got {self.frac_bits}")
            obl.ClipConstants.build(self.clip_norm, self.frac_bits)
        return self


def _setup(p: FedAvgParams, seed: int) -> tuple[fdata.Data, Net, np.ndarray]:
    d = fdata.load(p.dataset, seed, p.n_samples, p.n_features)
    hidden = (p.hidden,) if p.model == "mlp" else ()
    net = Net((d.x_train.shape[1], *hidden, d.classes))
    return d, net, net.init(np.random.default_rng([seed, 23]))


@lru_cache(maxsize=8)
def central_accuracy(p: FedAvgParams, seed: int) -> float:
    """The baseline: the same model and SGD on the pooled rows, R * E epochs."""
    d, net, w0 = _setup(p, seed)
    w = sgd(net, w0, d.x_train, d.y_train, p.rounds * p.local_epochs, p.batch_size,
            p.learning_rate, np.random.default_rng([seed, 24]))
    return net.accuracy(w, d.x_test, d.y_test)


def plan(p: FedAvgParams, seed: int) -> Plan:
    d, net, w0 = _setup(p, seed)
    parts = fdata.shards(d.y_train, p.clients, p.shards, p.skew_alpha, seed)
    agg = p.aggregation_for(seed)
    leaving = planned_dropouts(p.clients, p.dropout_rate, p.rounds, seed)
    length = net.n_params + 1
    wait = 20 * p.timeout
    clip = clip_config(p)

    async def server(party: Party) -> dict[str, Any]:
        w, live, per_round, included = w0.copy(), agg.clients, [], []
        mpc = clip.mpc(party) if clip else None
        for r in range(p.rounds):
            with party.phase("fedavg.broadcast"):
                for u in live:
                    await party.send(u, w, MODEL_KIND)
                if clip:  # the helper starts waiting for the clients' shares now
                    await party.send(clip.helper, r)
            if clip:
                out = await obl.aggregate(mpc, clip, net.n_params, live, maximum=False)
                new_w = w + out.clipped_sum / len(out.included)
            else:
                total, out = await agg.server(party, length, live)
                new_w = total[:-1] / total[-1]
            with party.phase("fedavg.update"):
                w = new_w
                live = out.included
                per_round.append(net.accuracy(w, d.x_test, d.y_test))
                included.append(len(live))
                await party.work(**net.forward_work(len(d.y_test)))
        for u in live:  # tell the remaining clients that training is over
            await party.send(u, None, DONE_KIND)
        return {"model": w, "accuracy_per_round": per_round, "included": included}

    async def client(party: Party) -> dict[str, Any]:
        x, y = d.x_train[parts[party.id - 1]], d.y_train[parts[party.id - 1]]
        rng = np.random.default_rng([seed, 25, party.id])
        leave = leaving.get(party.id)
        mpc = clip.mpc(party) if clip else None
        for r in range(p.rounds + 1):
            got = await party.recv_many([0], timeout=wait)
            if got.get(0) is None:
                break
            with party.phase("fedavg.local_training"):
                w = sgd(net, got[0], x, y, p.local_epochs, p.batch_size, p.learning_rate, rng)
                await party.work(**net.sgd_work(len(y), p.local_epochs, p.batch_size))
            step = leave[1] if leave is not None and leave[0] == r else None
            if clip:
                if step is not None:
                    return {"left_at": party.now()}
                await obl.contribute(mpc, w - got[0])
            elif not await agg.client(party, np.append(len(y) * w, len(y)), step):
                return {"left_at": party.now() if step is not None else None}
        return {"left_at": None}

    async def clip_server(party: Party) -> None:
        """The helper server and the dealer of the clipped aggregation, round after round."""
        mpc, live = clip.mpc(party), clip.clients
        for _ in range(p.rounds):
            if party.id == clip.helper:
                with party.phase("fedavg.broadcast"):
                    await party.recv(0)
            live = (await obl.aggregate(mpc, clip, net.n_params, live, maximum=False)).included

    def summarize(result: Any) -> dict[str, Any]:
        out = result.outputs[0]
        ledger = result.ledger
        clients = range(1, p.clients + 1)
        left = {u: o["left_at"] for u, o in result.outputs.items()
                if u in clients and o["left_at"] is not None}
        return {
            "split": fdata.horizontal_split(parts, d.x_train.shape[1]),
            "accuracy": {"metric": "accuracy", "value": out["accuracy_per_round"][-1],
                         "baseline": central_accuracy(p, seed)},
            "accuracy_per_round": out["accuracy_per_round"],
            "dropped": dropped_report(result, left),
            "fedavg": {
                "model": p.model,
                "params": net.n_params,
                "aggregation": "oblivious-clip" if clip else agg.variant,
                "clip_norm": p.clip_norm,
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

    programs = {0: server, **dict.fromkeys(clients_of(p), client)}
    roles = {"server": [0], "clients": list(clients_of(p))}
    if clip:
        programs |= {clip.helper: clip_server, clip.dealer: clip_server}
        roles |= {"helper": [clip.helper], "dealer": [clip.dealer]}
        reveals = ["the server learns each round's sum of the included clients' updates "
                   "clipped to the L2 norm clip_norm, and who dropped; the helper and the "
                   "dealer learn who dropped"]
    elif p.aggregation != "plain":
        reveals = ["the server learns each round's weighted sum of the included clients' "
                   "models and their total sample count, and who dropped"]
    else:
        reveals = ["the server sees every client's model"]
    return Plan(
        n_parties=len(programs),
        programs=programs,
        summarize=summarize,
        roles=roles,
        trust=None if not clip else
        f"two non-colluding aggregation servers (0 and {clip.helper}) and a trusted dealer "
        f"({clip.dealer}) that colludes with neither",
        reveals=reveals,
        hub=0,
        outputs=[0],
    )


def clip_config(p: FedAvgParams) -> obl.ObliviousConfig | None:
    """The clipped aggregation's roles (helper n+1, dealer n+2), or None without clip_norm."""
    if p.clip_norm is None:
        return None
    return obl.ObliviousConfig(tuple(clients_of(p)), p.clients + 1, p.clients + 2, p.frac_bits,
                               p.clip_norm, timeout=p.timeout)


def clients_of(p: AggregationParams) -> range:
    return range(1, p.clients + 1)
