"""One party of a secure sum in MPyC, as ppsim's ``secure_sum`` (``scheme = "shamir"``) runs it.

Every party inputs a vector of `length` field elements of GF(2^31 - 1) (Shamir
shares of degree t to every party: ``mpc.input``), the parties add the m shared
vectors locally, and party 0 alone learns the sum from every party's share
(``mpc.output(..., receivers=0, threshold=m - 1)``). Run m of these, one per party::

    python secure_sum.py -M3 -I0 -B 21000 --no-log 1000 7    # party 0 of 3, length 1000, seed 7

It prints one JSON line: the bytes this party's MPyC runtime counted as sent to
each peer (``MessageExchanger.nbytes_sent``, read where MPyC's shutdown logs
"bytes sent": before its closing synchronisation), and, at party 0, whether the
revealed sum is right. Inputs come from the seed, so party 0 can check the sum.
"""

import json
import sys

import numpy as np
from mpyc.runtime import mpc

PRIME = 2**31 - 1


def inputs(seed: int, pid: int, length: int) -> np.ndarray:
    return np.random.default_rng([seed, pid]).integers(-(2**20), 2**20, length)


async def main(length: int, seed: int) -> None:
    secfld = mpc.SecFld(PRIME)
    m = len(mpc.parties)
    await mpc.start()
    shared = mpc.input(secfld.array(inputs(seed, mpc.pid, length)))  # one array per party
    total = shared[0]
    for x in shared[1:]:
        total = total + x
    out = await mpc.output(total, receivers=0, threshold=m - 1)
    sent = {p.pid: p.protocol.nbytes_sent for p in mpc.parties if p.pid != mpc.pid}
    await mpc.shutdown()
    report = {"pid": mpc.pid, "sent": sent}
    if out is not None:
        want = sum(inputs(seed, pid, length) for pid in range(m)) % PRIME
        report["ok"] = bool(np.array_equal(np.array(out.value, dtype=np.int64), want))
    print(json.dumps(report))


if __name__ == "__main__":
    mpc.run(main(int(sys.argv[1]), int(sys.argv[2])))
