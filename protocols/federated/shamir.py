"""Shamir sharing of 256-bit secrets (X25519 private keys, mask seeds) over a prime field.

The field is Z_p with p = 2^256 + 297, the smallest prime above 2^256, so any
32-byte string is one field element and needs no splitting into limbs. A share
travels as a fixed 33-byte string, so its wire size does not depend on its
value. ``t`` is the number of shares that reconstruct (the polynomial has
degree t - 1), as in Bonawitz et al.; evaluation points are party ids (> 0).

The arithmetic is `protocols.sharing.shamir`'s, given this prime: it falls
back from int64 to Python integers (gmpy2 would not pay off for these few
secrets per client). This module only adds the threshold convention and the
byte encoding.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from protocols.sharing import shamir as field

PRIME = 2**256 + 297
SHARE_BYTES = 33


def share(secret: int, t: int, xs: Sequence[int], rng: np.random.Generator) -> dict[int, bytes]:
    """Shares of `secret` for the evaluation points `xs`; any `t` of them reconstruct it."""
    if not 1 <= t <= len(xs):
        raise ValueError(f"shamir.share needs 1 <= t <= {len(xs)} holders, got t={t}")
    if not 0 <= secret < PRIME:
        raise ValueError("shamir.share: the secret must be a field element")
    values = field.shamir_share(secret, t - 1, len(xs), rng, prime=PRIME, points=xs)
    return {x: int(v).to_bytes(SHARE_BYTES) for x, v in zip(xs, values, strict=True)}


def share_work(t: int, holders: int, secrets: int = 1) -> Counter:
    """What `share` of `secrets` secrets computes, by cost class: t-1 random
    coefficients, Horner's rule at `holders` points on 256-bit integers, the bytes."""
    return Counter(bigint=secrets * (2 * t + 2 * t * holders + 2 * holders),
                   call=secrets * (2 * t + holders))


def reconstruct_work(t: int, secrets: int, point_sets: int) -> Counter:
    """What `reconstruct` of `secrets` secrets computes, by cost class: per distinct
    set of t points the Lagrange coefficients (t^2 products and t inversions, a
    modular exponentiation of some 250 multiplications each; cached), then t
    products per secret."""
    return Counter(bigint=point_sets * (2 * t * t + 250 * t) + 3 * t * secrets,
                   call=point_sets * t + 2 * secrets)


def reconstruct(shares: Mapping[int, bytes], t: int) -> int:
    """The secret from at least `t` shares ``{x: share}`` (the `t` lowest points are used)."""
    if len(shares) < t:
        raise ValueError(f"shamir.reconstruct needs {t} shares, got {len(shares)}")
    xs = sorted(shares)[:t]
    if 0 in xs:
        raise ValueError("evaluation points must be nonzero")
    values = [int.from_bytes(shares[x]) for x in xs]
    return int(field.shamir_reconstruct(np.array(values, dtype=object), xs, prime=PRIME))
