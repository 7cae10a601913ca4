"""The network model: routes over a topology and FIFO links.

Each undirected edge of the topology is two directed links. A message crosses
its route hop by hop (store-and-forward): on each link it waits until the link
is free (FIFO), occupies it for ``size / bandwidth`` seconds, then travels for
``latency`` seconds (plus any delay a fault adds). Non-adjacent parties talk
along the lowest-latency path; routes are computed once and cached. A direct
link whose latency is at most twice the smallest link latency is taken without a
search (no detour of two or more hops can be faster; on a tie the direct link
wins), which keeps routing a star or complete graph of thousands of parties cheap.

A node may also carry ``nic_bandwidth`` (bytes/s): its network interface, one
FIFO queue for everything it sends (egress) and one for everything it receives
(ingress). Without it, a party sends on all its links at once, as if each link
had its own interface; with it, an all-to-all exchange costs what a real
machine's single NIC makes it. A `sim.hosts.Host` with a ``nic_bandwidth`` gives
all its parties one interface; so do nodes with the same ``machine`` attribute
(topology `machines`: the GPUs of one server, which compute apart and talk over
the topology's fast links inside the machine, but leave it through one NIC).
Every hop between two hosts or machines crosses the sender's egress and the
receiver's ingress, relays included: a party that forwards others' messages (a
group's representative) carries them through its own interface, in and out.
A topology may also give the whole network a ``fabric_bandwidth`` (graph
attribute, bytes/s): the switching fabric between machines, one FIFO queue that
every hop between two hosts or machines crosses after the sender's NIC. It stands
for an oversubscribed core: what all machines send to each other at once shares
its aggregate capacity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import networkx as nx
import numpy as np

from sim.hosts import Host


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
    is_cpu: ClassVar[bool] = False

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
    hosts: Sequence[Host] = ()
    _routes: dict[tuple[int, int], tuple[Link, ...]] = field(default_factory=dict)
    _direct_max: float = field(default=0.0, init=False)
    egress: dict[int, Link] = field(default_factory=dict, init=False)
    ingress: dict[int, Link] = field(default_factory=dict, init=False)
    fabric: Link | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if not self.links:
            self.links = _links_of(self.graph)
        for node, nic in self.graph.nodes(data="nic_bandwidth"):
            if nic is None:
                continue
            if not float(nic) > 0:
                raise NetworkError(f"party {node}: nic_bandwidth must be > 0, got {nic}")
            self.egress[node] = Link(node, node, 0.0, float(nic))
            self.ingress[node] = Link(node, node, 0.0, float(nic))
        machines: dict[object, list[int]] = {}
        for node, machine in self.graph.nodes(data="machine"):
            if machine is not None:
                machines.setdefault(machine, []).append(node)
        for members in machines.values():
            nics = {self.egress[pid].bandwidth for pid in members if pid in self.egress}
            if len(nics) > 1:
                raise NetworkError(f"parties {sorted(members)} share a machine but give its "
                                   f"NIC different nic_bandwidth ({sorted(nics)})")
            if nics:
                self._share_nic(members, nics.pop())
        for host in self.hosts:
            if host.nic_bandwidth is not None:
                self._share_nic(host.parties, float(host.nic_bandwidth))
        self._direct_max = 2 * min((link.latency for link in self.links.values()), default=0.0)
        fabric = self.graph.graph.get("fabric_bandwidth")
        if fabric is not None:
            if not float(fabric) > 0:
                raise NetworkError(f"fabric_bandwidth must be > 0, got {fabric}")
            self.fabric = Link(-1, -1, 0.0, float(fabric))
        self._site = {node: ("node", node) for node in self.graph.nodes}
        self._site.update({pid: ("machine", m) for m, members in machines.items()
                           for pid in members})
        self._site.update({pid: ("host", i) for i, host in enumerate(self.hosts)
                           if len(host.parties) > 1 for pid in host.parties})

    def _share_nic(self, parties: Sequence[int], bandwidth: float) -> None:
        """One egress and one ingress queue for all of `parties` (a host's, a machine's)."""
        first = min(parties)
        out, into = Link(first, first, 0.0, bandwidth), Link(first, first, 0.0, bandwidth)
        for pid in parties:
            self.egress[pid], self.ingress[pid] = out, into

    def route(self, src: int, dst: int) -> tuple[Link, ...]:
        """The queues from `src` to `dst`: the links of the lowest-latency path, each
        hop between two hosts preceded by the egress NIC of the node it leaves and
        followed by the ingress NIC of the node it reaches (NICs only where the
        topology or the hosts give them)."""
        key = (src, dst)
        hops = self._routes.get(key)
        if hops is None:
            direct = self.links.get(key)
            if direct is not None and direct.latency <= self._direct_max:
                path = [src, dst]
            else:
                try:
                    path = nx.shortest_path(self.graph, src, dst, weight="latency")
                except (nx.NetworkXNoPath, nx.NodeNotFound) as exc:
                    raise NetworkError(f"no route from party {src} to party {dst}") from exc
            queues: list[Link] = []
            for u, v in zip(path, path[1:], strict=False):
                across = self._site[u] != self._site[v]
                if across and u in self.egress:
                    queues.append(self.egress[u])
                if across and self.fabric is not None:
                    queues.append(self.fabric)
                queues.append(self.links[(u, v)])
                if across and v in self.ingress:
                    queues.append(self.ingress[v])
            hops = self._routes[key] = tuple(queues)
        return hops

    def path(self, src: int, dst: int) -> tuple[Link, ...]:
        """The topology's links from `src` to `dst` (the route without NICs)."""
        return tuple(link for link in self.route(src, dst) if link.src != link.dst)

    def dropped(self, link: Link) -> bool:
        """Whether `link` loses the message now crossing it (seeded coin)."""
        if link.loss and self.rng.random() < link.loss:
            link.dropped += 1
            return True
        return False

    def fresh(self) -> Network:
        """An idle copy of this network (same links and routes, nothing carried)."""
        twin = Network(self.graph, self.rng, links=_links_of(self.graph), hosts=self.hosts)
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
