"""``nrb``'s parser reads run options by the rules runbooks and config.yaml are read by (the one
option table, the one serial parser), builds a subcommand only once it is chosen, and ``nrb
--help`` loads none of the modules behind them."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from nornir_runbook.cli.parser import build_parser
from nornir_runbook.errors import RunbookError, UsageError
from nornir_runbook.runbook.loader import parse_runbook
from nornir_runbook.runbook.model import Serial
from nornir_runbook.runner.options import CHECKS

RUN_OPTIONS = [  # flag, its name in the option table, a good value as typed and read, a bad one
    ("--workers", "num_workers", "3", 3, "0"),
    ("--retries", "retries", "0", 0, "-1"),
    ("--task-timeout", "task_timeout", "2.5", 2.5, "0"),
    ("--max-fail-percentage", "max_fail_percentage", "100", 100.0, "101"),
]


@pytest.mark.parametrize(("flag", "name", "text", "value", "bad"), RUN_OPTIONS)
def test_run_option_values_are_checked_by_the_option_table(
    flag: str, name: str, text: str, value: Any, bad: str
) -> None:
    args = build_parser().parse_args(["run", "rb.yaml", flag, text])
    assert getattr(args, name.removeprefix("num_")) == value

    with pytest.raises(UsageError) as raised:
        build_parser().parse_args(["run", "rb.yaml", flag, bad])
    assert f"expected {CHECKS[name].expected}, not '{bad}'" in str(raised.value)


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "rb.yaml", "-w", "4", "--serial", "25%", "-l", "core", "-vv", "--save", "out"],
        ["validate", "a.yaml", "b.yaml", "-c", "lab.yaml"],
        ["inventory", "--list", "-t", "prod", "-F", "site=ams"],
        ["tasks"],
        ["lab", "--processes", "2"],
    ],
)
def test_the_lazy_parser_reads_what_the_whole_one_reads(argv: list[str]) -> None:
    assert build_parser(lazy=True).parse_args(argv) == build_parser().parse_args(argv)


def test_the_lazy_parser_builds_only_the_chosen_subcommand() -> None:
    parser = build_parser(lazy=True)
    parser.parse_args(["tasks"])
    [commands] = [a for a in parser._actions if a.dest == "command"]
    assert commands.choices is not None
    built = {name for name, sub in dict(commands.choices).items() if len(sub._actions) > 1}
    assert built == {"tasks"}


SERIALS = ["3", " 3 ", "25%", " 12.5 % ", "100%", "٣", "0", "0%", "101%", "1.5", "half", "%"]


@pytest.mark.parametrize("text", SERIALS)
def test_serial_reads_alike_on_the_command_line_and_in_a_runbook(text: str) -> None:
    try:
        expected: Serial | None = Serial.parse(text)
    except ValueError:
        expected = None
    runbook = f"name: t\noptions: {{serial: {text!r}}}\nsteps: [{{commands: x}}]\n"
    try:
        read: Serial | None = parse_runbook(runbook).options.serial
    except RunbookError:
        read = None
    assert read == expected
    assert (expected is None) == (text in ("0", "0%", "101%", "1.5", "half", "%"))


def test_help_loads_no_dataclass_module_nor_logging() -> None:
    """What ``nrb --help`` does not show it does not import (its start-up time is measured by
    bench/bench_startup.py)."""
    code = (
        "import runpy, sys\n"
        "sys.argv = ['nrb', '--help']\n"
        "try:\n"
        "    runpy.run_module('nornir_runbook', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('dataclasses', 'logging', 'pathlib', 'nornir', 'rich')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in (\n"
        "    'nornir_runbook.errors', 'nornir_runbook.runner.options',\n"
        "    'nornir_runbook.runbook.model', 'nornir_runbook.redact')), file=sys.stderr)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert ran.stdout.startswith("usage: nrb")
    assert ran.stderr == "[]\n"
