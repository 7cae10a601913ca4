"""Secure aggregation with dropouts: SecAgg (Bonawitz et al., CCS 2017) and SecAgg+ (Bell et al.,
CCS 2020).

The server (one party) learns the sum mod 2^k of the vectors of the clients that
stayed to the masked-input round, and nothing else about them. Four rounds,
semi-honest model (no signatures, no consistency-check round):

0. *Advertise keys*: each client sends two X25519 public keys (c for encrypting
   shares, s for mask agreement); the server forwards to each client those of
   its neighbours.
1. *Share keys*: each client Shamir-shares its s private key and a fresh
   self-mask seed b among its neighbours and itself (threshold t), encrypts
   each neighbour's pair of shares under the c-key it agrees with that
   neighbour, and sends the ciphertexts; the server routes them.
2. *Masked input*: y_u = x_u + PRG(b_u) + sum_v +-PRG(KA(s_u, s_v)) mod 2^k over
   the neighbours v that reached round 1 (+ if u < v, - otherwise): the
   pairwise masks cancel in the sum. The server tells each client which of its
   neighbours delivered y.
3. *Unmasking*: for a neighbour that delivered y a client reveals its share of
   b; for one that dropped, its share of the s key, never both. From t shares
   the server rebuilds each survivor's b (removes its self mask) and each
   dropped client's s key (removes the pairwise masks that no longer cancel).

Dropouts are detected by timeouts (``recv_many``). Every round the server
checks that at least t clients remain, and at unmasking that every secret has
t shares: otherwise it raises `SecAggError`, never returns a wrong sum. A
client refuses to go on when fewer than t of its holders remain (the threshold
check that keeps a server from unmasking one client's input).

SecAgg uses the complete graph: per client O(n + m) communication (Bonawitz
Table 1). SecAgg+ replaces it by a random k-regular graph with k = O(log n):
Bell et al. take a Harary graph H(n, k) (each node joined to the k/2 nearest on
each side of a cycle) whose nodes are randomly relabelled; per client
O(log n + m). The relabelling uses public randomness (``graph_seed``).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from protocols.federated import crypto, shamir
from sim import Party

ENC_LABEL = b"ppsim/secagg/enc"
MASK_LABEL = b"ppsim/secagg/mask"
CIPHERTEXT_BYTES = 2 * shamir.SHARE_BYTES + crypto.TAG_BYTES
ID_BYTES = 8  # a dict key (party id) is a python int on the wire
LIST_ID_BYTES = 4  # the survivors list is a uint32 array
PHASES = ("secagg.advertise", "secagg.share_keys", "secagg.masked_input", "secagg.unmasking")
KINDS = (
    "secagg.public_keys",  # client -> server: (c_pk, s_pk)
    "secagg.neighbour_keys",  # server -> client: {v: (c_pk, s_pk)} for its neighbours v
    "secagg.encrypted_shares",  # client -> server: {v: AEAD(shares of s_sk and b for v)}
    "secagg.forwarded_shares",  # server -> client: {v: ciphertext from v}
    "secagg.masked_input",  # client -> server: y, m values in Z_2^bits
    "secagg.survivors",  # server -> client: neighbours whose y arrived (uint32 ids)
    "secagg.unmask_shares",  # client -> server: ({v: s share}, {v: b share}), self included
)
"""The message kinds, in protocol order, that a wire profile sizes (`sim.profiles`)."""


class SecAggError(RuntimeError):
    """Too many clients dropped out: the sum cannot be (safely) recovered."""


def plus_degree(n: int) -> int:
    """The SecAgg+ degree we use for n clients: k = 2 * ceil(1.5 log2 n), at most n - 1.

    Of the order of the k Bell et al. (CCS 2020, Table 2) need for failure
    probabilities around 2^-20 at a few percent dropouts.
    """
    return min(n - 1, 2 * math.ceil(1.5 * math.log2(max(n, 2))))


def dtype_for(bits: int) -> np.dtype:
    """The narrowest unsigned dtype holding `bits`-bit values (what goes on the wire)."""
    if not 1 <= bits <= 64:
        raise ValueError(f"bit width must be in 1..64, got {bits}")
    for dt in (np.uint8, np.uint16, np.uint32, np.uint64):
        if np.iinfo(dt).bits >= bits:
            return np.dtype(dt)
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class SecAggConfig:
    """One secure aggregation instance.

    Attributes:
        clients: the clients' party ids (never the server's).
        length: m, values per vector.
        bits: k, the vectors live in Z_2^k.
        degree: None for SecAgg (complete graph); an even k < n for SecAgg+.
        threshold: t = floor(threshold * holders) + 1 shares reconstruct, where
            holders = neighbours + 1; 0.5 gives an honest majority of holders.
        timeout: how long the server waits for each round (simulated seconds).
        graph_seed: public randomness that relabels the SecAgg+ graph.
        server: the server's party id.
    """

    clients: tuple[int, ...]
    length: int
    bits: int = 32
    degree: int | None = None
    threshold: float = 0.5
    timeout: float = 1.0
    graph_seed: int = 0
    server: int = 0
    _nbrs: dict[int, tuple[int, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        n = len(self.clients)
        if n < 2 or len(set(self.clients)) != n or self.server in self.clients:
            raise ValueError("secure aggregation needs >= 2 distinct clients besides the server")
        dtype_for(self.bits)
        if self.degree is not None and (self.degree % 2 or not 2 <= self.degree < n):
            raise ValueError(f"SecAgg+ degree must be even and in 2..{n - 1}, got {self.degree}")
        if not 0 <= self.threshold < 1:
            raise ValueError(f"threshold must be in [0, 1), got {self.threshold}")

    @property
    def holders(self) -> int:
        """How many parties hold shares of one client's secrets (neighbours + itself)."""
        return (len(self.clients) - 1 if self.degree is None else self.degree) + 1

    @property
    def t(self) -> int:
        return math.floor(self.threshold * self.holders) + 1

    @property
    def dtype(self) -> np.dtype:
        return dtype_for(self.bits)

    @property
    def mask(self) -> np.uint64:
        return np.uint64((1 << self.bits) - 1)

    @cached_property
    def _order(self) -> tuple[dict[int, int], np.ndarray]:
        perm = np.random.default_rng([self.graph_seed, 5]).permutation(np.array(self.clients))
        return {int(u): i for i, u in enumerate(perm)}, perm

    def neighbours(self, u: int) -> tuple[int, ...]:
        """u's neighbours in the communication graph, sorted."""
        got = self._nbrs.get(u)
        if got is None:
            if self.degree is None:
                got = tuple(v for v in self.clients if v != u)
            else:
                pos, perm = self._order
                n, i = len(perm), pos[u]
                half = self.degree // 2
                got = tuple(sorted(int(perm[(i + j) % n]) for j in range(-half, half + 1) if j))
            self._nbrs[u] = got
        return got


@dataclass
class SecAggOutcome:
    """What the server learns: the sum over `included`, and who dropped in which round."""

    total: np.ndarray
    included: tuple[int, ...]
    dropped: dict[int, str]


# -- client ------------------------------------------------------------------


async def _from_server(party: Party, cfg: SecAggConfig) -> object | None:
    """The server's next message, or None if it never comes (we were dropped)."""
    got = await party.recv_many([cfg.server], timeout=10 * cfg.timeout)
    return got.get(cfg.server)


def _pairwise(s_private: X25519PrivateKey, s_public: bytes, length: int) -> np.ndarray:
    return crypto.prg(crypto.agree(s_private, s_public, MASK_LABEL), length)


async def client(party: Party, x: np.ndarray, cfg: SecAggConfig,
                 leave_before: int | None = None) -> bool:
    """One client of one instance, contributing `x` (m integers in [0, 2^k)).

    Returns True if it completed every round (its input is in the sum), False
    if it was dropped or refused to continue (too few holders left).
    `leave_before` (0..3) models a client that goes offline before that round:
    it just stops, like a crash, and the others must cope.
    """
    x = np.asarray(x)
    if x.shape != (cfg.length,):
        raise ValueError(f"secagg input has shape {x.shape}, expected ({cfg.length},)")
    u, rng, server, t = party.id, party.rng, cfg.server, cfg.t
    if leave_before == 0:
        return False
    with party.phase(PHASES[0]):
        _, c_sk, c_pk = crypto.keypair(rng)
        s_raw, s_sk, s_pk = crypto.keypair(rng)
        await party.work(keygen=2)
        await party.send(server, (c_pk, s_pk), KINDS[0])
        keys = await _from_server(party, cfg)
        if keys is None or len(keys) + 1 < t:
            return False
    if leave_before == 1:
        return False
    with party.phase(PHASES[1]):
        b = rng.bytes(crypto.KEY_BYTES)
        holders = [*keys, u]
        s_shares = shamir.share(int.from_bytes(s_raw), t, holders, rng)
        b_shares = shamir.share(int.from_bytes(b), t, holders, rng)
        enc = {v: crypto.agree(c_sk, keys[v][0], ENC_LABEL) for v in keys}
        await party.work(**shamir.share_work(t, len(holders), secrets=2)
                         + Counter(key_agreement=len(keys), aead=len(keys), call=2 * len(keys)))
        await party.send(server, {
            v: crypto.encrypt(enc[v], u, s_shares[v] + b_shares[v]) for v in keys
        }, KINDS[2])
        received = await _from_server(party, cfg)
        if received is None or len(received) + 1 < t:
            return False
    if leave_before == 2:
        return False
    with party.phase(PHASES[2]):
        y = x.astype(np.uint64) + crypto.prg(b, cfg.length)
        for v in received:
            if u < v:
                y += _pairwise(s_sk, keys[v][1], cfg.length)
            else:
                y -= _pairwise(s_sk, keys[v][1], cfg.length)
        await party.work(**mask_work(cfg.length, 1, len(received), 3))
        await party.send(server, (y & cfg.mask).astype(cfg.dtype), KINDS[4])
        survivors = await _from_server(party, cfg)
        if survivors is None:
            return False
        alive = set(survivors.tolist())
        if not alive <= set(received) or len(alive) + 1 < t:
            return False  # never help unmask fewer than t inputs
    if leave_before == 3:
        return False
    with party.phase(PHASES[3]):
        s_out, b_out = {}, {u: b_shares[u]}
        for v, ct in received.items():
            plain = crypto.decrypt(enc[v], v, ct)
            if v in alive:
                b_out[v] = plain[shamir.SHARE_BYTES:]
            else:
                s_out[v] = plain[:shamir.SHARE_BYTES]
        await party.work(aead=len(received), call=2 * len(received))
        await party.send(server, (s_out, b_out), KINDS[6])
    return True


# -- server ------------------------------------------------------------------


def _enough(got: dict, cfg: SecAggConfig, step: str, dropped: dict[int, str],
            expected: tuple[int, ...]) -> tuple[int, ...]:
    for u in expected:
        if u not in got:
            dropped[u] = step
    if len(got) < cfg.t:
        raise SecAggError(
            f"secure aggregation aborted in {step}: {len(got)} clients left, "
            f"fewer than the threshold t={cfg.t} (dropped: {sorted(dropped)})"
        )
    return tuple(got)


async def server(party: Party, cfg: SecAggConfig,
                 expect: tuple[int, ...] | None = None) -> SecAggOutcome:
    """The server of one instance; returns the sum over the clients that sent y.

    `expect`: the clients still online (default all); the others count as
    dropped before the first round, without waiting for them (repeated
    instances over a fixed graph, as in FedAvg).
    """
    dropped: dict[int, str] = {}
    nbrs = cfg.neighbours
    with party.phase(PHASES[0]):
        keys = await party.recv_many(cfg.clients if expect is None else expect,
                                     timeout=cfg.timeout, kind=KINDS[0])
        u1 = _enough(keys, cfg, PHASES[0], dropped, cfg.clients)
        for u in u1:
            await party.send(u, {v: keys[v] for v in nbrs(u) if v in keys}, KINDS[1])
    with party.phase(PHASES[1]):
        cts = await party.recv_many(u1, timeout=cfg.timeout, kind=KINDS[2])
        u2 = _enough(cts, cfg, PHASES[1], dropped, u1)
        for u in u2:
            await party.send(u, {v: cts[v][u] for v in nbrs(u) if v in cts}, KINDS[3])
    with party.phase(PHASES[2]):
        ys = await party.recv_many(u2, timeout=cfg.timeout, kind=KINDS[4])
        u3 = _enough(ys, cfg, PHASES[2], dropped, u2)
        for u in u3:
            await party.send(u, np.array([v for v in nbrs(u) if v in ys], dtype=np.uint32),
                             KINDS[5])
    with party.phase(PHASES[3]):
        answers = await party.recv_many(u3, timeout=cfg.timeout, kind=KINDS[6])
        _enough(answers, cfg, PHASES[3], {}, u3)
        total = np.zeros(cfg.length, dtype=np.uint64)
        for y in ys.values():
            total += y
        for v in u3:
            b = _rebuild(v, 1, answers, cfg)
            total -= crypto.prg(b, cfg.length)
        gone = [v for v in u2 if v not in ys]
        pairs = 0
        for v in gone:
            s_sk = crypto.load_private(_rebuild(v, 0, answers, cfg))
            for w in nbrs(v):
                if w in ys:  # y_w carries +-PRG(s_wv) that nothing cancels
                    pairs += 1
                    if w < v:
                        total -= _pairwise(s_sk, keys[w][1], cfg.length)
                    else:
                        total += _pairwise(s_sk, keys[w][1], cfg.length)
        points = {tuple(sorted(w for w, a in answers.items() if v in a[which])[:cfg.t])
                  for v, which in [(v, 1) for v in u3] + [(v, 0) for v in gone]}
        await party.work(**mask_work(cfg.length, len(u3), pairs, len(ys) + 2)
                         + shamir.reconstruct_work(cfg.t, len(u3) + len(gone), len(points)))
    return SecAggOutcome((total & cfg.mask).astype(cfg.dtype), u3, dropped)


def _rebuild(v: int, which: int, answers: dict, cfg: SecAggConfig) -> bytes:
    """Client v's secret (0: s private key, 1: self-mask seed) from the holders' shares."""
    shares = {w: a[which][v] for w, a in answers.items() if v in a[which]}
    if len(shares) < cfg.t:
        what = "mask key" if which == 0 else "self-mask seed"
        raise SecAggError(
            f"cannot unmask: client {v}'s {what} has {len(shares)} shares, "
            f"fewer than the threshold t={cfg.t}"
        )
    return shamir.reconstruct(shares, cfg.t).to_bytes(crypto.KEY_BYTES)


# -- costs -------------------------------------------------------------------


def mask_work(length: int, seeds: int, pairs: int, passes: int) -> Counter:
    """Expanding `seeds` self-mask seeds and `pairs` agreed pairwise keys into masks
    of `length` 64-bit words, adding each, and `passes` more element passes."""
    return Counter(key_agreement=pairs, chacha_byte=8 * length * (seeds + pairs),
                   ring=length * (seeds + pairs + passes), call=4 * (seeds + pairs) + passes)


def client_bytes(d: int, length: int, bits: int, header: int = 0) -> tuple[int, int]:
    """Bytes one client sends and receives in an instance without dropouts.

    With d neighbours (n - 1 for SecAgg, k for SecAgg+) and m values of w bytes,
    following Bonawitz et al. 2017, Sec. 7.1 (a client sends 2 public keys, d
    encrypted pairs of shares, its masked input and d + 1 shares; it receives d
    pairs of public keys, d ciphertexts and the survivors list), here with this
    encoding: 32-byte keys, 33-byte shares, 16-byte tags, 8-byte ids in dicts,
    4-byte ids in the list, 4 messages sent and 3 received.
    """
    w = dtype_for(bits).itemsize
    key, share = crypto.KEY_BYTES, shamir.SHARE_BYTES
    sent = 2 * key + d * (ID_BYTES + CIPHERTEXT_BYTES) + length * w \
        + (d + 1) * (ID_BYTES + share) + 4 * header
    received = d * (ID_BYTES + 2 * key) + d * (ID_BYTES + CIPHERTEXT_BYTES) \
        + d * LIST_ID_BYTES + 3 * header
    return sent, received
