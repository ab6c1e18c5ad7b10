"""``nrb tasks``: the tasks a runbook may name, with their signatures and where they come from."""

from __future__ import annotations

import argparse

from rich.console import Console

from nornir_runbook.errors import ExitCode
from nornir_runbook.redact import Redactor
from nornir_runbook.runbook.registry import default_registry


def cmd_tasks(args: argparse.Namespace, out: Console, err: Console, redactor: Redactor) -> int:
    directory = args.config.resolve().parent
    registry = default_registry(directory)
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    if not out.is_terminal:  # for scripts: one task a line, tab-separated, never wrapped
        out.file.write("task\tsignature\tfrom\n")
        for info in registry.infos():
            out.file.write(f"{info.name}\t{info.signature}\t{info.origin}\n")
        return ExitCode.OK
    infos = registry.infos()
    table = Table(box=None, pad_edge=False)
    # names and origins whole (they are what one types), the signature wraps in what is left
    table.add_column("task", no_wrap=True, min_width=max((len(i.name) for i in infos), default=4))
    table.add_column("signature", overflow="fold")
    table.add_column("from", no_wrap=True, min_width=max((len(i.origin) for i in infos), default=4))
    for info in infos:
        table.add_row(Text(info.name), Text(info.signature), Text(info.origin))  # no markup
    out.print(table)
    return ExitCode.OK
