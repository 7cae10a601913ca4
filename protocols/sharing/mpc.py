"""`Mpc`: the per-party context protocols use for secure arithmetic."""

from __future__ import annotations

from protocols.sharing.fixed import FixedPoint


class Mpc(FixedPoint):
    """Secret-shared computation among `players`, with an optional trusted dealer.

    Every party of the run (players, dealer, input owners) builds one with the
    same arguments and runs the same program. See `protocols.sharing.core` for
    sharing, reveal, linear ops, Beaver products and truncation,
    `protocols.sharing.compare` for lt/eq/select/argmax and
    `protocols.sharing.fixed` for reciprocal/div.

    TRUST: operations beyond sharing, reveal and linear ops need the dealer, a
    trusted third party that must not collude with any player.
    """
