"""``python -m sim.tcp FILE --id K --hosts ...``: one party process (see `sim.tcp.scenarios`)."""

import sys

from sim.tcp.scenarios import main

sys.exit(main())
