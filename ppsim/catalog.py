"""Finding a protocol by name: installed entry points or a ``module:attr`` path.

A scenario's ``[protocol] name`` is either

* a registered name: an entry point of the group ``ppsim.protocols`` that an
  installed package declares (ppsim declares its own protocols this way, in
  ``pyproject.toml``), whose object is a `sim.ProtocolSpec`; or
* ``"package.module:attr"``: the `ProtocolSpec` at that attribute, imported on
  demand (the module must be importable: installed, or on ``PYTHONPATH``).

Nothing registers itself on import, so a worker process (a sweep's pool, a Dask
worker, a TCP party process) finds a protocol by importing what its name says.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points

from sim import ProtocolSpec

GROUP = "ppsim.protocols"


class UnknownProtocol(ValueError):
    """A protocol name that names no protocol; the message says what is known."""


@cache
def _entry_points() -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def names() -> list[str]:
    """The registered protocol names, sorted (without importing them)."""
    return sorted(_entry_points())


def find(name: str) -> ProtocolSpec:
    """The protocol `name` names (see the module docstring)."""
    if ":" in name:
        return _from_path(name)
    ep = _entry_points().get(name)
    if ep is None:
        known = ", ".join(names()) or "none (is ppsim installed? pip install -e .)"
        raise UnknownProtocol(f"unknown protocol {name!r}; known protocols: {known}; "
                              "or name one as 'package.module:attr'")
    return _checked(ep.load(), f"entry point {name!r} ({ep.value})", name)


def known() -> dict[str, ProtocolSpec]:
    """Every registered protocol, by name (imports them)."""
    return {name: find(name) for name in names()}


def _from_path(path: str) -> ProtocolSpec:
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise UnknownProtocol(f"protocol {path!r}: expected 'package.module:attr'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UnknownProtocol(f"protocol {path!r}: cannot import {module_name!r}: {exc}") from None
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UnknownProtocol(f"protocol {path!r}: module {module_name!r} has no {attr!r}")
        obj = getattr(obj, part)
    return _checked(obj, f"protocol {path!r}", None)


def _checked(obj: object, where: str, name: str | None) -> ProtocolSpec:
    if not isinstance(obj, ProtocolSpec):
        raise UnknownProtocol(f"{where} is a {type(obj).__name__}, not a sim.ProtocolSpec")
    if name is not None and obj.name != name:
        raise UnknownProtocol(f"{where} is registered as {name!r} but its spec is named "
                              f"{obj.name!r}")
    return obj
