"""``ppsim new protocol NAME [DIR]``: a new protocol's folder, ready to run and test.

The files come from ``ppsim/templates/protocol`` (a secure dot product, the one
``docs/writing-a-protocol.md`` walks through): the protocol module, a scenario,
a sweep, property tests and a ``pyproject.toml`` that declares the protocol as
an entry point of ``ppsim.protocols``. ``${name}`` in a template's path or text
becomes NAME, ``${Name}`` its CamelCase form (for class names).
"""

from __future__ import annotations

import keyword
import sys
from pathlib import Path
from string import Template

TEMPLATES = Path(__file__).parent / "templates" / "protocol"
SUFFIX = ".tmpl"
TAKEN = {"sim", "ppsim", "protocols", "topologies", "tests"}


class ScaffoldError(ValueError):
    """NAME or DIR cannot take a new protocol; the message says why."""


def check_name(name: str) -> None:
    """A protocol name must be a module name that shadows nothing it will import."""
    if not name.isidentifier() or keyword.iskeyword(name) or not name.islower():
        raise ScaffoldError(f"protocol name {name!r}: expected a lower-case Python identifier "
                            "(letters, digits, underscores), e.g. 'dot_product'")
    if name in sys.stdlib_module_names or name in TAKEN:
        raise ScaffoldError(f"protocol name {name!r} is taken (a standard-library module or "
                            "one of ppsim's packages); choose another")


def render(name: str) -> dict[Path, str]:
    """The new folder's files, by path relative to it."""
    check_name(name)
    words = {"name": name, "Name": "".join(w.capitalize() for w in name.split("_"))}
    out = {}
    for template in sorted(TEMPLATES.rglob(f"*{SUFFIX}")):
        relative = template.relative_to(TEMPLATES).as_posix().removesuffix(SUFFIX)
        out[Path(Template(relative).substitute(words))] = Template(
            template.read_text()).substitute(words)
    return out


def new_protocol(name: str, folder: str | Path) -> list[Path]:
    """Write the files for protocol `name` into `folder`; return their paths.

    Refuses to overwrite: if any of the files exists, nothing is written.
    """
    files = render(name)
    folder = Path(folder)
    existing = [str(folder / p) for p in files if (folder / p).exists()]
    if existing:
        raise ScaffoldError(f"{existing[0]} exists; choose an empty folder "
                            f"({len(existing)} of the {len(files)} files are there)")
    written = []
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written
