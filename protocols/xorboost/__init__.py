"""XORBoost: XGBoost training on secret-shared data (issue 4).

Data owners (horizontal, vertical or mixed split) secret-share bucket
indicators and labels among 2 to 5 computing parties; training runs on shares
with a trusted dealer's correlated randomness (`protocols.sharing.Mpc`); only
the analyst learns the trees. Modules: `binning` (quantization and how owners
agree on cuts), `train` (the algorithm, over any arithmetic back end), `plain`
(the plaintext fixed-point reference back end), `model` (revealed model,
prediction, XGBoost JSON export), `protocol` (parties, phases, report).
"""

from protocols.xorboost.protocol import XorboostParams, plan
from sim import ProtocolSpec

SPEC = ProtocolSpec(
    name="xorboost",
    summary="XGBoost training on secret-shared data (XORBoost), any owner split",
    params=XorboostParams,
    plan=plan,
)

__all__ = ["SPEC", "XorboostParams", "plan"]
