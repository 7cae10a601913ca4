"""The floors of the house: who may import whom, and the public API imports.

* the kernel (`sim/`) and `topologies/` import neither `protocols` nor `ppsim`;
* protocols import the kernel only through its public names (``sim``) and
  `sim.testing`, never the application;
* the application (`ppsim/`) reaches protocols only by name (`ppsim.catalog`),
  never by import;
* every name in a package's ``__all__`` imports.

Imports anywhere in a module count, inside functions too: a lazy import is
still a dependency. The walk is over the source with `ast`, so it needs no
import to succeed.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, dotted module) of every import in the file at `path`."""
    package = list(path.relative_to(root).with_suffix("").parts)[:-1]  # the containing one
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.append((node.lineno, module))
            # `from sim import engine` imports the module sim.engine
            out += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return out


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def allowed(floor: str, module: str) -> bool:
    """Whether code on `floor` (a top-level package) may import `module`."""
    if floor in ("sim", "topologies"):
        return not (_under(module, "protocols") or _under(module, "ppsim"))
    if floor == "protocols":
        if _under(module, "ppsim"):
            return False
        if _under(module, "sim"):
            # the public API (`from sim import Party` names sim.Party, not a module)
            # and the testing module; no deep kernel module
            parts = module.split(".")
            return _under(module, "sim.testing") or (
                len(parts) <= 2 and (len(parts) == 1 or parts[1] not in KERNEL_MODULES))
        return True
    if floor == "ppsim":
        return not _under(module, "protocols")
    return True


KERNEL_MODULES = {p.stem for p in (ROOT / "sim").glob("*.py")} - {"testing", "__init__"} | {"tcp"}


def violations(root: Path) -> list[str]:
    """Every import under `root` that runs against the floors, as ``file:line: module``."""
    out = []
    for floor in ("sim", "topologies", "protocols", "ppsim"):
        for path in sorted((root / floor).rglob("*.py")):
            for line, module in imported(path, root):
                if not allowed(floor, module):
                    out.append(f"{path.relative_to(root)}:{line}: imports {module}")
    return out


def test_no_import_runs_against_the_floors():
    assert violations(ROOT) == []


@pytest.mark.parametrize(("floor", "source", "culprit"), [
    ("sim", "from protocols.sharing import Mpc\n", "protocols.sharing"),
    ("sim", "def f():\n    import ppsim.report\n", "ppsim.report"),
    ("topologies", "from ppsim import catalog\n", "ppsim.catalog"),
    ("protocols", "from sim.engine import simulate\n", "sim.engine"),
    ("protocols", "from sim import engine\n", "sim.engine"),
    ("protocols", "import sim.tcp\n", "sim.tcp"),
    ("protocols", "from ppsim.scenario import load\n", "ppsim.scenario"),
    ("ppsim", "from protocols.xorboost import SPEC\n", "protocols.xorboost"),
    ("ppsim", "from ..protocols import data\n", "protocols.data"),
])
def test_an_upward_import_is_caught(tmp_path, floor, source, culprit):
    """The guard fails when an import runs the wrong way (here planted in a copy)."""
    for name in ("sim", "topologies", "protocols", "ppsim"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / floor / "bad.py").write_text(source)
    found = violations(tmp_path)
    assert len(found) >= 1 and all(culprit in v or "bad.py" in v for v in found), found
    assert any(v.endswith(f"imports {culprit}") for v in found), found


@pytest.mark.parametrize("package", ["sim", "ppsim", "topologies"])
def test_every_public_name_imports(package):
    module = importlib.import_module(package)
    assert module.__all__, f"{package} has no __all__"
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []
    assert sorted(module.__all__) == sorted(set(module.__all__)), "duplicates in __all__"


def test_the_kernel_and_protocols_load_without_the_application():
    """Importing the kernel or a protocol loads no `ppsim` module (a fresh interpreter)."""
    import subprocess
    import sys

    code = ("import sys, sim, sim.testing, protocols.xorboost, protocols.federated, "
            "protocols.sharing.demos, protocols.ppxgboost, protocols.parallel; "
            "print([m for m in sys.modules if m == 'ppsim' or m.startswith('ppsim.')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"


TEST_TOOLS = ("pytest", "hypothesis", "_pytest")
TOOL_MODULES = {"sim/testing/plugin.py", "sim/testing/strategies.py"}


def test_only_the_plugin_and_the_strategies_import_test_tools():
    """pytest and hypothesis stay out of the kernel, so `import sim` stays lean."""
    found = [f"{path.relative_to(ROOT)}:{line}: imports {module}"
             for floor in ("sim", "topologies", "protocols", "ppsim")
             for path in sorted((ROOT / floor).rglob("*.py"))
             if str(path.relative_to(ROOT)) not in TOOL_MODULES
             for line, module in imported(path, ROOT)
             if any(_under(module, tool) for tool in TEST_TOOLS)]
    assert found == []


def test_the_testing_module_loads_no_test_tool():
    import subprocess
    import sys

    code = ("import sys, sim, sim.testing; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'pytest', 'hypothesis'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"
