"""Argument checks shared by the topology builders.

Every check raises `TopologyError` with the parameter's name, the bad value and
what was expected, so a scenario's author can fix the file without reading code.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import networkx as nx


class TopologyError(ValueError):
    """A topology's parameters (or file) do not describe a usable network."""


def bad(name: str, value: Any, expected: str) -> TopologyError:
    """The error for parameter `name` with `value`, which should be `expected`."""
    return TopologyError(f"topology parameter {name!r}: got {value!r}; expected {expected}")


def integer(name: str, value: Any, *, minimum: int) -> int:
    """`value` as an int >= `minimum` (bools and floats are refused)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise bad(name, value, f"an integer >= {minimum}")
    if value < minimum:
        raise bad(name, value, f"an integer >= {minimum}")
    return int(value)


def latency(name: str, value: Any) -> float:
    """A finite latency in seconds, >= 0."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise bad(name, value, "a finite number of seconds >= 0")
    if value < 0:
        raise bad(name, value, "a finite number of seconds >= 0")
    return float(value)


def bandwidth(name: str, value: Any) -> float:
    """A finite bandwidth in bytes per second, > 0."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise bad(name, value, "a finite number of bytes/s > 0")
    if value <= 0:
        raise bad(name, value, "a finite number of bytes/s > 0")
    return float(value)


def connected(graph: nx.Graph, what: str) -> nx.Graph:
    """`graph` itself if it is connected, else an error naming its pieces."""
    if graph.number_of_nodes() and not nx.is_connected(graph):
        parts = sorted((sorted(c) for c in nx.connected_components(graph)), key=len)
        shown = "; ".join(str(p[:5])[:-1] + (", ...]" if len(p) > 5 else "]") for p in parts[:3])
        raise TopologyError(
            f"{what} is not connected: {len(parts)} separate components (e.g. {shown}); "
            "every party must reach every other"
        )
    return graph
