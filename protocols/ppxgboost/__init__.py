"""PPXGBoost: encrypted queries to encrypted XGBoost models (issue 6).

Meng & Feigenbaum's scheme: a trusted proxy personalizes a plaintext XGBoost
model per user (pseudorandom feature labels, order-preserving encryption of
thresholds, Paillier leaf weights); the server evaluates OPE-encrypted queries
and returns encrypted scores that only the user can decrypt. Modules: `ope`
(Boldyreva et al.'s OPE, implemented here), `paillier` (phe + gmpy2), `model`
(the booster's JSON as arrays, the plaintext reference), `scheme` (the four
steps), `wire` (the scheme's objects on the TCP runtime), `protocol` (parties,
phases, report).
"""

from protocols import data
from protocols.ppxgboost import wire  # noqa: F401 - registers the codecs
from protocols.ppxgboost.ope import memo_bytes
from protocols.ppxgboost.paillier import held_bytes
from protocols.ppxgboost.protocol import PpxgboostParams, plan
from sim import ProtocolSpec


def memory(p: PpxgboostParams) -> float:
    """Per user (the proxy, the server and the client share one copy in a simulated run):
    its encrypted model, for each tree and output group at most 2^max_depth leaves (a
    ciphertext in a dict, about 100 bytes beside it) and as many inner nodes (about 50
    bytes of arrays and an OPE ciphertext), and 2 KB of arrays per tree; and its client's
    OPE memo over the distinct query values (queries, at most the test rows, times
    features). Plus the data set. What only a file tells is guessed: with `model_path`,
    n_estimators and max_depth stand for the model; a file data set has as many rows as
    the queries need and n_features columns."""
    rows, cols, classes = data.SHAPES.get(p.dataset, (data.GENERATED_ROWS, p.n_features, 2))
    if p.dataset not in data.SHAPES and p.dataset not in data.GENERATED:  # a file
        rows = p.queries / p.test_fraction
    trees = p.n_estimators * (classes if classes > 2 else 1)
    leaves = 2**p.max_depth
    model = trees * (leaves * (held_bytes(p.key_bits) + 150.0) + 2048)
    queries = min(p.queries, int(rows * p.test_fraction) + 1)
    return p.users * (model + memo_bytes(queries * cols)) + 32.0 * rows * cols


SPEC = ProtocolSpec(
    name="ppxgboost",
    summary="PPXGBoost: encrypted XGBoost inference (OPE thresholds, Paillier leaves)",
    params=PpxgboostParams,
    plan=plan,
    memory=memory,
)

__all__ = ["SPEC", "PpxgboostParams", "plan"]
