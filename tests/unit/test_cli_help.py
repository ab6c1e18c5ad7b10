"""``nrb SUBCOMMAND --help``: every flag and argument says what it is for."""

from __future__ import annotations

import argparse

import pytest

from nornir_runbook.cli.parser import build_parser


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


@pytest.mark.parametrize(
    "command", ["run", "validate", "inventory", "tasks", "lab", "diff", "report"]
)
def test_every_option_and_argument_has_a_help_text(command: str) -> None:
    parser = subcommands()[command]
    undocumented = [
        "/".join(action.option_strings) or action.dest
        for action in parser._actions
        if not (action.help or "").strip() or action.help == argparse.SUPPRESS
    ]
    assert undocumented == []


def test_run_help_describes_each_flag() -> None:
    text = subcommands()["run"].format_help()
    for flag, words in {
        "--workers N": "concurrent hosts",
        "--skip-tags T1,T2": "drop hosts tagged with any",
        "--filter KEY=VALUE": "equals VALUE",
        "--verbose": "-v: step outputs",
        "--task-timeout S": "seconds",
        "--output {text,json,yaml,jsonl}": "default: text on a terminal",
        "--save DIR": "DIR/<run id>",
    }.items():
        assert flag in text
        assert words in " ".join(text.split()), flag


def test_diff_help_describes_its_arguments() -> None:
    text = " ".join(subcommands()["diff"].format_help().split())
    assert "usage: nrb diff [-h] [--ignore REGEX] [-o {text,json}] OLD NEW" in text
    for words in (
        "Exit 0 when the runs match, 2 when they differ, 5 on bad input.",
        "OLD the earlier run: a run folder of --save DIR, DIR/latest, or its report.json",
        "NEW the later run",
        "--ignore REGEX drop the lines of text outputs that REGEX matches",
        "repeatable",
        "-o {text,json}, --output {text,json} text (default; coloured on a terminal)",
    ):
        assert words in text, words
