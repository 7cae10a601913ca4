"""A secure dot product: party 0 holds a vector x, party 1 a vector y; party 0 learns x . y.

`parties` players (ids 0..parties-1, the two owners among them) compute on
additive shares over Z_2^64. A trusted dealer, party `parties`, deals the
Beaver triples and truncation masks offline; it must not collude with a player.
Rounds: input sharing 1 (both owners at once), dot product 2 (a Beaver product
of the vectors, then one truncation of the sum), reveal 1.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from protocols.sharing import Mpc, decode, encode
from pydantic import Field
from sim import Params, Party, Plan, ProtocolSpec, RunResult


class DotProductParams(Params):
    """The scenario's ``[protocol]`` table, less ``name``. The bounds keep the dot
    product below 2^62 in fixed point, as the truncation needs."""

    parties: Annotated[int, Field(ge=2, le=32)] = 3
    """Players computing on shares (the dealer comes on top)."""
    vector_length: Annotated[int, Field(ge=1, le=10_000)] = 100
    """Elements of x and y."""
    value_range: Annotated[float, Field(gt=0, le=100)] = 10.0
    """Inputs are drawn uniform in [-value_range, value_range]."""
    frac_bits: Annotated[int, Field(ge=8, le=16)] = 16
    """Fractional bits of the fixed-point encoding."""


def inputs(params: DotProductParams, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The owners' private vectors, drawn from the run's seed."""
    rng = np.random.default_rng([seed, 1])
    x, y = rng.uniform(-params.value_range, params.value_range, (2, params.vector_length))
    return x, y


def plan(params: DotProductParams, seed: int) -> Plan:
    """The run of a scenario: inputs from its seed."""
    return plan_for(params, *inputs(params, seed))


def plan_for(params: DotProductParams, x: np.ndarray, y: np.ndarray) -> Plan:
    """The run on given inputs (tests choose them)."""
    p, f = params.parties, params.frac_bits
    players, dealer = list(range(p)), p
    shape = x.shape

    async def program(party: Party) -> float | None:
        mpc = Mpc(party, players, dealer, f)
        me = party.id
        with party.phase("input sharing"):
            xs, ys = await mpc.share_all_fx([(0, x if me == 0 else None, shape),
                                             (1, y if me == 1 else None, shape)])
        with party.phase("dot product"):
            z = await mpc.dot_fx(xs, ys)
        with party.phase("reveal"):
            out = await mpc.reveal_fx(z, to=0)
        return None if out is None else float(out)

    def summarize(result: RunResult) -> dict[str, Any]:
        got = result.outputs[0]
        want = float(decode(encode(x, f), f) @ decode(encode(y, f), f))
        error = abs(got - want)
        bound = 2.0**-f  # truncating the sum errs by less than one unit
        return {"result_check": {"value": got, "expected": want, "error": error,
                                 "bound": bound, "ok": error <= bound}}

    return Plan(
        n_parties=p + 1,
        programs=dict.fromkeys(range(p + 1), program),
        summarize=summarize,
        roles={"player": players, "dealer": [dealer]},
        trust=f"a trusted dealer (party {dealer}) deals Beaver triples and masks; "
              "it must not collude with a player",
        reveals=["x . y to party 0", "the vector length"],
        outputs=[0],  # the party whose output is the result
    )


SPEC = ProtocolSpec(
    name="dot_product",
    summary="secure dot product of two parties' vectors (Beaver triples from a dealer)",
    params=DotProductParams,
    plan=plan,
)
