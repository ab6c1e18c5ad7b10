"""``nrb inventory``: the selected hosts as a tree of groups, or as ``ansible-inventory --list``."""

from __future__ import annotations

import argparse

from rich.console import Console

from nornir_runbook.cli.common import load_project_for, no_host
from nornir_runbook.errors import ExitCode
from nornir_runbook.project.selection import select_hosts
from nornir_runbook.project.views import inventory_graph_text, inventory_list
from nornir_runbook.redact import Redactor
from nornir_runbook.report.document import dump_json
from nornir_runbook.text import printable as escaped


def cmd_inventory(args: argparse.Namespace, out: Console, err: Console, redactor: Redactor) -> int:
    project = load_project_for(args, redactor)
    inv = project.nr.inventory
    hosts = select_hosts(
        inv, limit=args.limit, tags=args.tags, skip_tags=args.skip_tags, filters=args.filters
    )
    if not hosts:
        no_host(err, inv, None, args)
    if args.list:
        out.file.write(dump_json(redactor.scrub_data(inventory_list(inv, hosts))) + "\n")
    else:
        out.file.write(escaped(inventory_graph_text(inv, hosts)) + "\n")
    return ExitCode.OK if hosts else ExitCode.NO_HOSTS
