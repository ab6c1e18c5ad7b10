"""The transient live line of a run on a terminal: spinner, what runs, hosts done, failures,
elapsed time; and :class:`ProgressOutput`, that line alone beside a machine format."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nornir_runbook.redact import Redactor
from nornir_runbook.report.results import (
    Event,
    HostDone,
    RunReport,
    RunStarted,
    Status,
    StepDone,
    StepStarted,
)
from nornir_runbook.text import plural, printable

if TYPE_CHECKING:
    from rich.console import Console

BAD = (Status.FAILED, Status.UNREACHABLE)


def progress_text(
    run: RunStarted, step: StepStarted | None, step_done: int, done: int, failed: int
) -> str:
    """The live line's text: what runs, hosts done, failures."""
    parts = []
    if step is not None:
        total = max(len(run.steps), step.index + 1)
        parts.append(f"step {step.index + 1}/{total} {step.name}")
        parts.append(f"{step_done}/{plural(len(step.hosts), 'host')}")
    else:
        parts.append(f"{done}/{plural(len(run.hosts), 'host')}")
    parts.append(f"{failed} failed")
    return "  ".join(parts)


class ProgressLine:
    """The transient live line: spinner, what runs, hosts done, failures, elapsed time."""

    def __init__(self, console: Console) -> None:
        # imported only for a live line: a run without one (output to a pipe) loads none of it
        from rich.progress import (  # noqa: PLC0415
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            redirect_stdout=False,  # on stderr, it must not take what goes to stdout
            redirect_stderr=False,
        )
        self._task = self._progress.add_task("starting", total=None)
        self._progress.start()

    def show(self, description: str) -> None:
        self._progress.update(self._task, description=description, refresh=True)

    def stop(self) -> None:
        self._progress.stop()


class ProgressOutput:
    """The live progress line alone, for json, yaml and jsonl: on stderr, when it is a terminal,
    while stdout carries only the document or the lines."""

    def __init__(self, console: Console, *, redactor: Redactor) -> None:
        self._console = console
        self._redactor = redactor
        self._live: ProgressLine | None = None
        self._run = RunStarted(runbook="", run_id="", hosts=(), steps=())
        self._step: StepStarted | None = None
        self._step_done: set[str] = set()
        self._done: set[str] = set()
        self._bad: set[str] = set()

    def on_event(self, event: Event) -> None:
        if self._live is None:
            self._live = ProgressLine(self._console)
        if isinstance(event, RunStarted):
            self._run = event
        elif isinstance(event, StepStarted):
            self._step, self._step_done = event, set()
        elif isinstance(event, StepDone):
            self._step_done.add(event.host)
            if event.result.status in BAD:
                self._bad.add(event.host)
        elif isinstance(event, HostDone):
            self._done.add(event.report.name)
            if event.report.status in BAD:
                self._bad.add(event.report.name)
        text = progress_text(
            self._run, self._step, len(self._step_done), len(self._done), len(self._bad)
        )
        self._live.show(printable(self._redactor.scrub(text)))

    def finish(self, report: RunReport) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
