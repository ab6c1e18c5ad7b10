"""Reading a run that ``--save`` wrote, for ``nrb diff`` and ``nrb report``.

A saved run is named by its folder (``DIR/<run_id>``), by ``DIR/latest``, or by its
``report.json``. What is read is the json document of SPEC "Output"; anything else at that path
(nothing, a folder without ``report.json``, a file that is not such a document) is an input
error (exit code 5) that names the path and says what is wrong with it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nornir_runbook.errors import UsageError

REPORT = "report.json"


@dataclass(frozen=True, slots=True)
class SavedRun:
    """One saved run: its folder and its json document (as read, not to be changed)."""

    folder: Path
    document: Mapping[str, Any]

    @property
    def runbook(self) -> str:
        return str(self.document["runbook"])

    @property
    def run_id(self) -> str:
        return str(self.document.get("run_id", self.folder.name))

    @property
    def hosts(self) -> Mapping[str, Mapping[str, Any]]:
        """Host name -> its record (``status``, ``changed``, ``steps``...), in inventory order."""
        hosts: Mapping[str, Mapping[str, Any]] = self.document["hosts"]
        return hosts


def load_run(path: str | Path) -> SavedRun:
    """The saved run at ``path``: a run folder, ``DIR/latest``, or a ``report.json``.

    Raises ``UsageError`` (exit code 5) naming the path when there is no run there or its
    ``report.json`` cannot be read as a run's document.
    """
    given = Path(path)
    report = given / REPORT if given.is_dir() else given
    if not given.exists():
        what = "a dangling symlink" if given.is_symlink() else "no such file or folder"
        raise UsageError(f"{given}: not a saved run: {what}")
    if given.is_dir() and not report.is_file():
        raise UsageError(f"{given}: not a saved run: it has no {REPORT}")
    try:
        text = report.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"{report}: cannot read the saved run: {reason}") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"{report}:{exc.lineno}:{exc.colno}"
        raise UsageError(f"{where}: not a saved run: invalid json: {exc.msg}") from exc
    problem = _shape_problem(document)
    if problem is not None:
        raise UsageError(f"{report}: not a saved run: {problem}")
    return SavedRun(folder=report.parent, document=document)


def _shape_problem(document: Any) -> str | None:
    """What makes ``document`` unlike a run's json document, or None."""
    if not isinstance(document, dict):
        return f"expected a json object, got {type(document).__name__}"
    if not isinstance(document.get("runbook"), str):
        return "key 'runbook': expected a string"
    hosts = document.get("hosts")
    if not isinstance(hosts, dict):
        return "key 'hosts': expected an object of hosts"
    return next((p for p in (_host_problem(n, r) for n, r in hosts.items()) if p is not None), None)


def _host_problem(name: str, record: Any) -> str | None:
    """What makes one host's record unlike a host of a run's document, or None."""
    problem = None
    steps = record.get("steps") if isinstance(record, dict) else None
    if not isinstance(record, dict):
        problem = f"hosts.{name}: expected an object"
    elif not isinstance(record.get("status"), str):
        problem = f"hosts.{name}.status: expected a string"
    elif not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        problem = f"hosts.{name}.steps: expected a list of objects"
    else:
        bad = next(
            (i for i, s in enumerate(steps) if not _strings(s.get("name"), s.get("status"))),
            None,
        )
        if bad is not None:
            problem = f"hosts.{name}.steps[{bad}]: expected 'name' and 'status' strings"
    return problem


def _strings(*values: Any) -> bool:
    return all(isinstance(v, str) for v in values)
