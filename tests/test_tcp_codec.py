"""The wire codec: decode(encode(x)) == x, and the data is exactly sim.wire.size_of(x) bytes."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sim import codec
from sim.wire import size_of

DTYPES = ["?", "u1", "i1", "<u2", ">i2", "<u4", ">i4", "<u8", ">u8", "<i8", "<f2", ">f4",
          "<f8", ">f8", "<c8", "<c16"]

arrays = st.sampled_from(DTYPES).flatmap(
    lambda dt: hnp.arrays(np.dtype(dt), hnp.array_shapes(min_dims=0, max_dims=3, max_side=9))
)
np_scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1).map(np.int64),
    st.integers(0, 2**64 - 1).map(np.uint64),
    st.integers(-128, 127).map(np.int8),
    st.floats(width=32).map(np.float32),
    st.floats().map(np.float64),
)
leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(2**600), 2**600), st.floats(),
    st.text(), st.binary(), st.binary().map(bytearray), arrays, np_scalars,
)
keys = st.one_of(st.integers(), st.text(max_size=5), st.binary(max_size=5))
payloads = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(keys, inner, max_size=4),
    ),
    max_leaves=12,
)


def same(a: Any, b: Any) -> bool:
    """Equal in type and value, bit for bit (NaN equals itself)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and a.tobytes() == b.tobytes()
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


def roundtrip(x: Any) -> tuple[Any, int]:
    desc, chunks = codec.encode_payload(x)
    data = bytearray(b"".join(chunks))
    return codec.decode_payload(desc, data), len(data)


@settings(max_examples=300, deadline=None)
@given(payloads)
def test_roundtrip_and_size(x: Any) -> None:
    back, nbytes = roundtrip(x)
    assert same(back, x)
    assert nbytes == size_of(x)


@settings(max_examples=100, deadline=None)
@given(payloads, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
       st.integers(0, 2**64 - 1), st.text(max_size=20), st.booleans())
def test_frame_roundtrip(x: Any, src: int, dst: int, depth: int, phase: str,
                         offline: bool) -> None:
    parts, size = codec.encode_frame(codec.DATA, src, dst, x, depth=depth, phase=phase,
                                     offline=offline)
    wire = bytearray(b"".join(parts))
    assert codec.frame_length(wire) == len(wire) - codec.PREFIX_SIZE
    frame = codec.parse_frame(wire[codec.PREFIX_SIZE:])
    assert (frame.kind, frame.src, frame.dst, frame.depth, frame.phase, frame.offline) == (
        codec.DATA, src, dst, depth, phase, offline)
    assert frame.size == size == size_of(x)
    assert same(frame.payload(), x)


def test_bool_arrays_are_bit_packed() -> None:
    bits = np.arange(1001) % 3 == 0
    _, chunks = codec.encode_payload(bits)
    assert len(b"".join(chunks)) == 126  # ceil(1001 / 8)


def test_decoded_arrays_are_writable() -> None:
    back, _ = roundtrip(np.arange(5, dtype=np.uint64))
    back += np.uint64(1)
    assert back.tolist() == [1, 2, 3, 4, 5]


class Blob:
    """A stand-in for a ciphertext wrapper: sized by __wire_size__, sent by a registered codec."""

    def __init__(self, key: str, body: bytes):
        self.key, self.body = key, body

    def __wire_size__(self) -> int:
        return len(self.body)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Blob) and (self.key, self.body) == (other.key, other.body)


def test_registered_types_cross_the_wire() -> None:
    codec.register_type(Blob, "test.blob", lambda b: (b.key.encode(), b.body),
                        lambda meta, data: Blob(meta.decode(), data))
    x = {"c": [Blob("pk1", b"\x07" * 33), 5]}
    back, nbytes = roundtrip(x)
    assert back == x
    assert nbytes == size_of(x) == 33 + 8 + 1  # body, the int, the key "c"


def test_unsendable_payloads_are_refused() -> None:
    class Opaque:
        pass

    with pytest.raises(TypeError, match="cannot size"):
        codec.encode_payload([Opaque()])
    with pytest.raises(TypeError, match="dtype object"):
        codec.encode_payload(np.array([None, 1], dtype=object))


@pytest.mark.parametrize("desc, data", [(b"a", b""), (b"q", b""), (b"i", b"\x00" * 3),
                                        (b"N", b"\x00")])
def test_malformed_input_is_a_codec_error(desc: bytes, data: bytes) -> None:
    with pytest.raises(codec.CodecError):
        codec.decode_payload(desc, data)
