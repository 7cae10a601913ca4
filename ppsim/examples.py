"""``ppsim examples [DIR]``: the example scenarios shipped in the package, copied out.

A pip user has no source tree; the scenarios travel in the package as
``ppsim.scenarios`` (in a source tree, the top-level ``scenarios/`` folder),
and this copies them into a folder of the user's, where they can be run and
edited: ``ppsim examples && ppsim run scenarios/quickstart.toml``.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path


def shipped() -> list[Traversable]:
    """The shipped scenario and sweep files, by name."""
    return sorted((f for f in files("ppsim.scenarios").iterdir() if f.name.endswith(".toml")),
                  key=lambda f: f.name)


def copy(dest: str | Path, force: bool = False) -> list[Path]:
    """Copy every shipped file into `dest` (created if needed); return the files written.

    A file already there with the same content is left alone; one that differs
    (the user's edit) raises FileExistsError naming it, unless `force`, and
    nothing is written then.
    """
    dest = Path(dest)
    sources = shipped()
    changed = [f.name for f in sources
               if (dest / f.name).exists() and (dest / f.name).read_bytes() != f.read_bytes()]
    if changed and not force:
        raise FileExistsError(f"{len(changed)} file(s) in {dest} differ from the shipped ones "
                              f"({', '.join(changed)}); pass --force to overwrite them")
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for f in sources:
        target = dest / f.name
        if not target.exists() or target.read_bytes() != f.read_bytes():
            target.write_bytes(f.read_bytes())
            written.append(target)
    return written
