"""Measured costs of the sharing operations equal their formulas.

p players, L elements, H header bytes per message. Online rounds and bytes
come from the ledger of one phase per operation; the dealer's preprocessing
is counted apart in the offline phase ``offline:<op>``.

Formulas (Beaver 1991; dealer seed compression as in CrypTen's TTP provider;
comparison by masked bit decomposition with a log-depth prefix tree):

* share (owner a player): p-1 messages of 8L;   reveal to all: p(p-1) of 8L
* mul: 1 round, p(p-1) messages of 16L;        offline: 1 message of 8L
* matmul (m x k)(k x n): 1 round, p(p-1) of 8(mk + kn); offline 8mn
* trunc: 1 round, p(p-1) of 8L;                 offline: 1 message of 16L
* and: 1 round, p(p-1) of ceil(2L/8);           b2a: 1 round, p(p-1) of ceil(L/8)
* lt: 2 + ceil(log2 63) = 8 rounds, p(p-1) messages per round,
  bytes p(p-1) [8L + sum_l ceil(2 A_l L/8) + ceil(L/8)], A = [62, 32, 16, 8, 4, 1];
  offline 8 messages: 8L + sum_l ceil(A_l L/8) + 8L
* eq: 2 + ceil(log2 64) = 8 rounds, A = [32, 16, 8, 4, 2, 1], same shape of formula
* Shamir mul (GRR): 1 round, p(p-1) messages of 4L
* setup: p offline messages of 16 bytes (PRG seeds)
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from protocols.sharing import (
    Mpc,
    ShamirMpc,
    decode,
    encode,
    to_field,
    to_ring,
    tree_and_counts,
)
from protocols.sharing.harness import run_mpc
from sim.testing import assert_costs, run

H = 40  # header bytes per message


def costs(p: int, L: int, op):
    """Run `op(mpc, x, y)` on shared x, y of length L; return the ledger."""
    async def body(m: Mpc):
        me = m.party.id
        with m.party.phase("setup"):
            await m.setup()
        with m.party.phase("input"):
            x = await m.share(0, to_ring(np.arange(L)) if me == 0 else None, (L,))
            y = await m.share(0, to_ring(np.arange(L) * 3) if me == 0 else None, (L,))
        with m.party.phase("op"):
            return await op(m, x, y)

    return run_mpc(p, body, header_bytes=H).result.ledger


def online(ledger):
    stats = ledger.phases["op"]
    return stats.messages, stats.bytes, ledger.phase_rounds()["op"]


def offline(ledger):
    stats = ledger.phases.get("offline:op")
    return (0, 0) if stats is None else (stats.messages, stats.bytes)


@pytest.mark.parametrize("p", [2, 3, 5])
@pytest.mark.parametrize("L", [8, 40])
def test_beaver_mul_trunc_and_matmul(p, L):
    pairs = p * (p - 1)
    ledger = costs(p, L, lambda m, x, y: m.mul(x, y))
    assert online(ledger) == (pairs, pairs * (16 * L + H), 1)
    assert offline(ledger) == (1, 8 * L + H)

    ledger = costs(p, L, lambda m, x, y: m.trunc(x))
    assert online(ledger) == (pairs, pairs * (8 * L + H), 1)
    assert offline(ledger) == (1, 16 * L + H)

    rows, cols = 2, 3  # X (rows x L) times Y (L x cols)
    ledger = costs(p, L, lambda m, x, y: m.matmul(np.stack([x] * rows), np.stack([y] * cols, 1)))
    assert online(ledger) == (pairs, pairs * (8 * (rows * L + L * cols) + H), 1)
    assert offline(ledger) == (1, 8 * rows * cols + H)

    setup = ledger.phases["offline:seeds"]
    assert (setup.messages, setup.bytes) == (p, p * (16 + H))


@pytest.mark.parametrize("p", [2, 3, 4])
@pytest.mark.parametrize("L", [8, 24, 5])
def test_boolean_and_and_b2a(p, L):
    pairs = p * (p - 1)

    async def op_and(m, x, y):
        return await m.and_(x < 3, y < 3)  # local bits: the cost is the AND's

    ledger = costs(p, L, op_and)
    assert online(ledger) == (pairs, pairs * (math.ceil(2 * L / 8) + H), 1)
    assert offline(ledger) == (1, math.ceil(L / 8) + H)
    ledger = costs(p, L, lambda m, x, y: m.b2a(x < 3))
    assert online(ledger) == (pairs, pairs * (math.ceil(L / 8) + H), 1)
    assert offline(ledger) == (1, 8 * L + H)


def comparison_formula(p: int, L: int, ands: list[int]) -> tuple[int, int, int, int, int]:
    """(messages, bytes, rounds, offline messages, offline bytes) of lt/eq."""
    rounds = 2 + len(ands)
    payload = 8 * L + sum(math.ceil(2 * a * L / 8) for a in ands) + math.ceil(L / 8)
    off = 8 * L + sum(math.ceil(a * L / 8) for a in ands) + 8 * L
    return (p * (p - 1) * rounds, p * (p - 1) * (payload + H * rounds), rounds,
            rounds, off + H * rounds)


def test_tree_sizes():
    assert tree_and_counts(63, True) == [62, 32, 16, 8, 4, 1]
    assert tree_and_counts(64, False) == [32, 16, 8, 4, 2, 1]
    assert len(tree_and_counts(63, True)) == math.ceil(math.log2(63))


@pytest.mark.parametrize("p", [2, 3, 5])
@pytest.mark.parametrize("L", [8, 64, 3])
def test_comparison_rounds_are_logarithmic_in_the_bit_width(p, L):
    """lt: 2 + ceil(log2(ell - 1)) = 8 rounds for ell = 64; eq: 2 + ceil(log2 ell) = 8."""
    ledger = costs(p, L, lambda m, x, y: m.lt(x, y))
    msgs, nbytes, rounds, off_msgs, off_bytes = comparison_formula(p, L, [62, 32, 16, 8, 4, 1])
    assert rounds == 2 + math.ceil(math.log2(64 - 1)) == 8
    assert online(ledger) == (msgs, nbytes, rounds)
    assert offline(ledger) == (off_msgs, off_bytes)

    ledger = costs(p, L, lambda m, x, y: m.eq(x, y))
    msgs, nbytes, rounds, off_msgs, off_bytes = comparison_formula(p, L, [32, 16, 8, 4, 2, 1])
    assert online(ledger) == (msgs, nbytes, rounds)
    assert offline(ledger) == (off_msgs, off_bytes)


def test_messages_do_not_grow_with_length():
    for op in (lambda m, x, y: m.mul(x, y), lambda m, x, y: m.lt(x, y),
               lambda m, x, y: m.argmax(np.stack([x, y], axis=-1))):
        short, long = costs(3, 4, op), costs(3, 400, op)
        assert online(short)[0] == online(long)[0]
        assert online(short)[2] == online(long)[2]
        assert offline(short)[0] == offline(long)[0]


def test_select_and_argmax_rounds():
    """select: 1 round (one Beaver product); argmax over k: 9 ceil(log2 k) rounds."""
    assert online(costs(3, 8, lambda m, x, y: m.select(m.sub(x, x), x, y)))[2] == 1
    for k in (2, 3, 5, 8):
        ledger = costs(3, 8, lambda m, x, y, k=k: m.argmax(np.stack([x] * k, axis=-1)))
        assert online(ledger)[2] == 9 * math.ceil(math.log2(k))


@pytest.mark.parametrize("p", [3, 5])
def test_share_reveal_and_shamir_mul(p):
    L, pairs = 16, p * (p - 1)
    ledger = costs(p, L, lambda m, x, y: m.reveal(x))
    assert online(ledger) == (pairs, pairs * (8 * L + H), 1)
    ledger = costs(p, L, lambda m, x, y: m.reveal(x, to=1))
    assert online(ledger) == (p - 1, (p - 1) * (8 * L + H), 1)
    stats = ledger.phases["input"]
    assert (stats.messages, stats.bytes) == (2 * (p - 1), 2 * (p - 1) * (8 * L + H))

    async def program(party):
        s = ShamirMpc(party, list(range(p)), (p - 1) // 2)
        with party.phase("input"):
            x = await s.share(0, to_field(np.arange(L)) if party.id == 0 else None, (L,))
        with party.phase("op"):
            return await s.mul(x, x)

    ledger = run(program, n=p, header_bytes=H).result.ledger
    assert online(ledger) == (pairs, pairs * (4 * L + H), 1)


@pytest.mark.parametrize(("p", "owners", "one_by_one"), [
    (2, [0, 1], 2), (3, [0, 1, 2], 3), (3, [1, 4, 1, 0], 3)])
def test_share_all_is_one_round_whatever_the_owners(p, owners, one_by_one):
    """Several owners' inputs (4 is an input party, neither player nor dealer) go in one
    round, one message per owner and other player carrying all its shares (8L bytes per
    input). One `share` after another measures `one_by_one` rounds: an owner that is a
    player sends after it has received the earlier owners' shares."""
    L = 5
    values = [np.arange(L) * (k + 1) for k in range(len(owners))]

    async def body(m: Mpc, batched: bool):
        me = m.party.id
        inputs = [(o, to_ring(v) if me == o else None, (L,))
                  for o, v in zip(owners, values, strict=True)]
        with m.party.phase("input"):
            if batched:
                shares = await m.share_all(inputs)
            else:
                shares = [await m.share(*item) for item in inputs]
        with m.party.phase("open"):
            return [await m.reveal(s) for s in shares]

    runs = {batched: run_mpc(p, lambda m, b=batched: body(m, b), extra=2, header_bytes=H)
            for batched in (True, False)}
    for out in runs.values():
        for got, want in zip(out.outputs[0], values, strict=True):
            assert np.array_equal(got, to_ring(want))

    def receivers(owner):
        return p - 1 if owner < p else p

    payload = sum(8 * L * receivers(o) for o in owners)
    messages = sum(receivers(o) for o in set(owners))
    assert_costs(runs[True], "input", rounds=1, messages=messages,
                 bytes=payload + messages * H)
    assert_costs(runs[False], "input", rounds=one_by_one,
                 bytes=payload + sum(receivers(o) for o in owners) * H)


def test_dot_fx_of_vectors_and_comparisons_of_its_result_warn_nothing():
    """A 1-D dot product is a 0-d share; numpy turns 0-d results into scalars, whose
    wrap-around warned (7 seeds in 40 for dot_fx). Every seed, warnings as errors."""
    L, f = 7, 16

    for seed in range(40):
        rng = np.random.default_rng(seed)
        x, y = rng.uniform(-10, 10, (2, L))

        async def body(m: Mpc, x=x, y=y):
            me = m.party.id
            xs, ys = await m.share_all_fx([(0, x if me == 0 else None, (L,)),
                                           (1, y if me == 1 else None, (L,))])
            d, e = await m.dot_fx(xs, ys), await m.dot_fx(ys, xs)
            less = await m.lt(d, m.add_public_fx(e, 1.0))
            return [await m.reveal_fx(d), await m.reveal(less), await m.reveal(await m.eq(d, d))]

        with warnings.catch_warnings():
            warnings.simplefilter("error")
            dot, less, same = run_mpc(3, body, frac_bits=f, seed=seed).outputs[0]
        exact = decode(encode(x, f), f) @ decode(encode(y, f), f)
        assert np.shape(dot) == () and abs(dot - exact) <= 2.0**-f
        assert int(less) == 1 and int(same) == 1
