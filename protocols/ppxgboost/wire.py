"""The scheme's objects on the real network: codecs for `sim.register_type`.

Each codec writes exactly the bytes the object's ``__wire_size__`` counts (so
the TCP runtime carries what the simulator charges) and puts the framing
(counts, the key size) in the descriptor's metadata, as JSON. Big integers take
fixed widths (`scheme.prime_width`, `paillier.width`), so no size depends on a
value:

* `UserKeys`: label key, OPE key, then the primes p and q;
* `EncryptedModel`: per tree its children (int16), OPE thresholds (uint64), the
  bit-packed default directions, the output group (one byte), the labels of the
  inner nodes, then each leaf's node id (two bytes) and Paillier ciphertext;
  then the base margins' ciphertexts and n^2;
* `Query`: the labels, the OPE ciphertexts (uint64), the bit-packed missing mask.

Importing `protocols.ppxgboost` registers them.
"""

from __future__ import annotations

import json

import numpy as np

from protocols.ppxgboost.paillier import width
from protocols.ppxgboost.scheme import (
    KEY_BYTES,
    LABEL_BYTES,
    EncryptedModel,
    EncryptedTree,
    Query,
    UserKeys,
    prime_width,
)
from sim import register_type


def _cut(data: bytes, lengths: list[int], start: int = 0) -> tuple[list[bytes], int]:
    """Consecutive pieces of `data` of the given lengths from `start`; and where they end."""
    out = []
    for n in lengths:
        out.append(data[start:start + n])
        start += n
    return out, start


def _encode_keys(k: UserKeys) -> tuple[bytes, bytes]:
    w = prime_width(k.key_bits)
    return (json.dumps([k.key_bits]).encode(),
            k.label_key + k.ope_key + k.p.to_bytes(w, "big") + k.q.to_bytes(w, "big"))


def _decode_keys(meta: bytes, data: bytes) -> UserKeys:
    (bits,) = json.loads(meta)
    w = prime_width(bits)
    (label, ope, p, q), _ = _cut(data, [KEY_BYTES, KEY_BYTES, w, w])
    return UserKeys(label, ope, int.from_bytes(p, "big"), int.from_bytes(q, "big"), bits)


def _encode_tree(t: EncryptedTree, key_bits: int) -> tuple[dict, bytes]:
    if not 0 <= t.group < 256:
        raise ValueError(f"output group {t.group} does not fit the tree codec's one byte")
    size = width(key_bits)
    meta = {"n": len(t.left), "labelled": [lab is not None for lab in t.label],
            "leaves": len(t.leaf)}
    data = b"".join([
        t.left.astype("<i2").tobytes(), t.right.astype("<i2").tobytes(),
        t.threshold.astype("<u8").tobytes(), np.packbits(t.default_left).tobytes(),
        bytes([t.group]), *(lab for lab in t.label if lab is not None),
        *(node.to_bytes(2, "little") + c.to_bytes(size, "big") for node, c in t.leaf.items()),
    ])
    return meta, data


def _decode_tree(m: dict, data: bytes, key_bits: int) -> EncryptedTree:
    n, labelled = m["n"], m["labelled"]
    (left, right, thr, dl, group), end = _cut(data, [2 * n, 2 * n, 8 * n, (n + 7) // 8, 1])
    labels, end = _cut(data, [LABEL_BYTES] * sum(labelled), end)
    found = iter(labels)
    leaves, _ = _cut(data, [2 + width(key_bits)] * m["leaves"], end)
    return EncryptedTree(
        left=np.frombuffer(left, "<i2").astype(np.int16),
        right=np.frombuffer(right, "<i2").astype(np.int16),
        label=[next(found) if has else None for has in labelled],
        threshold=np.frombuffer(thr, "<u8").astype(np.uint64),
        default_left=np.unpackbits(np.frombuffer(dl, np.uint8), count=n).astype(bool),
        leaf={int.from_bytes(x[:2], "little"): int.from_bytes(x[2:], "big") for x in leaves},
        group=group[0],
    )


def _encode_model(model: EncryptedModel) -> tuple[bytes, bytes]:
    bits, size = model.key_bits, width(model.key_bits)
    trees = [_encode_tree(t, bits) for t in model.trees]
    meta = {"key_bits": bits, "trees": [[m, len(d)] for m, d in trees],
            "base": len(model.base)}
    return json.dumps(meta).encode(), b"".join(
        [*(d for _, d in trees), *(c.to_bytes(size, "big") for c in model.base),
         model.nsquare.to_bytes(size, "big")])


def _decode_model(meta: bytes, data: bytes) -> EncryptedModel:
    m = json.loads(meta)
    bits, size = m["key_bits"], width(m["key_bits"])
    blobs, end = _cut(data, [n for _, n in m["trees"]])
    base, end = _cut(data, [size] * m["base"], end)
    trees = tuple(_decode_tree(tm, blob, bits)
                  for (tm, _), blob in zip(m["trees"], blobs, strict=True))
    return EncryptedModel(trees, tuple(int.from_bytes(c, "big") for c in base),
                          int.from_bytes(data[end:], "big"), bits)


def _encode_query(q: Query) -> tuple[bytes, bytes]:
    rows, cols = q.values.shape
    data = b"".join([*q.labels, q.values.astype("<u8").tobytes(),
                     np.packbits(q.missing.ravel()).tobytes()])
    return json.dumps([rows, cols, len(q.labels)]).encode(), data


def _decode_query(meta: bytes, data: bytes) -> Query:
    rows, cols, k = json.loads(meta)
    labels, end = _cut(data, [LABEL_BYTES] * k)
    (values, missing), _ = _cut(data, [8 * rows * cols, (rows * cols + 7) // 8], end)
    return Query(tuple(labels), np.frombuffer(values, "<u8").astype(np.uint64).reshape(rows, cols),
                 np.unpackbits(np.frombuffer(missing, np.uint8), count=rows * cols)
                 .astype(bool).reshape(rows, cols))


register_type(UserKeys, "ppxgboost.keys", _encode_keys, _decode_keys)
register_type(EncryptedModel, "ppxgboost.model", _encode_model, _decode_model)
register_type(Query, "ppxgboost.query", _encode_query, _decode_query)
