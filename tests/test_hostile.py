"""Hostile input: every malformed file or option is one clear error, in bounded time.

Each case writes files into a fresh folder, runs the command line in this
process and asserts the exit code (2: bad input, nothing ran), that the message
names the key (or option) and the offending value, that there is no traceback,
and that nothing of a file that should stay private (the password file, the
environment) appears in the output. The battery stands for the cases of issue
15 and more; `test_the_battery_is_large` keeps it at 60 cases or more.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from ppsim.cli import main

SUM = """seed = 3
[protocol]
name = "secure_sum"
parties = 4
vector_length = 8
[topology]
kind = "star"
latency = 0.001
bandwidth = 1e6
"""

XOR = """seed = 1
[protocol]
name = "xorboost"
dataset = "d.csv"
label = "y"
owners = 2
n_estimators = 1
max_depth = 2
max_bin = 4
[topology]
kind = "complete"
latency = 0.001
bandwidth = 1e8
"""

PPX = """seed = 1
[protocol]
name = "ppxgboost"
queries = 2
batch = 2
n_estimators = 2
key_bits = 1024
[topology]
kind = "star"
hub = 1
latency = 0.001
bandwidth = 1e8
"""

SWEEP = SUM + "[sweep]\n"


def _csv(rows: int = 40, label: str = "y", extra: str = "") -> str:
    rng = np.random.default_rng(0)
    lines = [f"a,b,{label}"]
    for i in range(rows):
        lines.append(f"{rng.normal():.3f},{rng.normal():.3f},{i % 2}")
    return "\n".join(lines) + "\n" + extra


def _sub(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


RUN = ["run", "{s}", "--out", "{o}"]
VALIDATE = ["validate", "{s}"]


@dataclass
class Case:
    name: str
    files: dict[str, str | bytes]
    needles: tuple[str, ...]
    argv: list[str] = field(default_factory=lambda: list(VALIDATE))
    code: int = 2
    also_run: bool = True  # the same file through `ppsim run` too
    private: bool = True  # no secret may show (unless the user allowed the file)


def case(name: str, scenario: str | bytes, *needles: str, **options) -> Case:
    files = {"s.toml": scenario, **options.pop("files", {})}
    return Case(name, files, needles, **options)


CASES = [
    # -- the file itself
    case("not UTF-8 in a comment", SUM.encode() + b"# caf\xe9\n", "line 10", "0xe9", "UTF-8"),
    case("latin-1 value", _sub(SUM, "kind = \"star\"", "kind = \"st\xe4r\"").encode("latin-1"),
         "line 7", "0xe4"),
    case("NUL byte", SUM.encode() + b"x = \x00\n", "line 10", "TOML"),
    case("20,000 nested arrays", SUM + "deep = " + "[" * 20_000 + "]" * 20_000 + "\n",
         "deep", "nested more than 32 deep", "line 10"),
    case("500 nested inline tables", SUM + "t = " + "{a = " * 500 + "1" + "}" * 500 + "\n",
         "line 10", "nested more than 32"),
    case("deep nesting inside the protocol", _sub(SUM, "vector_length = 8",
         "vector_length = " + "[" * 100 + "]" * 100), "[protocol.vector_length]", "line 5"),
    case("duplicate key", _sub(SUM, "parties = 4", "parties = 4\nparties = 5"),
         "line 5", "parties = 5", "Cannot overwrite"),
    case("duplicate table", SUM + "[protocol]\nname = 'x'\n", "line 10", "[protocol]"),
    case("not TOML", "seed = = 3\n", "not valid TOML", "line 1", "seed = = 3"),
    case("empty file", "", "[protocol] missing"),
    case("a binary file", bytes(range(256)) * 4, "UTF-8"),
    case("a file too large", SUM + "# " + "x" * (5 << 20) + "\n", "bytes", "at most"),
    case("a directory", "", "not a regular file", argv=["validate", "{d}"], also_run=False),
    # -- numbers
    case("latency = inf", _sub(SUM, "latency = 0.001", "latency = inf"),
         "[topology.latency]", "got inf", "finite"),
    case("bandwidth = nan", _sub(SUM, "bandwidth = 1e6", "bandwidth = nan"),
         "[topology.bandwidth]", "got nan"),
    case("value_range = inf", _sub(SUM, "parties = 4", "parties = 4\nvalue_range = inf"),
         "[protocol.value_range]", "inf"),
    case("value_range = -inf", _sub(SUM, "parties = 4", "parties = 4\nvalue_range = -inf"),
         "[protocol.value_range]", "-inf"),
    case("element time = inf", SUM + "[cost]\nelement_time_s = inf\n",
         "[cost.element_time_s]", "inf"),
    case("crash at inf", SUM + "[[faults]]\nkind = 'crash'\nparty = 1\nat = inf\n",
         "[faults[0].at]", "inf"),
    case("delay of nan", SUM + "[[faults]]\nkind = 'delay'\nlink = [0, 1]\nseconds = nan\n",
         "[faults[0].seconds]", "nan"),
    case("drop probability nan", SUM + "[[faults]]\nkind='drop'\nlink=[0,1]\nprobability=nan\n",
         "[faults[0].probability]", "nan"),
    case("reveal timeout inf", _sub(SUM, "parties = 4", "parties = 4\nscheme = 'shamir'\n"
         "reveal_timeout_s = inf"), "[protocol.reveal_timeout_s]", "inf"),
    case("secagg timeout inf", "[protocol]\nname='secagg'\nclients=3\ntimeout=inf\n"
         "[topology]\nkind='star'\n", "[protocol.timeout]", "inf"),
    case("learning rate inf", _sub(XOR, "max_bin = 4", "max_bin = 4\nlearning_rate = inf"),
         "[protocol.learning_rate]", "inf", files={"d.csv": _csv()}),
    case("a cost constant inf", _sub(PPX, "key_bits = 1024", "key_bits = 1024\n"
         "paillier_encrypt_s = inf"), "[protocol.paillier_encrypt_s]", "inf"),
    case("inf inside a list", _sub(XOR, "owners = 2", "owners = 2\nfractions = [0.5, inf]"),
         "[protocol.fractions[1]]", "inf", files={"d.csv": _csv()}),
    case("inf in a topology option", SUM.replace("star", "two_level") + "groups = 2\n"
         "inner_latency = inf\n", "[topology.inner_latency]", "inf"),
    case("header of 2^40 bytes", SUM + "[network]\nheader_bytes = 1099511627776\n",
         "[network.header_bytes]", "1099511627776"),
    case("seed as a float", _sub(SUM, "seed = 3", "seed = 3.5"), "[seed]", "3.5"),
    case("parties = 1e9", _sub(SUM, "parties = 4", "parties = 1e9"), "[protocol.parties]",
         "1000000000.0"),
    # -- sizes: memory, ring, keys
    case("sum needs TiB", _sub(_sub(SUM, "parties = 4", "parties = 1000"), "vector_length = 8",
         "vector_length = 1000000"), "[protocol]", "parties = 1000",
         "vector_length = 1000000", "TiB", "this machine has"),
    case("sum needs more than --memory-limit", SUM.replace("vector_length = 8",
         "vector_length = 100000"), "[protocol]", "vector_length = 100000", "the limit is 1.0 MiB",
         argv=["validate", "{s}", "--memory-limit", "1M"]),
    case("xorboost n_samples = 1e12", "[protocol]\nname='xorboost'\ndataset='synthetic'\n"
         "n_samples=1000000000000\n[topology]\nkind='complete'\n", "[protocol]",
         "n_samples = 1000000000000", "needs about"),
    case("secagg of a billion elements", "[protocol]\nname='secagg'\nclients=1000\n"
         "vector_length=10000000\n[topology]\nkind='star'\n", "[protocol]", "clients = 1000",
         "vector_length = 10000000", "needs about"),
    case("fedavg of 100,000 clients", "[protocol]\nname='fedavg'\nclients=100000\n"
         "dataset='synthetic'\nn_samples=100000000\nn_features=1000\n[topology]\n"
         "kind='star'\n", "[protocol]", "clients = 100000", "needs about"),
    case("fed_xgboost histograms of TiB", "[protocol]\nname='fed_xgboost'\nclients=1000\n"
         "dataset='synthetic'\nn_features=1000\nmax_depth=10\nmax_bin=256\n[topology]\n"
         "kind='star'\n", "[protocol]", "clients = 1000", "n_features = 1000",
         "max_depth = 10", "max_bin = 256", "TiB", "this machine has"),
    case("secureboost ciphertexts of 10^8 rows", "[protocol]\nname='secureboost'\n"
         "dataset='synthetic'\nn_samples=100000000\nkey_bits=4096\n[topology]\n"
         "kind='star'\n", "[protocol]", "n_samples = 100000000", "key_bits = 4096",
         "needs about"),
    case("fed_oblivious of 10,000 clients", "[protocol]\nname='fed_oblivious'\nclients=10000\n"
         "vector_length=1000000\n[topology]\nkind='star'\n", "[protocol]", "clients = 10000",
         "vector_length = 1000000", "TiB"),
    case("ppxgboost for 100,000 users", "[protocol]\nname='ppxgboost'\nkey_bits=2048\n"
         "users=100000\nn_estimators=1000\nmax_depth=12\n[topology]\nkind='star'\nhub=1\n",
         "[protocol]",
         "users = 100000", "n_estimators = 1000", "max_depth = 12", "key_bits = 2048",
         "needs about"),
    case("mul/cmp of 10^8 elements among 64", "[protocol]\nname='secure_mul_cmp'\n"
         "parties=64\nvector_length=100000000\n[topology]\nkind='complete'\n", "[protocol]",
         "parties = 64", "vector_length = 100000000", "needs about"),
    case("parallel training too large", "[protocol]\nname='parallel_training'\nworkers=4096\n"
         "groups=1\ntrain_samples=100000000\nhidden=[100000]\n[topology]\nkind='complete'\n",
         "[protocol]", "workers = 4096", "needs about"),
    case("sum overflows the ring", _sub(_sub(SUM, "parties = 4", "parties = 200"),
         "vector_length = 8", "vector_length = 8\nvalue_range = 1e13"),
         "[protocol]", "parties = 200", "value_range = 1e+13", "2^63"),
    case("mul/cmp overflows the truncation", "[protocol]\nname='secure_mul_cmp'\n"
         "value_range=40000\n[topology]\nkind='complete'\n", "[protocol]",
         "value_range = 40000", "frac_bits = 16", "2^62"),
    case("odd Paillier key (ppxgboost)", _sub(PPX, "key_bits = 1024", "key_bits = 1025"),
         "[protocol]", "key_bits = 1025", "even"),
    case("short Paillier key (ppxgboost)", _sub(PPX, "key_bits = 1024", "key_bits = 512"),
         "[protocol.key_bits]", "got 512", "1024"),
    case("odd Paillier key (secureboost)", "[protocol]\nname='secureboost'\nkey_bits=511\n"
         "insecure_keys=true\n[topology]\nkind='star'\n", "[protocol]", "key_bits = 511", "even"),
    case("short Paillier key (secureboost)", "[protocol]\nname='secureboost'\nkey_bits=512\n"
         "[topology]\nkind='star'\n", "[protocol]", "key_bits = 512", "insecure_keys"),
    # -- files a scenario names
    case("topology from the password file", SUM.replace('kind = "star"', 'kind = "file"\n'
         'path = "/etc/passwd"'), "[topology.path]", "/etc/passwd", "scenario's folder"),
    case("topology climbing out", SUM.replace('kind = "star"', 'kind = "file"\n'
         'path = "../../../../../../etc/passwd"'), "[topology.path]", "../../", "folder"),
    case("topology from the environment", SUM.replace('kind = "star"', 'kind = "file"\n'
         'path = "/proc/self/environ"'), "[topology.path]", "/proc/self/environ"),
    case("topology through a symbolic link out", SUM.replace('kind = "star"', 'kind = "file"\n'
         'path = "link"'), "[topology.path]", "link", files={"link": "@/etc/passwd"}),
    case("password file allowed but not a topology", SUM.replace('kind = "star"',
         'kind = "file"\npath = "/etc/passwd"'), "[topology]", "/etc/passwd",
         argv=["validate", "{s}", "--allow-outside-paths"], also_run=False, private=False),
    case("a binary topology file", SUM.replace('kind = "star"', 'kind = "file"\npath = "t.bin"'),
         "[topology]", "t.bin", "not a text file", files={"t.bin": bytes(range(256))}),
    case("a topology file of the wrong size", SUM.replace('kind = "star"', 'kind = "file"\n'
         'path = "t.txt"'), "[topology]", "t.txt", "3 nodes", files={"t.txt": "0 1\n1 2\n"}),
    case("a garbage topology line", SUM.replace('kind = "star"', 'kind = "file"\n'
         'path = "t.txt"'), "[topology]", "line 1", "t.txt",
         files={"t.txt": "secret-token-" + "x" * 200 + "\n"}),
    case("data outside the folder", _sub(XOR, 'dataset = "d.csv"', 'dataset = "/etc/d.csv"'),
         "[protocol.dataset]", "/etc/d.csv", "scenario's folder"),
    case("data file missing", XOR, "[protocol.dataset]", "d.csv", "does not exist"),
    case("empty CSV", XOR, "[protocol.dataset]", "d.csv", "empty", files={"d.csv": ""}),
    case("garbage CSV", XOR, "[protocol.dataset]", "d.csv", files={"d.csv": bytes(range(256)) * 8}),
    case("CSV without rows", XOR, "[protocol.dataset]", "d.csv", "no rows",
         files={"d.csv": "a,b,y\n"}),
    case("CSV with inf", XOR, "[protocol.dataset]", "d.csv", "inf", "'a'",
         files={"d.csv": _csv() + "inf,1.0,1\n"}),
    case("CSV with one class", XOR, "[protocol.dataset]", "d.csv", "one class", "'y'",
         files={"d.csv": _csv().replace(",1\n", ",0\n")}),
    case("CSV without the label column", _sub(XOR, 'label = "y"', 'label = "z"'),
         "[protocol.dataset]", "d.csv", "'z'", files={"d.csv": _csv()}),
    case("garbage Parquet", _sub(XOR, "d.csv", "d.parquet"), "[protocol.dataset]", "d.parquet",
         "not a Parquet file", files={"d.parquet": b"PAR1" + bytes(range(200))}),
    case("model file that is not a model", _sub(PPX, "key_bits = 1024",
         'key_bits = 1024\nmodel_path = "m.json"'), "[protocol.model_path]", "m.json",
         "not an XGBoost model", files={"m.json": '{"learner": 42}'}),
    case("model file outside the folder", _sub(PPX, "key_bits = 1024",
         'key_bits = 1024\nmodel_path = "/etc/hostname"'), "[protocol.model_path]",
         "/etc/hostname"),
    # -- the command line
    case("--timeout -1", SUM, "--timeout", "-1", argv=RUN + ["--runtime", "tcp", "--timeout",
         "-1"], also_run=False),
    case("--timeout nan", SUM, "--timeout", "nan", argv=RUN + ["--runtime", "tcp", "--timeout",
         "nan"], also_run=False),
    case("--timeout inf", SUM, "--timeout", "inf", argv=RUN + ["--runtime", "tcp", "--timeout",
         "inf"], also_run=False),
    case("--hosts nonsense", SUM, "--hosts", "nonsense", argv=RUN + ["--runtime", "tcp",
         "--hosts", "nonsense"], also_run=False),
    case("--hosts with a bad port", SUM, "--hosts", "99999", argv=RUN + ["--runtime", "tcp",
         "--hosts", "a:1,a:2,a:3,a:99999"], also_run=False),
    case("--id outside the run", SUM, "--id", "9", argv=["party", "{s}", "--id", "9",
         "--hosts", "a:1,a:2,a:3,a:4", "--key-file", "{d}/k"], also_run=False),
    case("--key-file of garbage", SUM, "--key-file", "hex", argv=["party", "{s}", "--id", "0",
         "--hosts", "a:1,a:2,a:3,a:4", "--key-file", "{d}/k"], files={"k": "not a key"},
         also_run=False),
    case("--jobs 0", SWEEP + '"protocol.parties" = [3]\n', "--jobs", "'0'",
         argv=RUN + ["--jobs", "0"], also_run=False),
    case("--connect-timeout nan", SWEEP + '"protocol.parties" = [3]\n', "--connect-timeout",
         "nan", argv=RUN + ["--connect-timeout", "nan"], also_run=False),
    case("--memory-limit of words", SUM, "--memory-limit", "lots",
         argv=["validate", "{s}", "--memory-limit", "lots"], also_run=False),
    case("compare a file that is not JSON", SUM, "r.json", "not JSON", "line 1",
         argv=["compare", "{d}/r.json", "{d}/r.json"], files={"r.json": "seed = 3\n"},
         also_run=False),
    case("compare JSON that is not a report", SUM, "r.json", "got a JSON list",
         argv=["compare", "{d}/r.json", "{d}/r.json"], files={"r.json": "[1, 2]"},
         also_run=False),
    # -- sweeps
    case("sweep range to inf", SWEEP + '"protocol.vector_length" = {start = 1, stop = inf, '
         'step = 1}\n', "[sweep.protocol.vector_length.stop]", "inf"),
    case("sweep of 10^9 repetitions", SWEEP + 'repetitions = 1000000000\n'
         '"protocol.parties" = [3]\n', "[sweep.repetitions]", "1000000000", "10,000"),
    case("sweep of a million points", SWEEP + '"protocol.parties" = {start = 2, stop = 101, '
         'step = 1}\n"protocol.vector_length" = {start = 1, stop = 100, step = 1}\n'
         '"topology.latency" = {start = 0.001, stop = 0.1, num = 100}\n', "[sweep]",
         "1,000,000 runs", "--max-points"),
    case("sweep range of a billion steps", SWEEP + '"protocol.vector_length" = {start = 1, '
         'stop = 1000000000, step = 1}\n', "[sweep.protocol.vector_length]", "1,000,000,000"),
    case("sweep range num = 10^9", SWEEP + '"topology.latency" = {start = 0.001, stop = 1, '
         'num = 1000000000}\n', "[sweep.topology.latency]", "num=1000000000"),
    case("sweep over the cap", SWEEP + '"protocol.parties" = [3, 4, 5]\n', "[sweep]", "3 runs",
         argv=["validate", "{s}", "--max-points", "2"], also_run=False),
    case("sweep point needing TiB", SWEEP + '"protocol.vector_length" = [8, 1000000]\n'
         '"protocol.parties" = [1000]\n', "[sweep]", "vector_length = 1000000", "TiB"),
    # -- tables of the wrong shape
    case("protocol as a string", 'protocol = "secure_sum"\n[topology]\nkind = "star"\n',
         "[protocol]", "'secure_sum'"),
    case("faults as a table", SUM + "[faults]\nkind = 'crash'\n", "[faults]", "kind"),
    case("topology path of the wrong type", SUM.replace('kind = "star"', 'kind = "file"\n'
         'path = 42'), "[topology.path]", "42"),
]


def _materialize(tmp_path: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = tmp_path / name
        if isinstance(content, str) and content.startswith("@"):
            path.symlink_to(content[1:])
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def _call(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse refuses an option value
        return int(exc.code)


def test_the_battery_is_large():
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES)


SECRETS = ("root:", "PATH=", "HOME=", "secret-token-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_hostile_input_is_one_clear_error(tmp_path, capsys, c: Case):
    _materialize(tmp_path, c.files)
    fill = {"{s}": str(tmp_path / "s.toml"), "{d}": str(tmp_path), "{o}": str(tmp_path / "o")}
    commands = [c.argv] + ([RUN] if c.also_run and c.argv == VALIDATE else [])
    for argv in commands:
        args = [fill.get(a, a.replace("{d}", str(tmp_path))) for a in argv]
        start = time.perf_counter()
        code = _call(args)
        elapsed = time.perf_counter() - start
        out, err = capsys.readouterr()
        assert code == c.code, (code, out, err)
        assert "Traceback" not in out + err
        for needle in c.needles:
            assert needle in err, (needle, err)
        for secret in SECRETS if c.private else ():
            assert secret not in out + err, (secret, err)
        assert len(err) < 2000, err
        assert elapsed < 20, elapsed
    assert not (tmp_path / "o").exists()


def test_a_data_file_beside_the_scenario_is_found_from_any_folder(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "s.toml").write_text(XOR)
    (tmp_path / "sub" / "d.csv").write_text(_csv(60))
    monkeypatch.chdir(tmp_path)
    assert main(["run", "sub/s.toml", "--out", "o", "--quiet"]) == 0
    rep = json.loads((tmp_path / "o" / "report.json").read_text())
    assert rep["scenario"]["protocol"]["dataset"] == "d.csv"  # as written, not this machine's path


def test_validating_a_sweep_at_the_cap_is_quick(tmp_path):
    """10,000 points (the default cap) validate in bounded time (10^6 took 97 s before)."""
    path = tmp_path / "s.toml"
    path.write_text(SWEEP + '"protocol.parties" = {start = 2, stop = 101, step = 1}\n'
                    '"protocol.vector_length" = {start = 1, stop = 100, step = 1}\n')
    start = time.perf_counter()
    assert main(["validate", str(path)]) == 0
    assert time.perf_counter() - start < 60


@pytest.mark.skipif(os.name != "posix", reason="POSIX paths")
def test_outside_paths_are_allowed_when_asked(tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "t.txt").write_text("0 1\n0 2\n0 3\n")
    (tmp_path / "here").mkdir()
    path = tmp_path / "here" / "s.toml"
    path.write_text(SUM.replace('kind = "star"', 'kind = "file"\npath = "../elsewhere/t.txt"'))
    assert main(["validate", str(path)]) == 2
    assert main(["validate", str(path), "--allow-outside-paths"]) == 0
