"""Protocol parameters: one name per idea across protocols, old names still accepted."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from pydantic import ValidationError

from ppsim.catalog import known
from sim import Params, RenamedParameter

SPECS = known()


def test_an_old_name_is_no_protocols_current_name():
    """A name retired by one protocol (say `players`) is the current name in none."""
    current = {name for spec in SPECS.values() for name in spec.params.model_fields}
    retired = {old: (spec.name, new) for spec in SPECS.values()
               for old, new in spec.params.renamed.items()}
    assert retired, "no protocol declares renamed parameters"
    assert sorted(current & retired.keys()) == []
    for spec in SPECS.values():
        for old, new in spec.params.renamed.items():
            assert new in spec.params.model_fields, (spec.name, old, new)


@pytest.mark.parametrize("name", sorted(n for n, s in SPECS.items() if s.params.renamed))
def test_old_names_are_accepted_with_a_warning(name):
    params = SPECS[name].params
    old, new = next(iter(params.renamed.items()))
    default = params.model_fields[new].default
    with pytest.warns(RenamedParameter, match=f"{old!r} is now called {new!r}"):
        given = params.model_validate({old: default})
    assert getattr(given, new) == default
    with pytest.raises(ValidationError, match="name the same parameter"):
        params.model_validate({old: default, new: default})


def test_a_protocol_without_renames_warns_nothing():
    class Plain(Params):
        size: int = 1

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Plain.model_validate({"size": 3}).size == 3
    with pytest.raises(ValidationError):
        Plain.model_validate({"players": 3})


UNDESCRIBED: set[str] = set()


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="descriptions to come (issue 13)"))
    if n in UNDESCRIBED else n for n in sorted(SPECS)])
def test_every_parameter_is_described(name):
    """`ppsim list --params` shows a description for every parameter."""
    fields = SPECS[name].params.model_fields
    assert [k for k, f in fields.items() if not (f.description or "").strip()] == []


def test_a_sweep_may_vary_an_old_name_and_hears_of_the_nearest_new_one():
    import tomllib

    from ppsim import sweep
    from ppsim.scenario import ScenarioError, ScenarioWarning

    text = """
[protocol]
name = "secure_mul_cmp"
vector_length = 4
[topology]
kind = "complete"
[sweep]
"protocol.%s" = [2, 3]
"""
    parsed = sweep.parse(tomllib.loads(text % "players"), "old.toml")
    with pytest.warns(ScenarioWarning, match=r"old.toml: \[protocol.players\] is now called"):
        sweep.check(parsed)
    with pytest.raises(ScenarioError, match="no parameter 'partys' \\(did you mean 'parties'"):
        sweep.check(sweep.parse(tomllib.loads(text % "partys"), "typo.toml"))


@pytest.mark.parametrize("package", ["sim", "sim.testing", "ppsim"])
def test_every_public_function_and_class_says_what_it_does(package):
    import importlib
    import inspect

    module = importlib.import_module(package)
    bare = [name for name in module.__all__
            if (inspect.isclass(obj := getattr(module, name)) or inspect.isfunction(obj))
            and not (inspect.getdoc(obj) or "").strip()]
    assert bare == []


def test_a_file_parameter_under_its_old_name_resolves_and_reports_as_written(tmp_path):
    """xorboost's data file is found beside the scenario whether named `dataset` or, as
    before, `data`; the report shows the new name with the value as written."""
    from ppsim import load
    from ppsim.scenario import ScenarioWarning

    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.3f},{b:.3f},{int(a > b)}" for a, b in rng.random((60, 2)))
    (tmp_path / "d.csv").write_text("a,b,y\n" + rows + "\n")
    (tmp_path / "s.toml").write_text('[protocol]\nname = "xorboost"\ndata = "d.csv"\n'
                                     'label = "y"\nn_estimators = 1\nmax_depth = 2\n'
                                     'max_bin = 4\n[topology]\nkind = "complete"\n')
    with pytest.warns(ScenarioWarning, match=r"\[protocol.data\] is now called 'dataset'"):
        scenario = load(tmp_path / "s.toml")
    assert scenario.as_dict()["protocol"]["dataset"] == "d.csv"
    assert scenario.params.dataset == str(tmp_path / "d.csv")
