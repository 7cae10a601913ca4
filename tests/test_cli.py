"""The command line: malformed scenarios give one clear error and exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ppsim.cli import main

GOOD = """
seed = 3
[protocol]
name = "secure_sum"
parties = 4
vector_length = 8
[topology]
kind = "star"
latency = 0.001
bandwidth = 1e6
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return path


# (description, scenario text, text the error must contain)
BAD = [
    ("missing protocol table", "[topology]\nkind='star'\nlatency=0.1\nbandwidth=1e6\n",
     "[protocol] missing"),
    ("missing topology table", "[protocol]\nname='secure_sum'\nparties=3\n", "[topology] missing"),
    ("unknown protocol", GOOD.replace('"secure_sum"', '"secure_summ"'), "known protocols:"),
    ("unknown topology", GOOD.replace('"star"', '"hypercube"'), "known topologies:"),
    ("negative latency", GOOD.replace("latency = 0.001", "latency = -1.0"), "[topology.latency]"),
    ("bandwidth of the wrong type", GOOD.replace("bandwidth = 1e6", 'bandwidth = "fast"'),
     "[topology.bandwidth]"),
    ("negative seed", GOOD.replace("seed = 3", "seed = -3"), "[seed]"),
    ("unknown top-level key", "sed = 4\n" + GOOD, "[sed] unknown key"),
    ("unknown protocol parameter", GOOD.replace("parties = 4", "parties = 4\nvector_len = 3"),
     "[protocol.vector_len] unknown key"),
    ("threshold above parties",
     GOOD.replace("parties = 4", 'parties = 4\nscheme = "shamir"\nthreshold = 4'),
     "[protocol"),
    ("crash of a party not in the run", GOOD + "[[faults]]\nkind='crash'\nparty=9\nat=0.1\n",
     "[faults[0].party]"),
    ("drop probability above 1",
     GOOD + "[[faults]]\nkind='drop'\nlink=[0,1]\nprobability=1.5\n", "[faults[0].probability]"),
    ("link fault on a missing link",
     GOOD + "[[faults]]\nkind='delay'\nlink=[1,2]\nseconds=0.1\n", "[faults[0].link]"),
    ("negative header", GOOD + "[network]\nheader_bytes=-4\n", "[network.header_bytes]"),
    ("star hub outside the run", GOOD.replace('"star"', '"star"\nhub = 7'), "hub"),
    ("empty vector", GOOD.replace("vector_length = 8", "vector_length = 0"),
     "[protocol.vector_length]"),
    ("not TOML", "seed = = 3\n", "not valid TOML"),
]


@pytest.mark.parametrize("text,needle", [(t, n) for _, t, n in BAD], ids=[d for d, _, _ in BAD])
def test_malformed_scenario_is_one_clear_error(tmp_path, capsys, text, needle):
    path = _write(tmp_path, text)
    for command in (["validate", str(path)], ["run", str(path), "--out", str(tmp_path / "o")]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert err.count("error:") == 1
        assert str(path) in err, err
        assert needle in err, err
    assert not (tmp_path / "o").exists()


def test_missing_file_is_exit_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.toml")]) == 2
    assert "cannot read the file" in capsys.readouterr().err


def test_run_writes_report_and_same_seed_gives_identical_report(tmp_path):
    path = _write(tmp_path, GOOD)
    reports = []
    for out in ("a", "b"):
        assert main(["run", str(path), "--out", str(tmp_path / out), "--quiet"]) == 0
        rep = json.loads((tmp_path / out / "report.json").read_text())
        rep.pop("wall_time_s")
        reports.append(json.dumps(rep, sort_keys=True))
    assert reports[0] == reports[1]


def test_list_names_protocols_and_topologies(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "secure_sum" in out and "two_level" in out


@pytest.mark.parametrize(("text", "needle"), [
    (GOOD.replace("parties = 4", "parties = 4\nvector_len = 3"),
     "[protocol.vector_len] unknown key (did you mean 'vector_length'?); expected one of: "
     "frac_bits, name, parties, reveal_timeout_s, scheme, threshold, value_range, vector_length"),
    (GOOD.replace("[topology]", "[topolgy]"),
     "[topolgy] unknown key (did you mean 'topology'?); expected one of: cost, description"),
    (GOOD + "[network]\nheader_byte = 4\n",
     "[network.header_byte] unknown key (did you mean 'header_bytes'?)"),
    (GOOD + "[[faults]]\nkind='crash'\nparty=1\nat=0.1\nwhen=3\n",
     "[faults[0].when] unknown key; expected one of: at, kind, party"),
])
def test_an_unknown_key_lists_the_valid_ones_and_the_nearest(tmp_path, capsys, text, needle):
    assert main(["validate", str(_write(tmp_path, text))]) == 2
    assert needle in capsys.readouterr().err


def test_an_old_parameter_name_works_with_a_warning(tmp_path, capsys):
    path = _write(tmp_path, GOOD.replace('"secure_sum"', '"secure_mul_cmp"').replace(
        "parties = 4", "players = 2"))
    assert main(["run", str(path), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"warning: {path}: [protocol.players] is now called 'parties'" in err
    written = json.loads((tmp_path / "o" / "report.json").read_text())["scenario"]["protocol"]
    assert written["parties"] == 2 and "players" not in written
