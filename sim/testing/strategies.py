"""Hypothesis strategies for protocol tests: party counts, topologies, fault plans, inputs.

    from hypothesis import given
    from sim.testing.strategies import fixed_point, party_counts, topologies

    @given(n=party_counts(2, 6), data=st.data())
    def test_sum(n, data):
        graph = data.draw(topologies(n))
        x = data.draw(fixed_point((n, 10), frac_bits=16, bound=100))

Topologies are built by `topologies.build`, so they are those a scenario file
can name; fault plans are lists of `sim.Crash` and `sim.LinkFault` for
``run(..., faults=...)`` (the simulator only: the TCP runtime takes none).
Importing this module imports hypothesis; `sim.testing` itself does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import networkx as nx
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import topologies as topo
from sim.engine import Crash, LinkFault

KINDS = ("complete", "star", "ring", "line", "tree", "two_level", "regular")
"""Every kind a generated topology may take (``file`` needs a file)."""


def party_counts(min_parties: int = 2, max_parties: int = 8) -> st.SearchStrategy[int]:
    """Numbers of parties in ``min_parties..max_parties``; shrinks towards the fewest."""
    if not 1 <= min_parties <= max_parties:
        raise ValueError(f"need 1 <= min_parties <= max_parties, got {min_parties}, "
                         f"{max_parties}")
    return st.integers(min_parties, max_parties)


def _options(kind: str, n: int) -> st.SearchStrategy[dict]:
    """The builder's own options for `kind` over `n` parties, or nothing if it cannot build."""
    if kind == "star":
        return st.builds(dict, hub=st.integers(0, n - 1))
    if kind == "tree":
        return st.builds(dict, branching=st.integers(1, 3))
    if kind == "two_level":
        return st.builds(dict, groups=st.sampled_from([g for g in range(1, n + 1) if n % g == 0]))
    if kind == "regular":
        degrees = [d for d in range(2, n) if n * d % 2 == 0]
        return st.builds(dict, degree=st.sampled_from(degrees), seed=st.integers(0, 2**16))
    return st.just({})


def _buildable(kind: str, n: int) -> bool:
    if kind == "ring":
        return n >= 3
    if kind == "star":
        return n >= 2
    if kind == "regular":
        return n >= 3 and any(n * d % 2 == 0 for d in range(2, n))
    return n >= 1


def topologies(n: int | st.SearchStrategy[int], kinds: Iterable[str] = KINDS, *,
               latency: tuple[float, float] = (1e-4, 1e-2),
               bandwidth: tuple[float, float] = (1e6, 1e9)) -> st.SearchStrategy[nx.Graph]:
    """Connected topologies over `n` parties (a number or a strategy), of the given
    `kinds`, with one latency (s) and bandwidth (bytes/s) drawn from the ranges for
    every link. Kinds that cannot span `n` parties (a ring of 2) are skipped."""
    kinds = tuple(kinds)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown topology kinds {unknown}; known: {', '.join(KINDS)}")
    counts = n if isinstance(n, st.SearchStrategy) else st.just(n)

    @st.composite
    def build(draw: st.DrawFn) -> nx.Graph:
        size = draw(counts)
        usable = [k for k in kinds if _buildable(k, size)]
        if not usable:
            raise ValueError(f"none of the kinds {list(kinds)} spans {size} parties")
        kind = draw(st.sampled_from(usable))
        options = draw(_options(kind, size))
        links = {"latency": draw(st.floats(*latency)), "bandwidth": draw(st.floats(*bandwidth))}
        return topo.build(kind, size, **options, **links)

    return build()


def fault_plans(graph: nx.Graph | int, *, crashable: Sequence[int] | None = None,
                max_faults: int = 2, horizon: float = 1.0,
                kinds: Iterable[str] = ("crash", "drop", "delay"),
                ) -> st.SearchStrategy[list[Crash | LinkFault]]:
    """Lists of up to `max_faults` faults: crashes of parties in `crashable` (default
    all) at a time in ``[0, horizon]`` s, and drops (probability in [0, 1]) or delays
    (up to `horizon` s) on links of `graph` (or of the complete graph of that many
    parties). A party crashes at most once."""
    if isinstance(graph, int):
        graph = nx.complete_graph(graph)
    kinds = tuple(kinds)
    parties = list(graph.nodes) if crashable is None else list(crashable)
    links = sorted(tuple(sorted(e)) for e in graph.edges)
    options = []
    if "crash" in kinds and parties:
        options.append(st.builds(Crash, st.sampled_from(parties), st.floats(0, horizon)))
    if "drop" in kinds and links:
        options.append(st.builds(lambda uv, p: LinkFault(*uv, drop=p), st.sampled_from(links),
                                 st.floats(0, 1)))
    if "delay" in kinds and links:
        options.append(st.builds(lambda uv, s: LinkFault(*uv, delay=s), st.sampled_from(links),
                                 st.floats(0, horizon)))
    if not options:
        return st.just([])
    return st.lists(st.one_of(options), max_size=max_faults).filter(_one_crash_each)


def _one_crash_each(faults: list[Crash | LinkFault]) -> bool:
    crashed = [f.party for f in faults if isinstance(f, Crash)]
    return len(crashed) == len(set(crashed))


def fixed_point(shape: int | tuple[int, ...] | st.SearchStrategy[tuple[int, ...]],
                frac_bits: int = 16, bound: float = 100.0) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of `shape` whose values are multiples of 2^-frac_bits in
    ``[-bound, bound]``: fixed-point inputs that encode exactly, so a test can
    compare a protocol's result with the plaintext one on the same numbers.
    Extremes (0, +-bound, one unit) come up early, as hypothesis does for integers."""
    if not 0 <= frac_bits <= 52 or bound <= 0:
        raise ValueError(f"need 0 <= frac_bits <= 52 and bound > 0, got {frac_bits}, {bound}")
    top = int(bound * 2**frac_bits)
    units = hnp.arrays(np.int64, shape, elements=st.integers(-top, top))
    return units.map(lambda a: a / 2.0**frac_bits)
