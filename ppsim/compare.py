"""``ppsim compare A B``: what changed between two reports or two sweeps, and whether a
cost grew past a limit (a regression gate for CI).

Two reports are flattened to dotted keys: the scenario (so a changed input shows
next to the costs it changed), totals, offline costs, each phase by name,
accuracy and the protocol's own figures; per-party and per-link lists are
reduced to their lengths. Two sweep folders are compared row by row, rows
matched on their swept values and repetition, on the figures of the results
table (rounds, bytes, time, accuracy, ...).

What is compared is checked first. Reports of different runtimes (a measured TCP
time against a simulated one) or schema versions are refused unless forced;
different scenarios are compared with a warning naming the keys that differ,
except under limits, where they are refused unless forced: a gate compares like
with like.

Limits (``--max-increase bytes=1%,rounds=0``) name a metric (``bytes``,
``rounds``, ``messages``, ``sim_time_s``, ``offline_bytes``, ... or any dotted
key of a report, such as ``phases[reveal].bytes``) and how much B may exceed A:
an absolute amount, or a percentage of A.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ppsim import report

SKIPPED = {"schema_version", "version", "runtime", "roles", "reveals", "sweep"}
SCENARIO_LABELS = {"name", "description", "tags"}
"""Scenario keys that label a scenario without changing what runs."""

METRICS = {
    "bytes": "totals.bytes",
    "header_bytes": "totals.header_bytes",
    "messages": "totals.messages",
    "rounds": "totals.rounds",
    "sim_time_s": "totals.sim_time_s",
    "dropped_messages": "totals.dropped_messages",
    "offline_bytes": "offline.bytes",
    "offline_messages": "offline.messages",
    "offline_rounds": "offline.rounds",
    "offline_sim_time_s": "offline.sim_time_s",
    "accuracy": "accuracy.value",
}
"""Short metric names (the sweep table's columns) and the report keys they stand for."""

SWEEP_COLUMNS = ("rounds", "bytes", "link_bytes", "messages", "sim_time_s", "offline_bytes",
                 "accuracy", "accuracy_baseline", "status")
"""The columns of a sweep's results table that two sweeps are compared on."""

SAME = 1e-9
"""Relative difference below which two numbers of two reports count as equal."""


class Refused(ValueError):
    """The two inputs should not be compared (different runtimes, schema versions,
    scenarios under limits, different swept parameters) unless forced."""


@dataclass(frozen=True)
class Limit:
    """B may exceed A by at most `amount` (absolute), or `amount` percent of A."""

    metric: str
    amount: float
    relative: bool

    def allowed(self, a: float) -> float:
        """How much B may exceed `a`, A's value."""
        return abs(a) * self.amount / 100 if self.relative else self.amount

    def __str__(self) -> str:
        return f"{self.metric}=+{self.amount:g}{'%' if self.relative else ''}"


def parse_limits(texts: list[str] | tuple[str, ...]) -> list[Limit]:
    """``["bytes=1%,rounds=0", ...]`` as limits; ValueError naming the bad item."""
    limits = []
    for text in texts:
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, sep, value = item.partition("=")
            relative = value.strip().endswith("%")
            number = value.strip().removesuffix("%")
            try:
                amount = float(number)
            except ValueError:
                amount = float("nan")
            if not sep or not name.strip() or not math.isfinite(amount) or amount < 0:
                raise ValueError(f"--max-increase: got {item!r}; expected METRIC=AMOUNT or "
                                 "METRIC=PERCENT%, with AMOUNT >= 0, e.g. bytes=1%,rounds=0")
            limits.append(Limit(name.strip(), amount, relative))
    return limits


@dataclass
class Difference:
    key: str
    a: Any
    b: Any
    ratio: float | None
    point: dict[str, Any] | None = None
    """For sweeps: the swept values and repetition of the row."""


@dataclass
class Check:
    """One limit applied to one pair of values (one row of a sweep, or the reports)."""

    metric: str
    limit: str
    a: Any
    b: Any
    exceeded: bool
    point: dict[str, Any] | None = None


@dataclass
class Comparison:
    a: str
    b: str
    kind: Literal["reports", "sweeps"]
    warnings: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    swept: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No limit was exceeded."""
        return not any(c.exceeded for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        """The comparison as plain JSON values (``--format json``), with ``ok``."""
        return _json_safe({**asdict(self), "ok": self.ok})


# ---------------------------------------------------------------- reading


def read(path: str | Path) -> dict[str, Any]:
    """A report from a report.json file or the folder holding one."""
    path = Path(path)
    file = path / "report.json" if path.is_dir() else path
    return json.loads(file.read_text())


def is_sweep(path: str | Path) -> bool:
    """Whether `path` is a sweep's output folder (it holds sweep.json)."""
    return Path(path).is_dir() and (Path(path) / "sweep.json").is_file()


def flatten(rep: dict[str, Any]) -> dict[str, Any]:
    """Dotted keys to scalar values."""
    out: dict[str, Any] = {}
    for key, value in rep.items():
        if key in SKIPPED:
            continue
        if key == "phases":
            for phase in value:
                name = phase["name"]
                out.update(_flat({k: v for k, v in phase.items() if k != "name"},
                                 f"phases[{name}]"))
        elif key in ("parties", "links", "crashed"):
            out[f"{key}.count"] = len(value)
        else:
            out.update(_flat(value, key))
    return out


def _flat(value: Any, prefix: str) -> dict[str, Any]:
    """`ppsim.report.flatten`, with lists shown whole when short and scalar, else counted."""
    out: dict[str, Any] = {}
    for key, leaf in report.flatten(value, prefix).items():
        if not isinstance(leaf, list):
            out[key] = leaf
        elif all(isinstance(v, int | float | str | bool) or v is None for v in leaf):
            out[key] = json.dumps(leaf) if len(leaf) <= 8 else f"[{len(leaf)} items]"
        else:
            out[f"{key}.count"] = len(leaf)
    return out


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any, float | None]]:
    """(key, value in A, value in B, B/A or None) for every key whose value differs.

    Numbers within `SAME` of each other (relative) are the same: sums of simulated
    times taken in another order differ in their last bits, which is not a change."""
    fa, fb = flatten(a), flatten(b)
    rows = []
    for key in [*fa, *(k for k in fb if k not in fa)]:
        va, vb = fa.get(key), fb.get(key)
        if va == vb or (_number(va) and _number(vb) and math.isclose(va, vb, rel_tol=SAME)):
            continue
        rows.append((key, va, vb, ratio(va, vb)))
    return rows


def ratio(a: Any, b: Any) -> float | None:
    """B/A for two finite numbers with A not 0, else None."""
    if not (_number(a) and _number(b)) or a == 0 or not math.isfinite(a) or not math.isfinite(b):
        return None
    return b / a


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ---------------------------------------------------------------- comparing


def compare(a: str | Path, b: str | Path, limits: list[Limit] | tuple[Limit, ...] = (),
            force: bool = False) -> Comparison:
    """Compare two reports or two sweep folders (see the module docstring).

    Raises `Refused` when they should not be compared and `force` is false, and
    ValueError for a limit that names no metric of either side.
    """
    if is_sweep(a) != is_sweep(b):
        raise Refused(f"{a if is_sweep(a) else b} is a sweep folder and the other a single "
                      "report; compare two reports or two sweeps")
    if is_sweep(a):
        return _compare_sweeps(Path(a), Path(b), list(limits), force)
    return _compare_reports(str(a), str(b), read(a), read(b), list(limits), force)


def _compare_reports(a_path: str, b_path: str, a: dict[str, Any], b: dict[str, Any],
                     limits: list[Limit], force: bool) -> Comparison:
    cmp = Comparison(a_path, b_path, "reports")
    _check_same_kind(cmp, _kind_of(a), _kind_of(b), force)
    _check_same_scenario(cmp, a.get("scenario", {}), b.get("scenario", {}), limits, force)
    cmp.differences = [Difference(*row) for row in differences(a, b)]
    fa, fb = flatten(a), flatten(b)
    for limit in limits:
        key = METRICS.get(limit.metric, limit.metric)
        if key not in fa and key not in fb:
            raise ValueError(f"--max-increase: no metric {limit.metric!r} in either report; "
                             f"use one of {', '.join(METRICS)} or a dotted key such as "
                             "phases[NAME].bytes")
        cmp.checks.append(_check(limit, fa.get(key), fb.get(key)))
    return cmp


def _kind_of(rep: dict[str, Any]) -> tuple[Any, Any]:
    return rep.get("runtime"), rep.get("schema_version")


def _check_same_kind(cmp: Comparison, a: tuple[Any, Any], b: tuple[Any, Any],
                     force: bool) -> None:
    (runtime_a, schema_a), (runtime_b, schema_b) = a, b
    problems = []
    if runtime_a != runtime_b:
        problems.append(f"A ran on the {runtime_a} runtime and B on the {runtime_b} runtime: "
                        "measured and simulated times are not comparable")
    if schema_a != schema_b:
        problems.append(f"A has report schema version {schema_a} and B version {schema_b}")
    if problems and not force:
        raise Refused("; ".join(problems) + "; pass --force to compare them anyway")
    cmp.warnings += problems


def _check_same_scenario(cmp: Comparison, a: dict[str, Any], b: dict[str, Any],
                         limits: list[Limit], force: bool, ignored: tuple[str, ...] = ()) -> None:
    fa = report.flatten({k: v for k, v in a.items() if k not in SCENARIO_LABELS}, "scenario")
    fb = report.flatten({k: v for k, v in b.items() if k not in SCENARIO_LABELS}, "scenario")
    keys = [k.removeprefix("scenario.") for k in [*fa, *(k for k in fb if k not in fa)]
            if fa.get(k) != fb.get(k)]
    keys = [k for k in keys if not any(k == n or k.startswith(f"{n}.") for n in ignored)]
    if not keys:
        return
    more = f" and {len(keys) - 6} more" if len(keys) > 6 else ""
    text = f"the scenarios differ in {', '.join(keys[:6])}{more}"
    if limits and not force:
        raise Refused(f"{text}: limits compare runs of one scenario; pass --force to apply "
                      "them anyway")
    cmp.warnings.append(text)


def _check(limit: Limit, a: Any, b: Any, point: dict[str, Any] | None = None) -> Check:
    if _number(a) and _number(b) and not (_nan(a) and _nan(b)):
        exceeded = _nan(a) or _nan(b) or b - a > limit.allowed(a)
    else:  # missing on one side: a gate must not pass on what it could not check
        exceeded = a != b
    return Check(limit.metric, str(limit), a, b, bool(exceeded), point)


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _compare_sweeps(a: Path, b: Path, limits: list[Limit], force: bool) -> Comparison:
    from ppsim import sweep

    spec_a, spec_b = sweep.load_spec(a), sweep.load_spec(b)
    names = spec_a["names"]
    if set(names) != set(spec_b["names"]):
        raise Refused(f"the sweeps vary different parameters (A: {', '.join(names)}; B: "
                      f"{', '.join(spec_b['names'])}), so their rows cannot be matched")
    cmp = Comparison(str(a), str(b), "sweeps", swept=list(names))
    table_a, table_b = sweep.load_table(a), sweep.load_table(b)
    _check_same_kind(cmp, _sweep_kind(a, table_a), _sweep_kind(b, table_b), force)
    _check_same_scenario(cmp, spec_a["base"], spec_b["base"], limits, force, ignored=names)
    rows_a, rows_b = _rows(table_a, names), _rows(table_b, names)
    only_a = [k for k in rows_a if k not in rows_b]
    only_b = [k for k in rows_b if k not in rows_a]
    for side, keys in (("A", only_a), ("B", only_b)):
        if keys:
            shown = "; ".join(_describe(_point(names, k)) for k in keys[:5])
            more = f" and {len(keys) - 5} more" if len(keys) > 5 else ""
            cmp.warnings.append(f"{len(keys)} row(s) only in {side}: {shown}{more}")
    columns = [c for c in SWEEP_COLUMNS if c in table_a.columns and c in table_b.columns]
    for metric in (limit.metric for limit in limits):
        if _column(metric) not in table_a.columns and _column(metric) not in table_b.columns:
            raise ValueError(f"--max-increase: no column {metric!r} in either sweep's results "
                             f"table; use one of {', '.join(c for c in columns if c != 'status')}")
    for key, row_a in rows_a.items():
        row_b = rows_b.get(key)
        if row_b is None:
            continue
        point = _point(names, key)
        for col in columns:
            va, vb = _value(row_a.get(col)), _value(row_b.get(col))
            if va != vb and not (_nan(va) and _nan(vb)):
                cmp.differences.append(Difference(col, va, vb, ratio(va, vb), point))
        for limit in limits:
            col = _column(limit.metric)
            cmp.checks.append(_check(limit, _value(row_a.get(col)), _value(row_b.get(col)),
                                     point))
    return cmp


def _sweep_kind(folder: Path, table: Any) -> tuple[Any, Any]:
    """Runtime and schema version of a sweep, read from its first complete report."""
    done = table[table["status"] == "ok"]
    if done.empty:
        return "sim", None
    return _kind_of(read(folder / "points" / done.iloc[0]["point"]))


def _rows(table: Any, names: list[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {(*(_value(row[n]) for n in names), int(row["repetition"])): row
            for row in table.to_dict("records")}


def _point(names: list[str], key: tuple[Any, ...]) -> dict[str, Any]:
    return {**dict(zip(names, key[:-1], strict=True)), "repetition": key[-1]}


def _describe(point: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items())


def _column(metric: str) -> str:
    """A sweep table's column for a metric given by its short name or its report key."""
    by_key = {key: name for name, key in METRICS.items()}
    return by_key.get(metric, metric)


def _value(value: Any) -> Any:
    """Plain Python from a table cell (numpy scalars become int or float)."""
    return value.item() if hasattr(value, "item") else value


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if _nan(value):
        return None
    return _value(value)


# ---------------------------------------------------------------- showing


def print_comparison(cmp: Comparison, console: Console) -> None:
    """The differences, the limits' verdicts and the warnings, as terminal tables."""
    for warning in cmp.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    if cmp.differences:
        table = Table(title=f"A = {escape(cmp.a)}\nB = {escape(cmp.b)}")
        point_cols = [*cmp.swept, "repetition"] if cmp.kind == "sweeps" else []
        for col in point_cols:
            table.add_column(escape(col.rsplit(".", 1)[-1]))
        table.add_column("metric" if point_cols else "key", overflow="fold")
        for col in ("A", "B", "B / A"):
            table.add_column(col, justify="right", overflow="fold")
        for d in cmp.differences:
            cells = [escape(str((d.point or {}).get(c, ""))) for c in point_cols]
            table.add_row(*cells, escape(d.key), escape(_show(d.a)), escape(_show(d.b)),
                          "" if d.ratio is None else f"{d.ratio:.4g}x")
        console.print(table)
    what = "rows" if cmp.kind == "sweeps" else "keys"
    console.print(f"{len(cmp.differences)} value(s) differ" if cmp.differences
                  else f"the {cmp.kind} are identical in the compared {what}")
    if not cmp.checks:
        return
    exceeded = [c for c in cmp.checks if c.exceeded]
    if exceeded:
        table = Table(title="limits exceeded")
        point_cols = [*cmp.swept, "repetition"] if cmp.kind == "sweeps" else []
        for col in point_cols:
            table.add_column(escape(col.rsplit(".", 1)[-1]))
        for col in ("metric", "A", "B", "change", "limit"):
            table.add_column(col, justify="left" if col in ("metric", "limit") else "right")
        for c in exceeded:
            cells = [escape(str((c.point or {}).get(col, ""))) for col in point_cols]
            table.add_row(*cells, escape(c.metric), escape(_show(c.a)), escape(_show(c.b)),
                          _change(c.a, c.b), escape(c.limit))
        console.print(table)
        console.print(f"[red]FAIL[/]: {len(exceeded)} of {len(cmp.checks)} check(s) exceeded "
                      "their limit")
    else:
        console.print(f"[green]ok[/]: {len(cmp.checks)} check(s) within their limits "
                      f"({', '.join(sorted({c.limit for c in cmp.checks}))})")


def _change(a: Any, b: Any) -> str:
    if not (_number(a) and _number(b)):
        return ""
    r = ratio(a, b)
    return f"{b - a:+.6g}" + (f" ({(r - 1) * 100:+.3g}%)" if r is not None else "")


def _show(value: Any) -> str:
    if value is None or _nan(value):
        return "(absent)"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
