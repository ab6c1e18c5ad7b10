"""``nrb``'s command line: the parser of every subcommand, and the values its options take.

A run option's value is checked by the one table of runner options
(:data:`nornir_runbook.runner.options.CHECKS`), and ``--serial`` by :meth:`Serial.parse
<nornir_runbook.runbook.model.Serial.parse>`, as in config.yaml and runbooks. Both are imported
only when a value is read, and a subcommand's arguments are added only once it is chosen
(``build_parser(lazy=True)``), so that ``nrb --help`` builds and imports no more than it shows.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError (exit 5) instead of exiting 2."""

    def error(self, message: str) -> Any:
        from nornir_runbook.errors import UsageError  # noqa: PLC0415 - not for nrb --help

        raise UsageError(f"{self.prog}: {message}")


class _Commands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subcommands whose arguments are added when one is chosen (``builders``), not before."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.builders: dict[str, Callable[[argparse.ArgumentParser], None]] = {}

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        if values:
            builder = self.builders.pop(values[0], None)
            if builder is not None and values[0] in self.choices:
                builder(self.choices[values[0]])
        super().__call__(parser, namespace, values, option_string)


def _selection_args(p: argparse.ArgumentParser, verbose: str) -> None:
    _config_arg(p)
    p.add_argument(
        "-l",
        "--limit",
        metavar="PATTERN",
        help="Ansible host pattern over host and group names: a:b, a:&b, a:!b, r*, ~re, @file",
    )
    p.add_argument(
        "-t",
        "--tags",
        action="append",
        default=[],
        metavar="T1,T2",
        help="only hosts tagged with any of these (each a tag some host has)",
    )
    p.add_argument(
        "--skip-tags",
        action="append",
        default=[],
        metavar="T1,T2",
        help="drop hosts tagged with any of these (each a tag some host has)",
    )
    p.add_argument(
        "-F",
        "--filter",
        action="append",
        default=[],
        dest="filters",
        metavar="KEY=VALUE",
        help="only hosts whose attribute or (inherited) data KEY equals VALUE; repeatable",
    )
    p.add_argument("--ask-pass", action="store_true", help="prompt for the SSH password")
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help=verbose,
    )


def _config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-c",
        "--config",
        default="config.yaml",
        type=_path,
        help="Nornir config file (default: ./config.yaml)",
    )


def _extra_vars_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-e",
        "--extra-vars",
        action="append",
        default=[],
        metavar="KEY=VALUE|@FILE",
        help="set a runbook variable over its vars (repeatable; later wins): KEY=VALUE, "
        "@FILE (a YAML mapping) or an inline mapping '{...}'",
    )


def _path(text: str) -> Path:
    from pathlib import Path  # noqa: PLC0415 - not for nrb --help

    return Path(text)


def _checked(name: str, convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type: the text as ``convert`` reads it, checked by runner option ``name``'s
    entry in the one table (:data:`~nornir_runbook.runner.options.CHECKS`)."""

    def parse(text: str) -> Any:
        from nornir_runbook.runner.options import CHECKS  # noqa: PLC0415 - not for nrb --help

        check = CHECKS[name]
        try:
            value = convert(text)
        except ValueError:
            value = None
        if not check.valid(value):
            raise argparse.ArgumentTypeError(f"expected {check.expected}, not {text!r}")
        return value

    parse.__name__ = name  # argparse names the type in some errors
    return parse


_COMMANDS = {
    "run": "run a runbook",
    "validate": "check runbooks without connecting",
    "inventory": "show the inventory",
    "tasks": "list available tasks",
    "lab": "run the inventory's lab devices until Ctrl-C",
    "diff": "compare two saved runs (--save)",
    "report": "a saved run as a report to read or share: HTML or markdown",
}


def build_parser(*, lazy: bool = False) -> argparse.ArgumentParser:
    """``nrb``'s parser; ``lazy``: each subcommand's arguments are added once it is chosen."""
    parser = _Parser(prog="nrb", description="Run YAML runbooks of device commands on Nornir.")
    sub = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, action=_Commands
    )
    assert isinstance(sub, _Commands)
    builders = {
        "run": _run_args,
        "validate": _validate_args,
        "inventory": _inventory_args,
        "tasks": _config_arg,
        "lab": _lab_args,
        "diff": _diff_args,
        "report": _report_args,
    }
    for name, text in _COMMANDS.items():
        command = sub.add_parser(name, help=text)
        if lazy:
            sub.builders[name] = builders[name]
        else:
            builders[name](command)
    return parser


def _run_args(run: argparse.ArgumentParser) -> None:
    from nornir_runbook.runbook.model import Strategy  # noqa: PLC0415 - not for nrb --help
    from nornir_runbook.runner.options import EXECUTORS, MODES  # noqa: PLC0415

    run.add_argument("runbook", type=_path, help="the runbook file (YAML)")
    _selection_args(
        run, "-v: step outputs and whole errors; -vv: durations and INFO logs; -vvv: debug logs"
    )
    _extra_vars_arg(run)
    run.add_argument(
        "-w", "--workers", type=_checked("num_workers", int), metavar="N", help="concurrent hosts"
    )
    run.add_argument(
        "--strategy",
        choices=[s.value for s in Strategy],
        help="linear: every host finishes a step before the next; free: each host on its own",
    )
    run.add_argument("--executor", choices=EXECUTORS, help="where hosts run (thread)")
    run.add_argument(
        "--dask-address", metavar="ADDR", help="dask.distributed scheduler for --executor dask"
    )
    run.add_argument(
        "--keep-sessions",
        type=_checked("keep_sessions", float),
        metavar="S",
        help="--executor dask: workers keep device sessions open S idle seconds for next runs",
    )
    run.add_argument(
        "--task-timeout",
        type=_checked("task_timeout", float),
        metavar="S",
        help="seconds; a host still running past it fails with a timeout",
    )
    run.add_argument(
        "--retries",
        type=_checked("retries", int),
        metavar="N",
        help="re-run a host that could not connect",
    )
    run.add_argument(
        "--max-fail-percentage",
        type=_checked("max_fail_percentage", float),
        metavar="P",
        help="past P%% failed hosts, hosts not yet started are skipped",
    )
    run.add_argument(
        "--serial", metavar="N|P%", help="rolling batches: a count N or a percentage P%%"
    )
    run.add_argument("--dry-run", action="store_true", help="render commands, connect nowhere")
    run.add_argument(
        "--check",
        action="store_true",
        help="config steps send nothing and report what they would send",
    )
    run.add_argument(
        "--diff",
        action="store_true",
        help="config steps report a diff of the running configuration",
    )
    run.add_argument("--list-hosts", action="store_true", help="print the selected hosts and stop")
    run.add_argument("--list-steps", action="store_true", help="print the steps and stop")
    run.add_argument(
        "-o",
        "--output",
        choices=["text", "json", "yaml", "jsonl"],
        help="output format (default: text on a terminal, else json)",
    )
    run.add_argument(
        "--save",
        type=_path,
        metavar="DIR",
        help="also write the report and outputs to DIR/<run id>",
    )
    run.add_argument("--lab", action="store_true", help="start the inventory's fake devices")
    run.add_argument(
        "--log-file",
        type=_path,
        metavar="FILE",
        help="append an audit trail to FILE (JSON lines): what was sent to which device, "
        "when, by whom",
    )
    run.add_argument(
        "--session-log",
        type=_path,
        metavar="DIR",
        help="append each host's SSH session (what it said) to DIR/<host>.log",
    )
    run.add_argument(
        "--host-key-checking",
        choices=MODES,
        help="SSH host keys against ~/.ssh/known_hosts: accept-new (default) records a new "
        "host's key and refuses a changed one, strict refuses unknown keys too, off checks none",
    )


def _validate_args(validate: argparse.ArgumentParser) -> None:
    validate.add_argument("runbooks", nargs="+", type=_path, help="runbook files (YAML)")
    _config_arg(validate)
    _extra_vars_arg(validate)


def _inventory_args(inventory: argparse.ArgumentParser) -> None:
    _selection_args(inventory, "-vv: INFO logs; -vvv: debug logs")
    view = inventory.add_mutually_exclusive_group()
    view.add_argument("--graph", action="store_true", help="groups and hosts as a tree (default)")
    view.add_argument("--list", action="store_true", help="JSON, as ansible-inventory --list")


def _report_args(report: argparse.ArgumentParser) -> None:
    report.add_argument(
        "run", type=_path, help="a run --save wrote: its folder, DIR/latest or its report.json"
    )
    report.add_argument(
        "--html",
        type=_path,
        metavar="FILE",
        help="write one self-contained HTML page (- for stdout)",
    )
    report.add_argument(
        "--markdown",
        type=_path,
        metavar="FILE",
        help="write markdown for a change ticket (- for stdout; the default, on stdout)",
    )
    report.add_argument(
        "--against",
        type=_path,
        metavar="OLD",
        help="also show what changed since the older saved run OLD (as nrb diff OLD RUN)",
    )
    report.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="REGEX",
        help="with --against: drop the lines of text outputs that REGEX matches before "
        "comparing; repeatable",
    )


def _lab_args(lab: argparse.ArgumentParser) -> None:
    _config_arg(lab)
    lab.add_argument("--processes", type=int, help="device processes (default: automatic)")


def _diff_args(diff: argparse.ArgumentParser) -> None:
    diff.description = (
        "Compare two runs saved by nrb run --save: per host, status changes and a unified diff "
        "of every output that differs (parsed outputs compared as data); hosts in one run only. "
        "Exit 0 when the runs match, 2 when they differ, 5 on bad input."
    )
    for name, which in (("old", "the earlier run"), ("new", "the later run")):
        diff.add_argument(
            name,
            type=_path,
            metavar=name.upper(),
            help=f"{which}: a run folder of --save DIR, DIR/latest, or its report.json",
        )
    diff.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="REGEX",
        help="drop the lines of text outputs that REGEX matches before comparing (clocks, "
        "uptimes); repeatable",
    )
    diff.add_argument(
        "-o",
        "--output",
        choices=["text", "json"],
        default="text",
        help="text (default; coloured on a terminal) or one json document",
    )
