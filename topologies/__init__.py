"""Network topologies for the simulator: builders returning networkx graphs.

Nodes are party ids ``0..n-1``; each edge carries ``latency`` (seconds) and
``bandwidth`` (bytes/s). `build` is the one entry point scenario files use;
`KINDS` names every kind with a one-line description (``ppsim list``).
Builders check their arguments and raise `TopologyError` (a `ValueError`)
naming the parameter, the bad value and what was expected.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import networkx as nx

from topologies.builders import (
    DEFAULT_BANDWIDTH,
    DEFAULT_LATENCY,
    complete,
    line,
    machines,
    regular,
    ring,
    star,
    tree,
    two_level,
)
from topologies.checks import TopologyError
from topologies.files import from_file

__all__ = [
    "DEFAULT_BANDWIDTH", "DEFAULT_LATENCY", "KINDS", "TopologyError", "build", "complete",
    "from_file", "line", "machines", "regular", "resolved", "ring", "star", "tree",
    "two_level",
]

KINDS: dict[str, str] = {
    "complete": "every pair of parties linked",
    "star": "one hub (hub=, default 0) linked to every other party",
    "ring": "party i linked to i+1 mod n (n >= 3)",
    "line": "party i linked to i+1, ends not joined",
    "tree": "balanced tree rooted at 0, parent of i is (i-1)//branching (branching=, default 2)",
    "two_level": "groups= groups of consecutive ids fully linked inside, first id of each "
    "group linked to the other groups' (inner_/outer_ latency and bandwidth)",
    "machines": "machines of per_machine= consecutive ids, every pair linked (inner_ latency "
    "and bandwidth inside a machine); nic_bandwidth is one interface per machine; "
    "fabric_bandwidth= the switch fabric they share",
    "regular": "random connected degree=-regular graph, fixed by seed=",
    "file": "edge list 'u v [latency bandwidth]' or GraphML from path=; labels numbered "
    "0..n-1 in sorted order",
}


def _file(n: int, *, path: str, latency: float | None = None,
          bandwidth: float | None = None) -> nx.Graph:
    graph = from_file(path, latency=latency, bandwidth=bandwidth)
    if graph.number_of_nodes() != n:
        raise TopologyError(
            f"topology file {path} has {graph.number_of_nodes()} nodes; expected n = {n}"
        )
    return graph


_BUILDERS: dict[str, Callable[..., nx.Graph]] = {
    "complete": complete,
    "star": star,
    "ring": ring,
    "line": line,
    "tree": tree,
    "two_level": two_level,
    "machines": machines,
    "regular": regular,
    "file": _file,
}


def build(kind: str, n: int, **params: Any) -> nx.Graph:
    """Build a topology of `kind` over `n` parties; `params` go to its builder."""
    builder = _BUILDERS.get(kind)
    if builder is None:
        raise TopologyError(
            f"unknown topology kind {kind!r}; known kinds: {', '.join(KINDS)}"
        )
    signature = inspect.signature(builder)
    accepted = [p for p in signature.parameters if p != "n"]
    for name in params:
        if name not in accepted:
            raise TopologyError(
                f"topology {kind!r}: unknown parameter {name!r}; "
                f"expected one of {', '.join(accepted)}"
            )
    missing = [
        p.name for p in signature.parameters.values()
        if p.kind is p.KEYWORD_ONLY and p.default is p.empty and p.name not in params
    ]
    if missing:
        raise TopologyError(f"topology {kind!r}: missing parameter {missing[0]!r}")
    return builder(n, **params)


def resolved(kind: str, **params: Any) -> dict[str, Any]:
    """`params` with every default `build` applies filled in (what a report shows).

    For ``two_level``, unset inner and outer links are the `latency` and
    `bandwidth` they fall back to; for ``file``, unset latency and bandwidth
    stay None (each edge's come from the file).
    """
    builder = _BUILDERS.get(kind)
    if builder is None:
        raise TopologyError(f"unknown topology kind {kind!r}; known kinds: {', '.join(KINDS)}")
    out = {name: p.default for name, p in inspect.signature(builder).parameters.items()
           if name != "n" and p.default is not p.empty}
    out.update(params)
    if kind == "two_level":
        for side in ("inner", "outer"):
            for key in ("latency", "bandwidth"):
                if out.get(f"{side}_{key}") is None:
                    out[f"{side}_{key}"] = out[key]
    return out
