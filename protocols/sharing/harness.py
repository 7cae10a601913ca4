"""Run an `Mpc` program on the simulator over a complete graph (tests, benchmarks).

Players are parties 0..p-1, the dealer, if any, is party p, and `extra` input
parties (owners that do not compute) come after; every party runs the same
`body(mpc)` coroutine, as the design requires.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import networkx as nx

from protocols.sharing.mpc import Mpc
from sim.engine import RunResult, simulate
from sim.party import Party


def complete_graph(n: int, latency: float = 1e-3, bandwidth: float = 1.25e8) -> nx.Graph:
    """The complete topology on parties 0..n-1 with uniform link attributes."""
    graph = nx.complete_graph(n)
    nx.set_edge_attributes(graph, latency, "latency")
    nx.set_edge_attributes(graph, bandwidth, "bandwidth")
    return graph


def run_mpc(n_players: int, body: Callable[[Mpc], Awaitable[Any]], *, dealer: bool = True,
            frac_bits: int = 16, extra: int = 0, **options: Any) -> RunResult:
    """Simulate `body` at every party; `options` go to `sim.engine.simulate`."""
    players = list(range(n_players))
    dealer_id = n_players if dealer else None
    n = n_players + (1 if dealer else 0) + extra

    async def program(party: Party) -> Any:
        return await body(Mpc(party, players, dealer_id, frac_bits))

    return simulate(complete_graph(n), dict.fromkeys(range(n), program), **options)
