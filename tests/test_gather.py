"""`Mpc.gather`: independent operations in the same rounds, one message per peer a round.

Against running them one after the other: the same revealed values (exactly, or
within the one unit a probabilistic truncation may add), and the rounds of the
longest operation, not the sum (rounds measured by the ledger's causal depth).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.costonly import Ghost
from protocols.sharing import Mpc, decode, encode
from protocols.xorboost.costonly import GhostMpc
from sim.testing import arun, run

F = 16
OPS = {  # name: (the operation on shares x, y; how far a result may move: truncations)
    "mul": (lambda mpc, x, y: mpc.mul(x, y), 0),
    "mul_fx": (lambda mpc, x, y: mpc.mul_fx(x, y), 1),
    "trunc": (lambda mpc, x, y: mpc.trunc(x), 1),
    "lt": (lambda mpc, x, y: mpc.lt(x, y), 0),
    "eq": (lambda mpc, x, y: mpc.eq(x, x), 0),
    "dot_fx": (lambda mpc, x, y: mpc.dot_fx(x, y), 1),
    "reveal": (lambda mpc, x, y: mpc.reveal(y, to=0), 0),  # opens: no reveal after it
}


async def _as_is(value):
    return value


def _program(players: int, ops: list[str], x: np.ndarray, y: np.ndarray, together: bool,
             nested: bool = False):
    """Share x (player 0's) and y (player 1's), run `ops` together (one phase) or one
    after the other (a phase each), then reveal every result at once to player 0."""
    async def program(party):
        mpc = Mpc(party, list(range(players)), players, F)
        me = party.id
        xs, ys = await mpc.share_all_fx([(0, x if me == 0 else None, x.shape),
                                         (1, y if me == 1 else None, y.shape)])
        await mpc.setup()
        calls = [OPS[name][0](mpc, xs, ys) for name in ops]
        if together:
            with party.phase("together"):
                if nested:
                    first, rest = await mpc.gather(calls[0], mpc.gather(*calls[1:]))
                    results = [first, *rest]
                else:
                    results = await mpc.gather(*calls)
        else:
            results = []
            for k, call in enumerate(calls):
                with party.phase(f"op {k}"):
                    results.append(await call)
        with party.phase("reveal"):
            opened = await mpc.gather(*(_as_is(r) if name == "reveal" else mpc.reveal(r, to=0)
                                        for name, r in zip(ops, results, strict=True)))
        return opened if me == 0 else None
    return program


def _signed(a: np.ndarray) -> np.ndarray:
    return np.asarray(a).astype(np.uint64).view(np.int64)


@settings(max_examples=25, deadline=None)
@given(players=st.integers(2, 3), length=st.integers(1, 4),
       ops=st.lists(st.sampled_from(sorted(OPS)), min_size=2, max_size=4),
       nested=st.booleans(), data=st.data())
def test_gather_equals_one_after_the_other_in_max_rounds(players, length, ops, nested, data):
    values = st.floats(-8, 8, allow_nan=False, allow_infinity=False)
    x = np.array(data.draw(st.lists(values, min_size=length, max_size=length)))
    y = np.array(data.draw(st.lists(values, min_size=length, max_size=length)))
    n = players + 1
    alone = run(_program(players, ops, x, y, together=False), n=n, seed=3)
    together = run(_program(players, ops, x, y, together=True, nested=nested), n=n, seed=3)
    for name, a, b in zip(ops, alone.outputs[0], together.outputs[0], strict=True):
        slack = OPS[name][1]
        if a.dtype == np.bool_:
            assert np.array_equal(a, b), name
        else:
            assert np.max(np.abs(_signed(a) - _signed(b))) <= slack, name
    each = [alone.phase(f"op {k}")["rounds"] for k in range(len(ops))]
    assert together.phase("together")["rounds"] == max(each)
    revealed_already = all(name == "reveal" for name in ops)
    assert together.phase("reveal")["rounds"] == (0 if revealed_already else 1)
    # lockstep: never more messages than the operations alone, often far fewer
    assert together.phase("together")["messages"] <= sum(
        alone.phase(f"op {k}")["messages"] for k in range(len(ops)))


def test_mul_fx_and_lt_together_are_correct():
    x, y = np.array([1.5, -2.0, 3.25]), np.array([2.0, -2.0, -1.0])
    out = run(_program(3, ["mul_fx", "lt"], x, y, together=True), n=4).outputs[0]
    assert np.allclose(decode(out[0], F), x * y, atol=2 * 2.0**-F)
    assert np.array_equal(out[1], x < y)
    assert np.array_equal(decode(encode(x, F), F), x)


def test_cost_only_gather_costs_what_the_full_gather_costs():
    length, players = 5, 3

    def program(cls, ghost: bool):
        async def body(party):
            mpc = cls(party, list(range(players)), players, F)
            shape = (length,)
            if ghost:
                xs = ys = Ghost(shape, np.uint64)
            else:
                xs = ys = np.zeros(shape, np.uint64)
            await mpc.setup()
            with party.phase("together"):
                z, c = await mpc.gather(mpc.mul_fx(xs, ys), mpc.lt(xs, ys))
                await mpc.gather(mpc.reveal(z, to=0), mpc.reveal(c, to=0))
        return body

    full = run(program(Mpc, False), n=players + 1)
    ghost = run(program(GhostMpc, True), n=players + 1)
    assert full.phase("together") == ghost.phase("together")
    assert full.report["offline"] == ghost.report["offline"]


def test_an_operation_missing_at_one_party_is_an_error_not_a_mismatch():
    def program(reveals: dict[int, int]):
        async def body(party):
            mpc = Mpc(party, [0, 1], 2)
            x = np.zeros(3, np.uint64)
            await mpc.setup()
            await mpc.gather(*(mpc.reveal(x) for _ in range(reveals.get(party.id, 1))))
        return body

    # party 0 reveals twice, party 1 once: party 1 gets a part it never takes
    with pytest.raises(Exception, match="part for operation 1 that it never took"):
        run(program({0: 2}), n=3)
    # and a part that never comes is a deadlock the simulator names
    with pytest.raises(Exception, match="deadlock"):
        run(program({1: 0}), n=3)


@pytest.mark.trio
async def test_gather_on_the_tcp_runtime_matches_the_simulator():
    x, y = np.array([0.5, -3.0, 2.0, 7.5]), np.array([-1.25, 4.0, 2.0, 7.0])
    program = _program(3, ["mul_fx", "lt", "reveal"], x, y, together=True)
    sim = run(program, n=4, seed=9)
    tcp = await arun(program, n=4, runtime="tcp", seed=9)
    assert tcp.report["runtime"] == "tcp"
    for a, b in zip(sim.outputs[0], tcp.outputs[0], strict=True):
        assert np.array_equal(a, b)
    for phase in ("together", "reveal"):
        assert tcp.phase(phase)["rounds"] == sim.phase(phase)["rounds"]
        assert tcp.phase(phase)["messages"] == sim.phase(phase)["messages"]
