"""Measuring the cost model's constants on this machine (the kernel's classes).

A measure prepares a *workload*, ``(run, units)``: a call that performs `units`
operations of its class on realistic sizes; `seconds_per_unit` times it and
keeps the fastest of several repetitions, so that a moment of load on a shared
machine does not inflate the constant. Paillier measures give one workload per
key size. Protocol packages measure their own primitives (the dealer's PRG,
Paillier, OPE...) and offer them under the entry point group
``ppsim.calibration`` (see `protocols.calibration`); ``ppsim calibrate`` runs
all of them.

Messages are measured on the TCP runtime itself: a ping-pong between two
parties of one process (one thread, loopback), whose round trip is the CPU work
of two sends and two receives. Small and large payloads give the per-message
and per-byte parts.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import networkx as nx
import numpy as np

Workload = tuple[Callable[[], object], float]
Measured = Workload | dict[int, Workload] | float
"""What a measure returns: a workload, workloads by key size, or seconds per unit
already measured (the messages)."""

ELEMENTS = 1 << 20
"""Array size of the element-wise measures: large enough to leave the caches, as
protocol vectors of 10^5..10^7 elements do."""

BUDGET_S = 0.4
"""Repeat a workload until this much time has passed (at least 3, at most 50 times)."""


def seconds_per_unit(measured: Measured) -> float | dict[int, float]:
    """Time a measure's workload(s): the fastest repetition divided by its units."""
    if isinstance(measured, float):
        return measured
    if isinstance(measured, dict):
        return {bits: seconds_per_unit(w) for bits, w in measured.items()}
    run, units = measured
    fastest, spent, count = float("inf"), 0.0, 0
    while count < 3 or (spent < BUDGET_S and count < 50):
        start = time.perf_counter()
        run()
        took = time.perf_counter() - start
        fastest, spent, count = min(fastest, took), spent + took, count + 1
    return fastest / units


def _mean_of(ops: list[Callable[[], object]], units: float) -> Workload:
    def run() -> None:
        for op in ops:
            op()

    return run, units * len(ops)


def ring() -> Workload:
    """Allocating uint64 add, subtract, multiply, xor, shift and compare."""
    rng = np.random.default_rng(1)
    x = rng.integers(0, 2**63, ELEMENTS, dtype=np.uint64)
    y = rng.integers(0, 2**63, ELEMENTS, dtype=np.uint64)
    s = np.uint64(7)
    return _mean_of([lambda: x + y, lambda: x - y, lambda: x * y, lambda: x ^ y,
                     lambda: x >> s, lambda: x < y], ELEMENTS)


def bit() -> Workload:
    """Allocating xor, and, not of bool arrays."""
    rng = np.random.default_rng(2)
    x, y = rng.random(ELEMENTS) < 0.5, rng.random(ELEMENTS) < 0.5
    return _mean_of([lambda: x ^ y, lambda: x & y, lambda: ~x], ELEMENTS)


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


def call() -> Workload:
    """One numpy call on 8-element arrays (dispatch and allocation, no data)."""
    x, y = np.arange(8, dtype=np.uint64), np.arange(8, dtype=np.uint64)

    def run() -> None:
        for _ in range(1000):
            np.add(x, y)

    return run, 1000


def bigint() -> Workload:
    """Multiplying object arrays of 256-bit Python integers, per element."""
    rng = np.random.default_rng(7)
    a = np.array([int.from_bytes(rng.bytes(32)) for _ in range(1000)], dtype=object)
    b = np.array([int.from_bytes(rng.bytes(32)) for _ in range(1000)], dtype=object)
    return (lambda: a * b), 1000


def _round_trip(size: int, count: int) -> float:
    """Seconds per round trip of `size`-byte payloads between two TCP parties of one
    process (the fastest of three runs, each after a warm-up exchange)."""
    from sim.costmodel import CostModel
    from sim.tcp import run_tcp

    payload = np.zeros(size, np.uint8)

    async def ping(party):  # noqa: ANN001, ANN202 - a party program
        await party.send(1, payload)
        await party.recv(1)
        start = party.now()
        for _ in range(count):
            await party.send(1, payload)
            await party.recv(1)
        return (party.now() - start) / count

    async def pong(party):  # noqa: ANN001, ANN202
        for _ in range(count + 1):
            await party.send(0, await party.recv(0))

    graph = nx.complete_graph(2)
    nx.set_edge_attributes(graph, 0.0, "latency")
    nx.set_edge_attributes(graph, 1e12, "bandwidth")
    return min(run_tcp(graph, {0: ping, 1: pong}, cost_model=CostModel.free()).outputs[0]
               for _ in range(3))


SMALL, LARGE = 8, 1 << 20


def message() -> float:
    """CPU per message at one end: a quarter of a small payload's round trip."""
    return _round_trip(SMALL, 1000) / 4


def wire_byte() -> float:
    """CPU per byte at one end: a quarter of what a 1 MiB payload adds to a round trip."""
    return max(0.0, (_round_trip(LARGE, 50) - _round_trip(SMALL, 1000)) / (4 * (LARGE - SMALL)))


MEASURES: dict[str, Callable[[], Measured]] = {
    "ring": ring, "bit": bit, "mod": mod, "scatter": scatter, "madd": madd,
    "ring_madd": ring_madd, "call": call, "bigint": bigint, "message": message,
    "wire_byte": wire_byte,
}
"""The kernel's measures, by operation class."""
