"""Optional dependencies: the core installs lean, extras add what some commands need.

=========  ==========================  =======================================
extra      brings                      for
=========  ==========================  =======================================
sweep      pandas, pyarrow             sweeps (results tables), CSV/Parquet data
plots      matplotlib (+ sweep)        ``ppsim report``
cluster    dask.distributed (+ sweep)  sweeps on a Dask cluster (``--cluster``)
tcp        trio                        ``--runtime tcp``, ``ppsim party``, ``calibrate``
all        every extra above
=========  ==========================  =======================================

Those modules are imported only where they are used, so a missing one fails
the one command that needs it; `explain` turns that failure into a message
naming the extra to install.
"""

from __future__ import annotations

EXTRAS = {"pandas": "sweep", "pyarrow": "sweep", "matplotlib": "plots", "dask": "cluster",
          "distributed": "cluster", "trio": "tcp"}
"""The top-level module of each optional dependency, and the extra that installs it."""


def explain(exc: ImportError) -> str | None:
    """What to install for a missing optional module, or None if `exc` is about another."""
    module = (exc.name or "").partition(".")[0]
    extra = EXTRAS.get(module)
    if extra is None:
        return None
    return (f"this needs {module}, which comes with the optional '{extra}' extra: "
            f"pip install 'ppsim[{extra}]' (or 'ppsim[all]' for every extra)")
