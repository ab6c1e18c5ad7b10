"""What the files of a saved run hold, and their names: a host's readable file, failed.txt, and
one file per command output.

Nothing volatile goes into them (no time, no duration, no run id: those are in report.json), so
that ``diff -r`` of two runs of the same runbook shows only what the devices said differently::

    hosts/<host>.txt                                   status, then each step and its outputs
    outputs/<host>/<NN>-<step name>/<command>.txt      a command's output as the device sent it
    outputs/<host>/<NN>-<step name>/<command>.json     parsed output (sorted keys, indent 2)
    outputs/<host>/<NN>-<step name>/result.txt|.json   another task's result

``NN`` is the step's place in the host's steps, from 01. Names are made safe with
:func:`~nornir_runbook.files.safe_name` and unique (case-insensitively, ``~2``, ``~3``...).
Every string passes the ``Redactor``; text files have control characters escaped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from nornir_runbook.files import safe_name
from nornir_runbook.redact import Redactor
from nornir_runbook.report.document import named_outputs, plain, step_outputs
from nornir_runbook.report.results import HostReport, RunReport, StepResult
from nornir_runbook.text import printable

HOSTS = "hosts"
OUTPUTS = "outputs"
MAX_NAME = 120  # characters of a file name taken from a command or step name, before ~N


def unique_names(names: Iterable[str], redactor: Redactor) -> list[str]:
    """Each of ``names`` as a safe file name stem; names that clean up alike (in any case, on
    case-insensitive file systems) get ``~2``, ``~3``..."""
    stems: list[str] = []
    taken: set[str] = set()
    tried: dict[str, int] = {}  # base -> the last N tried for it: below it all are taken
    for name in names:
        base = safe_name(redactor.scrub(name))[:MAX_NAME]
        n = tried.get(base.lower(), 1)
        stem = base if n == 1 else f"{base}~{n}"
        while stem.lower() in taken:
            n += 1
            stem = f"{base}~{n}"
        tried[base.lower()] = n
        taken.add(stem.lower())
        stems.append(stem)
    return stems


def host_filenames(
    names: Iterable[str], redactor: Redactor, suffix: str = ".txt"
) -> dict[str, str]:
    """Host name -> ``<host>.txt`` (or ``suffix``); names that clean up alike get ``~2``..."""
    names = list(names)
    stems = unique_names(names, redactor)
    return {name: f"{stem}{suffix}" for name, stem in zip(names, stems, strict=True)}


def _step_text(step: StepResult) -> list[str]:
    lines = ["", f"== {step.name}: {step.status.value}{' (changed)' * step.changed}"]
    lines.append(f"   task {step.task}")
    if step.error:
        lines += ["", "error:", step.error.rstrip()]
    if step.checks:
        lines += ["", "checks:"]
        for check in step.checks:
            label = "ok" if check.ok else "failed"
            detail = f" ({check.detail})" if check.detail else ""
            lines.append(f"   {label}: {check.that}{detail}")
    if step.diff:
        lines += ["", "diff:", step.diff.rstrip("\n")]
    for label, text in step_outputs(step.result):
        lines += ["", f"-- {label or 'result'}", text]
    return lines


def host_text(host: HostReport, *, runbook: str, redactor: Redactor) -> str:
    """The readable file of one host: a header, then each step with its outputs."""
    lines = [
        f"host:     {host.name}",
        f"status:   {host.status.value}",
        f"changed:  {'yes' if host.changed else 'no'}",
        f"runbook:  {runbook}",
    ]
    for step in host.steps:
        lines += _step_text(step)
    if not host.steps:
        lines += ["", "(no step ran on this host)"]
    return printable(redactor.scrub("\n".join(lines) + "\n"))  # a text file: controls escaped


def failed_text(report: RunReport, redactor: Redactor) -> str:
    return "".join(f"{printable(redactor.scrub(name))}\n" for name in report.failed_hosts())


def output_file(value: Any, redactor: Redactor) -> tuple[str, str]:
    """(suffix, content) of one output: ``.txt`` for text, ``.json`` for anything else."""
    if isinstance(value, str):
        text = printable(redactor.scrub(value))
        return ".txt", text if not text or text.endswith("\n") else text + "\n"
    data = redactor.scrub_data(plain(value))
    return ".json", json.dumps(data, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def output_files(host: HostReport, redactor: Redactor) -> dict[PurePosixPath, str]:
    """``<NN>-<step name>/<command>.txt`` (or ``.json``) -> content, for each output of each of
    ``host``'s steps, relative to the host's folder under ``outputs/``."""
    width = max(2, len(str(len(host.steps))))
    step_dirs = unique_names(
        (f"{n:0{width}d}-{s.name}" for n, s in enumerate(host.steps, 1)), redactor
    )
    files: dict[PurePosixPath, str] = {}
    for step, folder in zip(host.steps, step_dirs, strict=True):
        outputs = named_outputs(step.task, step.result)
        stems = unique_names((label for label, _ in outputs), redactor)
        for (_, value), stem in zip(outputs, stems, strict=True):
            suffix, content = output_file(value, redactor)
            files[PurePosixPath(folder, stem + suffix)] = content
    return files
