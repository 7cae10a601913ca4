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

import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator

from sim.costs import costs
from sim.engine import RunResult, SimulationError
from sim.party import Program


class RenamedParameter(FutureWarning):
    """A parameter given by a name the protocol no longer uses (still accepted).

    A FutureWarning, so that users see it by default; `ppsim.scenario` repeats it
    with the scenario file and key.
    """

    def __init__(self, old: str, new: str):
        self.old, self.new = old, new
        super().__init__(f"parameter {old!r} is now called {new!r}; the old name will go")


class Params(BaseModel):
    """Base of every protocol's parameters: unknown keys are errors, and so are
    ``inf`` and ``nan`` for any float (no parameter means "forever").

    Each field's docstring (or ``Field(description=...)``) is its description,
    which ``ppsim list --params NAME`` prints beside its type and default.
    `renamed` maps old parameter names to current ones: an old name is accepted
    with a `RenamedParameter` warning, so scenario files written before a rename
    keep working while they are updated.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False,
                              use_attribute_docstrings=True)
    renamed: ClassVar[Mapping[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _accept_old_names(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or not cls.renamed.keys() & data.keys():
            return data
        data = dict(data)
        for old, new in cls.renamed.items():
            if old not in data:
                continue
            if new in data:
                raise ValueError(f"{old!r} and {new!r} name the same parameter; give {new!r} only")
            data[new] = data.pop(old)
            warnings.warn(RenamedParameter(old, new), stacklevel=3)  # past pydantic: the caller
        return data


class FileParam:
    """Marks a protocol parameter that may name a file: ``Annotated[str, FileParam()]``.

    The application resolves such a value against the scenario file's folder
    (and refuses one that leaves it), so a scenario names its data beside it. A
    value with neither a ``/`` nor a file suffix is a name (e.g. a bundled data
    set) and is left as it is.
    """

    @staticmethod
    def is_path(value: object) -> bool:
        """Whether `value` names a file (a ``/`` or a suffix) rather than a name."""
        return isinstance(value, str) and ("/" in value or "." in value.rsplit("/", 1)[-1])


class ResultMissing(SimulationError):
    """A run ended but a party whose output is its result did not finish (it crashed)."""


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
        outputs: the parties whose outputs are the run's result (what
            `summarize` reads). If one of them crashed or did not finish, the
            result was not produced and the run fails (`check_outputs`); in a
            run of one process per party, only these parties' own processes
            hold the result. None: every party with a program.
        summarize_own: when the result is spread over several parties' outputs,
            what one of them can check alone of its own output (called with its
            id and the `sim.RunResult` of its process, which holds only its own
            output), for a run of one process per party; None: nothing.
    """

    n_parties: int
    programs: dict[int, Program]
    summarize: Callable[[Any], dict[str, Any]]
    roles: dict[str, list[int]] = field(default_factory=dict)
    trust: str | None = None
    reveals: list[str] = field(default_factory=list)
    hub: int = 0
    outputs: list[int] | None = None
    summarize_own: Callable[[int, Any], dict[str, Any]] | None = None

    def output_parties(self) -> list[int]:
        """The parties whose outputs are the result (`outputs`, or all with a program)."""
        return sorted(self.programs) if self.outputs is None else list(self.outputs)

    def check_outputs(self, result: Any, finished: Iterable[int] | None = None) -> None:
        """Raise `ResultMissing` if a party of `output_parties` has no output in `result`
        (or, given `finished`, is not among the parties known to have finished)."""
        done = set(result.outputs if finished is None else finished)
        missing = [p for p in self.output_parties() if p not in done]
        if not missing:
            return
        role = {p: name for name, ids in self.roles.items() for p in ids}
        why = [f"party {p}" + (f" ({role[p]})" if p in role else "")
               + (f" crashed at t={result.crashed[p]:.6g} s" if p in result.crashed
                  else " did not finish") for p in missing]
        raise ResultMissing(f"the run's result was not produced: {'; '.join(why)}")

    def report(self, result: RunResult, summary: dict[str, Any] | None = None
               ) -> dict[str, Any]:
        """The run's report keys that do not depend on a scenario: ``mode``, roles,
        trust, reveals, the costs (`sim.costs`) and the protocol's own keys
        (`summary`, by default ``summarize(result)``; it may set ``mode`` but
        override nothing else).

        `ppsim.report.build` adds the scenario and versions around these (and
        passes the summary it has checked); `sim.testing.run` returns them as
        they are.
        """
        out: dict[str, Any] = {"mode": "full", "roles": self.roles, "trust": self.trust,
                               "reveals": self.reveals,
                               **costs(result, self.roles, self.programs)}
        extra = self.summarize(result) if summary is None else summary
        clash = set(extra) & set(out) - {"mode"}
        if clash:
            raise ValueError(f"the protocol's summary overrides report keys {sorted(clash)}")
        out.update(extra)
        return out


@dataclass(frozen=True)
class ProtocolSpec:
    """A protocol as the application sees it: ``plan(params, seed)`` gives the run.

    `memory`, if given, estimates from the parameters alone (before `plan`
    builds any data) the bytes a run needs at its peak, so that the
    application can refuse a run this machine cannot hold instead of failing
    hours in. An estimate to within a factor of two or so is enough.
    """

    name: str
    summary: str
    params: type[Params]
    plan: Callable[[Any, int], Plan]
    memory: Callable[[Any], float] | None = None
