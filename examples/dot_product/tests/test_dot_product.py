"""The dot product is right on both runtimes, costs what its design says, and a player
that owns no input sees only uniformly random values."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sim.testing import assert_costs, assert_view_uniform
from sim.testing.strategies import fixed_point, party_counts

from dot_product import DotProductParams, plan_for

F = 16  # fractional bits


@pytest.mark.trio
@settings(max_examples=10, deadline=None)
@given(parties=party_counts(2, 4), data=st.data())
async def test_dot_product(ppsim_arun, parties, data):
    n = data.draw(st.integers(1, 50), label="vector_length")
    x = data.draw(fixed_point((n,), frac_bits=F, bound=10.0), label="x")
    y = data.draw(fixed_point((n,), frac_bits=F, bound=10.0), label="y")
    out = await ppsim_arun(plan_for(DotProductParams(parties=parties, vector_length=n), x, y))
    assert abs(out.outputs[0] - x @ y) <= 2.0**-F
    others = parties - 1
    assert_costs(out, "input sharing", rounds=1, messages=2 * others, bytes=2 * others * 8 * n)
    assert_costs(out, "dot product", rounds=2, bytes=parties * others * (16 * n + 8))
    assert_costs(out, "reveal", rounds=1, messages=others, bytes=others * 8)


def test_a_player_without_inputs_sees_uniform_values(ppsim_run):
    zeros = np.zeros(2000)
    params = DotProductParams(parties=3, vector_length=2000)
    out = ppsim_run(plan_for(params, zeros, zeros + 2.0**-F), record_views=True)
    assert_view_uniform(out, party=2)
