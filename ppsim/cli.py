"""The command line: ``ppsim run``, ``validate``, ``list``, ``new``, ``report``,
``compare``, ``examples``, ``party``.

Exit codes: 0 success; 1 the run failed (a party raised, a deadlock) or, for
``compare``, a cost exceeded its limit; 2 bad input (a malformed scenario, a
missing file, an optional dependency not installed): one clear message, no
traceback. A scenario that works but should change (an old parameter name)
prints a ``warning:`` line.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

import topologies
from ppsim import catalog, cli_sweep, describe, examples, extras, report
from ppsim.console import make_console
from ppsim.progress import RunProgress
from ppsim.scaffold import ScaffoldError, new_protocol
from ppsim.scenario import ScenarioError, ScenarioWarning, load, read
from sim import SimulationError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _run(args: argparse.Namespace, console: Console) -> int:
    data = read(args.scenario)
    if "sweep" in data:
        return cli_sweep.run(args, data, console)
    out = Path(args.out) if args.out else Path("out") / Path(args.scenario).stem
    watch = RunProgress(make_console(stderr=True), Path(args.scenario).stem,
                        enabled=not args.quiet, every_s=args.progress_every)
    with watch:
        watch.stage("loading the scenario")
        scenario = load(args.scenario)
        if args.runtime == "tcp":
            from ppsim.run import run_scenario_tcp

            watch.stage("running over TCP")
            hosts = args.hosts.split(",") if args.hosts else None
            rep = _bad_input(args.scenario, lambda: run_scenario_tcp(
                scenario, timeout_s=args.timeout, hosts=hosts))
        else:
            from ppsim.run import run_scenario

            watch.stage("simulating")
            rep = run_scenario(scenario, progress=watch.update, progress_every_s=watch.interval)
    path = report.write(rep, out)
    if not args.quiet:
        report.print_table(rep, console)
    console.print(f"report written to {path}")
    return EXIT_OK


def _party(args: argparse.Namespace, console: Console) -> int:
    from ppsim.run import run_scenario_party

    scenario = load(args.scenario)
    out = Path(args.out) if args.out else Path("out") / f"{Path(args.scenario).stem}-party{args.id}"
    rep = _bad_input(args.scenario, lambda: run_scenario_party(
        scenario, args.id, args.hosts.split(","), timeout_s=args.timeout))
    path = report.write(rep, out)
    console.print(f"party {args.id}: report written to {path}")
    return EXIT_OK


def _bad_input(source: str, thunk):  # noqa: ANN001, ANN202 - a local adapter
    """Run `thunk`; a ValueError from the runtime (bad hosts, faults it cannot model) is input."""
    try:
        return thunk()
    except SimulationError:
        raise
    except ValueError as exc:
        raise ScenarioError(source, "", str(exc)) from None


def _validate(args: argparse.Namespace, console: Console) -> int:
    for path in args.scenarios:
        data = read(path)
        if "sweep" in data:
            cli_sweep.validate(path, data, console)
            continue
        scenario = load(path)
        console.print(f"{path}: ok ({scenario.spec.name}, {scenario.plan.n_parties} parties, "
                      f"{scenario.model.topology.kind} topology)")
    return EXIT_OK


def _list(args: argparse.Namespace, console: Console) -> int:
    if args.params:
        return _params(args.params, console)
    protocols = Table(title="protocols")
    protocols.add_column("name", style="bold")
    protocols.add_column("what it does")
    for name, spec in catalog.known().items():
        protocols.add_row(name, escape(spec.summary))
    console.print(protocols)
    kinds = Table(title="topologies")
    kinds.add_column("kind", style="bold")
    kinds.add_column("what it builds")
    for name, text in topologies.KINDS.items():
        kinds.add_row(name, escape(text))
    console.print(kinds)
    return EXIT_OK


def _params(name: str, console: Console) -> int:
    """The parameters of protocol `name` (registered, or ``module:attr`` from here)."""
    try:
        spec = catalog.find(name, Path.cwd())
    except catalog.UnknownProtocol as exc:
        raise ScenarioError("", "", str(exc)) from None
    table = Table(title=f"{escape(spec.name)}: {escape(spec.summary)}", title_justify="left")
    for column in ("parameter", "type", "default", "description"):
        table.add_column(column, style="bold" if column == "parameter" else None,
                         overflow="fold")
    for row in describe.parameters(spec):
        table.add_row(*(escape(row[k]) for k in ("name", "type", "default", "description")))
    table.caption = escape(f'a scenario\'s [protocol] table: name = "{name}" and these keys')
    console.print(table)
    return EXIT_OK


def _new(args: argparse.Namespace, console: Console) -> int:
    folder = Path(args.dir) if args.dir else Path(args.name)
    try:
        written = new_protocol(args.name, folder)
    except ScaffoldError as exc:
        raise ScenarioError("", "", str(exc)) from None
    for path in written:
        console.print(f"wrote {path}")
    console.print(f"next: cd {folder} && ppsim run {args.name}.toml && pytest "
                  "(see docs/writing-a-protocol.md)", highlight=False)
    return EXIT_OK


def _examples(args: argparse.Namespace, console: Console) -> int:
    try:
        written = examples.copy(args.dir, force=args.force)
    except FileExistsError as exc:
        raise ScenarioError(args.dir, "", str(exc)) from None
    total = len(examples.shipped())
    console.print(f"{len(written)} of {total} example scenarios written to {args.dir}"
                  + (f" ({total - len(written)} were already there)" if len(written) < total
                     else ""))
    console.print(f"try: ppsim run {Path(args.dir) / 'quickstart.toml'}")
    return EXIT_OK


def _tcp_options(cmd: argparse.ArgumentParser, hosts_required: bool = False) -> None:
    cmd.add_argument("--hosts", required=hosts_required,
                     help="tcp: host:port of every party, comma-separated, in id order "
                          "(default: free loopback ports)")
    cmd.add_argument("--timeout", type=float, default=10.0,
                     help="tcp: seconds to wait for a peer before failing (default 10)")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="ppsim",
        description="Simulate privacy-preserving ML protocols and report what they cost.",
    )
    ap.add_argument("--version", action="version", version=f"ppsim {report.package_version()}")
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario; print its costs and write report.json")
    run.add_argument("scenario", help="a scenario file (TOML)")
    run.add_argument("--out", help="output folder (default: out/<scenario name>)")
    run.add_argument("--quiet", action="store_true",
                     help="print no progress and no tables, only where the report went")
    run.add_argument("--progress-every", type=float, default=5.0, metavar="SECONDS",
                     help="when the output is not a terminal, print a progress line every "
                          "SECONDS of wall time (default 5)")
    run.add_argument("--runtime", choices=("sim", "tcp"), default="sim",
                     help="sim: simulated network (default); tcp: real sockets on this machine")
    _tcp_options(run)
    cli_sweep.add_run_options(run)
    run.set_defaults(func=_run)
    party = sub.add_parser("party", help="run one party of a scenario over TCP (one process each)")
    party.add_argument("scenario", help="a scenario file (TOML)")
    party.add_argument("--id", type=int, required=True, help="this process's party id")
    party.add_argument("--out", help="output folder (default: out/<scenario>-party<id>)")
    _tcp_options(party, hosts_required=True)
    party.set_defaults(func=_party)
    val = sub.add_parser("validate", help="check scenario files without running them")
    val.add_argument("scenarios", nargs="+", help="scenario files (TOML)")
    val.set_defaults(func=_validate)
    lst = sub.add_parser("list", help="list the protocols and topologies, or one protocol's "
                         "parameters")
    lst.add_argument("--params", metavar="NAME", help="the parameters of protocol NAME "
                     "(a registered name or package.module:attr): type, default, description")
    lst.set_defaults(func=_list)
    new = sub.add_parser("new", help="write a new protocol's folder: module, scenario, "
                         "sweep, tests, pyproject (a secure dot product to start from)")
    new.add_argument("what", choices=["protocol"], help="what to create")
    new.add_argument("name", help="the protocol's name, a Python module name")
    new.add_argument("dir", nargs="?", help="where to write (default: ./NAME)")
    new.set_defaults(func=_new)
    exa = sub.add_parser("examples", help="copy the shipped example scenarios into a folder")
    exa.add_argument("dir", nargs="?", default="scenarios",
                     help="where to copy them (default: ./scenarios)")
    exa.add_argument("--force", action="store_true", help="overwrite files that differ")
    exa.set_defaults(func=_examples)
    cli_sweep.add_commands(sub)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console = make_console()
    err = make_console(stderr=True)  # an error is one line, however narrow the terminal
    shown = warnings.showwarning

    def show(message, category, *rest, **kw):  # noqa: ANN001, ANN202 - warnings' hook
        if issubclass(category, ScenarioWarning):
            err.print(f"[bold yellow]warning:[/] {escape(str(message))}", highlight=False)
        else:
            shown(message, category, *rest, **kw)

    try:
        warnings.showwarning = show
        return args.func(args, console)
    except ScenarioError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        return EXIT_BAD_INPUT
    except SimulationError as exc:
        err.print(f"[bold red]run failed:[/] {escape(str(exc))}", highlight=False)
        return EXIT_FAILED
    except ImportError as exc:
        message = extras.explain(exc)
        if message is None:
            raise
        err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
        return EXIT_BAD_INPUT
    finally:
        warnings.showwarning = shown


if __name__ == "__main__":
    sys.exit(main())
