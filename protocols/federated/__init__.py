"""Federated learning with secure aggregation: SecAgg/SecAgg+, FedAvg, federated and vertical
XGBoost, and aggregation beyond sums (secure maximum, oblivious norm clipping). Party 0 is
the server (or the label holder), the others the clients."""

from protocols.federated import fedavg, fedxgb, oblivious_demo, secure_sum, secureboost
from sim import ProtocolSpec


def _secagg_memory(p: secure_sum.SecAggParams) -> float:
    """Each client's input and masked vector plus the server's copies (measured: within 10%)."""
    return 24.0 * p.vector_length * (p.clients + 2)


def _fedavg_memory(p: fedavg.FedAvgParams) -> float:
    """The data set (a few copies) and every client's update in flight."""
    params = (p.n_features + 1) * (p.hidden + 2 if p.model == "mlp" else 2)
    return 32.0 * p.n_samples * p.n_features + 24.0 * params * (p.clients + 2)

SECAGG = ProtocolSpec(
    name="secagg",
    summary="secure aggregation of client vectors (Bonawitz et al. 2017; SecAgg+ of Bell et "
            "al. 2020) with dropouts",
    params=secure_sum.SecAggParams,
    plan=secure_sum.plan,
    memory=_secagg_memory,
)

FEDAVG = ProtocolSpec(
    name="fedavg",
    summary="FedAvg of logistic regression or an MLP over securely aggregated client updates",
    params=fedavg.FedAvgParams,
    plan=fedavg.plan,
    memory=_fedavg_memory,
)

FED_XGBOOST = ProtocolSpec(
    name="fed_xgboost",
    summary="federated histogram XGBoost: per-node gradient histograms securely aggregated",
    params=fedxgb.FedXgbParams,
    plan=fedxgb.plan,
)

SECUREBOOST = ProtocolSpec(
    name="secureboost",
    summary="vertical federated XGBoost (SecureBoost) with Paillier-encrypted gradients",
    params=secureboost.SecureBoostParams,
    plan=secureboost.plan,
)

FED_OBLIVIOUS = ProtocolSpec(
    name="fed_oblivious",
    summary="secure elementwise maximum and mean of norm-clipped client vectors on shares "
            "held by two non-colluding servers with a dealer",
    params=oblivious_demo.ObliviousParams,
    plan=oblivious_demo.plan,
)
