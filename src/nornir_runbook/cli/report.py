"""``nrb report``: a saved run as a report to read or share, an HTML page or markdown.

``nrb report RUN`` writes the markdown on stdout; ``--html FILE`` and ``--markdown FILE`` write
files instead (both at once if asked; ``-`` is stdout). ``--against OLD`` adds what changed
since the older run OLD, compared as ``nrb diff OLD RUN`` compares (``--ignore`` as there). A
file is written whole or not at all (:func:`~nornir_runbook.files.atomic_write`); one that
cannot be written is an input error (exit code 5) naming it. The exit code is 0 whatever the
run's outcome: the report says it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from nornir_runbook.cli.common import path_text
from nornir_runbook.cli.diff import ignore_patterns
from nornir_runbook.errors import ExitCode, UsageError
from nornir_runbook.files import atomic_write
from nornir_runbook.redact import Redactor
from nornir_runbook.report.compare import compare_runs
from nornir_runbook.report.html import render_html
from nornir_runbook.report.markdown import render_markdown
from nornir_runbook.report.page import Changes, Page, changes_since, make_page
from nornir_runbook.report.runs import load_run

STDOUT = Path("-")


def cmd_report(args: argparse.Namespace, out: Console, err: Console, redactor: Redactor) -> int:
    ignore = ignore_patterns(args.ignore)
    if ignore and args.against is None:
        raise UsageError("--ignore is for comparing: give --against OLD too")
    run = load_run(args.run)
    changes: Changes | None = None
    if args.against is not None:
        old = load_run(args.against)
        comparison = compare_runs(old, run, ignore)
        changes = changes_since(comparison, old, run, against=old.run_id)
    page = make_page(run, changes)
    wanted: list[tuple[Path, Callable[[Page], str]]] = [
        (path, render)
        for path, render in ((args.html, render_html), (args.markdown, render_markdown))
        if path is not None
    ]
    for path, render in wanted or [(STDOUT, render_markdown)]:
        text = redactor.scrub(render(page))
        if path == STDOUT:
            out.file.write(text)
            out.file.flush()
        else:
            _write(path, text)
            err.print(f"wrote: {path_text(path)}", markup=False, highlight=False)
    return ExitCode.OK


def _write(path: Path, text: str) -> None:
    """``text`` into ``path``, whole or not at all; exit 5 naming ``path`` when it cannot be."""
    try:
        atomic_write(path, text)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(f"{path_text(path)}: cannot write the report: {reason}") from exc
