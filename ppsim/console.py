"""The command line's consoles: Rich on a terminal, plain unwrapped text elsewhere.

Output that is not a terminal (a pipe, a file, a CI log, a test's capture) is
read by programs or kept, so there it is plain text: no colour codes, no
wrapping, tables as wide as their cells need.
"""

from __future__ import annotations

from rich.console import Console

WIDE = 100_000
"""Width given to Rich when the output is not a terminal: wider than any table."""


def make_console(stderr: bool = False) -> Console:
    """A console on standard output (or standard error), as described above."""
    console = Console(stderr=stderr, soft_wrap=stderr)
    if console.is_terminal:
        return console
    return Console(stderr=stderr, width=WIDE, soft_wrap=True, no_color=True, highlight=False)
