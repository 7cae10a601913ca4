"""Independent operations in the same rounds: the scheduler behind `Mpc.gather`.

Written one after the other, two independent operations take the sum of their
rounds: the second one's first message waits for the first one's last. `gather`
runs them as coroutines of the same party, in lockstep: each runs until it
waits for a message; then every message they have to send leaves at once, ONE
per receiver (a bundle of the operations' parts); then the party receives what
they wait for, and the operations that can go on do. Their rounds overlap, so
together they take the rounds of the longest (as measured by the ledger's causal
depth), and a round is still one message per pair of parties.

Matching parts to operations: a bundle is ``(tags, part, part, ...)``, where
`tags` (bytes, one per part; public, not an array a view check would judge)
holds the index of each part's operation in the gather. Messages from one
sender arrive in the order they were sent (both runtimes are FIFO per sender)
and every party runs the same program, so the
k-th part an operation receives from a party is the k-th that party's same
operation sent to it, whatever the other operations do. A part no operation
takes, or a message that is not a bundle, is an error, never a silent mismatch.
Nested gathers compose: an inner gather's bundles are parts of the outer one's.

How: while operation i runs, its `Mpc`'s party (and the dealer end's) is a
`_Branch`, a view of the real party whose sends and receives the scheduler
serves; everything else (work, time, phases, rng) passes through, in the order
the scheduler runs the operations, which depends on the program only
(deterministic). Code inside an operation must reach the party through its
`Mpc` (``mpc.party``), not through a party captured outside the gather.

Limits (each an error when broken): no receive timeouts and no message kinds
inside an operation; a phase opened inside an operation must close before the
operation waits for a message (the gather's messages count in the phase the
gather runs in; the dealer's offline phases, which only send, are kept). The
party waits for one bundle from every party an operation waits for, so the
operations must be independent at every party: no party may wait, in one
operation, for a message that its sender sends only after this party has gone
on in another, the dealer's paced sends included (the simulator reports such a
cycle as a deadlock; openings among the players, the dealer's corrections and
reveals, as the shipped protocols use them, never form one).
"""

from __future__ import annotations

import types
from collections import deque
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sim import Party

if TYPE_CHECKING:
    from protocols.sharing.core import MpcCore


@dataclass(frozen=True)
class _Send:
    dst: int
    payload: Any
    phase: tuple[str, bool]  # (name, offline) when it was sent


@dataclass(frozen=True)
class _Recv:
    srcs: tuple[int, ...]
    many: bool  # recv_many (a dict by sender) rather than recv (the payload)


@types.coroutine
def _handover(request: Any) -> Any:
    """Suspend with `request` (to the scheduler, or from it to the runtime)."""
    return (yield request)


class _Branch:
    """One operation's view of the party: sends and receives go to the scheduler."""

    def __init__(self, party: Party):
        self._party = party

    def __getattr__(self, name: str) -> Any:
        return getattr(self._party, name)

    def send(self, dst: int, payload: Any, kind: str | None = None) -> Awaitable[None]:
        if kind is not None:
            raise ValueError(f"gather: message kinds are not carried inside gather "
                             f"(party {self._party.id} sends a {kind!r} to {dst})")
        party = self._party
        return _handover(_Send(dst, payload, (party.current_phase, party.offline)))

    def recv(self, src: int) -> Awaitable[Any]:
        return _handover(_Recv((src,), many=False))

    def recv_many(self, srcs: Iterable[int], timeout: float | None = None,
                  kind: str | None = None) -> Awaitable[dict[int, Any]]:
        if timeout is not None or kind is not None:
            raise ValueError(f"gather: recv_many inside gather takes no timeout or kind "
                             f"(party {self._party.id}: timeout={timeout}, kind={kind!r})")
        return _handover(_Recv(tuple(sorted(srcs)), many=True))

    broadcast = Party.broadcast


def _bundle(parts: list[tuple[int, Any]]) -> tuple:
    return (bytes(i for i, _ in parts), *(p for _, p in parts))


async def run_together(mpc: MpcCore, aws: Iterable[Awaitable[Any]]) -> list[Any]:
    """Run `aws` (operations on `mpc`) in the same rounds; their results in order."""
    party = mpc.party
    coros = [aw.__await__() for aw in aws]
    if len(coros) > 256:
        raise ValueError(f"gather: at most 256 operations at once, got {len(coros)}")
    own_phase = (party.current_phase, party.offline)
    views = [_Branch(party) for _ in coros]
    results: list[Any] = [None] * len(coros)
    done = [False] * len(coros)
    values: dict[int, Any] = dict.fromkeys(range(len(coros)))  # runnable: what to resume with
    waiting: dict[int, _Recv] = {}
    outbox: dict[tuple[str, bool, int], list[tuple[int, Any]]] = {}
    inbox: dict[tuple[int, int], deque] = {}  # (sender, operation) -> parts in order

    def ready(req: _Recv, i: int) -> bool:
        return all(inbox.get((src, i)) for src in req.srcs)

    def take(req: _Recv, i: int) -> Any:
        got = {src: inbox[src, i].popleft() for src in req.srcs}
        return got if req.many else got[req.srcs[0]]

    async def run(i: int, value: Any) -> None:
        """Run operation i until it waits for a message it does not have, or ends."""
        coro = coros[i]
        mpc.party = views[i]
        previous = mpc.corr.switch(views[i], streams[i])
        try:
            while True:
                try:
                    req = coro.send(value)
                except StopIteration as stop:
                    results[i], done[i] = stop.value, True
                    return
                value = None
                if isinstance(req, _Send):
                    outbox.setdefault((*req.phase, req.dst), []).append((i, req.payload))
                elif isinstance(req, _Recv):
                    if ready(req, i):
                        value = take(req, i)
                        continue
                    if (party.current_phase, party.offline) != own_phase:
                        raise RuntimeError(
                            f"gather: an operation of party {party.id} waits for a message "
                            f"inside phase {party.current_phase!r}; open phases around "
                            f"gather, not inside its operations")
                    waiting[i] = req
                    return
                else:  # the runtime's own request (work, time): pass it through
                    value = await _handover(req)
        finally:
            mpc.party = party
            mpc.corr.switch(*previous)

    async def flush() -> None:
        for (name, offline, dst), parts in sorted(outbox.items()):
            if (name, offline) == (party.current_phase, party.offline):
                await party.send(dst, _bundle(parts))
            else:
                with party.phase(name, offline):
                    await party.send(dst, _bundle(parts))
        outbox.clear()

    async def receive() -> None:
        """Receive one bundle from every party some waiting operation lacks a part from;
        from the dealer alone first, if it is one of them: its offline material must
        not wait behind online messages, whose depth the next sends would inherit."""
        srcs = sorted({src for i, req in waiting.items() for src in req.srcs
                       if not inbox.get((src, i))})
        if mpc.dealer in srcs:
            srcs = [mpc.dealer]
        for src, bundle in (await party.recv_many(srcs)).items():
            if not (isinstance(bundle, tuple) and bundle and isinstance(bundle[0], bytes)
                    and len(bundle[0]) == len(bundle) - 1):
                raise RuntimeError(f"gather: party {party.id} expected a bundle of parts "
                                   f"from party {src}, got {type(bundle).__name__}: the "
                                   f"parties do not run the same operations together")
            for i, part in zip(bundle[0], bundle[1:], strict=True):
                inbox.setdefault((src, i), deque()).append(part)

    try:
        if mpc.dealer is not None:
            await mpc.setup()
        streams = await mpc.corr.fork(len(coros))
        while values:
            for i in sorted(values):
                await run(i, values.pop(i))
            await flush()
            while waiting and not values:
                await receive()
                for i in sorted(i for i, req in waiting.items() if ready(req, i)):
                    values[i] = take(waiting.pop(i), i)
        left = [(src, i) for (src, i), parts in inbox.items() if parts]
        if left:
            src, i = left[0]
            raise RuntimeError(f"gather: party {party.id} received from party {src} a part "
                               f"for operation {i} that it never took: the parties do not "
                               f"run the same operations together")
        return results
    finally:
        for coro, finished in zip(coros, done, strict=True):
            if not finished:
                coro.close()
