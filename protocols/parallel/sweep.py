"""The article's experiment: speedup and error increase of GTC, BMUF and hybrid vs workers.

Usage::

    python -m protocols.parallel.sweep --scenario scenarios/parallel_sweep.toml --out out/sweep

The scenario file gives the model, data, hyper-parameters, links and seed; the
sweep overrides ``method``, ``workers`` and ``groups`` (``workers / group_size``
groups, one group below ``group_size`` workers) and runs every point on a
two-level topology with those groups (`topologies.two_level`: groups fully
linked inside, representatives fully linked; the scenario's ``[topology]``
latency/bandwidth keys, ``inner_``/``outer_`` ones included, are passed on, and
``nic_bandwidth`` becomes every worker's NIC as in `ppsim.scenario`: one queue for
all a worker sends and one for all it receives, so an all-to-all exchange costs
what one network interface per machine makes it cost).
It first runs one worker (``sgd``; no communication), whose simulated time
and held-out error are the reference:

* speedup = (samples per simulated second with N workers) / (with one worker);
* error_increase = (error rate - one-worker error rate) / one-worker error rate.

It prints the table, and writes ``summary.json`` (rows: method, workers,
speedup, error_increase, plus error_rate, sim_time_s, wall_s) and ``sweep.png``.
Points run in ``--jobs`` processes; each is deterministic, so the schedule does
not change the results.
"""

from __future__ import annotations

import argparse
import json
import time
import tomllib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import networkx as nx

import topologies
from protocols.parallel.protocol import ParallelParams, plan
from sim import CostModel
from sim.testing import run_plan

METHODS = ("gtc", "bmuf", "hybrid")
WORKERS = (8, 16, 32, 64, 128)


def run_point(
    base: dict[str, Any], net: dict[str, Any], method: str, workers: int, group_size: int
) -> dict[str, Any]:
    """Simulate one (method, workers) point; return its figures."""
    groups = max(1, workers // group_size)
    params = ParallelParams(**{**base, "method": method, "workers": workers, "groups": groups})
    the_plan = plan(params, net["seed"])
    graph = topologies.two_level(workers, groups=groups, **net["links"])
    if net.get("nic_bandwidth") is not None:
        nx.set_node_attributes(graph, net["nic_bandwidth"], "nic_bandwidth")
    wall = time.perf_counter()
    result, summary = run_plan(the_plan, topology=graph, seed=net["seed"],
                               header_bytes=net["header_bytes"],
                               cost_model=net["cost_model"])
    par = summary["parallel"]
    return {
        "method": method, "workers": workers, "groups": groups,
        "error_rate": summary["accuracy"]["value"],
        "sim_time_s": par["sim_time_s"], "samples": par["samples"],
        "bytes": sum(p.bytes_sent for p in result.ledger.parties),
        "same_model": summary["result_check"]["all_workers_same_model"],
        "wall_s": time.perf_counter() - wall,
    }


def _point(args: tuple) -> dict[str, Any]:
    return run_point(*args)


def load(scenario: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(protocol parameters less the swept ones, network and cost settings) of a scenario."""
    data = tomllib.loads(scenario.read_text())
    base = {k: v for k, v in data["protocol"].items()
            if k not in ("name", "method", "workers", "groups")}
    topo = data.get("topology", {})
    net = {
        "seed": data.get("seed", 0),
        "links": {k: v for k, v in topo.items()
                  if k.endswith(("latency", "bandwidth")) and k != "nic_bandwidth"},
        "nic_bandwidth": topo.get("nic_bandwidth"),
        "header_bytes": data.get("network", {}).get("header_bytes", 0),
        "cost_model": _cost_model(scenario, data.get("cost", {})),
    }
    return base, net


def _cost_model(scenario: Path, cost: dict[str, Any]) -> CostModel:
    """The scenario's ``[cost]``: its model (a path is relative to it), overridden."""
    name = cost.get("model", "default")
    model = CostModel.default() if name == "default" else CostModel.load(scenario.parent / name)
    return model.with_overrides({k: v for k, v in cost.items() if k != "model"})


def sweep(
    scenario: Path, workers: tuple[int, ...] = WORKERS, methods: tuple[str, ...] = METHODS,
    group_size: int = 8, jobs: int = 2,
) -> list[dict[str, Any]]:
    """Run the one-worker reference and every (method, workers) point; return the rows."""
    base, net = load(scenario)
    grid = [(base, net, "sgd", 1, group_size)]
    grid += [(base, net, m, n, group_size)
             for n in sorted(workers, reverse=True) for m in methods]
    with ProcessPoolExecutor(jobs) as pool:
        points = list(pool.map(_point, grid))
    ref = points[0]
    ref_rate = ref["samples"] / ref["sim_time_s"]
    rows = []
    for p in sorted(points[1:], key=lambda p: (METHODS.index(p["method"]), p["workers"])):
        rate = p["samples"] / p["sim_time_s"]
        rows.append({
            **p,
            "speedup": rate / ref_rate,
            "error_increase": (p["error_rate"] - ref["error_rate"]) / ref["error_rate"],
            "reference_error_rate": ref["error_rate"],
        })
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The article-like table: speedup and relative error increase per method and workers."""
    counts = sorted({r["workers"] for r in rows})
    by = {(r["method"], r["workers"]): r for r in rows}
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    head = f"{'workers':>8} | " + " | ".join(f"{m:^19}" for m in methods)
    sub = f"{'':>8} | " + " | ".join(f"{'speedup':>8} {'err inc':>10}" for _ in methods)
    lines = [head, sub, "-" * len(sub)]
    for n in counts:
        cells = []
        for m in methods:
            r = by.get((m, n))
            cells.append(f"{r['speedup']:8.1f} {100 * r['error_increase']:+9.1f}%" if r
                         else " " * 19)
        lines.append(f"{n:>8} | " + " | ".join(cells))
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for m in METHODS:
        pts = sorted((r["workers"], r["speedup"], r["error_increase"])
                     for r in rows if r["method"] == m)
        if not pts:
            continue
        n, s, e = zip(*pts, strict=True)
        ax1.plot(n, s, marker="o", label=m)
        ax2.plot(n, [100 * x for x in e], marker="o", label=m)
    ax1.plot([1, 128], [1, 128], ls=":", color="grey", label="linear")
    for ax, title in ((ax1, "speedup vs one worker"), (ax2, "error-rate increase (%)")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("workers")
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", type=Path, default=Path("scenarios/parallel_sweep.toml"))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--workers", default=",".join(map(str, WORKERS)))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--group-size", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    start = time.perf_counter()
    rows = sweep(args.scenario, tuple(int(w) for w in args.workers.split(",")),
                 tuple(args.methods.split(",")), args.group_size, args.jobs)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(rows, indent=2))
    plot(rows, args.out / "sweep.png")
    print(table(rows))
    print(f"one-worker error rate {rows[0]['reference_error_rate']:.4f}; "
          f"wall {time.perf_counter() - start:.0f} s; wrote {args.out}/summary.json, sweep.png")


if __name__ == "__main__":
    main()
