"""Run an `Mpc` program over a complete topology (tests, benchmarks).

Players are parties 0..p-1, the dealer, if any, is party p, and `extra` input
parties (owners that do not compute) come after; every party runs the same
`body(mpc)` coroutine, as the design requires.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from protocols.sharing.mpc import Mpc
from sim import Party
from sim.testing import Outcome, run


def run_mpc(n_players: int, body: Callable[[Mpc], Awaitable[Any]], *, dealer: bool = True,
            frac_bits: int = 16, extra: int = 0, **options: Any) -> Outcome:
    """Run `body` at every party; `options` go to `sim.testing.run` (``runtime``,
    ``seed``, ``latency``, ``record_views``, ...)."""
    players = list(range(n_players))
    dealer_id = n_players if dealer else None
    n = n_players + (1 if dealer else 0) + extra

    async def program(party: Party) -> Any:
        return await body(Mpc(party, players, dealer_id, frac_bits))

    return run(program, n=n, **options)
