"""Finding a protocol by name: installed entry points or a ``module:attr`` path.

A scenario's ``[protocol] name`` is either

* a registered name: an entry point of the group ``ppsim.protocols`` that an
  installed package declares (ppsim declares its own protocols this way, in
  ``pyproject.toml``), whose object is a `sim.ProtocolSpec`; or
* ``"package.module:attr"``: the `ProtocolSpec` at that attribute, imported on
  demand. The module may sit beside the scenario file (``dot.py`` next to
  ``dot.toml``, or a package folder there), as a module beside a script is
  found first; otherwise it must be importable (installed, or on ``PYTHONPATH``).

Wire profiles (`sim.Profile`, a scenario's ``[network] profile``) are found the
same way, in the entry point group ``ppsim.profiles``; ``ppsim calibrate`` finds
the measures protocol packages offer in the group ``ppsim.calibration``.

Nothing registers itself on import, so a worker process (a sweep's pool, a Dask
worker, a TCP party process) finds a protocol by importing what its name says,
from the scenario file's folder when the module is there: every process that
loads the scenario derives that folder from the file's path, so nothing relies
on what a parent process had imported (a remote Dask worker needs the folder
at the same path, or the package installed).
"""

from __future__ import annotations

import difflib
import importlib
import sys
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from sim import DEFAULT_PROFILE, Profile, ProtocolSpec

GROUP = "ppsim.protocols"
PROFILE_GROUP = "ppsim.profiles"
CALIBRATION_GROUP = "ppsim.calibration"


class UnknownProtocol(ValueError):
    """A protocol (or wire profile) name that names none; the message says what is known."""


@cache
def registered(group: str = GROUP) -> dict[str, EntryPoint]:
    """The entry points installed packages declare in `group`, by name (not loaded)."""
    return {ep.name: ep for ep in entry_points(group=group)}


def names() -> list[str]:
    """The registered protocol names, sorted (without importing them)."""
    return sorted(registered())


def find(name: str, folder: str | Path | None = None) -> ProtocolSpec:
    """The protocol `name` names (see the module docstring); `folder` is the scenario
    file's, where a ``module:attr`` name's module is looked for first."""
    return _find(name, GROUP, ProtocolSpec, "protocol", folder)


def suggest(word: str, candidates: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the candidate closest to `word`, or nothing."""
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def known() -> dict[str, ProtocolSpec]:
    """Every registered protocol, by name (imports them)."""
    return {name: find(name) for name in names()}


def profile_names() -> list[str]:
    """The wire profiles a scenario may name: ``ppsim`` and the registered ones."""
    return [DEFAULT_PROFILE.name, *sorted(registered(PROFILE_GROUP))]


def profile(name: str, folder: str | Path | None = None) -> Profile:
    """The wire profile `name` names: ``ppsim`` (the default), an entry point of the
    group ``ppsim.profiles`` (ppsim declares ``flower-1.42`` and ``mpyc-0.11`` there), or a
    ``"package.module:attr"`` path to a `sim.Profile` (found as a protocol's is)."""
    if name == DEFAULT_PROFILE.name:
        return DEFAULT_PROFILE
    return _find(name, PROFILE_GROUP, Profile, "wire profile", folder)


def _find(name: str, group: str, cls: type, what: str, folder: str | Path | None) -> Any:
    if ":" in name:
        return _from_path(name, cls, what, Path(folder) if folder is not None else None)
    ep = registered(group).get(name)
    if ep is None:
        listed = profile_names() if cls is Profile else names()
        known_ = ", ".join(listed) or "none (is ppsim installed? pip install -e .)"
        raise UnknownProtocol(f"unknown {what} {name!r}{suggest(name, listed)}; known {what}s: "
                              f"{known_}; or name one as 'package.module:attr'")
    return _checked(ep.load(), f"entry point {name!r} ({ep.value})", name, cls)


def _from_path(path: str, cls: type, what: str, folder: Path | None) -> Any:
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise UnknownProtocol(f"{what} {path!r}: expected 'package.module:attr'")
    top = module_name.partition(".")[0]
    if folder is not None and ((folder / f"{top}.py").is_file() or (folder / top).is_dir()):
        _import_from(folder, top, f"{what} {path!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        where = f" (looked beside the scenario, in {folder})" if folder is not None else ""
        raise UnknownProtocol(f"{what} {path!r}: cannot import {module_name!r}{where}: "
                              f"{exc}") from None
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UnknownProtocol(f"{what} {path!r}: module {module_name!r} has no {attr!r}")
        obj = getattr(obj, part)
    return _checked(obj, f"{what} {path!r}", None, cls)


def _import_from(folder: Path, top: str, what: str) -> None:
    """Import the top-level module `top` from `folder`, which stays on ``sys.path``
    (first, as a script's folder) for the module's own imports."""
    folder = folder.resolve()
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    module = sys.modules.get(top)
    if module is None:
        importlib.invalidate_caches()
        try:
            module = importlib.import_module(top)
        except ImportError:
            return  # the import in _from_path reports it
    origin = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", [])), "")
    if origin and folder not in Path(origin).resolve().parents:
        raise UnknownProtocol(f"{what}: this process already imported {top!r} from "
                              f"{Path(origin).parent}, not from the scenario's folder {folder}; "
                              f"rename one of them")


def _checked(obj: object, where: str, name: str | None, cls: type) -> Any:
    if not isinstance(obj, cls):
        raise UnknownProtocol(f"{where} is a {type(obj).__name__}, not a sim.{cls.__name__}")
    if name is not None and obj.name != name:
        raise UnknownProtocol(f"{where} is registered as {name!r} but is named {obj.name!r}")
    return obj
