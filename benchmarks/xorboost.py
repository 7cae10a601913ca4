"""XORBoost benchmarks: print figures (no asserts).

    .venv/bin/python benchmarks/xorboost.py scenarios   # every scenarios/xorboost_*.toml
    .venv/bin/python benchmarks/xorboost.py formula     # per-tree rounds/bytes vs formula
    .venv/bin/python benchmarks/xorboost.py scale       # wall time and peak memory
    .venv/bin/python benchmarks/xorboost.py large       # full run 100,000 x 50, 5 trees
    .venv/bin/python benchmarks/xorboost.py paper       # the published XORBoost shape
    .venv/bin/python benchmarks/xorboost.py all

Rounds per tree (logistic): 16 (gradients; +1 when gradients are scaled, n > 512)
+ D (42 + 9 ceil(log2(d B + 1))) + 28 (leaves). Online bytes of level l that grow
with n: 8 p (p-1) (5 * 2^l + 2) per sample (see tests/test_xorboost.py for both).
"""

from __future__ import annotations

import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ppsim.run import run_scenario  # noqa: E402
from ppsim.scenario import load  # noqa: E402
from protocols.xorboost.protocol import (  # noqa: E402
    XorboostParams,
    baseline,
    plan,
    prepare,
)
from sim.testing import run_plan  # noqa: E402


def run_complete(params: XorboostParams, seed: int = 0):  # noqa: ANN201
    """One run over a complete topology with 0.5 ms links: (RunResult, summary)."""
    return run_plan(plan(params, seed), seed=seed, latency=5e-4)


def _mb(x: float) -> str:
    return f"{x / 1e6:,.1f}"


def scenarios() -> None:
    """One row per shipped XORBoost scenario (split, owners, topology)."""
    print(f"{'scenario':26} {'split':10} {'own':>3} {'srv':>3} {'topology':9} {'rounds':>6} "
          f"{'online MB':>10} {'offline MB':>10} {'sim s':>7} {'metric':6} {'secure':>7} "
          f"{'xgboost':>7} {'wall s':>6}")
    for path in sorted((ROOT / "scenarios").glob("xorboost_*.toml")):
        if path.stem == "xorboost_paper":
            continue
        scenario = load(path)
        t0 = time.perf_counter()
        rep = run_scenario(scenario)
        wall = time.perf_counter() - t0
        proto, acc = rep["scenario"]["protocol"], rep["accuracy"]
        online = rep["totals"]["bytes"] - rep["offline"]["bytes"]
        print(f"{path.stem:26} {rep['split']['kind']:10} {rep['split']['owners']:>3} "
              f"{proto['servers']:>3} {rep['scenario']['topology']['kind']:9} "
              f"{rep['totals']['rounds']:>6} {_mb(online):>10} {_mb(rep['offline']['bytes']):>10} "
              f"{rep['totals']['sim_time_s']:>7.3f} {acc['metric']:6} {acc['value']:>7.4f} "
              f"{acc['baseline']:>7.4f} {wall:>6.2f}")


def tree_rounds(n: int, d: int, max_bin: int, depth: int) -> int:
    scaled = 1 if n > 512 else 0  # the truncation by 2^-shift (logistic, |g| <= 1)
    return 16 + scaled + depth * (42 + 9 * math.ceil(math.log2(d * max_bin + 1))) + 28


def formula() -> None:
    """Measured per-tree rounds and per-level bytes against the formula; plaintext ratio."""
    n_train, d, b, depth, p = 3000, 10, 16, 4, 2
    params = XorboostParams(data="synthetic", n_samples=4000, n_features=d, max_bin=b,
                            max_depth=depth, n_estimators=2, split="vertical", owners=2)
    result, summary = run_complete(params, 0)
    rounds = result.ledger.phase_rounds()
    phases = result.ledger.phases
    for t in range(2):
        measured = sum(v for k, v in rounds.items() if k.startswith(f"tree{t}."))
        print(f"tree {t}: rounds measured {measured}, formula {tree_rounds(n_train, d, b, depth)}")
    small, _ = run_complete(params.model_copy(update={"n_samples": 3600, "n_estimators": 1}), 0)
    for lv in range(depth):
        grow = (phases[f"tree0.level{lv}"].bytes - small.ledger.phases[f"tree0.level{lv}"].bytes)
        rows = n_train - 2700
        print(f"level {lv}: {phases[f'tree0.level{lv}'].bytes:,} B online; growth per sample "
              f"{grow / rows:,.1f} B, formula 8p(p-1)(5K+2) = {8 * p * (p - 1) * (5 * 2**lv + 2)}")
    prep = prepare(params, 0)
    t0 = time.perf_counter()
    baseline(prep)
    plain = time.perf_counter() - t0
    print(f"simulator wall {result.wall_time_s:.2f} s vs plaintext xgboost {plain:.3f} s: "
          f"ratio {result.wall_time_s / plain:,.0f}; AUC secure "
          f"{summary['accuracy']['value']:.4f}, xgboost {summary['accuracy']['baseline']:.4f}")


def _one(n: int, d: int, trees: int, mode: str, max_bin: int) -> None:
    """Child process: one run; prints wall time, peak RSS and simulated figures as JSON."""
    params = XorboostParams(data="synthetic", n_samples=math.ceil(n / 0.75), n_features=d,
                            max_bin=max_bin, max_depth=4, n_estimators=trees, split="vertical",
                            owners=2, servers=3, mode=mode)
    t0 = time.perf_counter()
    result, summary = run_complete(params, 0)
    wall = time.perf_counter() - t0
    print(json.dumps({"wall_s": wall, "peak_mb": resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 1024, "sim_s": result.end_time,
        "offline_s": result.offline_time, "auc": summary["accuracy"]["value"]}))


def _rows(shapes: list[tuple[int, int, int, str]]) -> None:
    """One child process per shape (peak RSS is per process); max_bin 32, depth 4."""
    print(f"{'n':>7} {'d':>3} {'trees':>5} {'mode':9} {'wall s':>7} {'peak MB':>8} {'sim s':>8}")
    for n, d, trees, mode in shapes:
        out = subprocess.run([sys.executable, __file__, "_one", str(n), str(d), str(trees),
                              mode, "32"], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{n:>7} {d:>3} {trees:>5} {mode:9} {r['wall_s']:>7.2f} {r['peak_mb']:>8.0f} "
              f"{r['sim_s']:>8.2f}")


def scale() -> None:
    """Full runs up to 100,000 x 50 (1 tree), cost-only at the target shape (3 computing
    parties). Peak memory grows about 16 MB per 1,000 samples x 50 features (32 bins)."""
    _rows([(10000, 20, 1, "full"), (20000, 20, 1, "full"), (10000, 40, 1, "full"),
           (100000, 50, 1, "full"), (10000, 20, 1, "cost_only"), (100000, 50, 1, "cost_only"),
           (100000, 50, 5, "cost_only")])


def large() -> None:
    """The issue's target shape computed in full: 100,000 x 50, 5 trees of depth 4."""
    _rows([(100000, 50, 5, "full")])


def paper() -> None:
    """scenarios/xorboost_paper.toml: per-tree costs beside the paper's < 1.5 min per tree."""
    t0 = time.perf_counter()
    rep = run_scenario(load(ROOT / "scenarios" / "xorboost_paper.toml"))
    wall = time.perf_counter() - t0
    trees = rep["scenario"]["protocol"]["n_estimators"]
    per = {"online": [0.0, 0.0, 0, 0], "offline": [0.0, 0.0, 0, 0]}
    for ph in rep["phases"]:
        name = ph["name"].removeprefix("offline:")
        if not name.startswith("tree"):
            continue
        key = "offline" if ph["offline"] else "online"
        per[key][0] += ph["sim_time_s"]
        per[key][1] += ph["compute_s"]
        per[key][2] += ph["rounds"]
        per[key][3] += ph["bytes"]
    once = {ph["name"]: ph for ph in rep["phases"] if ph["name"] in ("input", "masking")}
    print(f"mode {rep['mode']}; simulator wall {wall:.2f} s; total simulated "
          f"{rep['totals']['sim_time_s']:.1f} s online + {rep['offline']['sim_time_s']:.1f} s "
          "offline")
    for key, (sim, comp, rounds, nbytes) in per.items():
        print(f"per tree {key:7}: {sim / trees:8.2f} s simulated ({comp / trees:.2f} s modelled "
              f"compute, {(sim - comp) / trees:.2f} s network), {rounds / trees:.0f} rounds, "
              f"{nbytes / trees / 1e9:.2f} GB")
    for name, ph in once.items():
        print(f"once, {name:7}: {ph['sim_time_s']:.2f} s, {ph['bytes'] / 1e9:.2f} GB")
    print("paper (XORBoost, LAN): under 1.5 minutes per tree")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    if what == "_one":
        _one(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6]))
    else:
        for name, fn in [("scenarios", scenarios), ("formula", formula), ("scale", scale),
                         ("paper", paper), ("large", large)]:
            if what == name or (what == "all" and name != "large"):
                print(f"== {name}")
                fn()
