"""The cost model: seconds per operation, by operation class, measured on a machine.

Local work is charged from what the code computes, never from the wall clock: a
protocol step says how many operations of each class it performs
(``await party.work(ring=3 * n, madd=m * k * n)``) and the party's clock advances
by their sum weighted by this model's seconds per operation. The same counts on
the same model give the same time, so a seed still fixes the report; cost-only
runs count from shapes and charge the same.

`OPS` names every class and its unit. Paillier operations are per key size
(`SIZED`): a model holds them at the sizes it measured and interpolates between
them on a log-log line (cubic in the key size beyond the measured range, the
growth of a modular exponentiation with schoolbook multiplication).

Sending and receiving cost CPU too: ``message`` seconds per message and
``wire_byte`` seconds per byte at each end (framing, system calls, copies). The
simulator charges them to the sender (which waits for its serialization) and to
the receiver's host (the message is ready once decoded), see `sim.engine`.

A model is a TOML file (``ppsim calibrate`` writes one)::

    machine = "AMD EPYC 7B13, 2 cores; numpy 2.1, Python 3.12"
    measured = "2025-01-31"
    [seconds]
    ring = 4.1e-10
    ...
    [seconds.paillier_encrypt]   # by key size in bits
    1024 = 1.9e-3
    2048 = 1.1e-2

The shipped default, `DEFAULT_PATH`, says which machine it was measured on.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OPS: dict[str, str] = {
    "ring": "one element of an element-wise numpy operation on 64-bit integers or floats "
            "(add, multiply, xor, shift, compare) as protocol code runs it: fresh results, "
            "their page faults included (fitted on a Beaver product of 2^18 elements)",
    "pass": "one element of an in-place pass over an array already in memory (no new "
            "result): ring_matmul's limb splitting and recombination",
    "bit": "one byte of an operation on bits as the comparison circuits run it: packed "
           "eight to a byte (`protocols.sharing.bits.Rows`), or one bool element (fitted "
           "on a comparison of 2^15 elements)",
    "mod": "one element of an int64 reduction modulo a 31-bit prime",
    "scatter": "one weighted element added into a histogram (np.bincount)",
    "madd": "one float64 multiply-add in single-threaded BLAS (matrix product)",
    "ring_madd": "one multiply-add of numpy's uint64 matrix product (no BLAS)",
    "call": "one step of protocol code: a numpy call with the Python around it (fitted "
            "on products and comparisons of a few elements)",
    "aes_byte": "one byte of AES-128-CTR keystream (the dealer's seeded PRG)",
    "chacha_byte": "one byte of ChaCha20 keystream (secure aggregation's mask PRG)",
    "keygen": "one X25519 key pair",
    "key_agreement": "one X25519 exchange and HKDF-SHA256",
    "aead": "one ChaCha20-Poly1305 encryption or decryption of a short message",
    "hash": "one HMAC-SHA256 of a short message",
    "bigint": "one arithmetic operation on 256-bit Python integers",
    "ope_encrypt": "one order-preserving encryption (32-bit domain, 48-bit range)",
    "paillier_keygen": "one Paillier key pair (two primes by gmpy2.next_prime)",
    "paillier_encrypt": "one Paillier encryption with the public key (phe raw_encrypt)",
    "paillier_encrypt_crt": "one Paillier encryption by the key's owner (CRT)",
    "paillier_decrypt": "one Paillier decryption (CRT)",
    "paillier_mul": "one multiplication of ciphertexts mod n^2 (a homomorphic addition)",
    "message": "CPU per message at each end: framing, system calls, bookkeeping",
    "wire_byte": "CPU per byte at each end: serializing and copying",
}
"""Every operation class and its unit (the model gives seconds per unit)."""

SIZED = frozenset({"paillier_keygen", "paillier_encrypt", "paillier_encrypt_crt",
                   "paillier_decrypt", "paillier_mul"})
"""Classes whose cost depends on the key size (``bits``)."""

DEFAULT_PATH = Path(__file__).with_name("cost_model.toml")
"""The shipped model (see its ``machine`` line)."""


class CostModelError(ValueError):
    """A cost model file or override is malformed; the message names the key."""


@dataclass(frozen=True)
class CostModel:
    """Seconds per operation of each class (`OPS`); sized classes by key size.

    Attributes:
        seconds: seconds per unit of every unsized class.
        sized: for each class of `SIZED`, seconds per operation by key size.
        machine: where and with what it was measured.
        measured: when.
        source: the file it came from ("default" for the shipped one).
    """

    seconds: Mapping[str, float]
    sized: Mapping[str, Mapping[int, float]] = field(default_factory=dict)
    machine: str = ""
    measured: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        for name, value in self.seconds.items():
            _check(name, value, unsized=True)
        for name, table in self.sized.items():
            if name not in SIZED:
                raise CostModelError(f"cost model: {name!r} is not a per-key-size class; "
                                     f"those are {sorted(SIZED)}")
            if not table:
                raise CostModelError(f"cost model: {name} has no key size")
            for bits, value in table.items():
                if not (isinstance(bits, int) and bits > 0):
                    raise CostModelError(f"cost model: {name} key size {bits!r} is not a "
                                         "positive integer")
                _check(f"{name}.{bits}", value, unsized=False)

    # -- building ------------------------------------------------------------------

    @classmethod
    def free(cls) -> CostModel:
        """Every operation free: pure network timing (kernel tests of the network)."""
        return cls(dict.fromkeys(set(OPS) - SIZED, 0.0), {k: {2048: 0.0} for k in SIZED},
                   machine="none: every operation costs 0 s", source="free")

    @classmethod
    def default(cls) -> CostModel:
        """The shipped model, measured on the machine its ``machine`` line names."""
        return _default()

    @classmethod
    def load(cls, path: str | Path) -> CostModel:
        """A model from a TOML file (what ``ppsim calibrate`` writes)."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except OSError as exc:
            raise CostModelError(f"{path}: cannot read the cost model: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise CostModelError(f"{path}: not valid TOML: {exc}") from None
        try:
            return cls.from_dict(data, source=str(path))
        except CostModelError as exc:
            raise CostModelError(f"{path}: {exc}") from None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "") -> CostModel:
        """The model a parsed file (or `as_dict`) describes; every class must be there."""
        table = data.get("seconds")
        if not isinstance(table, Mapping):
            raise CostModelError("cost model: needs a [seconds] table")
        flat, sized = _split(table)
        missing = sorted((set(OPS) - SIZED) - set(flat)) + sorted(SIZED - set(sized))
        if missing:
            raise CostModelError(f"cost model: missing {', '.join(missing)} "
                                 "(rerun `ppsim calibrate`)")
        return cls(flat, sized, str(data.get("machine", "")), str(data.get("measured", "")),
                   source)

    def with_overrides(self, overrides: Mapping[str, Any]) -> CostModel:
        """This model with some constants replaced (a scenario's ``[cost]`` keys)."""
        if not overrides:
            return self
        flat, sized = _split(overrides)
        merged = {k: {**self.sized.get(k, {}), **v} for k, v in sized.items()}
        return CostModel({**self.seconds, **flat}, {**self.sized, **merged}, self.machine,
                         self.measured, self.source + " with overrides")

    def as_dict(self) -> dict[str, Any]:
        """What the report and a model file hold: machine, date and every constant."""
        seconds: dict[str, Any] = {k: self.seconds[k] for k in OPS if k in self.seconds}
        for name in OPS:
            if name in self.sized:
                seconds[name] = {str(b): v for b, v in sorted(self.sized[name].items())}
        return {"machine": self.machine, "measured": self.measured, "seconds": seconds}

    # -- charging ------------------------------------------------------------------

    def time(self, counts: Mapping[str, float], bits: int | None = None) -> float:
        """Seconds that `counts` operations (by class) take; `bits` is the key size of
        the sized classes among them."""
        total = 0.0
        for name, count in counts.items():
            if count < 0:
                raise ValueError(f"work: {name} count must be >= 0, got {count}")
            if not count:
                continue
            if name in SIZED:
                if bits is None:
                    raise ValueError(f"work: {name} needs the key size (bits=...)")
                total += count * self.at_size(name, bits)
            else:
                per = self.seconds.get(name)
                if per is None:
                    raise ValueError(f"work: unknown operation class {name!r}; known: "
                                     f"{', '.join(OPS)}")
                total += count * per
        return total

    def at_size(self, name: str, bits: int) -> float:
        """Seconds of one `name` operation at key size `bits`: measured, or on the
        log-log line through the two nearest measured sizes (cubic from one size)."""
        table = self.sized[name]
        if bits in table:
            return table[bits]
        sizes = sorted(table)
        if len(sizes) == 1:
            return table[sizes[0]] * (bits / sizes[0]) ** 3
        below = [s for s in sizes if s < bits]
        above = [s for s in sizes if s > bits]
        lo, hi = (below[-1], above[0]) if below and above else (
            (sizes[0], sizes[1]) if not below else (sizes[-2], sizes[-1]))
        if table[lo] <= 0 or table[hi] <= 0:
            return table[lo] if abs(bits - lo) <= abs(bits - hi) else table[hi]
        slope = math.log(table[hi] / table[lo]) / math.log(hi / lo)
        return table[lo] * (bits / lo) ** slope

    @property
    def messaging(self) -> bool:
        """Whether sending and receiving cost CPU time in this model."""
        return bool(self.seconds.get("message") or self.seconds.get("wire_byte"))

    def message_time(self, wire_bytes: int) -> float:
        """CPU seconds one end spends on a message of `wire_bytes` bytes."""
        return self.seconds["message"] + wire_bytes * self.seconds["wire_byte"]


def _check(name: str, value: Any, unsized: bool) -> None:
    base = name.split(".")[0]
    if unsized and base not in OPS:
        raise CostModelError(f"cost model: unknown operation class {name!r}; known: "
                             f"{', '.join(OPS)}")
    if not isinstance(value, int | float) or isinstance(value, bool) or not (
            math.isfinite(value) and value >= 0):
        raise CostModelError(f"cost model: {name} = {value!r}; expected seconds >= 0")


def _split(table: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, dict[int, float]]]:
    """Unsized constants and per-key-size tables (TOML keys are strings)."""
    flat: dict[str, float] = {}
    sized: dict[str, dict[int, float]] = {}
    for name, value in table.items():
        if name not in OPS:
            raise CostModelError(f"cost model: unknown operation class {name!r}; known: "
                                 f"{', '.join(OPS)}")
        if name in SIZED:
            if not isinstance(value, Mapping):
                raise CostModelError(f"cost model: {name} is per key size: give a table "
                                     f"{{2048 = seconds}}, got {value!r}")
            try:
                sized[name] = {int(b): v for b, v in value.items()}
            except ValueError:
                raise CostModelError(f"cost model: {name} key sizes must be integers, got "
                                     f"{sorted(value)}") from None
        else:
            flat[name] = value
    return flat, sized


_DEFAULT: CostModel | None = None


def _default() -> CostModel:
    global _DEFAULT
    if _DEFAULT is None:
        model = CostModel.load(DEFAULT_PATH)
        _DEFAULT = CostModel(model.seconds, model.sized, model.machine, model.measured,
                             "default")
    return _DEFAULT
