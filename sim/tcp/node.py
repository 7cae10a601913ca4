"""One party's end of the real network: connections, routing, mailbox, shutdown.

Parties connect along the topology's edges only (the higher id dials the lower
one) and a message to a non-adjacent party is forwarded hop by hop along the
simulator's own lowest-latency route, so the bytes counted on each link are the
bytes that crossed that connection. Each connection has one reader task and one
sender task fed by an unbounded queue, so forwarding never blocks reading.

Writes: every write wakes the receiving process, and on loopback that wake-up,
not the copy, is most of what a small message costs. So a party's data frame
to an idle link is written at once from its own task (what the kernel takes;
the rest goes to the sender task), while further frames to that link queue up
until the program next yields (a receive that waits, `compute`, or every
`_YIELD_EVERY` sends) and then leave in one scatter-gather write.

Ending a run without losing anything takes two floods over the links:

1. ``DONE``: a party whose program ended announces how many data frames it
   sent to each party. A party is *quiet* once it has every announcement and
   has received, and forwarded, every frame they imply (routes are the same
   everywhere), so its counts are final.
2. ``STATS``: a quiet party floods its final record (ledger, link totals,
   output); once it holds every record it sends ``BYE`` on each link, and it
   closes when every neighbour said ``BYE``: nothing can follow a ``BYE``.

Faults: a connection that closes before its ``BYE`` marks the neighbour lost
(flooded as ``LOST``); a blocking receive from a lost party fails at once, one
that waits longer than ``timeout_s`` fails naming the peer, and a failing
party floods ``ABORT`` so that every other one stops with its error. Before a
receive gives up it probes the parties it waits for (``PING``, answered by
``PONG`` with what the party itself waits for), so that the error names the
party that is silent (stopped, hung, cut off), not those that wait for it.

Hostile peers: links are authenticated and encrypted (`sim.tcp.secure`). A
connection that does not complete the handshake (another run, a port
scanner, garbage, a frame longer than `HANDSHAKE_MAX` bytes, silence) is
refused and logged (``sim.tcp`` logger and the run's notes), never fatal;
authenticated frames are bounded by ``max_frame``.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import deque
from typing import Any

import networkx as nx
import numpy as np
import trio

from sim import codec
from sim.codec import ABORT, BYE, DATA, DONE, HELLO, LOST, PING, PONG, STATS, Frame
from sim.engine import SimulationError
from sim.ledger import Ledger, Message
from sim.network import Network
from sim.tcp import secure
from sim.tcp.secure import Channel, Handshake, HandshakeError

log = logging.getLogger("sim.tcp")

_BATCH = 1 << 20  # gather queued frames up to this many bytes into one write
_IOV_MAX = 1024  # buffers per sendmsg (Linux's IOV_MAX)
_DIRECT = 1 << 16  # frames from this size are received into their own buffer
_CHUNK = 1 << 16  # receive size for small frames
_YIELD_EVERY = 64  # a program that only sends yields to the other tasks this often
_DIAL_RETRY_S = 0.05
HANDSHAKE_MAX = 4096  # longest frame accepted before a peer is authenticated
HANDSHAKE_TIMEOUT_S = 5.0  # longest a connecting peer may take to authenticate
MAX_NOTES = 20


class TcpError(SimulationError):
    """The real-network run could not complete."""


class ConnectError(TcpError):
    """A neighbour never connected within the timeout."""


class PeerLost(TcpError):
    """A party awaited a message from a party that disconnected."""


class PeerTimeout(TcpError):
    """A blocking receive waited longer than the run's timeout."""


class RemoteFailure(TcpError):
    """Another party failed (its message says which and why)."""


class FrameReader:
    """Splits a stream into frames (each returned without its length prefix).

    Small frames are cut out of a shared receive buffer; a frame of at least
    `_DIRECT` bytes is received straight into its own buffer (no growing and
    re-slicing of megabytes), and its arrays are decoded as views on it. A
    length above `max_length` is refused before anything is allocated; with a
    `channel`, each record is opened (authenticated and decrypted).
    """

    def __init__(self, stream: trio.SocketStream, max_length: int = HANDSHAKE_MAX):
        self.stream = stream
        self.buf = bytearray()
        self.pos = 0
        self.max_length = max_length
        self.channel: Channel | None = None

    async def next(self) -> bytearray | None:
        """The next frame, or None at a clean end of stream."""
        record = await self._record()
        if record is None or self.channel is None:
            return record
        return self.channel.open(record)

    async def _record(self) -> bytearray | None:
        while True:
            avail = len(self.buf) - self.pos
            if avail >= codec.PREFIX_SIZE:
                length = codec.frame_length(memoryview(self.buf)[self.pos:])
                if length > self.max_length:
                    raise codec.CodecError(f"a frame of {length:,} bytes announced; at most "
                                           f"{self.max_length:,} accepted here")
                start = self.pos + codec.PREFIX_SIZE
                end = start + length
                if end <= len(self.buf):
                    frame = self.buf[start:end]
                    self.pos = end
                    return frame
                if length >= _DIRECT:
                    return await self._large(start, length)
                want = end - len(self.buf)
            else:
                want = codec.PREFIX_SIZE - avail
            if self.pos:
                del self.buf[:self.pos]
                self.pos = 0
            chunk = await self.stream.receive_some(max(want, _CHUNK))
            if not chunk:
                if self.buf:
                    raise trio.BrokenResourceError("connection closed inside a frame")
                return None
            self.buf += chunk

    async def _large(self, start: int, length: int) -> bytearray:
        frame = bytearray(length)
        have = len(self.buf) - start
        frame[:have] = memoryview(self.buf)[start:]
        self.buf = bytearray()
        self.pos = 0
        view = memoryview(frame)
        sock = self.stream.socket
        while have < length:
            try:
                got = await sock.recv_into(view[have:])
            except OSError as exc:
                raise trio.BrokenResourceError(f"receive failed: {exc}") from exc
            if not got:
                raise trio.BrokenResourceError("connection closed inside a frame")
            have += got
        return frame


async def _write(sock: trio.socket.SocketType, parts: list[bytes | memoryview]) -> None:
    """Write `parts` in order, many per system call (scatter-gather, no joining copy).

    Each write wakes the receiving process: on loopback that wake-up, not the
    copy, is most of the cost of a small message, so frames queued together
    go out together.
    """
    parts = [p for p in parts if len(p)]
    while parts:
        try:
            sent = await sock.sendmsg(parts[:_IOV_MAX])
        except OSError as exc:
            raise trio.BrokenResourceError(f"send failed: {exc}") from exc
        parts = _after(parts, sent)


def _after(parts: list[bytes | memoryview], sent: int) -> list[bytes | memoryview]:
    """What remains of `parts` once their first `sent` bytes are written."""
    i = 0
    while i < len(parts) and sent >= len(parts[i]):
        sent -= len(parts[i])
        i += 1
    rest = parts[i:]
    if sent:
        rest[0] = memoryview(rest[0])[sent:]
    return rest


def _send_parts(frame: Frame) -> list[bytes]:
    """A received frame re-sent as is (forwarding, floods)."""
    return [codec.frame_length_prefix(len(frame.raw)), bytes(frame.raw)]


def _why(exc: BaseException) -> str:
    """A short reason for a failed handshake (a peer's garbage is never echoed at length)."""
    if isinstance(exc, trio.TooSlowError):
        return f"no handshake within {HANDSHAKE_TIMEOUT_S:g} s"
    if isinstance(exc, HandshakeError | codec.CodecError):
        return str(exc)[:160]
    if isinstance(exc, trio.BrokenResourceError | OSError):
        return "the connection broke"
    return f"malformed handshake ({type(exc).__name__})"


def _peer(stream: trio.SocketStream) -> str:
    try:
        host, port = stream.socket.getpeername()[:2]
    except (OSError, ValueError):
        return "an unknown address"
    return f"{host}:{port}"


class Node:
    """The networking side of one party (see the module docstring).

    Args:
        pid: this party's id.
        graph: the topology; connections follow its edges.
        header_bytes: the scenario's modelled header per message (ledger).
        timeout_s: how long to wait for a neighbour to connect, and for any
            single blocking receive.
        record_views: keep the payloads this party receives.
        tag: run identity checked when connecting (two runs must not mix).
        run_key: the secret every party of the run holds (`sim.tcp.secure`).
        max_frame: the longest frame accepted from an authenticated peer.
    """

    def __init__(self, pid: int, graph: nx.Graph, *, header_bytes: int, timeout_s: float,
                 run_key: bytes, record_views: bool = False, tag: str = "",
                 max_frame: int = codec.MAX_FRAME):
        self.pid = pid
        self.n = graph.number_of_nodes()
        self.timeout_s = timeout_s
        self.tag = tag
        self.run_key = run_key
        self.max_frame = max_frame
        self.notes: list[str] = []  # refused connections and dropped links, for the report
        self.handshake_bytes = 0
        self.waiting_for: list[int] | None = None  # what the program waits for (probes)
        self._channels: dict[int, Channel] = {}
        self._failed: dict[int, str] = {}  # the last handshake failure with a neighbour we dial
        self._probes = 0
        self._answers: dict[int, dict[int, list[int] | None]] = {}
        self.network = Network(graph, np.random.default_rng(0))
        self.neighbors = sorted(graph.neighbors(pid))
        self.ledger = Ledger(self.n, header_bytes, record_views)
        self.overhead: dict[tuple[int, int], int] = {}  # frame bytes beyond payload, per link
        self.control_bytes = 0
        self.sent_to = [0] * self.n
        self.received_from = [0] * self.n
        self.forwarded = 0
        self.boxes: dict[int, deque[Message]] = {}
        self.lost: dict[int, float] = {}
        self.done: dict[int, list[int]] = {}
        self.stats: dict[int, Any] = {}
        self.byes: set[int] = set()
        self.failure: BaseException | None = None
        self.t0 = time.perf_counter()
        self._streams: dict[int, trio.SocketStream] = {}
        self._readers: dict[int, FrameReader] = {}
        self._queues: dict[int, trio.MemorySendChannel] = {}
        self._pending: dict[int, int] = {}  # frames queued or being written, per link
        self._epoch = 0  # how many times the program yielded
        self._direct: dict[int, int] = {}  # epoch of each link's last write-through
        self._sends = 0  # sends since the program last yielded
        self._flushed: dict[int, trio.Event] = {}
        self._changed = trio.Event()
        self._quiet = trio.Event()
        self._closed = trio.Event()
        self._expected_forward: int | None = None
        self._scope: trio.CancelScope | None = None
        self._bye_sent = False

    def security_overhead(self) -> int:
        """Bytes the secure channel added to what this party sent (record tags)."""
        return sum(channel.overhead for channel in self._channels.values())

    def clock(self) -> float:
        """Seconds since this party's links came up."""
        return time.perf_counter() - self.t0

    # -- connecting --------------------------------------------------------------

    async def connect(self, listener: trio.SocketListener | None,
                      addresses: list[tuple[str, int]]) -> None:
        """Open a connection to every neighbour, or raise `ConnectError` naming the missing."""
        higher = [v for v in self.neighbors if v > self.pid]
        with trio.move_on_after(self.timeout_s):
            async with trio.open_nursery() as nursery:
                if higher:
                    nursery.start_soon(self._accept, listener, set(higher))
                for nbr in self.neighbors:
                    if nbr < self.pid:
                        nursery.start_soon(self._dial, nbr, addresses[nbr])
                while len(self._streams) < len(self.neighbors):
                    await self._changed.wait()
                nursery.cancel_scope.cancel()
        missing = [v for v in self.neighbors if v not in self._streams]
        if missing:
            for stream in self._streams.values():
                await stream.aclose()
            where = ", ".join(f"party {v} ({addresses[v][0]}:{addresses[v][1]})" for v in missing)
            why = "; ".join(f"party {v}: {self._failed[v]}" for v in missing if v in self._failed)
            raise ConnectError(
                f"party {self.pid}: no connection with {where} within {self.timeout_s:g} s"
                + (f" (the last handshake failed: {why})" if why else "")
            )
        self._changed = trio.Event()
        self.t0 = time.perf_counter()

    def note(self, text: str) -> None:
        """Log a refused connection or a dropped link, and keep it for the report."""
        log.warning(text)
        if len(self.notes) < MAX_NOTES:
            self.notes.append(text)
        elif len(self.notes) == MAX_NOTES:
            self.notes.append("(further notes omitted; see the sim.tcp log)")

    def _hello(self, dst: int, public: bytes) -> list[bytes]:
        return codec.encode_frame(HELLO, self.pid, dst,
                                  (secure.VERSION, self.tag, self.n, public))[0]

    def _check_hello(self, raw: bytearray | None, src: int | None) -> Frame:
        """A peer's HELLO frame, or `HandshakeError` saying what is wrong with it."""
        if raw is None:
            raise HandshakeError("closed before its HELLO")
        frame = codec.parse_frame(raw)
        if frame.kind != HELLO or frame.dst != self.pid or (src is not None and
                                                            frame.src != src):
            raise HandshakeError(f"frame kind {frame.kind} from {frame.src} to {frame.dst} "
                                 f"instead of a HELLO from {src if src is not None else 'a peer'}"
                                 f" to {self.pid}")
        hello = frame.payload()
        if (not isinstance(hello, tuple) or len(hello) != 4 or hello[0] != secure.VERSION
                or not isinstance(hello[3], bytes)):
            raise HandshakeError("not a HELLO of this runtime's version")
        if hello[1:3] != (self.tag, self.n):
            raise HandshakeError(f"another run (tag {str(hello[1])[:32]!r}, "
                                 f"{str(hello[2])[:12]} parties)")
        return frame

    async def _confirm(self, stream: trio.SocketStream, reader: FrameReader, channel: Channel,
                       peer: int) -> None:
        """Exchange sealed CONFIRMs: proof that both ends hold the run key."""
        parts = channel.seal(codec.encode_frame(HELLO, self.pid, peer, secure.CONFIRM)[0])
        await stream.send_all(b"".join(parts))
        self.handshake_bytes += sum(len(p) for p in parts)
        reader.channel = channel
        raw = await reader.next()
        if raw is None:
            raise HandshakeError("closed before confirming")
        frame = codec.parse_frame(raw)
        if frame.kind != HELLO or frame.src != peer or frame.payload() != secure.CONFIRM:
            raise HandshakeError("a wrong confirmation")
        reader.max_length = self.max_frame

    async def _dial(self, nbr: int, address: tuple[str, int]) -> None:
        while True:
            try:
                stream = await trio.open_tcp_stream(*address)
            except OSError:
                await trio.sleep(_DIAL_RETRY_S)
                continue
            reader = FrameReader(stream)
            try:
                with trio.fail_after(HANDSHAKE_TIMEOUT_S):
                    mine = Handshake(self.run_key)
                    hello = b"".join(self._hello(nbr, mine.public))
                    await stream.send_all(hello)
                    self.handshake_bytes += len(hello)
                    answer = self._check_hello(await reader.next(), nbr)
                    channel = mine.channel(answer.payload()[3], hello[codec.PREFIX_SIZE:],
                                           answer.raw, dialer=True)
                    await self._confirm(stream, reader, channel, nbr)
            except Exception as exc:  # anything the other end did wrong: note it, try again
                why = _why(exc)
                if self._failed.get(nbr) != why:  # once per reason, not once per retry
                    self.note(f"party {self.pid}: the handshake with party {nbr} at "
                              f"{address[0]}:{address[1]} failed ({why}); retrying")
                self._failed[nbr] = why
                await stream.aclose()
                await trio.sleep(_DIAL_RETRY_S)
                continue
            break
        self._register(nbr, stream, reader, channel)

    def _register(self, nbr: int, stream: trio.SocketStream, reader: FrameReader,
                  channel: Channel) -> None:
        self._streams[nbr] = stream
        self._readers[nbr] = reader
        self._channels[nbr] = channel
        self._changed.set()

    async def _accept(self, listener: trio.SocketListener, expected: set[int]) -> None:
        async with trio.open_nursery() as nursery:
            while True:
                stream = await listener.accept()
                nursery.start_soon(self._greet, stream, expected)

    async def _greet(self, stream: trio.SocketStream, expected: set[int]) -> None:
        """Authenticate a connecting peer; refuse (log, close) anything else."""
        reader = FrameReader(stream)
        src = None
        try:
            with trio.fail_after(HANDSHAKE_TIMEOUT_S):
                frame = self._check_hello(await reader.next(), None)
                src = frame.src
                if src not in expected or src in self._streams:
                    raise HandshakeError(f"claims party {src}, which is not expected here")
                mine = Handshake(self.run_key)
                hello = b"".join(self._hello(src, mine.public))
                channel = mine.channel(frame.payload()[3], frame.raw, hello[codec.PREFIX_SIZE:],
                                       dialer=False)
                await stream.send_all(hello)
                self.handshake_bytes += len(hello)
                await self._confirm(stream, reader, channel, src)
                if src in self._streams:
                    raise HandshakeError(f"party {src} is connected already")
        except Exception as exc:  # a foreign or broken client: refused, the run goes on
            self.note(f"party {self.pid}: refused a connection from {_peer(stream)}"
                      + (f" (claiming party {src})" if src is not None else "")
                      + f": {_why(exc)}")
            with trio.CancelScope(shield=True):
                await stream.aclose()
            return
        self._register(src, stream, reader, channel)

    # -- running -----------------------------------------------------------------

    async def serve(self, program_body: Any) -> None:
        """Run `program_body()` (the party's program) with the links up, then shut down."""
        try:
            async with trio.open_nursery() as nursery:
                self._scope = nursery.cancel_scope
                for nbr in self.neighbors:
                    send, recv = trio.open_memory_channel(math.inf)
                    self._queues[nbr] = send
                    self._pending[nbr] = 0
                    self._flushed[nbr] = trio.Event()
                    nursery.start_soon(self._sender, nbr, recv)
                    nursery.start_soon(self._reader, nbr)
                await self._run_program(program_body)
                await self._quiet.wait()
                self._flood(STATS, self.pid, self.final_record())
                await self._closed.wait()
                for nbr in self.neighbors:
                    await self._flushed[nbr].wait()
                nursery.cancel_scope.cancel()
        finally:
            for stream in self._streams.values():
                with trio.CancelScope(shield=True):
                    await stream.aclose()
        if self.failure is not None:
            raise self.failure

    async def _run_program(self, program_body: Any) -> None:
        try:
            await program_body()
        except trio.Cancelled:
            raise
        except Exception as exc:
            self.failure = exc
            self._flood(ABORT, self.pid, str(exc))
            for queue in self._queues.values():
                queue.close()
            with trio.move_on_after(min(self.timeout_s, 2.0)):
                for nbr in self.neighbors:
                    await self._flushed[nbr].wait()
            self._scope.cancel()
            return
        self._flood(DONE, self.pid, self.sent_to)

    def final_record(self) -> Any:
        """Overridden by the runner: what this party floods in ``STATS``."""
        return None

    # -- frames out ------------------------------------------------------------------

    def _enqueue(self, nbr: int, parts: list[bytes]) -> bool:
        """Seal a frame for the link to `nbr` and queue it; False if the link is gone."""
        if nbr in self.lost:
            return False
        return self._queue(nbr, self._channels[nbr].seal(parts))

    def _queue(self, nbr: int, sealed: list[bytes | bytearray | memoryview]) -> bool:
        if nbr in self.lost:
            return False
        try:
            self._queues[nbr].send_nowait(sealed)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            return False
        self._pending[nbr] += 1
        return True

    def _carry(self, nbr: int, size: int, wire: int) -> bool:
        """Count a data frame on link (self, nbr), or a drop; True if it may go."""
        if nbr in self.lost:
            self.ledger.dropped_messages += 1
            return False
        link = self.network.links[(self.pid, nbr)]
        link.bytes += size + self.ledger.header_bytes
        link.messages += 1
        key = (self.pid, nbr)
        self.overhead[key] = self.overhead.get(key, 0) + wire - size
        return True

    def hop(self, dst: int) -> int:
        return self.network.path(self.pid, dst)[0].dst

    async def originate(self, dst: int, parts: list[bytes], size: int) -> None:
        """Send a data frame of ours (`size` payload bytes) towards `dst`.

        Written at once if the link is idle and had no write-through since the
        program last yielded, queued otherwise (see the module docstring).
        """
        nbr = self.hop(dst)
        self.sent_to[dst] += 1
        if self._carry(nbr, size, sum(len(p) for p in parts)):
            sealed = self._channels[nbr].seal(parts)
            if (self._pending[nbr] or self._direct.get(nbr) == self._epoch
                    or self.failure is not None or self._bye_sent):
                self._queue(nbr, sealed)
            else:
                self._direct[nbr] = self._epoch
                rest = self._write_now(nbr, sealed)
                if rest:
                    self._queue(nbr, rest)
        self._sends += 1
        if self._sends >= _YIELD_EVERY:
            await self.pause()
        else:
            await trio.lowlevel.checkpoint_if_cancelled()

    def _write_now(self, nbr: int, parts: list[bytes | bytearray]) -> list[bytes | memoryview]:
        """Write what the kernel takes without waiting; return the rest.

        A failed write leaves everything to the sender task, which reports the
        lost connection.
        """
        try:
            sent = os.writev(self._streams[nbr].socket.fileno(), parts)
        except OSError:  # would block, or a broken connection
            sent = 0
        return _after(parts, sent)

    async def pause(self) -> None:
        """The program yields: the queued frames may leave, other tasks run."""
        self._epoch += 1
        self._sends = 0
        await trio.lowlevel.checkpoint()

    def _flood(self, kind: int, origin: int, payload: Any, came_from: int | None = None,
               frame: Frame | None = None) -> None:
        """Record a flooded announcement once and pass it to every other neighbour."""
        store = {DONE: self.done, STATS: self.stats}.get(kind)
        if store is not None:
            if origin in store:
                return
            store[origin] = payload
        parts = (_send_parts(frame) if frame is not None
                 else codec.encode_frame(kind, origin, origin, payload)[0])
        wire = sum(len(p) for p in parts)
        for nbr in self.neighbors:
            if nbr != came_from and self._enqueue(nbr, parts):
                self.control_bytes += wire
        self._progress()

    async def _sender(self, nbr: int, queue: trio.MemoryReceiveChannel) -> None:
        sock = self._streams[nbr].socket
        try:
            async for parts in queue:
                batch = list(parts)
                items = 1
                size = sum(len(p) for p in batch)
                while size < _BATCH and len(batch) < _IOV_MAX:
                    try:
                        more = queue.receive_nowait()
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                    batch.extend(more)
                    size += sum(len(p) for p in more)
                    items += 1
                await _write(sock, batch)
                self._pending[nbr] -= items
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self._lose(nbr)
        finally:
            self._flushed[nbr].set()

    # -- frames in -------------------------------------------------------------------

    async def _reader(self, nbr: int) -> None:
        reader = self._readers[nbr]
        try:
            while True:
                raw = await reader.next()
                if raw is None:
                    break
                self._dispatch(nbr, codec.parse_frame(raw))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        except (codec.CodecError, HandshakeError, TcpError) as exc:
            self.note(f"party {self.pid}: dropped the link to party {nbr}: {str(exc)[:160]}")
        if nbr not in self.byes:
            self._lose(nbr)

    def _dispatch(self, nbr: int, frame: Frame) -> None:
        kind = frame.kind
        if kind == DATA:
            if frame.dst == self.pid:
                self._arrive(frame)
            else:
                self.forwarded += 1
                nxt = self.hop(frame.dst)
                parts = _send_parts(frame)
                if self._carry(nxt, frame.size, frame.wire_bytes):
                    self._enqueue(nxt, parts)
                self._progress()
        elif kind in (DONE, STATS):
            self._flood(kind, frame.src, frame.payload(), nbr, frame)
        elif kind == BYE:
            self.byes.add(nbr)
            self._progress()
        elif kind == LOST:
            self._mark_lost(frame.src, nbr, frame)
        elif kind == ABORT:
            if self.failure is None:
                self.failure = RemoteFailure(frame.payload())
                self._flood(ABORT, frame.src, None, nbr, frame)
                for queue in self._queues.values():
                    queue.close()
                self._scope.cancel()
        elif kind in (PING, PONG):
            self._probe_frame(frame)
        else:
            raise TcpError(f"unexpected frame kind {kind}")

    def _arrive(self, frame: Frame) -> None:
        msg = Message(frame.src, self.pid, frame.payload(), frame.size, frame.depth,
                      frame.phase, frame.offline, 0.0)
        self.received_from[frame.src] += 1
        self.ledger.delivered(msg, self.clock())
        box = self.boxes.get(frame.src)
        if box is None:
            box = self.boxes[frame.src] = deque()
        box.append(msg)
        self._progress()

    def _lose(self, nbr: int) -> None:
        self._mark_lost(nbr, None, None)

    def _mark_lost(self, pid: int, came_from: int | None, frame: Frame | None) -> None:
        if pid in self.lost or pid == self.pid or pid in self.stats:
            return
        self.lost[pid] = self.clock()
        self._flood(LOST, pid, None, came_from, frame)

    # -- probes: who is silent -------------------------------------------------------

    def _route(self, kind: int, dst: int, payload: Any) -> None:
        """Send a control frame of ours towards `dst`, hop by hop (a probe, its answer)."""
        parts = codec.encode_frame(kind, self.pid, dst, payload)[0]
        nbr = self.hop(dst)
        if self._enqueue(nbr, parts):
            self.control_bytes += sum(len(p) for p in parts)

    def _probe_frame(self, frame: Frame) -> None:
        if frame.dst != self.pid:  # pass it on
            nbr = self.hop(frame.dst)
            if self._enqueue(nbr, _send_parts(frame)):
                self.control_bytes += frame.wire_bytes
            return
        if frame.kind == PING:
            self._route(PONG, frame.src, (frame.payload(), self.waiting_for))
            return
        nonce, waiting = frame.payload()
        answers = self._answers.get(nonce)
        if answers is not None:
            answers[frame.src] = waiting
            self._progress()

    async def probe(self, parties: list[int], wait_s: float) -> dict[int, list[int] | None]:
        """Ask `parties` whether they are alive; within `wait_s`, what each that answered
        waits for (None: it is not waiting). Silent parties are absent from the result."""
        self._probes += 1
        nonce = self._probes
        answers = self._answers[nonce] = {}
        asked = [p for p in parties if p not in self.lost and p != self.pid]
        for p in asked:
            self._route(PING, p, nonce)
        with trio.move_on_after(wait_s):
            while len(answers) < len(asked):
                await self._changed.wait()
        del self._answers[nonce]
        return dict(answers)

    # -- waiting and shutdown --------------------------------------------------------

    def _progress(self) -> None:
        """Something changed: wake the program, and move the shutdown along."""
        self._changed.set()
        self._changed = trio.Event()
        if self._closed.is_set():
            return
        if (not self._quiet.is_set() and self._known(self.done)
                and (self.lost or self._counts_settled())):
            self._quiet.set()
        if not self._quiet.is_set() or not self._known(self.stats):
            return
        if not self._bye_sent:
            self._bye_sent = True
            parts, _ = codec.encode_frame(BYE, self.pid, self.pid)
            for nbr in self.neighbors:
                if self._enqueue(nbr, parts):
                    self.control_bytes += sum(len(p) for p in parts)
                self._queues[nbr].close()
        if all(v in self.byes or v in self.lost for v in self.neighbors):
            self._closed.set()

    def _known(self, store: dict[int, Any]) -> bool:
        """Whether every party has announced into `store` or is lost."""
        return (len(store) + len(self.lost) >= self.n
                and all(p in store or p in self.lost for p in range(self.n)))

    def _counts_settled(self) -> bool:
        for src, counts in self.done.items():
            if src != self.pid and self.received_from[src] != counts[self.pid]:
                return False
        if self._expected_forward is None:
            self._expected_forward = sum(
                counts[dst]
                for src, counts in self.done.items()
                for dst in range(self.n)
                if counts[dst] and any(link.src == self.pid
                                       for link in self.network.path(src, dst)[1:])
            )
        return self.forwarded == self._expected_forward

    async def wait_change(self, deadline: float) -> bool:
        """Wait until something arrives or changes; False if `deadline` passed first."""
        if self.failure is not None:
            raise self.failure
        self._epoch += 1
        self._sends = 0
        with trio.move_on_at(deadline):
            await self._changed.wait()
            return True
        return False
