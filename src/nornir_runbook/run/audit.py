"""The audit trail of a run (``--log-file FILE``) and the hosts' session logs (``--session-log
DIR``): what was sent to which device, when and by whom, and what the devices answered.

The audit trail is JSON lines, appended: one record per step per host that ran a step which
sends something (``commands``, ``config``, a ``task``; not a step of checks alone, nor a step
skipped on the host)::

    {"time": "2026-12-02T14:40:01.123Z", "user": "alice", "login": "alice", "uid": 1000,
     "run_id": "20261202T144000Z-3f9a1c", "runbook": "NTP", "runbook_file": "/srv/ntp.yaml",
     "mode": "run", "host": "r1", "address": "10.0.0.1:22", "step": "NTP servers",
     "task": "send_config", "sent": true, "config": ["ntp server 192.0.2.1"],
     "status": "ok", "changed": true, "error": null}

One line is one whole record (one write under a lock), so runs appending to the same file at
once never mix their lines, and ``jq`` or any script reads it line by line. ``user`` is
``getpass.getuser()`` (from the environment), ``login`` the login of the controlling terminal
(``os.getlogin()``: the person behind ``sudo``; null without a terminal), ``uid`` the numeric
user. ``mode`` is ``run``, ``check`` (``--check``: config steps send nothing) or ``dry_run``
(nothing is sent); ``sent`` says whether these lines went to the device. A ``commands`` step
lists its commands, a ``config`` step the lines sent (or, while its result is the session's
output, the lines it was given), a task its arguments. Every string passes the ``Redactor``.

Records come from the run's events (``StepDone`` as each step ends; under ``free``, where
only ``HostDone`` comes, at the host's end), so ``time`` is when nrb got the step's result.
A record that cannot be written (a full disk) never stops the run: ``error`` keeps the first
failure and ``lost`` counts them, and the command line says so at the end.
"""

from __future__ import annotations

import contextlib
import getpass
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nornir.core import Nornir

from nornir_runbook.errors import UsageError
from nornir_runbook.files import append_line, open_for_append
from nornir_runbook.project.connection import address, attach_session_logs
from nornir_runbook.redact import Redactor
from nornir_runbook.report.document import dump_json, plain
from nornir_runbook.report.results import (
    Event,
    HostDone,
    RunReport,
    RunStarted,
    Status,
    StepDone,
    StepResult,
)
from nornir_runbook.report.save import prepare_save_dir
from nornir_runbook.report.saved_files import host_filenames
from nornir_runbook.run.plan import Plan, PlannedStep
from nornir_runbook.runbook.model import StepKind


def who() -> dict[str, Any]:
    """Who runs nrb: ``user`` (getpass), ``login`` (the terminal's, or None), ``uid``."""
    try:
        login: str | None = os.getlogin()
    except OSError:  # no controlling terminal (cron, CI)
        login = None
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no name in the environment, and none for the uid
        user = str(os.getuid())
    return {"user": user, "login": login, "uid": os.getuid()}


def open_log_file(path: Path) -> int:
    """``path`` opened for appending (created 0600 when new), before any device is touched;
    UsageError (exit 5) when it cannot be."""
    try:
        return open_for_append(path)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(f"--log-file {path}: cannot open it for appending: {reason}") from exc


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class AuditLog:
    """An ``Output`` (use it with ``render.Tee``) that appends the audit records to ``fd``."""

    def __init__(
        self,
        fd: int,
        path: Path,
        *,
        nr: Nornir,
        plan: Plan,
        redactor: Redactor,
        check: bool = False,
        runbook_file: Path | None = None,
    ) -> None:
        self.path = path
        self.error: OSError | None = None
        self.lost = 0  # records that could not be written
        self._fd: int | None = fd
        self._plan = plan
        self._redactor = redactor
        self._check = check
        self._by_index = {p.index: p for p in plan.steps}
        self._addresses = {h: address(nr.inventory.hosts[h]) for h in plan.hosts}
        self._logged: dict[str, int] = {}  # host -> how many of its steps were seen
        self._base: dict[str, Any] = {
            **who(),
            "runbook": plan.runbook.name,
            "runbook_file": str(runbook_file.resolve()) if runbook_file else None,
        }

    def on_event(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            mode = "dry_run" if event.dry_run else "check" if self._check else "run"
            self._base |= {"run_id": event.run_id, "mode": mode}
        elif isinstance(event, StepDone):
            self._logged[event.host] = self._logged.get(event.host, 0) + 1
            self._record(event.host, self._by_index[event.index], event.result)
        elif isinstance(event, HostDone):
            host = event.report.name
            seen = self._logged.get(host, 0)
            pairs = list(zip(self._plan.steps_for(host), event.report.steps, strict=False))
            for planned, step in pairs[seen:]:
                self._record(host, planned, step)
            self._logged[host] = len(pairs)

    def finish(self, report: RunReport) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def _record(self, host: str, planned: PlannedStep, step: StepResult) -> None:
        mode = self._base.get("mode")
        sent = _sent(planned, host, step, dry_run=mode == "dry_run")
        if step.status is Status.SKIPPED or sent is None or self._fd is None:
            return
        kind, lines = sent
        record = {
            "time": _now(),
            **self._base,
            "host": host,
            "address": self._addresses.get(host),
            "step": step.name,
            "task": step.task,
            "sent": mode == "run" or (mode == "check" and kind != "config"),
            kind: lines,
            "status": step.status.value,
            "changed": step.changed,
            "error": step.error,
        }
        line = dump_json(self._redactor.scrub_data(plain(record)), indent=None)
        try:
            append_line(self._fd, line)
        except OSError as exc:
            self.error = self.error or exc
            self.lost += 1


def _sent(
    planned: PlannedStep, host: str, step: StepResult, *, dry_run: bool
) -> tuple[str, Any] | None:
    """(``commands``, ``config`` or ``args``, what the step sent) on ``host``; None for a step
    that sends nothing (checks alone). A dry run's result is what it would send."""
    kind = planned.step.kind
    if kind is StepKind.ASSERT:
        return None
    key = {StepKind.COMMANDS: "commands", StepKind.CONFIG: "config"}.get(kind, "args")
    given = planned.args.get(host) or None  # None: rendered on the host (it uses registered)
    lines = given and (given if key == "args" else given[key])
    result = step.result
    if dry_run and result:
        lines = result if key == "args" else result.get(key)
    elif kind is StepKind.COMMANDS and isinstance(result, dict) and result:
        lines = list(result)  # each command it sent, rendered
    elif kind is StepKind.CONFIG and isinstance(result, list):
        lines = result  # the lines it sent
    return key, plain(lines)


# -- session logs ------------------------------------------------------------------------------


def prepare_session_logs(directory: Path, hosts: Any, redactor: Redactor) -> dict[str, Path]:
    """``directory`` created (0700) and proven writable, before any device is touched (else
    UsageError, exit 5); each host's log file there, ``<host>.log``, named as ``--save`` names
    hosts' files."""
    prepare_save_dir(directory, option="--session-log")
    names = host_filenames(hosts, redactor, suffix=".log")
    return {host: directory / name for host, name in names.items()}


def record_sessions(
    nr: Nornir, files: Mapping[str, Path], redactor: Redactor, *, run_id: str, runbook: str
) -> None:
    """Each host of ``files`` logs its Netmiko sessions there, every secret masked; each session
    starts with a line naming the run."""
    header = f"nrb run {run_id} ({runbook}) by {who()['user']}: session opened"
    attach_session_logs(nr, files, redactor.forms, header)
