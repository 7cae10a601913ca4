"""The real-network runtime: the same party programs over TCP, driven by trio.

* `run_tcp(graph, programs, ...)`: every party a trio task of this process,
  connected over loopback (or given ``host:port``) sockets.
* `run_party_process(graph, programs, party_id, hosts, ...)`: one party of a
  run whose parties are separate processes, possibly on several machines.

Both return a `TcpRunResult` (a `sim.RunResult`), so `ppsim.report`
builds the same report as for a simulated run, with measured wall times.
Links are authenticated and encrypted with a run key (`sim.tcp.secure`).
"""

from sim.tcp.node import ConnectError, PeerLost, PeerTimeout, RemoteFailure, TcpError
from sim.tcp.party import TcpParty
from sim.tcp.run import (
    DEFAULT_TIMEOUT_S,
    TcpRunResult,
    parse_hosts,
    run_party_async,
    run_party_process,
    run_tcp,
    run_tcp_async,
)
from sim.tcp.secure import RUN_KEY_BYTES, new_run_key

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "ConnectError",
    "PeerLost",
    "PeerTimeout",
    "RUN_KEY_BYTES",
    "RemoteFailure",
    "TcpError",
    "TcpParty",
    "TcpRunResult",
    "new_run_key",
    "parse_hosts",
    "run_party_async",
    "run_party_process",
    "run_tcp",
    "run_tcp_async",
]
