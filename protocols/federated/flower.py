"""The ``flower-1.42`` wire profile: the bytes Flower 1.42 sends for SecAgg+ and FedAvg.

Derived from Flower 1.42's source (``SecAggPlusWorkflow``, ``secaggplus_mod``,
``flwr.common.serde``, the record protobufs and the Fleet API of SuperLink and
SuperNode) and checked against Flower itself by ``benchmarks/profiles.py``. For each
of ppsim's SecAgg message kinds (`secagg.KINDS`) it computes what Flower sends
for the same message:

* fields: public keys are PEM SubjectPublicKeyInfo P-384 keys (215 B, ppsim: 32 B
  raw X25519); the secret shared for pairwise masks is a PEM PKCS#8 P-384 key
  (306 B); a Shamir share of an L-byte secret is PKCS#7-padded to 16-byte chunks
  plus a 4-byte index (pycryptodome's GF(2^128) Shamir); the two shares for a
  neighbour are sealed with Fernet (AES-128-CBC + HMAC-SHA256, base64): 612 B
  against ppsim's 82 B; the masked vector is two ``np.save`` int64 blobs (the
  FedAvg weight and the vector; ppsim: uint32 values); node ids are random 64-bit
  integers (varints, and decimal strings as record keys);
* framing: each message is a Flower ``Message`` whose ``RecordDict`` of records
  is stored as content-addressed objects (a text head naming the class, the
  children's SHA-256 ids and the length); the SuperNode pulls the message, then
  each object, then confirms, and pushes its reply the same way
  (``PullMessages``, ``PullObject``, ``ConfirmMessageReceived``, ``PushMessages``,
  ``PushObject``). All of that exchange, both ways, is charged to the message;
* extra messages: Flower's server speaks first. Its *setup* stage sends each
  client the configuration before the client sends its public keys, so a
  ``secagg.public_keys`` message waits for that instruction (one more round:
  four round trips where ppsim has seven one-way messages). Flower also lists
  the client itself among its neighbours (one more key pair and id per list),
  and attaches the FitIns (the global model) and FitRes records to the
  masked-input round trip.

FedAvg with SecAgg or SecAgg+ aggregation: Flower sends the global model inside
stage 2's instruction; ppsim sends it first (``fedavg.model``), so the profile
sizes that message as what the model adds to Flower's instruction, and a round
counts one message and one round more than Flower's. FedAvg's plain aggregation
and norm clipping are not Flower's SecAgg+ workflow: the profile refuses them.

**Setting to match:** Flower's ``SecAggPlusWorkflow(num_shares=k + 1,
reconstruction_threshold=t)`` for ppsim's SecAgg+ degree k and threshold t:
Flower counts the client itself among the ``num_shares`` holders. Flower's
``modulus_range`` must be 2^bits (2^32 by default).

Not predicted: HTTP/TLS framing below the protobufs (the scenario's
``header_bytes``), empty polls, heartbeats, and the node's one-off GetRun/GetFab;
Flower's dead-neighbour list in the unmask instruction (ppsim's survivors list
is sized, plus the client itself: dropouts add ~10 B per dropped neighbour).
Node ids use expected varint and decimal lengths, so a message size is an
expectation, rounded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim import Profile

NAME = "flower-1.42"
OBJECT_ID = 64  # SHA-256 hex digest naming each stored object
SESSION_ID = 36  # str(uuid4()) of a push session
ID_UINT = 9.5  # a random 64-bit id as a protobuf uint64 varint (expected length)
ID_SINT = 9.75  # the same as a zigzag sint64 varint (SintList)
ID_DIGITS = 19.4  # the same as a decimal string (ConfigRecord key)
PUBLIC_KEY = 215  # PEM SubjectPublicKeyInfo, P-384
PRIVATE_KEY = 306  # PEM PKCS#8, P-384 (the secret shared for the pairwise masks)
SEED = 32  # the self-mask seed
NPY_HEADER = 128  # np.save's header for a 1-D array
TTL_AND_TIMES = 9 + 9  # ttl and created_at, doubles


# -- protobuf and object encoding ---------------------------------------------------


def _varint(n: float) -> int:
    return max(1, math.ceil(int(n).bit_length() / 7))


def _field(n: float, tag: int = 1) -> float:
    """A length-delimited protobuf field of `n` bytes (tag of `tag` bytes)."""
    return tag + _varint(n) + n


def share(secret: int) -> int:
    """A Flower Shamir share of a `secret`-byte secret: index + padded 16-byte chunks."""
    return 4 + 16 * (secret // 16 + 1)


def fernet(plaintext: int) -> int:
    """A Fernet token (version, time, IV, AES-CBC blocks, HMAC) in urlsafe base64."""
    token = 1 + 8 + 16 + 16 * (plaintext // 16 + 1) + 32
    return 4 * math.ceil(token / 3)


SHARE_CIPHERTEXT = fernet(8 + 8 + 4 + share(SEED) + share(PRIVATE_KEY))


def npy(values: int, itemsize: int = 8) -> int:
    """``ndarray_to_bytes`` of `values` values of `itemsize` bytes (``np.save``, 1-D)."""
    return NPY_HEADER + itemsize * values


# ConfigRecordValue fields: scalars tag 1 byte, lists (field >= 21) tag 2 bytes
def text(n: float) -> float:
    return _field(n)


def sint(varint_bytes: float = 1) -> float:
    return 1 + varint_bytes


def double() -> float:
    return 9


def bytes_list(sizes: Sequence[float]) -> float:
    return _field(sum(_field(s) for s in sizes), tag=2)


def sint_list(count: int, each: float = ID_SINT) -> float:
    return _field(_field(count * each) if count else 0, tag=2)


def config(items: dict[str, float], id_keys: int = 0, id_value: float = 0) -> float:
    """A ConfigRecord's protobuf body: `items` ``{key: value bytes}``, plus
    `id_keys` items keyed by a node id (decimal) whose values are `id_value` bytes."""
    body = sum(_field(_field(len(k)) + _field(v)) for k, v in items.items())
    return body + id_keys * _field(_field(ID_DIGITS) + _field(id_value))


def obj(cls: str, body: float, children: int = 0) -> float:
    """A deflated object: ``"<class> <child ids,> <body length>\\0"`` then the body."""
    ids = children * (OBJECT_ID + 1) - 1 if children else 0
    return len(cls) + 1 + ids + 1 + len(str(int(body))) + 1 + body


def json_refs(names: Sequence[str]) -> float:
    """A RecordDict's or ArrayRecord's body: ``json.dumps({name: object id})``."""
    if not names:
        return 2
    return 2 + sum(len(n) + 2 + 2 + OBJECT_ID + 2 for n in names) + 2 * (len(names) - 1)


@dataclass(frozen=True)
class Record:
    """One record of a message's RecordDict.

    Attributes:
        name: its key in the RecordDict.
        size: its deflated object's bytes.
        children: the bytes of the objects under it (an ArrayRecord's Array and
            chunks; counted as its direct children in the object tree, 2 B off
            per chunk nested under an Array).
        shared: the same object for every client, so the SuperLink already holds
            it when most clients push it (FitRes' status and empty records).
    """

    name: str
    size: float
    children: tuple[float, ...] = ()
    shared: bool = False


def config_record(name: str, body: float, shared: bool = False) -> Record:
    return Record(name, obj("ConfigRecord", body), shared=shared)


# -- a message carried over the Fleet API -------------------------------------------

_NODE = _field(1 + ID_UINT)  # Node{node_id}
_RUN = 1 + ID_UINT


def _metadata(reply: bool) -> float:
    """Metadata without message_id: ids, group "1", ttl, created_at, "train", task ids."""
    ids = 3 * (1 + ID_UINT) + 2  # run, client node, task id(s); the SuperLink node is 1
    if reply:
        ids += (1 + ID_UINT) + _field(OBJECT_ID)  # dst task id, reply_to_message_id
    return ids + 3 + TTL_AND_TIMES + 2 + _field(len("train"))


def _tree(children: int) -> float:
    """An ObjectTree node with `children` leaves."""
    return _field(OBJECT_ID) + children * _field(_field(OBJECT_ID))


def exchange(records: Sequence[Record], reply: bool) -> float:
    """All Fleet API bytes, both ways, that carry one message of `records`.

    An instruction (server to client) is pulled: PullMessages request and
    response (the message without content, its object tree), one PullObject
    request and response per object, ConfirmMessageReceived. A reply is pushed:
    PushMessages request (message, tree, the ClientApp's run time) and response
    (the objects the SuperLink lacks, a session), one PushObject request and
    response per object it lacks.
    """
    meta = _metadata(reply)
    record_dict = obj("RecordDict", json_refs([r.name for r in records]), len(records))
    message = obj("Message", _field(meta), 1)
    objects = [message, record_dict, *(s for r in records for s in (r.size, *r.children))]
    tree_records = sum(_field(_tree(len(r.children))) for r in records)
    tree = _field(OBJECT_ID) + _field(_field(OBJECT_ID) + tree_records)
    proto = _field(_field(meta + _field(OBJECT_ID)) + 2)  # with message_id, empty content
    if not reply:
        found_available = 4  # PullObjectResponse's two booleans
        pulls = len(objects) * (_NODE + _RUN + _field(OBJECT_ID) + found_available) + sum(
            _field(s) for s in objects)
        confirm = _NODE + _RUN + _field(OBJECT_ID)
        return _NODE + _field(proto) + _field(tree) + pulls + confirm
    pushed = objects[:2] + [s for r in records if not r.shared for s in (r.size, *r.children)]
    request = _NODE + _field(proto) + _field(tree) + _field(8)
    response = 4 + _field(_field(OBJECT_ID) + 2) + len(pushed) * _field(OBJECT_ID) + _field(
        SESSION_ID)
    per_push = _NODE + _RUN + _field(OBJECT_ID) + _field(SESSION_ID) + 2
    return request + response + sum(per_push + _field(s) for s in pushed)


def _secagg(items: dict[str, float], id_keys: int = 0, id_value: float = 0) -> Record:
    return config_record("secaggplus_configs", config(items, id_keys, id_value))


def _stage(name: str) -> dict[str, float]:
    return {"stage": text(len(name))}


# -- ppsim's SecAgg messages in Flower ----------------------------------------------


def setup_instruction() -> float:
    """Stage 0's instruction: the SecAgg+ configuration (small ints, two doubles)."""
    items = _stage("setup") | {"sample_num": sint(2), "share_num": sint(1),
                               "threshold": sint(1), "clipping_range": double(),
                               "target_range": sint(4), "mod_range": sint(5),
                               "max_weight": double()}
    return exchange([_secagg(items)], reply=False)


def public_keys(payload: Any) -> float:
    return exchange([_secagg({"pk1": _field(PUBLIC_KEY), "pk2": _field(PUBLIC_KEY)})], True)


def neighbour_keys(payload: dict) -> float:
    """Stage 1's instruction: both keys of each neighbour and of the client itself."""
    pair = bytes_list([PUBLIC_KEY, PUBLIC_KEY])
    return exchange([_secagg(_stage("share_keys"), len(payload) + 1, pair)], reply=False)


def encrypted_shares(payload: dict) -> float:
    k = len(payload)
    items = {"dsts": sint_list(k), "ctxts": bytes_list([SHARE_CIPHERTEXT] * k)}
    return exchange([_secagg(items)], reply=True)


MAX_CHUNK = 5 * 2**20  # an Array's data travels in ArrayChunk objects of at most 5 MiB


def _array(data: int | None, stype: str) -> tuple[float, ...]:
    """An Array object (``dtype`` and ``shape`` left empty, as the legacy Parameters
    leave them) followed by its ArrayChunk objects of `data` bytes (None: empty)."""
    chunks = [] if data is None else [min(MAX_CHUNK, data - i) for i in range(0, data, MAX_CHUNK)]
    ids = ", ".join(str(i) for i in range(len(chunks)))
    body = len(f'{{"dtype": "", "shape": [], "stype": "{stype}", "arraychunk_ids": [{ids}]}}')
    return (obj("Array", body, len(chunks)), *(obj("ArrayChunk", c) for c in chunks))


def _fitins(model: np.ndarray | None) -> list[Record]:
    """The FitIns records Flower's SecAgg+ attaches to stage 2's instruction: the
    global model as one npy Array (an empty placeholder without a model)."""
    if model is None:
        parameters = Record("fitins.parameters", obj("ArrayRecord", json_refs(["_empty"]), 1),
                            _array(None, ""))
    else:
        data = npy(model.size, model.dtype.itemsize)
        parameters = Record("fitins.parameters", obj("ArrayRecord", json_refs(["0"]), 1),
                            _array(data, "numpy.ndarray"))
    return [parameters, config_record("fitins.config", 0)]


_FITINS = _fitins(None)
_STATUS = config(dict(code=sint(1), message=text(len("Success"))))
_FITRES = [
    config_record("fitres.metrics", 0, shared=True),
    Record("fitres.num_examples", obj("MetricRecord", config({"num_examples": sint(1)})),
           shared=True),
    Record("fitres.parameters", obj("ArrayRecord", json_refs([])), shared=True),
    config_record("fitres.status", _STATUS, shared=True),
]


def forwarded_shares(payload: dict) -> float:
    """Stage 2's instruction: the neighbours' ciphertexts, with the (empty) FitIns."""
    k = len(payload)
    items = _stage("collect_masked_vectors") | {
        "ctxts": bytes_list([SHARE_CIPHERTEXT] * k), "srcs": sint_list(k)}
    return exchange([*_FITINS, _secagg(items)], reply=False)


def masked_input(payload: np.ndarray) -> float:
    """Stage 2's reply: the weight and the masked vector as int64 npy, with the FitRes."""
    return exchange([*_FITRES, _secagg({"masked_params": bytes_list(
        [npy(1), npy(payload.size)])})], reply=True)


def fedavg_model(payload: np.ndarray) -> float:
    """ppsim's model broadcast: what the model adds to stage 2's instruction, where
    Flower carries it (ppsim sends it first, as a message of its own)."""
    secagg_record = _secagg(_stage("collect_masked_vectors"))
    return (exchange([*_fitins(np.asarray(payload)), secagg_record], reply=False)
            - exchange([*_FITINS, secagg_record], reply=False))


def survivors(payload: np.ndarray) -> float:
    """Stage 3's instruction: the active neighbours, the client itself included."""
    items = _stage("unmask") | {"active_nids": sint_list(payload.size + 1),
                                "dead_nids": sint_list(0)}
    return exchange([_secagg(items)], reply=False)


def unmask_shares(payload: tuple[dict, dict]) -> float:
    """Stage 3's reply: PKCS#8-key shares for dropped neighbours, seed shares for the rest."""
    dropped, alive = payload
    items = {"nids": sint_list(len(dropped) + len(alive)),
             "shares": bytes_list([share(PRIVATE_KEY)] * len(dropped)
                                  + [share(SEED)] * len(alive))}
    return exchange([_secagg(items)], reply=True)


def _refuse(protocol: str, params: Any) -> str | None:
    """Flower's SecAgg+ workflow has no plain aggregation and no norm clipping."""
    if params.aggregation == "plain":
        return "Flower's SecAgg+ workflow has no plain aggregation (aggregation = \"plain\")"
    if getattr(params, "clip_norm", None) is not None:
        return "Flower's SecAgg+ workflow has no clipping on shares (clip_norm)"
    return None


FLOWER = Profile(
    NAME,
    sizes={
        "secagg.public_keys": public_keys,
        "secagg.neighbour_keys": neighbour_keys,
        "secagg.encrypted_shares": encrypted_shares,
        "secagg.forwarded_shares": forwarded_shares,
        "secagg.masked_input": masked_input,
        "secagg.survivors": survivors,
        "secagg.unmask_shares": unmask_shares,
        "fedavg.model": fedavg_model,
        "fedavg.done": lambda payload: 0,  # Flower's run just ends: no message
    },
    instructions={"secagg.public_keys": setup_instruction},
    protocols=frozenset({"secagg", "fedavg"}),
    refuse=_refuse,
    setting="Flower SecAggPlusWorkflow(num_shares=k + 1, reconstruction_threshold=t, "
            "modulus_range=2**bits): Flower counts the client itself among the shares",
)
"""The profile; a scenario names it ``[network] profile = "flower-1.42"``."""
