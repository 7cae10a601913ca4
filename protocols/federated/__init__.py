"""Federated learning with secure aggregation: SecAgg/SecAgg+, FedAvg, federated and vertical
XGBoost, and aggregation beyond sums (secure maximum, oblivious norm clipping). Party 0 is
the server (or the label holder), the others the clients."""

from protocols.data import shape
from protocols.federated import data as fdata
from protocols.federated import fedavg, fedxgb, oblivious_demo, secure_sum, secureboost, trees
from protocols.ppxgboost.paillier import held_bytes
from protocols.sharing import comparison_memory
from sim import ProtocolSpec


def _aggregated(length: int, clients: int) -> float:
    """Summing `clients` vectors of `length` values: each client's input and masked vector
    plus the server's copies (measured: within 10%)."""
    return 24.0 * length * (clients + 2)


def _secagg_memory(p: secure_sum.SecAggParams) -> float:
    """One aggregation of the clients' vectors."""
    return _aggregated(p.vector_length, p.clients)


def _fedavg_memory(p: fedavg.FedAvgParams) -> float:
    """The data set and the aggregation of every client's model update."""
    params = (p.n_features + 1) * (p.hidden + 2 if p.model == "mlp" else 2)
    return fdata.table_memory(p.dataset, p.n_samples, p.n_features) + _aggregated(params,
                                                                                   p.clients)


def _fed_xgboost_memory(p: fedxgb.FedXgbParams) -> float:
    """The data set, and at the deepest level of a full tree the aggregation of every
    client's histograms and the server's split search on their sum."""
    cols = shape(p.dataset, p.n_samples, p.n_features)[1]
    hist = trees.histogram_values(p.max_depth, cols, p.max_bin)
    return (fdata.table_memory(p.dataset, p.n_samples, p.n_features)
            + trees.search_memory(p.max_depth, cols, p.max_bin) + _aggregated(hist, p.clients))


def _secureboost_memory(p: secureboost.SecureBoostParams) -> float:
    """The data set; the active party's split search over every feature; the gradients'
    ciphertexts, one per row (every passive party holds the same list); and the encrypted
    histograms of the last level the passive parties send (2^(max_depth-1) nodes), all in
    flight at once: a list slot per bin, and at most one filled ciphertext per row and
    feature."""
    rows, cols = shape(p.dataset, p.n_samples, p.n_features)
    bins = 2 ** (p.max_depth - 1) * cols * p.max_bin  # a slot per node, feature and bin
    filled = cols * min(rows, 2 ** (p.max_depth - 1) * p.max_bin)
    return (fdata.table_memory(p.dataset, p.n_samples, p.n_features)
            + trees.search_memory(p.max_depth, cols, p.max_bin)
            + held_bytes(p.key_bits) * (rows + filled) + 8.0 * bins)


def _oblivious_memory(p: oblivious_demo.ObliviousParams) -> float:
    """The secure maximum's first tournament round, comparing half the clients' vectors
    with the other half on the two servers' shares, dominates the inputs and the clipping
    (measured 210 bytes per client and element at 3 to 40 clients)."""
    return comparison_memory(p.clients * p.vector_length // 2, 2)


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
    memory=_fed_xgboost_memory,
)

SECUREBOOST = ProtocolSpec(
    name="secureboost",
    summary="vertical federated XGBoost (SecureBoost) with Paillier-encrypted gradients",
    params=secureboost.SecureBoostParams,
    plan=secureboost.plan,
    memory=_secureboost_memory,
)

FED_OBLIVIOUS = ProtocolSpec(
    name="fed_oblivious",
    summary="secure elementwise maximum and mean of norm-clipped client vectors on shares "
            "held by two non-colluding servers with a dealer",
    params=oblivious_demo.ObliviousParams,
    plan=oblivious_demo.plan,
    memory=_oblivious_memory,
)
