"""Protocol parameters: one name per idea across protocols, old names still accepted."""

from __future__ import annotations

import warnings

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


UNDESCRIBED = {"xorboost"}  # issue 13 owns protocols/xorboost and adds its descriptions


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="descriptions to come (issue 13)"))
    if n in UNDESCRIBED else n for n in sorted(SPECS)])
def test_every_parameter_is_described(name):
    """`ppsim list --params` shows a description for every parameter."""
    fields = SPECS[name].params.model_fields
    assert [k for k, f in fields.items() if not (f.description or "").strip()] == []
