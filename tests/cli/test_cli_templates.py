"""Templates are sandboxed and bounded, through ``nrb validate`` and ``nrb run``.

Each ``nrb`` here runs under the CLI kit's timeout: a template that made ``nrb`` hang (Jinja2
folds ``7 ** 900000000`` while compiling) fails its test instead of stalling the session.
"""

from __future__ import annotations

import pytest
from cli_kit import Nrb, WriteRunbook

pytestmark = pytest.mark.cli

BOMBS = """
    name: Bombs
    steps:
      - name: Clock
        commands: [show clock]
      - name: Power
        commands: ["show {{ 7 ** 900000000 }}"]
      - name: Repeat
        config: ["description {{ 'a' * 10**9 }}"]
      - name: Range
        task: echo
        args: {n: "{{ range(10**9) | list | length }}"}
    """
PER_HOST = """
    name: Per host
    steps:
      - name: Power of the port
        commands: ["show {{ 7 ** (host.port * 1000) }}"]
    """
MUTATES = """
    name: Mutates
    vars: {acl: [10.0.0.0/8]}
    steps:
      - name: Sneaky
        commands: ["show clock{{ vars.acl.append('0.0.0.0/0') or '' }}"]
      - name: ACL
        config: ["{% for net in vars.acl %}permit {{ net }}\\n{% endfor %}"]
    """


def test_validate_reports_each_bomb_located_without_hanging(
    nrb: Nrb, write_runbook: WriteRunbook
) -> None:
    write_runbook(BOMBS, "bombs.yaml")

    ran = nrb("validate", "-c", nrb.config, "bombs.yaml")

    assert (ran.code, ran.out) == (5, ""), ran
    located = [line for line in ran.err.splitlines() if line.startswith("bombs.yaml:")]
    assert located == [
        "bombs.yaml:6:16 steps[1].commands[0]: power too large: 7 ** 900000000 "
        "(results of at most 16384 bits)",
        "bombs.yaml:8:14 steps[2].config[0]: repetition too large: 1 items * 1000000000 "
        "(at most 10000000 in all)",
        "bombs.yaml:11:15 steps[3].args.n: ranges too large: more than 1000000 items in all",
    ]


def test_run_refuses_the_bombs_before_connecting(nrb: Nrb, write_runbook: WriteRunbook) -> None:
    write_runbook(BOMBS, "bombs.yaml")

    ran = nrb.run("bombs.yaml", "-l", "ams-core-01", "-o", "json")

    assert (ran.code, ran.out) == (5, ""), ran
    assert "bombs.yaml:6:16 steps[1].commands[0]: power too large" in ran.err


def test_a_bomb_found_only_per_host_names_the_host(nrb: Nrb, write_runbook: WriteRunbook) -> None:
    write_runbook(PER_HOST)

    validated = nrb("validate", "-c", nrb.config, "runbook.yaml")
    ran = nrb.run("runbook.yaml", "-l", "ams-core-01", "-o", "json", "--dry-run")

    # nothing constant to find: validate finds it as a run does, rendering for each host of
    # the runbook's targets
    assert validated.code == 5, validated
    assert validated.err.startswith(
        "runbook.yaml:4:16 steps[0].commands[0]: cannot render for host 'ams-core-01': "
        "power too large: 7 ** "
    ), validated
    assert (ran.code, ran.out) == (5, ""), ran
    assert ran.err.startswith(
        "runbook.yaml:4:16 steps[0].commands[0]: cannot render for host 'ams-core-01': "
        "power too large: 7 ** "
    ), ran


def test_a_template_cannot_change_vars_for_later_steps(
    nrb: Nrb, write_runbook: WriteRunbook
) -> None:
    write_runbook(MUTATES)

    ran = nrb.run("runbook.yaml", "-l", "ams-core-01:ams-edge-01", "-o", "json", "--dry-run")

    assert (ran.code, ran.out) == (5, ""), ran
    assert ran.err.startswith(
        "runbook.yaml:5:16 steps[0].commands[0]: cannot render for 2 hosts "
        "(ams-core-01, ams-edge-01): access to attribute 'append' of 'list' object is unsafe."
    ), ran
