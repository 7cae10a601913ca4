"""``ppsim compare A B``: what changed between two reports, key by key, with ratios.

Reports are flattened to dotted keys: the scenario (so a changed input shows
next to the costs it changed), totals, offline costs, each phase by name,
accuracy and the protocol's own figures. Per-party and per-link lists are
reduced to their lengths: they differ in shape whenever the party count does.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ppsim import report

SKIPPED = {"schema_version", "version", "runtime", "roles", "reveals"}


def read(path: str | Path) -> dict[str, Any]:
    """A report from a report.json file or the folder holding one."""
    path = Path(path)
    file = path / "report.json" if path.is_dir() else path
    return json.loads(file.read_text())


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
    """(key, value in A, value in B, B/A or None) for every key whose value differs."""
    fa, fb = flatten(a), flatten(b)
    rows = []
    for key in [*fa, *(k for k in fb if k not in fa)]:
        va, vb = fa.get(key), fb.get(key)
        if va != vb:
            rows.append((key, va, vb, ratio(va, vb)))
    return rows


def ratio(a: Any, b: Any) -> float | None:
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b))
    if not numbers or a == 0 or not math.isfinite(a) or not math.isfinite(b):
        return None
    return b / a


def print_differences(a_path: str | Path, b_path: str | Path, console: Console) -> int:
    """Print the table of differences; return how many keys differ."""
    rows = differences(read(a_path), read(b_path))
    table = Table(title=f"A = {a_path}\nB = {b_path}")
    table.add_column("key", overflow="fold")
    for col in ("A", "B", "B / A"):
        table.add_column(col, justify="right", overflow="fold")
    for key, va, vb, r in rows:
        table.add_row(escape(key), escape(_show(va)), escape(_show(vb)),
                      "" if r is None else f"{r:.4g}x")
    if rows:
        console.print(table)
    console.print(f"{len(rows)} key(s) differ" if rows else "the reports are identical")
    return len(rows)


def _show(value: Any) -> str:
    if value is None:
        return "(absent)"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
