"""The network model: routes over a topology and FIFO links.

Each undirected edge of the topology is two directed links. A message crosses
its route hop by hop (store-and-forward): on each link it waits until the link
is free (FIFO), occupies it for ``size / bandwidth`` seconds, then travels for
``latency`` seconds (plus any delay a fault adds). Non-adjacent parties talk
along the lowest-latency path; routes are computed once and cached. A direct
link whose latency is at most twice the smallest link latency is taken without a
search (no detour of two or more hops can be faster; on a tie the direct link
wins), which keeps routing a star or complete graph of thousands of parties cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np


class NetworkError(ValueError):
    """The topology cannot carry the run (missing link attributes, no route...)."""


@dataclass(slots=True)
class Link:
    """One directed link and what it carried."""

    src: int
    dst: int
    latency: float
    bandwidth: float
    loss: float = 0.0
    extra_delay: float = 0.0
    busy_until: float = 0.0
    bytes: int = 0
    messages: int = 0
    dropped: int = 0
    busy_s: float = 0.0

    def transmit(self, t: float, size: int) -> float:
        """Reserve the link for a message ready at `t`; return its arrival time."""
        start = t if t > self.busy_until else self.busy_until
        busy = size / self.bandwidth
        self.busy_until = start + busy
        self.busy_s += busy
        self.bytes += size
        self.messages += 1
        return self.busy_until + self.latency + self.extra_delay


@dataclass
class Network:
    """Links and routes of one run; `rng` decides which messages a lossy link drops."""

    graph: nx.Graph
    rng: np.random.Generator
    links: dict[tuple[int, int], Link] = field(default_factory=dict)
    _routes: dict[tuple[int, int], tuple[Link, ...]] = field(default_factory=dict)
    _direct_max: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        if not self.links:
            self.links = _links_of(self.graph)
        self._direct_max = 2 * min((link.latency for link in self.links.values()), default=0.0)

    def route(self, src: int, dst: int) -> tuple[Link, ...]:
        """The links from `src` to `dst` along the lowest-latency path."""
        key = (src, dst)
        hops = self._routes.get(key)
        if hops is None:
            direct = self.links.get(key)
            if direct is not None and direct.latency <= self._direct_max:
                hops = self._routes[key] = (direct,)
                return hops
            try:
                path = nx.shortest_path(self.graph, src, dst, weight="latency")
            except (nx.NetworkXNoPath, nx.NodeNotFound) as exc:
                raise NetworkError(f"no route from party {src} to party {dst}") from exc
            hops = tuple(self.links[(u, v)] for u, v in zip(path, path[1:], strict=False))
            self._routes[key] = hops
        return hops

    def dropped(self, link: Link) -> bool:
        """Whether `link` loses the message now crossing it (seeded coin)."""
        if link.loss and self.rng.random() < link.loss:
            link.dropped += 1
            return True
        return False

    def fresh(self) -> Network:
        """An idle copy of this network (same links and routes, nothing carried)."""
        twin = Network(self.graph, self.rng, links=_links_of(self.graph))
        for key, link in self.links.items():
            twin.links[key].loss = link.loss
            twin.links[key].extra_delay = link.extra_delay
        return twin


def _links_of(graph: nx.Graph) -> dict[tuple[int, int], Link]:
    links: dict[tuple[int, int], Link] = {}
    for u, v, attrs in graph.edges(data=True):
        try:
            latency = float(attrs["latency"])
            bandwidth = float(attrs["bandwidth"])
        except KeyError as exc:
            raise NetworkError(f"edge ({u}, {v}) has no {exc.args[0]!r} attribute") from None
        if latency < 0 or bandwidth <= 0:
            raise NetworkError(
                f"edge ({u}, {v}): latency must be >= 0 and bandwidth > 0, "
                f"got latency={latency}, bandwidth={bandwidth}"
            )
        loss = float(attrs.get("loss", 0.0))
        for a, b in ((u, v), (v, u)):
            links[(a, b)] = Link(a, b, latency, bandwidth, loss=loss)
    return links
