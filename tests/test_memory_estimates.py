"""Each protocol's memory estimate (`sim.ProtocolSpec.memory`) against a real run's peak.

`ppsim` refuses a run whose estimate exceeds the machine before building anything
(`ppsim.limits.check_memory`; the hostile battery in test_hostile.py checks the
refusal). Here every estimate is held to what a run actually takes: a fresh
interpreter first runs a tiny scenario of the same protocol (so that imports,
lazily loaded libraries and caches are already paid for), then runs the scenario
under test with `ppsim run`, and reports how much its resident set's high-water
mark (`ru_maxrss`) grew: what the machine had to give the run, native
allocations included (XGBoost's matrices, GMP's numbers). (`tracemalloc` would
miss those, and its own bookkeeping doubled the resident set of a Paillier-heavy
run and slowed it five times.)

Each estimate must lie within [0.5, 3] times the measured peak. The lower bound
catches an estimate that misses what dominates (a run the check lets through
would then swap or be killed); the upper bound leaves room for a deliberately
conservative estimate (a full tree where XGBoost stops early, every bin of a
histogram filled) without refusing runs the machine can hold. The sizes are
small-to-medium: large enough that what an estimate counts dominates the fixed
costs of a run (at least ~10 MB), small enough for a few seconds each.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from ppsim import catalog
from protocols import data

pytestmark = pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(),
                                reason="measures with Linux's /proc/self/status")

PROBE = textwrap.dedent("""\
    import gc, json, re, sys, tempfile
    from ppsim.cli import main

    def kib(key):
        return int(re.search(key + r":\\s+(\\d+) kB", open("/proc/self/status").read())[1])

    warm, real = sys.argv[1:]
    with tempfile.TemporaryDirectory() as out:
        assert main(["run", warm, "--out", out + "/warm", "--quiet"]) == 0
        gc.collect()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # the high-water mark restarts from the resident set now
        before = kib("VmRSS")
        code = main(["run", real, "--out", out + "/real", "--quiet"])
        print(json.dumps({"code": code, "grew": (kib("VmHWM") - before) * 1024}))
    """)

RATIO = (0.5, 3.0)
BOUNDED = {"dot_product": "vector_length <= 10,000 and parties <= 32 keep it under 50 MB"}
"""Protocols without an estimate, and why none is needed."""


def scenario(name: str, topology: str, **params) -> str:
    lines = [f"{k} = {json.dumps(v)}" for k, v in params.items()]
    return "\n".join(["seed = 1", "[protocol]", f'name = "{name}"', *lines,
                      "[topology]", f'kind = "{topology}"', ""])


SYNTHETIC = {"dataset": "synthetic"}
INSECURE = {"key_bits": 256, "insecure_keys": True}

# protocol -> (topology, tiny warm-up params, measured params)
CASES = {
    "fed_oblivious": ("star", dict(clients=2, vector_length=10),
                      dict(clients=8, vector_length=20_000)),
    "fed_xgboost": ("star", dict(clients=2, n_estimators=1, max_depth=1, n_samples=100,
                                 n_features=4, **SYNTHETIC),
                    dict(clients=3, n_estimators=1, max_depth=5, n_samples=40_000,
                         n_features=40, max_bin=128, **SYNTHETIC)),
    "fedavg": ("star", dict(clients=2, rounds=1, n_samples=100, n_features=4, **SYNTHETIC),
               dict(clients=4, rounds=1, local_epochs=1, n_samples=100_000, n_features=40,
                    batch_size=1000, **SYNTHETIC)),
    "parallel_training": ("complete", dict(workers=2, train_samples=64, test_samples=64,
                                           epochs=1, hidden=[8]),
                          dict(workers=4, train_samples=50_000, test_samples=10_000,
                               n_features=64, epochs=1, batch_size=2048, hidden=[256])),
    "ppxgboost": ("star", dict(queries=2, batch=2, n_estimators=2, key_bits=1024),
                  dict(users=4, n_estimators=200, max_depth=4, key_bits=1024, queries=50)),
    "secagg": ("star", dict(clients=3, vector_length=10),
               dict(clients=10, vector_length=200_000)),
    "secure_mul_cmp": ("complete", dict(parties=2, vector_length=10),
                       dict(parties=2, vector_length=200_000)),
    "secure_sum": ("star", dict(parties=3, vector_length=10),
                   dict(parties=6, vector_length=200_000)),
    "secureboost": ("star", dict(clients=1, n_estimators=1, max_depth=1, n_samples=100,
                                 n_features=4, **SYNTHETIC, **INSECURE),
                    dict(clients=2, n_estimators=1, max_depth=3, n_samples=6_000,
                         n_features=30, max_bin=64, **SYNTHETIC, **INSECURE)),
    "secureboost ciphertexts": ("star", dict(clients=1, n_estimators=1, max_depth=1,
                                             n_samples=100, n_features=4, **SYNTHETIC,
                                             **INSECURE),
                                dict(clients=1, n_estimators=1, max_depth=2, n_samples=10_000,
                                     n_features=4, max_bin=8, key_bits=512, insecure_keys=True,
                                     **SYNTHETIC)),
    "xorboost": ("complete", dict(n_samples=50, n_features=2, n_estimators=1, max_depth=1,
                                  max_bin=4, **SYNTHETIC),
                 dict(n_samples=5_000, n_features=20, n_estimators=1, max_depth=3,
                      max_bin=32, **SYNTHETIC)),
}


def measure(name: str, tmp_path: Path) -> tuple[float, float]:
    """(estimated, measured) peak bytes of the case `name`."""
    topology, warm, real = CASES[name]
    files = []
    for tag, params in (("warm", warm), ("real", real)):
        path = tmp_path / f"{tag}.toml"
        path.write_text(scenario(name.split()[0], topology, **params))
        files.append(str(path))
    proc = subprocess.run([sys.executable, "-c", PROBE, *files], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["code"] == 0, got
    spec = catalog.find(name.split()[0])
    estimate = spec.memory(spec.params.model_validate(real))
    return estimate, got["grew"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_memory_estimate_is_near_a_real_runs_peak(name, tmp_path):
    estimate, measured = measure(name, tmp_path)
    low, high = RATIO
    assert low * measured <= estimate <= high * measured, (
        f"{name}: estimated {estimate / 2**20:.1f} MiB, measured {measured / 2**20:.1f} MiB")


def test_every_protocol_has_a_measured_estimate():
    measured = {case.split()[0] for case in CASES}
    for name, spec in catalog.known().items():
        if name in BOUNDED:
            continue
        assert spec.memory is not None, f"{name} has no memory estimate"
        assert name in measured, f"{name}'s memory estimate is not measured here"


@pytest.mark.parametrize("name", sorted(data.SHAPES))
def test_the_bundled_shapes_the_estimates_use_are_those_loaded(name):
    rows, cols, classes = data.SHAPES[name]
    ds = data.load(name)
    assert ds.x.shape == (rows, cols)
    assert classes == (0 if ds.task == "regression" else len(np.unique(ds.y)))
