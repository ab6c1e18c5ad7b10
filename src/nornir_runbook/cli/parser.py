"""``nrb``'s command line: the parser of every subcommand, and the values its options take."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nornir_runbook.errors import UsageError
from nornir_runbook.runbook.model import Serial, Strategy
from nornir_runbook.runner.options import MODES


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError (exit 5) instead of exiting 2."""

    def error(self, message: str) -> Any:
        raise UsageError(f"{self.prog}: {message}")


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
        type=Path,
        help="Nornir config file (default: ./config.yaml)",
    )


def _whole(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum`` (as the runbook's options)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            message = f"expected a whole number of {minimum} or more, not {text!r}"
            raise argparse.ArgumentTypeError(message)
        return value

    return parse


def _number(text: str, low: float, high: float, *, low_open: bool, expected: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    in_range = (low < value if low_open else low <= value) and value <= high
    if not (math.isfinite(value) and in_range):
        raise argparse.ArgumentTypeError(f"expected {expected}, not {text!r}")
    return value


def _seconds(text: str) -> float:
    return _number(text, 0, math.inf, low_open=True, expected="a number of seconds greater than 0")


def _percentage(text: str) -> float:
    return _number(text, 0, 100, low_open=False, expected="a number from 0 to 100")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nrb", description="Run YAML runbooks of device commands on Nornir.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run a runbook")
    run.add_argument("runbook", type=Path, help="the runbook file (YAML)")
    _selection_args(
        run, "-v: step outputs and whole errors; -vv: durations and INFO logs; -vvv: debug logs"
    )
    run.add_argument("-w", "--workers", type=_whole(1), metavar="N", help="concurrent hosts")
    run.add_argument(
        "--strategy",
        choices=[s.value for s in Strategy],
        help="linear: every host finishes a step before the next; free: each host on its own",
    )
    run.add_argument(
        "--executor", choices=["thread", "process", "dask"], help="where hosts run (thread)"
    )
    run.add_argument(
        "--dask-address", metavar="ADDR", help="dask.distributed scheduler for --executor dask"
    )
    run.add_argument(
        "--task-timeout",
        type=_seconds,
        metavar="S",
        help="seconds; a host still running past it fails with a timeout",
    )
    run.add_argument(
        "--retries", type=_whole(0), metavar="N", help="re-run a host that could not connect"
    )
    run.add_argument(
        "--max-fail-percentage",
        type=_percentage,
        metavar="P",
        help="past P%% failed hosts, hosts not yet started are skipped",
    )
    run.add_argument(
        "--serial", metavar="N|P%", help="rolling batches: a count N or a percentage P%%"
    )
    run.add_argument("--dry-run", action="store_true", help="render commands, connect nowhere")
    run.add_argument("--list-hosts", action="store_true", help="print the selected hosts and stop")
    run.add_argument("--list-steps", action="store_true", help="print the steps and stop")
    run.add_argument(
        "-o",
        "--output",
        choices=["text", "json", "yaml", "jsonl"],
        help="output format (default: text on a terminal, else json)",
    )
    run.add_argument(
        "--save", type=Path, metavar="DIR", help="also write the report and outputs to DIR/<run id>"
    )
    run.add_argument("--lab", action="store_true", help="start the inventory's fake devices")
    run.add_argument(
        "--host-key-checking",
        choices=MODES,
        help="SSH host keys against ~/.ssh/known_hosts: accept-new (default) records a new "
        "host's key and refuses a changed one, strict refuses unknown keys too, off checks none",
    )

    validate = sub.add_parser("validate", help="check runbooks without connecting")
    validate.add_argument("runbooks", nargs="+", type=Path, help="runbook files (YAML)")
    _config_arg(validate)

    inventory = sub.add_parser("inventory", help="show the inventory")
    _selection_args(inventory, "-vv: INFO logs; -vvv: debug logs")
    view = inventory.add_mutually_exclusive_group()
    view.add_argument("--graph", action="store_true", help="groups and hosts as a tree (default)")
    view.add_argument("--list", action="store_true", help="JSON, as ansible-inventory --list")

    tasks = sub.add_parser("tasks", help="list available tasks")
    _config_arg(tasks)

    lab = sub.add_parser("lab", help="run the inventory's lab devices until Ctrl-C")
    _config_arg(lab)
    lab.add_argument("--processes", type=int, help="device processes (default: automatic)")
    return parser


def parse_serial(text: str | None) -> Serial | None:
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d{1,9}(?:\.\d{1,6})?)\s*(%?)\s*", text)
    if not match:
        shown = text if len(text) <= 40 else text[:40] + "..."  # noqa: PLR2004
        raise UsageError(f"--serial: expected a count N or a percentage P%, not {shown!r}")
    value, percent = match.groups()
    if percent:
        if not 0 < float(value) <= 100:  # noqa: PLR2004
            raise UsageError(f"--serial: a percentage must be in (0, 100], not {text!r}")
        return Serial(percent=float(value))
    if "." in value or int(value) < 1:
        raise UsageError(f"--serial: a count must be a whole number of at least 1, not {text!r}")
    return Serial(count=int(value))
