"""``python -m ppsim ...``: the command line, as the ``ppsim`` script."""

import sys

from ppsim.cli import main

sys.exit(main())
