"""Scenario files: TOML, validated on load, with errors that name file, key and value.

A scenario names the protocol and its parameters, the topology and its link
parameters, faults, the per-message header, the cost model, where the parties
run (hosts) and the seed::

    seed = 7
    [protocol]
    name = "secure_sum"      # see `ppsim list`; other keys are the protocol's
    parties = 5
    [topology]
    kind = "star"            # other keys are the builder's (hub, groups, ...)
    latency = 0.005
    bandwidth = 1.25e7
    [network]
    header_bytes = 40
    profile = "ppsim"        # or "flower-1.42", "mpyc-0.11": a framework's bytes (sim.profiles)
    [[faults]]
    kind = "crash"
    party = 3
    at = 0.01
    [cost]
    model = "default"        # or a file written by `ppsim calibrate`
    ring = 5e-10             # override a constant (seconds per operation)
    [hosts.laptop]           # parties 0..2 share one machine's 2 cores
    parties = [0, 1, 2]
    cores = 2
    [output]
    record_views = false
    accuracy = true          # false: a cost demonstration, no accuracy in the report

`load` checks everything that can be checked without running: the tables and
their types, the protocol's own parameters, that the topology can be built for
the parties the protocol needs, and that faults name parties and links that
exist. The first problem found is raised as a `ScenarioError`. Files are read
and checked as hostile input first (size, encoding, nesting, finite numbers,
paths that stay in the scenario's folder, the run's memory): see `ppsim.limits`.

Faults model what the protocols must survive, nothing more: a ``drop`` fault
loses messages for good (there is no retransmission in the model), so a
protocol that waits for a dropped message stops with a deadlock that names the
dropped messages.
"""

from __future__ import annotations

import math
import re
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import networkx as nx
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

import topologies
from ppsim import catalog
from ppsim import limits as _limits
from ppsim.limits import DEFAULT, InputError, Limits
from sim import (
    DEFAULT_PROFILE,
    OPS,
    CostModel,
    CostModelError,
    Crash,
    FileParam,
    Host,
    LinkFault,
    Params,
    Plan,
    Profile,
    ProtocolSpec,
    RenamedParameter,
)


class ScenarioError(ValueError):
    """A scenario file is malformed; the message names the file, key and value."""

    def __init__(self, source: str, key: str, message: str):
        self.source, self.key = source, key
        where = f"{source}: " if source else ""
        super().__init__(f"{where}[{key}] {message}" if key else f"{where}{message}")


class ScenarioWarning(UserWarning):
    """Something a scenario file should change although it still works (an old
    parameter name); the message names the file and the key."""


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


FiniteNonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class TopologyConfig(BaseModel):
    """`kind`, link `latency` (s) and `bandwidth` (bytes/s); other keys go to the builder."""

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)
    kind: str
    latency: FiniteNonNeg | None = None
    bandwidth: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    nic_bandwidth: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    """Every party's network interface (bytes/s): one queue for all it sends, one for
    all it receives (see `sim.network`); unset, each link has its own."""


class NetworkConfig(_Table):
    header_bytes: Annotated[int, Field(ge=0, le=1 << 20)] = 0
    """Added to every message: the framing below the profile's encoding (TCP/IP, TLS)."""
    profile: str = DEFAULT_PROFILE.name
    """The wire profile: how a framework encodes and frames the messages (`sim.profiles`);
    ``ppsim`` (ppsim's own encoding), ``flower-1.42``, ``mpyc-0.11``, or
    ``package.module:attr``."""


class CrashFault(_Table):
    kind: Literal["crash"]
    party: Annotated[int, Field(ge=0)]
    at: FiniteNonNeg


class DropFault(_Table):
    kind: Literal["drop"]
    link: tuple[int, int]
    probability: Annotated[float, Field(ge=0, le=1)]
    """Each message on the link is lost with this probability, for good: the model
    has no retransmission, so a protocol waiting for it deadlocks (the error names it)."""


class DelayFault(_Table):
    kind: Literal["delay"]
    link: tuple[int, int]
    seconds: FiniteNonNeg


Fault = Annotated[CrashFault | DropFault | DelayFault, Field(discriminator="kind")]


class CostConfig(BaseModel):
    """``model``: "default" (the shipped model) or a file ``ppsim calibrate`` wrote,
    relative to the scenario; any other key overrides one constant (`sim.OPS`):
    seconds per operation, or for Paillier a table of seconds by key size."""

    model_config = ConfigDict(extra="allow", frozen=True)
    model: str = "default"

    @model_validator(mode="after")
    def _known(self) -> CostConfig:
        for key in self.model_extra or {}:
            if key == "element_time_s":
                raise ValueError("element_time_s is gone: local work is charged per operation "
                                 "class; write ring = <seconds> for one element operation")
            if key not in OPS:
                raise ValueError(f"unknown operation class {key!r}; known: {', '.join(OPS)}")
        return self


class HostConfig(_Table):
    """Parties that share one machine: its `cores` and network interface."""

    parties: list[Annotated[int, Field(ge=0)]] | Literal["all"]
    cores: Annotated[int, Field(ge=1, le=4096)] = 1
    nic_bandwidth: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None


class OutputConfig(_Table):
    record_views: bool = False
    accuracy: bool = True
    """False marks a cost demonstration: its data is not meant to be learned, so the
    report shows no accuracy (and says so under ``absent``)."""


class ScenarioModel(_Table):
    name: str | None = None
    description: str | None = None
    tags: list[str] = []
    """Free labels; the tag "slow" keeps a scenario out of the default test run."""
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    protocol: dict[str, Any]
    topology: TopologyConfig
    network: NetworkConfig = NetworkConfig()
    faults: list[Fault] = []
    cost: CostConfig = CostConfig()
    hosts: dict[str, HostConfig] = {}
    """Machines shared by several parties; the others run on a one-core host each."""
    output: OutputConfig = OutputConfig()

    @field_validator("protocol")
    @classmethod
    def _named(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(value.get("name"), str):
            raise ValueError("needs a 'name' (a protocol, see `ppsim list`)")
        return value


@dataclass
class Scenario:
    """A validated scenario, ready to run."""

    source: str
    model: ScenarioModel
    spec: ProtocolSpec
    params: Params
    plan: Plan
    graph: nx.Graph
    topology: dict[str, Any]
    """The topology's parameters with the builder's defaults filled in."""
    cost_model: CostModel
    hosts: list[Host]
    profile: Profile = DEFAULT_PROFILE
    limits: Limits = DEFAULT

    @property
    def faults(self) -> list[Crash | LinkFault]:
        """The scenario's faults as the runtimes take them."""
        out: list[Crash | LinkFault] = []
        for f in self.model.faults:
            if isinstance(f, CrashFault):
                out.append(Crash(f.party, f.at))
            elif isinstance(f, DropFault):
                out.append(LinkFault(*f.link, drop=f.probability))
            else:
                out.append(LinkFault(*f.link, delay=f.seconds))
        return out

    def as_dict(self) -> dict[str, Any]:
        """The scenario with every default applied, for the report: the protocol's
        parameters, the topology builder's, the cost model's constants (with the
        machine they were measured on) and the hosts."""
        data = self.model.model_dump(mode="json")
        params = self.params.model_dump(mode="json")
        formerly = {new: old for old, new in self.params.renamed.items()}
        for key in _file_params(self.spec):  # as written, not resolved on this machine
            for name in (key, formerly.get(key)):
                if name in self.model.protocol:
                    params[key] = self.model.protocol[name]
        data["protocol"] = {"name": self.model.protocol["name"], **params}
        data["topology"] = {"kind": self.model.topology.kind, **self.topology,
                            "nic_bandwidth": self.model.topology.nic_bandwidth}
        data["cost"] = {"model": self.model.cost.model, **self.cost_model.as_dict()}
        return data


def load(path: str | Path, limits: Limits = DEFAULT) -> Scenario:
    """Read and validate a scenario file."""
    return from_dict(read(path, limits), source=str(path), limits=limits)


def read(path: str | Path, limits: Limits = DEFAULT) -> dict[str, Any]:
    """Parse a scenario or sweep file (TOML) without validating it; refuse hostile
    files (see `ppsim.limits`) and non-finite numbers."""
    path = Path(path)
    try:
        text = _limits.read_text(path, limits)
        _limits.check_nesting(text, limits)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError("", f"not valid TOML: {exc}{_quoted_line(text, str(exc))}") from None
        except RecursionError:  # check_nesting should have caught it
            raise InputError("", "not valid TOML: nested too deep") from None
        _limits.check_finite(data)
    except InputError as exc:
        raise ScenarioError(str(path), exc.key, str(exc)) from None
    return data


def _quoted_line(text: str, message: str) -> str:
    """'; line 3 reads ...': the line a TOML error points at, as a short excerpt."""
    found = re.search(r"at line (\d+)", message)
    if not found:
        return ""
    number = int(found.group(1))
    lines = text.splitlines()
    if not 1 <= number <= len(lines):
        return ""
    return f"; line {number} reads {_limits.excerpt(lines[number - 1], 60)}"


def from_dict(data: dict[str, Any], source: str = "", limits: Limits = DEFAULT) -> Scenario:
    """Validate a scenario given as a dict (what a TOML file parses to)."""
    try:
        _limits.check_finite(data)
    except InputError as exc:
        raise ScenarioError(source, exc.key, str(exc)) from None
    if "sweep" in data:
        raise ScenarioError(source, "sweep", "this is a sweep file (it has a [sweep] table); "
                            "`ppsim run` and `ppsim validate` expand it (see ppsim.sweep)")
    try:
        model = ScenarioModel.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, source, prefix="") from None
    name = model.protocol["name"]
    try:
        spec = catalog.find(name, Path(source).parent if source else None)
    except catalog.UnknownProtocol as exc:
        raise ScenarioError(source, "protocol.name", str(exc)) from None
    given = {k: v for k, v in model.protocol.items() if k != "name"}
    files = {}
    formerly = {new: old for old, new in spec.params.renamed.items()}
    try:
        for key in _file_params(spec):
            for name in (key, formerly.get(key)):  # under its old name too
                if name is not None and FileParam.is_path(given.get(name)):
                    given[name] = files[key] = _limits.resolve(given[name], source,
                                                                f"protocol.{name}", limits)
    except InputError as exc:
        raise ScenarioError(source, exc.key, str(exc)) from None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RenamedParameter)
            params = spec.params.model_validate(given)
    except ValidationError as exc:
        raise _first_error(exc, source, prefix="protocol.", params=spec.params) from None
    _repeat(caught, source)
    if spec.memory is not None:
        try:
            _limits.check_memory(spec.memory(params), params, limits)
        except InputError as exc:
            raise ScenarioError(source, exc.key, str(exc)) from None
    try:
        plan = spec.plan(params, model.seed)
    except (ValueError, OSError) as exc:
        message = _first_line(exc)
        key = next((f"protocol.{k}" for k, path in files.items() if path in message),
                   "protocol")
        raise ScenarioError(source, key, message) from None
    graph, topology = _build_topology(model.topology, plan, source, model.seed, limits)
    _check_faults(model.faults, graph, source)
    cost_model = _cost_model(model.cost, source, limits)
    hosts = _hosts(model.hosts, graph.number_of_nodes(), source)
    return Scenario(source, model, spec, params, plan, graph, topology, cost_model, hosts,
                    _profile(model, spec, params, source), limits)


def _profile(model: ScenarioModel, spec: ProtocolSpec, params: Params, source: str) -> Profile:
    name = model.network.profile
    try:
        profile = catalog.profile(name, Path(source).parent if source else None)
    except catalog.UnknownProtocol as exc:
        raise ScenarioError(source, "network.profile", str(exc)) from None
    reason = profile.refusal(spec.name, params)
    if reason is not None:
        raise ScenarioError(source, "network.profile", f"got {name!r}, but {reason}; expected "
                            f"a profile for this run (e.g. \"{DEFAULT_PROFILE.name}\")")
    return profile


def _file_params(spec: ProtocolSpec) -> list[str]:
    """The protocol's parameters marked `sim.FileParam`."""
    return [name for name, field in spec.params.model_fields.items()
            if any(isinstance(m, FileParam) for m in field.metadata)]


def _first_line(exc: BaseException, limit: int = 300) -> str:
    """An exception's message cut to its first line (no native stack traces)."""
    text = (str(exc) or type(exc).__name__).strip().splitlines()[0]
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _cost_model(config: CostConfig, source: str, lim: Limits = DEFAULT) -> CostModel:
    """The model `config` names (a file relative to the scenario's folder, and inside
    it, as every path a scenario names), with its overrides."""
    try:
        if config.model == "default":
            model = CostModel.default()
        else:
            model = CostModel.load(_limits.resolve(config.model, source, "cost.model", lim))
    except InputError as exc:
        raise ScenarioError(source, exc.key, str(exc)) from None
    except CostModelError as exc:
        raise ScenarioError(source, "cost.model", f"{exc} (expected \"default\" or a file "
                            "written by `ppsim calibrate`)") from None
    try:
        return model.with_overrides(config.model_extra or {})
    except CostModelError as exc:
        raise ScenarioError(source, "cost", str(exc)) from None


def _hosts(config: dict[str, HostConfig], n: int, source: str) -> list[Host]:
    """The declared hosts (each party on at most one)."""
    placed: dict[int, str] = {}
    hosts = []
    for name, host in config.items():
        parties = list(range(n)) if host.parties == "all" else host.parties
        for pid in parties:
            if pid >= n:
                raise ScenarioError(source, f"hosts.{name}.parties",
                                    f"got party {pid}; expected ids in 0..{n - 1}")
            if pid in placed:
                raise ScenarioError(source, f"hosts.{name}.parties",
                                    f"party {pid} is already on host {placed[pid]!r}")
            placed[pid] = name
        if not parties:
            raise ScenarioError(source, f"hosts.{name}.parties", "got []; expected party ids")
        hosts.append(Host(name, tuple(parties), host.cores, host.nic_bandwidth))
    return hosts


def _build_topology(config: TopologyConfig, plan: Plan, source: str, seed: int,
                    lim: Limits = DEFAULT) -> tuple[nx.Graph, dict[str, Any]]:
    kinds = topologies.KINDS
    if config.kind not in kinds:
        raise ScenarioError(
            source, "topology.kind",
            f"unknown topology {config.kind!r}; known topologies: {', '.join(kinds)}",
        )
    options = dict(config.model_extra or {})
    for key in ("latency", "bandwidth"):
        value = getattr(config, key)
        if value is not None:
            options[key] = value
    if config.kind == "star":
        options.setdefault("hub", plan.hub)
    if config.kind == "regular":
        options.setdefault("seed", seed)
    given = dict(options)
    if config.kind == "file" and "path" in options:
        if not isinstance(options["path"], str):
            raise ScenarioError(source, "topology.path",
                                f"got {_shown(options['path'])}; expected a file path (a string)")
        try:  # relative to the scenario's folder, and inside it
            options["path"] = _limits.resolve(options["path"], source, "topology.path", lim)
        except InputError as exc:
            raise ScenarioError(source, exc.key, str(exc)) from None
    try:
        graph = topologies.build(config.kind, plan.n_parties, **options)
    except (ValueError, TypeError) as exc:
        raise ScenarioError(
            source, "topology", f"{exc} (the protocol needs {plan.n_parties} parties)"
        ) from None
    if config.nic_bandwidth is not None:
        nx.set_node_attributes(graph, config.nic_bandwidth, "nic_bandwidth")
    return graph, topologies.resolved(config.kind, **given)


def _check_faults(faults: list[Any], graph: nx.Graph, source: str) -> None:
    n = graph.number_of_nodes()
    for i, fault in enumerate(faults):
        key = f"faults[{i}]"
        if isinstance(fault, CrashFault):
            if fault.party >= n:
                raise ScenarioError(
                    source, f"{key}.party",
                    f"got {fault.party}; expected a party id in 0..{n - 1}",
                )
        elif not graph.has_edge(*fault.link):
            raise ScenarioError(
                source, f"{key}.link",
                f"got {list(fault.link)}; expected a link of the topology (adjacent parties)",
            )


def _repeat(caught: list[warnings.WarningMessage], source: str) -> None:
    """Warn again what validating the parameters warned, with the file and key."""
    where = f"{source}: " if source else ""
    for w in caught:
        if isinstance(w.message, RenamedParameter):
            old, new = w.message.old, w.message.new
            warnings.warn(ScenarioWarning(f"{where}[protocol.{old}] is now called {new!r}: "
                                          "rename it (the old name still works, for now)"),
                          stacklevel=3)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


FAULT_KINDS = {"crash": CrashFault, "drop": DropFault, "delay": DelayFault}


def _keys_at(loc: list[str], params: type[Params] | None) -> list[str]:
    """The keys a table accepts, at the location of an unknown key."""
    if params is not None:
        return ["name", *params.model_fields]
    model: Any = ScenarioModel
    for part in loc[:-1]:
        if part.isdigit():  # an item of a list (faults)
            continue
        if part in FAULT_KINDS:  # the tag pydantic puts in a tagged union's location
            model = FAULT_KINDS[part]
            continue
        field = model.model_fields.get(part) if model is not None else None
        model = field.annotation if field is not None else None
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            model = None
    return list(model.model_fields) if model is not None else []


def _unknown_key(key: str, valid: list[str]) -> str:
    """``unknown key (did you mean 'x'?); expected one of: ...``"""
    if not valid:
        return "unknown key"
    return (f"unknown key{catalog.suggest(key, valid)}; expected one of: "
            f"{', '.join(sorted(valid))}")


def _first_error(exc: ValidationError, source: str, prefix: str,
                 params: type[Params] | None = None) -> ScenarioError:
    # an unknown key first: a misspelt key is also a missing one, and explains it
    err = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
    loc = [str(part) for part in err["loc"]]
    valid = _keys_at(loc, params) if err["type"] == "extra_forbidden" else []
    # Drop the discriminator tag pydantic inserts for tagged unions: faults.0.crash.party
    if len(loc) >= 3 and loc[0] == "faults" and loc[2] in FAULT_KINDS:
        del loc[2]
    key = prefix + ".".join(
        f"[{p}]" if p.isdigit() else p for p in loc
    ).replace(".[", "[")
    kind = err["type"]
    if kind == "missing":
        message = "missing: this key is required"
    elif kind == "extra_forbidden":
        message = _unknown_key(loc[-1], valid)
    elif not loc:  # a check of several keys together: its message names them and their values
        message = err["msg"].removeprefix("Value error, ")
    else:
        got = err.get("input")
        shown = _shown(got)
        message = f"got {shown}; expected: {err['msg'].removeprefix('Value error, ')}"
    more = len(exc.errors()) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return ScenarioError(source, key.rstrip("."), message)


def _shown(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
