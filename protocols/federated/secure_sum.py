"""The ``secagg`` protocol: one secure aggregation of random vectors, checked against plaintext.

Party 0 is the server, parties 1..n the clients; each client's input is drawn
from the run's seed. The report says whether the server's sum equals the
plaintext sum of the included clients' inputs, who dropped and when, and the
bytes per client and at the server next to Bonawitz et al.'s count
(`secagg.client_bytes`).
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Field

from protocols.federated import data as fdata
from protocols.federated import secagg
from protocols.federated.aggregate import AggregationParams, dropped_report, planned_dropouts
from sim import Party, Plan


class SecAggParams(AggregationParams):
    """``[protocol]`` of a ``secagg`` scenario (the inputs are integers, not fixed-point)."""

    renamed = {"length": "vector_length"}
    vector_length: Annotated[int, Field(ge=1, le=10_000_000)] = 1000
    """Elements of each client's vector."""
    bits: Annotated[int, Field(ge=1, le=64)] = 32
    """Width k of the ring Z_2^k: inputs are uniform k-bit integers."""
    frac_bits: Annotated[int, Field(ge=0, le=0)] = 0
    """Always 0: the inputs are integers."""


def inputs(p: SecAggParams, seed: int) -> dict[int, np.ndarray]:
    """Each client's vector in [0, 2^bits), from the seed (the test's plaintext)."""
    rng = np.random.default_rng([seed, 12])
    high = np.uint64((1 << p.bits) - 1)
    return {u: rng.integers(0, high, p.vector_length, dtype=np.uint64, endpoint=True)
            for u in range(1, p.clients + 1)}


def plan(p: SecAggParams, seed: int) -> Plan:
    agg = p.aggregation_for(seed)
    xs = inputs(p, seed)
    leaving = planned_dropouts(p.clients, p.dropout_rate, 1, seed)

    async def server(party: Party) -> Any:
        _, out = await agg.server(party, p.vector_length, agg.clients)
        return out

    async def client(party: Party) -> Any:
        step = leaving.get(party.id, (0, None))[1]
        done = await agg.client_raw(party, xs[party.id], step)
        return {"included": done, "left_at": None if done else party.now()}

    def summarize(result: Any) -> dict[str, Any]:
        out: secagg.SecAggOutcome = result.outputs[0]
        want = np.zeros(p.vector_length, dtype=np.uint64)
        for u in out.included:
            want += xs[u]
        if p.bits < 64:
            want &= np.uint64((1 << p.bits) - 1)
        ledger = result.ledger
        clients = range(1, p.clients + 1)
        d = len(agg.clients) - 1 if agg.degree is None else agg.degree
        sent, received = secagg.client_bytes(d, p.vector_length, p.bits, ledger.header_bytes)
        left = {u: o["left_at"] for u, o in result.outputs.items()
                if u != 0 and o["left_at"] is not None and u in leaving}
        return {
            "split": fdata.vector_split(p.clients, p.vector_length),
            "result_check": {
                "ok": bool(np.array_equal(out.total.astype(np.uint64), want)),
                "included": len(out.included),
                "clients": p.clients,
            },
            "dropped": dropped_report(result, left),
            "secagg": {
                "variant": agg.variant,
                "clients": p.clients,
                "degree": d,
                "threshold_t": agg.config(p.vector_length).t if agg.mode != "plain" else None,
                "vector_length": p.vector_length,
                "bits": p.bits,
                "client_bytes_sent_mean": float(np.mean(
                    [ledger.parties[u].bytes_sent for u in clients])),
                "client_bytes_received_mean": float(np.mean(
                    [ledger.parties[u].bytes_received for u in clients])),
                "server_bytes_sent": ledger.parties[0].bytes_sent,
                "server_bytes_received": ledger.parties[0].bytes_received,
                "formula_client_bytes_sent": sent if agg.mode != "plain" else None,
                "formula_client_bytes_received": received if agg.mode != "plain" else None,
            },
        }

    return Plan(
        n_parties=p.clients + 1,
        programs={0: server, **dict.fromkeys(range(1, p.clients + 1), client)},
        summarize=summarize,
        roles={"server": [0], "clients": list(range(1, p.clients + 1))},
        reveals=["the server learns the sum of the included clients' vectors and who dropped"]
        if p.aggregation != "plain" else ["the server sees every client's vector"],
        hub=0,
        outputs=[0],
    )
