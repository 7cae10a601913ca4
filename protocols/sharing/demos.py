"""Runnable protocols built from the sharing primitives, for scenarios.

* ``secure_sum``: every party holds a vector; party 0 (the analyst) learns the
  sum and nothing else. Additive shares over Z_2^64 (2 rounds: share, reveal)
  or Shamir shares over GF(2^31 - 1) (the reveal needs any t+1 shares, so the
  analyst finishes even if up to n-t-1 parties crash after sharing).
* ``secure_mul_cmp``: player 0 holds x, player 1 holds y; the players compute
  x * y (fixed point) and [x < y] with a trusted dealer's help and reveal both
  to player 0 only.

Each summarize() checks the revealed result against plaintext numpy.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from protocols.sharing.compare import comparison_memory
from protocols.sharing.mpc import Mpc
from protocols.sharing.ring import (
    DEFAULT_FRAC_BITS,
    additive_split,
    decode,
    encode,
    split_work,
)
from protocols.sharing.shamir import (
    combine_work,
    from_field,
    shamir_reconstruct,
    shamir_share,
    share_work,
    to_field,
)
from sim import Params, Party, Plan, ProtocolSpec

ANALYST = 0
SUM_KINDS = ("secure_sum.input_share", "secure_sum.sum_share")
"""``secure_sum``'s message kinds (`sim.profiles`): a party's shares to each other party,
then its share of the sum to the analyst."""


def _inputs(seed: int, count: int, length: int, value_range: float) -> np.ndarray:
    """The parties' private vectors: one row each, uniform in +-value_range."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EC]))
    return rng.uniform(-value_range, value_range, size=(count, length))


class SecureSumParams(Params):
    parties: Annotated[int, Field(ge=2, le=10_000)]
    """Parties, each holding one private vector; party 0 (the analyst) learns the sum."""
    vector_length: Annotated[int, Field(ge=1, le=100_000_000)] = 1000
    """Elements of each party's vector."""
    scheme: Literal["additive", "shamir"] = "additive"
    """additive: shares over Z_2^64, every party needed; shamir: (t, n) shares over
    GF(2^31 - 1), any t+1 reveal the sum."""
    threshold: Annotated[int, Field(ge=0)] | None = None
    """Shamir only: degree t; any t+1 shares reveal (default (parties-1)//2)."""
    value_range: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 100.0
    """Inputs are drawn uniform in [-value_range, value_range]."""
    frac_bits: Annotated[int, Field(ge=0, le=39)] = DEFAULT_FRAC_BITS
    """Fractional bits of the fixed-point encoding."""
    reveal_timeout_s: Annotated[float, Field(gt=0)] | None = None
    """Shamir only: how long the analyst waits for shares before reconstructing."""

    @model_validator(mode="after")
    def _consistent(self) -> SecureSumParams:
        if self.scheme == "additive":
            if self.threshold is not None or self.reveal_timeout_s is not None:
                raise ValueError("threshold and reveal_timeout_s apply to scheme = 'shamir' only, "
                                 f"got scheme = {self.scheme!r}")
            bound = self.parties * self.value_range * 2.0**self.frac_bits
            if bound >= 2**63:
                raise ValueError(
                    f"parties = {self.parties}, value_range = {self.value_range:g}, frac_bits = "
                    f"{self.frac_bits}: the sum may reach {bound:.3g} in fixed point, beyond "
                    "the ring's signed range 2^63: lower value_range or frac_bits"
                )
            return self
        t = self.t
        if t >= self.parties:
            raise ValueError(
                f"threshold must be below the number of parties ({self.parties}), got {t}"
            )
        bound = self.parties * self.value_range * 2.0**self.frac_bits
        if bound >= 2**30:
            raise ValueError(
                f"the sum may reach {bound:.3g} in fixed point, beyond the Shamir field's "
                "2^30: lower value_range or frac_bits"
            )
        return self

    @property
    def t(self) -> int:
        return (self.parties - 1) // 2 if self.threshold is None else self.threshold


def _plan_sum(params: SecureSumParams, seed: int) -> Plan:
    n, f, length = params.parties, params.frac_bits, params.vector_length
    inputs = _inputs(seed, n, length, params.value_range)
    others = list(range(1, n))

    async def additive(party: Party) -> np.ndarray | None:
        with party.phase("input sharing"):
            shares = additive_split(encode(inputs[party.id], f), n, party.rng)
            await party.work(**split_work(length, n) + Counter(ring=3 * length))  # and encoding
            for dst in party.others:
                await party.send(dst, shares[dst], SUM_KINDS[0])
            got = await party.recv_many(party.others)
        with party.phase("local sum"):
            total = shares[party.id] + np.sum(list(got.values()), axis=0, dtype=np.uint64)
            await party.work(ring=(n + 1) * length, call=3)
        with party.phase("reveal"):
            if party.id != ANALYST:
                await party.send(ANALYST, total, SUM_KINDS[1])
                return None
            got = await party.recv_many(others)
            await party.work(ring=(n + 3) * length, call=4)  # the sum and the decoding
            return decode(total + np.sum(list(got.values()), axis=0, dtype=np.uint64), f)

    async def shamir(party: Party) -> np.ndarray | None:
        t = params.t
        with party.phase("input sharing"):
            secret = np.round(inputs[party.id] * 2.0**f).astype(np.int64)
            shares = shamir_share(secret, t, n, party.rng)
            await party.work(**share_work(length, t, n) + Counter(ring=3 * length))
            for dst in party.others:
                await party.send(dst, shares[dst].astype(np.uint32), SUM_KINDS[0])
            got = await party.recv_many(party.others)
        with party.phase("local sum"):
            total = to_field(shares[party.id] + np.sum(
                [g.astype(np.int64) for g in got.values()], axis=0))
            await party.work(ring=2 * n * length, mod=length, call=2 * n)
        with party.phase("reveal"):
            if party.id != ANALYST:
                await party.send(ANALYST, total.astype(np.uint32), SUM_KINDS[1])
                return None
            got = await party.recv_many(others, timeout=params.reveal_timeout_s)
            if len(got) < t:
                raise RuntimeError(
                    f"only {len(got) + 1} shares arrived, the reveal needs t+1 = {t + 1}"
                )
            points = [ANALYST, *got]
            await party.work(**combine_work(length, len(points))
                             + Counter(ring=(len(points) + 3) * length))
            stacked = np.stack([total] + [g.astype(np.int64) for g in got.values()])
            return from_field(shamir_reconstruct(stacked, [p + 1 for p in points])) / 2.0**f

    def summarize(result: Any) -> dict[str, Any]:
        out = result.outputs.get(ANALYST)
        expected = inputs.sum(axis=0)
        error = float(np.max(np.abs(out - expected))) if out is not None else None
        return {"result_check": {
            "output_party": ANALYST,
            "elements": params.vector_length,
            "max_abs_error": error,
            "bound": n * 2.0 ** -(f + 1),
            "ok": error is not None and error <= n * 2.0 ** -(f + 1),
        }}

    reveals = [f"the sum of the {n} vectors, to party {ANALYST} only",
               "the vector length"]
    return Plan(
        n_parties=n,
        programs=dict.fromkeys(range(n), additive if params.scheme == "additive" else shamir),
        summarize=summarize,
        roles={"analyst": [ANALYST], "party": others},
        reveals=reveals,
        outputs=[ANALYST],
    )


def _sum_memory(p: SecureSumParams) -> float:
    """Every party's n shares are in flight at once: n^2 vectors (measured: within 25%)."""
    return 8.0 * p.vector_length * (p.parties**2 + 3 * p.parties)


SUM = ProtocolSpec(
    name="secure_sum",
    summary="sum of every party's vector revealed to party 0 (additive or Shamir shares)",
    params=SecureSumParams,
    plan=_plan_sum,
    memory=_sum_memory,
)


class MulCmpParams(Params):
    renamed = {"players": "parties"}
    parties: Annotated[int, Field(ge=2, le=64)] = 3
    """Players computing on shares (a trusted dealer is added as party `parties`); party 0
    holds x, party 1 holds y."""
    vector_length: Annotated[int, Field(ge=1, le=100_000_000)] = 1000
    """Elements of x and y."""
    value_range: Annotated[float, Field(gt=0, le=2.0**20, allow_inf_nan=False)] = 100.0
    """Inputs are drawn uniform in [-value_range, value_range]."""
    frac_bits: Annotated[int, Field(ge=1, le=32)] = DEFAULT_FRAC_BITS
    """Fractional bits of the fixed-point encoding."""

    @model_validator(mode="after")
    def _fits(self) -> MulCmpParams:
        # the product before truncation is (x y) 2^(2f); `Mpc.trunc` needs it below 2^62
        if self.value_range >= 2.0 ** (31 - self.frac_bits):
            raise ValueError(
                f"value_range = {self.value_range:g} with frac_bits = {self.frac_bits}: x*y "
                f"reaches {self.value_range**2:.3g} * 2^{2 * self.frac_bits} in fixed point, "
                f"beyond the 2^62 the truncation allows; keep value_range below "
                f"2^(31 - frac_bits) = {2 ** (31 - self.frac_bits)}"
            )
        return self


def _plan_mul_cmp(params: MulCmpParams, seed: int) -> Plan:
    p, f, length = params.parties, params.frac_bits, params.vector_length
    x, y = _inputs(seed, 2, length, params.value_range)
    dealer = p
    shape = (length,)

    async def program(party: Party) -> dict[str, np.ndarray] | None:
        mpc = Mpc(party, list(range(p)), dealer, f)
        me = party.id
        with party.phase("input sharing"):  # both owners at once: 1 round
            xs, ys = await mpc.share_all_fx([(0, x if me == 0 else None, shape),
                                             (1, y if me == 1 else None, shape)])
        with party.phase("multiply and compare"):  # independent: in the same rounds
            product, less = await mpc.gather(mpc.mul_fx(xs, ys), mpc.lt(xs, ys))
        with party.phase("reveal"):  # both in one message per player: 1 round
            z, c = await mpc.gather(mpc.reveal_fx(product, to=ANALYST),
                                    mpc.reveal(less, to=ANALYST))
        return None if z is None else {"product": z, "less": c.astype(bool)}

    def summarize(result: Any) -> dict[str, Any]:
        out = result.outputs[ANALYST]
        x_fx, y_fx = decode(encode(x, f), f), decode(encode(y, f), f)
        error = float(np.max(np.abs(out["product"] - x_fx * y_fx)))
        # against the product of the encoded inputs: flooring the 2f-bit product
        # loses under one ulp and the truncation's ignored carry adds at most one
        bound = 2 * 2.0**-f
        mismatches = int(np.sum(out["less"] != (x_fx < y_fx)))
        return {"result_check": {
            "output_party": ANALYST,
            "elements": length,
            "product_max_abs_error": error,
            "product_error_bound": bound,
            "comparison_mismatches": mismatches,
            "ok": error <= bound and mismatches == 0,
        }}

    return Plan(
        n_parties=p + 1,
        programs=dict.fromkeys(range(p + 1), program),
        summarize=summarize,
        roles={"player": list(range(p)), "dealer": [dealer]},
        trust=f"a trusted dealer (party {dealer}) supplies Beaver triples and masks offline; "
              "it sees no share but must not collude with a player",
        reveals=[f"x*y and [x<y] to party {ANALYST} only", "the vector length"],
        outputs=[ANALYST],
    )


def _mul_cmp_memory(p: MulCmpParams) -> float:
    """The product and comparison of the two vectors."""
    return comparison_memory(p.vector_length, p.parties)


MUL_CMP = ProtocolSpec(
    name="secure_mul_cmp",
    summary="fixed-point product and comparison of two parties' vectors (Beaver, dealer)",
    params=MulCmpParams,
    plan=_plan_mul_cmp,
    memory=_mul_cmp_memory,
)
