"""Sweeps: one scenario file expanded into a grid of runs, run in parallel, tabulated.

A scenario file with a ``[sweep]`` table is a sweep. The table names scenario
keys with dotted names and the values each takes; every combination is one
point, run ``repetitions`` times with different seeds::

    seed = 7                                  # the sweep's seed
    [protocol]
    name = "secure_sum"
    vector_length = 1000
    [topology]
    kind = "star"
    [sweep]
    repetitions = 2
    "protocol.parties" = [4, 8, 16]           # a list of values
    "topology.bandwidth" = {start = 1e6, stop = 1e9, num = 4, scale = "log"}
    "protocol.vector_length" = {start = 10, stop = 40, step = 10}   # stop included
    topology = [{kind = "star"}, {kind = "two_level", groups = 2}]  # tables merge
    [sweep.zip]                               # varied together, not crossed
    "protocol.scheme" = ["additive", "shamir"]
    "network.header_bytes" = [0, 40]
    [sweep.reference]                         # optional: what each point is measured against
    "protocol.parties" = 2                    # the point with these values instead
    metrics = ["sim_time_s"]                  # columns divided by the reference's

Why a reference: a speedup or a relative error divides a point's figure by that of
another run (one worker, the plain protocol), and that run must see the same
everything else. Each point's reference is the point with the ``reference``
values put in place of its own (the other values, and the repetition, kept);
references are run like points (once each, however many points share one) and
marked in the table, whose ``reference`` column names every point's and whose
``<metric>_vs_ref`` columns hold each metric over the reference's (1 for a
reference itself).

Why seeds are derived, not counted: a point's seed is a hash of the sweep's seed,
the point's parameter values and its repetition number, so a point gives the
same report whichever worker ran it, in whatever order, on one machine or on a
Dask cluster, and whatever other points the grid holds.

Output folder layout: ``points/<name>/report.json`` for each point that ran
(the report carries a ``sweep`` key: name, index, repetition, seed, params and
the ``code`` fingerprint), ``points/<name>/error.json`` for each that raised,
``sweep.json`` (the grid, and the ``history`` of the bases it was run with
before), ``results.csv`` and ``results.parquet`` (one row per point and
repetition).

Why a rerun can trust what it skips: a point's identity is its fully resolved
scenario (every default applied, the protocol's parameters, the cost model's
constants: what its report's ``scenario`` holds), ppsim's version, and a
fingerprint of the code that computes a report (`code_fingerprint`). A rerun
keeps a report only if all three match, recomputes every other point and says
why (`SweepResult.reasons`: the scenario keys that changed, the code, the
version, a failure or a missing report); ``fresh=True`` recomputes everything.
The results table holds only reports of the current identity, so a folder never
mixes bases. Data files a scenario reads by path are not fingerprinted.

Stopping a sweep: Ctrl-C, SIGTERM or SIGHUP stop it as an interruption (the
finished points and the table are kept; the running points are abandoned and
their workers terminated). Workers also watch their parent and exit if it dies
without a word (SIGKILL), so no pool outlives its sweep.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import hashlib
import importlib.util
import itertools
import json
import math
import os
import signal
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console

from ppsim import catalog
from ppsim import report as report_mod
from ppsim.console import make_console
from ppsim.limits import DEFAULT, Limits
from ppsim.progress import CountProgress
from ppsim.scenario import ScenarioError, ScenarioModel, from_dict
from sim import OPS

RESERVED = ("repetitions", "zip", "reference")
RANGE_KEYS = {"start", "stop", "step", "num", "scale"}
FIXED_TABLES = ("network", "cost", "output")
CORE_KEYS = {
    "schema_version", "version", "runtime", "scenario", "mode", "roles", "trust", "reveals",
    "totals", "offline", "phases", "parties", "links", "crashed", "wall_time_s", "sweep",
    "party_phases", "nics", "hosts", "work", "timing",
}
REPORT_CODE = ("sim", "topologies", "ppsim/scenario.py", "ppsim/report.py", "ppsim/run.py",
               "ppsim/catalog.py")
"""What computes a report besides the protocol's own package (`code_fingerprint`)."""


@dataclass(frozen=True)
class Point:
    """One run of the grid: parameter values, repetition number and derived seed."""

    index: int
    params: dict[str, Any]
    repetition: int
    seed: int
    reference: str | None = None
    """The name of the point this one is measured against (``[sweep.reference]``)."""
    is_reference: bool = False

    @property
    def name(self) -> str:
        """The point's folder name: grid index, a hash of its values, repetition."""
        digest = hashlib.sha256(_canonical(self.params).encode()).hexdigest()[:8]
        return f"p{self.index:04d}-{digest}-r{self.repetition}"

    def describe(self) -> str:
        """The point's values as ``key=value, ...``."""
        return ", ".join(f"{k}={_label(v)}" for k, v in self.params.items())

    def meta(self) -> dict[str, Any]:
        """What a point's report records under ``sweep``."""
        return {"name": self.name, "index": self.index, "repetition": self.repetition,
                "seed": self.seed, "params": self.params, "reference": self.reference,
                "is_reference": self.is_reference}


@dataclass
class Sweep:
    """A parsed sweep file: the base scenario (a dict) and its points."""

    source: str
    base: dict[str, Any]
    names: list[str]
    points: list[Point]
    repetitions: int
    limits: Limits = DEFAULT
    reference: dict[str, Any] = field(default_factory=dict)
    metrics: list[str] = field(default_factory=list)

    def data(self, point: Point) -> dict[str, Any]:
        """The scenario dict of `point`: the base with the point's values and seed."""
        data = copy.deepcopy(self.base)
        for name, value in point.params.items():
            _assign(data, name, value, self.source)
        data["seed"] = point.seed
        return data


@dataclass
class SweepResult:
    """What a run did: the table, how many points ran now and were kept, and why each
    ran (`reasons`: a reason -> how many points)."""

    table: pd.DataFrame
    ran: int
    skipped: int
    failed: list[str] = field(default_factory=list)
    interrupted: bool = False
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Identity:
    """What a point's report must match to be kept: see the module docstring."""

    scenario: dict[str, Any]
    code: str
    version: str


# ---------------------------------------------------------------- the grid


def parse(data: dict[str, Any], source: str = "", limits: Limits = DEFAULT) -> Sweep:
    """Expand the ``[sweep]`` table of a parsed scenario file into its points.

    At most `limits.max_points` runs (points times repetitions): the count is
    checked before anything is expanded, so a hostile grid costs no memory.
    """
    table = data.get("sweep")
    if not isinstance(table, dict):
        raise ScenarioError(source, "sweep", "expected a table of parameters and their values")
    base = {k: v for k, v in data.items() if k != "sweep"}
    seed = base.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise ScenarioError(source, "seed", f"got {seed!r}; expected an integer in [0, 2^63)")
    cap = limits.max_points
    repetitions = table.get("repetitions", 1)
    if not isinstance(repetitions, int) or isinstance(repetitions, bool) or \
            not 1 <= repetitions <= cap:
        raise ScenarioError(source, "sweep.repetitions",
                            f"got {repetitions!r}; expected an integer in 1..{cap:,} "
                            "(--max-points raises the bound)")
    axes: list[tuple[list[str], list[tuple[Any, ...]]]] = []
    for name, spec in _leaves({k: v for k, v in table.items() if k not in RESERVED}):
        axes.append(([name], [(v,) for v in _values(spec, f"sweep.{name}", source, cap)]))
    zipped = table.get("zip", {})
    if not isinstance(zipped, dict):
        raise ScenarioError(source, "sweep.zip", "expected a table of equally long lists")
    if zipped:
        columns = {n: _values(s, f"sweep.zip.{n}", source, cap) for n, s in _leaves(zipped)}
        lengths = {n: len(v) for n, v in columns.items()}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{n} has {k}" for n, k in lengths.items())
            raise ScenarioError(source, "sweep.zip",
                                f"zipped lists must have the same length; {shown}")
        axes.append((list(columns), list(zip(*columns.values(), strict=True))))
    names = [n for axis_names, _ in axes for n in axis_names]
    if not names:
        raise ScenarioError(source, "sweep", "names no parameter to sweep")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ScenarioError(source, "sweep", f"parameter {dup[0]!r} is swept twice")
    for name in names:
        _check_name(name, source)
    runs = math.prod(len(values) for _, values in axes) * repetitions
    if runs > cap:
        shown = " x ".join(f"{len(values)} ({', '.join(n)})" for n, values in axes)
        raise ScenarioError(source, "sweep", f"expands to {runs:,} runs ({shown} values x "
                            f"{repetitions} repetitions); at most {cap:,} are allowed "
                            "(--max-points raises the bound)")
    points = []
    for index, combo in enumerate(itertools.product(*(values for _, values in axes))):
        params = {n: v for (axis_names, _), vals in zip(axes, combo, strict=True)
                  for n, v in zip(axis_names, vals, strict=True)}
        for rep in range(repetitions):
            points.append(Point(index, params, rep, derive_seed(seed, params, rep)))
    reference, metrics = _reference(table.get("reference"), source)
    if reference:
        points = _with_references(points, reference, seed)
    return Sweep(source, base, names, points, repetitions, limits, reference, metrics)


def _reference(table: Any, source: str) -> tuple[dict[str, Any], list[str]]:
    """The values that make a point's reference, and the metrics compared with it."""
    if table is None:
        return {}, []
    key = "sweep.reference"
    if not isinstance(table, dict):
        raise ScenarioError(source, key, "expected a table of parameter values and metrics")
    metrics = table.get("metrics")
    if not (isinstance(metrics, list) and metrics
            and all(isinstance(m, str) and m for m in metrics)):
        raise ScenarioError(source, f"{key}.metrics", f"got {metrics!r}; expected a non-empty "
                            "list of result columns, e.g. [\"sim_time_s\"]")
    values = dict(_leaves({k: v for k, v in table.items() if k != "metrics"}))
    if not values:
        raise ScenarioError(source, key, "names no parameter: a reference is a point with "
                            "some values changed, e.g. \"protocol.workers\" = 1")
    for name, value in values.items():
        _check_name(name, source)
        if isinstance(value, list):
            raise ScenarioError(source, f"{key}.{name}", f"got {value!r}; expected one value "
                                "(a reference is one point)")
    return values, metrics


def _with_references(points: list[Point], reference: dict[str, Any],
                     seed: int) -> list[Point]:
    """The grid's points, each naming its reference, then the references (each once).
    A reference that is a point of the grid (same values, same repetition) is that
    point, not a second run of it."""
    first = max(p.index for p in points) + 1
    indices: dict[str, int] = {}
    refs: dict[tuple[str, int], Point] = {}
    grid = {(_canonical(p.params), p.repetition): p for p in points}
    out = []
    for point in points:
        params = {**point.params, **reference}
        key = _canonical(params)
        ref = grid.get((key, point.repetition)) or refs.get((key, point.repetition))
        if ref is None:
            index = indices.setdefault(key, first + len(indices))
            ref = refs[(key, point.repetition)] = Point(
                index, params, point.repetition, derive_seed(seed, params, point.repetition),
                is_reference=True)
        out.append(dataclasses.replace(point, reference=ref.name))
    return out + list(refs.values())


def derive_seed(sweep_seed: int, params: dict[str, Any], repetition: int) -> int:
    """A seed in [0, 2^32) fixed by the sweep's seed, the values and the repetition.

    32 bits, because protocols hand seeds to APIs that take no more (scikit-learn's
    random_state, numpy's legacy RandomState).
    """
    text = _canonical({"seed": sweep_seed, "params": params, "repetition": repetition})
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def check(sweep: Sweep) -> None:
    """Validate every point (one seed per distinct set of values); raise on the first bad one."""
    for point in sweep.points:
        if not point.repetition:
            _scenario(sweep, point)


def _scenario(sweep: Sweep, point: Point) -> Any:
    data = sweep.data(point)
    _check_protocol_names(sweep, data)
    try:
        return from_dict(data, sweep.source, sweep.limits)
    except ScenarioError as exc:
        raise _point_error(sweep, point, str(exc)) from None


def identities(sweep: Sweep) -> dict[str, Identity]:
    """Every point's identity (its scenario resolved as its report will hold it)."""
    out = {}
    for point in sweep.points:
        scenario = _scenario(sweep, point)
        out[point.name] = Identity(json.loads(json.dumps(scenario.as_dict(), default=str)),
                                   code_fingerprint(scenario.spec.plan.__module__),
                                   report_mod.package_version())
    return out


@functools.cache
def code_fingerprint(protocol_module: str) -> str:
    """A hash of the code a report comes from: the kernel, the topologies, the parts of
    ppsim that build reports (`REPORT_CODE`) and the protocol's top-level package."""
    digest = hashlib.sha256()
    top = protocol_module.split(".")[0]
    spec = importlib.util.find_spec(top)
    roots = [Path(__file__).resolve().parent.parent / part for part in REPORT_CODE]
    if spec is not None and spec.origin is not None:
        roots.append(Path(spec.origin).parent if spec.submodule_search_locations
                     else Path(spec.origin))
    for root in roots:
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for file in files:
            digest.update(file.name.encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def _leaves(table: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Dotted names and value specs; unquoted ``a.b = ...`` in TOML arrives as nested tables."""
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and not RANGE_KEYS & set(value):
            yield from _leaves(value, f"{name}.")
        else:
            yield name, value


def _values(spec: Any, key: str, source: str, cap: int) -> list[Any]:
    if isinstance(spec, dict):
        values = _range(spec, key, source, cap)
    elif isinstance(spec, list):
        values = spec
    else:
        raise ScenarioError(source, key, f"got {spec!r}; expected a list of values or a range "
                            "table {start, stop, step} / {start, stop, num, scale}")
    if not values:
        raise ScenarioError(source, key, "the list of values is empty")
    return values


def _range(spec: dict[str, Any], key: str, source: str, cap: int) -> list[Any]:
    unknown = set(spec) - RANGE_KEYS
    if unknown or "start" not in spec or "stop" not in spec:
        raise ScenarioError(source, key, "a range needs start and stop, and step or num "
                            f"(optional scale = 'linear' | 'log'); got keys {sorted(spec)}")
    start, stop = spec["start"], spec["stop"]
    nums = (start, stop, spec.get("step", 1), spec.get("num", 1))
    if not all(isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
               for x in nums):
        raise ScenarioError(source, key, f"range bounds must be finite numbers, got {spec}")
    integral = all(isinstance(x, int) for x in (start, stop, spec.get("step", 1)))
    if ("step" in spec) == ("num" in spec):
        raise ScenarioError(source, key, "a range needs exactly one of step and num")
    if "step" in spec:
        step = spec["step"]
        if step <= 0 or stop < start:
            raise ScenarioError(source, key, f"expected start <= stop and step > 0, got {spec}")
        count = math.floor((stop - start) / step + 1e-9) + 1
        if count > cap:
            raise ScenarioError(source, key, f"the range {spec} has {count:,} values; at most "
                                f"{cap:,} runs are allowed (--max-points raises the bound)")
        return [start + i * step for i in range(count)]
    num, scale = spec["num"], spec.get("scale", "linear")
    if not isinstance(num, int) or not 1 <= num <= cap or scale not in ("linear", "log"):
        raise ScenarioError(source, key, f"expected num in 1..{cap:,} and scale 'linear' or "
                            f"'log', got num={num!r}, scale={scale!r}")
    if scale == "log" and (start <= 0 or stop <= 0):
        raise ScenarioError(source, key, "a log range needs start > 0 and stop > 0")
    if num == 1:
        return [start]
    if scale == "log":
        ratio = math.log(stop / start)
        values = [start * math.exp(ratio * i / (num - 1)) for i in range(num)]
    else:
        values = [start + (stop - start) * i / (num - 1) for i in range(num)]
    values[-1] = stop
    if integral:
        return list(dict.fromkeys(round(v) for v in values))
    return [float(f"{v:.12g}") for v in values]


def _check_name(name: str, source: str) -> None:
    parts = name.split(".")
    fields = set(ScenarioModel.model_fields) - {"seed"}
    if parts[0] == "seed":
        raise ScenarioError(source, f"sweep.{name}", "the seed is not a sweep parameter: each "
                            "point's seed derives from the file's seed; use repetitions")
    if parts[0] not in fields or any(not p for p in parts):
        raise ScenarioError(source, f"sweep.{name}", f"unknown parameter {name!r}; a dotted "
                            f"name of a scenario key, starting with one of {sorted(fields)}")
    if parts[0] in FIXED_TABLES and len(parts) > 1:
        model = ScenarioModel.model_fields[parts[0]].annotation
        known = set(model.model_fields) | (set(OPS) if parts[0] == "cost" else set())
        if len(parts) > 2 or parts[1] not in known:
            raise ScenarioError(source, f"sweep.{name}", f"unknown parameter {name!r}; "
                                f"[{parts[0]}] has {sorted(model.model_fields)}")


def _check_protocol_names(sweep: Sweep, data: dict[str, Any]) -> None:
    try:
        spec = catalog.find(data["protocol"]["name"],
                            Path(sweep.source).parent if sweep.source else None)
    except (TypeError, KeyError, catalog.UnknownProtocol):  # from_dict names the problem
        return
    allowed = set(spec.params.model_fields) | set(spec.params.renamed) | {"name"}
    named = [(n, f"sweep.{n}") for n in sweep.names]
    named += [(n, f"sweep.reference.{n}") for n in sweep.reference]
    for name, key in named:
        parts = name.split(".")
        if parts[0] == "protocol" and len(parts) > 1 and parts[1] not in allowed:
            current = sorted(set(spec.params.model_fields) | {"name"})
            raise ScenarioError(sweep.source, key, (
                f"unknown parameter {name!r}: protocol {spec.name!r} has no parameter "
                f"{parts[1]!r}{catalog.suggest(parts[1], current)} (it has "
                f"{', '.join(current)})"))


def _assign(data: dict[str, Any], name: str, value: Any, source: str) -> None:
    *path, last = name.split(".")
    node = data
    for part in path:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ScenarioError(source, f"sweep.{name}", f"{part!r} is not a table")
    if isinstance(value, dict) and isinstance(node.get(last), dict):
        node[last] = {**node[last], **value}
    else:
        node[last] = value


def _point_error(sweep: Sweep, point: Point, message: str) -> ScenarioError:
    if sweep.source:
        message = message.removeprefix(f"{sweep.source}: ")
    return ScenarioError(sweep.source, "sweep",
                         f"point {point.index} ({point.describe()}) is invalid: {message}")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _label(value: Any) -> str:
    """A short text for a swept value: tables as 'kind k=v', the rest as written."""
    if isinstance(value, dict):
        head = [str(value[k]) for k in ("kind", "name") if k in value]
        rest = [f"{k}={_label(v)}" for k, v in value.items() if k not in ("kind", "name")]
        return " ".join(head + rest)
    if isinstance(value, list):
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# ---------------------------------------------------------------- running


def run_point(data: dict[str, Any], source: str, limits: Limits = DEFAULT) -> dict[str, Any]:
    """Run one point in a worker; return ``{"report": ...}`` or ``{"error", "traceback"}``.

    Every exception is caught so that one bad point never stops a sweep.
    """
    from ppsim.run import run_scenario

    try:
        return {"report": run_scenario(from_dict(data, source, limits))}
    except Exception as exc:  # noqa: BLE001 - recorded in the point's error.json
        return {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}


class ClusterError(ValueError):
    """The Dask scheduler could not be reached."""


def run(sweep: Sweep, out: str | Path, *, jobs: int | None = None, cluster: str | None = None,
        connect_timeout_s: float = 5.0, console: Console | None = None,
        progress: bool = True, progress_every_s: float = 5.0, fresh: bool = False
        ) -> SweepResult:
    """Run every point whose report in `out` is missing or stale (all with `fresh`);
    write reports and the results table.

    `jobs` worker processes on this machine (default: one per CPU; 1 runs in this
    process), or the Dask scheduler at `cluster`. Raises `ClusterError` when the
    scheduler cannot be reached within `connect_timeout_s`, before anything runs.
    With `progress`, `console` shows the points done (`ppsim.progress.CountProgress`).
    """
    out = Path(out)
    ids = identities(sweep)
    why = {p.name: "--fresh" if fresh else _stale(out, p, ids[p.name]) for p in sweep.points}
    todo = [p for p in sweep.points if why[p.name]]
    skipped = len(sweep.points) - len(todo)
    client = _connect(cluster, connect_timeout_s) if cluster else None
    out.mkdir(parents=True, exist_ok=True)
    report_mod.write_atomic(out / "sweep.json",
                            _canonical_pretty(_spec(sweep, ids, load_spec_or_none(out))))
    console = console or make_console()
    failed: list[str] = []
    interrupted = False
    title = "points" + (f" ({skipped} done before)" if skipped else "")
    with CountProgress(console, title, len(todo), enabled=progress,
                       every_s=progress_every_s) as bar, _stop_signals():
        outcomes = _execute(sweep, todo, jobs, client)
        try:
            for point, outcome in outcomes:
                if not _record(out, point, outcome, ids[point.name].code):
                    failed.append(point.name)
                bar.advance(f", {len(failed)} failed" if failed else "")
        except (KeyboardInterrupt, BrokenProcessPool):
            interrupted = True  # finished points are on disk: the next run resumes
        finally:
            outcomes.close()  # an interrupted pool is torn down now, not when collected
            if client is not None:
                client.close()
    table = collect(sweep, out, ids)
    write_table(table, out)
    all_failed = sorted(table.loc[table["status"] == "failed", "point"])
    reasons = Counter(why[p.name] for p in todo)
    return SweepResult(table, len(todo), skipped, all_failed, interrupted, dict(reasons))


def _connect(address: str, timeout_s: float):  # noqa: ANN202 - distributed.Client
    from distributed import Client

    try:
        return Client(address, timeout=f"{timeout_s}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address!r} within "
                           f"{timeout_s:g} s: {exc}") from None


Outcomes = Iterator[tuple[Point, dict[str, Any]]]


def _execute(sweep: Sweep, todo: list[Point], jobs: int | None, client: Any) -> Outcomes:
    if client is not None:
        yield from _on_dask(sweep, todo, client)
    elif (jobs or os.cpu_count() or 1) == 1 or len(todo) <= 1:
        for point in todo:
            yield point, run_point(sweep.data(point), sweep.source, sweep.limits)
    else:
        yield from _on_pool(sweep, todo, jobs or os.cpu_count() or 1)


def _on_pool(sweep: Sweep, todo: list[Point], jobs: int) -> Outcomes:
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(todo)), initializer=_worker_init)
    finished = False
    try:
        pending: dict[Future, Point] = {
            pool.submit(run_point, sweep.data(p), sweep.source, sweep.limits): p for p in todo}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield pending.pop(future), future.result()
        finished = True
    finally:
        if not finished:  # interrupted: do not wait for the points still running
            # the executor keeps no public handle on its workers
            for process in list((pool._processes or {}).values()):
                if process.is_alive():
                    process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)


def _worker_init() -> None:
    """Workers leave Ctrl-C to the main process, which stops the sweep and keeps the table,
    and exit as soon as their parent is gone (killed without a chance to stop them)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(os.getppid(),), daemon=True,
                     name="ppsim-watch-parent").start()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


@contextlib.contextmanager
def _stop_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP stop the sweep as Ctrl-C does (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _on_dask(sweep: Sweep, todo: list[Point], client: Any) -> Outcomes:
    from distributed import as_completed

    # workers have their own working folder: give them the file's absolute path, from
    # which a protocol module beside the scenario is found (see ppsim.catalog)
    source = str(Path(sweep.source).resolve()) if sweep.source else sweep.source
    futures = {client.submit(run_point, sweep.data(p), source, sweep.limits, pure=False,
                             key=f"ppsim-{p.name}-{p.seed}"): p for p in todo}
    try:
        for future in as_completed(futures, loop=client.loop):
            yield futures[future], future.result()
    finally:
        client.cancel(list(futures))


def _record(out: Path, point: Point, outcome: dict[str, Any], code: str) -> bool:
    """Write the point's report (or error); True if it ran to completion."""
    folder = out / "points" / point.name
    folder.mkdir(parents=True, exist_ok=True)
    if "report" in outcome:
        rep = {**outcome["report"], "sweep": {**point.meta(), "code": code}}
        (folder / "error.json").unlink(missing_ok=True)
        report_mod.write_atomic(folder / "report.json", report_mod.dumps(rep))
        return True
    (folder / "report.json").unlink(missing_ok=True)
    error = {"sweep": point.meta(), "error": outcome["error"], "traceback": outcome["traceback"]}
    report_mod.write_atomic(folder / "error.json", _canonical_pretty(error))
    return False


def _canonical_pretty(value: Any) -> str:
    return json.dumps(value, indent=2, default=str) + "\n"


def _spec(sweep: Sweep, ids: dict[str, Identity], before: dict[str, Any] | None
          ) -> dict[str, Any]:
    """sweep.json: the grid, the code it runs, and the bases it was run with before."""
    versions = {(i.code, i.version) for i in ids.values()}
    code, version = sorted(versions)[0] if versions else ("", report_mod.package_version())
    spec = {"source": sweep.source, "base": sweep.base, "names": sweep.names,
            "repetitions": sweep.repetitions, "reference": sweep.reference,
            "metrics": sweep.metrics, "code": code, "version": version,
            "points": [p.meta() for p in sweep.points]}
    history = list(before.get("history", [])) if before else []
    if before and any(before.get(k) != spec[k] for k in ("base", "names", "code", "version")):
        history.append({k: before.get(k) for k in ("base", "names", "repetitions", "code",
                                                   "version")})
    spec["history"] = history
    return spec


def load_spec_or_none(out: Path) -> dict[str, Any] | None:
    """sweep.json of folder `out`, or None if there is none (or it is unreadable)."""
    try:
        spec = json.loads((out / "sweep.json").read_text())
    except (OSError, ValueError):
        return None
    return spec if isinstance(spec, dict) else None


def _read_report(out: Path, point: Point) -> dict[str, Any] | None:
    """The point's report if it is complete and belongs to this point, else None."""
    try:
        rep = json.loads((out / "points" / point.name / "report.json").read_text())
    except (OSError, ValueError):
        return None
    meta = rep.get("sweep") if isinstance(rep, dict) else None
    if not isinstance(meta, dict) or "totals" not in rep:
        return None
    same = (meta.get("seed") == point.seed and meta.get("repetition") == point.repetition
            and _canonical(meta.get("params")) == _canonical(point.params))
    return rep if same else None


def _stale(out: Path, point: Point, identity: Identity) -> str | None:
    """Why `point` must run (None: its report is current)."""
    rep = _read_report(out, point)
    if rep is None:
        return "failed before" if _error_of(out, point) else "no report"
    if rep["sweep"].get("code") is None:
        return "written by an older ppsim"
    if rep.get("version") != identity.version:
        return f"ppsim version {rep.get('version')} -> {identity.version}"
    if rep["sweep"]["code"] != identity.code:
        return "the code changed"
    if rep.get("scenario") != identity.scenario:
        return "scenario changed: " + _changes(rep.get("scenario") or {}, identity.scenario)
    return None


def _changes(old: dict[str, Any], new: dict[str, Any], shown: int = 3) -> str:
    """The scenario keys that differ, with old and new values (the first few)."""
    a, b = report_mod.flatten(old, "scenario"), report_mod.flatten(new, "scenario")
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    parts = [f"{k.removeprefix('scenario.')} {_label(a.get(k))} -> {_label(b.get(k))}"
             for k in keys[:shown]]
    return ", ".join(parts) + (f" (and {len(keys) - shown} more)" if len(keys) > shown else "")


# ---------------------------------------------------------------- the table


def collect(sweep: Sweep, out: str | Path, ids: dict[str, Identity] | None = None
            ) -> pd.DataFrame:
    """One row per point and repetition, in grid order, read from the points' folders;
    a report that is not of the point's current identity (`ids`, default: computed)
    counts as ``stale``, never as a result."""
    out = Path(out)
    ids = identities(sweep) if ids is None else ids
    rows = []
    for point in sweep.points:
        row: dict[str, Any] = {"point": point.name, "index": point.index,
                               "repetition": point.repetition, "seed": point.seed}
        if sweep.reference:
            row.update(reference=point.reference, is_reference=point.is_reference)
        row.update({name: _cell(point.params[name]) for name in sweep.names})
        rep = _read_report(out, point)
        if rep is not None and _stale(out, point, ids[point.name]) is None:
            row.update(status="ok", error=None, **row_of(rep))
        elif rep is not None:
            row.update(status="stale", error=None)
        else:
            row.update(status="failed" if _error_of(out, point) else "missing",
                       error=_error_of(out, point))
        rows.append(row)
    return _relative(_tidy(pd.DataFrame(rows)), sweep.metrics)


def _relative(table: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """``<metric>_vs_ref``: each row's metric over its reference's (1 for a reference)."""
    for metric in metrics:
        values = (pd.to_numeric(table[metric], errors="coerce") if metric in table
                  else pd.Series(float("nan"), index=table.index))
        by_point = dict(zip(table["point"], values, strict=True))
        ref = table["reference"].map(by_point).astype(float)
        table[f"{metric}_vs_ref"] = (values / ref).where(~table["is_reference"], 1.0)
    return table


def row_of(rep: dict[str, Any]) -> dict[str, Any]:
    """The costs, accuracy and the protocol's own scalar figures of one report.

    ``bytes`` counts what the parties sent (each message once); ``link_bytes`` what
    the links carried, every hop of a relayed message included, which is where
    topologies differ.
    """
    totals = rep["totals"]
    row: dict[str, Any] = {
        "n_parties": len(rep["parties"]),
        "rounds": totals["rounds"],
        "bytes": totals["bytes"],
        "link_bytes": sum(link["bytes"] for link in rep["links"]),
        "messages": totals["messages"],
        "sim_time_s": totals["sim_time_s"],
        "offline_bytes": rep["offline"]["bytes"],
        "wall_time_s": rep["wall_time_s"],
    }
    accuracy = rep.get("accuracy")
    if isinstance(accuracy, dict):
        row.update({"accuracy": accuracy.get("value"), "accuracy_metric": accuracy.get("metric"),
                    "accuracy_baseline": accuracy.get("baseline")})
    for key in sorted(set(rep) - CORE_KEYS - {"accuracy"}):
        # scalar figures only: lists (per-round figures) stay in the reports
        row.update({k: v for k, v in report_mod.flatten(rep[key], key).items()
                    if isinstance(v, bool | int | float | str)})
    return row


def _cell(value: Any) -> Any:
    return _label(value) if isinstance(value, dict | list) else value


def _error_of(out: Path, point: Point) -> str | None:
    try:
        return json.loads((out / "points" / point.name / "error.json").read_text())["error"]
    except (OSError, ValueError, KeyError):
        return None


def _tidy(table: pd.DataFrame) -> pd.DataFrame:
    """Make every column one type, so that Parquet can store it."""
    for col in table.columns:
        kinds = {type(v) for v in table[col] if v is not None and not _nan(v)}
        if len(kinds) > 1 and not kinds <= {int, float}:
            table[col] = [None if v is None or _nan(v) else str(v) for v in table[col]]
    return table


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def write_table(table: pd.DataFrame, out: Path) -> None:
    """Write results.csv and results.parquet into `out`, each atomically."""
    report_mod.write_atomic(out / "results.csv", table.to_csv(index=False))
    tmp = out / "results.parquet.tmp"
    table.to_parquet(tmp, index=False)
    os.replace(tmp, out / "results.parquet")


def load_table(out: str | Path) -> pd.DataFrame:
    """The results table of a sweep folder (Parquet keeps the column types)."""
    return pd.read_parquet(Path(out) / "results.parquet")


def load_spec(out: str | Path) -> dict[str, Any]:
    """sweep.json of the sweep folder `out`."""
    return json.loads((Path(out) / "sweep.json").read_text())

