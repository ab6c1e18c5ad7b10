"""``nrb report --markdown``: a report of a saved run for a change ticket (CommonMark with GitHub
tables).

The same content as the HTML page: a summary table, the hosts (failed and unreachable first),
the changes since an older run when given, then each host's steps with their checks, diffs and
outputs. Names and messages from the run are escaped (``*``, ``_``, ``|``, ``<``... lose their
meaning) and kept on one line; outputs and diffs go in fenced code blocks whose fence is longer
than any run of backticks inside, so no output can close its block early.
"""

from __future__ import annotations

import re

from nornir_runbook.report.page import FIRST, Changes, Diff, HostView, Page, StepView

# what CommonMark or GitHub read anywhere in a line (emphasis, code, links and images by their
# brackets, html and autolinks, entities, tables, strikethrough); and what starts a block (a list
# item, a quote, a heading underline) at the start of one (a heading's # is escaped anywhere)
_SPECIAL = re.compile(r"([\\`*_\[\]<#|~&])")
_LEADING = re.compile(r"^(\d*[.)]|[-+=>])")
_BACKTICKS = re.compile(r"`+")


def render_markdown(page: Page) -> str:
    """The whole report, ending with a newline."""
    lines = [f"# {escape(page.runbook)}", ""]
    if page.description:
        lines += [paragraph(page.description), ""]
    lines += [f"> **{escape(flag)}**" for flag in page.flags]
    if page.flags:
        lines.append("")
    lines += _summary(page)
    lines += _index(page.hosts)
    if page.changes is not None:
        lines += _changes(page.changes)
    for host in page.hosts:
        lines += _host(host)
    return "\n".join(lines).rstrip("\n") + "\n"


def escape(text: str) -> str:
    """``text`` as literal markdown text on one line (line breaks as spaces, trimmed): what
    markdown would read as markup is backslash-escaped."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.splitlines()).strip())


def paragraph(text: str) -> str:
    """``text`` escaped as a line of its own: what would start a list or a heading escaped too."""
    escaped = escape(text)
    return _LEADING.sub(lambda m: m.group()[:-1] + "\\" + m.group()[-1], escaped)


def fence(text: str, info: str = "") -> list[str]:
    """``text`` as a fenced code block: the fence is three backticks, or one more than the
    longest run of backticks in ``text``."""
    longest = max((len(m.group()) for m in _BACKTICKS.finditer(text)), default=0)
    marks = "`" * max(3, longest + 1)
    return [f"{marks}{info}", *text.splitlines(), marks, ""]


def code(text: str, *, cell: bool = False) -> str:
    """``text`` as an inline code span (one line), its backticks outrun by the delimiters; in a
    table ``cell``, a pipe escaped, as GitHub tables need even inside code."""
    flat = " ".join(text.splitlines())
    flat = flat.replace("|", "\\|") if cell else flat
    longest = max((len(m.group()) for m in _BACKTICKS.finditer(flat)), default=0)
    marks = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{marks}{pad}{flat}{pad}{marks}"


def _summary(page: Page) -> list[str]:
    counts = ", ".join(f"{count} {name}" for name, count in page.counts)
    rows = [
        ("Run", code(page.run_id, cell=True)),
        ("Started", escape(page.started_at)),
        ("Finished", escape(page.finished_at)),
        ("Duration", escape(page.duration)),
        ("Hosts", escape(counts)),
    ]
    table = [f"| Runbook | {escape(page.runbook)} |", "| --- | --- |"]
    return [*table, *(f"| {name} | {value} |" for name, value in rows if value), ""]


def _index(hosts: tuple[HostView, ...]) -> list[str]:
    lines = ["## Hosts", "", "| Host | Status | Changed | Error |", "| --- | --- | --- | --- |"]
    for host in hosts:
        status = escape(host.status)
        status = f"**{status}**" if host.status in FIRST else status
        changed = "yes" if host.changed else "no"
        error = escape(host.error or "")
        lines.append(f"| {escape(host.name)} | {status} | {changed} | {error} |")
    return [*lines, ""]


def _changes(changes: Changes) -> list[str]:
    lines = [f"## Changes since {escape(changes.against)}", ""]
    if not changes.hosts:
        lines += ["No change.", ""]
    for change in changes.hosts:
        if change.old_status is None:
            what = f"only in this run ({escape(change.new_status or '')})"
        elif change.new_status is None:
            what = f"only in {escape(changes.against)} ({escape(change.old_status)})"
        elif change.status_changed:
            what = f"{escape(change.old_status)} → {escape(change.new_status)}"
        else:
            what = ""
        lines += [f"### {escape(change.host)}" + (f": {what}" if what else ""), ""]
        for diff in change.diffs:
            lines += _diff(diff)
    return lines


def _host(host: HostView) -> list[str]:
    changed = ", changed" if host.changed else ""
    duration = f" in {escape(host.duration)}" if host.duration else ""
    lines = [f"## {escape(host.name)}: {escape(host.status)}{changed}{duration}", ""]
    for number, step in enumerate(host.steps, start=1):
        lines += _step(number, step)
    return lines


def _step(number: int, step: StepView) -> list[str]:
    changed = ", changed" if step.changed else ""
    lines = [f"### {number}. {escape(step.name)}: {escape(step.status)}{changed}", ""]
    about = [code(step.task)] if step.task else []
    if step.duration:
        about.append(escape(step.duration))
    if about:
        lines += [", ".join(about), ""]
    if step.error:
        lines += [f"**Error:** {escape(step.error)}", ""]
    for check in step.checks:
        mark = "ok" if check.ok else "**failed**"
        detail = f": {escape(check.detail)}" if check.detail else ""
        lines.append(f"- {mark} {code(check.that)}{detail}")
    if step.checks:
        lines.append("")
    for diff in step.diffs:
        lines += _diff(diff)
    for output in step.outputs:
        title = f"**{escape(output.label)}**" if output.label else "**result**"
        lines += [title, "", *fence(output.text)]
    return lines


def _diff(diff: Diff) -> list[str]:
    title = f"Diff of {escape(diff.title)}" if diff.title else "Diff"
    return [f"**{title}**", "", *fence(diff.text, "diff")]
