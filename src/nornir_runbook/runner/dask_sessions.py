"""A dask worker plugin that closes the sessions a worker keeps between runs when it stops.

With ``keep_sessions``, a run leaves its device sessions open on the workers for the next
one; this plugin makes a worker that shuts down log them out instead of leaving them to the
devices' own timeouts.
"""

from __future__ import annotations

from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from nornir_runbook.runner.remote import close_on_worker

NAME = "nornir-runbook-sessions-1"


class SessionCloser(WorkerPlugin):
    """On worker teardown: close every session the worker holds."""

    idempotent = True

    def teardown(self, worker: Any) -> None:
        close_on_worker()
