"""Checks for protocol tests: costs per phase, and what a party's view looks like.

* `assert_costs(out, phase, rounds=..., bytes=...)`: a phase's (or the run's)
  measured figures equal the ones expected, say from a formula in a paper.
* `assert_view_uniform(out, party)`: every array `party` received looks
  uniformly random, the leakage check the shipped protocols' tests run: shares
  and masked openings are uniform whatever the inputs, so with inputs that are
  far from uniform (zeros, tiny values) anything unmasked shows as a biased bit.
* `looks_uniform(values)`, `bits_balanced`, `chi_square_uniform`: the
  statistical tests behind it, for arrays a test builds itself.

Each test allows `sigmas` standard deviations (default 6: a false alarm about
once in 10^9 per bit position), so a test over many positions and runs stays
far below one false alarm in 10^5.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

SIGMAS = 6.0
_CHUNK = 1 << 16


def _report(run_or_report: Any) -> Mapping[str, Any]:
    return getattr(run_or_report, "report", run_or_report)


def assert_costs(run_or_report: Any, phase: str | None = None, **expected: Any) -> None:
    """Assert measured costs of a run: of phase `phase`, or with no phase of the whole
    run (the report's ``totals``).

    Args:
        run_or_report: a `sim.testing.Outcome` or a report dict (``report.json``).
        phase: a phase name, as given to ``party.phase(...)``.
        expected: figures of the phase row (``rounds``, ``bytes``, ``messages``,
            ``sim_time_s``, ...) or of the totals.

    Raises:
        AssertionError: naming each figure that differs, with both values.
    """
    report = _report(run_or_report)
    if phase is None:
        row, where = report["totals"], "the run's totals"
    else:
        rows = {p["name"]: p for p in report["phases"]}
        if phase not in rows:
            raise AssertionError(f"no phase {phase!r}; the run's phases: {', '.join(rows)}")
        row, where = rows[phase], f"phase {phase!r}"
    unknown = sorted(set(expected) - set(row))
    if unknown:
        raise KeyError(f"{where} has no {', '.join(unknown)}; it has {', '.join(row)}")
    wrong = [f"{key} = {row[key]!r}, expected {want!r}"
             for key, want in expected.items() if row[key] != want]
    if wrong:
        raise AssertionError(f"{where}: " + "; ".join(wrong))


def chi_square_uniform(values: np.ndarray, bins: int, sigmas: float = SIGMAS) -> bool:
    """Whether integers in ``0..bins-1`` fill the bins evenly: Pearson's chi-square
    against uniform, within `sigmas` of its mean by the normal approximation."""
    values = np.asarray(values).ravel()
    counts = np.bincount(values.astype(np.int64), minlength=bins)
    expected = values.size / bins
    stat = ((counts - expected) ** 2 / expected).sum()
    return bool(stat <= (bins - 1) + sigmas * np.sqrt(2 * (bins - 1)))


def bit_frequencies(values: np.ndarray) -> np.ndarray:
    """For integer arrays, the fraction of values with each bit set (least significant
    first, as many as the dtype has); for booleans, one frequency."""
    values = np.asarray(values).ravel()
    if values.dtype == np.bool_:
        return np.array([values.mean()])
    if values.dtype.kind not in "ui":
        raise TypeError(f"bit frequencies need integers or booleans, got {values.dtype}")
    width = values.dtype.itemsize
    counts = np.zeros(8 * width, np.int64)
    for start in range(0, values.size, _CHUNK):  # bounded memory: 8 bytes per bit per chunk
        raw = np.ascontiguousarray(values[start:start + _CHUNK]).view(np.uint8)
        bits = np.unpackbits(raw.reshape(-1, width), axis=1, bitorder="little")
        counts += bits.sum(axis=0, dtype=np.int64)
    return counts / max(values.size, 1)


def bits_balanced(values: np.ndarray, sigmas: float = SIGMAS) -> bool:
    """Whether every bit position is set in half of the values, within `sigmas`
    binomial standard deviations: what uniform ring elements or XOR bits look like."""
    values = np.asarray(values)
    freq = bit_frequencies(values)
    return bool(np.all(np.abs(freq - 0.5) <= sigmas * 0.5 / np.sqrt(max(values.size, 1))))


def looks_uniform(values: np.ndarray, modulus: int | None = None,
                  sigmas: float = SIGMAS) -> bool:
    """Whether `values` look uniform: booleans fair; integers uniform over their
    dtype (every bit balanced, low byte even) or, with `modulus`, over
    ``0..modulus-1`` (high and low byte even: field elements)."""
    values = np.asarray(values).ravel()
    if values.dtype == np.bool_:
        return bits_balanced(values, sigmas)
    low = values.astype(np.uint64) & np.uint64(255)
    if modulus is None:
        return bits_balanced(values, sigmas) and chi_square_uniform(low, 256, sigmas)
    high = np.minimum((values.astype(np.float64) * (256 / modulus)).astype(np.int64), 255)
    return chi_square_uniform(high, 256, sigmas) and chi_square_uniform(low, 256, sigmas)


def _arrays(payload: Any) -> Iterator[np.ndarray]:
    if isinstance(payload, np.ndarray):
        yield payload
    elif isinstance(payload, tuple | list):
        for item in payload:
            yield from _arrays(item)
    elif isinstance(payload, dict):
        for item in payload.values():
            yield from _arrays(item)


def view_arrays(run: Any, party: int, phases: Iterable[str] | None = None,
                exclude: Iterable[str] = ()) -> list[tuple[str, np.ndarray]]:
    """(phase, array) for every numpy array `party` received (inside tuples, lists
    and dicts too), in order; only `phases` if given, never those in `exclude`.
    `run` is a `sim.testing.Outcome` or a `sim.RunResult` that recorded views
    (``record_views=True``)."""
    keep = None if phases is None else set(phases)
    drop = set(exclude)
    views = run.views if hasattr(run, "views") else run.ledger.views
    if views is None:
        raise ValueError("views were not recorded: run with record_views=True")
    return [(entry.phase, array) for entry in views[party]
            if (keep is None or entry.phase in keep) and entry.phase not in drop
            for array in _arrays(entry.payload)]


def assert_view_uniform(run: Any, party: int, *, phases: Iterable[str] | None = None,
                        exclude: Iterable[str] = (), modulus: int | None = None,
                        min_elements: int = 1000, sigmas: float = SIGMAS) -> None:
    """Assert that every array `party` received looks uniformly random.

    Integer arrays are pooled by dtype and judged with `looks_uniform` (over the
    dtype's range, or ``0..modulus-1`` with `modulus`: field elements); boolean
    arrays must be fair bits. Any other array (floats: plaintext reals) fails.
    Values that are public by design (agreed ids, the revealed result) belong to
    phases left out with `exclude` or `phases`. Use inputs far from uniform, so
    that anything unmasked shows.

    Raises:
        AssertionError: naming the dtype and the bit frequencies that are off, a
            non-integer array, or fewer than `min_elements` values to judge
            (a vacuous check passes nothing).
    """
    pools: dict[np.dtype, list[np.ndarray]] = {}
    for phase, array in view_arrays(run, party, phases, exclude):
        if array.dtype != np.bool_ and array.dtype.kind not in "ui":
            raise AssertionError(f"party {party} received {array.dtype} values in phase "
                                 f"{phase!r}: plaintext, not shares or masked values")
        pools.setdefault(array.dtype, []).append(array.ravel())
    total = sum(a.size for arrays in pools.values() for a in arrays)
    if total < min_elements:
        raise AssertionError(f"party {party} received {total} values to judge, fewer than "
                             f"min_elements = {min_elements}: use longer inputs")
    for dtype, arrays in pools.items():
        values = np.concatenate(arrays)
        if not looks_uniform(values, None if dtype == np.bool_ else modulus, sigmas):
            freq = bit_frequencies(values)
            off = np.flatnonzero(np.abs(freq - 0.5) > sigmas * 0.5 / np.sqrt(values.size))
            detail = (f"bits {off.tolist()[:8]} set in {np.round(freq[off[:8]], 3).tolist()} "
                      "of the values" if off.size and modulus is None
                      else "values unevenly spread")
            raise AssertionError(f"party {party} received {values.size} {dtype} values that "
                                 f"do not look uniform: {detail}")
