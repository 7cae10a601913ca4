"""The protocols a scenario can name, and what each asks of a run.

A protocol registers a `ProtocolSpec`: a name, a one-line summary, a pydantic
model of its parameters (the ``[protocol]`` table of a scenario, less ``name``),
and a `plan` function. The plan says how many parties the run needs, what each
runs, and how to turn the run's outputs into the protocol's own part of the
report (results checked against plaintext, accuracy, what each party learned).

Protocol modules register themselves on import; `known()` imports them all.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from sim.party import Party

Program = Callable[[Party], Awaitable[Any]]


class Params(BaseModel):
    """Base of every protocol's parameters: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class Plan:
    """What one protocol run needs and how to read its outcome.

    Attributes:
        n_parties: nodes the topology must have (ids ``0..n_parties-1``).
        programs: each party's coroutine function.
        summarize: called with the `sim.engine.RunResult`; returns the keys this
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
    name: str
    summary: str
    params: type[Params]
    plan: Callable[[Any, int], Plan]
    """``plan(params, seed)``: the run for these parameters and seed."""


_REGISTRY: dict[str, ProtocolSpec] = {}

_MODULES = (
    "protocols.sharing.demos",
    "protocols.xorboost",
    "protocols.federated",
    "protocols.ppxgboost",
    "protocols.parallel",
)


def register(spec: ProtocolSpec) -> ProtocolSpec:
    if spec.name in _REGISTRY and _REGISTRY[spec.name] is not spec:
        raise ValueError(f"protocol {spec.name!r} registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def known() -> dict[str, ProtocolSpec]:
    """Every registered protocol, by name (imports the protocol modules)."""
    for module in _MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return dict(sorted(_REGISTRY.items()))
