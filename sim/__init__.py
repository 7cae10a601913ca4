"""ppsim's kernel: parties, the simulated runtime, the network model and the ledger.

Protocols are ``async def`` programs that await a `Party`; `simulate` runs them
over a networkx topology in virtual time and returns a `RunResult` whose ledger
holds what they cost (`costs` turns it into report keys). A wire `Profile`
sizes the messages a protocol tags with a kind as a framework would send them
(`sim.profiles`; `DEFAULT_PROFILE` is ppsim's own encoding). A protocol offers
itself to the application as a `ProtocolSpec` (parameters as a `Params` model,
a `Plan` per run). `sim.testing` runs programs in tests; `sim.tcp` runs the same
programs over real sockets. The application (scenario files, reports, sweeps,
the command line) is the `ppsim` package, built on this one; nothing here
imports it.
"""

from sim.calibrate import CalibrationFit
from sim.codec import register_type
from sim.costmodel import OPS, CostModel, CostModelError
from sim.costs import costs
from sim.engine import (
    Crash,
    Deadlock,
    LinkFault,
    PartyFailure,
    Progress,
    RunResult,
    Simulation,
    SimulationError,
    simulate,
)
from sim.hosts import Host
from sim.ledger import Ledger, Message
from sim.network import Network
from sim.party import Party, Program
from sim.plan import FileParam, Params, Plan, ProtocolSpec, RenamedParameter, ResultMissing
from sim.profiles import PPSIM as DEFAULT_PROFILE
from sim.profiles import Profile, ProfileError
from sim.wire import size_of

__all__ = [
    "OPS",
    "CalibrationFit",
    "CostModel",
    "CostModelError",
    "DEFAULT_PROFILE",
    "Crash",
    "Deadlock",
    "FileParam",
    "Host",
    "Ledger",
    "LinkFault",
    "Message",
    "Network",
    "Params",
    "Party",
    "PartyFailure",
    "Plan",
    "Profile",
    "ProfileError",
    "Program",
    "Progress",
    "ProtocolSpec",
    "RenamedParameter",
    "ResultMissing",
    "RunResult",
    "Simulation",
    "SimulationError",
    "costs",
    "register_type",
    "simulate",
    "size_of",
]
