"""XORBoost benchmarks: print figures (no asserts).

    .venv/bin/python benchmarks/xorboost.py scenarios   # every scenarios/xorboost_*.toml
    .venv/bin/python benchmarks/xorboost.py formula     # per-tree rounds and bytes
    .venv/bin/python benchmarks/xorboost.py scale       # wall, peak memory, per tree
    .venv/bin/python benchmarks/xorboost.py large       # full run 100,000 x 50, 5 trees
    .venv/bin/python benchmarks/xorboost.py paper       # the published shape, cost-only
    .venv/bin/python benchmarks/xorboost.py paper_full  # the published shape, in full
    .venv/bin/python benchmarks/xorboost.py seeds       # AUC gaps over seeds, per split
    .venv/bin/python benchmarks/xorboost.py all         # all but large, paper_full, seeds

Full runs go to child processes (peak RSS is per process) with the environment
`TUNED`: numpy without transparent huge pages (here a page fault on a huge page
region stalled on compaction: masking 1.5 GB took 5.9 s instead of 1.3 s) and
glibc keeping freed memory for reuse (MALLOC_MMAP_MAX_=0, no trimming), which
saved a third of a run's wall time on this 2-core VM. Wall times depend on the
machine's load: each row prints the load average beside them.

Rounds per tree (logistic): 84 for the gradients (none in the first tree, whose
margins are public) + per level the formula of tests/test_xorboost.py
(`level_rounds`: 48 + 20 ceil(log2(C + 1)) at the root, C candidates per node)
+ the leaves'; bytes per sample of a level: `level_bytes_per_sample` there.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ppsim.run import run_scenario  # noqa: E402
from ppsim.scenario import load  # noqa: E402
from protocols.xorboost.protocol import (  # noqa: E402
    XorboostParams,
    baseline,
    layout,
    plan,
    prepare,
)
from sim.testing import run_plan  # noqa: E402


def run_complete(params: XorboostParams, seed: int = 0, prep=None):  # noqa: ANN001, ANN201
    """One run over a complete topology with 0.5 ms links: (RunResult, summary)."""
    return run_plan(plan(params, seed, prep), seed=seed, latency=5e-4)

TUNED = {"NUMPY_MADVISE_HUGEPAGE": "0", "MALLOC_MMAP_MAX_": "0",
         "MALLOC_TRIM_THRESHOLD_": str(1 << 40)}


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def _mb(x: float) -> str:
    return f"{x / 1e6:,.1f}"


def scenarios() -> None:
    """One row per shipped XORBoost scenario: costs, the secure AUC against xgboost's on
    the pooled data (and, for horizontal and mixed splits, xgboost's distributed training
    on the same row groups), and whether the trees are xgboost's split for split."""
    from protocols.xorboost.model import compare_trees
    from protocols.xorboost.protocol import versus_distributed

    print(f"{'scenario':22} {'split':10} {'own':>3} {'srv':>3} {'rounds':>6} {'online MB':>9} "
          f"{'sim s':>6} {'secure':>7} {'pooled':>7} {'diff':>7} {'distrib':>7} "
          f"{'same trees as':>14} {'wall s':>6}")
    for path in sorted((ROOT / "scenarios").glob("xorboost_*.toml")):
        if path.stem == "xorboost_paper":
            continue
        scenario = load(path)
        params = scenario.params
        prep = prepare(params, scenario.model.seed)
        t0 = time.perf_counter()
        result, summary = run_complete(params, scenario.model.seed, prep)
        wall = time.perf_counter() - t0
        rep = run_scenario(scenario)
        model = result.outputs[layout(params).analyst]
        acc = summary["accuracy"]
        same, dist = "", "-"
        if params.split == "vertical":
            diffs = compare_trees(model.to_xgboost_json(), baseline(prep).save_raw("json"),
                                  prep.train.x, 1e-5)
            same = f"pooled {sum(d is None for d in diffs)}/{len(diffs)}"
        else:
            diffs, distributed = versus_distributed(prep, model)
            same = f"distrib {sum(d is None for d in diffs)}/{len(diffs)}"
            dist = f"{distributed[acc['metric']]:.4f}"
        online = rep["totals"]["bytes"] - rep["offline"]["bytes"]
        print(f"{path.stem:22} {params.split:10} {params.owners:>3} {params.servers:>3} "
              f"{rep['totals']['rounds']:>6} {_mb(online):>9} {rep['totals']['sim_time_s']:>6.2f} "
              f"{acc['value']:>7.4f} {acc['baseline']:>7.4f} "
              f"{acc['value'] - acc['baseline']:>+7.4f} {dist:>7} {same:>14} {wall:>6.2f}")


def auc_gaps(params: XorboostParams, seed: int) -> dict:
    """At one seed: test AUC of the secure model, of xgboost on the pooled data and of
    xgboost's distributed training on the owners' row groups (`distributed_baseline`,
    the cut points the owners agree on), and whether the secure trees are the
    distributed ones split for split."""
    from protocols.xorboost.protocol import versus_distributed

    prep = prepare(params, seed)
    result, summary = run_complete(params, seed, prep)
    diffs, distributed = versus_distributed(prep, result.outputs[layout(params).analyst])
    return {"secure": summary["accuracy"]["value"], "pooled": summary["accuracy"]["baseline"],
            "distributed": distributed["auc"], "same": all(d is None for d in diffs)}


SWEEP = ROOT / "scenarios" / "sweep_xorboost_splits.toml"


def _sweep_points() -> list[tuple[XorboostParams, int]]:
    """The distinct (params, seed) of scenarios/sweep_xorboost_splits.toml's points."""
    from ppsim.scenario import from_dict, read
    from ppsim.sweep import parse

    sweep = parse(read(SWEEP), str(SWEEP))
    out = [(from_dict(sweep.data(p)).params, p.seed) for p in sweep.points]
    return list({(params.split, params.owners, seed): (params, seed)
                 for params, seed in out}.values())


def seeds(count: int = 20, master: int = 2026) -> None:
    """How far the secure model's AUC is from pooled xgboost's, and why: (a) xgboost's
    own distributed training on the same row groups against pooled xgboost (its
    sketch merge gives other cut points), (b) the secure model against that
    distributed training (the protocol's own error). First every point of
    scenarios/sweep_xorboost_splits.toml, then `count` seeds per split kind and owner
    count of that sweep, drawn at `master`."""
    head = (f"{'split':10} {'own':>3} {'seed':>10} {'secure':>7} {'pooled':>7} {'distrib':>7} "
            f"{'sec-pool':>8} {'dist-pool':>9} {'sec-dist':>9} {'trees':>5}")
    points = _sweep_points()
    print("-- the sweep's points\n" + head)
    for params, seed in points:
        r = auc_gaps(params, seed)
        print(f"{params.split:10} {params.owners:>3} {seed:>10} {r['secure']:>7.4f} "
              f"{r['pooled']:>7.4f} {r['distributed']:>7.4f} "
              f"{r['secure'] - r['pooled']:>+8.4f} {r['distributed'] - r['pooled']:>+9.4f} "
              f"{r['secure'] - r['distributed']:>+9.1e} {'same' if r['same'] else 'DIFF':>5}")
    drawn = [int(s) for s in np.random.default_rng(master).integers(0, 2**32, count)]
    kinds = sorted({(p.split, p.owners) for p, _ in points})
    print(f"-- {count} seeds per split (master seed {master}): AUC differences, their mean, "
          "mean absolute value and the largest in absolute value (signed)")
    print(f"{'split':10} {'own':>3} {'seeds':>5} {'secure-pooled: mean':>19} {'mean|d|':>7} "
          f"{'worst':>7} {'distrib-pooled: mean':>20} {'mean|d|':>7} {'worst':>7} "
          f"{'secure-distrib worst':>20} {'same trees':>10} {'|secure-pooled|>0.005':>21} "
          f"{'load':>5}")
    base = points[0][0]
    for split, owners in kinds:
        params = base.model_copy(update={"split": split, "owners": owners})
        rows = [auc_gaps(params, s) for s in drawn]
        sp = np.array([r["secure"] - r["pooled"] for r in rows])
        dp = np.array([r["distributed"] - r["pooled"] for r in rows])
        sd = np.array([r["secure"] - r["distributed"] for r in rows])

        def stats(a: np.ndarray) -> str:
            return (f"{a.mean():>+19.4f} {np.abs(a).mean():>7.4f} "
                    f"{a[np.argmax(np.abs(a))]:>+7.4f}")

        print(f"{split:10} {owners:>3} {count:>5} {stats(sp)} {stats(dp)[1:]} "
              f"{sd[np.argmax(np.abs(sd))]:>+20.1e} {sum(r['same'] for r in rows):>7}/{count:<2} "
              f"{int(np.sum(np.abs(sp) > 0.005)):>18}/{count:<2} {_load():>5}")


def formula() -> None:
    """Measured rounds per phase of a tree and online bytes per level (the formulas are
    asserted in tests/test_xorboost.py: `level_rounds`, `level_bytes_per_sample`)."""
    params = XorboostParams(dataset="synthetic", n_samples=4000, n_features=10, max_bin=16,
                            max_depth=4, n_estimators=2, split="vertical", owners=2)
    result, summary = run_complete(params, 0)
    prep = prepare(params, 0)
    rounds = result.ledger.phase_rounds()
    for t in range(2):
        levels = [rounds[f"tree{t}.level{lv}"] for lv in range(params.max_depth)]
        print(f"tree {t}: gradients {rounds.get(f'tree{t}.gradients', 0)}, levels {levels}, "
              f"leaves {rounds[f'tree{t}.leaves']} rounds ({prep.cands.count} candidates)")
    for lv in range(params.max_depth):
        print(f"level {lv}: {result.ledger.phases[f'tree0.level{lv}'].bytes:,} B online")
    t0 = time.perf_counter()
    baseline(prep)
    plain = time.perf_counter() - t0
    print(f"simulator wall {result.wall_time_s:.2f} s vs plaintext xgboost {plain:.3f} s; "
          f"AUC secure {summary['accuracy']['value']:.4f}, xgboost "
          f"{summary['accuracy']['baseline']:.4f}")


def _one(n: int, d: int, trees: int, max_bin: int, compare: bool) -> None:
    """Child process: one full run, vertical split among 2 owners who compute, with a
    dealer; prints wall, peak RSS, wall per tree and the trees' check as JSON. A tree's
    wall runs from the first party's gradients to the last party's leaves (3 parties
    train: the 2 owners and the dealer); masking and the precomputed masks come before."""
    from protocols.xorboost import train as train_module
    from protocols.xorboost.model import compare_trees

    starts: list[float] = []
    ends: list[float] = []
    gradients, leaves = train_module.gradients, train_module.leaf_weights

    async def timed_gradients(*args, **kwargs):
        starts.append(time.perf_counter())
        return await gradients(*args, **kwargs)

    async def timed_leaves(*args, **kwargs):
        out = await leaves(*args, **kwargs)
        ends.append(time.perf_counter())
        return out

    train_module.gradients, train_module.leaf_weights = timed_gradients, timed_leaves
    params = XorboostParams(dataset="synthetic", n_samples=math.ceil(n / 0.75), n_features=d,
                            max_bin=max_bin, max_depth=4, n_estimators=trees,
                            split="vertical", owners=2)
    t0 = time.perf_counter()
    prep = prepare(params, 0)
    result, summary = run_complete(params, 0, prep=prep)
    wall = time.perf_counter() - t0
    out = {"wall_s": wall, "per_tree_s": [ends[3 * t + 2] - starts[3 * t]
                                          for t in range(trees)],
           "before_trees_s": starts[0] - t0,
           "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "auc": summary["accuracy"]["value"], "auc_xgboost": summary["accuracy"]["baseline"]}
    if compare:
        model = result.outputs[layout(params).analyst]
        diffs = compare_trees(model.to_xgboost_json(), baseline(prep).save_raw("json"),
                              prep.train.x, 1e-5)
        out["trees_equal"] = f"{sum(x is None for x in diffs)}/{len(diffs)}"
    print(json.dumps(out))


def _rows(shapes: list[tuple[int, int, int, int]], compare: bool = False) -> list[dict]:
    """One child process per shape (n, d, trees, max_bin), depth 4, vertical, 2 owners."""
    print(f"{'n':>7} {'d':>4} {'B':>4} {'trees':>5} {'wall s':>7} {'before s':>8} "
          f"{'per tree s':>22} {'peak MB':>8} {'B/cell':>6} {'AUC':>7} {'xgboost':>7} "
          f"{'trees eq':>8} {'load':>5}")
    rows: list[dict] = []
    for n, d, trees, max_bin in shapes:
        out = subprocess.run([sys.executable, __file__, "_one", str(n), str(d), str(trees),
                              str(max_bin), str(int(compare))], capture_output=True, text=True,
                             check=True, env={**os.environ, **TUNED})
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(r)
        per = ", ".join(f"{t:.1f}" for t in r["per_tree_s"])
        print(f"{n:>7} {d:>4} {max_bin:>4} {trees:>5} {r['wall_s']:>7.1f} "
              f"{r['before_trees_s']:>8.1f} {per:>22} "
              f"{r['peak_mb']:>8.0f} {r['peak_mb'] * 1e6 / (n * d * max_bin):>6.1f} "
              f"{r['auc']:>7.4f} {r['auc_xgboost']:>7.4f} {r.get('trees_equal', '-'):>8} "
              f"{_load():>5}")
    return rows


def scale() -> None:
    """Full runs of growing shapes (1 tree): wall, peak memory, bytes per (sample x feature
    x bucket) cell."""
    _rows([(10000, 20, 1, 32), (20000, 50, 1, 32), (25000, 60, 1, 128),
           (100000, 50, 1, 32)], compare=True)


def large() -> None:
    """The first target: 100,000 x 50, 32 buckets, 5 trees of depth 4, in full."""
    _rows([(100000, 50, 5, 32)], compare=True)


def paper_full() -> None:
    """The second target: the published shape 25,000 x 300, 128 buckets, depth 4, in full,
    the trees compared with xgboost's split for split. 1 and 4 trees: the difference of
    their walls over 3 is the cost of one more tree (its share of the masks dealt before
    training included)."""
    one, four = _rows([(25000, 300, 1, 128), (25000, 300, 4, 128)], compare=True)
    print(f"wall per additional tree: {(four['wall_s'] - one['wall_s']) / 3:.1f} s; "
          f"before the first tree (data, masking, masks of 1 tree): {one['before_trees_s']:.1f} s")


def paper() -> None:
    """scenarios/xorboost_paper.toml (cost-only, 10 trees): per-tree costs beside the
    paper's < 1.5 min per tree."""
    t0 = time.perf_counter()
    rep = run_scenario(load(ROOT / "scenarios" / "xorboost_paper.toml"))
    wall = time.perf_counter() - t0
    trees = rep["scenario"]["protocol"]["n_estimators"]
    parts = ("compute_s", "messaging_s", "network_s", "wait_s")
    per = {key: dict.fromkeys(("sim_time_s", *parts, "rounds", "bytes"), 0.0)
           for key in ("online", "offline")}
    for ph in rep["phases"]:
        if ph["name"].removeprefix("offline:").startswith("tree"):
            sums = per["offline" if ph["offline"] else "online"]
            for k in sums:
                sums[k] += ph[k]
    once = {ph["name"]: ph for ph in rep["phases"]
            if ph["name"] in ("input", "preprocessing")}
    print(f"mode {rep['mode']}; simulator wall {wall:.2f} s; total simulated "
          f"{rep['totals']['sim_time_s']:.1f} s online + {rep['offline']['sim_time_s']:.1f} s "
          "offline")
    for key, t in per.items():
        split = ", ".join(f"{t[k] / trees:.2f} s {k.removesuffix('_s')}" for k in parts)
        print(f"per tree {key:7}: {t['sim_time_s'] / trees:8.2f} s simulated along the critical "
              f"path ({split}), {t['rounds'] / trees:.0f} rounds, "
              f"{t['bytes'] / trees / 1e9:.2f} GB")
    for name, ph in once.items():
        print(f"once, {name:13}: {ph['sim_time_s']:.2f} s, {ph['bytes'] / 1e9:.2f} GB")
    print("paper (XORBoost, LAN): under 1.5 minutes per tree")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    if what == "_one":
        _one(*(int(a) for a in sys.argv[2:6]), compare=sys.argv[6] == "1")
    else:
        for name, fn in [("scenarios", scenarios), ("formula", formula), ("scale", scale),
                         ("paper", paper), ("large", large), ("paper_full", paper_full),
                         ("seeds", seeds)]:
            if what == name or (what == "all" and name not in ("large", "paper_full",
                                                                 "seeds")):
                print(f"== {name}")
                fn()
