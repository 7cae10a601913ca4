"""Shamir sharing of 256-bit secrets (X25519 private keys, mask seeds) over a prime field.

The field is Z_p with p = 2^256 + 297, the smallest prime above 2^256, so any
32-byte string is one field element and needs no splitting into limbs; the
arithmetic uses Python integers (gmpy2 would not pay off at these sizes). A
share travels as a fixed 33-byte string, so its wire size does not depend on
its value. ``t`` is the number of shares that reconstruct (the polynomial has
degree t - 1), as in Bonawitz et al.; evaluation points are party ids (> 0).

`protocols.sharing.shamir` works over 2^31 - 1 with numpy for MPC on vectors;
these few secrets per client are better served by one big field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np

PRIME = 2**256 + 297
SHARE_BYTES = 33


def share(secret: int, t: int, xs: Sequence[int], rng: np.random.Generator) -> dict[int, bytes]:
    """Shares of `secret` for the evaluation points `xs`; any `t` of them reconstruct it."""
    if not 1 <= t <= len(xs):
        raise ValueError(f"shamir.share needs 1 <= t <= {len(xs)} holders, got t={t}")
    if not 0 <= secret < PRIME:
        raise ValueError("shamir.share: the secret must be a field element")
    coeffs = [int.from_bytes(rng.bytes(SHARE_BYTES)) % PRIME for _ in range(t - 1)]
    out = {}
    for x in xs:
        acc = 0
        for c in reversed(coeffs):
            acc = (acc + c) * x  # reduced once at the end: ids are small
        out[x] = ((acc + secret) % PRIME).to_bytes(SHARE_BYTES)
    return out


@lru_cache(maxsize=4096)
def _lagrange(xs: tuple[int, ...]) -> tuple[int, ...]:
    coeffs = []
    for k, xk in enumerate(xs):
        num, den = 1, 1
        for j, xj in enumerate(xs):
            if j != k:
                num = num * xj % PRIME
                den = den * (xj - xk) % PRIME
        coeffs.append(num * pow(den, -1, PRIME) % PRIME)
    return tuple(coeffs)


def reconstruct(shares: Mapping[int, bytes], t: int) -> int:
    """The secret from at least `t` shares ``{x: share}`` (the `t` lowest points are used)."""
    if len(shares) < t:
        raise ValueError(f"shamir.reconstruct needs {t} shares, got {len(shares)}")
    xs = tuple(sorted(shares)[:t])
    if 0 in xs:
        raise ValueError("evaluation points must be nonzero")
    terms = zip(_lagrange(xs), xs, strict=True)
    return sum(c * int.from_bytes(shares[x]) for c, x in terms) % PRIME
