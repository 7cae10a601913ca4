"""The parallel-training sweep (issue 7): summary.json, table, plot, and the article's shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from protocols.parallel import sweep

ROOT = Path(__file__).resolve().parent.parent

TINY = """
seed = 3
[protocol]
name = "parallel_training"
train_samples = 4096
test_samples = 2048
hidden = [32]
epochs = 2
block = 4
tau = 0.003
compute_s_per_batch = 0.005
[topology]
kind = "two_level"
latency = 0.001
bandwidth = 1.25e8
[network]
header_bytes = 40
"""


def _by(rows):
    return {(r["method"], r["workers"]): r for r in rows}


def test_small_sweep_writes_the_summary_table_and_plot(tmp_path, capsys):
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    out = tmp_path / "out"
    sweep.main(["--scenario", str(scenario), "--out", str(out), "--workers", "2,4,8",
                "--group-size", "2", "--jobs", "1"])
    rows = json.loads((out / "summary.json").read_text())
    assert (out / "sweep.png").stat().st_size > 0
    assert {(r["method"], r["workers"]) for r in rows} == {
        (m, n) for m in ("gtc", "bmuf", "hybrid") for n in (2, 4, 8)}
    for r in rows:
        assert {"method", "workers", "speedup", "error_increase"} <= set(r)
        assert r["same_model"]
        # same data in less simulated time than one worker, never above linear
        assert 1 < r["speedup"] <= r["workers"]
        assert r["error_increase"] == pytest.approx(
            (r["error_rate"] - r["reference_error_rate"]) / r["reference_error_rate"])
    printed = capsys.readouterr().out
    assert "speedup" in printed and "err inc" in printed
    by = _by(rows)
    # the hybrid's GTC traffic stays inside groups of 2: at 8 workers it moves fewer
    # bytes than flat GTC, whose every minibatch goes to all 7 others
    assert by[("hybrid", 8)]["bytes"] < by[("gtc", 8)]["bytes"]


def test_the_sweep_gives_every_worker_the_scenarios_nic(tmp_path):
    scenario = tmp_path / "nic.toml"
    nic = "bandwidth = 1.25e8\nnic_bandwidth = 1e5"
    scenario.write_text(TINY.replace("bandwidth = 1.25e8", nic, 1))
    base, net = sweep.load(scenario)
    assert net["nic_bandwidth"] == 1e5 and "nic_bandwidth" not in net["links"]
    slow = sweep.run_point(base, net, "bmuf", 4, 2)
    fast = sweep.run_point(base, {**net, "nic_bandwidth": None}, "bmuf", 4, 2)
    # same bytes, but through one slow interface per worker instead of one queue per link
    assert slow["bytes"] == fast["bytes"]
    assert slow["sim_time_s"] > fast["sim_time_s"]


@pytest.mark.slow
def test_default_sweep_shows_the_articles_trade_off():
    rows = sweep.sweep(ROOT / "scenarios" / "parallel_sweep.toml")
    by = _by(rows)
    speed = {k: r["speedup"] for k, r in by.items()}
    err = {k: r["error_increase"] for k, r in by.items()}
    # GTC's speedup stops growing: its all-to-all traffic per worker grows with the
    # workers while each worker's NIC does not, so doubling 64 -> 128 workers gains
    # far less than double, and GTC is the slowest method from 32 workers on
    assert speed[("gtc", 128)] < 1.5 * speed[("gtc", 64)]
    assert speed[("gtc", 128)] / 128 < speed[("gtc", 32)] / 32 < speed[("gtc", 16)] / 16
    for n in (32, 64, 128):
        assert speed[("gtc", n)] < min(speed[("bmuf", n)], speed[("hybrid", n)])
    # BMUF scales best in speed at 32 and 64 workers...
    for n in (32, 64):
        assert speed[("bmuf", n)] > max(speed[("gtc", n)], speed[("hybrid", n)])
    # ...but loses the most accuracy
    for n in (32, 64):
        assert err[("bmuf", n)] > max(err[("gtc", n)], err[("hybrid", n)])
    # the hybrid loses less accuracy than BMUF at 128 workers. (The article's hybrid is
    # also the fastest there; on this model it is not: with one link speed everywhere
    # it communicates strictly more than BMUF's allreduce, see the issue 7 report.)
    assert err[("hybrid", 128)] < err[("bmuf", 128)]
    # GTC is the most accurate of the three at 16 workers (at 8 the hybrid has one
    # group and is GTC)
    assert err[("gtc", 16)] < min(err[("bmuf", 16)], err[("hybrid", 16)])
