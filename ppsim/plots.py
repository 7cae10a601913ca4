"""Figures, a Markdown summary and an HTML page of a sweep or a single run (``ppsim report``).

A sweep folder gives one figure per swept parameter (bytes, rounds and
simulated time against it, one series per combination of the other swept
parameters), with a ``[sweep.reference]`` each compared metric over the
reference's against each numeric swept parameter (a speedup, a relative error),
accuracy against cost when the protocol reports accuracy, and accuracy per
round when it reports that. A single report gives its cost per
phase, the phases rolled up by name (`fit_phases`) so that a run of a hundred
phases still reads. Both write ``summary.md`` (linking the PNG files) and
``report.html`` (the same tables and figures in one self-contained page).

Figures are meant for papers: each series has its own colour, marker and line
style, so series stay apart in grey print and where they overlap; bytes and
times are drawn in human units (MB, ms) chosen per axis; repetitions give a
band of one standard deviation around the mean; an axis whose values span
two decades or more is logarithmic. Figures are built on
`matplotlib.figure.Figure`, never pyplot, so no GUI backend or global state is
involved and worker processes may call this too.
"""

from __future__ import annotations

import base64
import html
import json
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullFormatter

from ppsim import sweep as sweep_mod
from ppsim.report import clock as report_clock
from ppsim.report import merge_phases
from ppsim.units import byte_unit, time_unit

COSTS = {
    "bytes": "bytes sent by the parties",
    "link_bytes": "bytes carried by links, relays included",
    "rounds": "communication rounds",
    "sim_time_s": "simulated time",
}
PARAM_UNITS = {
    "bandwidth": "bytes/s", "latency": "s", "inner_bandwidth": "bytes/s",
    "outer_bandwidth": "bytes/s", "inner_latency": "s", "outer_latency": "s",
    "parties": "count", "players": "count", "clients": "count", "workers": "count",
    "owners": "count", "groups": "count", "vector_length": "elements", "header_bytes": "B",
    "seconds": "s", "at": "s", "threshold": "shares",
}
MAX_LINES = 12
MAX_PHASES = 12
LOG_RATIO_X, LOG_RATIO_Y = 10.0, 100.0
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
          "#F0E442")
"""Okabe and Ito's palette, distinct for colour-blind readers."""
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")
LINESTYLES = ("-", "--", "-.", ":")
HATCHES = ("", "//", "..", "xx", "\\\\", "++", "oo", "--")


@dataclass(frozen=True)
class Style:
    """How one series is drawn. Consecutive series differ in colour, marker and line
    style, and no two of the first 24 look alike; earlier series have larger markers
    and every other one is hollow, so points that coincide stay visible."""

    color: str
    marker: str
    linestyle: str
    hatch: str
    size: float
    hollow: bool

    def line(self) -> dict[str, Any]:
        """Keyword arguments of `Axes.plot` for this style."""
        return {"color": self.color, "marker": self.marker, "linestyle": self.linestyle,
                "markersize": self.size, "linewidth": 1.6,
                "markerfacecolor": "none" if self.hollow else self.color,
                "markeredgewidth": 1.6 if self.hollow else 1.0}


def style(i: int) -> Style:
    """The style of the `i`-th series."""
    return Style(COLORS[i % len(COLORS)], MARKERS[i % len(MARKERS)],
                 LINESTYLES[i % len(LINESTYLES)], HATCHES[i % len(HATCHES)],
                 size=max(9.0 - 1.0 * i, 4.0), hollow=i % 2 == 1)


def report(path: str | Path, out: str | Path | None = None) -> list[Path]:
    """Summarize a sweep folder or a single report (a report.json or its folder).

    Writes ``summary.md``, ``report.html`` and PNG figures into `out` (default:
    the folder of `path`); returns the paths written, the summary first.
    """
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    dest = Path(out) if out else folder
    dest.mkdir(parents=True, exist_ok=True)
    if path.is_dir() and (path / "sweep.json").exists():
        blocks, figures = _sweep_report(path, dest)
    else:
        file = path / "report.json" if path.is_dir() else path
        blocks, figures = _single_report(json.loads(file.read_text()), dest)
    summary, page = dest / "summary.md", dest / "report.html"
    summary.write_text(markdown(blocks, dest))
    page.write_text(html_page(blocks))
    return [summary, page, *figures]


# ---------------------------------------------------------------- documents

Block = tuple[str, Any]
"""A piece of a document: ("h1" | "h2" | "p", text), ("figure", Path) or ("table", DataFrame)."""


def markdown(blocks: list[Block], dest: Path) -> str:
    """The blocks as Markdown, figures linked relative to `dest`."""
    lines: list[str] = []
    for kind, value in blocks:
        if kind == "h1":
            lines += [f"# {value}", ""]
        elif kind == "h2":
            lines += [f"## {value}", ""]
        elif kind == "p":
            lines += [value, ""]
        elif kind == "figure":
            lines += [f"![{value.stem}]({value.relative_to(dest).as_posix()})", ""]
        else:
            lines += [*_md_table(value), ""]
    return "\n".join(lines)


def html_page(blocks: list[Block]) -> str:
    """One self-contained page: the figures are inlined, so it can be mailed or archived."""
    title = next((v for k, v in blocks if k == "h1"), "ppsim report")
    body: list[str] = []
    for kind, value in blocks:
        if kind in ("h1", "h2"):
            body.append(f"<{kind}>{html.escape(value)}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{_inline_code(html.escape(value))}</p>")
        elif kind == "figure":
            data = base64.b64encode(value.read_bytes()).decode()
            body.append(f'<figure><img alt="{html.escape(value.stem)}" '
                        f'src="data:image/png;base64,{data}"><figcaption>'
                        f"{html.escape(value.name)}</figcaption></figure>")
        else:
            body.append(_html_table(value))
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>", f"<style>{CSS}</style></head><body>",
        *body, "</body></html>", ""])


CSS = ("body{font-family:system-ui,sans-serif;max-width:72em;margin:2em auto;padding:0 1em;"
       "color:#222}table{border-collapse:collapse;margin:1em 0;font-size:90%}"
       "th,td{border:1px solid #ccc;padding:.25em .6em}td.n{text-align:right;"
       "font-variant-numeric:tabular-nums}th{background:#f3f3f3}"
       "img{max-width:100%}figure{margin:1.5em 0}code{background:#f3f3f3;padding:0 .2em}")


def _inline_code(text: str) -> str:
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def _html_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.itertuples(index=False):
        cells = "".join(
            f'<td{" class=n" if isinstance(v, int | float) else ""}>{html.escape(_fmt(v))}</td>'
            for v in row)
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _md_table(frame: pd.DataFrame) -> list[str]:
    head = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(_fmt(v).replace("|", "\\|") for v in row) + " |"
            for row in frame.itertuples(False)]
    return [head, rule, *body]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).replace("\n", " ")


# ---------------------------------------------------------------- sweeps


def _sweep_report(folder: Path, dest: Path) -> tuple[list[Block], list[Path]]:
    spec = sweep_mod.load_spec(folder)
    table = sweep_mod.load_table(folder)
    if "is_reference" in table:  # references are the unit of the relative figures
        table = table[~table["is_reference"].astype(bool)]
    ok = table[table["status"] == "ok"]
    varied = [n for n in spec["names"] if table[n].nunique() > 1]
    figures: list[Path] = []
    if not ok.empty:
        for name in varied:
            figures.append(_save(cost_figure(ok, name, [n for n in varied if n != name]),
                                 dest / f"cost_vs_{_slug(name)}.png"))
        for metric in spec.get("metrics", []):
            for name in varied:
                if pd.api.types.is_numeric_dtype(ok[name]):
                    fig = relative_figure(ok, name, [n for n in varied if n != name], metric)
                    path = dest / f"{_slug(metric)}_vs_ref_by_{_slug(name)}.png"
                    figures.append(_save(fig, path))
        if "accuracy" in ok and ok["accuracy"].notna().any():
            figures.append(_save(accuracy_cost_figure(ok, varied), dest / "accuracy_vs_cost.png"))
        curves = _round_curves(folder, ok, varied)
        if curves:
            figures.append(_save(rounds_figure(curves), dest / "accuracy_per_round.png"))
    return _sweep_blocks(spec, table, varied, figures), figures


def _series(table: pd.DataFrame, others: list[str]) -> tuple[list[str], list[str], list]:
    """The parameters that split series, those averaged over, and the groups."""
    lines, averaged = _line_keys(table, others)
    groups = list(table.groupby(lines, sort=False, dropna=False)) if lines else [("all", table)]
    return lines, averaged, groups


def cost_figure(table: pd.DataFrame, x: str, others: list[str]) -> Figure:
    """Each cost against `x`, one series per group of `others`: lines with a band of one
    standard deviation where runs repeat, or grouped bars with error bars when `x` is
    not a number."""
    lines, averaged, groups = _series(table, others)
    fig = Figure(figsize=(11, 8.5), layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    numeric = pd.api.types.is_numeric_dtype(table[x])
    spread = False
    for ax, (cost, what) in zip(axes, COSTS.items(), strict=True):
        unit, scale = _unit_of(cost, table[cost])
        for i, (key, group) in enumerate(groups):
            stats = group.groupby(x, sort=numeric)[cost].agg(["mean", "std", "count"])
            mean, sd = stats["mean"] / scale, stats["std"].fillna(0) / scale
            spread |= bool((stats["count"] > 1).any() and (sd > 0).any())
            look = style(i)
            if numeric:
                _line_with_band(ax, mean, sd, _legend(lines, key), look)
            else:
                width = 0.8 / len(groups)
                spots = [list(table[x].unique()).index(v) + (i - (len(groups) - 1) / 2) * width
                         for v in stats.index]
                ax.bar(spots, mean.to_numpy(), width=width, color=look.color, hatch=look.hatch,
                       edgecolor="white", yerr=sd.to_numpy() if (sd > 0).any() else None,
                       capsize=3, label=_legend(lines, key))
        _x_axis(ax, table[x], numeric)
        ax.set_xlabel(param_label(x))
        ax.set_ylabel(f"{what} ({unit})")
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
    notes = [f"mean over {', '.join(averaged)}"] if averaged else []
    if spread:
        notes.append(f"{'band' if numeric else 'error bars'}: ± one standard deviation")
    fig.suptitle(f"cost against {x}" + (f" ({'; '.join(notes)})" if notes else ""))
    return fig


def _line_with_band(ax: Any, mean: pd.Series, sd: pd.Series, label: str, look: Any) -> None:
    """A series' means against the index, with a band of one standard deviation where
    repeated runs spread."""
    ax.plot(mean.index, mean.to_numpy(), label=label, **look.line())
    if (sd > 0).any():
        ax.fill_between(mean.index, (mean - sd).to_numpy(), (mean + sd).to_numpy(),
                        color=look.color, alpha=0.18, linewidth=0)


def relative_figure(table: pd.DataFrame, x: str, others: list[str], metric: str) -> Figure:
    """`metric` over the reference's (``[sweep.reference]``) against `x`, one series per
    group of `others`, with a band of one standard deviation where runs repeat."""
    lines, averaged, groups = _series(table, others)
    column = f"{metric}_vs_ref"
    fig = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = fig.subplots()
    for i, (key, group) in enumerate(groups):
        stats = group.groupby(x)[column].agg(["mean", "std"])
        _line_with_band(ax, stats["mean"], stats["std"].fillna(0), _legend(lines, key),
                        style(i))
    _x_axis(ax, table[x], numeric=True)
    ax.set_xlabel(param_label(x))
    ax.set_ylabel(f"{metric} / the reference's (ratio)")
    ax.grid(True, alpha=0.3)
    if lines:
        ax.legend(fontsize="small", title=", ".join(lines))
    note = f" (mean over {', '.join(averaged)})" if averaged else ""
    fig.suptitle(f"{metric} relative to the reference{note}", fontsize="medium")
    return fig


def _unit_of(cost: str, column: pd.Series) -> tuple[str, float]:
    """The axis unit of a cost column and the divisor that puts its values in it."""
    largest = float(pd.to_numeric(column, errors="coerce").abs().max() or 0)
    if "bytes" in cost:
        return byte_unit(largest)
    if cost.endswith("_s"):
        return time_unit(largest)
    return "count", 1.0


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
    lines, _, groups = _series(table, varied)
    metric = table["accuracy_metric"].dropna().iloc[0] if "accuracy_metric" in table else "value"
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, cost in zip(axes, ("bytes", "sim_time_s"), strict=True):
        unit, scale = _unit_of(cost, table[cost])
        for i, (key, group) in enumerate(groups):
            look = style(i)
            ax.scatter(group[cost] / scale, group["accuracy"], marker=look.marker,
                       s=look.size ** 2, facecolors="none" if look.hollow else look.color,
                       edgecolors=look.color, label=_legend(lines, key))
        if "accuracy_baseline" in table and table["accuracy_baseline"].notna().any():
            ax.axhline(table["accuracy_baseline"].mean(), linestyle="--", color="grey",
                       label="plaintext baseline (mean)")
        ax.set_xlabel(f"{COSTS[cost]} ({unit})")
        ax.set_ylabel(f"{metric} on held-out data")
        ax.grid(True, alpha=0.3)
        if _wide(table[cost], LOG_RATIO_X):
            ax.set_xscale("log")
    axes[-1].legend(fontsize="small")
    fig.suptitle("accuracy against cost")
    return fig


def rounds_figure(curves: list[tuple[str, list[float]]]) -> Figure:
    """Accuracy after each training round, one line per (label, values) curve."""
    fig = Figure(figsize=(6, 4.2), layout="constrained")
    ax = fig.subplots()
    for i, (label, values) in enumerate(curves):
        ax.plot(range(1, len(values) + 1), values, label=label,
                **{**style(i).line(), "markersize": 4, "markeredgewidth": 1.0})
    ax.set_xlabel("training round (count)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("accuracy on held-out data (fraction)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.suptitle("accuracy per round")
    return fig


def param_label(name: str) -> str:
    """An axis label for a swept parameter, with its unit when known."""
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


def _sweep_blocks(spec: dict[str, Any], table: pd.DataFrame, varied: list[str],
                  figures: list[Path]) -> list[Block]:
    counts = table["status"].value_counts().to_dict()
    title = spec["base"].get("name") or Path(spec["source"]).stem or "sweep"
    blocks: list[Block] = [
        ("h1", f"Sweep {title}"),
        ("p", f"Source: `{spec['source']}`. {table['index'].nunique()} points x "
              f"{spec['repetitions']} repetition(s) = {len(table)} runs: "
              + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + "."),
        *(("figure", path) for path in figures),
    ]
    columns = ["rounds", "bytes", "messages", "sim_time_s"]
    if "accuracy" in table and table["accuracy"].notna().any():
        columns.append("accuracy")
    columns += [f"{m}_vs_ref" for m in spec.get("metrics", [])]
    ok = table[table["status"] == "ok"]
    if not ok.empty:
        keys = varied or ["index"]
        means = ok.groupby(keys, sort=False, dropna=False)[columns].mean().reset_index()
        blocks += [("h2", "Mean over repetitions"), ("table", means)]
    bad = table[table["status"] != "ok"]
    if not bad.empty:
        blocks += [("h2", "Points that did not finish"),
                   ("table", bad[["point", *varied, "status", "error"]])]
    return blocks


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=110)
    return path


# ---------------------------------------------------------------- single runs

def fit_phases(phases: list[dict[str, Any]], limit: int = MAX_PHASES) -> list[dict[str, Any]]:
    """Phases summed under shorter names until at most `limit` rows remain (a figure's
    bars; the terminal's grouping by one part of the names is `ppsim.report.rollup`).

    A phase name is hierarchical (``tree3.level1``, ``secagg.masked_input``).
    Names are shortened step by step, stopping at the first step that leaves
    `limit` rows or fewer: the number in a name's first level is dropped
    (``tree3.level1`` and ``tree4.level1`` become ``tree*.level1``), then every
    number, then the deepest level is cut, and so on. If that still leaves too
    many, the phases with the fewest bytes are summed into one "other" row.
    Online and offline phases never merge. Bytes, messages, rounds and the
    times are summed (`ppsim.report.merge_phases`: a phase's time is its share
    of the critical path, so the sums still add up to the run's time).
    """
    depth = max((p["name"].count(".") + 1 for p in phases), default=1)
    steps = [lambda n: n, _first_level_numbers, _all_numbers,
             *(lambda n, d=d: ".".join(_all_numbers(n).split(".")[:d])
               for d in range(depth - 1, 0, -1))]
    for shorten in steps:
        rows = merge_phases(phases, shorten)
        if len(rows) <= limit:
            return rows
    rows.sort(key=lambda r: -r["bytes"])
    kept, rest = rows[:limit - 1], rows[limit - 1:]
    other = merge_phases([{**r, "offline": False} for r in rest], lambda _name: "other")[0]
    other["phases"] = sum(r["phases"] for r in rest)
    return [*kept, other]


def _first_level_numbers(name: str) -> str:
    head, dot, tail = name.partition(".")
    return re.sub(r"\d+", "*", head) + dot + tail


def _all_numbers(name: str) -> str:
    return re.sub(r"\d+", "*", name)


def _single_report(rep: dict[str, Any], dest: Path) -> tuple[list[Block], list[Path]]:
    phases = rep["phases"]
    clock = report_clock(rep)
    figures = [_save(phases_figure(phases, clock), dest / "phases.png")] if phases else []
    curve = rep.get("accuracy_per_round")
    if isinstance(curve, list) and curve:
        figures.append(_save(rounds_figure([("run", [float(v) for v in curve])]),
                             dest / "accuracy_per_round.png"))
    sc, totals = rep["scenario"], rep["totals"]
    blocks: list[Block] = [
        ("h1", f"{sc.get('name') or sc['protocol']['name']}: {sc['protocol']['name']} on "
               f"{sc['topology']['kind']}"),
        ("p", f"{len(rep['parties'])} parties; {totals['rounds']} rounds, "
              f"{totals['messages']} messages, {totals['bytes']} bytes, "
              f"{totals['sim_time_s']:.6g} s {clock} ({rep['wall_time_s']:.3g} s wall)."),
    ]
    timing = rep.get("timing")  # reports written before it lack it
    if timing and clock == "measured":
        blocks.append(("p", f"Phase times: {timing['phases']}. Modelled: {timing['modelled']}."))
    if rep.get("trust"):
        blocks.append(("p", f"Trusts: {rep['trust']}."))
    if isinstance(rep.get("accuracy"), dict):
        acc = rep["accuracy"]
        blocks.append(("p", f"Accuracy: {acc.get('metric')} = {_fmt(acc.get('value'))} "
                            f"(plaintext baseline {_fmt(acc.get('baseline'))})."))
    for key, reason in rep.get("absent", {}).items():
        blocks.append(("p", f"{key.capitalize()}: {reason}."))
    blocks += [("figure", path) for path in figures]
    if phases:
        blocks += [("h2", "Phases"), ("table", pd.DataFrame(phases))]
    return blocks, figures


def phases_figure(phases: list[dict[str, Any]], clock: str = "simulated") -> Figure:
    """Bytes and time (`clock`: simulated or measured) per phase, rolled up (`fit_phases`)
    to at most MAX_PHASES bars."""
    rows = fit_phases(phases)
    fig = Figure(figsize=(10, 1.2 + 0.38 * len(rows)), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    names = [_phase_label(r) for r in rows]
    for ax, col in zip(axes, ("bytes", "sim_time_s"), strict=True):
        values = [r[col] for r in rows]
        unit, scale = (byte_unit if col == "bytes" else time_unit)(max(values, default=0))
        ax.barh(names, [v / scale for v in values],
                color=[COLORS[1] if r["offline"] else COLORS[0] for r in rows])
        ax.set_xlabel(f"{'bytes sent' if col == 'bytes' else clock + ' time'} ({unit})")
        ax.grid(True, axis="x", alpha=0.3)
    axes[0].invert_yaxis()
    axes[0].set_ylabel("phase")
    notes = [f"{len(phases)} phases rolled up by name"] if len(rows) < len(phases) else []
    if any(r["offline"] for r in rows):
        notes.append("offline preprocessing in orange")
    fig.suptitle("cost per phase" + (f" ({'; '.join(notes)})" if notes else ""))
    return fig


def _phase_label(row: dict[str, Any]) -> str:
    name = row["name"]
    if row["offline"] and not name.startswith("offline"):
        name += " (offline)"
    return f"{name} ×{row['phases']}" if row["phases"] > 1 else name
