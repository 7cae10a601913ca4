"""What a single run shows while it goes on: the simulator's `Progress`, drawn here.

The kernel only hands over numbers (`sim.Progress`: simulated time, messages,
bytes, phases begun, parties done); this module draws them, so the kernel never
imports Rich. On a terminal: a Rich line with a spinner and a pulsing bar that
appears once the run has taken `delay_s` seconds and is erased when it ends.
Anywhere else (a CI log, a pipe): one plain line every `every_s` seconds of wall
time, so a long run shows it is alive and how far it is. Nothing at all when
disabled (``--quiet``). It writes to the console it is given (the command line
gives standard error, so standard output keeps only the report).
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ppsim.units import fmt_bytes, fmt_seconds
from sim import Progress as RunState

TERMINAL_REFRESH_S = 0.25


class _DelayedBar(Progress):
    """A Rich progress display that stays blank for its first `delay_s` seconds."""

    def __init__(self, *columns: object, delay_s: float, **options: object):
        self._shown_at = time.monotonic() + delay_s
        super().__init__(*columns, **options)  # type: ignore[arg-type]

    def get_renderables(self):  # noqa: ANN201 - Rich's own signature
        if time.monotonic() >= self._shown_at:
            yield from super().get_renderables()


class RunProgress:
    """Progress of one run on `console`; use as a context manager around the run.

    `stage` names what the run is doing (loading, simulating, building the
    report); `update` is the simulator's progress callback.
    """

    def __init__(self, console: Console, title: str, *, enabled: bool = True,
                 every_s: float = 5.0, delay_s: float = 2.0):
        self.console, self.title = console, title
        self.enabled = enabled
        self.terminal = enabled and console.is_terminal
        self.every_s, self.delay_s = every_s, delay_s
        self._started = time.perf_counter()
        self._due = self._started + every_s
        self._stage = ""
        self._state: RunState | None = None
        self._printed = False
        self._bar: _DelayedBar | None = None
        self._task = None

    @property
    def interval(self) -> float:
        """How often the simulator should call `update` (seconds of wall time)."""
        return min(self.every_s, TERMINAL_REFRESH_S)

    def __enter__(self) -> RunProgress:
        self._started = time.perf_counter()
        self._due = self._started + self.every_s
        if self.terminal:
            self._bar = _DelayedBar(
                SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                console=self.console, transient=True, delay_s=self.delay_s)
            self._task = self._bar.add_task(self.title, total=None, detail="")
            self._bar.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif self._printed and kind is None:
            self._line("finished")

    def stage(self, text: str) -> None:
        """The run moved on to `text` (e.g. "simulating")."""
        self._stage = text
        self._show(force=self._printed)

    def update(self, state: RunState) -> None:
        """The simulator's callback: where the run stands."""
        self._state = state
        if state.finished:
            self._stage = "building the report"
            self._show(force=self._printed)
        else:
            self._show()

    def describe(self) -> str:
        """The current stage and, once simulating, the run's figures so far."""
        state = self._state
        if state is None:
            return self._stage
        if state.finished:
            return (f"{self._stage}; the run simulated {fmt_seconds(state.sim_time_s)}, "
                    f"{state.messages:,} messages, {fmt_bytes(state.bytes)}, "
                    f"{state.phases} phases")
        return (f"{self._stage}; simulated {fmt_seconds(state.sim_time_s)}, "
                f"{state.messages:,} messages, {fmt_bytes(state.bytes)}, "
                f"{state.phases} phases begun (now mostly in {state.phase or '-'}), "
                f"{state.parties_done}/{state.parties} parties done")

    def _show(self, force: bool = False) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, detail=self.describe())
            return
        now = time.perf_counter()
        if force or now >= self._due:
            self._line(self.describe())
            self._due = now + self.every_s

    def _line(self, text: str) -> None:
        _plain_line(self.console, self._started, self.title, text)
        self._printed = True


def _plain_line(console: Console, started: float, title: str, text: str) -> None:
    """One progress line off a terminal: ``[  12.3 s] title: text``."""
    console.print(f"[{time.perf_counter() - started:6.1f} s] {title}: {text}", markup=False,
                  highlight=False)


class CountProgress:
    """Progress through `total` items (a sweep's points): a Rich bar with the time left on
    a terminal, a plain line at most every `every_s` seconds elsewhere, nothing when
    disabled. Use as a context manager; `advance` after each item."""

    def __init__(self, console: Console, title: str, total: int, *, enabled: bool = True,
                 every_s: float = 5.0):
        self.console, self.title, self.total = console, title, total
        self.enabled, self.every_s = enabled, every_s
        self.done = 0
        self.note = ""
        self._bar: Progress | None = None
        self._task = None
        self._started = self._due = 0.0

    def __enter__(self) -> CountProgress:
        self._started = time.perf_counter()
        self._due = self._started + self.every_s
        if self.enabled and self.console.is_terminal:
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("left"),
                                 TimeRemainingColumn(), console=self.console)
            self._task = self._bar.add_task(self.title, total=self.total)
            self._bar.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()

    def advance(self, note: str = "") -> None:
        """One more item done; `note` (e.g. "2 failed") is shown beside the count."""
        self.done += 1
        self.note = note
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=f"{self.title}{note}")
            return
        now = time.perf_counter()
        if self.enabled and (now >= self._due or self.done == self.total):
            _plain_line(self.console, self._started, self.title,
                        f"{self.done}/{self.total} done{self.note}")
            self._due = now + self.every_s
