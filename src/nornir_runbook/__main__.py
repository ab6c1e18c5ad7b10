"""``python -m nornir_runbook`` is the ``nrb`` command."""

import sys

from nornir_runbook.cli import main

sys.exit(main())
