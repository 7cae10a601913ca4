"""Output that survives a pipe: plain, unwrapped, never elided, whatever COLUMNS says; JSON.

The command line runs in a subprocess with its output on a pipe (not a
terminal), ``COLUMNS=40`` and a deep output folder, as in a CI log or
``ppsim run ... | grep``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

SUM = """seed = 4
[protocol]
name = "secure_sum"
parties = 4
vector_length = 5000
[topology]
kind = "star"
latency = 0.001
bandwidth = 1e6
"""


def _ppsim(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "40", "LINES": "10", "TERM": "xterm-256color"}
    return subprocess.run([sys.executable, "-m", "ppsim", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def _deep(tmp_path: Path) -> Path:
    deep = tmp_path / ("a-rather-long-folder-name-" * 3) / ("and-another-one-" * 4)
    deep.mkdir(parents=True)
    return deep


def _plain(text: str) -> None:
    assert "\x1b[" not in text, "colour codes in piped output"
    assert "…" not in text, "an elided cell"


def test_a_run_prints_plain_unwrapped_lines(tmp_path):
    deep = _deep(tmp_path)
    (deep / "s.toml").write_text(SUM)
    out = deep / "out"
    done = _ppsim("run", "s.toml", "--out", str(out), cwd=deep)
    assert done.returncode == 0, done.stderr
    _plain(done.stdout)
    assert f"report written to {out / 'report.json'}\n" in done.stdout  # one line, however long
    rep = json.loads((out / "report.json").read_text())
    assert f"{rep['totals']['messages']} messages" in done.stdout


def test_a_sweep_table_shows_every_number_whole(tmp_path):
    deep = _deep(tmp_path)
    (deep / "s.toml").write_text(SUM + '[sweep]\n"protocol.parties" = [4, 12]\n'
                                 'topology = [{kind = "star"}, {kind = "two_level", '
                                 'groups = 2}]\n')
    done = _ppsim("run", "s.toml", "--out", "o", "--jobs", "1", cwd=deep)
    assert done.returncode == 0, done.stderr
    _plain(done.stdout)
    table = pd.read_csv(deep / "o" / "results.csv")
    for value in table["bytes"]:
        assert f"{value:,}" in done.stdout
    assert "two_level groups=2" in done.stdout


def test_an_error_is_one_line(tmp_path):
    deep = _deep(tmp_path)
    (deep / "s.toml").write_text("seed = = 3\n")
    done = _ppsim("validate", "s.toml", cwd=deep)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "not valid TOML" in done.stderr


def test_format_json_is_machine_readable(tmp_path):
    (tmp_path / "s.toml").write_text(SUM)
    done = _ppsim("run", "s.toml", "--out", "o", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rep = json.loads(done.stdout)
    assert rep == json.loads((tmp_path / "o" / "report.json").read_text())
    assert "report written to" in done.stderr
    checked = json.loads(_ppsim("validate", "s.toml", "--format", "json", cwd=tmp_path).stdout)
    assert checked == [{"path": "s.toml", "ok": True, "protocol": "secure_sum", "parties": 4,
                        "topology": "star"}]
    listed = json.loads(_ppsim("list", "--format", "json", cwd=tmp_path).stdout)
    assert "secure_sum" in listed["protocols"] and "star" in listed["topologies"]
    (tmp_path / "w.toml").write_text(SUM + '[sweep]\n"protocol.parties" = [3, 5]\n')
    rows = json.loads(_ppsim("run", "w.toml", "--out", "w", "--format", "json", "--jobs", "1",
                             cwd=tmp_path).stdout)
    assert [r["n_parties"] for r in rows] == [3, 5]


def test_a_report_never_holds_nan_or_infinity():
    """An undefined metric (an AUC on a one-class test part) is written as null: strict JSON."""
    import numpy as np

    from ppsim.report import dumps

    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    text = dumps({"auc": float("nan"), "x": np.float64("inf"), "v": np.array([1.5, np.nan]),
                  "n": np.int64(3), "ok": True})
    assert json.loads(text, parse_constant=refuse) == {"auc": None, "x": None,
                                                       "v": [1.5, None], "n": 3, "ok": True}
