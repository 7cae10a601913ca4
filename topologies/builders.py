"""The topology builders: networkx graphs over parties ``0..n-1``.

Every edge carries ``latency`` (seconds) and ``bandwidth`` (bytes/s), the two
attributes `sim.network` reads. Defaults model a data-centre link (1 ms,
1 Gbit/s = 1.25e8 bytes/s) so a scenario may omit them.
"""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np

from topologies import checks
from topologies.checks import TopologyError, bad

DEFAULT_LATENCY = 1e-3
"""Seconds per link when a scenario gives none (1 ms)."""

DEFAULT_BANDWIDTH = 1.25e8
"""Bytes per second per link when a scenario gives none (1 Gbit/s)."""


def _graph(n: int, edges, latency: float, bandwidth: float) -> nx.Graph:
    lat = checks.latency("latency", latency)
    bw = checks.bandwidth("bandwidth", bandwidth)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges, latency=lat, bandwidth=bw)
    return graph


def complete(
    n: int, *, latency: float = DEFAULT_LATENCY, bandwidth: float = DEFAULT_BANDWIDTH
) -> nx.Graph:
    """Every pair of parties shares a link."""
    n = checks.integer("n", n, minimum=1)
    return _graph(n, itertools.combinations(range(n), 2), latency, bandwidth)


def star(
    n: int,
    *,
    hub: int = 0,
    latency: float = DEFAULT_LATENCY,
    bandwidth: float = DEFAULT_BANDWIDTH,
) -> nx.Graph:
    """Party `hub` is linked to every other party; the others talk through it."""
    n = checks.integer("n", n, minimum=2)
    hub = checks.integer("hub", hub, minimum=0)
    if hub >= n:
        raise bad("hub", hub, f"a party id in 0..{n - 1}")
    return _graph(n, ((hub, i) for i in range(n) if i != hub), latency, bandwidth)


def ring(
    n: int, *, latency: float = DEFAULT_LATENCY, bandwidth: float = DEFAULT_BANDWIDTH
) -> nx.Graph:
    """Party i is linked to i+1 (mod n)."""
    n = checks.integer("n", n, minimum=3)
    return _graph(n, ((i, (i + 1) % n) for i in range(n)), latency, bandwidth)


def line(
    n: int, *, latency: float = DEFAULT_LATENCY, bandwidth: float = DEFAULT_BANDWIDTH
) -> nx.Graph:
    """Party i is linked to i+1; the ends are not joined."""
    n = checks.integer("n", n, minimum=1)
    return _graph(n, ((i, i + 1) for i in range(n - 1)), latency, bandwidth)


def tree(
    n: int,
    *,
    branching: int = 2,
    latency: float = DEFAULT_LATENCY,
    bandwidth: float = DEFAULT_BANDWIDTH,
) -> nx.Graph:
    """A balanced tree rooted at 0: the parent of party i is ``(i - 1) // branching``."""
    n = checks.integer("n", n, minimum=1)
    branching = checks.integer("branching", branching, minimum=1)
    return _graph(n, (((i - 1) // branching, i) for i in range(1, n)), latency, bandwidth)


def two_level(
    n: int,
    *,
    groups: int,
    latency: float = DEFAULT_LATENCY,
    bandwidth: float = DEFAULT_BANDWIDTH,
    inner_latency: float | None = None,
    inner_bandwidth: float | None = None,
    outer_latency: float | None = None,
    outer_bandwidth: float | None = None,
) -> nx.Graph:
    """`groups` groups of ``m = n / groups`` consecutive ids, fully linked inside.

    The first id of each group (``0, m, 2m, ...``) is its representative; the
    representatives are fully linked to each other. Links inside a group use
    `inner_latency`/`inner_bandwidth`, links between representatives use
    `outer_latency`/`outer_bandwidth`; each falls back to `latency`/`bandwidth`.
    """
    n = checks.integer("n", n, minimum=1)
    groups = checks.integer("groups", groups, minimum=1)
    if groups > n or n % groups:
        raise bad("groups", groups, f"a divisor of n = {n} (equal groups of consecutive ids)")
    m = n // groups
    inner = _link("inner", inner_latency, inner_bandwidth, latency, bandwidth)
    outer = _link("outer", outer_latency, outer_bandwidth, latency, bandwidth)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    for g in range(groups):
        members = range(g * m, (g + 1) * m)
        graph.add_edges_from(itertools.combinations(members, 2), **inner)
    graph.add_edges_from(itertools.combinations(range(0, n, m), 2), **outer)
    return graph


def machines(
    n: int,
    *,
    per_machine: int,
    latency: float = DEFAULT_LATENCY,
    bandwidth: float = DEFAULT_BANDWIDTH,
    inner_latency: float | None = None,
    inner_bandwidth: float | None = None,
    fabric_bandwidth: float | None = None,
) -> nx.Graph:
    """Machines of `per_machine` consecutive ids (the last one may hold fewer), every pair linked.

    Why: a GPU cluster is servers of several GPUs each, with fast links inside a
    server (NVLink) and one network card per server shared by its GPUs. Pairs inside
    a machine use `inner_latency`/`inner_bandwidth` (default `latency`/`bandwidth`);
    pairs across machines use `latency`/`bandwidth` (a non-blocking switch: one
    flow's own limit). Every node carries ``machine`` (its id // per_machine), so a
    scenario's ``nic_bandwidth`` becomes one interface per machine that only traffic
    between machines crosses (`sim.network`). `fabric_bandwidth` (bytes/s), when
    given, is the aggregate capacity of the switch fabric all machines share.
    """
    n = checks.integer("n", n, minimum=1)
    per_machine = checks.integer("per_machine", per_machine, minimum=1)
    inner = _link("inner", inner_latency, inner_bandwidth, latency, bandwidth)
    outer = _link("outer", None, None, latency, bandwidth)
    graph = nx.Graph()
    if fabric_bandwidth is not None:
        graph.graph["fabric_bandwidth"] = checks.bandwidth("fabric_bandwidth", fabric_bandwidth)
    graph.add_nodes_from((i, {"machine": i // per_machine}) for i in range(n))
    for u, v in itertools.combinations(range(n), 2):
        graph.add_edge(u, v, **(inner if u // per_machine == v // per_machine else outer))
    return graph


def _link(
    prefix: str, lat: float | None, bw: float | None, default_lat: float, default_bw: float
) -> dict[str, float]:
    return {
        "latency": checks.latency(
            f"{prefix}_latency" if lat is not None else "latency",
            default_lat if lat is None else lat,
        ),
        "bandwidth": checks.bandwidth(
            f"{prefix}_bandwidth" if bw is not None else "bandwidth",
            default_bw if bw is None else bw,
        ),
    }


_REGULAR_ATTEMPTS = 100


def regular(
    n: int,
    *,
    degree: int,
    seed: int = 0,
    latency: float = DEFAULT_LATENCY,
    bandwidth: float = DEFAULT_BANDWIDTH,
) -> nx.Graph:
    """A random connected `degree`-regular graph, the same for the same `seed`.

    Degree 2 draws a ring in a random order (the only connected 2-regular
    graphs). Higher degrees draw from networkx's pairing model and redraw, with
    seeds derived from `seed`, until the graph is connected (almost always the
    first draw for degree >= 3).
    """
    n = checks.integer("n", n, minimum=2)
    degree = checks.integer("degree", degree, minimum=1)
    seed = checks.integer("seed", seed, minimum=0)
    if degree >= n:
        raise bad("degree", degree, f"a degree < n = {n}")
    if n * degree % 2:
        raise bad("degree", degree, f"a degree with n * degree even (n = {n})")
    if degree == 1 and n > 2:
        raise bad("degree", degree, f"a degree >= 2 (degree 1 cannot connect n = {n} parties)")
    if degree == 2:
        order = np.random.default_rng(seed).permutation(n).tolist()
        edges = [(order[i], order[(i + 1) % n]) for i in range(n)]
        return _graph(n, edges, latency, bandwidth)
    seeds = np.random.SeedSequence(seed).generate_state(_REGULAR_ATTEMPTS)
    for attempt_seed in seeds:
        drawn = nx.random_regular_graph(degree, n, seed=int(attempt_seed))
        if nx.is_connected(drawn):
            return _graph(n, sorted(drawn.edges), latency, bandwidth)
    raise TopologyError(  # pragma: no cover - vanishingly unlikely for degree >= 3
        f"no connected {degree}-regular graph on {n} nodes in {_REGULAR_ATTEMPTS} draws"
    )
