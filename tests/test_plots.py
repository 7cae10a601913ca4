"""Figures for papers: distinct series, human units, spread of repetitions, log axes,
legible phase figures, and the HTML page of ``ppsim report``."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.collections import PolyCollection

from ppsim import plots
from ppsim.units import byte_unit, fmt_bytes, fmt_seconds, time_unit


def test_series_styles_differ():
    looks = [plots.style(i) for i in range(24)]
    assert len({(s.color, s.marker, s.linestyle) for s in looks}) == 24
    for a, b in zip(looks, looks[1:], strict=False):
        assert a.color != b.color and a.marker != b.marker and a.linestyle != b.linestyle


@pytest.mark.parametrize(("largest", "unit"), [
    (0, "B"), (999, "B"), (1000, "kB"), (4.2e6, "MB"), (3e9, "GB"), (5e13, "TB")])
def test_byte_units(largest, unit):
    assert byte_unit(largest)[0] == unit


@pytest.mark.parametrize(("largest", "unit"), [
    (2e-9, "ns"), (3e-6, "µs"), (0.035, "ms"), (1.0, "s"), (5000.0, "s")])
def test_time_units(largest, unit):
    assert time_unit(largest)[0] == unit


def test_human_text():
    assert fmt_bytes(4_213_554) == "4.21 MB" and fmt_bytes(512) == "512 B"
    assert fmt_seconds(0.0351) == "35.1 ms" and fmt_seconds(0) == "0 s"


# ---------------------------------------------------------------- sweep figures


def _table(repetitions: int = 3) -> pd.DataFrame:
    """Two protocols over parties 2..2048: bytes span decades, time varies by repetition."""
    rows = []
    for protocol, factor in (("a", 1.0), ("b", 1.0)):  # equal costs: the series coincide
        for parties in (2, 16, 128, 2048):
            for rep in range(repetitions):
                rows.append({"protocol.name": protocol, "protocol.parties": parties,
                             "repetition": rep, "bytes": factor * 1000 * parties ** 2,
                             "link_bytes": 2000 * parties ** 2, "rounds": 3,
                             "sim_time_s": 0.002 * parties + 0.001 * rep})
    return pd.DataFrame(rows)


def test_cost_figure_units_markers_bands_and_log_axes():
    fig = plots.cost_figure(_table(), "protocol.parties", ["protocol.name"])
    bytes_ax, _, rounds_ax, time_ax = fig.axes[:4]
    assert bytes_ax.get_ylabel() == "bytes sent by the parties (GB)"
    assert time_ax.get_ylabel() == "simulated time (s)"
    assert rounds_ax.get_ylabel() == "communication rounds (count)"
    assert bytes_ax.get_yscale() == "log" and bytes_ax.get_xscale() == "log"
    assert rounds_ax.get_yscale() == "linear"
    lines = bytes_ax.get_lines()
    assert len(lines) == 2 and lines[0].get_marker() != lines[1].get_marker()
    assert lines[0].get_linestyle() != lines[1].get_linestyle()
    # coinciding series stay visible: the later one is smaller and hollow
    assert lines[1].get_markersize() < lines[0].get_markersize()
    assert lines[1].get_markerfacecolor() == "none"
    # time varies between repetitions: a band around each line; bytes do not
    assert len([c for c in time_ax.collections if isinstance(c, PolyCollection)]) == 2
    assert not [c for c in bytes_ax.collections if isinstance(c, PolyCollection)]
    assert "band: ± one standard deviation" in fig.get_suptitle()


def test_one_repetition_draws_no_band():
    fig = plots.cost_figure(_table(repetitions=1), "protocol.parties", ["protocol.name"])
    assert not any(isinstance(c, PolyCollection) for ax in fig.axes for c in ax.collections)
    assert "band" not in fig.get_suptitle()


def test_categorical_x_draws_bars_with_error_bars():
    fig = plots.cost_figure(_table(), "protocol.name", ["protocol.parties"])
    time_ax = fig.axes[3]
    assert len(time_ax.patches) == 8  # 2 protocols x 4 sizes
    assert len({p.get_hatch() for p in time_ax.patches}) == 4  # one hatch per series
    assert time_ax.containers and any(c.has_yerr for c in time_ax.containers
                                      if hasattr(c, "has_yerr"))
    assert "error bars" in fig.get_suptitle()


# ---------------------------------------------------------------- phases

XORBOOST_LIKE = [
    {"name": name, "offline": off, "bytes": b, "messages": 1, "rounds": 1,
     "sim_time_s": 0.5, "compute_s": 0.0}
    for t in range(10) for lv in range(4) for name, off, b in (
        (f"offline:tree{t}.level{lv}", True, 100), (f"tree{t}.level{lv}", False, 1000 + lv))
] + [{"name": "input", "offline": False, "bytes": 7, "messages": 1, "rounds": 1,
      "sim_time_s": 0.1, "compute_s": 0.0}]


def test_fit_phases_merges_numbered_steps_first():
    rows = plots.fit_phases(XORBOOST_LIKE, limit=12)
    names = {(r["name"], r["offline"]): r for r in rows}
    assert set(names) == {("offline:tree*.level0", True), ("offline:tree*.level1", True),
                          ("offline:tree*.level2", True), ("offline:tree*.level3", True),
                          ("tree*.level0", False), ("tree*.level1", False),
                          ("tree*.level2", False), ("tree*.level3", False),
                          ("input", False)}
    assert names[("tree*.level3", False)]["bytes"] == 10 * 1003
    assert names[("tree*.level3", False)]["phases"] == 10


def test_fit_phases_then_merges_all_numbers_cuts_levels_and_folds_the_smallest_into_other():
    assert {r["name"] for r in plots.fit_phases(XORBOOST_LIKE, limit=3)} == {
        "offline:tree*.level*", "tree*.level*", "input"}
    rows = plots.fit_phases(XORBOOST_LIKE, limit=2)
    assert [r["name"] for r in rows] == ["tree*", "other"]
    assert rows[1]["bytes"] == 40 * 100 + 7


phase = st.fixed_dictionaries({
    "name": st.lists(st.sampled_from(["a", "b7", "c12", "sum", "x1y2"]), min_size=1,
                     max_size=4).map(".".join),
    "offline": st.booleans(),
    "bytes": st.integers(0, 10**9), "messages": st.integers(0, 100),
    "rounds": st.integers(0, 20), "sim_time_s": st.floats(0, 100), "compute_s": st.floats(0, 1),
})


@settings(max_examples=150, deadline=None)
@given(st.lists(phase, max_size=60, unique_by=lambda p: (p["name"], p["offline"])),
       st.integers(2, 15))
def test_fit_phases_keeps_every_total_and_the_limit(phases, limit):
    rows = plots.fit_phases(phases, limit)
    assert len(rows) <= max(limit, 0) and sum(r["phases"] for r in rows) == len(phases)
    for key in ("bytes", "messages", "rounds"):
        assert sum(r[key] for r in rows) == sum(p[key] for p in phases)
    assert sum(r["sim_time_s"] for r in rows) == pytest.approx(
        sum(p["sim_time_s"] for p in phases))


def test_the_phases_figure_of_a_long_run_is_legible():
    fig = plots.phases_figure(XORBOOST_LIKE)
    bytes_ax = fig.axes[0]
    labels = [t.get_text() for t in bytes_ax.get_yticklabels()]
    assert len(bytes_ax.patches) == len(labels) <= plots.MAX_PHASES
    assert "tree*.level1 ×10" in labels and "input" in labels
    assert bytes_ax.get_xlabel() == "bytes sent (kB)"
    assert "81 phases rolled up by name" in fig.get_suptitle()


# ---------------------------------------------------------------- the page


def test_report_writes_an_html_page_with_tables_and_inline_figures(tmp_path):
    rep = {
        "runtime": "sim", "scenario": {"name": "demo", "protocol": {"name": "xorboost"},
                                       "topology": {"kind": "star"}},
        "parties": [{}] * 3, "totals": {"rounds": 9, "messages": 120, "bytes": 4_000_000,
                                        "sim_time_s": 1.5},
        "wall_time_s": 0.2, "trust": "a dealer", "phases": XORBOOST_LIKE,
        "absent": {"accuracy": "not computed in cost_only mode"},
    }
    (tmp_path / "report.json").write_text(json.dumps(rep))
    written = plots.report(tmp_path / "report.json", tmp_path / "out")
    assert [p.name for p in written] == ["summary.md", "report.html", "phases.png"]
    page = (tmp_path / "out" / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<title>demo: xorboost on star</title>" in page
    assert len(re.findall(r'<img alt="phases" src="data:image/png;base64,', page)) == 1
    assert page.count("<table>") == 1 and page.count("<tr>") == len(XORBOOST_LIKE) + 1
    assert "Accuracy: not computed in cost_only mode." in page
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "![phases](phases.png)" in summary and "## Phases" in summary
