"""The cost part of a report, computed from a run's result alone.

`costs(result)` turns a `RunResult` (either runtime) into the keys every report
shares: ``timing``, ``totals``, ``offline``, ``phases``, ``party_phases``,
``parties``, ``links``, ``crashed``, ``nics``, ``fabric`` (when the topology has
one), ``hosts``, ``work`` and ``wall_time_s``. The application's report
(`ppsim.report`) adds the scenario, roles, trust and the protocol's own keys
around it; tests of a protocol that has no scenario call this directly.

Phase times are shares of the critical path (`sim.engine`): a phase's
``sim_time_s`` is the time the chain of work and messages that ended the run
spent in it, split into ``compute_s``, ``messaging_s``, ``network_s`` and
``wait_s``, so the online phases add up to the run's online time and the offline
ones to the preprocessing run's. On the TCP runtime a phase's time is measured:
the wall-clock time the slowest party spent in it
(`sim.tcp.run.timed_party`), so the phases add up there too; the split is null,
and the compute seconds (``work``, ``party_phases.compute_s``) are the cost
model's charges, not measurements. ``timing`` says which, in the report itself.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sim.engine import KINDS, RunResult

SPLIT = tuple(f"{kind}_s" for kind in KINDS)
"""The critical-path split of a phase's time: compute_s, messaging_s, network_s, wait_s."""


def costs(result: RunResult, roles: Mapping[str, list[int]] | None = None,
          programs: Collection[int] | None = None) -> dict[str, Any]:
    """What `result` cost, as report keys (see `ppsim.report` for the schema).

    Args:
        result: a simulated or TCP run.
        roles: party ids by role, to label the ``parties`` rows.
        programs: ids of the parties that ran a program; the others are
            labelled ``relay``. Default: every party.
    """
    ledger = result.ledger
    rounds = ledger.phase_rounds()
    role_of = {pid: role for role, ids in (roles or {}).items() for pid in ids}
    shares = {**_shares(result.critical), **_shares(result.offline_critical)}
    timed = result.timed_party
    measured = result.phase_time_s.get(timed, {}) if timed is not None else {}
    phases = []
    for stats in ledger.phases.values():
        row: dict[str, Any] = {
            "name": stats.name,
            "offline": stats.offline,
            "bytes": stats.bytes,
            "messages": stats.messages,
            "rounds": rounds[stats.name],
        }
        if result.measured:
            row.update(sim_time_s=measured.get(stats.name, 0.0), **dict.fromkeys(SPLIT))
        else:
            split = shares.get(stats.name, [0.0] * len(KINDS))
            row.update(sim_time_s=sum(split), **dict(zip(SPLIT, split, strict=True)))
        phases.append(row)
    offline = [p for p in phases if p["offline"]]
    messages = sum(p["messages"] for p in phases)
    network = result.network

    def role(pid: int) -> str:
        if pid in role_of:
            return role_of[pid]
        return "party" if programs is None or pid in programs else "relay"

    return {
        "timing": timing(result),
        "totals": {
            "bytes": sum(p["bytes"] for p in phases),
            "header_bytes": messages * ledger.header_bytes,
            "messages": messages,
            "rounds": ledger.rounds(),
            "sim_time_s": result.end_time,
            "dropped_messages": ledger.dropped_messages,
        },
        "offline": {
            "bytes": sum(p["bytes"] for p in offline),
            "messages": sum(p["messages"] for p in offline),
            "rounds": ledger.rounds(offline=True),
            "sim_time_s": result.offline_time,
        },
        "phases": phases,
        "party_phases": party_phases(result),
        "parties": [
            {
                "id": pid,
                "role": role(pid),
                "bytes_sent": s.bytes_sent,
                "bytes_received": s.bytes_received,
                "messages_sent": s.messages_sent,
                "messages_received": s.messages_received,
            }
            for pid, s in enumerate(ledger.parties)
        ],
        "links": [
            {
                "src": link.src,
                "dst": link.dst,
                "bytes": link.bytes,
                "messages": link.messages,
                "busy_s": link.busy_s,
                "dropped": link.dropped,
            }
            for _, link in sorted(network.links.items())
            if link.messages
        ],
        "crashed": [{"party": p, "at": t} for p, t in sorted(result.crashed.items())],
        "nics": _nics(result),
        "hosts": [
            {"name": host.name, "parties": list(host.parties), "cores": host.cores,
             "cpu_busy_s": busy}
            for host, busy in zip(result.hosts, result.cpu_busy_s, strict=True)
            if len(host.parties) > 1 or host.nic_bandwidth is not None or host.cores > 1
        ],
        "work": work(result),
        **({"fabric": {"bytes": network.fabric.bytes, "messages": network.fabric.messages,
                       "busy_s": network.fabric.busy_s}}
           if getattr(network, "fabric", None) else {}),
        "wall_time_s": result.wall_time_s,
    }


def _shares(critical: list[tuple[str, int, float]]) -> dict[str, list[float]]:
    """Seconds of a critical path per phase, by kind."""
    out: dict[str, list[float]] = {}
    for phase, kind, seconds in critical:
        row = out.get(phase)
        if row is None:
            row = out[phase] = [0.0] * len(KINDS)
        row[kind] += seconds
    return out


def timing(result: RunResult) -> dict[str, Any]:
    """What the report's times are: ``clock`` ("simulated" or "measured"), ``phases``
    (what a phase's ``sim_time_s`` is and what the phases add up to),
    ``timed_party`` (on the TCP runtime, the party whose timeline gives the phases'
    times; null in the simulator) and ``modelled`` (which figures the cost model
    charged rather than the run's clock measured)."""
    if not result.measured:
        return {
            "clock": "simulated",
            "phases": "each phase's share of the critical path, split into compute, "
                      "messaging, network and wait: online phases add up to "
                      "totals.sim_time_s, offline ones to offline.sim_time_s",
            "timed_party": None,
            "modelled": "every time: the cost model charges compute and messaging, the "
                        "links' latency and bandwidth the network",
        }
    return {
        "clock": "measured",
        "phases": f"the wall time party {result.timed_party} (the slowest: its program "
                  "ended latest on its own clock) spent in each phase, from entering it to "
                  "entering the next, waiting included: online phases add up to "
                  "totals.sim_time_s, offline "
                  "ones to offline.sim_time_s; the split (compute_s, messaging_s, "
                  "network_s, wait_s) is not measured (null)",
        "timed_party": result.timed_party,
        "modelled": "work (seconds) and party_phases.compute_s: the cost model's charge "
                    "for the operations counted, not measured; every other time is "
                    "wall-clock",
    }


def party_phases(result: RunResult) -> list[dict[str, Any]]:
    """Per party and phase: ``compute_s`` (its modelled local work), ``send_s`` (its
    program serializing messages), ``wait_s`` (blocked: for messages, a timeout, the
    dealer's pacing or a busy core), ``time_s`` (their sum: its clock's time in the
    phase; offline phases' compute and send run on the preprocessing clock) and
    ``recv_s`` (CPU its host spent decoding what it received, while it waited or
    ran). On the TCP runtime ``time_s`` is the party's measured wall time in the
    phase (`sim.tcp.run.phase_times`: a party's phases add up to its whole run),
    ``compute_s`` the cost model's charge, and the rest null.
    """
    rows = []
    if result.measured:
        ledger = result.ledger
        for pid, spent in sorted(result.phase_time_s.items()):
            for name, stats in ledger.phases.items():
                compute = stats.compute_s.get(pid, 0.0)
                seconds = spent.get(name, 0.0)
                if seconds or compute:
                    rows.append({"party": pid, "phase": name, "compute_s": compute,
                                 "send_s": None, "recv_s": None, "wait_s": None,
                                 "time_s": seconds})
        return rows
    for party in result.parties:
        for phase, (compute, send, recv, wait) in party.spent.items():
            if not (compute or send or recv or wait):
                continue
            rows.append({"party": party.id, "phase": phase, "compute_s": compute,
                         "send_s": send, "recv_s": recv, "wait_s": wait,
                         "time_s": compute + send + wait})
    return rows


def work(result: RunResult) -> dict[str, dict[str, float]]:
    """The operations `Party.work` charged, summed over parties and phases: per class
    (``name@bits`` for Paillier), the ``count`` and the ``seconds`` they cost."""
    counts: dict[str, float] = {}
    for stats in result.ledger.phases.values():
        for op, count in stats.ops.items():
            counts[op] = counts.get(op, 0) + count
    model = result.cost_model
    out = {}
    for op in sorted(counts):
        name, _, bits = op.partition("@")
        seconds = None if model is None else model.time({name: counts[op]},
                                                        int(bits) if bits else None)
        out[op] = {"count": counts[op], "seconds": seconds}
    return out


def _nics(result: RunResult) -> list[dict[str, Any]]:
    """Each network interface once (a host's is shared by its parties)."""
    network = result.network
    users: dict[int, list[int]] = {}
    for pid, egress in sorted(network.egress.items()):
        users.setdefault(id(egress), []).append(pid)
    out = []
    for sharing in users.values():
        egress, ingress = network.egress[sharing[0]], network.ingress[sharing[0]]
        out.append({"party": sharing[0], "parties": sharing, "egress_bytes": egress.bytes,
                    "egress_busy_s": egress.busy_s, "ingress_bytes": ingress.bytes,
                    "ingress_busy_s": ingress.busy_s})
    return out
