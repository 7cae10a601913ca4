"""Protocols from anywhere: the example package (examples/dot_product, installed by `make`)
and a module beside a scenario file run from scenarios, in sweeps on spawned workers and on
a Dask cluster, on the TCP runtime and as one process per party; `ppsim new` writes the
example; parameters are discoverable."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ppsim import catalog, from_dict, run_scenario, run_scenario_tcp
from ppsim.cli import main
from ppsim.scaffold import ScaffoldError, new_protocol, render

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "dot_product"
BUILT = ("egg-info", "__pycache__", "out")  # and hidden folders (caches)


def _ppsim(*args: str, cwd: Path, spawn: bool = False, timeout: float = 300) -> str:
    """Run the command line in a fresh interpreter; with `spawn`, worker processes start
    by spawning (nothing inherited from the parent's memory), as on macOS and Windows."""
    start = "import multiprocessing as mp; mp.set_start_method('spawn'); " if spawn else ""
    code = f"{start}import sys; from ppsim.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "COLUMNS": "120"})
    assert proc.returncode == 0, (args, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc.stdout


def _costs(rep: dict) -> dict:
    """What the protocol cost: equal whichever way it was named and run."""
    return {"totals": {k: v for k, v in rep["totals"].items() if k != "sim_time_s"},
            "phases": [{k: v for k, v in p.items() if k in ("name", "bytes", "messages",
                                                            "rounds")} for p in rep["phases"]]}


@pytest.fixture
def beside(tmp_path: Path) -> Path:
    """A protocol module that is installed nowhere, beside its scenario and sweep files:
    the `ppsim new` skeleton under the name `beside_dot`, and a sweep naming both it and
    the installed example."""
    new_protocol("beside_dot", tmp_path / "proj")
    (tmp_path / "proj" / "both.toml").write_text(textwrap.dedent("""\
        seed = 3
        [protocol]
        name = "dot_product"
        vector_length = 50
        [topology]
        kind = "complete"
        [sweep]
        "protocol.name" = ["dot_product", "beside_dot:SPEC"]
        "protocol.parties" = [2, 3]
        """))
    return tmp_path / "proj"


def _points(out: Path) -> dict[tuple[str, int], dict]:
    reports = [json.loads(p.read_text()) for p in out.glob("points/*/report.json")]
    return {(r["sweep"]["params"]["protocol.name"], r["sweep"]["params"]["protocol.parties"]):
            r for r in reports}


def _same_protocol_under_both_names(points: dict) -> None:
    assert len(points) == 4
    for parties in (2, 3):
        a, b = points[("dot_product", parties)], points[("beside_dot:SPEC", parties)]
        assert a["result_check"]["ok"] and b["result_check"]["ok"] and _costs(a) == _costs(b)
        assert a["sweep"]["seed"] != b["sweep"]["seed"]  # the name is one of the values


def test_the_example_is_installed_and_is_what_ppsim_new_writes():
    try:
        spec = catalog.find("dot_product")
    except catalog.UnknownProtocol:
        pytest.fail("examples/dot_product is not installed: run make, which runs "
                    "pip install -e examples/dot_product")
    assert spec.name == "dot_product"
    module = sys.modules[spec.params.__module__]
    assert Path(module.__file__).resolve().parent.parent == EXAMPLE, (
        "the installed dot_product is not examples/dot_product; run make (pip install -e "
        "examples/dot_product)")
    shipped = {p.relative_to(EXAMPLE): p.read_text() for p in EXAMPLE.rglob("*")
               if p.is_file() and not any(part.endswith(BUILT) or part.startswith(".")
                                          for part in p.relative_to(EXAMPLE).parts)}
    assert shipped == render("dot_product")


def test_an_entry_point_and_a_module_path_name_the_same_protocol(tmp_path):
    def report(name: str) -> dict:
        data = {"seed": 2, "protocol": {"name": name, "parties": 4, "vector_length": 30},
                "topology": {"kind": "star"}}
        return run_scenario(from_dict(data, str(tmp_path / "s.toml")))

    a, b = report("dot_product"), report("dot_product:SPEC")
    assert a["result_check"]["ok"]
    for rep in (a, b):
        rep.pop("wall_time_s")
        rep["scenario"]["protocol"].pop("name")
    assert a == b
    data = {"seed": 2, "protocol": {"name": "dot_product", "parties": 4, "vector_length": 30},
            "topology": {"kind": "star"}}
    real = run_scenario_tcp(from_dict(data, str(tmp_path / "s.toml")))
    assert real["runtime"] == "tcp" and real["result_check"] == a["result_check"]
    assert _costs(real) == _costs(a)


def test_a_sweep_on_spawned_workers_finds_both(beside, tmp_path):
    _ppsim("run", "both.toml", "--jobs", "2", "--out", str(tmp_path / "out"), "--quiet",
           cwd=beside, spawn=True)
    _same_protocol_under_both_names(_points(tmp_path / "out"))


def test_a_sweep_on_a_dask_cluster_finds_both(beside, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        _ppsim("run", "both.toml", "--cluster", cluster.scheduler_address, "--out",
               str(tmp_path / "out"), "--quiet", cwd=beside)
    _same_protocol_under_both_names(_points(tmp_path / "out"))


def test_the_tcp_runtime_and_one_process_per_party_find_the_module(beside, tmp_path):
    scenario = beside / "beside_dot.toml"  # names "beside_dot:SPEC", the module beside it
    _ppsim("run", scenario.name, "--runtime", "tcp", "--out", str(tmp_path / "tcp"), "--quiet",
           cwd=beside)
    in_process = json.loads((tmp_path / "tcp" / "report.json").read_text())
    assert in_process["runtime"] == "tcp" and in_process["result_check"]["ok"]
    socks = [socket.create_server(("127.0.0.1", 0)) for _ in range(4)]  # 3 players, a dealer
    hosts = ",".join(f"127.0.0.1:{s.getsockname()[1]}" for s in socks)
    for s in socks:
        s.close()
    key = tmp_path / "run.key"
    key.write_text(_ppsim("key", cwd=tmp_path))
    code = "import sys; from ppsim.cli import main; sys.exit(main(sys.argv[1:]))"
    procs = [subprocess.Popen([sys.executable, "-c", code, "party", str(scenario), "--id",
                               str(pid), "--hosts", hosts, "--timeout", "30", "--key-file",
                               str(key), "--out", str(tmp_path / f"p{pid}")], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for pid in range(4)]
    errors = [proc.communicate(timeout=120)[1] for proc in procs]
    assert [p.returncode for p in procs] == [0] * 4, errors
    for pid in range(4):
        rep = json.loads((tmp_path / f"p{pid}" / "report.json").read_text())
        assert _costs(rep) == _costs(in_process)
        if pid == 0:  # the result is party 0's output: its process checks it
            # Separate processes draw shares from the OS (`TcpParty`'s os_random), so the
            # truncation's last-bit error may differ from the in-process run's; the inputs
            # and the check's bound do not.
            check, ref = rep["result_check"], in_process["result_check"]
            assert check["ok"] and check["expected"] == ref["expected"]
            assert abs(check["value"] - ref["value"]) <= 2 * ref["bound"]
        else:
            assert rep["result_held_by"] == [0]


def test_a_module_elsewhere_is_an_error_that_says_where_it_looked(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text('[protocol]\nname = "nowhere_dot:SPEC"\n[topology]\nkind = "star"\n')
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "cannot import 'nowhere_dot'" in err and str(tmp_path) in err


def test_list_params_prints_type_default_and_description(capsys):
    assert main(["list", "--params", "secure_mul_cmp"]) == 0
    out = capsys.readouterr().out
    for text in ("parties", "int in [2, 64]", "Players computing", "(formerly",
                 "vector_length", "1_000"):
        assert text in out, text
    assert main(["list", "--params", "secure_mul"]) == 2
    assert "did you mean 'secure_mul_cmp'" in capsys.readouterr().err


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("ppsim ")


@pytest.mark.parametrize(("name", "words"), [
    ("Dot", "lower-case Python identifier"), ("2dot", "lower-case Python identifier"),
    ("json", "is taken"), ("sim", "is taken")])
def test_new_refuses_bad_names(tmp_path, name, words):
    with pytest.raises(ScaffoldError, match=words):
        new_protocol(name, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_new_never_overwrites(tmp_path, capsys):
    assert main(["new", "protocol", "my_dot", str(tmp_path / "p")]) == 0
    before = (tmp_path / "p" / "my_dot.toml").read_text()
    (tmp_path / "p" / "my_dot" / "__init__.py").write_text("# mine\n")
    assert main(["new", "protocol", "my_dot", str(tmp_path / "p")]) == 2
    assert "exists; choose an empty folder" in capsys.readouterr().err
    assert (tmp_path / "p" / "my_dot" / "__init__.py").read_text() == "# mine\n"
    assert (tmp_path / "p" / "my_dot.toml").read_text() == before
