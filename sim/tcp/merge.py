"""Merging what each party measured into one run's ledger and link totals.

Over TCP every party keeps its own `Ledger` (what it sent, received and
computed, by phase) and the totals of the links it transmits on. At the end the
parties exchange these records (as plain lists and numbers, through the codec)
and every party merges them the same way, so a run split over processes
reports exactly what the same run in one process reports.

The ledger's phase order matters for per-phase rounds. The simulator orders
phases by first use in virtual time; here each party's own order of first use
is a chain, and the merge takes a topological order of those chains, breaking
ties by (position in a party's chain, party id): deterministic, and the
simulator's order whenever the parties agree on the order of their phases.
"""

from __future__ import annotations

from typing import Any

from sim.ledger import Ledger, PhaseStats


def export_ledger(ledger: Ledger) -> dict[str, Any]:
    """A codec-friendly copy of a party's ledger (views are not exported)."""
    return {
        "phases": [
            [s.name, s.offline, s.bytes, s.messages, s.max_depth,
             [[p, t] for p, t in s.compute_s.items()],
             [[k, b, d] for k, (b, d) in s.entries.items()], [[o, c] for o, c in s.ops.items()]]
            for s in ledger.phases.values()
        ],
        "parties": [[p.bytes_sent, p.bytes_received, p.messages_sent, p.messages_received]
                    for p in ledger.parties],
        "dropped": ledger.dropped_messages,
    }


def import_ledger(data: dict[str, Any], n: int, header_bytes: int) -> Ledger:
    """The inverse of `export_ledger`."""
    ledger = Ledger(n, header_bytes)
    for name, offline, nbytes, messages, depth, compute, entries, ops in data["phases"]:
        ledger.phases[name] = PhaseStats(
            name, offline, nbytes, messages, depth,
            {int(k): [b, d] for k, b, d in entries},
            {int(p): float(t) for p, t in compute},
            {str(o): c for o, c in ops},
        )
    for stats, (bs, br, ms, mr) in zip(ledger.parties, data["parties"], strict=True):
        stats.bytes_sent, stats.bytes_received = bs, br
        stats.messages_sent, stats.messages_received = ms, mr
    ledger.dropped_messages = data["dropped"]
    return ledger


def phase_order(chains: list[list[str]]) -> list[str]:
    """A topological merge of each party's phase order (see the module docstring)."""
    rank: dict[str, tuple[int, int]] = {}
    preds: dict[str, set[str]] = {}
    for pid, chain in enumerate(chains):
        for i, name in enumerate(chain):
            rank[name] = min(rank.get(name, (i, pid)), (i, pid))
            preds.setdefault(name, set())
            if i:
                preds[name].add(chain[i - 1])
    order: list[str] = []
    left = set(rank)
    while left:
        ready = [p for p in left if not preds[p] & left] or list(left)  # a cycle: break it
        best = min(ready, key=lambda p: (rank[p], p))
        order.append(best)
        left.remove(best)
    return order


def merge_ledgers(ledgers: list[Ledger | None], n: int, header_bytes: int,
                  record_views: bool = False) -> Ledger:
    """One ledger from the parties' own (None for a party that left without one)."""
    present = [led for led in ledgers if led is not None]
    merged = Ledger(n, header_bytes, record_views)
    for name in phase_order([list(led.phases) for led in present]):
        parts = [led.phases[name] for led in present if name in led.phases]
        offline = {p.offline for p in parts}
        if len(offline) > 1:
            raise ValueError(f"phase {name!r} is used both online and offline")
        stats = merged.phases[name] = PhaseStats(name, parts[0].offline)
        for part in parts:
            stats.bytes += part.bytes
            stats.messages += part.messages
            stats.max_depth = max(stats.max_depth, part.max_depth)
            for k, (base, deepest) in part.entries.items():
                mine = stats.entries.setdefault(k, [base, deepest])
                mine[0], mine[1] = max(mine[0], base), max(mine[1], deepest)
            for pid, seconds in part.compute_s.items():
                stats.compute_s[pid] = stats.compute_s.get(pid, 0.0) + seconds
            for op, count in part.ops.items():
                stats.ops[op] = stats.ops.get(op, 0) + count
    for led in present:
        for total, part in zip(merged.parties, led.parties, strict=True):
            total.bytes_sent += part.bytes_sent
            total.bytes_received += part.bytes_received
            total.messages_sent += part.messages_sent
            total.messages_received += part.messages_received
        merged.dropped_messages += led.dropped_messages
        if merged.views is not None and led.views is not None:
            for pid, seen in led.views.items():
                merged.views[pid].extend(seen)
    return merged
