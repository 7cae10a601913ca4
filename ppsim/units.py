"""Human units for bytes and seconds: one scale per axis or figure, SI prefixes.

A figure or a line of text reads "4.2 MB" or "35 ms" rather than "4213554" or
"0.035"; `byte_unit` and `time_unit` pick the unit in which the largest value
of a series is between 1 and 1000, so a whole axis shares one unit. The
terminal's tables and messages count memory and payloads in binary units
(`fmt_binary_bytes`: "313 KiB", "7.3 TiB").
"""

from __future__ import annotations

BYTE_UNITS = (("B", 1.0), ("kB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12))
TIME_UNITS = (("ns", 1e-9), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0))


def _unit(largest: float, units: tuple[tuple[str, float], ...]) -> tuple[str, float]:
    largest = abs(largest)
    chosen = units[0]
    for unit in units:
        if largest >= unit[1]:
            chosen = unit
    return chosen


def byte_unit(largest: float) -> tuple[str, float]:
    """The unit (name, bytes per unit) in which `largest` bytes is at least 1."""
    return _unit(largest, BYTE_UNITS)


def time_unit(largest: float) -> tuple[str, float]:
    """The unit (name, seconds per unit) in which `largest` seconds is at least 1
    (seconds above that: minutes and hours are not decimal multiples)."""
    return _unit(largest, TIME_UNITS)


def fmt_bytes(n: float) -> str:
    """`n` bytes in the unit `byte_unit` picks: "4.21 MB"."""
    name, size = byte_unit(n)
    return f"{n:.0f} B" if name == "B" else f"{n / size:.3g} {name}"


def fmt_seconds(s: float) -> str:
    """`s` seconds in the unit `time_unit` picks: "35 ms"."""
    if s == 0:
        return "0 s"
    name, size = time_unit(s)
    return f"{s / size:.3g} {name}"


def fmt_binary_bytes(n: float, digits: str = ".3g") -> str:
    """`n` bytes in binary units: "48 B", "31.2 KiB"; `digits` formats the number."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:{digits}} {unit}"
        n /= 1024
    raise AssertionError("unreachable")
