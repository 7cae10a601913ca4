"""Authenticated, encrypted links for the TCP runtime, keyed by a run key.

Every party of a run holds the same secret *run key* (`RUN_KEY_BYTES` random
bytes: `new_run_key`, or ``ppsim key``; the operator hands it to each party
process as any credential, ``ppsim party --key-file``). Before anything else
crosses a link, its two ends run a handshake:

1. the dialing party sends ``HELLO`` in the clear: the runtime's version, the
   run tag, the party count and a fresh X25519 public key;
2. the accepting party checks it (this run, a party it expects) and answers
   in kind with its own fresh key;
3. both derive one AES-256-GCM key per direction with HKDF-SHA256 from the
   X25519 shared secret, salted with the run key and bound to both HELLOs;
4. each sends a sealed ``CONFIRM``. A peer without the run key cannot seal
   one, and a recorded handshake cannot be replayed (the keys are fresh).

This is the shape of TLS 1.3's pre-shared key with ephemeral Diffie-Hellman
(psk_dhe_ke): forward secrecy from the ephemeral keys, authentication from the
run key, no certificates to distribute. What it does not give: the run key
proves membership of the run, not which party a peer is (a holder of the key
could claim another id), and links are secured hop by hop, as TLS would secure
them, so a relay reads what it forwards (end-to-end secrecy from relays is the
protocol's business, as SecAgg's encrypted shares are).

After the handshake every frame travels as a *record*: ``u32 length``, then
the frame (without its own length prefix) sealed with the next nonce of its
direction (a counter). The 16-byte tag of each record and the handshake are
the channel's cost, reported apart from the frames (`Channel.overhead`).
"""

from __future__ import annotations

import hashlib
import secrets
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

RUN_KEY_BYTES = 32
TAG_BYTES = 16
VERSION = 1
_PREFIX = struct.Struct("<I")
_INFO = b"ppsim/tcp/link/v1"
CONFIRM = b"ppsim/tcp/confirm/v1"


def new_run_key() -> bytes:
    """A fresh run key from the operating system's random source."""
    return secrets.token_bytes(RUN_KEY_BYTES)


class HandshakeError(Exception):
    """A peer failed the handshake; the connection is refused (never fatal to the run)."""


class Channel:
    """One link's sealing (our direction) and opening (theirs) of records."""

    def __init__(self, send_key: bytes, recv_key: bytes):
        self._send, self._recv = AESGCM(send_key), AESGCM(recv_key)
        self._sent = self._received = 0
        self.overhead = 0  # bytes sealing added to what we sent (the handshake is counted apart)

    @staticmethod
    def _nonce(counter: int) -> bytes:
        return counter.to_bytes(12, "little")

    def seal(self, parts: list[bytes | memoryview]) -> list[bytes | bytearray]:
        """A frame's parts (its length prefix first) as one record's parts."""
        plain = b"".join(parts)[_PREFIX.size:]
        out = bytearray(len(plain) + TAG_BYTES)
        self._send.encrypt_into(self._nonce(self._sent), plain, None, out)
        self._sent += 1
        self.overhead += TAG_BYTES
        return [_PREFIX.pack(len(out)), out]

    def open(self, record: bytearray | memoryview) -> bytearray:
        """A record's frame; raises `HandshakeError` if it was not sealed with our key."""
        if len(record) < TAG_BYTES:
            raise HandshakeError("a record shorter than its tag")
        out = bytearray(len(record) - TAG_BYTES)
        try:
            self._recv.decrypt_into(self._nonce(self._received), record, None, out)
        except InvalidTag:
            raise HandshakeError("a record failed authentication (not sealed with this "
                                 "run's key, or altered)") from None
        self._received += 1
        return out


class Handshake:
    """One end's ephemeral key and the derivation of the link's `Channel`."""

    def __init__(self, run_key: bytes):
        if len(run_key) != RUN_KEY_BYTES:
            raise ValueError(f"a run key has {RUN_KEY_BYTES} bytes, got {len(run_key)}")
        self._run_key = run_key
        self._private = X25519PrivateKey.generate()
        self.public = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def channel(self, peer_public: bytes, hello_dial: bytes, hello_accept: bytes,
                dialer: bool) -> Channel:
        """The link's channel from the peer's key and both HELLO frames as sent."""
        try:
            shared = self._private.exchange(X25519PublicKey.from_public_bytes(peer_public))
        except ValueError as exc:  # a malformed or low-order public key
            raise HandshakeError(f"bad public key: {exc}") from None
        transcript = hashlib.sha256(bytes(hello_dial) + bytes(hello_accept)).digest()
        okm = HKDF(hashes.SHA256(), 64, salt=self._run_key, info=_INFO + transcript).derive(
            shared)
        forward, backward = okm[:32], okm[32:]  # dialer -> acceptor, acceptor -> dialer
        return Channel(forward, backward) if dialer else Channel(backward, forward)
