"""Topologies read from a file: an edge list or GraphML.

Edge list (any extension but ``.graphml``/``.xml``): one edge per line,
``u v`` or ``u v latency bandwidth``; ``#`` starts a comment. GraphML: edges may
carry ``latency`` and ``bandwidth`` attributes. Per-edge values in the file win;
the `latency`/`bandwidth` arguments fill in edges that have none (an edge with
neither is an error naming it).

Node labels: the file's labels are mapped to party ids ``0..n-1`` in sorted
order (numerically when every label is an integer, else as strings), so a file
numbered ``1..n`` becomes ``0..n-1`` and a file of host names is numbered
alphabetically. Isolated nodes can be listed in GraphML only.

Errors name the file and line and show at most a short escaped excerpt of the
offending line: a topology file may be something else by mistake (or by
malice), and an error must not print its content.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx

from topologies import checks
from topologies.checks import TopologyError

MAX_FILE_BYTES = 64 << 20


def from_file(
    path: str | Path,
    *,
    latency: float | None = None,
    bandwidth: float | None = None,
) -> nx.Graph:
    """Load a topology; see the module docstring for formats and node numbering."""
    path = Path(path)
    if not path.is_file():
        raise checks.bad("path", str(path), "an existing edge-list or GraphML file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise TopologyError(f"{path}: {path.stat().st_size:,} bytes; a topology file may have "
                            f"at most {MAX_FILE_BYTES:,}")
    default_lat = None if latency is None else checks.latency("latency", latency)
    default_bw = None if bandwidth is None else checks.bandwidth("bandwidth", bandwidth)
    if path.suffix.lower() in (".graphml", ".xml"):
        raw = _read_graphml(path)
    else:
        raw = _read_edge_list(path)
    if raw.number_of_nodes() == 0:
        raise TopologyError(f"{path}: no edges; expected at least one 'u v' line")
    labels = sorted(raw.nodes, key=_label_key(raw.nodes))
    ids = {label: i for i, label in enumerate(labels)}
    graph = nx.Graph()
    graph.add_nodes_from(range(len(labels)))
    for u, v, attrs in raw.edges(data=True):
        where = f"{path}: edge ({_excerpt(str(u), 20)}, {_excerpt(str(v), 20)})"
        lat = attrs.get("latency", default_lat)
        bw = attrs.get("bandwidth", default_bw)
        if lat is None or bw is None:
            missing = "latency" if lat is None else "bandwidth"
            raise TopologyError(
                f"{where} has no {missing}; give it in the file or as the {missing!r} parameter"
            )
        try:
            graph.add_edge(
                ids[u], ids[v],
                latency=checks.latency("latency", lat),
                bandwidth=checks.bandwidth("bandwidth", bw),
            )
        except TopologyError as exc:
            raise TopologyError(f"{where}: {exc}") from None
    return checks.connected(graph, f"the topology in {path}")


def _label_key(labels: Any):
    labels = list(labels)
    try:
        [int(str(label)) for label in labels]
    except ValueError:
        return str
    return lambda label: int(str(label))


def _excerpt(text: str, limit: int = 40) -> str:
    """A short escaped piece of a line for an error message (never the whole file)."""
    shown = text.strip()
    return repr(shown[:limit] + ("..." if len(shown) > limit else ""))


def _text(path: Path) -> str:
    raw = path.read_bytes()
    if b"\0" in raw[:65536]:
        raise TopologyError(f"{path}: not a text file (it holds NUL bytes); expected an edge "
                            "list or GraphML")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise TopologyError(f"{path}, line {line}: not a text file (byte 0x{raw[exc.start]:02x} "
                            "is not UTF-8); expected an edge list or GraphML") from None


def _read_edge_list(path: Path) -> nx.Graph:
    graph = nx.Graph()
    for number, text in enumerate(_text(path).splitlines(), start=1):
        fields = text.split("#", 1)[0].split()
        if not fields:
            continue
        where = f"{path}, line {number}"
        if len(fields) not in (2, 4):
            raise TopologyError(
                f"{where}: got {_excerpt(text)}; expected 'u v' or 'u v latency bandwidth'"
            )
        u, v = fields[:2]
        if u == v:
            raise TopologyError(f"{where}: self-loop {_excerpt(u)} -> {_excerpt(v)}; expected two "
                                "different nodes")
        attrs: dict[str, float] = {}
        if len(fields) == 4:
            try:
                attrs = {"latency": float(fields[2]), "bandwidth": float(fields[3])}
            except ValueError:
                raise TopologyError(
                    f"{where}: got {_excerpt(text)}; latency and bandwidth must be numbers"
                ) from None
        graph.add_edge(u, v, **attrs)
    return graph


def _read_graphml(path: Path) -> nx.Graph:
    try:
        raw = nx.read_graphml(path)
    except Exception as exc:  # networkx raises several types for malformed XML
        raise TopologyError(f"{path}: not a readable GraphML file "
                            f"({type(exc).__name__}: {_excerpt(str(exc), 80)})") from None
    graph = nx.Graph()
    graph.add_nodes_from(raw.nodes)
    for u, v, attrs in raw.edges(data=True):
        if u == v:
            raise TopologyError(f"{path}: self-loop on node {u}; expected two different nodes")
        graph.add_edge(u, v, **{k: attrs[k] for k in ("latency", "bandwidth") if k in attrs})
    return graph
