"""Workloads that measure the cost model's constants for the primitives protocols implement.

Offered to ``ppsim calibrate`` under the entry point group ``ppsim.calibration``:
`MEASURES` maps an operation class (`sim.OPS`) to a function that prepares a
workload ``(run, units)`` (Paillier: one per key size) calling the very function
the protocols call, on the sizes they use; `sim.calibrate` times them and has the
numpy-level classes and the messages. The element-wise classes are fitted on
protocol code run in the simulator (`sim.CalibrationFit`): a fixed-point Beaver
product for ``ring``, a comparison for ``bit``; what they cost here depends on
fresh allocations and the circuits' packed bits as much as on arithmetic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from protocols.federated import crypto
from protocols.ppxgboost import paillier, scheme
from protocols.ppxgboost.ope import Ope, float32_order
from protocols.sharing.dealer import SeedPrg
from protocols.sharing.harness import run_mpc
from protocols.sharing.mpc import Mpc
from sim import CalibrationFit, CostModel
from sim.testing import Outcome

Workload = tuple[Callable[[], object], float]

KEY_SIZES = (1024, 2048)
"""Paillier key sizes measured: the shipped scenarios' (SecureBoost 1024, PPXGBoost 2048)."""

_BYTES = 1 << 23


RING_ELEMENTS, BIT_ELEMENTS, CALL_ELEMENTS = 1 << 18, 1 << 15, 4
"""Vector sizes of the fits: the middle of the protocols' range (10^4 .. 10^7) for the
element-wise classes; a few elements for the fixed cost of a step."""


def _counts(outcome: Outcome) -> Counter:
    counts: Counter = Counter()
    for stats in outcome.result.ledger.phases.values():
        counts.update(stats.ops)
    return counts


def _fit(size: int, op: Callable[[Mpc, np.ndarray, np.ndarray], Any], cls: str,
         times: int = 1) -> CalibrationFit:
    """`op`, `times` over, on shares of two random vectors of `size` among 3 players and
    a dealer, in the simulator."""
    rng = np.random.default_rng(14)
    x, y = rng.uniform(-100, 100, (2, size))

    async def body(mpc: Mpc) -> Any:
        me = mpc.party.id
        xs = await mpc.share_fx(0, x if me == 0 else None, (size,))
        ys = await mpc.share_fx(1, y if me == 1 else None, (size,))
        for _ in range(times):
            await op(mpc, xs, ys)

    return CalibrationFit(lambda: _counts(run_mpc(3, body, cost_model=CostModel.free())), cls)


async def _small_ops(mpc: Mpc, x: np.ndarray, y: np.ndarray) -> None:
    await mpc.lt(x, await mpc.mul_fx(x, y))


def call() -> CalibrationFit:
    """Products and comparisons of a few elements: their cost is the code's steps."""
    return _fit(CALL_ELEMENTS, _small_ops, "call", times=30)


def ring() -> CalibrationFit:
    """A fixed-point Beaver product (its charges are nearly all element operations)."""
    return _fit(RING_ELEMENTS, lambda mpc, x, y: mpc.mul_fx(x, y), "ring")


def bit() -> CalibrationFit:
    """A comparison (bit decomposition, six AND levels on bits packed eight to a byte)."""
    return _fit(BIT_ELEMENTS, lambda mpc, x, y: mpc.lt(x, y), "bit")


def aes_byte() -> Workload:
    """The dealer's AES-128-CTR PRG, 8 MiB at a time."""
    prg = SeedPrg(bytes(16))
    return (lambda: prg.raw(_BYTES // 8)), _BYTES


def chacha_byte() -> Workload:
    """Secure aggregation's ChaCha20 mask PRG, 8 MiB at a time."""
    return (lambda: crypto.prg(bytes(32), _BYTES // 8)), _BYTES


def keygen() -> Workload:
    rng = np.random.default_rng(8)
    return (lambda: [crypto.keypair(rng) for _ in range(100)]), 100


def key_agreement() -> Workload:
    rng = np.random.default_rng(9)
    _, mine, _ = crypto.keypair(rng)
    _, _, theirs = crypto.keypair(rng)
    return (lambda: [crypto.agree(mine, theirs, b"calibrate") for _ in range(100)]), 100


def aead() -> Workload:
    """A pair of Shamir shares (66 bytes), as secure aggregation encrypts them."""
    key, text = bytes(32), bytes(66)
    return (lambda: [crypto.encrypt(key, i, text) for i in range(200)]), 200


def hash_() -> Workload:
    return (lambda: [scheme.feature_label(b"k" * 32, f"f{i}") for i in range(200)]), 200


def ope_encrypt() -> Workload:
    """A batch of 1,000 feature values (normal, four scales; float32 order codes) under a
    fresh key: close values share the top of the descent, as real features do."""
    rng = np.random.default_rng(10)
    values = rng.normal(size=(250, 4)) * np.array([1.0, 10.0, 100.0, 1000.0])
    codes = float32_order(values).ravel()
    return (lambda: Ope(bytes(32)).encrypt_many(codes)), len(codes)


def _keys(bits: int) -> Any:
    return paillier.keypair(np.random.default_rng([11, bits]), bits)


def _by_size(workload: Callable[[int], Workload]) -> dict[int, Workload]:
    return {bits: workload(bits) for bits in KEY_SIZES}


def paillier_keygen() -> dict[int, Workload]:
    """The same five key pairs each time (prime searches vary: their average)."""
    def at(bits: int) -> Workload:
        def five() -> None:
            rng = np.random.default_rng([13, bits])
            for _ in range(5):
                paillier.keypair(rng, bits)

        return five, 5

    return _by_size(at)


def paillier_encrypt() -> dict[int, Workload]:
    def at(bits: int) -> Workload:
        public, _ = _keys(bits)
        return (lambda: [public.raw_encrypt(i) for i in range(10)]), 10

    return _by_size(at)


def paillier_encrypt_crt() -> dict[int, Workload]:
    def at(bits: int) -> Workload:
        _, private = _keys(bits)
        rng = np.random.default_rng(12)
        return (lambda: paillier.encrypt_many(private, list(range(20)), rng)), 20

    return _by_size(at)


def paillier_decrypt() -> dict[int, Workload]:
    def at(bits: int) -> Workload:
        public, private = _keys(bits)
        cts = [public.raw_encrypt(i) for i in range(10)]
        return (lambda: [private.raw_decrypt(c) for c in cts]), 10

    return _by_size(at)


def paillier_mul() -> dict[int, Workload]:
    """Python-integer products mod n^2, as SecureBoost accumulates histograms."""
    def at(bits: int) -> Workload:
        public, _ = _keys(bits)
        nsq = public.nsquare
        cts = [public.raw_encrypt(i) for i in range(100)]

        def chain() -> None:
            acc = 1
            for c in cts:
                acc = acc * c % nsq

        return chain, len(cts)

    return _by_size(at)


MEASURES: dict[str, Callable[[], Workload | dict[int, Workload] | CalibrationFit]] = {
    "ring": ring, "bit": bit, "call": call, "aes_byte": aes_byte, "chacha_byte": chacha_byte,
    "keygen": keygen,
    "key_agreement": key_agreement, "aead": aead, "hash": hash_, "ope_encrypt": ope_encrypt,
    "paillier_keygen": paillier_keygen, "paillier_encrypt": paillier_encrypt,
    "paillier_encrypt_crt": paillier_encrypt_crt, "paillier_decrypt": paillier_decrypt,
    "paillier_mul": paillier_mul,
}
