"""Faults on the command line: a run whose result was not produced fails (exit 1) saying why.

Each case crashes a party or drops a link and runs ``ppsim run``: the exit code
is 1 when the result's party crashed or a lost message stalled the protocol,
and the message names the party (and its role) and when, or the lost message;
no case ends in a traceback (issue 15 found KeyError tracebacks in secagg,
FedAvg, federated XGBoost and SecureBoost, and exit 0 for a sum whose analyst
had crashed). Crashes the protocol survives still exit 0 with a correct result.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ppsim.cli import main

NET = "[topology]\nkind = '{kind}'\nlatency = 0.001\nbandwidth = 1e8\n"


def _scenario(protocol: str, kind: str = "complete") -> str:
    return "seed = 2\n[protocol]\n" + protocol + NET.format(kind=kind)


SUM = _scenario("name = 'secure_sum'\nparties = 4\nvector_length = 10\n")
SHAMIR = _scenario("name = 'secure_sum'\nparties = 5\nvector_length = 10\nscheme = 'shamir'\n"
                   "threshold = 1\nreveal_timeout_s = 0.1\n")
MUL = _scenario("name = 'secure_mul_cmp'\nvector_length = 10\n")
SECAGG = _scenario("name = 'secagg'\nclients = 5\nvector_length = 20\n", "star")
FEDAVG = _scenario("name = 'fedavg'\nclients = 3\nn_samples = 300\nrounds = 2\n"
                   "local_epochs = 1\n", "star")
FEDXGB = _scenario("name = 'fed_xgboost'\nclients = 3\nn_samples = 300\nn_estimators = 1\n"
                   "max_depth = 2\n", "star")
SECUREBOOST = _scenario("name = 'secureboost'\nclients = 2\nn_samples = 100\nn_features = 6\n"
                        "n_estimators = 1\nmax_depth = 2\nkey_bits = 1024\n", "star")
OBLIVIOUS = _scenario("name = 'fed_oblivious'\nclients = 4\nvector_length = 50\n", "star")
XORBOOST = _scenario("name = 'xorboost'\nn_estimators = 1\nmax_depth = 2\nmax_bin = 4\n")
PPX = "seed = 2\n[protocol]\nname = 'ppxgboost'\nqueries = 4\nbatch = 2\nn_estimators = 2\n" \
      "key_bits = 1024\n[topology]\nkind = 'star'\nhub = 1\nlatency = 0.001\nbandwidth = 1e8\n"


def crash(party: int, at: float) -> str:
    return f"[[faults]]\nkind = 'crash'\nparty = {party}\nat = {at}\n"


def drop(u: int, v: int) -> str:
    return f"[[faults]]\nkind = 'drop'\nlink = [{u}, {v}]\nprobability = 1.0\n"


NOT_PRODUCED = "the run's result was not produced"
LOST = "never retransmitted"

# (name, scenario, exit code, text the message must contain)
CASES = [
    ("sum: analyst crashes", SUM + crash(0, 0.001), 1,
     [NOT_PRODUCED, "party 0 (analyst) crashed at t=0.001 s"]),
    ("Shamir sum: analyst crashes", SHAMIR + crash(0, 0.001), 1,
     [NOT_PRODUCED, "party 0 (analyst) crashed at t=0.001 s"]),
    ("secagg: server crashes", SECAGG + crash(0, 0.002), 1,
     [NOT_PRODUCED, "party 0 (server) crashed at t=0.002 s"]),
    ("fedavg: server crashes", FEDAVG + crash(0, 0.003), 1,
     [NOT_PRODUCED, "party 0 (server) crashed at t=0.003 s"]),
    ("fed_xgboost: server crashes", FEDXGB + crash(0, 0.003), 1,
     [NOT_PRODUCED, "party 0 (server) crashed at t=0.003 s"]),
    ("secureboost: active party crashes", SECUREBOOST + crash(0, 0.001), 1,
     ["deadlock", "crashed: [0]"]),
    ("fed_oblivious: server crashes", OBLIVIOUS + crash(0, 0.001), 1,
     ["deadlock", "crashed: [0]"]),
    ("xorboost: analyst crashes", XORBOOST + crash(3, 0.001), 1,
     [NOT_PRODUCED, "party 3 (analyst) crashed at t=0.001 s"]),
    ("ppxgboost: client crashes", PPX + crash(2, 0.001), 1, ["deadlock", "crashed: [2]"]),
    ("sum: a link drops everything", SUM + drop(1, 0), 1,
     [LOST, "party 1 -> 0 in phase 'input sharing'"]),
    ("mul/cmp: a link drops everything", MUL + drop(0, 1), 1,
     [LOST, "party 0 -> 1 in phase 'input sharing'"]),
    # survived: exit 0, the result correct (the needles are report keys that must be set)
    ("Shamir sum: two parties crash after sharing", SHAMIR + crash(3, 0.0005)
     + crash(4, 0.0005), 0, ["crashed"]),
    ("secagg: a client drops out", SECAGG + crash(2, 0.0015), 0, ["crashed", "dropped"]),
    ("sum: the analyst crashes after it finished", SUM + crash(0, 0.5), 0, []),
]


@pytest.mark.parametrize("name, text, code, needles", CASES, ids=[c[0] for c in CASES])
def test_a_fault_gives_the_right_exit_and_says_why(tmp_path: Path, capsys, name, text, code,
                                                    needles):
    path = tmp_path / "s.toml"
    path.write_text(text)
    assert main(["run", str(path), "--out", str(tmp_path / "o"), "--quiet"]) == code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    if code == 0:
        rep = json.loads((tmp_path / "o" / "report.json").read_text())
        assert rep["result_check"]["ok"], rep["result_check"]
        for key in needles:
            assert rep[key], (key, rep[key])
        return
    assert err.startswith("run failed:") and not (tmp_path / "o").exists()
    for needle in needles:
        assert needle in err, (needle, err)
