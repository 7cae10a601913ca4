"""Sweep overhead and parallel speedup (issue 9). Prints figures; asserts nothing.

    .venv/bin/python benchmarks/sweep.py [--trivial 200] [--heavy 8]

1. Overhead per point: a sweep of `--trivial` points of a 2-party secure sum of
   one element (the smallest run a protocol makes: 3 messages), with 2 jobs
   and with 1, wall time of the whole `sweep.run` (reports and table included).
2. Speedup of 2 jobs over 1 on `--heavy` points of a 64-party secure sum of
   20,000 elements on a complete graph (4,095 messages of 160 kB each).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tomllib

from ppsim import sweep

TRIVIAL = """
seed = 1
[protocol]
name = "secure_sum"
vector_length = 1
[topology]
kind = "complete"
[sweep]
repetitions = {reps}
"protocol.parties" = [2]
"""

HEAVY = """
seed = 1
[protocol]
name = "secure_sum"
parties = 64
vector_length = 20000
[topology]
kind = "complete"
[sweep]
repetitions = {reps}
"network.header_bytes" = [40]
"""


def timed(text: str, jobs: int) -> tuple[float, sweep.SweepResult]:
    parsed = sweep.parse(tomllib.loads(text), "benchmark")
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        result = sweep.run(parsed, out, jobs=jobs, progress=False)
        elapsed = time.perf_counter() - start
    assert not result.failed, result.failed
    return elapsed, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trivial", type=int, default=200)
    ap.add_argument("--heavy", type=int, default=8)
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} CPUs")
    for jobs in (2, 1):
        elapsed, result = timed(TRIVIAL.format(reps=args.trivial), jobs)
        sim = result.table["wall_time_s"].sum()
        print(f"{args.trivial} trivial points, {jobs} job(s): {elapsed:.2f} s wall "
              f"({1000 * elapsed / args.trivial:.1f} ms per point; the simulations "
              f"themselves {sim:.2f} s)")
    one, result = timed(HEAVY.format(reps=args.heavy), 1)
    two, _ = timed(HEAVY.format(reps=args.heavy), 2)
    per = result.table["wall_time_s"].mean()
    print(f"{args.heavy} heavy points ({per:.2f} s of simulation each): 1 job {one:.2f} s, "
          f"2 jobs {two:.2f} s, speedup {one / two:.2f}x")


if __name__ == "__main__":
    main()
