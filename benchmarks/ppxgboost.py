"""PPXGBoost benchmark (issue 6): print figures (no asserts).

    .venv/bin/python benchmarks/ppxgboost.py [--trees 100] [--depth 6] [--bits 2048] [--batch 1000]
        [--rows 20000]

A model of `trees` trees of depth `depth` on a synthetic binary data set of 30
features (`rows` rows, so that trees grow to full depth; breast cancer's 569 rows
give 100 trees of only ~350 leaves in all), keys of `bits` bits. Prints the
proxy's setup time, per-query wall time of each step (client OPE encryption,
server evaluation and packing, client decryption) for single queries and for one
batch, bytes per query, and the plaintext `Booster.inplace_predict` time per
row. The published figure (Meng & Feigenbaum 2020) is about 0.4 s per prediction
against about 1 ms in plaintext.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import xgboost as xgb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from protocols import data as datasets  # noqa: E402
from protocols.ppxgboost import scheme  # noqa: E402
from protocols.ppxgboost.model import from_booster  # noqa: E402
from protocols.ppxgboost.ope import Ope  # noqa: E402
from protocols.ppxgboost.protocol import PpxgboostParams, train_booster  # noqa: E402


def _timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def _run_queries(enc, keys, names, objective, groups, x, pack):
    """Encrypt, evaluate, decrypt one batch `x`; the three wall times and bytes."""
    ope = Ope(keys.ope_key)
    query, t_enc = _timed(scheme.encrypt_query, keys, names, x, ope)
    t = time.perf_counter()
    sums, _ = scheme.evaluate(enc, query)
    answer = scheme.pack(enc, sums) if pack else sums
    t_eval = time.perf_counter() - t
    if pack:
        pred, t_dec = _timed(scheme.unpack_scores, keys, objective, answer, len(x), groups)
    else:
        pred, t_dec = _timed(scheme.decrypt_scores, keys, objective, answer)
    flat = answer if pack else [c for row in answer for c in row]
    resp_bytes = sum((c.bit_length() + 7) // 8 for c in flat)
    return pred, t_enc, t_eval, t_dec, query.__wire_size__(), resp_bytes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trees", type=int, default=100)
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--bits", type=int, default=2048)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--singles", type=int, default=20)
    ap.add_argument("--rows", type=int, default=20000, help="synthetic training rows")
    args = ap.parse_args()

    p = PpxgboostParams(dataset="synthetic", n_estimators=args.trees, max_depth=args.depth,
                        key_bits=args.bits)
    ds = datasets.load("synthetic", n_samples=args.rows, n_features=30, seed=0)
    train, _ = datasets.train_test_split(ds, p.test_fraction, 0)
    booster = train_booster(p, train, 0)
    model = from_booster(booster)
    names = list(ds.names)
    leaves = sum(len(t.leaves) for t in model.trees)
    inner = sum(int((t.left != -1).sum()) for t in model.trees)
    print(f"model: {len(model.trees)} trees, depth <= {args.depth}, {model.n_features} features,"
          f" {inner} thresholds, {leaves} leaves; Paillier {args.bits} bits")

    rng = np.random.default_rng(0)
    keys, t_keys = _timed(scheme.issue_keys, rng, args.bits)
    enc, t_setup = _timed(scheme.personalize, model, names, keys, rng)
    print(f"setup (proxy): keys {t_keys:.2f} s, personalize {t_setup:.1f} s, "
          f"encrypted model {enc.__wire_size__() / 1e6:.2f} MB")

    rows = ds.x[rng.integers(0, len(ds.x), max(args.batch, args.singles))]
    booster.set_param({"nthread": 1})
    t = time.perf_counter()
    for r in rows[: args.singles]:
        booster.inplace_predict(r[None, :])
    plain = (time.perf_counter() - t) / args.singles
    print(f"plaintext Booster.inplace_predict, one row per call: {plain * 1e3:.2f} ms/query")

    for pack in (False, True):
        times = np.zeros(3)
        qb = rb = 0
        for r in rows[: args.singles]:
            _, *ts, q_bytes, r_bytes = _run_queries(enc, keys, names, model.objective,
                                                     model.n_groups, r[None, :], pack)
            times += ts
            qb, rb = qb + q_bytes, rb + r_bytes
        times /= args.singles
        print(f"single query (pack={pack}): client OPE {times[0] * 1e3:.1f} ms, server "
              f"{times[1] * 1e3:.2f} ms, client decrypt {times[2] * 1e3:.2f} ms; "
              f"server+decrypt {(times[1] + times[2]) * 1e3:.2f} ms; bytes {qb // args.singles}"
              f" query + {rb // args.singles} response")
    single = times

    x = rows[: args.batch]
    pred, t_enc, t_eval, t_dec, q_bytes, r_bytes = _run_queries(
        enc, keys, names, model.objective, model.n_groups, x, True)
    diff = np.abs(pred - booster.predict(xgb.DMatrix(x))).max()
    n = len(x)
    print(f"batch of {n} (packed): client OPE {t_enc:.2f} s, server {t_eval:.2f} s, client "
          f"decrypt {t_dec:.2f} s; per query {(t_eval + t_dec) / n * 1e3:.3f} ms server+decrypt"
          f" (vs {(single[1] + single[2]) * 1e3:.2f} ms single), "
          f"{(t_enc + t_eval + t_dec) / n * 1e3:.2f} ms all steps (vs "
          f"{single.sum() * 1e3:.2f} ms single); bytes/query {q_bytes / n:.0f} query + "
          f"{r_bytes / n:.1f} response; max |diff| vs Booster.predict {diff:.2e}")


if __name__ == "__main__":
    main()
