"""The PPXGBoost scheme of Meng & Feigenbaum (2020), without the network.

* The **proxy** (trusted) personalizes a plaintext `Model` for one user: each
  feature name becomes a pseudorandom label ``HMAC-SHA256(label_key, name)``
  (16 bytes), each float32 threshold an OPE ciphertext of its order code, each
  leaf weight a Paillier ciphertext of its fixed-point value, and the base
  margin of each output group an extra Paillier ciphertext. It issues the user
  `UserKeys`; the server gets the `EncryptedModel`.
* The **client** casts its query values to float32 (as XGBoost's DMatrix does),
  OPE-encrypts their order codes under its key and names the columns by label.
* The **server** walks every tree comparing ciphertexts (``enc(x) < enc(t)`` iff
  ``x < t`` in float32), follows the default direction where the client marked
  a value missing, and multiplies the reached leaves' ciphertexts (with the base
  margin's) per output group: the Paillier sum.
* The client decrypts each group's sum and applies the sigmoid or softmax.

The server learns the trees' shapes, which group each tree feeds, the order of
each query value against each threshold of its feature, which leaves are
reached, which (labelled) features a query leaves missing, and that two queries
or two nodes share a feature label. It never sees feature names, feature values,
thresholds, leaf weights or scores. Keys are per user, so one user's keys give
nothing about another user's model or results.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import gmpy2
import numpy as np
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as chmac
from phe.paillier import PaillierPrivateKey, PaillierPublicKey

from protocols.ppxgboost import paillier
from protocols.ppxgboost.model import Model, link
from protocols.ppxgboost.ope import Ope, float32_order

LABEL_BYTES = 16
KEY_BYTES = 32


def feature_label(key: bytes, name: str) -> bytes:
    """The pseudorandom label of a feature name: truncated HMAC-SHA256."""
    mac = chmac.HMAC(key, hashes.SHA256())
    mac.update(name.encode())
    return mac.finalize()[:LABEL_BYTES]


@dataclass(frozen=True)
class UserKeys:
    """What the proxy issues one user: label and OPE keys, a Paillier key pair."""

    label_key: bytes
    ope_key: bytes
    p: int
    q: int
    key_bits: int

    def __wire_size__(self) -> int:
        return 2 * KEY_BYTES + 2 * prime_width(self.key_bits)

    @cached_property
    def _paillier(self) -> tuple[PaillierPublicKey, PaillierPrivateKey]:
        public = PaillierPublicKey(self.p * self.q)
        return public, PaillierPrivateKey(public, self.p, self.q)

    def paillier(self) -> tuple[PaillierPublicKey, PaillierPrivateKey]:
        """The key pair (built once: its CRT constants cost several ms at 2048 bits)."""
        return self._paillier


@dataclass(frozen=True)
class EncryptedTree:
    """One tree as the server holds it: its shape, labels, OPE thresholds and
    Paillier leaves."""

    left: np.ndarray  # int16 children (-1 on leaves)
    right: np.ndarray
    label: list[bytes | None]  # per node; None on leaves
    threshold: np.ndarray  # uint64 OPE ciphertexts (0 on leaves)
    default_left: np.ndarray  # bool
    leaf: dict[int, int]  # node -> Paillier ciphertext
    group: int

    def wire_size(self, key_bits: int) -> int:
        """Its bytes inside an `EncryptedModel`: arrays, default directions (bits), the
        group (a byte), each inner node's label, each leaf's id (2 bytes) and ciphertext
        (`paillier.width`): a function of the tree's shape and the key size only."""
        nbytes = self.left.nbytes + self.right.nbytes + self.threshold.nbytes
        nbytes += (self.default_left.size + 7) // 8 + 1
        nbytes += LABEL_BYTES * sum(x is not None for x in self.label)
        return nbytes + len(self.leaf) * (2 + paillier.width(key_bits))


@dataclass(frozen=True)
class EncryptedModel:
    """A user's personalized model as the server stores it."""

    trees: tuple[EncryptedTree, ...]
    base: tuple[int, ...]  # Paillier ciphertext of each group's base margin
    nsquare: int  # the public modulus squared, to multiply ciphertexts
    key_bits: int

    def __wire_size__(self) -> int:
        width = paillier.width(self.key_bits)
        return sum(t.wire_size(self.key_bits) for t in self.trees) + width * (1 + len(self.base))


@dataclass(frozen=True)
class Query:
    """A batch of encrypted queries: one column per feature label."""

    labels: tuple[bytes, ...]
    values: np.ndarray  # uint64 (batch, features) OPE ciphertexts (0 where missing)
    missing: np.ndarray  # bool (batch, features)

    def __wire_size__(self) -> int:
        return len(self.labels) * LABEL_BYTES + self.values.nbytes + (self.missing.size + 7) // 8


def prime_width(key_bits: int) -> int:
    """Bytes of one of the key's primes on the wire: room for half the key's bits and one
    more (a prime found just above its search start), whatever its value."""
    return (key_bits // 2 + 8) // 8


def issue_keys(rng: np.random.Generator, key_bits: int) -> UserKeys:
    """A fresh user's keys, drawn from `rng`."""
    _, private = paillier.keypair(rng, key_bits)
    return UserKeys(rng.bytes(KEY_BYTES), rng.bytes(KEY_BYTES), private.p, private.q, key_bits)


def personalize(model: Model, names: list[str], keys: UserKeys,
                rng: np.random.Generator) -> EncryptedModel:
    """The proxy's step: `model` encrypted under one user's keys."""
    public, private = keys.paillier()
    ope = Ope(keys.ope_key)
    labels = [feature_label(keys.label_key, n) for n in names]
    trees = []
    for tree in model.trees:
        inner = tree.left != -1
        thr = np.zeros(len(tree.left), dtype=np.uint64)
        thr[inner] = ope.encrypt_many(float32_order(tree.threshold)[inner])
        trees.append(EncryptedTree(
            left=tree.left.astype(np.int16),
            right=tree.right.astype(np.int16),
            label=[labels[f] if i else None for f, i in zip(tree.feature, inner, strict=True)],
            threshold=thr,
            default_left=tree.default_left.copy(),
            leaf=dict(zip((int(i) for i in tree.leaves), paillier.encrypt_many(
                private, [paillier.encode(tree.value[i]) for i in tree.leaves], rng),
                strict=True)),
            group=tree.group,
        ))
    base = tuple(paillier.encrypt_many(private, [paillier.encode(v) for v in model.base_margin],
                                       rng))
    return EncryptedModel(tuple(trees), base, public.nsquare, public.n.bit_length())


def encrypt_query(keys: UserKeys, names: list[str], x: np.ndarray,
                  ope: Ope | None = None) -> Query:
    """The client's step: rows `x` (NaN = missing) as an encrypted `Query`."""
    ope = ope or Ope(keys.ope_key)
    x32 = np.asarray(x, dtype=np.float32)
    missing = np.isnan(x32)
    values = ope.encrypt_many(float32_order(np.where(missing, np.float32(0), x32)))
    values[missing] = 0
    labels = tuple(feature_label(keys.label_key, n) for n in names)
    return Query(labels, values, missing)


def reached_leaves(tree: EncryptedTree, column: dict[bytes, int], query: Query) -> np.ndarray:
    """The leaf each query row reaches: ciphertext comparisons only."""
    rows = len(query.values)
    cols = np.array([-1 if lab is None else column[lab] for lab in tree.label], dtype=np.int64)
    left, right = tree.left.astype(np.int64), tree.right.astype(np.int64)
    node = np.zeros(rows, dtype=np.int64)
    idx = np.arange(rows)
    while True:
        inner = left[node] != -1
        if not inner.any():
            return node
        col = np.maximum(cols[node], 0)
        go_left = np.where(query.missing[idx, col], tree.default_left[node],
                           query.values[idx, col] < tree.threshold[node])
        node = np.where(inner, np.where(go_left, left[node], right[node]), node)


def depth(tree: EncryptedTree) -> int:
    """How many comparison steps `reached_leaves` takes: the levels of the tree (its
    public shape), the last one finding every row at a leaf."""
    levels, frontier = 0, [0]
    while frontier:
        levels += 1
        frontier = [c for i in frontier if tree.left[i] != -1
                    for c in (int(tree.left[i]), int(tree.right[i]))]
    return levels


def evaluate(model: EncryptedModel, query: Query) -> tuple[list[list[int]], int]:
    """The server's step: per row, each group's encrypted score, and the number of
    ciphertext multiplications it took. KeyError if the query's labels are not
    this model's (another user's keys)."""
    column = {lab: j for j, lab in enumerate(query.labels)}
    picked: list[list[list[int]]] = [[[c] for c in model.base] for _ in query.values]
    for tree in model.trees:
        for r, leaf in enumerate(reached_leaves(tree, column, query).tolist()):
            picked[r][tree.group].append(tree.leaf[leaf])
    sums = [[paillier.add_all(model.nsquare, cs) for cs in row] for row in picked]
    return sums, sum(len(cs) - 1 for row in picked for cs in row)


def decrypt_scores(keys: UserKeys, objective: str, sums: list[list[int]]) -> np.ndarray:
    """The client's last step: decrypted margins through the model's link."""
    _, private = keys.paillier()
    margins = np.array([[paillier.decrypt(private, c) for c in row] for row in sums])
    return link(objective, margins)


SLOT_BITS = 64
"""Width of one packed score: a fixed-point margin (FRAC_BITS fractional bits)
plus the offset 2**(SLOT_BITS-1) must fit, i.e. |margin| < 2**(63 - FRAC_BITS)."""


def slots(nsquare: int) -> int:
    """How many scores one Paillier plaintext packs (the packed sum stays below n)."""
    return (int(gmpy2.isqrt(nsquare)).bit_length() - 1) // SLOT_BITS


def pack(model: EncryptedModel, sums: list[list[int]]) -> list[int]:
    """The server's optional last step: many encrypted scores in one ciphertext.

    By Horner's rule on ciphertexts, ``acc <- acc**(2**SLOT_BITS) * c_i * g**OFF``
    encrypts ``sum_i (s_i + OFF) * 2**(SLOT_BITS * i)``: SLOT_BITS squarings per
    score, so the client decrypts once per `slots` scores instead of once each
    (a decryption costs about 600 multiplications at 2048 bits). The client learns
    nothing it would not learn unpacked.
    """
    nsq = gmpy2.mpz(model.nsquare)
    n = gmpy2.isqrt(nsq)
    shift = gmpy2.mpz(1) << SLOT_BITS
    g_off = (1 + n * (gmpy2.mpz(1) << (SLOT_BITS - 1))) % nsq
    flat = [c for row in sums for c in row]
    per = slots(model.nsquare)
    packed = []
    for start in range(0, len(flat), per):
        acc = gmpy2.mpz(1)
        for c in reversed(flat[start: start + per]):
            acc = gmpy2.powmod(acc, shift, nsq) * c % nsq * g_off % nsq
        packed.append(int(acc))
    return packed


def unpack_scores(keys: UserKeys, objective: str, packed: list[int], rows: int,
                  groups: int) -> np.ndarray:
    """The client's last step on packed results: decrypt, split slots, apply the link."""
    _, private = keys.paillier()
    per = slots(private.public_key.nsquare)
    mask, off = (1 << SLOT_BITS) - 1, 1 << (SLOT_BITS - 1)
    flat: list[int] = []
    for c in packed:
        m = private.raw_decrypt(c)
        take = min(per, rows * groups - len(flat))
        flat.extend(((m >> (SLOT_BITS * i)) & mask) - off for i in range(take))
    margins = np.array(flat, dtype=np.float64).reshape(rows, groups) / (1 << paillier.FRAC_BITS)
    return link(objective, margins)
