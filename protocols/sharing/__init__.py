"""Secret sharing and secure arithmetic (issue 3, item 6).

* additive shares over Z_2^64 with fixed-point encoding, and XOR shares:
  `Mpc` (Beaver products, truncation, comparison, equality, selection,
  argmax, reciprocal), with correlated randomness from a trusted dealer whose
  preprocessing the ledger counts as offline;
* Shamir (t, n) shares over GF(2^31 - 1): `shamir_share`, `shamir_reconstruct`
  (array level, no party needed; they also take other primes and points) and
  `ShamirMpc`.
"""

from protocols.sharing.compare import comparison_memory, tree_and_counts
from protocols.sharing.dealer import NoDealerError
from protocols.sharing.mpc import Mpc
from protocols.sharing.ring import (
    DEFAULT_FRAC_BITS,
    additive_split,
    decode,
    encode,
    signed,
    to_ring,
    xor_split,
)
from protocols.sharing.shamir import (
    PRIME,
    ShamirMpc,
    from_field,
    lagrange_at_zero,
    shamir_reconstruct,
    shamir_share,
    to_field,
)

__all__ = [
    "DEFAULT_FRAC_BITS",
    "PRIME",
    "Mpc",
    "NoDealerError",
    "ShamirMpc",
    "additive_split",
    "comparison_memory",
    "decode",
    "encode",
    "from_field",
    "lagrange_at_zero",
    "shamir_reconstruct",
    "shamir_share",
    "signed",
    "to_field",
    "to_ring",
    "tree_and_counts",
    "xor_split",
]
