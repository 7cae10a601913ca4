"""The one place the command line builds its consoles: terminals get Rich, pipes plain text.

On a terminal, Rich fits tables to its width and may wrap text. Anywhere else
(a pipe, a file, a test's captured output, a CI log), output is read by
programs or kept: there it is plain text, one unwrapped line per line, no
colour codes, and tables take the width their cells need, so no number is
ever cut to "42,1…" and no message breaks mid-phrase, whatever ``COLUMNS``
says. Error messages are single lines on a terminal too.
"""

from __future__ import annotations

from rich.console import Console

WIDE = 100_000
"""Width given to Rich when the output is not a terminal: wider than any table."""


def make_console(stderr: bool = False) -> Console:
    """A console on standard output (or standard error) as described above."""
    console = Console(stderr=stderr, soft_wrap=stderr)
    if console.is_terminal:
        return console
    return Console(stderr=stderr, width=WIDE, soft_wrap=True, no_color=True, highlight=False,
                   emoji=False)

