"""The run report: one JSON document (schema below) and a terminal table.

Schema version 2 (every key is always present unless marked optional):

* ``schema_version`` (int), ``version`` (ppsim's), ``runtime`` ("sim" or "tcp").
* ``timing``: what the times are (`sim.costs.timing`): ``clock`` ("simulated" or
  "measured"), ``phases`` (what a phase's ``sim_time_s`` is and what the phases
  add up to), ``timed_party`` (TCP: the party whose timeline gives the phase
  times; null in the simulator) and ``modelled`` (which figures the cost model
  charged rather than the clock measured: on TCP ``work`` and
  ``party_phases.compute_s``).
* ``scenario``: the scenario with every default applied: the protocol's parameters,
  the topology builder's (latency, bandwidth...), ``cost`` (the model's name, the
  machine it was measured on and every constant, in seconds per operation) and the
  ``hosts``.
* ``mode``: "full", or "cost_only" when payloads carried shapes without values.
* ``roles``: party ids by role; ``trust``: what the run trusts beyond its parties
  (a dealer, a proxy) or null; ``reveals``: what the protocol makes public (its
  message sizes depend only on what is listed there and the scenario).
* ``totals``: ``bytes`` (payload plus header, online and offline), ``header_bytes``,
  ``messages``, ``rounds`` (online causal depth), ``sim_time_s`` (online),
  ``dropped_messages``.
* ``offline``: the dealer's preprocessing, counted apart: ``bytes``, ``messages``,
  ``rounds``, ``sim_time_s`` (its own run over an idle network).
* ``phases``: in order of first use, each ``name``, ``offline``, ``bytes``,
  ``messages``, ``rounds`` (depth the phase adds), ``sim_time_s`` (its share of the
  critical path: online phases add up to ``totals.sim_time_s``, offline ones to
  ``offline.sim_time_s``), split into ``compute_s`` (local work), ``messaging_s``
  (CPU serializing and decoding messages), ``network_s`` (links and interfaces)
  and ``wait_s`` (for a busy core or a timeout). On the TCP runtime
  ``sim_time_s`` is the slowest party's measured wall time in the phase
  (`sim.tcp.run.timed_party`), the phases adding up in the same way (``totals``
  and ``offline`` are that party's time in online and offline phases), and the
  split is null. `rollup` groups hierarchical names (``tree3.level2``).
* ``party_phases``: per party and phase (rows with some time only): ``party``,
  ``phase``, ``compute_s``, ``send_s`` (its program serializing), ``recv_s`` (its
  host decoding what it received, in the background), ``wait_s`` (blocked: for
  messages, a timeout, the dealer's pacing or a core), ``time_s`` (compute + send
  + wait: the party's time in the phase). On the TCP runtime ``time_s`` is the
  party's measured wall time in the phase (its phases add up to its run),
  ``compute_s`` the cost model's charge (not measured), and the rest null.
* ``parties``: ``id``, ``role``, ``bytes_sent``, ``bytes_received``,
  ``messages_sent``, ``messages_received``.
* ``links``: every directed link that carried something: ``src``, ``dst``,
  ``bytes``, ``messages``, ``busy_s`` (transmission time), ``dropped``.
* ``crashed``: ``party`` and ``at`` for each crash.
* ``nics``: each network interface (a party's ``nic_bandwidth``, or a host's
  shared one): ``party`` (the first using it), ``parties``, ``egress_bytes``,
  ``egress_busy_s``, ``ingress_bytes``, ``ingress_busy_s`` (empty without NICs).
* ``hosts``: each declared host (parties sharing a machine): ``name``,
  ``parties``, ``cores``, ``cpu_busy_s`` (core time used).
* ``work``: the operations charged by the cost model, by class (``name@bits``
  for Paillier): ``count`` and ``seconds``, summed over parties (the model's
  seconds on the TCP runtime too, not measured).
* ``wire_profile`` (optional, only when the scenario's ``[network] profile`` is not
  the default ``ppsim``): ``name``, and ``setting``, what the framework must be set
  to for its messages to be those predicted (see `sim.profiles`). The bytes of
  tagged messages are then the framework's, and its extra messages are counted.
* ``fabric`` (optional): when the topology has a switch fabric (``fabric_bandwidth``):
  ``bytes``, ``messages`` and ``busy_s`` it carried.
* ``wall_time_s``: the simulator's own wall-clock time (the one key that differs
  between two runs of the same scenario and seed).
* ``transport`` (TCP runs only, `ppsim.run.tcp_report`): ``frame_bytes``,
  ``frame_bytes_by_link``, ``control_bytes``, ``security``, ``security_bytes``,
  ``notes``.
* ``sweep`` (a sweep point's report only, `ppsim.sweep`): ``name``, ``index``,
  ``repetition``, ``seed``, ``params``, ``reference``, ``is_reference``, ``code``.
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
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _pkg_version
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ppsim.console import make_console
from ppsim.scenario import Scenario
from ppsim.units import fmt_binary_bytes
from sim import RunResult

SCHEMA_VERSION = 2


def package_version() -> str:
    """ppsim's installed version ("0+unknown" from a source tree not installed)."""
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


ADDITIVE = ("bytes", "messages", "rounds", "sim_time_s", "compute_s", "messaging_s",
            "network_s", "wait_s")
"""The figures of a phase row that add up when phases are grouped."""

SCREEN_PHASES = 20
"""More phases than this are rolled up in the terminal (the full table is in the report)."""


def merge_phases(phases: list[dict[str, Any]], key: Callable[[str], str]
                 ) -> list[dict[str, Any]]:
    """Phase rows grouped by ``key(name)``, online and offline apart.

    Each group keeps its first phase's position and says how many ``phases`` it
    holds; additive figures (`ADDITIVE`) are summed, and one that is null in every
    member (a TCP run's split) stays null. `rollup` and the plots build on it.
    """
    groups: dict[tuple[bool, str], dict[str, Any]] = {}
    for phase in phases:
        name = key(phase["name"])
        row = groups.get((phase["offline"], name))
        if row is None:
            row = groups[(phase["offline"], name)] = {
                "name": name, "offline": phase["offline"], "phases": 0,
                **{k: None for k in ADDITIVE if k in phase}}
        row["phases"] += 1
        for k in ADDITIVE:
            if phase.get(k) is not None:
                row[k] = (row[k] or 0) + phase[k]
    return list(groups.values())


def rollup(phases: list[dict[str, Any]], depth: int = 1, level: int = 0
           ) -> list[dict[str, Any]]:
    """Phase rows grouped by part of their dotted names, figures summed (`merge_phases`).

    A name's components ``level .. level + depth - 1`` name its group: with the
    defaults ``tree3.level2`` falls under ``tree3``; with ``level=1`` under
    ``level2``. Names with fewer components keep what they have (``masking``
    stays ``masking``); an offline phase's ``offline:`` prefix is set aside.
    """
    def group(name: str) -> str:
        parts = name.removeprefix("offline:").split(".")
        return ".".join(parts[level:level + depth] if len(parts) > level else parts[:depth])

    return merge_phases(phases, group)


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _phase_table(rows: list[dict[str, Any]], title: str, caption: str | None = None) -> Table:
    table = Table(title=title, caption=caption, box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("phase", overflow="fold", min_width=12)
    for col in ("rounds", "bytes", "time s", "compute", "msg cpu", "network", "wait"):
        table.add_column(col, justify="right", overflow="fold")  # numbers are never cut
    for p in rows:
        label = escape(p["name"]) + (" *" if p["offline"] else "")
        if p.get("phases", 1) > 1:
            label += f" ({p['phases']})"
        table.add_row(label, str(p["rounds"]), fmt_binary_bytes(p["bytes"]),
                      *(_seconds(p[k]) for k in ("sim_time_s", "compute_s", "messaging_s",
                                                 "network_s", "wait_s")))
    return table


def clock(report: dict[str, Any]) -> str:
    """"simulated" or "measured": what the report's times are (its ``timing``; a report
    written before that key by its runtime)."""
    if "timing" in report:
        return report["timing"]["clock"]
    return "simulated" if report.get("runtime", "sim") == "sim" else "measured"


def print_phases(report: dict[str, Any], console: Console) -> None:
    """The phases, each or (beyond a screenful) rolled up by the first part of their
    names and then by the second, offline ones in one row."""
    phases = report["phases"]
    measured = clock(report) == "measured"
    timed = "measured" if measured else "along the critical path"
    time_note = [f"time: party {report['timing']['timed_party']}'s wall time in each phase "
                 "(the slowest party), adding up to the online time; compute, msg cpu, "
                 "network and wait are not measured"] if measured else []
    offline_note = "* offline: preprocessing, " + (
        "the same party's time in it" if measured else "timed on its own over the idle network")
    if len(phases) <= SCREEN_PHASES:
        notes = time_note + ([offline_note] if any(p["offline"] for p in phases) else [])
        console.print(_phase_table(phases, f"phases (time {timed})", "\n".join(notes) or None))
        return
    online = [p for p in phases if not p["offline"]]
    offline = rollup([p for p in phases if p["offline"]], depth=0)
    for row in offline:
        row["name"] = "offline"
    note = "\n".join([f"{len(phases)} phases rolled up (n) by name; each is in report.json",
                      *time_note, *([offline_note] if offline else [])])
    console.print(_phase_table(rollup(online) + offline, f"phases by group (time {timed})",
                               note))
    nested = [p for p in online if "." in p["name"]]
    if nested:
        console.print(_phase_table(rollup(nested, level=1), "the same steps summed over groups"))


def print_table(report: dict[str, Any], console: Console | None = None) -> None:
    """Print the report's costs as terminal tables (about a screenful)."""
    console = console or make_console()
    sc = report["scenario"]
    totals, offline = report["totals"], report["offline"]
    title = sc.get("name") or sc["protocol"]["name"]
    head = Table(title=f"{title}: {sc['protocol']['name']} on {sc['topology']['kind']}",
                 show_header=False)
    head.add_column(style="bold")
    head.add_column()
    if sc.get("description"):
        head.add_row("about", escape(sc["description"]))
    head.add_row("parties", str(len(report["parties"])))
    if "wire_profile" in report:
        profile = report["wire_profile"]
        head.add_row("wire profile", escape(profile["name"] + (
            f" ({profile['setting']})" if profile["setting"] else "")))
    times = clock(report)
    head.add_row("online", f"{totals['rounds']} rounds, {totals['messages']} messages, "
                 f"{fmt_binary_bytes(totals['bytes'] - offline['bytes'])}, "
                 f"{totals['sim_time_s']:.6g} s {times}")
    if offline["messages"]:
        head.add_row("offline", f"{offline['rounds']} rounds, {offline['messages']} messages, "
                     f"{fmt_binary_bytes(offline['bytes'])}, "
                     f"{offline['sim_time_s']:.6g} s {times}")
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
    work = sorted(report["work"].items(), key=lambda kv: -(kv[1]["seconds"] or 0))
    if work:
        head.add_row("compute by class" + (" (modelled)" if times == "measured" else ""),
                     ", ".join(
            f"{escape(op)} {w['seconds']:.3g} s" for op, w in work[:5] if w["seconds"]))
    for host in report["hosts"]:
        head.add_row(f"host {escape(host['name'])}",
                     f"{len(host['parties'])} parties on {host['cores']} core(s), "
                     f"{host['cpu_busy_s']:.4g} s busy")
    cost = sc.get("cost", {})
    if cost.get("machine"):
        head.add_row("cost model", escape(f"{cost['model']}: {cost['machine']}"))
    head.add_row("wall time", f"{report['wall_time_s']:.3f} s")
    console.print(head)
    print_phases(report, console)

    # simulated: compute and waiting; measured: compute (the model's) and wall time
    second = "time_s" if times == "measured" else "wait_s"
    per_party: dict[int, list[float]] = {}
    for row in report["party_phases"]:
        acc = per_party.setdefault(row["party"], [0.0, 0.0])
        acc[0] += row["compute_s"] or 0.0
        acc[1] += row[second] or 0.0
    parties = Table(title="parties")
    for col in ("id", "role", "sent", "received", "messages sent",
                *(("compute (modelled)", "time (measured)") if times == "measured"
                  else ("compute (s)", "waiting (s)"))):
        parties.add_column(col, justify="right", overflow="fold")
    rows = report["parties"]
    for p in rows[:12]:
        compute, other = per_party.get(p["id"], (0.0, 0.0))
        parties.add_row(str(p["id"]), escape(p["role"]), fmt_binary_bytes(p["bytes_sent"]),
                        fmt_binary_bytes(p["bytes_received"]), str(p["messages_sent"]),
                        f"{compute:.4g}", f"{other:.4g}")
    if len(rows) > 12:
        parties.caption = (f"first 12 of {len(rows)} parties; all, and each party's time by "
                           "phase, are in report.json")
    console.print(parties)
