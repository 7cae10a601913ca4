"""Plots and Markdown summaries of sweeps and single runs (``ppsim report``).

A sweep folder gives one figure per swept parameter (bytes, rounds and
simulated time against it, one line per combination of the other swept
parameters, repetitions averaged), accuracy against cost when the protocol
reports accuracy, accuracy per round when it reports that, and ``summary.md``
linking them. A single report gives bytes and time per phase. Figures are
built on `matplotlib.figure.Figure`, never pyplot, so no GUI backend or
global state is involved and worker processes may call this too.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullFormatter

from ppsim import sweep as sweep_mod

COSTS = {
    "bytes": "bytes sent by the parties (B)",
    "link_bytes": "bytes carried by links, relays included (B)",
    "rounds": "communication rounds (count)",
    "sim_time_s": "simulated time (s)",
}
PARAM_UNITS = {
    "bandwidth": "bytes/s", "latency": "s", "inner_bandwidth": "bytes/s",
    "outer_bandwidth": "bytes/s", "inner_latency": "s", "outer_latency": "s",
    "parties": "count", "players": "count", "clients": "count", "workers": "count",
    "owners": "count", "groups": "count", "vector_length": "elements", "header_bytes": "B",
    "element_time_s": "s", "seconds": "s", "at": "s", "threshold": "shares",
}
MAX_LINES = 12
LOG_RATIO_X, LOG_RATIO_Y = 10.0, 100.0


def report(path: str | Path, out: str | Path | None = None) -> list[Path]:
    """Summarize a sweep folder or a single report (a report.json or its folder).

    Writes ``summary.md`` and PNG figures into `out` (default: the folder of
    `path`); returns the paths written, the summary first.
    """
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    dest = Path(out) if out else folder
    dest.mkdir(parents=True, exist_ok=True)
    if path.is_dir() and (path / "sweep.json").exists():
        return _sweep_report(path, dest)
    file = path / "report.json" if path.is_dir() else path
    return _single_report(json.loads(file.read_text()), dest)


# ---------------------------------------------------------------- sweeps


def _sweep_report(folder: Path, dest: Path) -> list[Path]:
    spec = sweep_mod.load_spec(folder)
    table = sweep_mod.load_table(folder)
    ok = table[table["status"] == "ok"]
    varied = [n for n in spec["names"] if table[n].nunique() > 1]
    figures: list[Path] = []
    if not ok.empty:
        for name in varied:
            figures.append(_save(cost_figure(ok, name, [n for n in varied if n != name]),
                                 dest / f"cost_vs_{_slug(name)}.png"))
        if "accuracy" in ok and ok["accuracy"].notna().any():
            figures.append(_save(accuracy_cost_figure(ok, varied), dest / "accuracy_vs_cost.png"))
        curves = _round_curves(folder, ok, varied)
        if curves:
            figures.append(_save(rounds_figure(curves), dest / "accuracy_per_round.png"))
    summary = dest / "summary.md"
    summary.write_text(_sweep_markdown(spec, table, varied, figures, dest))
    return [summary, *figures]


def cost_figure(table: pd.DataFrame, x: str, others: list[str]) -> Figure:
    """Each cost against `x`, one line (or bar series) per group of `others`."""
    lines, averaged = _line_keys(table, others)
    fig = Figure(figsize=(11, 8.5), layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    numeric = pd.api.types.is_numeric_dtype(table[x])
    groups = list(table.groupby(lines, sort=False, dropna=False)) if lines else [("all", table)]
    for ax, (cost, label) in zip(axes, COSTS.items(), strict=True):
        for i, (key, group) in enumerate(groups):
            mean = group.groupby(x, sort=numeric)[cost].mean()
            if numeric:
                ax.plot(mean.index, mean.to_numpy(), marker="o", label=_legend(lines, key))
            else:
                width = 0.8 / len(groups)
                spots = [list(table[x].unique()).index(v) + (i - (len(groups) - 1) / 2) * width
                         for v in mean.index]
                ax.bar(spots, mean.to_numpy(), width=width, label=_legend(lines, key))
        _x_axis(ax, table[x], numeric)
        ax.set_xlabel(param_label(x))
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        if _wide(table[cost], LOG_RATIO_Y):
            ax.set_yscale("log")
        elif cost == "rounds":
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylim(bottom=0)
    if lines:
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 3),
                   title=", ".join(lines), fontsize="small")
    note = f" (mean over {', '.join(averaged)})" if averaged else ""
    fig.suptitle(f"cost against {x}{note}")
    return fig


def _x_axis(ax: Any, column: pd.Series, numeric: bool) -> None:
    """Ticks at the swept values; a log scale when they span a wide range."""
    values = list(column.unique())
    if not numeric:
        labels = [textwrap.fill(str(v), 18, break_long_words=False) for v in values]
        ax.set_xticks(range(len(values)), labels, fontsize="small")
        return
    if _wide(column, LOG_RATIO_X):
        ax.set_xscale("log")
    if len(values) <= MAX_LINES:
        ax.set_xticks(sorted(values), [f"{v:g}" for v in sorted(values)])
        ax.xaxis.set_minor_formatter(NullFormatter())


def accuracy_cost_figure(table: pd.DataFrame, varied: list[str]) -> Figure:
    """Accuracy against bytes and against simulated time, one marker series per group."""
    lines, _ = _line_keys(table, varied)
    metric = table["accuracy_metric"].dropna().iloc[0] if "accuracy_metric" in table else "value"
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, cost in zip(axes, ("bytes", "sim_time_s"), strict=True):
        groups = table.groupby(lines, sort=False, dropna=False) if lines else [("all", table)]
        for key, group in groups:
            ax.scatter(group[cost], group["accuracy"], label=_legend(lines, key))
        if "accuracy_baseline" in table and table["accuracy_baseline"].notna().any():
            ax.axhline(table["accuracy_baseline"].mean(), linestyle="--", color="grey",
                       label="plaintext baseline (mean)")
        ax.set_xlabel(COSTS[cost])
        ax.set_ylabel(f"{metric} on held-out data")
        ax.grid(True, alpha=0.3)
        ax.tick_params(axis="x", labelrotation=30)
        if _wide(table[cost], LOG_RATIO_X):
            ax.set_xscale("log")
    axes[-1].legend(fontsize="small")
    fig.suptitle("accuracy against cost")
    return fig


def rounds_figure(curves: list[tuple[str, list[float]]]) -> Figure:
    fig = Figure(figsize=(6, 4.2), layout="constrained")
    ax = fig.subplots()
    for label, values in curves:
        ax.plot(range(1, len(values) + 1), values, marker=".", label=label)
    ax.set_xlabel("training round (count)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("accuracy on held-out data (fraction)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.suptitle("accuracy per round")
    return fig


def param_label(name: str) -> str:
    unit = PARAM_UNITS.get(name.split(".")[-1])
    return f"{name} ({unit})" if unit else name


def _line_keys(table: pd.DataFrame, others: list[str]) -> tuple[list[str], list[str]]:
    """The parameters that split lines (as many as fit MAX_LINES) and those averaged over.

    Protocol and topology come first: they are what a reader compares.
    """
    ordered = sorted(others, key=lambda n: not n.startswith(("protocol", "topology")))
    keys: list[str] = []
    for name in ordered:
        if table.groupby([*keys, name], dropna=False).ngroups > MAX_LINES:
            break
        keys.append(name)
    return keys, ordered[len(keys):]


def _legend(keys: list[str], key: Any) -> str:
    values = key if isinstance(key, tuple) else (key,)
    if len(keys) == 1:
        return str(values[0])
    return ", ".join(f"{k.split('.')[-1]}={v}" for k, v in zip(keys, values, strict=False))


def _wide(column: pd.Series, ratio: float) -> bool:
    values = pd.to_numeric(column, errors="coerce").dropna()
    return bool(len(values)) and values.min() > 0 and values.max() / values.min() >= ratio


def _round_curves(folder: Path, ok: pd.DataFrame,
                  varied: list[str]) -> list[tuple[str, list[float]]]:
    curves = []
    for _, row in ok[ok["repetition"] == 0].iterrows():
        rep = json.loads((folder / "points" / row["point"] / "report.json").read_text())
        values = rep.get("accuracy_per_round")
        if isinstance(values, list) and values:
            label = ", ".join(f"{n.split('.')[-1]}={row[n]}" for n in varied) or row["point"]
            curves.append((label, [float(v) for v in values]))
        if len(curves) == MAX_LINES:
            break
    return curves


def _sweep_markdown(spec: dict[str, Any], table: pd.DataFrame, varied: list[str],
                    figures: list[Path], dest: Path) -> str:
    counts = table["status"].value_counts().to_dict()
    title = spec["base"].get("name") or Path(spec["source"]).stem or "sweep"
    lines = [f"# Sweep {title}", "",
             f"Source: `{spec['source']}`. {table['index'].nunique()} points x "
             f"{spec['repetitions']} repetition(s) = {len(table)} runs: "
             + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + ".", ""]
    for path in figures:
        lines += [f"![{path.stem}]({path.relative_to(dest).as_posix()})", ""]
    figures_cols = ["rounds", "bytes", "messages", "sim_time_s"]
    if "accuracy" in table and table["accuracy"].notna().any():
        figures_cols.append("accuracy")
    ok = table[table["status"] == "ok"]
    if not ok.empty:
        keys = varied or ["index"]
        means = ok.groupby(keys, sort=False, dropna=False)[figures_cols].mean().reset_index()
        lines += ["## Mean over repetitions", "", *_md_table(means), ""]
    bad = table[table["status"] != "ok"]
    if not bad.empty:
        lines += ["## Points that did not finish", ""]
        shown = bad[["point", *varied, "status", "error"]]
        lines += [*_md_table(shown), ""]
    return "\n".join(lines)


def _md_table(frame: pd.DataFrame) -> list[str]:
    head = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in frame.itertuples(False)]
    return [head, rule, *body]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=110)
    return path


# ---------------------------------------------------------------- single runs


def _single_report(rep: dict[str, Any], dest: Path) -> list[Path]:
    phases = pd.DataFrame(rep["phases"])
    figures = [_save(phases_figure(phases), dest / "phases.png")] if not phases.empty else []
    curve = rep.get("accuracy_per_round")
    if isinstance(curve, list) and curve:
        figures.append(_save(rounds_figure([("run", [float(v) for v in curve])]),
                             dest / "accuracy_per_round.png"))
    sc, totals = rep["scenario"], rep["totals"]
    lines = [f"# {sc.get('name') or sc['protocol']['name']}: {sc['protocol']['name']} on "
             f"{sc['topology']['kind']}", "",
             f"{len(rep['parties'])} parties; {totals['rounds']} rounds, {totals['messages']} "
             f"messages, {totals['bytes']} bytes, {totals['sim_time_s']:.6g} s simulated "
             f"({rep['wall_time_s']:.3g} s wall).", ""]
    if rep.get("trust"):
        lines += [f"Trusts: {rep['trust']}.", ""]
    if isinstance(rep.get("accuracy"), dict):
        acc = rep["accuracy"]
        lines += [f"Accuracy: {acc.get('metric')} = {_fmt(acc.get('value'))} "
                  f"(plaintext baseline {_fmt(acc.get('baseline'))}).", ""]
    for path in figures:
        lines += [f"![{path.stem}]({path.relative_to(dest).as_posix()})", ""]
    if not phases.empty:
        lines += ["## Phases", "", *_md_table(phases), ""]
    summary = dest / "summary.md"
    summary.write_text("\n".join(lines))
    return [summary, *figures]


def phases_figure(phases: pd.DataFrame) -> Figure:
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    axes = fig.subplots(1, 2)
    names = [f"{n} (offline)" if off else n for n, off in zip(phases["name"], phases["offline"],
                                                              strict=True)]
    for ax, (col, label) in zip(axes, (("bytes", "bytes sent (B)"),
                                       ("sim_time_s", "simulated time (s)")), strict=True):
        ax.barh(names, phases[col])
        ax.set_xlabel(label)
        ax.invert_yaxis()
        ax.grid(True, axis="x", alpha=0.3)
    axes[0].set_ylabel("phase")
    fig.suptitle("cost per phase")
    return fig
