"""Boldyreva et al.'s order-preserving symmetric encryption (EUROCRYPT 2009).

Why our own: the only PyPI package, ``pyope`` 0.2.2 (2017, "experimental"), is
unmaintained and needs ``six``; this is the same scheme, smaller, with its coins
from HMAC-SHA256 (stdlib `hmac`, backed by OpenSSL).

The scheme maps the domain ``[0, 2**in_bits)`` into ``[0, 2**out_bits)`` by a
random order-preserving function sampled lazily: at each step the range is cut
in half at ``y`` and the number ``x`` of domain points that land below ``y`` is a
hypergeometric draw, whose coins are a PRF of the key and of the node
``(domain, range, y)``; the plaintext goes left or right and the step repeats
until the domain holds one point, which takes a PRF-chosen point of what is left
of the range. The same key always gives the same map (deterministic, so the
server can compare ciphertexts), and decryption replays the descent.

Sampling: numpy's hypergeometric sampler takes populations below 10**9 only;
above that (the first levels, where the range holds ``2**out_bits`` points) the
draw is the binomial ``Binomial(M, n/N)`` clipped to the hypergeometric support.
With ``N >= 2**16 M`` throughout (the default bits) its variance differs from the
hypergeometric's by a factor ``(N-M)/(N-1)``, i.e. by less than 2**-16; order
preservation and decryption hold whatever the sampler, since every draw stays in
the support.

`float32_order` turns float32 values into uint32 codes with the same order as
XGBoost's float comparison (``-0.0`` equals ``0.0``), so encrypting the codes
preserves exactly the comparisons XGBoost makes.
"""

from __future__ import annotations

import hmac

import numpy as np

IN_BITS = 32
OUT_BITS = 48
_NUMPY_HGD_MAX = 10**9
MEMO_NODES = 1 << 20
"""Most descent nodes one key memoises (then encryption recomputes the rest)."""


def memo_bytes(values: int) -> float:
    """Bytes of one key's memo after encrypting `values` distinct plaintexts: about 16 new
    nodes each (measured at 3,000 normal values; at most IN_BITS), of about 212 bytes (a
    dict entry keyed by a tuple of four ints), up to `MEMO_NODES` nodes."""
    return 212.0 * min(MEMO_NODES, 16 * values)


def float32_order(values: np.ndarray) -> np.ndarray:
    """uint32 codes of `values` (cast to float32) ordered as the floats are.

    Positive floats get the sign bit set, negative ones have all bits flipped;
    ``-0.0`` is first turned into ``0.0`` so both share one code. NaN is not
    ordered: callers handle missing values before this.
    """
    f = np.asarray(values, dtype=np.float32) + np.float32(0.0)  # -0.0 + 0.0 == +0.0
    bits = f.view(np.uint32)
    neg = (bits >> np.uint32(31)).astype(bool)
    return np.where(neg, ~bits, bits | np.uint32(0x80000000)).astype(np.uint32)


class Ope:
    """One key's order-preserving encryption of ``in_bits``-bit integers."""

    def __init__(self, key: bytes, in_bits: int = IN_BITS, out_bits: int = OUT_BITS):
        if out_bits < in_bits:
            raise ValueError("the range must be at least as large as the domain")
        self._key = key
        self.in_bits, self.out_bits = in_bits, out_bits
        self._split_memo: dict[tuple[int, int, int, int], int] = {}

    def _coins(self, *node: int) -> bytes:
        msg = b"".join(v.to_bytes(8, "big") for v in node)
        return hmac.digest(self._key, msg, "sha256")

    def _split(self, dlo: int, dhi: int, rlo: int, rhi: int) -> tuple[int, int]:
        """Cut range ``[rlo, rhi]`` at its middle ``y``; return ``(x, y)`` where
        domain points ``dlo..x`` map to ``rlo..y`` (memoised: shared top nodes)."""
        big_m, big_n = dhi - dlo + 1, rhi - rlo + 1
        y = rlo + (big_n + 1) // 2 - 1
        node = (dlo, dhi, rlo, rhi)
        x = self._split_memo.get(node)
        if x is None:
            draws = y - rlo + 1
            seed = int.from_bytes(self._coins(0, *node), "big")
            gen = np.random.Generator(np.random.PCG64(seed))
            bad = big_n - big_m
            if big_n < _NUMPY_HGD_MAX:
                k = int(gen.hypergeometric(big_m, bad, draws))
            else:
                k = int(gen.binomial(big_m, draws / big_n))
                k = min(max(k, draws - bad, 0), draws, big_m)
            x = dlo + k - 1
            if len(self._split_memo) < MEMO_NODES:
                self._split_memo[node] = x
        return x, y

    def encrypt(self, m: int) -> int:
        """The ciphertext of integer ``0 <= m < 2**in_bits``."""
        if not 0 <= m < 1 << self.in_bits:
            raise ValueError(f"plaintext {m} outside the domain")
        dlo, dhi, rlo, rhi = 0, (1 << self.in_bits) - 1, 0, (1 << self.out_bits) - 1
        while dlo != dhi:
            x, y = self._split(dlo, dhi, rlo, rhi)
            if m <= x:
                dhi, rhi = x, y
            else:
                dlo, rlo = x + 1, y + 1
        pick = int.from_bytes(self._coins(1, dlo, rlo, rhi), "big")
        return rlo + pick % (rhi - rlo + 1)

    def decrypt(self, c: int) -> int:
        """The plaintext of ciphertext `c`; ValueError if no plaintext maps to it."""
        dlo, dhi, rlo, rhi = 0, (1 << self.in_bits) - 1, 0, (1 << self.out_bits) - 1
        if not rlo <= c <= rhi:
            raise ValueError("ciphertext outside the range")
        while dlo != dhi:
            x, y = self._split(dlo, dhi, rlo, rhi)
            if c <= y:
                dhi, rhi = x, y
            else:
                dlo, rlo = x + 1, y + 1
            if dlo > dhi:
                raise ValueError("not a ciphertext under this key")
        if self.encrypt(dlo) != c:
            raise ValueError("not a ciphertext under this key")
        return dlo

    def encrypt_many(self, codes: np.ndarray) -> np.ndarray:
        """Ciphertexts (uint64) of an array of codes, one distinct value at a time."""
        codes = np.asarray(codes)
        uniq, inverse = np.unique(codes, return_inverse=True)
        out = np.fromiter((self.encrypt(int(v)) for v in uniq), np.uint64, len(uniq))
        return out[inverse].reshape(codes.shape)
