"""ppsim, the application: scenario files, runs on either runtime, reports, sweeps.

Built on the kernel (`sim`) and the topology builders (`topologies`); protocols
are found by name (`ppsim.catalog`), never imported here. A typical use::

    from ppsim import load, run_scenario
    report = run_scenario(load("scenarios/quickstart.toml"))
    print(report["totals"])

The command line (``ppsim run``, ``validate``, ``list``, ``new``, ``report``,
``compare``, ``examples``, ``party``, ``calibrate``) is `ppsim.cli`. Protocols of your
own: see ``docs/writing-a-protocol.md`` and `sim.testing`. `rollup` groups a report's
hierarchical phases (``tree3.level2`` under ``tree3`` or ``level2``).
"""

from ppsim.catalog import UnknownProtocol, find, known
from ppsim.report import SCHEMA_VERSION, rollup
from ppsim.run import run_scenario, run_scenario_party, run_scenario_tcp
from ppsim.scenario import Scenario, ScenarioError, ScenarioWarning, from_dict, load

__all__ = [
    "SCHEMA_VERSION",
    "Scenario",
    "ScenarioError",
    "ScenarioWarning",
    "UnknownProtocol",
    "find",
    "from_dict",
    "known",
    "load",
    "rollup",
    "run_scenario",
    "run_scenario_party",
    "run_scenario_tcp",
]
