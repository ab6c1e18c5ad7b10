"""``--save DIR``: a run's folder, written as the run goes, and ``DIR/latest``.

``--save DIR`` writes, for a run::

    DIR/<run_id>/report.json        the json document (SPEC "Output")
    DIR/<run_id>/hosts/<host>.txt   one per host: its status, then each step and its outputs
    DIR/<run_id>/outputs/<host>/    one file per command output (:mod:`.saved_files`)
    DIR/<run_id>/failed.txt         the hosts to run again, one a line (``--limit @file``):
                                    failed and unreachable ones, and after a run cut short
                                    (interrupted, or stopped by max_fail_percentage) the
                                    skipped ones too
    DIR/latest -> <run_id>          the run saved last

What each file holds is :mod:`.saved_files`' job; report.json alone carries what changes from
run to run (times, durations, the run id).

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
import os
import secrets
import tempfile
from collections.abc import Collection
from datetime import datetime
from pathlib import Path

from nornir_runbook.errors import UsageError
from nornir_runbook.files import atomic_write, safe_name
from nornir_runbook.redact import Redactor
from nornir_runbook.report.document import document, dump_json
from nornir_runbook.report.results import Event, HostDone, HostReport, RunReport, RunStarted
from nornir_runbook.report.saved_files import (
    HOSTS,
    OUTPUTS,
    failed_text,
    host_filenames,
    host_text,
    output_files,
)

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


def run_dir(directory: Path, run_id: str) -> Path:
    return directory / safe_name(run_id)


def create_run_dir(directory: Path, run_id: str) -> Path:
    """``directory/<run_id>/`` and its ``hosts/`` and ``outputs/`` folders, created exclusively
    and owner-only.

    Raises ``FileExistsError`` when the name is taken, by whatever is there (a folder, a file,
    a symlink, even a dangling one): a run never writes into a folder it did not create.
    """
    target = run_dir(directory, run_id)
    try:
        target.mkdir(mode=_FOLDER_MODE)
    except FileExistsError:
        message = "the run folder exists already (a run folder is never reused)"
        raise FileExistsError(errno.EEXIST, message, str(target)) from None
    (target / HOSTS).mkdir(mode=_FOLDER_MODE)
    (target / OUTPUTS).mkdir(mode=_FOLDER_MODE)
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
    host: HostReport, target: Path, filename: str, *, runbook: str, redactor: Redactor
) -> None:
    """Write ``host``'s file ``hosts/<filename>`` and its outputs, one file per command, under
    ``outputs/<filename without .txt>/`` in run folder ``target``."""
    atomic_write(target / HOSTS / filename, host_text(host, runbook=runbook, redactor=redactor))
    files = output_files(host, redactor)
    if not files:
        return
    host_dir = target / OUTPUTS / filename.removesuffix(".txt")
    folders = sorted({host_dir / path.parent for path in files})
    for folder in (host_dir, *folders):
        folder.mkdir(mode=_FOLDER_MODE, exist_ok=True)
    for path, content in files.items():
        atomic_write(host_dir / path, content)
    for folder in folders:
        _sync_folder(folder)
    _sync_folder(host_dir)


def write_report(
    report: RunReport, target: Path, *, redactor: Redactor, saved: Collection[str] = ()
) -> None:
    """Write the whole report into run folder ``target`` (from :func:`create_run_dir`); the
    hosts in ``saved`` already have their files there and are not written again.

    OSError (disk full, ...) propagates: what was already written stays whole.
    """
    files = host_filenames((h.name for h in report.hosts), redactor)
    for host in report.hosts:
        if host.name not in saved:
            save_host(host, target, files[host.name], runbook=report.runbook, redactor=redactor)
    atomic_write(target / "report.json", dump_json(document(report, redactor)) + "\n")
    atomic_write(target / "failed.txt", failed_text(report, redactor))
    _sync_folder(target / HOSTS)
    if (target / OUTPUTS).is_dir():
        _sync_folder(target / OUTPUTS)
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
                save_host(host, self.folder, name, runbook=run.runbook, redactor=self._redactor)
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
