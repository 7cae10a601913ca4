"""The scenario protocols built on sharing: results and costs against formulas."""

from __future__ import annotations

import numpy as np
import pytest

from ppsim.run import run_scenario
from ppsim.scenario import from_dict
from protocols.sharing import Mpc
from sim.testing import run


def _scenario(protocol: dict, topology: dict | None = None, **extra) -> dict:
    return {
        "seed": 1,
        "protocol": protocol,
        "topology": topology or {"kind": "complete", "latency": 0.001, "bandwidth": 1e7},
        **extra,
    }


def _rounds_alone(op: str, players: int, length: int) -> int:
    """The online rounds of one `Mpc` operation on shared inputs, measured alone."""
    async def program(party):
        mpc = Mpc(party, list(range(players)), players)
        x, y = (np.zeros(length, np.uint64) for _ in range(2))
        await mpc.setup()
        with party.phase("op"):
            await getattr(mpc, op)(x, y)

    return run(program, n=players + 1).phase("op")["rounds"]


@pytest.mark.parametrize("n,length,header", [(2, 1, 0), (3, 100, 40), (6, 257, 8)])
def test_additive_sum_costs_match_formula(n, length, header):
    """Input sharing: each party sends n-1 shares of 8L bytes; reveal: n-1 shares to party 0.

    Bytes = (n(n-1) + (n-1)) * (8L + header); rounds = 2 (one per phase that sends).
    """
    rep = run_scenario(from_dict(_scenario(
        {"name": "secure_sum", "parties": n, "vector_length": length},
        network={"header_bytes": header},
    )))
    messages = n * (n - 1) + (n - 1)
    assert rep["totals"]["messages"] == messages
    assert rep["totals"]["bytes"] == messages * (8 * length + header)
    assert rep["totals"]["header_bytes"] == messages * header
    assert rep["totals"]["rounds"] == 2
    assert rep["result_check"]["ok"]


def test_star_relays_leaf_to_leaf_shares_through_the_hub():
    n, length = 5, 10
    rep = run_scenario(from_dict(_scenario(
        {"name": "secure_sum", "parties": n, "vector_length": length},
        {"kind": "star", "hub": 0, "latency": 0.001, "bandwidth": 1e7},
    )))
    links = {(link["src"], link["dst"]): link for link in rep["links"]}
    assert set(links) == {(0, i) for i in range(1, n)} | {(i, 0) for i in range(1, n)}
    # leaf i -> hub carries its share for the hub, its n-2 shares for other leaves, its reveal
    assert links[(1, 0)]["messages"] == 1 + (n - 2) + 1
    # hub -> leaf i carries the hub's share and the n-2 shares of the other leaves
    assert links[(0, 1)]["messages"] == 1 + (n - 2)
    # party bytes count each message once, whatever its route
    assert rep["parties"][1]["bytes_sent"] == (n - 1 + 1) * 8 * length


def test_shamir_sum_survives_crashes_after_sharing():
    rep = run_scenario(from_dict(_scenario(
        {"name": "secure_sum", "parties": 7, "vector_length": 50, "scheme": "shamir",
         "threshold": 2, "reveal_timeout_s": 1.0},
        faults=[{"kind": "crash", "party": 5, "at": 0.00101},
                {"kind": "crash", "party": 6, "at": 0.00101}],
    )))
    assert [c["party"] for c in rep["crashed"]] == [5, 6]
    assert rep["result_check"]["ok"]
    # Shamir shares are field elements of GF(2^31 - 1): 4 bytes each
    sharing = next(p for p in rep["phases"] if p["name"] == "input sharing")
    assert sharing["bytes"] == 7 * 6 * 4 * 50


def test_mul_cmp_is_correct_and_trusts_a_dealer():
    rep = run_scenario(from_dict(_scenario(
        {"name": "secure_mul_cmp", "parties": 3, "vector_length": 300},
    )))
    assert rep["result_check"]["ok"], rep["result_check"]
    assert "dealer" in rep["trust"]
    assert rep["roles"]["dealer"] == [3]
    assert rep["offline"]["bytes"] > 0
    phases = {p["name"]: p for p in rep["phases"]}
    # both owners share at once: 1 round, 2 owners x 2 other players x 8L bytes
    assert phases["input sharing"]["rounds"] == 1
    assert phases["input sharing"]["bytes"] == 2 * 2 * 8 * 300
    # the product and the comparison run together (Mpc.gather): the rounds of the
    # longer one, each measured alone; both reveals in one round
    alone = {name: _rounds_alone(name, 3, 300) for name in ("mul_fx", "lt")}
    assert min(alone.values()) > 0  # so that the longer one's rounds are less than the sum
    assert phases["multiply and compare"]["rounds"] == max(alone.values())
    assert phases["reveal"]["rounds"] == 1
    assert rep["totals"]["rounds"] == 1 + max(alone.values()) + 1
    # the dealer's messages are offline and add nothing to the online rounds
    assert rep["totals"]["rounds"] == sum(p["rounds"] for p in rep["phases"] if not p["offline"])
