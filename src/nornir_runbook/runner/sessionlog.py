"""Netmiko's session log of one host, as ``nrb run --session-log DIR`` keeps it.

Netmiko masks only the connection's own password and enable secret, as given. This log masks
every form of every secret the run knows (the ``Redactor``'s forms, longest first), through
Netmiko's own filter, which holds back a read that ends in the start of a secret until the next
read completes or clears it. It appends (a file created owner-only, 0600), and every session
opened starts with a header line, so that one file keeps a host's sessions run after run.

A log that cannot be written (a full disk) stops, with a warning; the session goes on.

It travels to worker processes as its path, the forms and the header, and compares equal to
such a copy: a worker given the host again sees the same host and keeps its session.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from netmiko.session_log import SessionLog

from nornir_runbook.files import open_for_append

logger = logging.getLogger(__name__)


class SessionLogFile(SessionLog):
    """A host's session log at ``path``, with ``hidden`` masked; ``header`` opens each
    session (after the UTC time)."""

    def __init__(self, path: str, hidden: Sequence[str], header: str = "") -> None:
        masked = {str(i): form for i, form in enumerate(hidden)}
        super().__init__(file_name=path, file_mode="append", no_log=masked)
        self.header = header

    def open(self) -> None:
        assert self.file_name is not None
        try:
            fd = open_for_append(Path(self.file_name))
        except OSError as exc:  # checked before the run: gone since, or the disk is full
            logger.warning("session log %s: cannot open it: %s", self.file_name, exc)
            return
        self.session_log = os.fdopen(fd, "a", encoding=self.file_encoding, errors="replace")
        self._session_log_close = True
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self._write(self.no_log_filter(f"\n--- {now} {self.header}\n"))

    def write(self, data: str) -> None:
        if self.session_log is not None:  # a stopped log keeps nothing (Netmiko would buffer it)
            super().write(data)

    def _write(self, data: str) -> None:
        """Netmiko's write; a log that cannot be written (a full disk) stops logging, never the
        session: the step goes on without its log."""
        if self.session_log is None:
            return
        try:
            super()._write(data)
        except OSError as exc:
            logger.warning("session log %s: cannot write, stopping it: %s", self.file_name, exc)
            with contextlib.suppress(OSError):
                self.session_log.close()
            self.session_log = None

    def _key(self) -> tuple[Any, ...]:
        return (self.file_name, tuple(self.no_log.values()), self.header)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._key())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SessionLogFile) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"SessionLogFile({self.file_name!r}, {len(self.no_log)} forms hidden)"
