"""``nrb diff OLD NEW``: two saved runs compared, per host, step and output.

Exit 0 when the runs match, 2 when they differ, 5 when OLD or NEW is not a saved run or an
``--ignore`` pattern is not a regular expression.
"""

from __future__ import annotations

import argparse
import re

from rich.console import Console

from nornir_runbook.errors import ExitCode, UsageError
from nornir_runbook.redact import Redactor
from nornir_runbook.report.compare import compare_runs
from nornir_runbook.report.compare_text import ComparisonText
from nornir_runbook.report.document import dump_json
from nornir_runbook.report.runs import load_run


def cmd_diff(args: argparse.Namespace, out: Console, err: Console, redactor: Redactor) -> int:
    ignore = ignore_patterns(args.ignore)
    old, new = load_run(args.old), load_run(args.new)
    comparison = compare_runs(old, new, ignore)
    if args.output == "json":
        out.file.write(dump_json(redactor.scrub_data(comparison.to_dict())) + "\n")
    else:
        ComparisonText(out, redactor=redactor).show(comparison)
    return ExitCode.OK if comparison.same else ExitCode.FAILED  # 2: the runs differ


def ignore_patterns(texts: list[str]) -> list[re.Pattern[str]]:
    """The ``--ignore`` patterns compiled; exit 5 naming one that is not a regular expression."""
    return [_pattern(text) for text in texts]


def _pattern(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise UsageError(f"--ignore {text!r}: not a regular expression: {exc}") from None
