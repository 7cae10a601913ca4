"""Wall time of the article's sweep (issue 19; target: the whole table in < 10 min, 2 jobs).

Runs ``scenarios/parallel_article.toml`` through the command line's sweep (``ppsim run
--jobs 2``) into a fresh folder, then prints its wall time, the machine's load average
beside it, each point's own wall time, and the table beside the article's
(`protocols.parallel.article`). Usage::

    .venv/bin/python benchmarks/parallel.py [--jobs 2] [--out out/parallel_article]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import time
from pathlib import Path

from ppsim.cli import main as ppsim
from ppsim.sweep import load_table
from protocols.parallel import article

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "parallel_article.toml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("out/parallel_article"))
    args = ap.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    before = os.getloadavg()
    start = time.perf_counter()
    code = ppsim(["run", str(SCENARIO), "--jobs", str(args.jobs), "--out", str(args.out),
                  "--quiet"])
    wall = time.perf_counter() - start
    after = os.getloadavg()
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = used.ru_utime + used.ru_stime  # the pool's worker processes, once they exited
    results = load_table(args.out)
    shown = results[["protocol.method", "protocol.workers", "is_reference", "wall_time_s",
                     "sim_time_s"]]
    print(shown.to_string(index=False))
    article.main([str(args.out)])
    print(f"sweep: {len(results)} runs, {wall:.0f} s wall with --jobs {args.jobs} "
          f"(exit {code}), {cpu:.0f} s CPU in the workers; load average before "
          f"{before[0]:.2f}, after {after[0]:.2f}")


if __name__ == "__main__":
    main()
