"""``ppsim calibrate``: measure every cost-model constant on this machine, write a model file.

The kernel's measures (`sim.calibrate`) and those protocol packages offer under
the entry point group ``ppsim.calibration`` (an operation class -> workload map)
are timed one after the other under a progress bar, about half a minute in all.
The file says which machine, when and under what load it was measured; a
scenario names it with ``[cost] model = "path"``.
"""

from __future__ import annotations

import datetime
import os
import platform
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sim import OPS, CalibrationFit, CostModel
from sim.calibrate import MEASURES, seconds_per_unit

GROUP = "ppsim.calibration"


def measures() -> dict[str, Callable[[], Any]]:
    """Every measure: the kernel's, then each installed package's, in `OPS` order."""
    found: dict[str, Callable[[], Any]] = dict(MEASURES)
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        found.update(ep.load())
    unknown = sorted(set(found) - set(OPS))
    if unknown:
        raise ValueError(f"calibration measures for unknown classes: {unknown}")
    return {name: found[name] for name in OPS if name in found}


def machine() -> str:
    """CPU model, cores, operating system and the numerical stack, in one line."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}, numpy {np.__version__}")


def calibrate(console: Console | None = None, progress: bool = True) -> CostModel:
    """Measure every constant; return the model (machine and date filled in)."""
    console = console or Console()
    todo = measures()
    seconds: dict[str, Any] = {}
    columns = (TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, disable=not progress) as bar:
        task = bar.add_task("preparing", total=len(todo))
        prepared = {name: measure() for name, measure in todo.items()}
        fits = [n for n, m in prepared.items() if isinstance(m, CalibrationFit)]
        bar.update(task, total=len(todo) + len(fits))
        for name in [n for n in prepared if n not in fits] + fits + fits:  # fits twice
            bar.update(task, description=name)
            seconds[name] = seconds_per_unit(prepared[name], seconds)
            bar.advance(task)
    missing = sorted(set(OPS) - set(seconds))
    if missing:
        raise ValueError(f"no measure for {missing}: is the ppsim package installed "
                         "(pip install -e .)?")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return CostModel.from_dict({
        "machine": f"{machine()}; load average {load} while measuring",
        "measured": datetime.date.today().isoformat(),
        "seconds": {k: {str(b): v for b, v in s.items()} if isinstance(s, dict) else s
                    for k, s in seconds.items()},
    }, source="calibrated")


def dumps(model: CostModel) -> str:
    """The model as a TOML file, one commented line per constant."""
    data = model.as_dict()
    lines = ["# ppsim cost model: seconds per operation (written by `ppsim calibrate`).",
             "# A scenario uses it with [cost] model = \"<this file>\"; see sim/costmodel.py.",
             f"machine = {_quoted(data['machine'])}",
             f"measured = {_quoted(data['measured'])}", "", "[seconds]"]
    sized = []
    for name, value in data["seconds"].items():
        if isinstance(value, dict):
            sized.append((name, value))
        else:
            lines.append(f"{name} = {value:.4g}  # {OPS[name]}")
    for name, table in sized:
        lines += ["", f"[seconds.{name}]  # {OPS[name]}, by key size (bits)"]
        lines += [f"{bits} = {value:.4g}" for bits, value in table.items()]
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write(model: CostModel, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(model))
    return path
