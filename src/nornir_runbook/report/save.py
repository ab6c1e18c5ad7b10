"""The report as data and as files: the json document, jsonl records, yaml, and ``--save DIR``.

``--save DIR`` writes, for a run::

    DIR/<run_id>/report.json        the json document (SPEC "Output")
    DIR/<run_id>/hosts/<host>.txt   one per host: its status, then each step and its outputs
    DIR/<run_id>/failed.txt         the hosts to run again, one a line (``--limit @file``):
                                    failed and unreachable ones, and after a run cut short
                                    (interrupted, or stopped by max_fail_percentage) the
                                    skipped ones too
    DIR/latest -> <run_id>          the run saved last

A run id is the UTC second the run started and a random suffix (``20261125T101500Z-3f9a1c``),
and its folder is created exclusively: two runs started in the same second never share a
folder, and a name that already exists (a symlink planted there included) is refused, never
followed. Every file is written to a temporary file in its directory, synced to disk, then
renamed over its name, so a reader never sees half a file; ``latest`` is replaced the same way
(a new symlink renamed over it). Files are owner-only (0600) and so are the folders nrb creates
(0700), as they hold device output. Every string passes the ``Redactor`` first.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import secrets
import tempfile
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from nornir_runbook.errors import UsageError
from nornir_runbook.files import atomic_write, safe_name
from nornir_runbook.redact import Redactor
from nornir_runbook.report.results import (
    Event,
    HostDone,
    HostReport,
    RunReport,
    RunStarted,
    StepResult,
)
from nornir_runbook.text import printable

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
_FOLDER_MODE = 0o700  # every folder --save creates; files are 0600 (mkstemp's mode)
LATEST = "latest"


def new_run_id(now: datetime) -> str:
    """``20261125T101500Z-3f9a1c``: the UTC second ``now`` (aware), a dash, 24 random bits."""
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def make_folders(directory: Path) -> None:
    """``directory`` and its missing parents, each created owner-only (0700)."""
    missing = [p for p in (directory, *directory.parents) if not p.is_dir()]
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by a concurrent run
            path.mkdir(mode=_FOLDER_MODE)


def prepare_save_dir(directory: Path, option: str = "--save") -> None:
    """Create ``directory`` and prove it writable, before any device is touched.

    Raises ``UsageError`` (exit code 5, its message starting with ``option``) when it, or a
    parent, is a file, or it cannot be created or written to, or has no room for
    :data:`_PROBE_BYTES` (a full disk).
    """
    try:
        blocker = next((p for p in (directory, *directory.parents) if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            what = "exists" if blocker == directory else f"cannot be created: {blocker} exists"
            raise UsageError(f"{option} {directory}: {what} and is not a directory")
        make_folders(directory)
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".nrb-probe-")
        try:  # bytes, not only a name: a full disk still has room for an empty file
            os.write(fd, bytes(_PROBE_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(f"{option} {directory}: cannot create or write to it: {reason}") from exc


def host_filenames(
    names: Iterable[str], redactor: Redactor, suffix: str = ".txt"
) -> dict[str, str]:
    """Host name -> ``<host>.txt`` (``suffix``); names that clean up alike get ``~2``, ``~3``..."""
    files: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        stem = base = safe_name(redactor.scrub(name))
        n = 1
        while stem.lower() in taken:  # case-insensitive file systems
            n += 1
            stem = f"{base}~{n}"
        taken.add(stem.lower())
        files[name] = f"{stem}{suffix}"
    return files


def _step_text(step: StepResult) -> list[str]:
    lines = ["", f"== {step.name}: {step.status.value}{' (changed)' * step.changed}"]
    lines.append(f"   task {step.task}, {step.duration_s:.2f}s")
    if step.error:
        lines += ["", "error:", step.error.rstrip()]
    if step.checks:
        lines += ["", "checks:"]
        for check in step.checks:
            label = "ok" if check.ok else "failed"
            detail = f" ({check.detail})" if check.detail else ""
            lines.append(f"   {label}: {check.that}{detail}")
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


def create_run_dir(directory: Path, run_id: str) -> Path:
    """``directory/<run_id>/`` and its ``hosts/`` folder, created exclusively and owner-only.

    Raises ``FileExistsError`` when the name is taken, by whatever is there (a folder, a file,
    a symlink, even a dangling one): a run never writes into a folder it did not create.
    """
    target = run_dir(directory, run_id)
    try:
        target.mkdir(mode=_FOLDER_MODE)
    except FileExistsError:
        message = "the run folder exists already (a run folder is never reused)"
        raise FileExistsError(errno.EEXIST, message, str(target)) from None
    (target / "hosts").mkdir(mode=_FOLDER_MODE)
    return target


def _sync_folder(path: Path) -> None:
    """Make the renames done in folder ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def point_latest(directory: Path, target: Path) -> None:
    """Point ``directory/latest`` at run folder ``target`` (a relative symlink): a new symlink
    renamed over it, so it is replaced in one step and whatever it was is never followed."""
    latest = directory / LATEST
    tmp = directory / f".{LATEST}.{secrets.token_hex(8)}.tmp"
    os.symlink(target.name, tmp)
    try:
        os.replace(tmp, latest)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        message = f"cannot point {latest} at the run: {exc.strerror}"
        raise OSError(exc.errno, message) from exc
    _sync_folder(directory)


def save_host(
    host: HostReport, path: Path, *, runbook: str, run_id: str, redactor: Redactor
) -> None:
    atomic_write(path, host_text(host, runbook=runbook, run_id=run_id, redactor=redactor))


def write_report(
    report: RunReport, target: Path, *, redactor: Redactor, saved: Collection[str] = ()
) -> None:
    """Write the whole report into run folder ``target`` (from :func:`create_run_dir`); the
    hosts in ``saved`` already have their file there and are not written again.

    OSError (disk full, ...) propagates: what was already written stays whole.
    """
    hosts_dir = target / "hosts"
    files = host_filenames((h.name for h in report.hosts), redactor)
    for host in report.hosts:
        if host.name in saved:
            continue
        path = hosts_dir / files[host.name]
        save_host(host, path, runbook=report.runbook, run_id=report.run_id, redactor=redactor)
    atomic_write(target / "report.json", dump_json(document(report, redactor)) + "\n")
    atomic_write(target / "failed.txt", failed_text(report, redactor))
    _sync_folder(hosts_dir)
    _sync_folder(target)


def save_report(report: RunReport, directory: Path, *, redactor: Redactor) -> Path:
    """Write the whole report into a new folder ``directory/<run_id>/``, point
    ``directory/latest`` at it, and return it. ``FileExistsError`` if that folder exists."""
    make_folders(directory)
    target = create_run_dir(directory, report.run_id)
    write_report(report, target, redactor=redactor)
    point_latest(directory, target)
    return target


class SaveOutput:
    """An ``Output`` that saves as the run goes: the run's folder is created (exclusively) when
    the run starts, each host's file written as soon as the host completes, so a run that is
    killed still leaves the hosts that finished; ``finish`` writes everything else with
    ``write_report``, then points ``latest`` at the folder. Use it with ``render.Tee``.

    A write that fails (a disk that filled up during the run) never stops the run: ``error``
    keeps the first failure, later hosts are not written, and ``finish`` tries every unwritten
    file once more (it succeeds if room was made meanwhile, and then clears ``error``). A run
    folder that exists already is never written into.
    """

    def __init__(self, directory: Path, *, redactor: Redactor) -> None:
        self.directory = directory
        self._redactor = redactor
        self._run: RunStarted | None = None
        self._files: dict[str, str] = {}
        self.folder: Path | None = None  # this run's folder, once created
        self.saved_to: Path | None = None
        self.error: OSError | None = None
        self._saved: set[str] = set()  # hosts whose file is written

    def on_event(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._run = event
            self._files = host_filenames(event.hosts, self._redactor)
            self._create(event.run_id)
        elif isinstance(event, HostDone) and self._run and self.folder and self.error is None:
            run, host = self._run, event.report
            name = self._files.get(host.name) or f"{safe_name(self._redactor.scrub(host.name))}.txt"
            try:
                save_host(
                    host,
                    self.folder / "hosts" / name,
                    runbook=run.runbook,
                    run_id=run.run_id,
                    redactor=self._redactor,
                )
            except OSError as exc:
                self.error = exc
            else:
                self._saved.add(host.name)

    def _create(self, run_id: str) -> None:
        try:
            self.folder = create_run_dir(self.directory, run_id)
        except OSError as exc:
            self.error = exc

    def finish(self, report: RunReport) -> None:
        if self.folder is None and not isinstance(self.error, FileExistsError):
            self._create(report.run_id)  # a full disk may have room now
        if self.folder is None:
            return
        try:
            write_report(report, self.folder, redactor=self._redactor, saved=self._saved)
            point_latest(self.directory, self.folder)
        except OSError as exc:
            self.error = exc
        else:
            self.saved_to = self.folder
            self.error = None
