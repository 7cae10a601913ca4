"""The cost model: charging by operation class, model files, scenario overrides, calibration."""

from __future__ import annotations

import math

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ppsim import calibrate
from ppsim.run import run_scenario
from ppsim.scenario import ScenarioError, from_dict
from sim import OPS, CalibrationFit, CostModel, CostModelError, simulate
from sim.costmodel import SIZED

SCENARIO = {"seed": 1, "protocol": {"name": "secure_sum", "parties": 3, "vector_length": 50},
            "topology": {"kind": "complete"}}


def _model(**seconds: float) -> CostModel:
    return CostModel.free().with_overrides(seconds)


def test_work_charges_each_class_at_its_price_and_records_the_counts():
    model = _model(ring=1e-9, madd=2e-11, aes_byte=1e-10)

    async def program(party):
        with party.phase("p"):
            await party.work(ring=1000, madd=10**6, aes_byte=800)
        return party.now()

    result = simulate(nx.complete_graph(1), {0: program}, cost_model=model)
    assert result.outputs[0] == pytest.approx(1000 * 1e-9 + 10**6 * 2e-11 + 800 * 1e-10)
    assert result.ledger.phases["p"].ops == {"ring": 1000, "madd": 10**6, "aes_byte": 800}


def test_paillier_is_priced_at_the_key_size_and_interpolated_log_log():
    model = CostModel.free().with_overrides(
        {"paillier_decrypt": {1024: 1e-3, 2048: 8e-3}})
    assert model.at_size("paillier_decrypt", 1024) == 1e-3
    assert model.at_size("paillier_decrypt", 2048) == 8e-3
    # between and beyond: on the line through the two sizes (here cubic: 8 = 2^3)
    assert model.at_size("paillier_decrypt", 1448) == pytest.approx(1e-3 * (1448 / 1024) ** 3)
    assert model.at_size("paillier_decrypt", 4096) == pytest.approx(64e-3)
    assert model.time({"paillier_decrypt": 3}, bits=2048) == pytest.approx(24e-3)
    free = CostModel.free()
    single = CostModel(free.seconds, {**free.sized, "paillier_mul": {1000: 2e-6}})
    assert single.at_size("paillier_mul", 2000) == pytest.approx(16e-6)  # cubic from one


@pytest.mark.parametrize(("counts", "bits", "words"), [
    ({"rings": 1}, None, "unknown operation class 'rings'"),
    ({"paillier_encrypt": 1}, None, "needs the key size"),
    ({"ring": -1}, None, "must be >= 0"),
])
def test_bad_work_names_the_problem(counts, bits, words):
    with pytest.raises(ValueError, match=words):
        CostModel.default().time(counts, bits)


def test_the_shipped_model_has_every_class_and_says_where_it_was_measured():
    model = CostModel.default()
    assert set(model.seconds) == set(OPS) - SIZED and set(model.sized) == SIZED
    assert model.machine and model.measured and model.source == "default"
    assert all(v > 0 for v in model.seconds.values())


def test_a_written_model_loads_back_equal(tmp_path):
    model = CostModel.default()
    path = calibrate.write(model, tmp_path / "m.toml")
    again = CostModel.load(path)
    for name, value in model.seconds.items():
        assert again.seconds[name] == pytest.approx(value, rel=1e-3)
    assert again.sized.keys() == model.sized.keys() and again.machine == model.machine


@pytest.mark.parametrize(("text", "words"), [
    ("machine = 'x'\n", r"needs a \[seconds\] table"),
    ("[seconds]\nring = 1e-9\n", "missing"),
    ("[seconds]\nrung = 1e-9\n", "unknown operation class 'rung'"),
])
def test_bad_model_files_name_the_problem(tmp_path, text, words):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(CostModelError, match=words):
        CostModel.load(path)


def test_a_scenario_names_a_model_file_and_overrides_constants(tmp_path):
    calibrate.write(_model(ring=1e-6, message=0.0, wire_byte=0.0), tmp_path / "slow.toml")
    scenario = tmp_path / "s.toml"
    base = from_dict(SCENARIO)
    data = {**SCENARIO, "cost": {"model": "slow.toml", "mod": 3e-9}}
    slow = from_dict(data, str(scenario))
    assert slow.cost_model.seconds["ring"] == 1e-6 and slow.cost_model.seconds["mod"] == 3e-9
    fast, slowed = run_scenario(base), run_scenario(slow)
    assert slowed["totals"]["sim_time_s"] > fast["totals"]["sim_time_s"]
    cost = slowed["scenario"]["cost"]
    assert cost["model"] == "slow.toml" and cost["seconds"]["ring"] == 1e-6
    assert cost["seconds"]["mod"] == 3e-9 and cost["machine"]


@pytest.mark.parametrize(("cost", "key", "words"), [
    ({"model": "nowhere.toml"}, "cost.model", "cannot read"),
    ({"rung": 1e-9}, "cost", "unknown operation class 'rung'"),
    ({"element_time_s": 1e-9}, "cost", "element_time_s is gone"),
    ({"ring": -1.0}, "cost", "expected seconds >= 0"),
])
def test_bad_cost_tables_name_the_key(cost, key, words):
    with pytest.raises(ScenarioError, match=words) as err:
        from_dict({**SCENARIO, "cost": cost}, "s.toml")
    assert err.value.key == key


def test_the_report_says_which_network_and_model_it_simulated():
    """Every default applied is in the report's scenario (issue 12): the topology
    builder's latency and bandwidth, the cost model's constants and machine."""
    rep = run_scenario(from_dict(SCENARIO))
    topology = rep["scenario"]["topology"]
    assert topology["latency"] == 1e-3 and topology["bandwidth"] == 1.25e8
    cost = rep["scenario"]["cost"]
    assert cost["model"] == "default" and set(cost["seconds"]) == set(OPS)
    assert rep["work"]["ring"]["count"] > 0
    assert rep["work"]["ring"]["seconds"] == pytest.approx(
        rep["work"]["ring"]["count"] * cost["seconds"]["ring"])


def test_calibrate_times_workloads_and_fits_on_the_rest(monkeypatch):
    """A fit gets the time its run leaves once the other classes are paid."""
    known = {name: 1e-9 for name in OPS if name not in SIZED}

    def fit_run():
        return {"ring": 1000, "call": 10}

    fake = {name: (lambda v=v: v) for name, v in known.items() if name != "ring"}
    fake["ring"] = lambda: CalibrationFit(fit_run, "ring")
    fake.update({name: (lambda: {1024: (lambda: None, 1), 2048: (lambda: None, 1)})
                 for name in SIZED})
    monkeypatch.setattr(calibrate, "measures", lambda: fake)
    model = calibrate.calibrate(progress=False)
    assert set(model.seconds) == set(OPS) - SIZED and set(model.sized) == SIZED
    assert model.seconds["call"] == 1e-9
    # the run took ~0 s: what is left for ring after 10 calls at 1 ns is clipped at 0
    assert model.seconds["ring"] >= 0 and math.isfinite(model.seconds["ring"])
    assert "load average" in model.machine and model.measured


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(set(OPS) - SIZED)),
                       st.floats(0, 1e9, allow_nan=False), max_size=6))
def test_time_is_linear_in_the_counts(counts):
    model = CostModel.default()
    doubled = {k: 2 * v for k, v in counts.items()}
    assert model.time(doubled) == pytest.approx(2 * model.time(counts), rel=1e-12, abs=1e-300)


def test_the_protocol_fits_run_protocol_code_and_report_its_charges():
    """The workloads `ppsim calibrate` fits ring, bit and call on (run here small)."""
    from protocols import calibration

    small = calibration._fit(16, lambda mpc, x, y: mpc.lt(x, y), "bit")
    counts = small.run()
    assert counts["bit"] > 0 and counts["ring"] > 0 and counts["call"] > 0
    assert calibration.call().run()["call"] > 0
    assert {"ring", "bit", "call"} <= set(calibration.MEASURES)
