"""Every bug the bad-input fuzzers found, as a plain test (each ended in exit 1 or a wrong exit).

A bug the fuzzers find gets its test here, next to its fix: none is left open.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from nrb_fuzz_harness import (
    Outcome,
    assert_no_bug,
    call,
    project_files,
    write_project,
)

GOOD = "name: t\nsteps:\n  - commands: [show clock]\n"
DRY = ("run", "rb.yaml", "--dry-run", "-o", "json")


@pytest.fixture
def project() -> Iterator[Path]:
    """A project folder (not pytest's tmp_path: the fuzzers' helpers work the same way)."""
    with tempfile.TemporaryDirectory(prefix="nrb-regression-") as tmp:
        folder = Path(tmp)
        write_project(folder)
        (folder / "rb.yaml").write_text(GOOD)
        yield folder


def nrb(folder: Path, *argv: str, runbook: str | None = None, **files: Any) -> Outcome:
    """``nrb *argv`` in ``folder``, after writing ``runbook`` and ``files`` (by path, with
    ``/`` as ``__`` and ``.`` as ``_``; None deletes)."""
    if runbook is not None:
        (folder / "rb.yaml").write_text(runbook, encoding="utf-8")
    for key, content in files.items():
        path = folder / key.replace("__", "/").replace("_yaml", ".yaml")
        if content is None:
            path.unlink()
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    outcome = call(argv, cwd=folder)
    assert_no_bug(outcome, allowed=(5,))
    return outcome


def says(outcome: Outcome, pattern: str) -> None:
    assert re.search(pattern, outcome.err), outcome


# -- runbooks (runbook/loader.py, templating.py, registry.py) -------------------------------------


@pytest.mark.parametrize("serial", ["²", "\x1c1", "1" * 5000])
def test_serial_strings_int_cannot_read_are_rejected(project: Path, serial: str) -> None:
    # was: ValueError from int() ("²".isdigit() is True)
    runbook = f"name: t\noptions: {{serial: {serial!r}}}\nsteps: [{{commands: x}}]\n"
    for argv in (("validate", "rb.yaml"), DRY):
        says(nrb(project, *argv, runbook=runbook), r"rb\.yaml:2:\d+ options\.serial: expected")


@pytest.mark.parametrize("depth", [101, 900, 50_000])
def test_deep_nesting_is_rejected_where_it_starts(project: Path, depth: int) -> None:
    # was: RecursionError in ruamel's composer (and seconds in its scanner before that)
    runbook = "name: t\nsteps: [{task: echo, args: {x: " + "[" * depth + "]" * depth + "}}]\n"
    for argv in (("validate", "rb.yaml"), DRY):
        says(nrb(project, *argv, runbook=runbook), r"rb\.yaml:2:\d+.*nested more than 100 levels")


@pytest.mark.parametrize("text", ["name: !!bool maybe", "{!!bool maybe: 1}"])
def test_a_tagged_scalar_that_cannot_be_built_is_rejected(project: Path, text: str) -> None:
    # was: KeyError from ruamel's bool constructor
    outcome = nrb(project, "validate", "rb.yaml", runbook=text + "\n")
    says(outcome, r"rb\.yaml:1:\d+")


def test_a_forbidden_filter_key_is_found_by_validate_and_located(project: Path) -> None:
    # was: validate said ok; run said "targets.filter: ..." with no file, line or column
    runbook = "name: t\nsteps:\n  - commands: [x]\n    targets: {filter: {password: x}}\n"
    for argv in (("validate", "rb.yaml"), DRY):
        outcome = nrb(project, *argv, runbook=runbook)
        says(outcome, r"rb\.yaml:4:\d+ steps\[0\]\.targets\.filter\.password: selecting hosts")


def test_a_template_nested_too_deeply_is_a_template_error(project: Path) -> None:
    # was: RecursionError in Jinja2's parser
    runbook = "name: t\nsteps: [{commands: ['{{ host.name" + "[" * 300 + " }}']}]\n"
    says(nrb(project, "validate", "rb.yaml", runbook=runbook), r"rb\.yaml:2:\d+ .*template")


def test_a_task_module_that_exits_while_imported_is_an_input_error(project: Path) -> None:
    # was: exit 3 ("no host matched"), silently: sys.exit() in the module ended nrb
    (project / "exiting.py").write_text("import sys\nsys.exit(3)\n")
    runbook = "name: t\nsteps: [{task: 'exiting:f'}]\n"
    says(nrb(project, "validate", "rb.yaml", runbook=runbook), r"SystemExit: 3")


# -- host patterns (project/patterns.py) ----------------------------------------------------------


@pytest.mark.parametrize(
    "pattern", ["~a{99999999999}", "~" + "(" * 3000, "@\x00"], ids=["overflow", "deep", "nul"]
)
def test_host_patterns_python_cannot_compile_or_open_are_usage_errors(
    project: Path, pattern: str
) -> None:
    # was: OverflowError, RecursionError (re.compile), ValueError (open)
    says(nrb(project, "run", "rb.yaml", "--list-hosts", "-l", pattern), r"host pattern")


# -- config.yaml and the inventory (project/config.py) --------------------------------------------

CONFIG = project_files()["config.yaml"]


@pytest.mark.parametrize(
    ("config", "where"),
    [
        ({**CONFIG, "inventory": [1]}, "inventory"),
        ({**CONFIG, "inventory": {**CONFIG["inventory"], "options": [1]}}, "inventory.options"),
        ({**CONFIG, "runner": {"options": [1]}}, "runner.options"),
        ({**CONFIG, "runner": {"options": {"num_workers": -3}}}, "runner.options.num_workers"),
        ({**CONFIG, "runner": {"options": {"task_timeout": "x"}}}, "runner.options.task_timeout"),
        ({**CONFIG, "runner": {"options": {"num_worker": 3}}}, "runner.options.num_worker"),
    ],
)
def test_config_sections_of_the_wrong_type_are_config_errors(
    project: Path, config: dict[str, Any], where: str
) -> None:
    # was: TypeError converting a list to a dict; bad runner options were not checked at all
    for argv in (DRY, ("inventory", "--list"), ("validate", "rb.yaml")):
        says(nrb(project, *argv, config_yaml=config), rf"config\.yaml {re.escape(where)}: ")


@pytest.mark.parametrize(
    "text",
    [
        "user_defined: {x: " + "[" * 600 + "]" * 600 + "}\n",
        "user_defined: {x: !!float nope}\n",
        b"user_defined: {x: \xff}\n",
    ],
    ids=["deep", "bad-float", "not-utf-8"],
)
def test_config_files_yaml_cannot_load_are_config_errors(project: Path, text: str | bytes) -> None:
    # was: RecursionError, ValueError, UnicodeDecodeError
    says(nrb(project, *DRY, config_yaml=text), r"config\.yaml")


def test_a_config_name_too_long_for_the_file_system_is_a_config_error(project: Path) -> None:
    # was: OSError (ENAMETOOLONG) from Path.is_file()
    says(nrb(project, *DRY, "-c", "a" * 5000), r"aaaa")


@pytest.mark.parametrize(
    ("file", "text", "where"),
    [
        ("hosts", "r1: {data: [1]}\n", r"hosts\.yaml:1:12 r1\.data: expected a mapping"),
        ("defaults", "data: 5\n", r"defaults\.yaml:1:7 data: expected a mapping"),
        (
            "hosts",
            "r1: {connection_options: {netmiko: {extras: 5}}}\n",
            r"hosts\.yaml:1:45 r1\.connection_options\.netmiko\.extras: expected a mapping",
        ),
        ("hosts", "? [a]\n: {}\n", r"hosts\.yaml:2:3 .*a host name must be"),
        ("hosts", "r1: {data: &a {x: *a}}\n", r"hosts\.yaml r1\.data: recursive alias"),
        ("hosts", "r1: {port: abc}\n", r"hosts\.yaml:1:12 r1\.port: expected a port number"),
        ("hosts", "r1: {groups: core}\n", r"hosts\.yaml:1:14 r1\.groups: expected a list"),
        ("hosts", "r1: {groups: [nope]}\n", r"hosts\.yaml:1:15 r1\.groups\[0\]: unknown group"),
        (
            "groups",
            "a: {groups: [b]}\nb: {groups: [a]}\n",
            r"groups\.yaml:1:13 a\.groups: group cycle",
        ),
        ("hosts", "r1: {password: 12345}\n", r"hosts\.yaml:1:16 r1\.password: expected a string"),
    ],
)
def test_inventory_values_nornir_cannot_use_are_located_inventory_errors(
    project: Path, file: str, text: str, where: str
) -> None:
    # was: exit 1 (AttributeError, TypeError, RecursionError: at load, in the dry run, or in
    # `inventory --list`), exit 0 (a port "abc", a password that is a number), or an error
    # naming config.yaml ("cannot load the inventory: KeyError: 'c'")
    for argv in (DRY, ("inventory", "--list"), ("validate", "rb.yaml")):
        outcome = nrb(project, *argv, **{f"inventory__{file}_yaml": text})
        says(outcome, where)
        assert "12345" not in outcome.err  # a value is never shown: it may be a password


def test_a_missing_group_file_names_the_hosts_that_need_it(project: Path) -> None:
    # was: "config.yaml: cannot load the inventory: KeyError: 'ams'"
    outcome = nrb(project, *DRY, inventory__groups_yaml=None)
    says(outcome, r"hosts\.yaml:\d+:\d+ ams-core-01\.groups\[0\]: unknown group 'ams'")


# -- found in the cli package and report/save.py, and fixed there ------------------------------


def test_a_serial_of_more_than_4300_digits_is_a_usage_error(project: Path) -> None:
    says(nrb(project, *DRY, "--serial", "1" * 5000), r"--serial")


def test_a_save_folder_name_too_long_is_a_usage_error(project: Path) -> None:
    says(nrb(project, *DRY, "--save", "a" * 5000), r"aaaa")


def test_validate_with_a_config_name_too_long_is_a_config_error(project: Path) -> None:
    says(nrb(project, "validate", "rb.yaml", "-c", "a" * 5000), r"aaaa")


def test_validate_says_ok_for_a_file_name_that_is_not_utf8(project: Path) -> None:
    name = os.fsdecode(b"r\xe9seau.yaml")  # as Python decodes such a name from argv
    (project / name).write_text(GOOD)
    outcome = call(["validate", name], cwd=project)
    assert outcome.code == 0, outcome
    assert outcome.out.startswith("ok: r"), outcome
    assert outcome.out.endswith("seau.yaml\n"), outcome


def test_an_error_on_line_100_says_line_100(project: Path) -> None:
    runbook = "name: t\nsteps:\n" + "  - commands: [x]\n" * 97 + "  - commands: 5\n"
    says(nrb(project, "validate", "rb.yaml", runbook=runbook), r"rb\.yaml:100:\d+ steps\[97\]")
