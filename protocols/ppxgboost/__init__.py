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

from protocols.ppxgboost import wire  # noqa: F401 - registers the codecs
from protocols.ppxgboost.protocol import PpxgboostParams, plan
from sim import ProtocolSpec

SPEC = ProtocolSpec(
    name="ppxgboost",
    summary="PPXGBoost: encrypted XGBoost inference (OPE thresholds, Paillier leaves)",
    params=PpxgboostParams,
    plan=plan,
)

__all__ = ["SPEC", "PpxgboostParams", "plan"]
