"""What a report of a saved run shows, as data for the renderers (:mod:`.html`, :mod:`.markdown`).

A :class:`Page` is read from a run's json document (:class:`~.runs.SavedRun`): the summary, then
the hosts in reading order (failed and unreachable hosts first, then the others, each group in
inventory order), every step with its checks, its ``diff`` when it has one, and its outputs as
text. Every string that came from a device, a runbook or the inventory has its control
characters shown escaped (``\\x1b``), as the text output does; escaping for HTML or markdown is
the renderers' job.

The changes since an older run (:class:`Changes`) are, per host, a status change and titled
unified diffs: :func:`changes_since` reads them from :func:`~.compare.compare_runs`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nornir_runbook.report.compare import RunComparison, StepDiff
from nornir_runbook.report.difflines import DiffKind, diff_lines
from nornir_runbook.report.document import output_text
from nornir_runbook.report.runs import SavedRun
from nornir_runbook.report.text_output import format_duration
from nornir_runbook.text import printable

FIRST = ("failed", "unreachable")  # host statuses read first
COUNTED = ("ok", "changed", "failed", "unreachable", "skipped")  # SPEC "summary", after hosts


@dataclass(frozen=True, slots=True, kw_only=True)
class Diff:
    """A titled unified diff: ``title`` says of what (a command, a config), ``text`` is the diff."""

    title: str
    text: str

    def lines(self) -> list[tuple[DiffKind, str]]:
        """Each line of the diff with its kind, for colouring."""
        return diff_lines(self.text)


@dataclass(frozen=True, slots=True, kw_only=True)
class HostChange:
    """What changed on one host since the older run: ``old_status`` is None for a host only in
    this run, ``new_status`` None for a host only in the older one."""

    host: str
    old_status: str | None
    new_status: str | None
    diffs: tuple[Diff, ...] = ()

    @property
    def status_changed(self) -> bool:
        return self.old_status != self.new_status


@dataclass(frozen=True, slots=True, kw_only=True)
class Changes:
    """The changes since the run ``against`` (its run id or path), host by host."""

    against: str
    hosts: tuple[HostChange, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckLine:
    that: str
    ok: bool
    detail: str  # what a false check saw, or why it could not be evaluated


@dataclass(frozen=True, slots=True, kw_only=True)
class Output:
    """One command's output (or a task's result) as text; parsed records (textfsm's list of flat
    mappings) also as a ``table`` of column names and rows."""

    label: str  # the command, a key of the result, or "" for a whole result
    text: str
    table: tuple[tuple[str, ...], tuple[tuple[str, ...], ...]] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StepView:
    name: str
    task: str
    status: str
    changed: bool
    duration: str
    error: str | None
    checks: tuple[CheckLine, ...]
    diffs: tuple[Diff, ...]  # the step's ``diff``, when it has one
    outputs: tuple[Output, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class HostView:
    name: str
    status: str
    changed: bool
    duration: str
    steps: tuple[StepView, ...]

    @property
    def error(self) -> str | None:
        """The first error of its steps: why the host failed."""
        return next((s.error for s in self.steps if s.error), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    runbook: str
    description: str | None
    run_id: str
    started_at: str
    finished_at: str
    duration: str
    dry_run: bool
    aborted: bool
    interrupted: bool
    counts: tuple[tuple[str, int], ...]  # ("hosts", 14), ("ok", 13)... in SPEC order
    hosts: tuple[HostView, ...]  # reading order: failed and unreachable first
    changes: Changes | None = None

    @property
    def flags(self) -> list[str]:
        """What makes this run not a plain one, as words: ``dry run``, ``aborted``..."""
        named = (
            (self.dry_run, "dry run: nothing was sent to any device"),
            (self.aborted, "aborted: max_fail_percentage stopped the run"),
            (self.interrupted, "interrupted: the run was cut short"),
        )
        return [text for on, text in named if on]


def make_page(run: SavedRun, changes: Changes | None = None) -> Page:
    """The page of a saved run, with the changes since an older run when given."""
    doc = run.document
    hosts = [_host(name, record) for name, record in run.hosts.items()]
    first = [h for h in hosts if h.status in FIRST]
    return Page(
        runbook=_text(run.runbook),
        description=_text(doc["description"]) if doc.get("description") else None,
        run_id=_text(run.run_id),
        started_at=_text(doc.get("started_at", "")),
        finished_at=_text(doc.get("finished_at", "")),
        duration=_duration(doc.get("duration_s")),
        dry_run=bool(doc.get("dry_run")),
        aborted=bool(doc.get("aborted")),
        interrupted=bool(doc.get("interrupted")),
        counts=_counts(doc.get("summary"), run.hosts),
        hosts=(*first, *(h for h in hosts if h.status not in FIRST)),
        changes=changes,
    )


def _counts(summary: Any, hosts: Mapping[str, Mapping[str, Any]]) -> tuple[tuple[str, int], ...]:
    """The document's summary; counted from the hosts when it has none that reads."""
    keys = ("hosts", *COUNTED)
    if isinstance(summary, dict) and all(isinstance(summary.get(k), int) for k in keys):
        return tuple((k, int(summary[k])) for k in keys)
    statuses = [str(h.get("status")) for h in hosts.values()]
    counted = {s: statuses.count(s) for s in COUNTED}
    counted["changed"] = sum(1 for h in hosts.values() if h.get("changed"))
    return (("hosts", len(statuses)), *((k, counted[k]) for k in COUNTED))


def _host(name: str, record: Mapping[str, Any]) -> HostView:
    steps = tuple(_step(s) for s in record["steps"])
    return HostView(
        name=_text(name),
        status=_text(record["status"]),
        changed=bool(record.get("changed")) or any(s.changed for s in steps),
        duration=_duration(record.get("duration_s")),
        steps=steps,
    )


def _step(step: Mapping[str, Any]) -> StepView:
    checks = step.get("checks")
    error = step.get("error")
    return StepView(
        name=_text(step["name"]),
        task=_text(str(step.get("task") or "")),
        status=_text(step["status"]),
        changed=bool(step.get("changed")),
        duration=_duration(step.get("duration_s")),
        error=_text(str(error)) if error else None,
        checks=tuple(_check(c) for c in checks if isinstance(c, dict))
        if isinstance(checks, list)
        else (),
        diffs=_diffs(step.get("diff")),
        outputs=_outputs(step.get("result")),
    )


def _outputs(result: Any) -> tuple[Output, ...]:
    """A step's result: one output per command (or key), or the whole result as one."""
    if result is None:
        return ()
    items = result.items() if isinstance(result, dict) else [("", result)]
    return tuple(
        Output(label=_text(str(k)), text=_text(output_text(v)), table=_table(v)) for k, v in items
    )


def _table(value: Any) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]] | None:
    """Records (a list of mappings of plain values) as column names and rows, else None."""
    if not isinstance(value, list) or not value or not all(isinstance(r, dict) for r in value):
        return None
    if not all(isinstance(v, str | int | float | bool | None) for r in value for v in r.values()):
        return None
    columns = tuple(dict.fromkeys(str(k) for r in value for k in r))
    rows = tuple(tuple(_text(_cell(r.get(c))) for c in columns) for r in value)
    return tuple(_text(c) for c in columns), rows


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _check(check: Mapping[str, Any]) -> CheckLine:
    detail = "; ".join(str(check[k]) for k in ("seen", "error") if check.get(k))
    return CheckLine(
        that=_text(str(check.get("that", ""))), ok=bool(check.get("ok")), detail=_text(detail)
    )


def _diffs(diff: Any) -> tuple[Diff, ...]:
    """A step's ``diff``: one unified diff, or one per key (a command, a file)."""
    if not diff:
        return ()
    if isinstance(diff, str):
        return (Diff(title="", text=_text(diff)),)
    if isinstance(diff, Mapping):
        return tuple(Diff(title=_text(str(k)), text=_text(output_text(v))) for k, v in diff.items())
    if isinstance(diff, Sequence):
        return (Diff(title="", text=_text("\n".join(str(line) for line in diff))),)
    return (Diff(title="", text=_text(output_text(diff))),)


def _duration(seconds: Any) -> str:
    return format_duration(float(seconds)) if isinstance(seconds, int | float) else ""


def _text(value: Any) -> str:
    return printable(str(value))


def changes_since(
    comparison: RunComparison, old: SavedRun, new: SavedRun, *, against: str
) -> Changes:
    """The changes of ``comparison`` (``compare_runs(old, new)``) as the page shows them, in
    the new run's host order, then the hosts only in the old run."""
    hosts = []
    for host in comparison.hosts:
        status = new.hosts[host.name]["status"]
        old_status = host.status.old if host.status is not None else status
        diffs = tuple(d for step in host.steps for d in _step_diffs(step))
        hosts.append(
            HostChange(host=_text(host.name), old_status=old_status, new_status=status, diffs=diffs)
        )
    hosts += [
        HostChange(host=_text(name), old_status=None, new_status=new.hosts[name]["status"])
        for name in comparison.hosts_only_new
    ]
    hosts += [
        HostChange(host=_text(name), old_status=old.hosts[name]["status"], new_status=None)
        for name in comparison.hosts_only_old
    ]
    return Changes(against=_text(against), hosts=tuple(hosts))


def _step_diffs(step: StepDiff) -> list[Diff]:
    """A step's status change, error change and differing outputs, each a titled diff."""
    name = _text(step.name)
    if step.only_in is not None:
        return [Diff(title=f"{name}: only in the {step.only_in} run", text="")]
    diffs = []
    if step.status is not None:
        title = f"{name}: {step.status.old} -> {step.status.new}"
        error = step.error
        text = "" if error is None else f"-{error.old or ''}\n+{error.new or ''}"
        diffs.append(Diff(title=_text(title), text=_text(text)))
    elif step.error is not None:
        text = f"-{step.error.old or ''}\n+{step.error.new or ''}"
        diffs.append(Diff(title=f"{name}: error", text=_text(text)))
    diffs += [Diff(title=_text(f"{name}: {o.label}"), text=_text(o.unified)) for o in step.outputs]
    return diffs
