"""XORBoost: XGBoost training on secret-shared data (issue 4).

Data owners (horizontal, vertical or mixed split) mask their bucket
indicators once and secret-share labels among 2 to 5 computing parties;
training runs on shares with a trusted dealer's correlated randomness
(`protocols.sharing.Mpc`); only the analyst learns the trees, which equal
XGBoost ``hist``'s given the same cut points. Modules: `binning` (quantization
and how owners agree on cuts), `candidates` (XGBoost's split candidates, with
missing values), `precision` (fixed-point layout), `gradients`, `inverse`,
`splits` (gains and a tie-exact argmax), `fixedmask` (products with the
owners' constant matrices), `train` (the algorithm, over any arithmetic back
end), `plain` (the plaintext fixed-point reference back end), `model`
(revealed model, prediction, XGBoost JSON export), `protocol` (parties,
phases, report), `costonly` (the same run on shapes only).
"""

from protocols.data import GENERATED, SHAPES, shape
from protocols.xorboost.protocol import XorboostParams, plan
from sim import ProtocolSpec


def memory(p: XorboostParams) -> float:
    """Generated data: the owners' masked bucket indicators dominate, one 8-byte array
    per block held once (measured 9.7 bytes per row x feature x bucket at 25,000 x 300 x
    128, 14 at 100,000 x 50 x 32), plus the data and per-sample values; in cost-only mode
    (shapes without values) the data set itself. Bundled sets count at their own shape
    (`protocols.data.shape`); a file data set is not counted (its size is known only
    once read)."""
    if p.dataset not in GENERATED and p.dataset not in SHAPES:
        return 0.0
    rows, cols = shape(p.dataset, p.n_samples, p.n_features)
    per_value = 64.0 if p.mode == "cost_only" else 10.0 * p.max_bin + 64
    return rows * cols * per_value


SPEC = ProtocolSpec(
    name="xorboost",
    summary="XGBoost training on secret-shared data (XORBoost), any owner split",
    params=XorboostParams,
    plan=plan,
    memory=memory,
)

__all__ = ["SPEC", "XorboostParams", "plan"]
