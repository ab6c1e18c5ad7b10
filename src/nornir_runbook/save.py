"""The report as data and as files: the json document, jsonl records, yaml, and ``--save DIR``.

``--save DIR`` writes, for a run::

    DIR/<run_id>/report.json        the json document (SPEC "Output")
    DIR/<run_id>/hosts/<host>.txt   one per host: its status, then each step and its outputs
    DIR/<run_id>/failed.txt         the hosts to run again, one a line (``--limit @file``):
                                    failed and unreachable ones, and after a run cut short
                                    (interrupted, or stopped by max_fail_percentage) the
                                    skipped ones too

Every file is written to a temporary file in its directory, then renamed over its name, so a
reader never sees half a file; files are created owner-only (0600), as they hold device output.
Every string passes the ``Redactor`` first.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any

import yaml

from .display import printable
from .errors import UsageError
from .redact import Redactor
from .results import Event, HostDone, HostReport, RunReport, RunStarted, StepResult

# --- plain data ------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _finite(number: float) -> float | str:
    return float(number) if math.isfinite(number) else str(number)


_SCALARS: tuple[tuple[type, Callable[[Any], Any]], ...] = (
    (bool, bool),
    (int, int),  # IntEnum members become plain int
    (float, _finite),  # json has no NaN or Infinity
    (str, str.__str__),  # StrEnum members and other subclasses become plain str
    (bytes, _decode),
)


def plain(value: Any) -> Any:
    """A json- and yaml-safe copy: str keys, lists for sequences and sets, str() for the rest."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {
            (str.__str__(k) if isinstance(k, str) else str(k)): plain(v) for k, v in value.items()
        }
    if isinstance(value, set | frozenset):
        return sorted((plain(v) for v in value), key=str)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    convert = next((f for kind, f in _SCALARS if isinstance(value, kind)), str)
    return convert(value)


def document(report: RunReport, redactor: Redactor) -> dict[str, Any]:
    """The json document of SPEC "Output", scrubbed."""
    doc: dict[str, Any] = redactor.scrub_data(plain(report.to_dict()))
    return doc


def host_record(host: HostReport, redactor: Redactor) -> dict[str, Any]:
    """One jsonl line: ``{"host": name, **host.to_dict()}``, scrubbed."""
    record: dict[str, Any] = redactor.scrub_data(plain({"host": host.name, **host.to_dict()}))
    return record


def summary_record(report: RunReport, redactor: Redactor) -> dict[str, Any]:
    """The last jsonl line: the counts, then what identifies and times the run."""
    data = {
        "summary": report.summary.to_dict(),
        "runbook": report.runbook,
        "run_id": report.run_id,
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        "duration_s": round(report.duration_s, 3),
        "dry_run": report.dry_run,
        "interrupted": report.interrupted,
        "aborted": report.aborted,
        "failed_hosts": report.failed_hosts(),
    }
    record: dict[str, Any] = redactor.scrub_data(plain(data))
    return record


def dump_json(data: Any, *, indent: int | None = 2) -> str:
    """ASCII-only json (non-ASCII escaped), whatever the encoding of where it goes."""
    return json.dumps(data, indent=indent, ensure_ascii=True)


class _BlockDumper(yaml.SafeDumper):
    """``yaml.safe_dump`` that writes multi-line strings (device output) as ``|`` blocks."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None  # pyyaml falls back to quotes where | cannot be used
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_BlockDumper.add_representer(str, _represent_str)


def dump_yaml(data: Any) -> str:
    text: str = yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, default_flow_style=False)
    return text


def output_text(value: Any) -> str:
    """A command's output or a task's result as readable text."""
    if isinstance(value, str):
        return value.rstrip("\n") or "(no output)"
    return json.dumps(plain(value), indent=2, ensure_ascii=False)


def step_outputs(result: Any) -> list[tuple[str, str]]:
    """(label, text) of a step's result: one per command (or dict key), or ("", whole result)."""
    if result is None:
        return []
    if isinstance(result, dict):
        return [(str(key), output_text(value)) for key, value in result.items()]
    return [("", output_text(result))]


# --- files -----------------------------------------------------------------------------------


_PROBE_BYTES = 64 * 1024  # written and removed again by prepare_save_dir


def prepare_save_dir(directory: Path) -> None:
    """Create ``directory`` and prove it writable, before any device is touched.

    Raises ``UsageError`` (exit code 5) when it, or a parent, is a file, or it cannot be created
    or written to, or has no room for :data:`_PROBE_BYTES` (a full disk).
    """
    try:
        blocker = next((p for p in (directory, *directory.parents) if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            what = "exists" if blocker == directory else f"cannot be created: {blocker} exists"
            raise UsageError(f"--save {directory}: {what} and is not a directory")
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".nrb-probe-")
        try:  # bytes, not only a name: a full disk still has room for an empty file
            os.write(fd, bytes(_PROBE_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(f"--save {directory}: cannot create or write to it: {reason}") from exc


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, line endings as given) to a temporary file beside ``path``, then
    rename it over ``path``: a reader sees the old file or the new one, never half of it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def safe_name(name: str) -> str:
    """A file name from a host name or run id: no separators, no leading dot."""
    cleaned = re.sub(r"[^A-Za-z0-9._@+-]", "_", name).lstrip(".")
    return cleaned or "_"


def host_filenames(names: Iterable[str], redactor: Redactor) -> dict[str, str]:
    """Host name -> ``<host>.txt``; names that clean up alike get ``~2``, ``~3``..."""
    files: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        stem = base = safe_name(redactor.scrub(name))
        n = 1
        while stem.lower() in taken:  # case-insensitive file systems
            n += 1
            stem = f"{base}~{n}"
        taken.add(stem.lower())
        files[name] = f"{stem}.txt"
    return files


def _step_text(step: StepResult) -> list[str]:
    lines = ["", f"== {step.name}: {step.status.value}{' (changed)' * step.changed}"]
    lines.append(f"   task {step.task}, {step.duration_s:.2f}s")
    if step.error:
        lines += ["", "error:", step.error.rstrip()]
    for label, text in step_outputs(step.result):
        lines += ["", f"-- {label or 'result'}", text]
    return lines


def host_text(host: HostReport, *, runbook: str, run_id: str, redactor: Redactor) -> str:
    """The readable file of one host: a header, then each step with its outputs."""
    lines = [
        f"host:     {host.name}",
        f"status:   {host.status.value}",
        f"changed:  {'yes' if host.changed else 'no'}",
        f"duration: {host.duration_s:.2f}s",
        f"runbook:  {runbook}",
        f"run:      {run_id}",
    ]
    for step in host.steps:
        lines += _step_text(step)
    if not host.steps:
        lines += ["", "(no step ran on this host)"]
    return printable(redactor.scrub("\n".join(lines) + "\n"))  # a text file: controls escaped


def failed_text(report: RunReport, redactor: Redactor) -> str:
    return "".join(f"{printable(redactor.scrub(name))}\n" for name in report.failed_hosts())


def run_dir(directory: Path, run_id: str) -> Path:
    return directory / safe_name(run_id)


def save_host(
    host: HostReport, path: Path, *, runbook: str, run_id: str, redactor: Redactor
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, host_text(host, runbook=runbook, run_id=run_id, redactor=redactor))


def save_report(
    report: RunReport, directory: Path, *, redactor: Redactor, saved: Collection[str] = ()
) -> Path:
    """Write the whole report under ``directory/<run_id>/`` and return that folder; the hosts
    in ``saved`` already have their file there and are not written again.

    OSError (disk full, ...) propagates: what was already written stays whole.
    """
    target = run_dir(directory, report.run_id)
    hosts_dir = target / "hosts"
    hosts_dir.mkdir(parents=True, exist_ok=True)
    files = host_filenames((h.name for h in report.hosts), redactor)
    for host in report.hosts:
        if host.name in saved:
            continue
        path = hosts_dir / files[host.name]
        save_host(host, path, runbook=report.runbook, run_id=report.run_id, redactor=redactor)
    atomic_write(target / "report.json", dump_json(document(report, redactor)) + "\n")
    atomic_write(target / "failed.txt", failed_text(report, redactor))
    return target


class SaveOutput:
    """An ``Output`` that saves as the run goes: each host's file as soon as it completes, so a
    run that is killed still leaves the hosts that finished; ``finish`` writes everything with
    ``save_report``. Use it with ``render.Tee``.

    A write that fails (a disk that filled up during the run) never stops the run: ``error``
    keeps the first failure, later hosts are not written, and ``finish`` tries every unwritten
    file once more (it succeeds if room was made meanwhile, and then clears ``error``).
    """

    def __init__(self, directory: Path, *, redactor: Redactor) -> None:
        self.directory = directory
        self._redactor = redactor
        self._run: RunStarted | None = None
        self._files: dict[str, str] = {}
        self.saved_to: Path | None = None
        self.error: OSError | None = None
        self._saved: set[str] = set()  # hosts whose file is written

    def on_event(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._run = event
            self._files = host_filenames(event.hosts, self._redactor)
        elif isinstance(event, HostDone) and self._run is not None and self.error is None:
            run, host = self._run, event.report
            name = self._files.get(host.name) or f"{safe_name(self._redactor.scrub(host.name))}.txt"
            path = run_dir(self.directory, run.run_id) / "hosts" / name
            try:
                save_host(
                    host, path, runbook=run.runbook, run_id=run.run_id, redactor=self._redactor
                )
            except OSError as exc:
                self.error = exc
            else:
                self._saved.add(host.name)

    def finish(self, report: RunReport) -> None:
        try:
            self.saved_to = save_report(
                report, self.directory, redactor=self._redactor, saved=self._saved
            )
        except OSError as exc:
            self.error = exc
        else:
            self.error = None
