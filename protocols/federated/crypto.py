"""Key agreement, authenticated encryption and the mask PRG of secure aggregation.

Everything comes from the `cryptography` package: X25519 for Diffie-Hellman key
agreement (Bonawitz et al. 2017 use ECDH over a standard curve), HKDF-SHA256 to
turn a shared secret into keys, ChaCha20-Poly1305 to encrypt the Shamir shares
that travel through the server, and a ChaCha20 keystream as the PRG that
expands a 32-byte seed into a whole mask vector at once (one keystream, then
`np.frombuffer`). Private keys are drawn from the party's seeded generator, so
a run is reproducible; a deployment would use the OS's randomness instead.
"""

from __future__ import annotations

import numpy as np
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
"""An X25519 public or private key, and every derived symmetric key."""

TAG_BYTES = 16
"""Poly1305 authentication tag appended to every ciphertext."""

_ZERO_NONCE = bytes(16)


def keypair(rng: np.random.Generator) -> tuple[bytes, X25519PrivateKey, bytes]:
    """A fresh X25519 key pair: raw private bytes (to be secret-shared), the key
    object (loading one is costly, so it is kept) and the raw public key."""
    raw = rng.bytes(KEY_BYTES)
    private = load_private(raw)
    return raw, private, private.public_key().public_bytes_raw()


def load_private(raw: bytes) -> X25519PrivateKey:
    """The private key object of 32 raw bytes (e.g. reconstructed from shares)."""
    return X25519PrivateKey.from_private_bytes(raw)


def agree(private: X25519PrivateKey, public: bytes, label: bytes) -> bytes:
    """The 32-byte key both ends of an X25519 exchange derive (HKDF, domain `label`)."""
    return derive(private.exchange(X25519PublicKey.from_public_bytes(public)), label)


def derive(secret: bytes, label: bytes) -> bytes:
    """HKDF-SHA256 of `secret` to a 32-byte key, separated by `label`."""
    return HKDF(hashes.SHA256(), KEY_BYTES, salt=None, info=label).derive(secret)


def encrypt(key: bytes, nonce: int, plaintext: bytes) -> bytes:
    """ChaCha20-Poly1305; `nonce` must never repeat under one key (we use the sender id)."""
    return ChaCha20Poly1305(key).encrypt(nonce.to_bytes(12, "little"), plaintext, None)


def decrypt(key: bytes, nonce: int, ciphertext: bytes) -> bytes:
    """Inverse of `encrypt`; raises `cryptography.exceptions.InvalidTag` on tampering."""
    return ChaCha20Poly1305(key).decrypt(nonce.to_bytes(12, "little"), ciphertext, None)


def prg(seed: bytes, length: int) -> np.ndarray:
    """`length` pseudorandom uint64 words: the ChaCha20 keystream under key `seed`."""
    stream = Cipher(algorithms.ChaCha20(seed, _ZERO_NONCE), mode=None).encryptor()
    return np.frombuffer(stream.update(bytes(8 * length)), dtype=np.uint64)
