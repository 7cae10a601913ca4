"""The cost part of a report, computed from a run's result alone.

`costs(result)` turns a `RunResult` (either runtime) into the keys every report
shares: ``totals``, ``offline``, ``phases``, ``parties``, ``links``, ``crashed``,
``nics`` and ``wall_time_s``. The application's report (`ppsim.report`) adds
the scenario, roles, trust and the protocol's own keys around it; tests of a
protocol that has no scenario call this directly.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sim.engine import RunResult
from sim.ledger import union_length


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
    phases = [
        {
            "name": stats.name,
            "offline": stats.offline,
            "bytes": stats.bytes,
            "messages": stats.messages,
            "rounds": rounds[stats.name],
            "sim_time_s": union_length(stats.intervals),
            "compute_s": max(stats.compute_s.values(), default=0.0),
        }
        for stats in ledger.phases.values()
    ]
    offline = [p for p in phases if p["offline"]]
    messages = sum(p["messages"] for p in phases)
    network = result.network

    def role(pid: int) -> str:
        if pid in role_of:
            return role_of[pid]
        return "party" if programs is None or pid in programs else "relay"

    return {
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
        "nics": [
            {
                "party": pid,
                "egress_bytes": out.bytes,
                "egress_busy_s": out.busy_s,
                "ingress_bytes": network.ingress[pid].bytes,
                "ingress_busy_s": network.ingress[pid].busy_s,
            }
            for pid, out in sorted(network.egress.items())
        ],
        "wall_time_s": result.wall_time_s,
    }
