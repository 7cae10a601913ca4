"""Measuring the cost model's constants on this machine (the kernel's classes).

A measure prepares a *workload*, ``(run, units)``: a call that performs `units`
operations of its class on realistic sizes; `seconds_per_unit` times it in
process CPU time (a loaded machine inflates wall time, not CPU time) and keeps
the fastest of several repetitions. Paillier measures give one workload per key
size. Protocol packages measure their own primitives (the dealer's PRG,
Paillier, OPE...) and offer them under the entry point group
``ppsim.calibration`` (see `protocols.calibration`); ``ppsim calibrate`` runs
all of them.

Some constants are best measured on the protocol code itself (a `CalibrationFit`):
the element-wise classes, whose real cost depends on what a microbenchmark hides
(fresh allocations and their page faults, bits packed or in bool arrays), and
the fixed cost of a step of protocol code (``call``: Python around each numpy
call). A fit runs protocol code, reads the operations it charged, and gives its
class the time left once the other classes are paid at their constants; fits
run twice, so that each sees the others' fitted values.

Messages are measured on the TCP runtime itself: a ping-pong between two
parties of one process (one thread, loopback), whose round trip is the CPU work
of two sends and two receives. Small and 4 MiB payloads give the per-message
and per-byte parts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import networkx as nx
import numpy as np

Workload = tuple[Callable[[], object], float]


@dataclass(frozen=True)
class CalibrationFit:
    """Protocol code whose charges fit one class: `run` performs it and returns the
    operations it charged, by class; `cls` gets the time the others leave."""

    run: Callable[[], Mapping[str, float]]
    cls: str


Measured = Workload | dict[int, Workload] | float | CalibrationFit
"""What a measure returns: a workload, workloads by key size, a fit, or seconds per
unit already measured (the messages)."""

ELEMENTS = 1 << 20
"""Array size of the element-wise measures: large enough to leave the caches, as
protocol vectors of 10^5..10^7 elements do."""

BUDGET_S = 0.4
"""Repeat a workload until this much time has passed (at least 3, at most 50 times)."""


def seconds_per_unit(measured: Measured, known: Mapping[str, float] | None = None
                     ) -> float | dict[int, float]:
    """Time a measure's workload(s): the fastest repetition divided by its units (for a
    `CalibrationFit`, the time the `known` constants leave to its class, per operation)."""
    if isinstance(measured, float):
        return measured
    if isinstance(measured, dict):
        return {bits: seconds_per_unit(w) for bits, w in measured.items()}
    if isinstance(measured, CalibrationFit):
        counts: Mapping[str, float] = {}

        def once() -> None:
            nonlocal counts
            counts = measured.run()

        took = _fastest(once, repeat_max=3)
        known = known or {}
        rest = took - sum(n * known.get(c, 0.0) for c, n in counts.items()
                          if c != measured.cls)
        return max(rest, 0.0) / counts[measured.cls]
    run, units = measured
    return _fastest(run) / units


def _fastest(run: Callable[[], object], repeat_max: int = 50) -> float:
    fastest, spent, count = float("inf"), 0.0, 0
    while count < min(3, repeat_max) or (spent < BUDGET_S and count < repeat_max):
        start = time.process_time()
        run()
        took = time.process_time() - start
        fastest, spent, count = min(fastest, took), spent + took, count + 1
    return fastest


def pass_() -> Workload:
    """In-place add, shift and conversion into existing arrays of 2^19 elements (4 MiB:
    the size of `ring_matmul`'s tiles)."""
    rng = np.random.default_rng(2)
    n = ELEMENTS // 2
    x = rng.integers(0, 2**63, n, dtype=np.uint64)
    y = rng.integers(0, 2**63, n, dtype=np.uint64)
    f = rng.random(n)
    shift = np.uint64(5)

    def run() -> None:
        np.add(x, y, out=x)
        np.left_shift(y, shift, out=y)
        np.copyto(x, f, casting="unsafe")

    return run, 3 * n


def mod() -> Workload:
    """int64 remainder by 2^31 - 1 (Shamir's field)."""
    x = np.random.default_rng(3).integers(0, 2**62, ELEMENTS, dtype=np.int64)
    p = np.int64(2**31 - 1)
    return (lambda: x % p), ELEMENTS


def scatter() -> Workload:
    """Weighted np.bincount into 4096 bins (a histogram)."""
    rng = np.random.default_rng(4)
    idx = rng.integers(0, 4096, ELEMENTS)
    w = rng.random(ELEMENTS)
    return (lambda: np.bincount(idx, w, minlength=4096)), ELEMENTS


def one_blas_thread():  # noqa: ANN201 - a threadpoolctl context
    """BLAS on one thread, as `protocols.sharing.ring.ring_matmul` runs it."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().limit(limits=1, user_api="blas")


def madd() -> Workload:
    """float64 matrix product 512 x 512 x 512 on one BLAS thread, per multiply-add."""
    rng = np.random.default_rng(5)
    a, b = rng.random((512, 512)), rng.random((512, 512))

    def run() -> None:
        with one_blas_thread():
            a @ b

    return run, 512**3


def ring_madd() -> Workload:
    """numpy's uint64 matrix product (no BLAS), 128^3, per multiply-add."""
    rng = np.random.default_rng(6)
    a = rng.integers(0, 2**63, (128, 128), dtype=np.uint64)
    b = rng.integers(0, 2**63, (128, 128), dtype=np.uint64)
    return (lambda: a @ b), 128**3


def bigint() -> Workload:
    """Multiplying object arrays of 256-bit Python integers, per element."""
    rng = np.random.default_rng(7)
    a = np.array([int.from_bytes(rng.bytes(32)) for _ in range(1000)], dtype=object)
    b = np.array([int.from_bytes(rng.bytes(32)) for _ in range(1000)], dtype=object)
    return (lambda: a * b), 1000


def _round_trip(size: int, count: int) -> float:
    """CPU seconds per round trip of `size`-byte payloads between two TCP parties of
    one process (the fastest of three runs, each after a warm-up exchange)."""
    from sim.costmodel import CostModel
    from sim.tcp import run_tcp

    payload = np.zeros(size, np.uint8)

    async def ping(party):  # noqa: ANN001, ANN202 - a party program
        await party.send(1, payload)
        await party.recv(1)
        start = time.process_time()
        for _ in range(count):
            await party.send(1, payload)
            await party.recv(1)
        return (time.process_time() - start) / count

    async def pong(party):  # noqa: ANN001, ANN202
        for _ in range(count + 1):
            await party.send(0, await party.recv(0))

    graph = nx.complete_graph(2)
    nx.set_edge_attributes(graph, 0.0, "latency")
    nx.set_edge_attributes(graph, 1e12, "bandwidth")
    return min(run_tcp(graph, {0: ping, 1: pong}, cost_model=CostModel.free()).outputs[0]
               for _ in range(3))


SMALL, LARGE = 8, 1 << 22


def message() -> float:
    """CPU per message at one end: a quarter of a small payload's round trip."""
    return _round_trip(SMALL, 1000) / 4


def wire_byte() -> float:
    """CPU per byte at one end: a quarter of what a 4 MiB payload adds to a round trip
    (per byte it grows with the payload here: 0.3 ns at 64 KiB, 0.8 at 16 MiB)."""
    return max(0.0, (_round_trip(LARGE, 20) - _round_trip(SMALL, 1000)) / (4 * (LARGE - SMALL)))


MEASURES: dict[str, Callable[[], Measured]] = {
    "pass": pass_, "mod": mod, "scatter": scatter, "madd": madd,
    "ring_madd": ring_madd, "bigint": bigint, "message": message,
    "wire_byte": wire_byte,
}
"""The kernel's measures, by operation class."""
