"""Paillier keys, fixed-point leaf values and ciphertexts on the wire, on `phe` (with gmpy2).

Keys are generated from the party's seeded generator (primes by
`gmpy2.next_prime`), and encryption randomness comes from it too, so a run is
reproducible; a deployment would draw both from the OS. Leaf values are
float32; they travel as fixed-point integers ``round(v * 2**FRAC_BITS)`` mod n
(negative values wrap), so the server adds leaves by multiplying ciphertexts
mod n**2, and the client decodes a sum of up to thousands of leaves exactly to
2**-FRAC_BITS.

On the wire a ciphertext, an element of Z_{n^2}, takes a fixed `width`: its size
never depends on its value (nor on the keys' randomness), so message sizes are
public (`Ciphertexts`, shared with `protocols.federated.secureboost`).
"""

from __future__ import annotations

import gmpy2
import numpy as np
from phe.paillier import PaillierPrivateKey, PaillierPublicKey

from sim import register_type

FRAC_BITS = 40


def width(key_bits: int) -> int:
    """Bytes of one ciphertext on the wire: 2 * ceil(key_bits / 8), whatever its value."""
    return 2 * ((key_bits + 7) // 8)


def held_bytes(key_bits: int) -> int:
    """Bytes one ciphertext takes in memory: a Python int of 2 * key_bits bits (30 bits per
    4-byte digit), its 28-byte header and the 8-byte pointer of the list holding it."""
    return 4 * -(-2 * key_bits // 30) + 36


class Ciphertexts:
    """A batch of Paillier ciphertexts; each counts `width` bytes on the wire."""

    def __init__(self, values: list[int], key_bits: int):
        self.values, self.key_bits = values, key_bits

    def __wire_size__(self) -> int:
        return len(self.values) * width(self.key_bits)


def _encode(c: Ciphertexts) -> tuple[bytes, bytes]:
    """For the TCP runtime: the key size as metadata, each ciphertext big-endian, zero-padded
    to `width`."""
    size = width(c.key_bits)
    return str(c.key_bits).encode(), b"".join(int(v).to_bytes(size, "big") for v in c.values)


def _decode(meta: bytes, data: bytes) -> Ciphertexts:
    key_bits = int(bytes(meta))
    size = width(key_bits)
    return Ciphertexts([int.from_bytes(data[i:i + size], "big")
                        for i in range(0, len(data), size)], key_bits)


register_type(Ciphertexts, "paillier.ciphertexts", _encode, _decode)


def keypair(rng: np.random.Generator, bits: int) -> tuple[PaillierPublicKey, PaillierPrivateKey]:
    """A Paillier key pair with an exactly `bits`-bit modulus, from `rng`."""
    half = bits // 2
    while True:
        primes = []
        for _ in range(2):
            start = int.from_bytes(rng.bytes((half + 7) // 8), "big") >> (-half % 8)
            start |= 3 << (half - 2)  # top two bits set: the product has `bits` bits
            primes.append(int(gmpy2.next_prime(start)))
        p, q = primes
        n = p * q
        if p != q and n.bit_length() == bits:
            public = PaillierPublicKey(n)
            return public, PaillierPrivateKey(public, p, q)


def encode(value: float) -> int:
    """Fixed-point integer of a leaf value (exact for float32 inputs)."""
    return round(float(value) * (1 << FRAC_BITS))


def encrypt_many(private: PaillierPrivateKey, values: list[int], rng: np.random.Generator
                 ) -> list[int]:
    """Ciphertexts of `values` by the key's owner: ``(1 + n m) r**n mod n**2``, with
    ``r**n`` computed mod ``p**2`` and ``q**2`` and joined by the CRT (about twice as
    fast as public-key encryption; the proxy holds the factors, so it may)."""
    n = gmpy2.mpz(private.public_key.n)
    nsq = n * n
    p, q = gmpy2.mpz(private.p), gmpy2.mpz(private.q)
    psq, qsq = p * p, q * q
    ep, eq = n % (p * (p - 1)), n % (q * (q - 1))  # exponents mod phi(p**2), phi(q**2)
    qsq_inv = gmpy2.invert(qsq, psq)
    out = []
    for value in values:
        r = gmpy2.mpz(_nonce(int(n), rng))
        rp, rq = gmpy2.powmod(r, ep, psq), gmpy2.powmod(r, eq, qsq)
        rn = rq + qsq * ((rp - rq) * qsq_inv % psq)
        out.append(int((1 + n * (value % n)) % nsq * rn % nsq))
    return out


def _nonce(n: int, rng: np.random.Generator) -> int:
    return int.from_bytes(rng.bytes((n.bit_length() + 7) // 8), "big") % (n - 1) + 1


def add_all(nsquare: int, ciphertexts: list[int]) -> int:
    """Ciphertext of the sum: the product of the ciphertexts mod n**2."""
    nsq = gmpy2.mpz(nsquare)
    acc = gmpy2.mpz(1)
    for c in ciphertexts:
        acc = acc * c % nsq
    return int(acc)


def decrypt(private: PaillierPrivateKey, ciphertext: int) -> float:
    """The fixed-point sum as a float (values above n/2 are negative)."""
    n = private.public_key.n
    m = private.raw_decrypt(ciphertext)
    if m > n // 2:
        m -= n
    return m / (1 << FRAC_BITS)
