"""The wire codec of the real-network runtime: payloads and frames.

A payload is split in two: a *descriptor* (type tags, lengths, dtypes and
shapes: framing) and its *data* bytes, whose length is exactly
`sim.wire.size_of(payload)`. The simulator counts the data and charges the
framing as a per-message header, so the bytes it reports for a payload are the
data bytes that cross the wire here:

* numpy arrays: raw little-endian data, boolean arrays bit-packed (`np.packbits`);
* ``int``: 8 bytes (int64, or uint64 for ``2**63 <= x < 2**64``), larger ones
  their signed big-endian minimal length; ``float`` and numpy scalars 8 bytes;
  ``bool`` one byte; ``str`` UTF-8; ``bytes`` themselves; ``None`` nothing;
* tuples, lists and dicts the concatenation of their items (keys then values);
* other objects through `register_type` (an encoder returning descriptor
  metadata and exactly ``__wire_size__()`` data bytes, and a decoder).

A frame is ``u32 length`` then a fixed header (kind, flags, src, dst, causal
depth, lengths of the phase name and descriptor), the phase name, the
descriptor, and the data. Everything but the data is frame overhead, which the
runtime reports apart from the payload bytes.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from sim.wire import size_of

# frame kinds
DATA, HELLO, DONE, STATS, BYE, LOST, ABORT, PING, PONG = range(9)
OFFLINE = 1  # flag bit

_PREFIX = struct.Struct("<I")
_HEAD = struct.Struct("<BBIIQHI")  # kind, flags, src, dst, depth, phase len, descriptor len
HEAD_SIZE = _PREFIX.size + _HEAD.size
MAX_FRAME = 2**32 - 1

_I64, _U64, _F64 = struct.Struct("<q"), struct.Struct("<Q"), struct.Struct("<d")
_ARRAY_KINDS = "biufc"

Encoder = Callable[[Any], tuple[bytes, bytes]]
Decoder = Callable[[bytes, bytes], Any]
_BY_TYPE: dict[type, tuple[str, Encoder]] = {}
_BY_NAME: dict[str, Decoder] = {}


class CodecError(ValueError):
    """A frame or descriptor is malformed (a peer speaking another protocol)."""


def register_type(cls: type, name: str, encode: Encoder, decode: Decoder) -> None:
    """Let payloads of type `cls` cross the wire.

    `encode(obj)` returns ``(meta, data)``: `meta` travels in the descriptor
    (framing, e.g. a public key's id) and `data` must be ``obj.__wire_size__()``
    bytes long; `decode(meta, data)` rebuilds the object.
    """
    if name in _BY_NAME and _BY_TYPE.get(cls, (None,))[0] != name:
        raise ValueError(f"codec type name {name!r} registered twice")
    _BY_TYPE[cls] = (name, encode)
    _BY_NAME[name] = decode


# -- descriptors -----------------------------------------------------------------


def _varint(out: bytearray, n: int) -> None:
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _text(out: bytearray, s: str) -> None:
    raw = s.encode()
    _varint(out, len(raw))
    out += raw


def encode_payload(payload: Any) -> tuple[bytes, list[bytes]]:
    """The payload's descriptor and its data chunks (total length = `size_of`)."""
    desc = bytearray()
    chunks: list[bytes] = []
    _encode(payload, desc, chunks)
    return bytes(desc), chunks


def _encode(x: Any, desc: bytearray, chunks: list[bytes]) -> None:
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(f"cannot send an array of dtype {x.dtype}: numeric or bool only")
        desc.append(ord("a"))
        _text(desc, x.dtype.str)
        _varint(desc, x.ndim)
        for dim in x.shape:
            _varint(desc, dim)
        if x.dtype == np.bool_:
            chunks.append(np.packbits(x.ravel()).tobytes())
        else:
            chunks.append(x.astype(x.dtype.newbyteorder("<"), copy=False).tobytes())
    elif isinstance(x, np.floating):
        if x.dtype.itemsize > 8:
            raise TypeError(f"cannot send a {x.dtype} scalar in 8 bytes")
        desc.append(ord("g"))
        _text(desc, x.dtype.str)
        chunks.append(_F64.pack(float(x)))
    elif isinstance(x, np.integer):
        desc.append(ord("n"))
        _text(desc, x.dtype.str)
        chunks.append((_U64 if x.dtype.kind == "u" else _I64).pack(int(x)))
    elif isinstance(x, bytes | memoryview):
        desc.append(ord("b"))
        _varint(desc, len(x))
        chunks.append(bytes(x))
    elif isinstance(x, bytearray):
        desc.append(ord("B"))
        _varint(desc, len(x))
        chunks.append(bytes(x))
    elif isinstance(x, bool):
        desc.append(ord("T"))
        chunks.append(b"\x01" if x else b"\x00")
    elif isinstance(x, int):
        if -(2**63) <= x < 2**63:
            desc.append(ord("i"))
            chunks.append(_I64.pack(x))
        elif 0 <= x < 2**64:
            desc.append(ord("u"))
            chunks.append(_U64.pack(x))
        else:
            length = (x.bit_length() + 8) // 8
            desc.append(ord("I"))
            _varint(desc, length)
            chunks.append(x.to_bytes(length, "big", signed=True))
    elif isinstance(x, float):
        desc.append(ord("f"))
        chunks.append(_F64.pack(x))
    elif isinstance(x, str):
        raw = x.encode()
        desc.append(ord("s"))
        _varint(desc, len(raw))
        chunks.append(raw)
    elif x is None:
        desc.append(ord("N"))
    elif isinstance(x, tuple | list):
        desc.append(ord("t" if isinstance(x, tuple) else "l"))
        _varint(desc, len(x))
        for item in x:
            _encode(item, desc, chunks)
    elif isinstance(x, dict):
        desc.append(ord("d"))
        _varint(desc, len(x))
        for key, value in x.items():
            _encode(key, desc, chunks)
            _encode(value, desc, chunks)
    else:
        _encode_custom(x, desc, chunks)


def _encode_custom(x: Any, desc: bytearray, chunks: list[bytes]) -> None:
    entry = _BY_TYPE.get(type(x))
    if entry is None:
        size_of(x)  # raises the simulator's own TypeError for unsizable payloads
        raise TypeError(
            f"cannot send a {type(x).__name__} over the network: register it with "
            "sim.codec.register_type"
        )
    name, encoder = entry
    meta, data = encoder(x)
    if len(data) != size_of(x):
        raise ValueError(
            f"codec for {name!r} produced {len(data)} data bytes, "
            f"but __wire_size__() says {size_of(x)}"
        )
    desc.append(ord("x"))
    _text(desc, name)
    _varint(desc, len(meta))
    desc += meta
    _varint(desc, len(data))
    chunks.append(bytes(data))


@dataclass
class _Reader:
    desc: memoryview
    data: memoryview
    i: int = 0  # position in desc
    j: int = 0  # position in data

    def varint(self) -> int:
        n = shift = 0
        while True:
            if self.i >= len(self.desc):
                raise CodecError("descriptor ends inside a number")
            b = self.desc[self.i]
            self.i += 1
            n |= (b & 0x7F) << shift
            if b < 0x80:
                return n
            shift += 7

    def raw_desc(self, length: int) -> bytes:
        if self.i + length > len(self.desc):
            raise CodecError("descriptor ends early")
        out = bytes(self.desc[self.i:self.i + length])
        self.i += length
        return out

    def text(self) -> str:
        return self.raw_desc(self.varint()).decode()

    def take(self, length: int) -> memoryview:
        if self.j + length > len(self.data):
            raise CodecError(f"payload data ends early (wanted {length} bytes more)")
        out = self.data[self.j:self.j + length]
        self.j += length
        return out


def decode_payload(desc: bytes | memoryview, data: bytes | bytearray | memoryview) -> Any:
    """Rebuild a payload from its descriptor and data (arrays are views on `data`)."""
    reader = _Reader(memoryview(desc), memoryview(data))
    try:
        value = _decode(reader)
    except RecursionError:
        raise CodecError("descriptor nested too deep") from None
    if reader.i != len(reader.desc) or reader.j != len(reader.data):
        raise CodecError("descriptor or data has trailing bytes")
    return value


@lru_cache(maxsize=64)
def _dtype(text: str) -> np.dtype:
    """A descriptor's dtype string parsed once (parsing costs more than a small array)."""
    return np.dtype(text)


def _decode(r: _Reader) -> Any:
    if r.i >= len(r.desc):
        raise CodecError("descriptor ends early")
    tag = chr(r.desc[r.i])
    r.i += 1
    if tag == "a":
        dtype = _dtype(r.text())
        if dtype.kind not in _ARRAY_KINDS:
            raise CodecError(f"array of dtype {dtype} is not allowed")
        shape = tuple(r.varint() for _ in range(r.varint()))
        count = math.prod(shape)
        if dtype == np.bool_:
            bits = np.frombuffer(r.take((count + 7) // 8), dtype=np.uint8)
            return np.unpackbits(bits, count=count).astype(bool).reshape(shape)
        wire = dtype.newbyteorder("<")
        arr = np.frombuffer(r.take(count * dtype.itemsize), dtype=wire).reshape(shape)
        return arr if wire == dtype else arr.astype(dtype)
    if tag == "b":
        return bytes(r.take(r.varint()))
    if tag == "B":
        return bytearray(r.take(r.varint()))
    if tag == "T":
        return r.take(1)[0] != 0
    if tag == "i":
        return _I64.unpack(r.take(8))[0]
    if tag == "u":
        return _U64.unpack(r.take(8))[0]
    if tag == "I":
        return int.from_bytes(r.take(r.varint()), "big", signed=True)
    if tag == "f":
        return _F64.unpack(r.take(8))[0]
    if tag == "g":
        dtype = _dtype(r.text())
        return dtype.type(_F64.unpack(r.take(8))[0])
    if tag == "n":
        dtype = _dtype(r.text())
        return dtype.type((_U64 if dtype.kind == "u" else _I64).unpack(r.take(8))[0])
    if tag == "s":
        return str(r.take(r.varint()), "utf-8")
    if tag == "N":
        return None
    if tag in "tl":
        items = [_decode(r) for _ in range(r.varint())]
        return tuple(items) if tag == "t" else items
    if tag == "d":
        out = {}
        for _ in range(r.varint()):
            key = _decode(r)
            out[key] = _decode(r)
        return out
    if tag == "x":
        name = r.text()
        meta = r.raw_desc(r.varint())
        decoder = _BY_NAME.get(name)
        if decoder is None:
            raise CodecError(f"unknown payload type {name!r} (not registered on this side)")
        return decoder(meta, bytes(r.take(r.varint())))
    raise CodecError(f"unknown type tag {tag!r}")


# -- frames ----------------------------------------------------------------------


@dataclass(slots=True)
class Frame:
    """A parsed frame; `data` is the payload's data (`size` bytes, still encoded)."""

    kind: int
    offline: bool
    src: int
    dst: int
    depth: int
    phase: str
    desc: memoryview
    data: memoryview
    raw: bytearray  # the whole frame without its length prefix, for forwarding

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def wire_bytes(self) -> int:
        return len(self.raw) + _PREFIX.size

    def payload(self) -> Any:
        return decode_payload(self.desc, self.data)


def encode_frame(
    kind: int, src: int, dst: int, payload: Any = None, *, depth: int = 0,
    phase: str = "", offline: bool = False,
) -> tuple[list[bytes], int]:
    """The frame's parts (send them in order) and its payload data size."""
    desc, chunks = encode_payload(payload)
    size = sum(len(c) for c in chunks)
    name = phase.encode()
    length = _HEAD.size + len(name) + len(desc) + size
    if length > MAX_FRAME or len(name) > 0xFFFF:
        raise ValueError(f"payload too large for one frame ({size} bytes)")
    head = _PREFIX.pack(length) + _HEAD.pack(
        kind, OFFLINE if offline else 0, src, dst, depth, len(name), len(desc)
    ) + name + desc
    return [head, *chunks], size


def parse_frame(raw: bytearray) -> Frame:
    """Parse one frame (without its length prefix)."""
    if len(raw) < _HEAD.size:
        raise CodecError(f"frame of {len(raw)} bytes is shorter than its header")
    kind, flags, src, dst, depth, name_len, desc_len = _HEAD.unpack_from(raw)
    if kind > PONG:
        raise CodecError(f"unknown frame kind {kind}")
    view = memoryview(raw)
    a = _HEAD.size
    b = a + name_len
    c = b + desc_len
    if c > len(raw):
        raise CodecError("frame header claims more bytes than the frame has")
    return Frame(kind, bool(flags & OFFLINE), src, dst, depth, str(view[a:b], "utf-8"),
                 view[b:c], view[c:], raw)


def frame_length(prefix: bytes | bytearray | memoryview) -> int:
    """The length announced by a frame's 4-byte prefix."""
    return _PREFIX.unpack_from(prefix)[0]


def frame_length_prefix(length: int) -> bytes:
    """The 4-byte prefix announcing a frame of `length` bytes."""
    return _PREFIX.pack(length)


PREFIX_SIZE = _PREFIX.size
