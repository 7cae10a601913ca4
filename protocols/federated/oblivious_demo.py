"""The ``fed_oblivious`` protocol: one secure maximum and one clipped mean of random client
vectors, checked against plaintext.

Parties: 0 the server (a computing player that learns the results), 1..n the
clients, n+1 the helper server (the other player), n+2 the trusted dealer; see
`oblivious` for the trust model. Client i's vector is Gaussian with norm about
C exp(u_i), u_i uniform in [-spread, spread], so that some are clipped and some
not. A fraction `dropout_rate` of the clients never send their shares.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Field, model_validator

from protocols.federated import data as fdata
from protocols.federated import oblivious as obl
from protocols.federated.aggregate import dropped_report
from protocols.sharing.ring import decode, encode
from sim import Params, Party, Plan


class ObliviousParams(Params):
    """``[protocol]`` of a ``fed_oblivious`` scenario."""

    clients: Annotated[int, Field(ge=2, le=10_000)] = 10
    """Clients (parties 1..clients); the server is party 0, the helper server clients+1, the
    dealer clients+2."""
    renamed = {"length": "vector_length"}
    vector_length: Annotated[int, Field(ge=1, le=1_000_000)] = 100
    """Elements of each client's vector."""
    clip_norm: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0
    """L2 norm C every vector is clipped to, on shares."""
    spread: Annotated[float, Field(ge=0, le=5)] = 1.0
    """Input norms are C exp(u), u uniform in [-spread, spread]: some get clipped."""
    frac_bits: Annotated[int, Field(ge=8, le=26)] = 16
    """Fractional bits of the fixed-point encoding."""
    iterations: Annotated[int, Field(ge=1, le=8)] = 3
    """Newton steps of the shared inverse square root."""
    timeout: Annotated[float, Field(gt=0)] = 1.0
    """Seconds the servers wait for the clients' shares."""
    dropout_rate: Annotated[float, Field(ge=0, lt=1)] = 0.0
    """Fraction of the clients that never send their shares."""

    @model_validator(mode="after")
    def _fits(self) -> ObliviousParams:
        obl.ClipConstants.build(self.clip_norm, self.frac_bits)
        return self


def config(p: ObliviousParams | Any) -> obl.ObliviousConfig:
    """Clients 1..n, helper n+1, dealer n+2."""
    n = p.clients
    return obl.ObliviousConfig(tuple(range(1, n + 1)), n + 1, n + 2, p.frac_bits,
                               p.clip_norm, p.iterations, p.timeout)


def inputs(p: ObliviousParams, seed: int) -> dict[int, np.ndarray]:
    """Each client's vector, from the seed (the test's plaintext)."""
    rng = np.random.default_rng([seed, 31])
    out = {}
    for u in range(1, p.clients + 1):
        v = rng.normal(size=p.vector_length)
        out[u] = v * (p.clip_norm * np.exp(rng.uniform(-p.spread, p.spread)) / np.linalg.norm(v))
    return out


def leaving(p: ObliviousParams, seed: int) -> set[int]:
    """The clients that never send their shares."""
    rng = np.random.default_rng([seed, 32])
    count = int(round(p.dropout_rate * p.clients))
    return {int(u) for u in rng.choice(np.arange(1, p.clients + 1), size=count, replace=False)}


def plaintext(xs: dict[int, np.ndarray], included: tuple[int, ...], clip_norm: float,
              frac_bits: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Elementwise max, clipped mean and count of clipped rows, on the fixed-point inputs."""
    x = np.stack([decode(encode(xs[u], frac_bits), frac_bits) for u in included])
    norms = np.linalg.norm(x, axis=1)
    scale = np.where(norms > clip_norm, clip_norm / np.maximum(norms, 1e-300), 1.0)
    return x.max(axis=0), (x * scale[:, None]).mean(axis=0), int((norms > clip_norm).sum())


def plan(p: ObliviousParams, seed: int) -> Plan:
    cfg = config(p)
    xs = inputs(p, seed)
    gone = leaving(p, seed)

    async def aggregator(party: Party) -> obl.Outcome:
        return await obl.aggregate(cfg.mpc(party), cfg, p.vector_length, cfg.clients)

    async def client(party: Party) -> dict[str, Any]:
        if party.id in gone:
            return {"left_at": party.now()}
        await obl.contribute(cfg.mpc(party), xs[party.id])
        return {"left_at": None}

    def summarize(result: Any) -> dict[str, Any]:
        out: obl.Outcome = result.outputs[0]
        top, mean, clipped = plaintext(xs, out.included, p.clip_norm, p.frac_bits)
        error = float(np.abs(out.clipped_sum / len(out.included) - mean).max())
        bound = obl.clip_error_bound(p.clip_norm, p.frac_bits)
        exact = bool(np.array_equal(out.maximum, top))
        ledger = result.ledger
        rounds = ledger.phase_rounds()
        return {
            "split": fdata.vector_split(p.clients, p.vector_length),
            "result_check": {
                "ok": exact and error <= bound and set(out.included) == set(cfg.clients) - gone,
                "max_exact": exact,
                "clipped_mean_max_error": error,
                "error_bound": bound,
                "included": len(out.included),
                "clients": p.clients,
            },
            "dropped": dropped_report(result, {u: result.outputs[u]["left_at"] for u in gone
                                               if u in result.outputs}),
            "oblivious": {
                "clip_norm": p.clip_norm,
                "frac_bits": p.frac_bits,
                "vector_length": p.vector_length,
                "clipped_clients_plaintext": clipped,
                "rounds_max": rounds.get(obl.PHASE_MAX, 0),
                "rounds_clip": rounds.get(obl.PHASE_CLIP, 0),
                "server_bytes": ledger.parties[0].bytes_sent + ledger.parties[0].bytes_received,
                "helper_bytes": (ledger.parties[cfg.helper].bytes_sent
                                 + ledger.parties[cfg.helper].bytes_received),
                "dealer_bytes_sent": ledger.parties[cfg.dealer].bytes_sent,
                "client_bytes_sent_mean": float(np.mean(
                    [ledger.parties[u].bytes_sent for u in cfg.clients])),
            },
        }

    return Plan(
        n_parties=p.clients + 3,
        programs={0: aggregator, cfg.helper: aggregator, cfg.dealer: aggregator,
                  **dict.fromkeys(cfg.clients, client)},
        summarize=summarize,
        roles={"server": [0], "clients": list(cfg.clients), "helper": [cfg.helper],
               "dealer": [cfg.dealer]},
        trust=f"two non-colluding aggregation servers (0 and {cfg.helper}) and a trusted "
              f"dealer ({cfg.dealer}) that colludes with neither",
        reveals=["the server learns the elementwise maximum and the mean of the clipped "
                 "vectors of the included clients",
                 "the helper and the dealer learn which clients' shares arrived"],
        hub=0,
        outputs=[0],
    )
