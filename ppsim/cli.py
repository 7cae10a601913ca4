"""The command line: ``ppsim run``, ``validate``, ``list``, ``new``, ``report``,
``compare``, ``examples``, ``party``, ``key``, ``calibrate``.

Exit codes: 0 success; 1 the run failed (a party raised, a deadlock, a result
that was not produced because its party crashed) or, for ``compare``, a cost
exceeded its limit; 2 bad input (a malformed scenario, a missing file, a bad
option, an optional dependency not installed): one clear message, no traceback.

Output: tables on a terminal, plain unwrapped text anywhere else
(`ppsim.console`); ``--format json`` prints JSON on standard output instead
(messages go to standard error).

A scenario that works but should change (an old parameter name) prints a
``warning:`` line on standard error.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

import topologies
from ppsim import catalog, cli_sweep, describe, examples, extras, report
from ppsim.console import make_console
from ppsim.limits import Limits, byte_size, interval, seconds
from ppsim.progress import RunProgress
from ppsim.scaffold import ScaffoldError, new_protocol
from ppsim.scenario import Scenario, ScenarioError, ScenarioWarning, load, read
from sim import SimulationError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def limits_of(args: argparse.Namespace) -> Limits:
    """The input limits the command line sets (see `ppsim.limits.Limits`)."""
    options: dict[str, Any] = {"outside_paths": getattr(args, "allow_outside_paths", False)}
    if getattr(args, "max_points", None) is not None:
        options["max_points"] = args.max_points
    if getattr(args, "memory_limit", None) is not None:
        options["memory_bytes"] = args.memory_limit
    return Limits(**options)


def _run(args: argparse.Namespace, console: Console) -> int:
    lim = limits_of(args)
    data = read(args.scenario, lim)
    if "sweep" in data:
        return cli_sweep.run(args, data, console, lim)
    out = Path(args.out) if args.out else Path("out") / Path(args.scenario).stem
    watch = RunProgress(make_console(stderr=True), Path(args.scenario).stem,
                        enabled=not args.quiet, every_s=args.progress_every)
    with watch:
        watch.stage("loading the scenario")
        scenario = load(args.scenario, lim)
        if args.runtime == "tcp":
            from ppsim.run import run_scenario_tcp

            watch.stage("running over TCP")
            hosts = _hosts(args, scenario)
            rep = _bad_input(args.scenario, lambda: run_scenario_tcp(
                scenario, timeout_s=args.timeout, hosts=hosts))
        else:
            from ppsim.run import run_scenario

            watch.stage("simulating")
            rep = run_scenario(scenario, progress=watch.update, progress_every_s=watch.interval)
    path = report.write(rep, out)
    if args.format == "json":
        print(report.dumps(rep), end="")
        make_console(stderr=True).print(f"report written to {path}")
        return EXIT_OK
    if not args.quiet:
        report.print_table(rep, console)
    console.print(f"report written to {path}")
    return EXIT_OK


def _party(args: argparse.Namespace, console: Console) -> int:
    from ppsim.run import run_scenario_party

    scenario = load(args.scenario, limits_of(args))
    if not 0 <= args.id < scenario.plan.n_parties:
        raise ScenarioError(args.scenario, "--id", f"got {args.id}; expected a party id in "
                            f"0..{scenario.plan.n_parties - 1}")
    hosts = _hosts(args, scenario)
    key = _run_key(args)
    out = Path(args.out) if args.out else Path("out") / f"{Path(args.scenario).stem}-party{args.id}"
    rep = _bad_input(args.scenario, lambda: run_scenario_party(
        scenario, args.id, hosts, timeout_s=args.timeout, run_key=key))
    path = report.write(rep, out)
    console.print(f"party {args.id}: report written to {path}")
    return EXIT_OK


def _hosts(args: argparse.Namespace, scenario: Scenario) -> list[str] | None:
    """``--hosts`` checked against the run's parties (exit 2 naming the bad entry)."""
    if not args.hosts:
        return None
    from sim.tcp import parse_hosts

    hosts = args.hosts.split(",")
    try:
        parse_hosts(hosts, scenario.plan.n_parties)
    except ValueError as exc:
        raise ScenarioError(args.scenario, "--hosts", f"{exc} (got {args.hosts[:80]!r})") from None
    return hosts


def _run_key(args: argparse.Namespace) -> bytes:
    """The run key every party process shares (``--key-file``): it authenticates the links."""
    from sim.tcp import RUN_KEY_BYTES

    path = Path(args.key_file)
    try:
        text = path.read_bytes()[: 4 * RUN_KEY_BYTES + 2].decode("ascii").strip()
        key = bytes.fromhex(text)
    except OSError as exc:
        raise ScenarioError(str(path), "--key-file", f"cannot read the file: {exc.strerror}") \
            from None
    except ValueError:
        key = b""
    if len(key) != RUN_KEY_BYTES:
        raise ScenarioError(str(path), "--key-file", f"expected {2 * RUN_KEY_BYTES} hex digits "
                            "(make one with: ppsim key > run.key)")
    return key


def _key(args: argparse.Namespace, console: Console) -> int:
    from sim.tcp import new_run_key

    print(new_run_key().hex())
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
    lim = limits_of(args)
    found = []
    for path in args.scenarios:
        data = read(path, lim)
        if "sweep" in data:
            found.append(cli_sweep.validate(path, data, console, lim, quiet=args.format == "json"))
            continue
        scenario = load(path, lim)
        found.append({"path": path, "ok": True, "protocol": scenario.spec.name,
                      "parties": scenario.plan.n_parties,
                      "topology": scenario.model.topology.kind})
        if args.format != "json":
            console.print(f"{path}: ok ({scenario.spec.name}, {scenario.plan.n_parties} "
                          f"parties, {scenario.model.topology.kind} topology)")
    if args.format == "json":
        print(json.dumps(found, indent=2))
    return EXIT_OK


def _list(args: argparse.Namespace, console: Console) -> int:
    if args.params:
        return _params(args.params, args.format, console)
    if args.format == "json":
        print(json.dumps({"protocols": {n: s.summary for n, s in catalog.known().items()},
                          "topologies": topologies.KINDS}, indent=2))
        return EXIT_OK
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


def _calibrate(args: argparse.Namespace, console: Console) -> int:
    from ppsim import calibrate

    model = calibrate.calibrate(console, progress=not args.quiet)
    path = calibrate.write(model, args.out)
    if not args.quiet:
        table = Table(title=f"cost model: {escape(model.machine)}", show_header=True)
        table.add_column("operation", style="bold")
        table.add_column("seconds", justify="right")
        for name, value in model.as_dict()["seconds"].items():
            shown = ", ".join(f"{b} bits: {v:.3g}" for b, v in value.items()) \
                if isinstance(value, dict) else f"{value:.3g}"
            table.add_row(name, shown)
        console.print(table)
    console.print(f"cost model written to {path}; use it with "
                  + escape(f'[cost] model = "{path}"'))
    return EXIT_OK


def _params(name: str, fmt: str, console: Console) -> int:
    """The parameters of protocol `name` (registered, or ``module:attr`` from here)."""
    try:
        spec = catalog.find(name, Path.cwd())
    except catalog.UnknownProtocol as exc:
        raise ScenarioError("", "", str(exc)) from None
    if fmt == "json":
        print(json.dumps({"name": spec.name, "summary": spec.summary,
                          "parameters": describe.parameters(spec)}, indent=2))
        return EXIT_OK
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


def _input_options(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--allow-outside-paths", action="store_true",
                     help="let the scenario name files outside its own folder")
    cmd.add_argument("--memory-limit", type=byte_size, metavar="SIZE",
                     help="refuse runs estimated to need more memory than SIZE, e.g. 8G "
                          "(default: this machine's memory; 0: no check)")


def _format_option(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--format", choices=("table", "json"), default="table",
                     help="table (default) or json on standard output, for programs")


def _tcp_options(cmd: argparse.ArgumentParser, hosts_required: bool = False) -> None:
    cmd.add_argument("--hosts", required=hosts_required,
                     help="tcp: host:port of every party, comma-separated, in id order "
                          "(default: free loopback ports)")
    cmd.add_argument("--timeout", type=seconds, default=10.0,
                     help="tcp: seconds to wait for a peer before failing (default 10)")


def parser() -> argparse.ArgumentParser:
    """The command line's parser: every command and its options."""
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
    run.add_argument("--progress-every", type=interval, default=5.0, metavar="SECONDS",
                     help="when the output is not a terminal, print a progress line every "
                          "SECONDS of wall time (default 5)")
    run.add_argument("--runtime", choices=("sim", "tcp"), default="sim",
                     help="sim: simulated network (default); tcp: real sockets on this machine")
    _format_option(run)
    _input_options(run)
    _tcp_options(run)
    cli_sweep.add_run_options(run)
    run.set_defaults(func=_run)
    party = sub.add_parser("party", help="run one party of a scenario over TCP (one process each)")
    party.add_argument("scenario", help="a scenario file (TOML)")
    party.add_argument("--id", type=int, required=True, help="this process's party id")
    party.add_argument("--out", help="output folder (default: out/<scenario>-party<id>)")
    party.add_argument("--key-file", required=True,
                       help="the run key every party shares (hex; make one with `ppsim key`): "
                            "it authenticates and encrypts the links")
    _input_options(party)
    _tcp_options(party, hosts_required=True)
    party.set_defaults(func=_party)
    key = sub.add_parser("key", help="print a new random run key for `ppsim party --key-file`")
    key.set_defaults(func=_key)
    val = sub.add_parser("validate", help="check scenario files without running them")
    val.add_argument("scenarios", nargs="+", help="scenario files (TOML)")
    _format_option(val)
    _input_options(val)
    cli_sweep.add_sweep_limit(val)
    val.set_defaults(func=_validate)
    lst = sub.add_parser("list", help="list the protocols and topologies, or one protocol's "
                         "parameters")
    lst.add_argument("--params", metavar="NAME", help="the parameters of protocol NAME "
                     "(a registered name or package.module:attr): type, default, description")
    _format_option(lst)
    lst.set_defaults(func=_list)
    cal = sub.add_parser("calibrate", help="measure the cost model's constants on this machine "
                         "(about 20 s) and write a model file")
    cal.add_argument("--out", default="cost_model.toml",
                     help="the model file to write (default: cost_model.toml)")
    cal.add_argument("--quiet", action="store_true", help="no progress bar and table")
    cal.set_defaults(func=_calibrate)
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
    """Run the command line; return its exit code (see the module docstring)."""
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
    except MemoryError:
        err.print("[bold red]run failed:[/] out of memory: the run needed more than this "
                  "machine gave (a protocol's memory estimate, when it gives one, is checked "
                  "before the run: this one was missing or too low); lower the sizes or run "
                  "on a larger machine", highlight=False)
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
