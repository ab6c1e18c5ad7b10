"""What a run shows: ansible-like text with a live progress line, or json / yaml / jsonl.

The engine hands every ``Event`` to ``Output.on_event`` in the caller's thread as the run goes,
then the CLI calls ``Output.finish`` once with the final (possibly partial) ``RunReport``.
Implementations write to the rich ``Console`` they are given and never call ``print()``; every
string on its way out passes the ``Redactor``.

:mod:`.text_output` writes the text, :mod:`.progress` the live line; machine formats, here,
bypass rich (``console.file.write``): nothing wraps, colours or highlights them.
"""

from __future__ import annotations

from typing import Literal, Protocol

from rich.console import Console

from nornir_runbook.redact import Redactor
from nornir_runbook.report.document import (
    document,
    dump_json,
    dump_yaml,
    host_record,
    summary_record,
)
from nornir_runbook.report.progress import ProgressOutput
from nornir_runbook.report.results import Event, HostDone, HostReport, RunReport
from nornir_runbook.report.text_output import TextOutput

Format = Literal["text", "json", "yaml", "jsonl"]
FORMATS: tuple[Format, ...] = ("text", "json", "yaml", "jsonl")


class Output(Protocol):
    """Where a run's events and its final report go."""

    def on_event(self, event: Event) -> None: ...

    def finish(self, report: RunReport) -> None: ...


def make_output(
    fmt: Format,
    console: Console,
    *,
    verbose: int = 0,
    redactor: Redactor,
    live: bool | None = None,
    progress: Console | None = None,
) -> Output:
    """The output of ``-o FMT``; ``live=None`` shows the progress line only on a terminal.

    Machine formats show it on ``progress`` (stderr) when that is a terminal, but not for jsonl
    on a terminal stdout: its lines are the progress there, and would break the live line.
    """
    if fmt == "text":
        show_live = console.is_interactive if live is None else live
        return TextOutput(console, redactor=redactor, verbose=verbose, live=show_live)
    machine: Output
    if fmt == "jsonl":
        machine = JsonlOutput(console, redactor=redactor)
    elif fmt in ("json", "yaml"):
        machine = DocumentOutput(console, redactor=redactor, fmt=fmt)
    else:
        raise ValueError(f"unknown output format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if progress is None or not progress.is_interactive:
        return machine
    if fmt == "jsonl" and console.is_terminal:
        return machine
    return Tee(ProgressOutput(progress, redactor=redactor), machine)  # the line goes first


class Tee:
    """Several outputs fed the same events, e.g. the chosen format and ``save.SaveOutput``."""

    def __init__(self, *outputs: Output) -> None:
        self.outputs = outputs

    def on_event(self, event: Event) -> None:
        for output in self.outputs:
            output.on_event(event)

    def finish(self, report: RunReport) -> None:
        for output in self.outputs:
            output.finish(report)


# --- machine formats -------------------------------------------------------------------------


def _write(console: Console, text: str) -> None:
    console.file.write(text)
    console.file.flush()


class DocumentOutput:
    """``-o json`` / ``-o yaml``: one document at the end, nothing while the run goes."""

    def __init__(
        self, console: Console, *, redactor: Redactor, fmt: Literal["json", "yaml"]
    ) -> None:
        self._console = console
        self._redactor = redactor
        self._fmt = fmt

    def on_event(self, event: Event) -> None:
        pass

    def finish(self, report: RunReport) -> None:
        doc = document(report, self._redactor)
        _write(self._console, dump_json(doc) + "\n" if self._fmt == "json" else dump_yaml(doc))


class JsonlOutput:
    """``-o jsonl``: a line per host as it completes; at the end the hosts that never completed
    (an interrupted run's skipped hosts), then ``{"summary": ...}``."""

    def __init__(self, console: Console, *, redactor: Redactor) -> None:
        self._console = console
        self._redactor = redactor
        self._written: set[str] = set()

    def on_event(self, event: Event) -> None:
        if isinstance(event, HostDone):
            self._host(event.report)

    def finish(self, report: RunReport) -> None:
        for host in report.hosts:
            if host.name not in self._written:
                self._host(host)
        _write(self._console, dump_json(summary_record(report, self._redactor), indent=None) + "\n")

    def _host(self, host: HostReport) -> None:
        self._written.add(host.name)
        _write(self._console, dump_json(host_record(host, self._redactor), indent=None) + "\n")
