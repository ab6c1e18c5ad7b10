"""The runner layer: :class:`FuturesRunner` (Nornir's ``futures`` runner plugin), its executors,
remote work, the connection guard and host key checking.

Names are imported on first use (``nornir_runbook.runner:FuturesRunner`` is Nornir's entry point),
so reading :mod:`nornir_runbook.runner.hostkeys` settings does not load Nornir.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nornir_runbook.lazy import exports

if TYPE_CHECKING:
    from nornir_runbook.runner.futures import FuturesRunner, HostCompletion, RunArgs, RunStats
    from nornir_runbook.runner.options import HostKeyChecking

_EXPORTS = {
    "FuturesRunner": "nornir_runbook.runner.futures",
    "HostCompletion": "nornir_runbook.runner.futures",
    "RunArgs": "nornir_runbook.runner.futures",
    "RunStats": "nornir_runbook.runner.futures",
    "HostKeyChecking": "nornir_runbook.runner.options",
}

__all__ = ["FuturesRunner", "HostCompletion", "HostKeyChecking", "RunArgs", "RunStats"]


__getattr__, __dir__ = exports(__name__, _EXPORTS)
