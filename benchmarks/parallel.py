"""Wall time of the 128-worker point of the parallel-training sweep (target: < 5 min).

Runs the default sweep scenario's one-worker reference and its 128-worker GTC,
BMUF and hybrid points one after another and prints, per point, the wall time
and the simulated figures. Usage: ``.venv/bin/python benchmarks/parallel.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

from protocols.parallel.sweep import load, run_point

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "parallel_sweep.toml"


def main() -> None:
    base, net = load(SCENARIO)
    ref = run_point(base, net, "sgd", 1, 8)
    ref_rate = ref["samples"] / ref["sim_time_s"]
    print(f"{'point':>12} {'wall s':>8} {'sim s':>8} {'speedup':>8} {'error':>7} {'MB sent':>8}")
    total = time.perf_counter()
    for method in ("sgd", "gtc", "bmuf", "hybrid"):
        r = ref if method == "sgd" else run_point(base, net, method, 128, 8)
        speedup = r["samples"] / r["sim_time_s"] / ref_rate
        print(f"{method + '/' + str(r['workers']):>12} {r['wall_s']:8.1f} {r['sim_time_s']:8.3f} "
              f"{speedup:8.1f} {r['error_rate']:7.4f} {r['bytes'] / 1e6:8.1f}")
    print(f"128-worker point (3 methods, sequential): {time.perf_counter() - total:.0f} s wall")


if __name__ == "__main__":
    main()
