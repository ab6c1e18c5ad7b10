"""``nrb diff``'s text: a :class:`~nornir_runbook.report.compare.RunComparison` for people.

Coloured when the console is a terminal (removed lines red, added green, status changes in their
status's colour), plain otherwise. What came from devices or runbooks is shown with its control
characters escaped, and every string passes the ``Redactor``.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from nornir_runbook.redact import Redactor
from nornir_runbook.report.compare import Change, HostDiff, OutputDiff, RunComparison, StepDiff
from nornir_runbook.report.difflines import DIFF_STYLES, diff_lines
from nornir_runbook.text import plural, printable

_STATUS_STYLES = {"ok": "green", "failed": "red", "unreachable": "bold red", "skipped": "cyan"}
_INDENT = "    "
_HEADER_LINES = 3  # of a unified diff: ---, +++ and the one @@ of an output in one run only


class ComparisonText:
    """Writes a comparison to ``console``."""

    def __init__(self, console: Console, *, redactor: Redactor) -> None:
        self._console = console
        self._redactor = redactor

    def _clean(self, text: str) -> str:
        return printable(self._redactor.scrub(text))

    def _line(self, *parts: str | tuple[str, str]) -> None:
        text = Text()
        for part in parts:
            if isinstance(part, tuple):
                text.append(self._clean(part[0]), style=part[1])
            else:
                text.append(self._clean(part))
        self._console.print(text, soft_wrap=True, highlight=False)

    def show(self, comparison: RunComparison) -> None:
        c = comparison
        self._line(("old: ", "bold"), f"{c.old_run_id} ({c.old_runbook})")
        self._line(("new: ", "bold"), f"{c.new_run_id} ({c.new_runbook})")
        if not c.same_runbook:
            self._line(
                ("different runbooks: ", "yellow"),
                f"{c.old_runbook!r} and {c.new_runbook!r}; what they share is compared",
            )
        for label, names in (
            ("steps only in the old run: ", c.steps_only_old),
            ("steps only in the new run: ", c.steps_only_new),
            ("hosts only in the old run: ", c.hosts_only_old),
            ("hosts only in the new run: ", c.hosts_only_new),
        ):
            if names:
                self._line((label, "yellow"), ", ".join(names))
        for host in c.hosts:
            self._host(host)
        self._console.print()
        self._line(_summary(c))

    def _host(self, host: HostDiff) -> None:
        self._console.print()
        if host.status is not None:
            self._line((host.name, "bold"), ": ", *_status(host.status))
        else:
            self._line((host.name, "bold"), ":")
        for step in host.steps:
            self._step(step)

    def _step(self, step: StepDiff) -> None:
        head: list[str | tuple[str, str]] = ["  step ", (step.name, "bold")]
        if step.only_in is not None:
            self._line(*head, (f": only in the {step.only_in} run", "yellow"))
            return
        self._line(*head, *((": ", *_status(step.status)) if step.status else (":",)))
        if step.error is not None:
            self._line(f"{_INDENT}error: {_value(step.error.old)} -> {_value(step.error.new)}")
        for output in step.outputs:
            self._output(output)

    def _output(self, output: OutputDiff) -> None:
        if output.only_in is not None:  # what it said is in that run's outputs/ (and in -o json)
            lines = plural(len(output.unified.splitlines()) - _HEADER_LINES, "line")
            where = f": only in the {output.only_in} run ({lines})"
            self._line(_INDENT, (output.label, "bold"), (where, "yellow"))
            return
        self._line(_INDENT, (output.label, "bold"))
        for change in output.changes:
            if change.kind == "changed":
                what = f"{_value(change.old)} -> {_value(change.new)}"
                self._line(_INDENT * 2, change.path, ": ", (what, "yellow"))
            else:
                value = change.new if change.kind == "added" else change.old
                style = "green" if change.kind == "added" else "red"
                self._line(
                    _INDENT * 2, change.path, ": ", (f"{change.kind} {_value(value)}", style)
                )
        if output.changes:
            return  # parsed data: its changes say it (-o json has the diff too)
        for kind, line in diff_lines(output.unified):
            style = DIFF_STYLES[kind]
            self._line(_INDENT * 2, (line, style) if style else line)


def _status(change: Change) -> tuple[tuple[str, str], str, tuple[str, str]]:
    old, new = str(change.old), str(change.new)
    return (old, _STATUS_STYLES.get(old, "")), " -> ", (new, _STATUS_STYLES.get(new, "bold"))


def _value(value: Any) -> str:
    """A value of parsed data or an error, on one line (``'up'``, ``None``, ``{...}``)."""
    return repr(value)


def _summary(c: RunComparison) -> str:
    if c.same:
        return "the runs match"
    parts = [f"{plural(len(c.hosts), 'host')} differ" if len(c.hosts) != 1 else "1 host differs"]
    if c.hosts_only_old or c.hosts_only_new:
        parts.append(
            f"{plural(len(c.hosts_only_old) + len(c.hosts_only_new), 'host')} in one run only"
        )
    if c.steps_only_old or c.steps_only_new:
        parts.append(
            f"{plural(len(c.steps_only_old) + len(c.steps_only_new), 'step')} in one run only"
        )
    return "the runs differ: " + ", ".join(parts)
