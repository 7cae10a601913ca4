"""Model averaging by allreduce: recursive halving, then recursive doubling (Rabenseifner).

Why: BMUF implementations (Chen and Huo's in CNTK, and the article's) average the
models with an MPI-style allreduce, whose traffic per worker is about twice the
model whatever the number of workers. Broadcasting every model to every peer
costs ``N - 1`` models per worker and would make BMUF stop scaling for a reason
the article's BMUF does not have.

For ``n`` peers (a power of two) and a vector cut into ``n`` chunks:

* reduce-scatter, ``log2 n`` rounds: in round ``k`` a peer swaps half of the
  chunk range it still holds with the peer whose rank differs in bit
  ``n / 2**(k+1)``, and adds what it receives to the half it keeps;
* each peer divides its one remaining chunk by ``n``;
* allgather, ``log2 n`` rounds: the same pairs in reverse order swap the ranges
  they hold, which doubles them.

Each peer sends ``2 (n - 1) / n`` of the vector in ``2 log2 n`` messages. Every
chunk's sum is computed by one peer and then copied, so all peers end with
bit-identical results (the order of additions differs from ``np.mean``, so the
mean agrees with it up to float rounding). Peers not a power of two in number
use `broadcast_mean` instead. `stacked_mean` computes the same mean, bit for bit,
from all the vectors at once (the replay's average, `protocols.parallel.replay`).
"""

from __future__ import annotations

import numpy as np

from sim import Party


def is_power_of_two(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0


def stacked_mean(stack: np.ndarray) -> np.ndarray:
    """The mean of the rows of `stack` as `allreduce_mean` (or `broadcast_mean`) forms it.

    Recursive halving adds, in float arithmetic, rank ``a`` to rank ``a + n/2``, then
    those sums pairwise again, and divides by n: a pairwise tree over the ranks.
    """
    n = len(stack)
    if not is_power_of_two(n):
        return np.mean(stack, axis=0, dtype=stack.dtype)
    while len(stack) > 1:
        half = len(stack) // 2
        stack = stack[:half] + stack[half:]
    return stack[0] / stack.dtype.type(n)


async def broadcast_mean(party: Party, peers: tuple[int, ...], x: np.ndarray) -> np.ndarray:
    """Send `x` to every other peer; return the mean of all (summed in `peers` order)."""
    others = tuple(i for i in peers if i != party.id)
    mine = x.copy()
    await party.broadcast(mine, others)
    got = await party.recv_many(others)
    got[party.id] = mine
    await party.work(ring=x.size * len(peers), call=len(peers))
    return np.mean([got[i] for i in peers], axis=0, dtype=x.dtype)


async def allreduce_mean(party: Party, peers: tuple[int, ...], x: np.ndarray) -> np.ndarray:
    """The mean of the peers' vectors `x`, by recursive halving and doubling.

    `peers` is the same ordered tuple at every peer and holds `party.id`.
    """
    n = len(peers)
    if not is_power_of_two(n):
        return await broadcast_mean(party, peers, x)
    rank = peers.index(party.id)
    edges = np.linspace(0, x.size, n + 1).astype(np.int64)  # chunk c: edges[c]:edges[c+1]
    acc = x.copy()
    lo, hi = 0, n  # the chunks this peer still holds
    bits = []
    step = n // 2
    while step:
        mid = (lo + hi) // 2
        keep, give = ((mid, hi), (lo, mid)) if rank & step else ((lo, mid), (mid, hi))
        partner = peers[rank ^ step]
        await party.send(partner, acc[edges[give[0]]:edges[give[1]]].copy())
        theirs = await party.recv(partner)
        part = slice(edges[keep[0]], edges[keep[1]])
        await party.work(ring=theirs.size, call=2)
        acc[part] += theirs
        lo, hi = keep
        bits.append(step)
        step //= 2
    acc[edges[lo]:edges[hi]] /= x.dtype.type(n)
    for step in reversed(bits):
        partner = peers[rank ^ step]
        await party.send(partner, acc[edges[lo]:edges[hi]].copy())
        theirs = await party.recv(partner)
        if rank & step:
            lo -= hi - lo
            acc[edges[lo]:edges[lo] + theirs.size] = theirs
        else:
            acc[edges[hi]:edges[hi] + theirs.size] = theirs
            hi += hi - lo
    return acc
