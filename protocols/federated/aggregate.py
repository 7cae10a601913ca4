"""How the clients' vectors reach the server: SecAgg, SecAgg+ or in the clear.

`Aggregation` wraps the secure aggregation of `secagg` (and a plain baseline
where the server sees every input, for comparing costs) behind one interface
that FedAvg and federated XGBoost call once per aggregation, with fixed-point
encoding of real vectors into Z_2^k. The communication graph and threshold
are fixed for the whole training; clients that dropped in an earlier
aggregation are simply not waited for (`expect`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from protocols.federated import secagg
from sim import Params, Party

Mode = Literal["secagg", "secagg+", "plain"]
PLAIN_PHASE = "aggregate.plain"
PLAIN_KIND = "aggregate.plain_input"
"""A client's vector sent in the clear (the message kind a wire profile sizes)."""


class AggregationParams(Params):
    """The aggregation keys every federated protocol's ``[protocol]`` table shares."""

    clients: Annotated[int, Field(ge=2, le=100_000)] = 10
    """Clients (parties 1..clients); party 0 is the server."""
    aggregation: Mode = "secagg+"
    """How the server sums the clients' vectors: secagg (Bonawitz et al. 2017, complete graph),
    secagg+ (Bell et al. 2020, sparse graph) or plain (in the clear, a cost baseline)."""
    degree: Annotated[int, Field(ge=2)] | None = None
    """secagg+ only: neighbours per client (default 2 ceil(1.5 log2 clients))."""
    threshold: Annotated[float, Field(ge=0, lt=1)] = 0.5
    """Fraction of a client's neighbours whose shares reconstruct its secrets: t =
    floor(threshold * neighbours) + 1."""
    bits: Annotated[int, Field(ge=8, le=64)] = 64
    """Width k of the ring Z_2^k the vectors are summed in."""
    frac_bits: Annotated[int, Field(ge=0, le=48)] = 24
    """Fractional bits of the fixed-point encoding of real vectors."""
    timeout: Annotated[float, Field(gt=0)] = 1.0
    """Seconds the server waits for the clients at each step before going on without them."""
    dropout_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    """Fraction of the clients that leave, each at a random round and step."""

    def aggregation_for(self, seed: int) -> Aggregation:
        clients = tuple(range(1, self.clients + 1))
        degree = None
        if self.aggregation == "secagg+":
            degree = self.degree if self.degree is not None else secagg.plus_degree(self.clients)
            if degree >= self.clients - 1:
                degree = None  # the graph would be complete: SecAgg itself
        return Aggregation(self.aggregation, clients, self.bits, self.frac_bits, degree,
                           self.threshold, self.timeout, seed)


def encode(values: np.ndarray, frac_bits: int, bits: int) -> np.ndarray:
    """Reals as fixed-point elements of Z_2^bits (two's complement), as uint64."""
    scaled = np.round(np.asarray(values, dtype=np.float64) * 2.0**frac_bits).astype(np.int64)
    return scaled.view(np.uint64) & np.uint64((1 << bits) - 1) if bits < 64 \
        else scaled.view(np.uint64)


def dropped_report(result: object, left: dict[int, float]) -> list[dict]:
    """The ``dropped`` report key: clients that crashed (faults) or left (planned), and when."""
    out = [{"party": p, "at": t, "how": "crash"} for p, t in sorted(result.crashed.items())]
    out += [{"party": p, "at": t, "how": "left"} for p, t in sorted(left.items())]
    return sorted(out, key=lambda d: (d["at"], d["party"]))


def decode(values: np.ndarray, frac_bits: int, bits: int) -> np.ndarray:
    """Inverse of `encode` for a sum that did not overflow 2^(bits-1) in magnitude."""
    v = np.asarray(values).astype(np.uint64)
    if bits < 64:
        top = np.uint64(1 << (bits - 1))
        signed = v.astype(np.int64) - np.where(v >= top, 1 << bits, 0).astype(np.int64)
    else:
        signed = v.view(np.int64)
    return signed.astype(np.float64) / 2.0**frac_bits


@dataclass(frozen=True)
class Aggregation:
    """One way to sum the clients' vectors at the server (party 0)."""

    mode: Mode
    clients: tuple[int, ...]
    bits: int
    frac_bits: int
    degree: int | None
    threshold: float
    timeout: float
    graph_seed: int
    _configs: dict[int, secagg.SecAggConfig] = field(default_factory=dict, compare=False)

    def config(self, length: int) -> secagg.SecAggConfig:
        cfg = self._configs.get(length)
        if cfg is None:
            cfg = self._configs[length] = secagg.SecAggConfig(
                self.clients, length, self.bits, self.degree, self.threshold,
                self.timeout, self.graph_seed,
            )
        return cfg

    async def client(self, party: Party, values: np.ndarray,
                     leave_before: int | None = None) -> bool:
        """Contribute real `values`; False if this client dropped or was dropped."""
        return await self.client_raw(party, encode(values, self.frac_bits, self.bits),
                                     leave_before)

    @property
    def variant(self) -> str:
        """What actually runs: plain, secagg (complete graph) or secagg+."""
        return self.mode if self.mode == "plain" or self.degree is not None else "secagg"

    async def client_raw(self, party: Party, x: np.ndarray,
                         leave_before: int | None = None) -> bool:
        """Contribute `x`, already in Z_2^bits."""
        if self.mode == "plain":
            if leave_before is not None:
                return False
            with party.phase(PLAIN_PHASE):
                await party.send(0, x.astype(secagg.dtype_for(self.bits)), PLAIN_KIND)
            return True
        return await secagg.client(party, x, self.config(len(x)), leave_before)

    async def server(self, party: Party, length: int,
                     expect: tuple[int, ...]) -> tuple[np.ndarray, secagg.SecAggOutcome]:
        """The decoded sum over the included clients, and the raw outcome."""
        if self.mode == "plain":
            with party.phase(PLAIN_PHASE):
                got = await party.recv_many(expect, timeout=self.timeout, kind=PLAIN_KIND)
                total = np.zeros(length, dtype=np.uint64)
                for x in got.values():
                    total += x
                await party.work(ring=length * len(got), call=len(got))
            out = secagg.SecAggOutcome(
                total & np.uint64((1 << self.bits) - 1) if self.bits < 64 else total,
                tuple(got), {u: PLAIN_PHASE for u in self.clients if u not in got},
            )
        else:
            out = await secagg.server(party, self.config(length), expect)
        return decode(out.total, self.frac_bits, self.bits), out


def planned_dropouts(
    clients: int, rate: float, rounds: int, seed: int
) -> dict[int, tuple[int, int]]:
    """Which clients leave, and when: ``{client: (training round, secagg round 0..3)}``.

    A fraction `rate` of the clients (chosen with the run's seed) each leave once,
    at a uniformly drawn training round and aggregation step.
    """
    rng = np.random.default_rng([seed, 11])
    count = int(round(rate * clients))
    who = rng.choice(np.arange(1, clients + 1), size=count, replace=False)
    when_round = rng.integers(0, rounds, size=count)
    when_step = rng.integers(0, len(secagg.PHASES), size=count)
    return {int(u): (int(r), int(s)) for u, r, s in zip(who, when_round, when_step, strict=True)}
