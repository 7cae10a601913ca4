"""Hostile-input checks for scenario and sweep files: bounded time, bounded memory, no leaks.

A scenario file is input from whoever wrote it. Before anything is parsed or
allocated, `read_text` refuses files that are not regular files, are larger
than `Limits.max_file_bytes`, are not UTF-8, or nest arrays and tables deeper
than `Limits.max_depth` (Python's TOML parser recurses once per level, so
20,000 nested arrays would exhaust its stack). After parsing, `check_finite`
refuses ``inf`` and ``nan`` anywhere: no key of a scenario means "forever",
and a non-finite number written into a report is not JSON.

Files a scenario names (a topology's ``path``, a protocol's data or model file,
marked with `sim.FileParam`) resolve against the scenario's folder and may not
leave it unless `Limits.outside_paths` allows it (``--allow-outside-paths``):
a scenario from someone else must not make ppsim read the password file.
Error messages show at most a short escaped excerpt of a file's line
(`excerpt`), never a file's content.

`check_memory` compares a protocol's own estimate of a run's peak memory
(`sim.ProtocolSpec.memory`) with this machine's memory before the run's data is
built.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ppsim.units import fmt_binary_bytes

MIB = 1 << 20


def physical_memory() -> int:
    """This machine's physical memory in bytes (0 if the system does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


@dataclass(frozen=True)
class Limits:
    """What a scenario or sweep file may ask for; the command line can raise each.

    Attributes:
        max_file_bytes: largest scenario file read.
        max_depth: deepest nesting of arrays and inline tables.
        max_points: most runs (points times repetitions) a sweep may expand to
            (``--max-points``).
        memory_bytes: the memory a run may be estimated to need (default: this
            machine's; ``--memory-limit``); 0 disables the check.
        outside_paths: files named by a scenario may lie outside its folder
            (``--allow-outside-paths``).
    """

    max_file_bytes: int = 4 * MIB
    max_depth: int = 32
    max_points: int = 10_000
    memory_bytes: int = -1
    outside_paths: bool = False

    @property
    def memory(self) -> int:
        """The bytes a run may need: `memory_bytes`, or this machine's memory."""
        return physical_memory() if self.memory_bytes < 0 else self.memory_bytes


DEFAULT = Limits()


class InputError(ValueError):
    """A check failed; `key` names the scenario key (or "" for the file as a whole)."""

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(message)


def excerpt(text: str, limit: int = 40) -> str:
    """A short, escaped, quoted piece of `text` for an error message."""
    shown = text.strip()
    cut = len(shown) > limit
    shown = shown[:limit].encode("unicode_escape").decode("ascii").replace("'", "\\'")
    return f"'{shown}{'...' if cut else ''}'"


def read_text(path: Path, limits: Limits = DEFAULT) -> str:
    """The text of a scenario file, refused if not a regular UTF-8 file of bounded size."""
    try:
        info = path.stat()
    except OSError as exc:
        raise InputError("", f"cannot read the file: {exc.strerror}") from None
    if not path.is_file():
        raise InputError("", "cannot read the file: not a regular file")
    if info.st_size > limits.max_file_bytes:
        raise InputError("", f"the file has {info.st_size:,} bytes; a scenario file may have "
                         f"at most {limits.max_file_bytes:,}")
    try:
        raw = path.read_bytes()[: limits.max_file_bytes + 1]
    except OSError as exc:
        raise InputError("", f"cannot read the file: {exc.strerror}") from None
    return decode_utf8(raw, "the file")


def decode_utf8(raw: bytes, what: str) -> str:
    """`raw` as UTF-8, or an error naming the line and byte that is not."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError("", f"line {line}, column {column}: byte 0x{raw[exc.start]:02x} is not "
                         f"UTF-8; {what} must be UTF-8 text") from None


_KEY = re.compile(r"^\s*([^=\[\]#]+?)\s*=")
_HEADER = re.compile(r"^\s*\[\[?\s*([^\[\]]+?)\s*\]\]?\s*(?:#.*)?$", re.MULTILINE)


def check_nesting(text: str, limits: Limits = DEFAULT) -> None:
    """Refuse arrays and inline tables nested deeper than `limits.max_depth`.

    A linear scan that skips strings and comments, so it costs far less than
    the parse it protects.
    """
    depth, line, i, n = 0, 1, 0, len(text)
    start = 0  # where the current line starts
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            start = i + 1
        elif c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif c in "\"'":
            i = _skip_string(text, i)
            continue
        elif c in "[{":
            depth += 1
            if depth > limits.max_depth:
                head = text[start:text.find("\n", start) if "\n" in text[start:] else n]
                found = _KEY.match(head)
                key = found.group(1).strip().strip("\"'") if found else ""
                tables = _HEADER.findall(text, 0, start)
                if key and tables:
                    key = f"{tables[-1]}.{key}"
                raise InputError(key, f"line {line}: arrays or tables nested more than "
                                 f"{limits.max_depth} deep (got {excerpt(head, 24)}); "
                                 f"at most {limits.max_depth} levels are allowed")
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1


def _skip_string(text: str, i: int) -> int:
    """The index just past the TOML string starting at `i` (basic, literal, multi-line)."""
    quote = text[i]
    if text.startswith(quote * 3, i):
        end = text.find(quote * 3, i + 3)
        return len(text) if end < 0 else end + 3
    j = i + 1
    while j < len(text) and text[j] not in (quote, "\n"):
        j += 2 if quote == '"' and text[j] == "\\" else 1
    return j + 1


def check_finite(data: Any, prefix: str = "") -> None:
    """Refuse ``inf`` and ``nan`` anywhere in parsed scenario data, naming the key."""
    if isinstance(data, float) and not math.isfinite(data):
        raise InputError(prefix, f"got {data}; expected a finite number")
    if isinstance(data, dict):
        for key, value in data.items():
            check_finite(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            check_finite(value, f"{prefix}[{i}]")


def resolve(value: str, source: str, key: str, limits: Limits = DEFAULT) -> str:
    """A file path from a scenario, resolved against the scenario's folder.

    Without a source (a scenario built in code) the path is used as given. A
    path that leaves the folder (absolute, ``..``, or a symbolic link out) is
    refused unless `limits.outside_paths`.
    """
    if not source:
        return value
    folder = Path(source).parent.resolve()
    path = (folder / value).resolve()
    if not limits.outside_paths and not path.is_relative_to(folder):
        raise InputError(key, f"got {value!r}; expected a file inside the scenario's folder "
                         f"{str(folder)!r} (--allow-outside-paths permits others)")
    return str(path)


def check_memory(need: float, params: Any, limits: Limits = DEFAULT) -> None:
    """Refuse a run whose estimated peak memory `need` exceeds what `limits` allow."""
    have = limits.memory
    if not have or need <= have:
        return
    sizes = ", ".join(f"{k} = {v}" for k, v in params.model_dump().items()
                      if isinstance(v, int) and not isinstance(v, bool) and v > 1)
    where = "this machine has" if limits.memory_bytes < 0 else "the limit is"
    need_text, have_text = fmt_binary_bytes(need, ".1f"), fmt_binary_bytes(have, ".1f")
    raise InputError("protocol", f"{sizes}: this run needs about {need_text} of memory; "
                     f"{where} {have_text} (--memory-limit overrides the check)")


# -- command-line values (argparse types: a bad one exits 2 naming the option and value)


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds > 0."""
    value = _finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"got {text!r}; expected a finite number of seconds > 0")
    return value


def interval(text: str) -> float:
    """An argparse type: a finite number of seconds >= 0."""
    value = _finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"got {text!r}; expected a finite number of seconds "
                                         ">= 0")
    return value


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"got {text!r}; expected a finite number of seconds")
    return value


def count(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"got {text!r}; expected an integer >= 1")
    return value


def byte_size(text: str) -> int:
    """An argparse type: bytes as a number with an optional unit (K, M, G, T: powers of 1024)."""
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    body = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = body[-1:] if body[-1:] in units else ""
    try:
        value = float(body[: len(body) - len(unit)]) * units[unit]
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"got {text!r}; expected a size such as 64G "
                                         "(0 turns the check off)")
    return int(value)
