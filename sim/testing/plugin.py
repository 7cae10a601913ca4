"""ppsim's pytest plugin, on wherever ppsim is installed (entry point ``pytest11``).

Fixtures:

* ``ppsim_runtime``: ``"sim"`` and then ``"tcp"``: a test that takes it runs on
  both runtimes, the same body. ``--ppsim-runtime sim`` (or ``tcp``) keeps one.
* ``ppsim_run``: `sim.testing.run` on that runtime (for plain tests).
* ``ppsim_arun``: `sim.testing.arun` on that runtime (for pytest-trio tests,
  ``async def`` marked ``@pytest.mark.trio``, where TCP runs in the test's loop).

The fixtures are session-scoped, so hypothesis tests may take them. Loading the
plugin loads `sim` (about 0.3 s at pytest's start), not hypothesis.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest

from sim.testing import RUNTIMES, arun, run


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--ppsim-runtime", choices=RUNTIMES, action="append", default=None,
                     help="ppsim: run tests that take ppsim_runtime on this runtime only "
                          "(repeatable; default: both)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "ppsim_runtime" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--ppsim-runtime") or RUNTIMES
        metafunc.parametrize("ppsim_runtime", list(chosen), indirect=True, scope="session")


@pytest.fixture(scope="session")
def ppsim_runtime(request: pytest.FixtureRequest) -> str:
    """The runtime of this test's run: "sim" (simulator) or "tcp" (loopback sockets)."""
    return request.param


@pytest.fixture(scope="session")
def ppsim_run(ppsim_runtime: str) -> Callable[..., Any]:
    """`sim.testing.run` bound to ``runtime=ppsim_runtime``."""
    return functools.partial(run, runtime=ppsim_runtime)


@pytest.fixture(scope="session")
def ppsim_arun(ppsim_runtime: str) -> Callable[..., Any]:
    """`sim.testing.arun` bound to ``runtime=ppsim_runtime`` (await it in trio tests)."""
    return functools.partial(arun, runtime=ppsim_runtime)
