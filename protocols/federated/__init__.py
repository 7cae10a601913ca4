"""Federated learning with secure aggregation: SecAgg/SecAgg+, FedAvg, federated and vertical
XGBoost, and aggregation beyond sums (secure maximum, oblivious norm clipping). Party 0 is
the server (or the label holder), the others the clients."""

from protocols.federated import fedavg, fedxgb, oblivious_demo, secure_sum, secureboost
from sim import ProtocolSpec

SECAGG = ProtocolSpec(
    name="secagg",
    summary="secure aggregation of client vectors (Bonawitz et al. 2017; SecAgg+ of Bell et "
            "al. 2020) with dropouts",
    params=secure_sum.SecAggParams,
    plan=secure_sum.plan,
)

FEDAVG = ProtocolSpec(
    name="fedavg",
    summary="FedAvg of logistic regression or an MLP over securely aggregated client updates",
    params=fedavg.FedAvgParams,
    plan=fedavg.plan,
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
