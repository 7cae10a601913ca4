"""Wire profiles (`sim.profiles`): the default changes nothing, a profile sizes tagged
messages and adds its framework's instructions, and the ``flower-1.42`` profile's
field sizes and totals match Flower's own encoding."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ppsim import ScenarioError, from_dict, run_scenario
from ppsim.run import run_scenario_tcp
from protocols.federated import flower, secagg
from protocols.federated.secure_sum import SecAggParams, plan
from sim import DEFAULT_PROFILE, Profile, SimulationError, simulate


def _star(n: int) -> nx.Graph:
    g = nx.star_graph(n - 1)
    nx.set_edge_attributes(g, 0.01, "latency")
    nx.set_edge_attributes(g, 1e6, "bandwidth")
    return g


def _secagg_run(n: int = 8, **options):
    pl = plan(SecAggParams(clients=n, vector_length=50, bits=32, aggregation="secagg+"), 3)
    result = simulate(_star(pl.n_parties), pl.programs, seed=3, header_bytes=40, **options)
    assert pl.summarize(result)["result_check"]["ok"]
    return result


def test_default_profile_changes_nothing():
    plain, default = _secagg_run(), _secagg_run(profile=DEFAULT_PROFILE)
    assert [vars(p) for p in plain.ledger.parties] == [vars(p) for p in default.ledger.parties]
    assert plain.ledger.rounds() == default.ledger.rounds() == 7
    assert plain.end_time == default.end_time
    # and what it counts is still the formula of Bonawitz et al. (secagg.client_bytes);
    # 8 clients: the SecAgg+ degree would be >= n - 1, so the graph is complete (d = 7)
    sent, received = secagg.client_bytes(7, 50, 32, 40)
    assert plain.ledger.parties[1].bytes_sent == sent
    assert plain.ledger.parties[1].bytes_received == received


def _ping(kind: str | None):
    async def asker(party):
        got = await party.recv_many([1], kind=kind)
        return got[1]

    async def answerer(party):
        await party.send(0, b"x" * 10, kind)

    return {0: asker, 1: answerer}


def test_profile_sizes_tagged_messages_and_adds_instructions():
    profile = Profile("test", sizes={"ping": lambda payload: 100 + len(payload)},
                      instructions={"ping": lambda: 7}, protocols=frozenset({"ping"}))
    base = simulate(_star(2), _ping("ping"), header_bytes=40)
    run = simulate(_star(2), _ping("ping"), header_bytes=40, profile=profile)
    assert base.outputs[0] == run.outputs[0] == b"x" * 10
    assert (base.ledger.parties[1].bytes_sent, base.ledger.rounds()) == (10 + 40, 1)
    # the instruction (7 B + header) then the reply sized by the profile, one more round
    assert run.ledger.parties[0].bytes_sent == 7 + 40
    assert run.ledger.parties[1].bytes_sent == 110 + 40
    assert run.ledger.rounds() == 2
    assert run.end_time > base.end_time


def test_profile_refuses_untagged_messages():
    profile = Profile("test", sizes={"ping": len}, protocols=frozenset({"ping"}))
    with pytest.raises(SimulationError, match="cannot size a message of kind None"):
        simulate(_star(2), _ping(None), profile=profile)



def _scenario(**network) -> dict:
    return {"seed": 1,
            "protocol": {"name": "secagg", "clients": 6, "vector_length": 20, "bits": 32},
            "topology": {"kind": "star", "latency": 0.01, "bandwidth": 1e6},
            "network": {"header_bytes": 40, **network}}


def test_scenario_names_the_profile_and_the_report_shows_it():
    default = run_scenario(from_dict(_scenario()))
    assert default["scenario"]["network"]["profile"] == "ppsim"  # every default is shown
    assert "wire_profile" not in default
    assert default == {**run_scenario(from_dict(_scenario(profile="ppsim"))),
                       "wall_time_s": default["wall_time_s"]}
    framed = run_scenario(from_dict(_scenario(profile="flower-1.42")))
    assert framed["scenario"]["network"]["profile"] == "flower-1.42"
    assert framed["wire_profile"]["name"] == "flower-1.42"
    assert "num_shares=k + 1" in framed["wire_profile"]["setting"]
    assert framed["result_check"]["ok"]
    assert framed["totals"]["rounds"] == default["totals"]["rounds"] + 1
    assert framed["totals"]["bytes"] > 3 * default["totals"]["bytes"]


def test_scenario_profile_errors_name_the_key():
    with pytest.raises(ScenarioError, match=r"\[network.profile\] unknown wire profile 'x'; "
                                            r"known wire profiles: ppsim, flower-1.42"):
        from_dict(_scenario(profile="x"))
    xorboost = {**_scenario(profile="flower-1.42"), "protocol": {"name": "xorboost"}}
    with pytest.raises(ScenarioError, match=r"\[network.profile\] got 'flower-1.42', but it "
                                            r"sizes the messages of fedavg, secagg, not of "
                                            r"protocol 'xorboost'"):
        from_dict(xorboost)
    with pytest.raises(ScenarioError, match="TCP runtime"):
        run_scenario_tcp(from_dict(_scenario(profile="flower-1.42")))


def test_flower_field_sizes_are_flowers_encodings():
    key = ec.generate_private_key(ec.SECP384R1())
    pem_public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    pem_private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    assert (len(pem_public), len(pem_private)) == (flower.PUBLIC_KEY, flower.PRIVATE_KEY)
    for plaintext in (0, 15, 16, 396):  # Fernet adds version, time, IV, padding, HMAC, base64
        token = Fernet(Fernet.generate_key()).encrypt(b"p" * plaintext)
        assert flower.fernet(plaintext) == len(token)
    # a share: 4-byte index, then the PKCS#7-padded secret in 16-byte chunks
    assert flower.share(32) == 4 + 48 and flower.share(306) == 4 + 320
    assert flower.SHARE_CIPHERTEXT == 612  # 20 B of ids + two shares, sealed
    for m in (1, 10_000):
        buf = io.BytesIO()
        np.save(buf, np.zeros(m, dtype=np.int64), allow_pickle=False)
        assert flower.npy(m) == len(buf.getvalue())


def test_flower_profile_adds_the_setup_round_and_grows_each_message():
    ppsim_run = _secagg_run()
    flower_run = _secagg_run(profile=flower.FLOWER)
    assert flower_run.ledger.rounds() == ppsim_run.ledger.rounds() + 1  # 4 round trips
    for u in range(1, 9):
        assert flower_run.ledger.parties[u].messages_received == 4
        assert flower_run.ledger.parties[u].bytes_sent > 2 * ppsim_run.ledger.parties[u].bytes_sent


def _benchmark():
    path = Path(__file__).parent.parent / "benchmarks" / "profiles.py"
    spec = importlib.util.spec_from_file_location("profiles_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_flower_profile_within_5_percent_of_flower_secaggplus():
    """One SecAgg+ aggregation of 10,000 values by 20 clients in Flower 1.42 (its real
    workflow and client mod, messages through its serialization and Fleet API): the
    profile's bytes per client and stage, per client and at the server, are within 5%."""
    pytest.importorskip("flwr")
    rows = _benchmark().compare(20)
    assert len(rows) == 7  # four stages, client and server totals, a FedAvg model
    for what, measured, predicted in rows:
        assert 0.95 <= predicted / measured <= 1.05, (what, measured, predicted)


def _fedavg(aggregation: str) -> dict:
    return {"seed": 2, "protocol": {"name": "fedavg", "clients": 5, "rounds": 2,
                                    "n_samples": 200, "aggregation": aggregation},
            "topology": {"kind": "star", "latency": 0.01, "bandwidth": 1e6},
            "network": {"header_bytes": 40, "profile": "flower-1.42"}}


def test_fedavg_under_the_flower_profile():
    framed = run_scenario(from_dict(_fedavg("secagg")))
    default = run_scenario(from_dict({**_fedavg("secagg"), "network": {"header_bytes": 40}}))
    assert framed["accuracy"] == default["accuracy"]  # sizes change, results do not
    # per round: Flower's setup instruction before the keys (one message per client)
    assert framed["totals"]["messages"] == default["totals"]["messages"] + 2 * 5
    # ... sent right after the model: no round more, 8 one-way messages a round as in Flower
    assert framed["totals"]["rounds"] == default["totals"]["rounds"]
    assert framed["fedavg"]["client_bytes_mean"] > default["fedavg"]["client_bytes_mean"]
    with pytest.raises(ScenarioError, match=r"\[network.profile\] got 'flower-1.42', but "
                                            r"Flower's SecAgg\+ workflow has no plain"):
        from_dict(_fedavg("plain"))
