"""Topology builders: the structure each one promises, and a clear error for every bad argument."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import topologies
from topologies import TopologyError, build

LINK = {"latency": 0.002, "bandwidth": 5e6}


def _edges(graph: nx.Graph) -> set[frozenset[int]]:
    return {frozenset(e) for e in graph.edges}


def _check_common(graph: nx.Graph, n: int, latency=0.002, bandwidth=5e6) -> None:
    assert sorted(graph.nodes) == list(range(n))
    assert nx.is_connected(graph)
    for _, _, attrs in graph.edges(data=True):
        assert attrs == {"latency": latency, "bandwidth": bandwidth}


@given(n=st.integers(1, 30))
def test_complete_links_every_pair(n):
    graph = build("complete", n, **LINK)
    _check_common(graph, n)
    assert graph.number_of_edges() == n * (n - 1) // 2


@given(n=st.integers(2, 30), data=st.data())
def test_star_links_the_hub_to_everyone_else(n, data):
    hub = data.draw(st.integers(0, n - 1))
    graph = build("star", n, hub=hub, **LINK)
    _check_common(graph, n)
    assert _edges(graph) == {frozenset((hub, i)) for i in range(n) if i != hub}


@given(n=st.integers(3, 30))
def test_ring_is_one_cycle_through_consecutive_ids(n):
    graph = build("ring", n, **LINK)
    _check_common(graph, n)
    assert _edges(graph) == {frozenset((i, (i + 1) % n)) for i in range(n)}


@given(n=st.integers(1, 30))
def test_line_joins_consecutive_ids_only(n):
    graph = build("line", n, **LINK)
    _check_common(graph, n)
    assert _edges(graph) == {frozenset((i, i + 1)) for i in range(n - 1)}


@given(n=st.integers(1, 40), branching=st.integers(1, 5))
def test_tree_parent_of_i_is_i_minus_1_div_branching(n, branching):
    graph = build("tree", n, branching=branching, **LINK)
    _check_common(graph, n)
    assert nx.is_tree(graph)
    assert _edges(graph) == {frozenset(((i - 1) // branching, i)) for i in range(1, n)}
    # balanced: every level but the last is full (branching**d nodes at depth d)
    depths = nx.single_source_shortest_path_length(graph, 0)
    last = max(depths.values())
    for d in range(last):
        assert sum(1 for x in depths.values() if x == d) == branching ** d


@given(groups=st.integers(1, 6), m=st.integers(1, 6))
def test_two_level_groups_and_representatives(groups, m):
    n = groups * m
    graph = build(
        "two_level", n, groups=groups, latency=0.01, bandwidth=1e6,
        inner_latency=0.001, inner_bandwidth=1e8,
    )
    assert sorted(graph.nodes) == list(range(n)) and nx.is_connected(graph)
    reps = set(range(0, n, m))
    for u, v, attrs in graph.edges(data=True):
        if u // m == v // m:
            assert attrs == {"latency": 0.001, "bandwidth": 1e8}
        else:  # only representatives cross groups, with the outer (default) link
            assert {u, v} <= reps
            assert attrs == {"latency": 0.01, "bandwidth": 1e6}
    inner = m * (m - 1) // 2 * groups
    outer = groups * (groups - 1) // 2
    assert graph.number_of_edges() == inner + outer


def test_two_level_outer_overrides_and_defaults():
    graph = build("two_level", 6, groups=3, outer_latency=0.05, outer_bandwidth=1e3, **LINK)
    assert graph.edges[0, 2] == {"latency": 0.05, "bandwidth": 1e3}
    assert graph.edges[0, 1] == LINK


@given(n=st.integers(1, 30), per=st.integers(1, 8))
def test_machines_link_every_pair_fast_inside_a_machine(n, per):
    graph = build("machines", n, per_machine=per, latency=0.01, bandwidth=1e6,
                  inner_latency=1e-5, inner_bandwidth=1e10)
    assert sorted(graph.nodes) == list(range(n))
    assert graph.number_of_edges() == n * (n - 1) // 2
    assert all(graph.nodes[i]["machine"] == i // per for i in range(n))
    for u, v, attrs in graph.edges(data=True):
        inside = u // per == v // per
        assert attrs == ({"latency": 1e-5, "bandwidth": 1e10} if inside
                         else {"latency": 0.01, "bandwidth": 1e6})


@settings(max_examples=40)
@given(n=st.integers(3, 40), degree=st.integers(2, 6), seed=st.integers(0, 2**32))
def test_regular_is_connected_regular_and_seeded(n, degree, seed):
    if degree >= n or n * degree % 2:
        with pytest.raises(TopologyError, match="degree"):
            build("regular", n, degree=degree, seed=seed)
        return
    graph = build("regular", n, degree=degree, seed=seed, **LINK)
    _check_common(graph, n)
    assert {d for _, d in graph.degree} == {degree}
    again = build("regular", n, degree=degree, seed=seed, **LINK)
    assert _edges(again) == _edges(graph)


def test_regular_seeds_give_different_graphs():
    drawn = {frozenset(_edges(build("regular", 20, degree=3, seed=s))) for s in range(5)}
    assert len(drawn) > 1


def test_defaults_are_documented_values():
    graph = build("line", 2)
    assert graph.edges[0, 1] == {
        "latency": topologies.DEFAULT_LATENCY, "bandwidth": topologies.DEFAULT_BANDWIDTH,
    }


def test_kinds_describe_every_buildable_kind():
    assert set(topologies.KINDS) == {
        "complete", "star", "ring", "line", "tree", "two_level", "machines", "regular", "file",
    }
    assert all(isinstance(text, str) and text for text in topologies.KINDS.values())


# -- files -------------------------------------------------------------------------------------


def test_edge_list_with_per_edge_attributes_and_defaults(tmp_path: Path):
    path = tmp_path / "net.txt"
    path.write_text("# three hosts\n1 2 0.01 1e6\n2 3   # default link\n\n")
    graph = topologies.from_file(path, latency=0.5, bandwidth=2e3)
    assert sorted(graph.nodes) == [0, 1, 2]  # labels 1..3 numbered 0..2 in order
    assert graph.edges[0, 1] == {"latency": 0.01, "bandwidth": 1e6}
    assert graph.edges[1, 2] == {"latency": 0.5, "bandwidth": 2e3}


def test_edge_list_labels_sort_numerically_not_as_text(tmp_path: Path):
    path = tmp_path / "net.txt"
    path.write_text("10 9\n9 2\n")
    graph = build("file", 3, path=str(path), **LINK)
    assert _edges(graph) == {frozenset((2, 1)), frozenset((1, 0))}


def test_edge_list_text_labels_sort_alphabetically(tmp_path: Path):
    path = tmp_path / "net.txt"
    path.write_text("carol alice\nalice bob\n")
    graph = topologies.from_file(path, **LINK)
    assert _edges(graph) == {frozenset((2, 0)), frozenset((0, 1))}


def test_graphml_round_trip(tmp_path: Path):
    source = nx.Graph()
    source.add_edge("a", "b", latency=0.003, bandwidth=7e6)
    source.add_edge("b", "c")
    path = tmp_path / "net.graphml"
    nx.write_graphml(source, path)
    graph = topologies.from_file(path, latency=0.1, bandwidth=1e3)
    assert graph.edges[0, 1] == {"latency": 0.003, "bandwidth": 7e6}
    assert graph.edges[1, 2] == {"latency": 0.1, "bandwidth": 1e3}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("0 1\n2 3\n", "not connected"),
        ("0 1 0.1\n", "line 1"),
        ("0 1 fast 1e6\n", "must be numbers"),
        ("0 0\n", "self-loop"),
        ("0 1 -0.1 1e6\n", "latency"),
        ("0 1 0.1 0\n", "bandwidth"),
        ("0 1 nan 1e6\n", "latency"),
        ("# only a comment\n", "no edges"),
    ],
)
def test_bad_edge_lists(tmp_path: Path, text: str, match: str):
    path = tmp_path / "net.txt"
    path.write_text(text)
    with pytest.raises(TopologyError, match=match):
        topologies.from_file(path, **LINK)


def test_file_edge_without_link_values_names_the_missing_one(tmp_path: Path):
    path = tmp_path / "net.txt"
    path.write_text("0 1\n")
    with pytest.raises(TopologyError, match="no latency"):
        topologies.from_file(path)
    with pytest.raises(TopologyError, match="no bandwidth"):
        topologies.from_file(path, latency=0.1)


def test_file_errors(tmp_path: Path):
    with pytest.raises(TopologyError, match="'path'.*existing"):
        topologies.from_file(tmp_path / "absent.txt")
    bad_xml = tmp_path / "net.graphml"
    bad_xml.write_text("<graphml><oops")
    with pytest.raises(TopologyError, match="GraphML"):
        topologies.from_file(bad_xml, **LINK)
    path = tmp_path / "net.txt"
    path.write_text("0 1\n1 2\n")
    with pytest.raises(TopologyError, match="3 nodes; expected n = 4"):
        build("file", 4, path=str(path), **LINK)


# -- bad arguments -------------------------------------------------------------------------------

BAD = [
    ("complete", 0, {}, "'n'.*got 0.*>= 1"),
    ("complete", 2.0, {}, "'n'.*integer"),
    ("complete", True, {}, "'n'.*integer"),
    ("star", 1, {}, "'n'.*>= 2"),
    ("star", 0, {}, "'n'.*>= 2"),
    ("star", 4, {"hub": 4}, "'hub'.*got 4.*0..3"),
    ("star", 4, {"hub": -1}, "'hub'.*got -1"),
    ("ring", 2, {}, "'n'.*>= 3"),
    ("line", -1, {}, "'n'"),
    ("tree", 5, {"branching": 0}, "'branching'.*got 0"),
    ("two_level", 6, {"groups": 4}, "'groups'.*divisor of n = 6"),
    ("two_level", 6, {"groups": 0}, "'groups'.*>= 1"),
    ("two_level", 6, {"groups": 12}, "'groups'"),
    ("two_level", 6, {"groups": 2, "inner_latency": -1.0}, "'inner_latency'.*got -1.0"),
    ("two_level", 6, {"groups": 2, "outer_bandwidth": 0}, "'outer_bandwidth'.*got 0"),
    ("machines", 4, {"per_machine": 0}, "'per_machine'.*got 0.*>= 1"),
    ("machines", 4, {}, "missing parameter 'per_machine'"),
    ("machines", 4, {"per_machine": 2, "inner_bandwidth": 0}, "'inner_bandwidth'.*got 0"),
    ("machines", 4, {"per_machine": 2, "fabric_bandwidth": -1.0}, "'fabric_bandwidth'.*got -1"),
    ("regular", 6, {"degree": 6}, "'degree'.*< n = 6"),
    ("regular", 5, {"degree": 3}, "'degree'.*even"),
    ("regular", 6, {"degree": 1}, "'degree'.*cannot connect"),
    ("regular", 6, {"degree": 0}, "'degree'.*>= 1"),
    ("regular", 6, {"degree": 3, "seed": -2}, "'seed'"),
    ("complete", 3, {"latency": -0.1}, "'latency'.*got -0.1.*>= 0"),
    ("complete", 3, {"latency": math.inf}, "'latency'.*finite"),
    ("complete", 3, {"latency": "1ms"}, "'latency'.*got '1ms'"),
    ("star", 3, {"bandwidth": -5.0}, "'bandwidth'.*got -5.0.*> 0"),
    ("ring", 3, {"bandwidth": 0}, "'bandwidth'.*> 0"),
    ("line", 3, {"bandwidth": math.nan}, "'bandwidth'.*finite"),
    ("tree", 3, {"bandwidth": None}, "'bandwidth'"),
    ("complete", 3, {"hub": 1}, "unknown parameter 'hub'.*latency"),
    ("two_level", 4, {}, "missing parameter 'groups'"),
    ("regular", 4, {}, "missing parameter 'degree'"),
    ("hypercube", 4, {}, "unknown topology kind 'hypercube'; known kinds: complete, star"),
]


@pytest.mark.parametrize(("kind", "n", "params", "match"), BAD)
def test_bad_arguments_name_parameter_value_and_expectation(kind, n, params, match):
    with pytest.raises(TopologyError, match=match) as info:
        build(kind, n, **params)
    assert isinstance(info.value, ValueError)
