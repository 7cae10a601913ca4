"""Hosts: the machines parties run on, whose cores and network interface they share.

By default every party has a host of its own with one core (a party's program
is one thread: it never computes twice at once, so one core is all it can use).
A scenario may place several parties on one host (``[hosts.<name>]``), as when
they all run on one laptop: their local work and their messages' CPU work then
queue for the host's cores, and their traffic to other hosts shares the host's
network interface. Parties on one host talk through memory: no link, no
latency; what such a message costs is its CPU work at both ends.

A host's CPU is `cores` FIFO servers (`Cpu`): a request waits for the earliest
free core and holds it for its duration. FIFO without preemption is what a
single-threaded event loop does (the TCP runtime runs every party of a process
in one trio loop), and what several cores do for requests of similar size.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Host:
    """A machine: `parties` share its `cores` and its network interface.

    `nic_bandwidth` (bytes/s) is the interface every message leaving or reaching
    the host crosses; None leaves each link its own (as without hosts).
    """

    name: str
    parties: tuple[int, ...]
    cores: int = 1
    nic_bandwidth: float | None = None

    def __post_init__(self) -> None:
        if self.cores < 1:
            raise ValueError(f"host {self.name!r}: cores must be >= 1, got {self.cores}")
        if not self.parties:
            raise ValueError(f"host {self.name!r} has no party")
        if self.nic_bandwidth is not None and not self.nic_bandwidth > 0:
            raise ValueError(f"host {self.name!r}: nic_bandwidth must be > 0, "
                             f"got {self.nic_bandwidth}")


def placement(n: int, hosts: Iterable[Host] = ()) -> list[Host]:
    """Every party's host: the given ones, and a one-core host of its own for each
    party they leave out (named ``party<id>``), in order of first party."""
    given = list(hosts)
    where: dict[int, str] = {}
    for host in given:
        for pid in host.parties:
            if not 0 <= pid < n:
                raise ValueError(f"host {host.name!r} names party {pid}, not in the run "
                                 f"(0..{n - 1})")
            if pid in where:
                raise ValueError(f"party {pid} is placed on two hosts: {where[pid]!r} "
                                 f"and {host.name!r}")
            where[pid] = host.name
    names = [h.name for h in given]
    if len(set(names)) != len(names):
        raise ValueError(f"host names must be distinct, got {names}")
    own = [Host(f"party{pid}", (pid,)) for pid in range(n) if pid not in where]
    return sorted(given + own, key=lambda h: min(h.parties))


class Cpu:
    """A host's cores: FIFO servers shared by local work and message handling.

    As a stage of a message's route (the receiver's decoding, a relay's
    forwarding) it holds a core for ``message + wire_byte * size`` seconds of
    the cost model; `last_wait` and `last_service` tell the engine how a
    message's time splits between queueing and work.
    """

    __slots__ = ("free", "busy_s", "per_message", "per_byte", "last_wait", "last_service")
    is_cpu = True
    loss = 0.0

    def __init__(self, cores: int, per_message: float = 0.0, per_byte: float = 0.0):
        self.free = [0.0] * cores
        self.busy_s = 0.0
        self.per_message, self.per_byte = per_message, per_byte
        self.last_wait = self.last_service = 0.0

    def reserve(self, t: float, seconds: float) -> tuple[float, float]:
        """Hold the earliest free core for `seconds` from `t` on; return (start, end)."""
        free = self.free
        i = 0 if len(free) == 1 else free.index(min(free))
        start = t if t > free[i] else free[i]
        end = start + seconds
        free[i] = end
        self.busy_s += seconds
        return start, end

    def transmit(self, t: float, size: int) -> float:
        """Handle a message of `size` bytes that is ready at `t`; return when it is done."""
        start, end = self.reserve(t, self.per_message + size * self.per_byte)
        self.last_wait, self.last_service = start - t, end - start
        return end


def cpus(hosts: Sequence[Host], n: int, per_message: float, per_byte: float
         ) -> tuple[list[Cpu], list[int]]:
    """One `Cpu` per host, and each party's host index."""
    out, host_of = [], [0] * n
    for i, host in enumerate(hosts):
        out.append(Cpu(host.cores, per_message, per_byte))
        for pid in host.parties:
            host_of[pid] = i
    return out, host_of
