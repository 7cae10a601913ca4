"""Packaging: the examples ship in the package, the core installs lean, a missing extra
is named, and (slow) a non-editable install runs an example from an empty folder."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

from ppsim import examples
from ppsim.cli import main

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
OPTIONAL = {"pandas", "pyarrow", "matplotlib", "dask", "distributed", "trio"}


def _name(requirement: str) -> str:
    for stop in "<>=!;[ ":
        requirement = requirement.split(stop)[0]
    return requirement.lower()


def test_every_package_on_disk_is_listed_for_the_wheel():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts)
               for top in ("sim", "ppsim", "protocols", "topologies")
               for p in (ROOT / top).rglob("__init__.py")}
    assert listed == on_disk | {"ppsim.scenarios"}
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {"ppsim.scenarios": "scenarios"}


def test_the_core_leaves_the_heavy_optional_dependencies_to_extras():
    project = PYPROJECT["project"]
    core = {_name(r) for r in project["dependencies"]}
    assert not core & OPTIONAL
    extras = project["optional-dependencies"]
    assert {_name(r) for r in extras["sweep"]} == {"pandas", "pyarrow"}
    assert "matplotlib" in {_name(r) for r in extras["plots"]}
    assert "dask" in {_name(r) for r in extras["cluster"]}
    assert {_name(r) for r in extras["tcp"]} == {"trio"}
    assert "ppsim[all]" in extras["test"]  # make test installs what every test needs
    # the CPU-only xgboost where the default wheel bundles NVIDIA NCCL, xgboost elsewhere
    markers = {_name(r): r.split(";")[1].strip() for r in project["dependencies"] if ";" in r}
    assert markers["xgboost-cpu"] == "platform_system == 'Linux' and platform_machine == 'x86_64'"
    assert markers["xgboost"] == "platform_system != 'Linux' or platform_machine != 'x86_64'"


def test_license_changelog_and_type_marker():
    assert PYPROJECT["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "## [0.1.0]" in (ROOT / "CHANGELOG.md").read_text()
    for top in ("sim", "ppsim", "protocols", "topologies"):
        assert (ROOT / top / "py.typed").exists()


def test_the_shipped_examples_are_the_scenarios_folder():
    assert [f.name for f in examples.shipped()] == sorted(
        p.name for p in (ROOT / "scenarios").glob("*.toml"))


def test_examples_copies_them_out_and_keeps_the_users_edits(tmp_path, capsys):
    dest = tmp_path / "mine"
    assert main(["examples", str(dest)]) == 0
    for f in examples.shipped():
        assert (dest / f.name).read_bytes() == (ROOT / "scenarios" / f.name).read_bytes()
    assert main(["examples", str(dest)]) == 0  # again: nothing to do
    assert "0 of" in capsys.readouterr().out.splitlines()[-2]
    edited = dest / "quickstart.toml"
    edited.write_text(edited.read_text() + "# mine\n")
    assert main(["examples", str(dest)]) == 2
    assert "quickstart.toml" in capsys.readouterr().err and edited.read_text().endswith("mine\n")
    assert main(["examples", str(dest), "--force"]) == 0
    assert edited.read_bytes() == (ROOT / "scenarios" / "quickstart.toml").read_bytes()


def _without(modules: list[str], argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run the command line in a fresh interpreter in which `modules` cannot be imported."""
    code = ("import sys\n"
            f"for m in {modules!r}: sys.modules[m] = None\n"
            "from ppsim.cli import main\n"
            f"sys.exit(main({argv!r}))\n")
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize(("missing", "argv", "extra"), [
    (["pandas"], ["run", "scenarios/sweep_sum_topologies.toml", "--out", "out"], "sweep"),
    (["trio"], ["run", "scenarios/quickstart.toml", "--runtime", "tcp", "--out", "out"], "tcp"),
    (["matplotlib"], ["report", "rep"], "plots"),
])
def test_a_missing_extra_is_named(tmp_path, missing, argv, extra):
    examples.copy(tmp_path / "scenarios")
    (tmp_path / "rep").mkdir()
    (tmp_path / "rep" / "report.json").write_text("{}")
    done = _without(missing, argv, tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"pip install 'ppsim[{extra}]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_single_run_imports_no_optional_dependency(tmp_path):
    code = ("import sys\nfrom ppsim.cli import main\n"
            f"code = main(['run', {str(ROOT / 'scenarios' / 'quickstart.toml')!r}, '--quiet', "
            f"'--out', {str(tmp_path)!r}])\n"
            f"print(sorted(m for m in {sorted(OPTIONAL)!r} if m in sys.modules))\n"
            "sys.exit(code)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


@pytest.mark.slow
def test_a_non_editable_install_runs_an_example_from_an_empty_folder(tmp_path):
    """Build the wheel, install it (not editable) into a fresh environment whose other
    packages come from this one, then `ppsim examples` and `ppsim run` in an empty folder."""
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels),
                    str(ROOT)], check=True, timeout=600)
    (wheel,) = wheels.glob("ppsim-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = [n for n in names if n.startswith("ppsim/scenarios/") and n.endswith(".toml")]
    assert len(shipped) == len(list((ROOT / "scenarios").glob("*.toml")))
    assert {"ppsim/py.typed", "sim/py.typed"} <= set(names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)

    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=False)
    here = next(p for p in sys.path if p.endswith("site-packages"))
    (site,) = env_dir.glob("lib/python*/site-packages")
    (site / "deps.pth").write_text(here + "\n")  # numpy & co from this environment
    subprocess.run([sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"),
                    "install", "-q", "--no-deps", str(wheel)], check=True, timeout=600)

    work = tmp_path / "empty"
    work.mkdir()
    bin_dir = env_dir / "bin"
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = subprocess.run([str(bin_dir / "python"), "-c", "import ppsim; print(ppsim.__file__)"],
                           cwd=work, capture_output=True, text=True, env=clean, check=True)
    assert where.stdout.strip().startswith(str(site))  # the installed copy, not the source
    subprocess.run([str(bin_dir / "ppsim"), "examples"], cwd=work, env=clean, check=True)
    run = subprocess.run([str(bin_dir / "ppsim"), "run", "scenarios/quickstart.toml"],
                         cwd=work, env=clean, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert (work / "out" / "quickstart" / "report.json").exists()
