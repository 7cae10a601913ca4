"""The command line's sweep side: ``run``/``validate`` on sweep files, ``report``, ``compare``.

Kept apart from `ppsim.cli` so that the single-run path stays short, and imported
lazily (pandas, matplotlib and dask load only when a sweep needs them). Exit codes
follow `ppsim.cli`: 0 every point ran, 1 some point failed (recorded in its
folder, the others ran), 2 bad input (nothing ran).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from ppsim.console import make_console
from ppsim.limits import DEFAULT, Limits, count, seconds
from ppsim.scenario import ScenarioError

if TYPE_CHECKING:
    from ppsim.sweep import Sweep

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def load(path: str, data: dict[str, Any], limits: Limits = DEFAULT) -> Sweep:
    """Parse and check every point of a sweep file; raise `ScenarioError` on the first bad one."""
    from ppsim import sweep

    parsed = sweep.parse(data, path, limits)
    sweep.check(parsed)
    return parsed


def run(args: argparse.Namespace, data: dict[str, Any], console: Console,
        limits: Limits = DEFAULT) -> int:
    if args.runtime != "sim":
        raise ScenarioError(args.scenario, "--runtime", f"got {args.runtime!r}; sweeps run on "
                            "the simulated runtime only")
    from ppsim import sweep

    parsed = load(args.scenario, data, limits)
    out = Path(args.out) if args.out else Path("out") / Path(args.scenario).stem
    if args.format == "json":  # standard output carries the JSON alone
        console = make_console(stderr=True)
    try:
        result = sweep.run(parsed, out, jobs=args.jobs, cluster=args.cluster,
                           connect_timeout_s=args.connect_timeout,
                           console=make_console(stderr=True), progress=not args.quiet,
                           progress_every_s=args.progress_every, fresh=args.fresh)
    except sweep.ClusterError as exc:
        raise ScenarioError(args.scenario, "", str(exc)) from None
    runs = len(parsed.points)
    if args.format == "json":
        print(result.table.to_json(orient="records", indent=2))
    elif not args.quiet:
        print_table(parsed, result.table, console)
    console.print(f"{runs} runs ({result.ran} ran now, {result.skipped} were already done); "
                  f"table written to {out / 'results.csv'} and {out / 'results.parquet'}")
    for reason, many in sorted(result.reasons.items(), key=lambda kv: -kv[1]):
        if reason != "no report":
            console.print(f"  {many} ran because {escape(reason)}")
    if result.interrupted:
        console.print("[yellow]interrupted[/]: run the same command again to finish the sweep")
        return EXIT_FAILED
    if result.failed:
        errors = result.table.set_index("point")["error"]
        for name in result.failed:
            console.print(f"[red]failed[/] {name}: {escape(str(errors[name]))}")
        console.print(f"{len(result.failed)} of {runs} runs failed; see points/<name>/error.json")
        return EXIT_FAILED
    return EXIT_OK


SUMMARY_COLUMNS = (
    ("rounds", "rounds"), ("bytes", "bytes"), ("offline_bytes", "offline bytes"),
    ("sim_time_s", "sim time (s)"), ("accuracy", "accuracy"),
    ("accuracy_baseline", "baseline"),
)


def print_table(parsed: Sweep, table: Any, console: Console) -> None:
    """One row per run: the swept values, then costs and accuracy beside its baseline."""
    from rich.table import Table

    swept = [c for c in parsed.names if c in table.columns]
    shown = [(c, title) for c, title in SUMMARY_COLUMNS
             if c in table.columns and table[c].notna().any()]
    out = Table(title=f"sweep: {len(table)} runs")
    for column in swept:
        out.add_column(escape(column.rsplit(".", 1)[-1]), overflow="fold")
    for _, title in shown:
        out.add_column(title, justify="right", overflow="fold")  # never "42,1…"
    if "status" in table.columns:
        out.add_column("status")
    for _, row in table.iterrows():
        cells = [escape(str(row[c])) for c in swept]
        for column, _ in shown:
            value = row[column]
            cells.append("" if value != value else (  # NaN: not reported by this run
                f"{value:.4g}" if isinstance(value, float) else f"{value:,}"))
        if "status" in table.columns:
            cells.append(str(row["status"]))
        out.add_row(*cells)
    console.print(out)


def validate(path: str, data: dict[str, Any], console: Console, limits: Limits = DEFAULT,
             quiet: bool = False) -> dict[str, Any]:
    """Check a sweep file; print one line unless `quiet`; return what was found."""
    parsed = load(path, data, limits)
    refs = sum(p.is_reference for p in parsed.points) // parsed.repetitions
    points = len(parsed.points) // parsed.repetitions - refs
    also = f" and {refs} reference point(s)" if refs else ""
    if not quiet:
        console.print(f"{path}: ok (sweep of {points} points{also} x {parsed.repetitions} "
                      f"repetition(s) over {', '.join(parsed.names)})")
    return {"path": path, "ok": True, "sweep": {"points": points, "references": refs,
                                                "repetitions": parsed.repetitions,
                                                "parameters": parsed.names}}


def report(args: argparse.Namespace, console: Console) -> int:
    from ppsim import plots

    path = Path(args.path)
    if not (path / "sweep.json").exists() and not (path / "report.json").exists() \
            and not path.is_file():
        raise ScenarioError(str(path), "", "expected a sweep folder, a report.json or its folder")
    try:
        written = plots.report(path, args.out)
    except (OSError, ValueError, KeyError) as exc:
        raise ScenarioError(str(path), "", f"cannot read the results: {exc}") from None
    for file in written:
        console.print(f"wrote {file}")
    return EXIT_OK


def compare(args: argparse.Namespace, console: Console) -> int:
    """Exit 0 when no limit is exceeded, 1 when one is, 2 when the inputs are bad or
    should not be compared (unless --force)."""
    import json

    from ppsim import compare as compare_mod

    for path in (args.a, args.b):
        target = Path(path) / "report.json" if Path(path).is_dir() else Path(path)
        if not target.is_file() and not compare_mod.is_sweep(path):
            raise ScenarioError(str(path), "", "expected a report.json, the folder holding one, "
                                "or a sweep's output folder")
        if target.is_file():
            _check_report(target)
    try:
        limits = compare_mod.parse_limits(args.max_increase or [])
        result = compare_mod.compare(args.a, args.b, limits, force=args.force)
    except compare_mod.Refused as exc:
        raise ScenarioError("", "", f"not compared: {exc}") from None
    except (OSError, ValueError, KeyError) as exc:
        raise ScenarioError("", "", f"cannot compare: {exc}") from None
    if args.format == "json":
        print(json.dumps(result.as_json(), indent=2))
    else:
        compare_mod.print_comparison(result, console)
    return EXIT_OK if result.ok else EXIT_FAILED


def _check_report(path: Path) -> None:
    """Refuse a file that is not a JSON report, naming it and what is wrong."""
    import json

    try:
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise ScenarioError(str(path), "", f"cannot read the file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ScenarioError(str(path), "", "not a report: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ScenarioError(str(path), "", f"not a report: not JSON ({exc.msg} at line "
                            f"{exc.lineno}, column {exc.colno})") from None
    if not isinstance(data, dict) or not {"scenario", "totals"} <= set(data):
        got = type(data).__name__ if not isinstance(data, dict) else f"keys {sorted(data)[:6]}"
        raise ScenarioError(str(path), "", f"not a report: got a JSON {got}; expected a ppsim "
                            "report (with 'scenario' and 'totals')")


def add_sweep_limit(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--max-points", type=count, metavar="N",
                     help=f"sweeps: most runs (points x repetitions) a sweep may expand to "
                          f"(default {DEFAULT.max_points:,})")


def add_run_options(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--jobs", type=count, help="sweeps: worker processes on this machine "
                     "(default: one per CPU)")
    cmd.add_argument("--cluster", metavar="ADDRESS", help="sweeps: run the points on the Dask "
                     "scheduler at ADDRESS, e.g. tcp://host:8786")
    cmd.add_argument("--connect-timeout", type=seconds, default=5.0,
                     help="sweeps: seconds to wait for the Dask scheduler (default 5)")
    add_sweep_limit(cmd)
    cmd.add_argument("--fresh", action="store_true",
                     help="sweeps: recompute every point, even those whose reports are current")


def add_commands(sub: Any) -> None:  # argparse's private _SubParsersAction
    rep = sub.add_parser("report", help="write a Markdown summary and PNG plots of a sweep "
                         "folder or a single report")
    rep.add_argument("path", help="a sweep's output folder, a report.json, or its folder")
    rep.add_argument("--out", help="where to write (default: the folder given)")
    rep.set_defaults(func=report)
    cmp = sub.add_parser("compare", help="what changed between two reports or two sweeps, "
                         "with ratios; exit 1 when a cost exceeds a limit")
    cmp.add_argument("a", help="A: a report.json, its folder, or a sweep's output folder")
    cmp.add_argument("b", help="B, the same kind as A")
    cmp.add_argument("--max-increase", action="append", metavar="METRIC=LIMIT,...",
                     help="exit 1 if B exceeds A by more than LIMIT, an amount or a percentage "
                          "of A: e.g. bytes=1%%,rounds=0 (metrics: bytes, rounds, messages, "
                          "sim_time_s, offline_bytes, ... or a report key)")
    cmp.add_argument("--force", action="store_true",
                     help="compare even reports of different runtimes, schema versions or "
                          "(under limits) scenarios")
    cmp.add_argument("--format", choices=("table", "json"), default="table",
                     help="table (default) or JSON on standard output")
    cmp.set_defaults(func=compare)
