"""The run report: one JSON document (schema below) and a terminal table.

Schema version 1 (every key is always present unless marked optional):

* ``schema_version`` (int), ``version`` (ppsim's), ``runtime`` ("sim").
* ``scenario``: the parsed scenario with defaults filled in.
* ``mode``: "full", or "cost_only" when payloads carried shapes without values.
* ``roles``: party ids by role; ``trust``: what the run trusts beyond its parties
  (a dealer, a proxy) or null; ``reveals``: what the protocol makes public.
* ``totals``: ``bytes`` (payload plus header, online and offline), ``header_bytes``,
  ``messages``, ``rounds`` (online causal depth), ``sim_time_s`` (online),
  ``dropped_messages``.
* ``offline``: the dealer's preprocessing, counted apart: ``bytes``, ``messages``,
  ``rounds``, ``sim_time_s`` (its own run over an idle network).
* ``phases``: in order of first use, each ``name``, ``offline``, ``bytes``,
  ``messages``, ``rounds`` (depth the phase adds), ``sim_time_s`` (time some
  party spent in it), ``compute_s`` (largest modelled local work of one party).
* ``parties``: ``id``, ``role``, ``bytes_sent``, ``bytes_received``,
  ``messages_sent``, ``messages_received``.
* ``links``: every directed link that carried something: ``src``, ``dst``,
  ``bytes``, ``messages``, ``busy_s`` (transmission time), ``dropped``.
* ``crashed``: ``party`` and ``at`` for each crash.
* ``nics``: when the topology gives parties a ``nic_bandwidth``: per party,
  ``egress_bytes``, ``egress_busy_s``, ``ingress_bytes``, ``ingress_busy_s``
  (an empty list otherwise).
* ``wire_profile`` (optional, only when the scenario's ``[network] profile`` is not
  the default ``ppsim``): ``name``, and ``setting``, what the framework must be set
  to for its messages to be those predicted (see `sim.profiles`). The bytes of
  tagged messages are then the framework's, and its extra messages are counted.
* ``wall_time_s``: the simulator's own wall-clock time (the one key that differs
  between two runs of the same scenario and seed).
* Protocol keys, merged at top level: e.g. ``result_check``, ``accuracy_per_round``,
  ``dropped``, ``prediction_check``. Two have one shape in every family:
  ``split`` (optional; how a data set is divided among its owners) is an object
  with ``kind`` ("horizontal", "vertical", "mixed"), ``owners`` (a count) and
  ``parts`` (per owner: ``owner``, ``rows``, ``cols``, ``labels``); ``accuracy``
  (optional) has ``metric``, ``value`` and ``baseline`` (the plaintext model's),
  never a null value: a run that cannot score its model (cost-only mode, a crash)
  leaves it out and says why under ``absent`` (``{"accuracy": "reason"}``).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _pkg_version
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ppsim.console import make_console
from ppsim.scenario import Scenario
from sim import RunResult

SCHEMA_VERSION = 1


def package_version() -> str:
    try:
        return _pkg_version("ppsim")
    except PackageNotFoundError:  # running from a source tree without install
        return "0+unknown"


def build(scenario: Scenario, result: RunResult) -> dict[str, Any]:
    """The report of one run of `scenario`: its costs (`sim.costs`) with the scenario,
    roles, trust and the protocol's own keys around them."""
    plan = scenario.plan
    extra = plan.summarize(result)
    check_shape(scenario.spec.name, extra)
    if not scenario.model.output.accuracy and "accuracy" in extra:
        for key in ("accuracy", "accuracy_per_round"):
            extra.pop(key, None)
        extra["absent"] = {**extra.get("absent", {}), "accuracy": (
            "not shown: this scenario is a cost demonstration ([output] accuracy = false), "
            "its data is not meant to be learned")}
    if not scenario.profile.is_default and "wire_profile" in extra:
        raise ValueError(f"protocol {scenario.spec.name!r} overrides report key wire_profile")
    report = {"schema_version": SCHEMA_VERSION, "version": package_version(), "runtime": "sim",
              "scenario": scenario.as_dict(), **plan.report(result, extra)}
    if not scenario.profile.is_default:
        report["wire_profile"] = {"name": scenario.profile.name,
                                  "setting": scenario.profile.setting}
    return report


def check_shape(protocol: str, keys: dict[str, Any]) -> None:
    """Raise ValueError unless a protocol's keys have the shapes every family shares
    (`split` an object, `accuracy` with a value, reasons under `absent`)."""
    split = keys.get("split")
    if split is not None and not (isinstance(split, dict)
                                  and {"kind", "owners", "parts"} <= set(split)):
        raise ValueError(f"protocol {protocol!r} reports split={split!r}; expected an object "
                         "with kind, owners and parts")
    accuracy = keys.get("accuracy")
    if accuracy is not None and (not isinstance(accuracy, dict) or accuracy.get("value") is None):
        raise ValueError(f"protocol {protocol!r} reports accuracy={accuracy!r}; expected metric, "
                         "value and baseline, or no accuracy and the reason under 'absent'")
    absent = keys.get("absent", {})
    if not isinstance(absent, dict) or set(absent) & set(keys):
        raise ValueError(f"protocol {protocol!r} reports absent={absent!r}; expected reasons "
                         "for keys it leaves out")


def flatten(value: Any, prefix: str) -> dict[str, Any]:
    """The leaves of nested dicts under dotted keys (``prefix.key.subkey``); lists
    and scalars are leaves. Tables of runs and report comparisons are built on it."""
    if not isinstance(value, dict):
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, item in value.items():
        out.update(flatten(item, f"{prefix}.{key}"))
    return out


def write(report: dict[str, Any], out_dir: str | Path) -> Path:
    """Write ``report.json`` into `out_dir` (created if needed); return its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.json"
    write_atomic(path, dumps(report))
    return path


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file beside `path` and a rename: a kill never leaves half a
    file, and a reader sees the old file or the new one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as file:
            file.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dumps(report: dict[str, Any]) -> str:
    """The report as JSON; a non-finite number (an undefined metric, NaN) becomes null,
    since ``NaN`` and ``Infinity`` are not JSON."""
    return json.dumps(_finite(report), indent=2, allow_nan=False) + "\n"


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _finite(value.tolist())
    if value is None or isinstance(value, str | int):
        return value
    raise TypeError(f"cannot write {type(value).__name__} into a report")


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _brief(value: Any) -> str:
    """A compact one-line rendering of a report value for the terminal."""
    if isinstance(value, dict):
        return ", ".join(f"{k}={_brief(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list) and len(value) > 6:
        return "[" + ", ".join(_brief(v) for v in value[:6]) + f", ... ({len(value)} items)]"
    if isinstance(value, list):
        return "[" + ", ".join(_brief(v) for v in value) + "]"
    return str(value)


def print_table(report: dict[str, Any], console: Console | None = None) -> None:
    """Print the report's costs as terminal tables."""
    console = console or make_console()
    sc = report["scenario"]
    totals, offline = report["totals"], report["offline"]
    title = sc.get("name") or sc["protocol"]["name"]
    head = Table(title=f"{title}: {sc['protocol']['name']} on {sc['topology']['kind']}",
                 show_header=False)
    head.add_column(style="bold")
    head.add_column()
    head.add_row("parties", str(len(report["parties"])))
    if "wire_profile" in report:
        profile = report["wire_profile"]
        head.add_row("wire profile", escape(profile["name"] + (
            f" ({profile['setting']})" if profile["setting"] else "")))
    clock = "simulated" if report["runtime"] == "sim" else "measured"
    head.add_row("online", f"{totals['rounds']} rounds, {totals['messages']} messages, "
                 f"{_bytes(totals['bytes'] - offline['bytes'])}, "
                 f"{totals['sim_time_s']:.6g} s {clock}")
    if offline["messages"]:
        head.add_row("offline", f"{offline['rounds']} rounds, {offline['messages']} messages, "
                     f"{_bytes(offline['bytes'])}, {offline['sim_time_s']:.6g} s simulated")
    if totals["dropped_messages"]:
        head.add_row("dropped", f"{totals['dropped_messages']} messages")
    if report["crashed"]:
        head.add_row("crashed", ", ".join(f"party {c['party']} at {c['at']:.6g} s"
                                          for c in report["crashed"]))
    if report["trust"]:
        head.add_row("trusts", escape(report["trust"]))
    for key in ("result_check", "accuracy", "prediction_check"):
        if key in report:
            head.add_row(key, escape(_brief(report[key])))
    for key, reason in report.get("absent", {}).items():
        head.add_row(key, escape(reason))
    if "split" in report:
        split = report["split"]
        head.add_row("split", f"{escape(str(split['kind']))}, {split['owners']} data owners")
    head.add_row("wall time", f"{report['wall_time_s']:.3f} s")
    console.print(head)

    phases = Table(title="phases")
    phases.add_column("phase", overflow="fold", min_width=16)
    for col in ("rounds", "messages", "bytes", "time (s)", "compute (s)"):
        phases.add_column(col, justify="right", overflow="fold")  # numbers are never cut
    for p in report["phases"]:
        phases.add_row(escape(p["name"]) + (" *" if p["offline"] else ""), str(p["rounds"]),
                       str(p["messages"]), _bytes(p["bytes"]), f"{p['sim_time_s']:.4g}",
                       f"{p['compute_s']:.3g}")
    if any(p["offline"] for p in report["phases"]):
        phases.caption = "* offline: preprocessing, timed on its own over the idle network"
    console.print(phases)

    parties = Table(title="parties")
    for col in ("id", "role", "sent", "received", "messages sent"):
        parties.add_column(col, justify="right", overflow="fold")
    rows = report["parties"]
    for p in rows[:12]:
        parties.add_row(str(p["id"]), escape(p["role"]), _bytes(p["bytes_sent"]),
                        _bytes(p["bytes_received"]), str(p["messages_sent"]))
    if len(rows) > 12:
        parties.caption = f"first 12 of {len(rows)} parties; all are in report.json"
    console.print(parties)
