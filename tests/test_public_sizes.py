"""Message sizes that depend only on public sizes (issue 12, item 4).

Protocols whose `reveals` do not name a data-dependent size must send the same
bytes on every link whatever the inputs: the same scenario with another seed
(other private inputs, other randomness) gives the same per-link byte counts.
The protocols whose sizes follow the data say so in their `reveals`: federated
XGBoost and SecureBoost (each tree's shape, learned by the parties anyway) and
GTC (compression by value). XORBoost's co-holders exchange sketch summaries padded
to their public maximum, whatever the column's distinct values.
"""

from __future__ import annotations

import copy

import pytest

from ppsim.run import run_scenario
from ppsim.scenario import from_dict

TOPOLOGY = {"kind": "complete", "latency": 1e-3, "bandwidth": 1e8}
CASES = {
    "secure_sum additive": {"name": "secure_sum", "parties": 4, "vector_length": 100},
    "secure_sum shamir": {"name": "secure_sum", "parties": 5, "scheme": "shamir",
                          "vector_length": 100},
    "secure_mul_cmp": {"name": "secure_mul_cmp", "parties": 3, "vector_length": 100},
    "secagg": {"name": "secagg", "clients": 8, "aggregation": "secagg+", "vector_length": 50},
    "fedavg": {"name": "fedavg", "clients": 4, "rounds": 2, "n_samples": 400,
               "aggregation": "secagg"},
    "fedavg clipped": {"name": "fedavg", "clients": 4, "rounds": 1, "n_samples": 400,
                       "clip_norm": 1.0},
    "fed_oblivious": {"name": "fed_oblivious", "clients": 4, "vector_length": 20},
    "xorboost horizontal": {"name": "xorboost", "split": "horizontal", "owners": 3,
                            "n_estimators": 1, "max_depth": 2, "max_bin": 8},
    "xorboost mixed": {"name": "xorboost", "split": "mixed", "owners": 3,
                       "n_estimators": 1, "max_depth": 2, "max_bin": 8},
}


def _links(protocol: dict, seed: int) -> list[tuple[int, int, int]]:
    rep = run_scenario(from_dict({"seed": seed, "protocol": copy.deepcopy(protocol),
                                  "topology": TOPOLOGY}))
    return [(link["src"], link["dst"], link["bytes"]) for link in rep["links"]]


@pytest.mark.parametrize("protocol", CASES.values(), ids=CASES.keys())
def test_other_inputs_same_bytes_on_every_link(protocol):
    assert _links(protocol, 1) == _links(protocol, 2)
