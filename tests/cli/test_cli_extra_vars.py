"""``-e/--extra-vars`` through ``nrb``: what templates see in a dry run and against the lab,
typed values, ``@FILE``, the later ``-e`` winning, ``nrb validate`` checking with them, and every
bad ``-e`` an input error (exit 5) located where it has a place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_kit import Nrb, Ran, WriteRunbook, run_many, write_text

pytestmark = pytest.mark.cli

RUNBOOK = """
    name: Extra vars
    vars: {what: clock, n: 1, flag: false, empty: not empty, site: ams, keep: kept}
    steps:
      - name: Show
        commands: ["show {{ vars.what }}"]
      - name: Values
        task: echo
        args:
          next: "{{ vars.n + 1 }}"
          flag: "{{ vars.flag is sameas true }}"
          empty: "{{ vars.empty | length }}"
          site: "{{ vars.site }}"
          keep: "{{ vars.keep }}"
    """
HOST = "ams-core-01"


def steps(ran: Ran) -> dict[str, Any]:
    """The one host's step results by step name."""
    [host] = ran.json()["hosts"].values()
    return {step["name"]: step["result"] for step in host["steps"]}


@pytest.fixture
def runbook(write_runbook: WriteRunbook) -> Path:
    return write_runbook(RUNBOOK)


def test_extra_vars_override_the_runbook_vars_in_a_dry_run(nrb: Nrb, runbook: Path) -> None:
    write_text(nrb.cwd, "n: 41\nwhat: version\nsite: par\n", "more.yaml")
    base = ("run", runbook, "-c", nrb.config, "-l", HOST, "--dry-run", "-o", "json")
    plain, typed, files, inline = run_many(
        nrb,
        {
            "plain": base,
            "typed": (*base, "-e", "n=3", "-e", "flag=true", "-e", "empty=", "-e", "what=a=b"),
            # the file's what and site win over the -e before it; the -e after it wins over it
            "files": (*base, "-e", "what=ignored", "-e", "@more.yaml", "--extra-vars", "site=fra"),
            "inline": (*base, "-e", '{"n": 9, "site": "lis"}'),
        },
    ).values()

    assert [ran.code for ran in (plain, typed, files, inline)] == [0, 0, 0, 0], (
        plain,
        typed,
        files,
        inline,
    )
    assert steps(plain) == {
        "Show": {"commands": ["show clock"]},
        "Values": {"next": 2, "flag": False, "empty": 9, "site": "ams", "keep": "kept"},
    }
    assert steps(typed) == {
        "Show": {"commands": ["show a=b"]},
        "Values": {"next": 4, "flag": True, "empty": 0, "site": "ams", "keep": "kept"},
    }
    assert steps(files) == {
        "Show": {"commands": ["show version"]},
        "Values": {"next": 42, "flag": False, "empty": 9, "site": "fra", "keep": "kept"},
    }
    assert steps(inline)["Values"]["next"] == 10
    assert steps(inline)["Values"]["site"] == "lis"


def test_extra_vars_reach_the_devices(nrb: Nrb, runbook: Path) -> None:
    ran = nrb.run(runbook, "-l", HOST, "-o", "json", "-e", "what=version", "-e", "n=2")

    assert ran.code == 0, ran
    results = steps(ran)
    assert list(results["Show"]) == ["show version"]
    assert "Cisco IOS" in results["Show"]["show version"]
    assert results["Values"]["next"] == 3


def test_validate_checks_vars_with_the_extra_vars(nrb: Nrb, write_runbook: WriteRunbook) -> None:
    write_runbook(
        """
        name: Needs x
        vars: {y: 1}
        steps:
          - commands: ["show {{ vars.x }}"]
        """
    )
    write_text(nrb.cwd, "x: interfaces\n", "x.yaml")
    base = ("validate", "-c", nrb.config, "runbook.yaml")
    without, given, from_file, other, dry = run_many(
        nrb,
        {
            "without": base,
            "given": (*base, "-e", "x=1"),
            "from_file": (*base, "-e", "@x.yaml"),
            "other": (*base, "-e", "z=1"),
            "dry": ("run", "runbook.yaml", "-c", nrb.config, "-l", HOST, "--dry-run", "-e", "x=1"),
        },
    ).values()

    assert (without.code, without.out) == (5, ""), without
    assert without.err.startswith(
        "runbook.yaml:4:16 steps[0].commands[0]: undefined variable 'vars.x'"
    )
    assert (other.code, other.out) == (5, ""), other
    assert given.code == 0, given
    assert given.out == "ok: runbook.yaml\n"
    assert from_file.code == 0, from_file
    assert dry.code == 0, dry


BAD = {  # -e as given, with the files below: the first line nrb says (exit 5)
    "not key=value": ("foo", "-e: expected KEY=VALUE or @FILE, got 'foo'"),
    "not a name": (
        "1x=3",
        "-e: '1x' is not a variable name (letters, digits and _, not starting with a digit)",
    ),
    "missing file": ("@missing.yaml", "-e @missing.yaml: cannot read: No such file or directory"),
    "a list": ("@list.yaml", "list.yaml:1:1: expected a mapping of variables, got a list"),
    "invalid YAML": (
        "@broken.yaml",
        "broken.yaml:3:1: invalid YAML: expected ',' or ']', but got '<stream end>' "
        "(while parsing a flow sequence at line 2)",
    ),
    "a tag": (
        "@tagged.yaml",
        "tagged.yaml:2:6 cmd: YAML tag '!!python/object/apply:os.system' is not allowed: "
        "a runbook holds only strings, numbers, booleans, null, lists and mappings",
    ),
    "inline": ('{"a": [1}', "-e:1:9: invalid YAML: expected ',' or ']', but got '}'"),
}
FILES = {
    "list.yaml": "- a\n- b\n",
    "broken.yaml": "a: 1\nb: [1, 2\n",
    "tagged.yaml": "a: 1\ncmd: !!python/object/apply:os.system [touch pwned]\n",
}


def test_every_bad_extra_var_is_an_input_error(nrb: Nrb, runbook: Path) -> None:
    for name, text in FILES.items():
        write_text(nrb.cwd, text, name)
    commands = {
        (command, case): (
            (command, runbook, "-c", nrb.config, "-e", "ok=1", "-e", item)
            if command == "validate"
            else ("run", runbook, "-c", nrb.config, "--dry-run", "-e", "ok=1", "-e", item)
        )
        for case, (item, _) in BAD.items()
        for command in ("run", "validate")
    }

    runs = run_many(nrb, commands)

    for (_, case), ran in runs.items():
        assert (ran.code, ran.out) == (5, ""), (case, ran)
        assert ran.err.startswith(BAD[case][1]), (case, ran)
    assert not (nrb.cwd / "pwned").exists()
