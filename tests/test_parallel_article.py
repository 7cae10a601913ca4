"""The article's experiment (issue 19): the sweep file, the table beside the article's, its claims.

The slow test runs ``scenarios/parallel_article.toml`` as shipped (``pytest -m slow``) and
asserts the article's orderings; the fast ones check the pieces on small inputs.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ppsim.cli import main as ppsim
from protocols.parallel import article

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "parallel_article.toml"


def _results(speed: dict, error: dict) -> pd.DataFrame:
    """A results table as the sweep writes it, one run per (method, workers), plus a reference."""
    rows = [{"status": "ok", "is_reference": False, "parallel.method": m,
             "parallel.workers": n, article.SPEEDUP: speed[(m, n)],
             article.ERROR: error[(m, n)] / 100} for (m, n) in speed]
    rows.append({"status": "ok", "is_reference": True, "parallel.method": "sgd",
                 "parallel.workers": 1, article.SPEEDUP: 1.0, article.ERROR: 0.0})
    return pd.DataFrame(rows)


def _articles_own() -> tuple[dict, dict]:
    speed = {k: s for k, (s, _) in article.ARTICLE.items()}
    error = {k: (-0.5 if e is None else e) for k, (_, e) in article.ARTICLE.items()}
    return speed, error


def test_the_articles_own_table_satisfies_every_claim():
    """The claims are read off the article's table (its hybrid at 32 "reduces the error
    rate": any figure below 0 stands for it)."""
    tab = article.table(_results(*_articles_own()))
    assert len(tab) == 9
    assert (tab["speedup"] == tab["article_speedup"]).all()
    assert all(article.orderings(tab).values())


@pytest.mark.parametrize(("change", "claim"), [
    ({("bmuf", 64): (41.0, None)}, "64: BMUF is the fastest"),
    ({("gtc", 128): (27.0, None)}, "GTC's speedup falls from 32 to 128"),
    ({("hybrid", 32): (None, 0.2)}, "32: the hybrid's error is below one worker's"),
    ({("gtc", 64): (None, 3.2)}, "64: GTC is the most accurate"),
    ({("hybrid", 128): (None, 10.0)}, "128: the hybrid is the most accurate"),
])
def test_each_claim_fails_when_its_figure_does(change, claim):
    speed, error = _articles_own()
    for key, (s, e) in change.items():
        speed[key] = speed[key] if s is None else s
        error[key] = error[key] if e is None else e
    held = article.orderings(article.table(_results(speed, error)))
    assert not held[claim]
    assert sum(not h for h in held.values()) == 1


def test_the_table_averages_runs_and_skips_references_and_failures():
    speed, error = _articles_own()
    results = _results(speed, error)
    again = results.copy()
    again[article.SPEEDUP] *= 3  # a second data seed, three times as fast
    failed = results.iloc[:1].assign(status="failed", **{article.SPEEDUP: 1e9})
    tab = article.table(pd.concat([results, again, failed]))
    assert (tab["speedup"] == 2 * tab["article_speedup"]).all()
    assert (tab["runs"] == 2).all()
    assert tab["speedup_vs_article"].tolist() == pytest.approx([2.0] * 9)


def test_the_shipped_sweep_validates_without_training(monkeypatch):
    """Validating builds every point's plan, whose GTC entries come from the proxy's
    training only when a run needs them: a replay here fails the test."""
    from protocols.parallel import protocol

    def trained(*_: object) -> None:
        raise AssertionError("validation trained the proxy")

    monkeypatch.setattr(protocol, "replay", trained)
    assert ppsim(["validate", str(SCENARIO)]) == 0


TINY = """
name = "tiny-article"
seed = 3
[protocol]
name = "parallel_training"
mode = "cost_only"
workers = 32
per_group = 8
data_seed = 5
train_samples = 2048
test_samples = 1024
n_features = 8
hidden = [8]
batch_size = 8
epochs = 2
tau = 0.003
block = 2
[protocol.scale]
params = 1000000
compute_s_per_batch = 0.01
compute_cv = 0.1
block = 4
steps = 4
[topology]
kind = "machines"
per_machine = 8
inner_bandwidth = 2.5e10
bandwidth = 1.25e9
nic_bandwidth = 3.125e9
fabric_bandwidth = 8e9
[sweep]
"protocol.method" = ["gtc", "bmuf", "hybrid"]
[sweep.reference]
"protocol.method" = "sgd"
"protocol.workers" = 1
metrics = ["parallel.minibatches_per_s", "accuracy"]
"""


def test_a_small_article_sweep_runs_end_to_end(tmp_path):
    """Three methods at 32 workers and the one-worker reference, through `ppsim run`,
    `ppsim report` and this module's command."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    out = tmp_path / "out"
    assert ppsim(["run", str(path), "--jobs", "1", "--out", str(out), "--quiet"]) == 0
    results = pd.read_parquet(out / "results.parquet")
    assert len(results) == 4 and results["is_reference"].sum() == 1
    ref = results[results["is_reference"]].iloc[0]
    assert ref["parallel.method"] == "sgd" and ref["parallel.workers"] == 1
    points = results[~results["is_reference"]]
    # a worker's own minibatches run in parallel: faster than one worker, below linear
    assert ((points[article.SPEEDUP] > 1) & (points[article.SPEEDUP] < 32)).all()
    # the error increase is against the one-worker run, which is the reference point
    assert (points["accuracy_baseline"] == ref["accuracy"]).all()
    assert points[article.ERROR].tolist() == pytest.approx(
        (points["accuracy_vs_ref"] - 1).tolist())
    assert ppsim(["report", str(out)]) == 0
    assert "parallel.minibatches_per_s_vs_ref" in (out / "summary.md").read_text()
    article.main([str(out)])
    text = (out / "article.md").read_text()
    assert "| 32 |" in text and "article 26x +1.4%" in text
    assert (out / "article.png").stat().st_size > 0


@pytest.mark.slow
def test_the_article_sweep_shows_the_articles_orderings(tmp_path):
    """The shipped sweep (minutes): every claim of the article holds, and the table is
    printed beside the article's (pytest -m slow -s shows it)."""
    out = tmp_path / "out"
    assert ppsim(["run", str(SCENARIO), "--jobs", "2", "--out", str(out), "--quiet"]) == 0
    tab = article.table(pd.read_parquet(out / "results.parquet"))
    print(article.markdown(tab))
    held = article.orderings(tab)
    assert all(held.values()), {claim: ok for claim, ok in held.items() if not ok}


def test_a_folder_without_results_is_one_error_naming_the_sweep_to_run(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        article.main([str(tmp_path)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "Traceback" not in err
    assert f"{tmp_path / 'results.parquet'}: no sweep results there" in err
    assert "scenarios/parallel_article.toml" in err
