"""The protocol contract: what a protocol gives the application to be run by name.

A protocol is a `ProtocolSpec`: a name, a one-line summary, a pydantic model of
its parameters (a scenario's ``[protocol]`` table, less ``name``) and a `plan`
function. The plan says how many parties the run needs, what each runs, and how
to turn the run's outputs into the protocol's own part of the report (results
checked against plaintext, accuracy, what each party learned).

The contract lives in the kernel so that protocols depend only on the kernel and
the application finds them by name (`ppsim.catalog`), never the other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from sim.party import Program


class Params(BaseModel):
    """Base of every protocol's parameters: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class Plan:
    """What one protocol run needs and how to read its outcome.

    Attributes:
        n_parties: nodes the topology must have (ids ``0..n_parties-1``).
        programs: each party's coroutine function.
        summarize: called with the `sim.RunResult`; returns the keys this
            protocol adds to the report (for example ``result_check``,
            ``accuracy``, ``split``). It should check outputs against plaintext.
        roles: party ids by role, e.g. ``{"players": [0, 1, 2], "dealer": [3]}``.
        trust: what the run trusts beyond its parties (a dealer, a proxy), or
            None; the report prints it.
        reveals: what the protocol makes public by design, for the report.
        hub: the party a star topology should centre on, when it matters.
    """

    n_parties: int
    programs: dict[int, Program]
    summarize: Callable[[Any], dict[str, Any]]
    roles: dict[str, list[int]] = field(default_factory=dict)
    trust: str | None = None
    reveals: list[str] = field(default_factory=list)
    hub: int = 0


@dataclass(frozen=True)
class ProtocolSpec:
    """A protocol as the application sees it: ``plan(params, seed)`` gives the run."""

    name: str
    summary: str
    params: type[Params]
    plan: Callable[[Any, int], Plan]
