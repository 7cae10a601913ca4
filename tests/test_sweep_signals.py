"""A sweep's worker pool never outlives the sweep: SIGTERM stops it cleanly, SIGKILL too.

Linux only: the workers are found through /proc (the sweep's children).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

SWEEP = """seed = 1
[protocol]
name = "secure_sum"
parties = 5
[topology]
kind = "complete"
[sweep]
"protocol.vector_length" = {start = 100000, stop = 139000, step = 1000}
"""


def _state(pid: int) -> tuple[str, int] | None:
    """(state letter, parent pid) of a process, None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def _alive(pid: int) -> bool:
    state = _state(pid)
    return state is not None and state[0] not in "ZX"


def _children(parent: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            state = _state(int(entry.name))
            if state is not None and state[1] == parent:
                out.append(int(entry.name))
    return out


def _until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _start(tmp_path: Path) -> tuple[subprocess.Popen, list[int]]:
    path = tmp_path / "s.toml"
    path.write_text(SWEEP)
    proc = subprocess.Popen([sys.executable, "-m", "ppsim", "run", str(path), "--out",
                             str(tmp_path / "o"), "--jobs", "2", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert _until(lambda: len(_children(proc.pid)) >= 2, 60), "no workers started"
    assert _until(lambda: (tmp_path / "o" / "points").exists(), 60), "no point finished"
    return proc, _children(proc.pid)


def test_sigterm_stops_the_sweep_keeps_the_table_and_ends_the_workers(tmp_path):
    proc, workers = _start(tmp_path)
    proc.terminate()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert _until(lambda: not any(_alive(w) for w in workers), 10), workers
    table = pd.read_csv(tmp_path / "o" / "results.csv")
    assert len(table) == 40 and "ok" in set(table["status"])


def test_a_killed_sweep_leaves_no_worker_behind(tmp_path):
    proc, workers = _start(tmp_path)
    proc.kill()
    proc.communicate(timeout=30)
    assert _until(lambda: not any(_alive(w) for w in workers), 10), workers
