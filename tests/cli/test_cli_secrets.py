"""Passwords never appear in any output, report, log or error message, at any verbosity.

The runbook here puts the lab password where it would show if nothing scrubbed it: in the
runbook's name, a step name, commands (keys of the result), a config line the device echoes,
an echo task's result and a failing task's error. Every run is at -vvv (one at -vvvv) with
--save; stdout, stderr and every saved file are searched.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import pytest
from cli_kit import Nrb, Ran, clean_env, run_calls, write_text

pytestmark = pytest.mark.cli

MASK = "********"
WRONG = "Wr0ng-Secret-4242"  # a password from NRB_PASSWORD that the devices refuse

LEAKY = """
    name: "Leaky {pw}"
    vars: {{pw: "{pw}"}}
    steps:
      - name: "Show {pw}"
        commands: ["show running-config", "show clock | include {{{{ vars.pw }}}}"]
      - name: Community
        config:
          - "snmp-server community {{{{ vars.pw }}}} RO"
          - "no snmp-server community {{{{ vars.pw }}}} RO"
      - name: Echo
        task: echo
        args: {{secret: "{{{{ vars.pw }}}}", host: "{{{{ host.name }}}}"}}
      - name: Fail
        task: fail
        args: {{message: "refused {{{{ vars.pw }}}}"}}
    """
PLAIN = """
    name: Plain
    steps:
      - name: Clock
        commands: [show clock]
    """
RAISING = """
    name: Raising
    vars: {{pw: "{pw}"}}
    steps:
      - name: Wait for a prompt that never comes
        task: netmiko_send_command
        args:
          command_string: show clock
          expect_string: "{{{{ vars.pw }}}}"
          read_timeout: 1
    """
BROKEN = """
    name: Broken
    steps:
      - name: Typo
        commands: ["show {{{{ host.nme }}}} {pw}"]
    """


@pytest.fixture(scope="module")
def runs(
    lab_inventory: Any, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Ran, Path]]:
    """Every case, run at once: (the run, the folder it ran in)."""
    password = lab_inventory.password
    root = tmp_path_factory.mktemp("secrets")
    cases: dict[str, tuple[str, list[str], dict[str, str]]] = {
        # case: (runbook, options, extra environment)
        **{
            f"leaky-{fmt}": (LEAKY, ["-o", fmt, "-vvv"], {})
            for fmt in ("text", "json", "yaml", "jsonl")
        },
        "leaky-text-vvvv": (LEAKY, ["-o", "text", "-vvvv"], {}),
        "leaky-dry-run": (LEAKY, ["-o", "text", "-vvv", "--dry-run"], {}),
        "env-password": (LEAKY, ["-o", "jsonl", "-vvv"], {"NRB_PASSWORD": password}),
        "wrong-password-json": (PLAIN, ["-o", "json", "-vvv"], {"NRB_PASSWORD": WRONG}),
        "invalid-runbook": (BROKEN, ["-o", "json", "-vvv"], {}),
        # the exception's message holds the password (netmiko's ReadTimeout quotes the pattern)
        "exception-thread": (RAISING, ["-o", "json"], {}),
        "exception-process": (RAISING, ["-o", "json", "--executor", "process", "-w", "1"], {}),
    }
    calls = {}
    for case, (runbook, options, env) in cases.items():
        write_text(root / case, runbook.format(pw=password), "runbook.yaml")
        nrb = Nrb(config=lab_inventory.config_file, cwd=root / case, env=clean_env(**env))
        calls[case] = partial(
            nrb.run, "runbook.yaml", "-l", "ams-edge-01", *options, "--save", "out"
        )
    inventory = Nrb(config=lab_inventory.config_file, cwd=root)
    calls["inventory-list"] = partial(inventory.inventory, "--list", "-vvv")
    return {case: (ran, root / case) for case, ran in run_calls(calls).items()}


EXPECTED_CODES = {
    "leaky-text": 2,
    "leaky-json": 2,
    "leaky-yaml": 2,
    "leaky-jsonl": 2,
    "leaky-text-vvvv": 2,
    "leaky-dry-run": 0,
    "env-password": 2,
    "wrong-password-json": 4,
    "invalid-runbook": 5,
    "inventory-list": 0,
    "exception-thread": 2,
    "exception-process": 2,
}


@pytest.mark.parametrize(
    "case",
    list(EXPECTED_CODES),
)
def test_no_password_anywhere(
    runs: dict[str, tuple[Ran, Path]], lab_inventory: Any, case: str
) -> None:
    ran, folder = runs[case]
    secrets = (lab_inventory.password, WRONG)

    assert ran.code == EXPECTED_CODES[case], ran
    saved = (
        [p for p in (folder / "out").rglob("*") if p.is_file()] if (folder / "out").exists() else []
    )
    if case.startswith(("leaky", "env", "wrong")):
        assert saved, "nothing was saved"
    texts = {"stdout": ran.out, "stderr": ran.err} | {
        str(p): p.read_text(errors="replace") for p in saved
    }
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"{case}: the password is in {where}"
    if case.startswith(("leaky", "env", "invalid", "exception")):
        assert MASK in ran.out + ran.err  # it was there, and was masked


def test_leaky_outputs_are_masked_not_dropped(runs: dict[str, tuple[Ran, Path]]) -> None:
    doc = runs["leaky-json"][0].json()

    assert doc["runbook"] == f"Leaky {MASK}"
    steps = doc["hosts"]["ams-edge-01"]["steps"]
    assert [s["name"] for s in steps] == [f"Show {MASK}", "Community", "Echo", "Fail"]
    assert list(steps[0]["result"]) == ["show running-config", f"show clock | include {MASK}"]
    # the cases run at once on one device: a run that finds the line another just added sends
    # only its removal; either way every line sent shows the community masked
    sent = steps[1]["result"]
    assert sent[-1] == f"no snmp-server community {MASK} RO"
    assert sent in ([f"snmp-server community {MASK} RO", sent[-1]], [sent[-1]])
    assert steps[2]["result"] == {"secret": MASK, "host": "ams-edge-01"}
    assert steps[3]["error"] == f"refused {MASK}"


def test_wrong_password_from_the_environment_is_reported_unreachable(
    runs: dict[str, tuple[Ran, Path]],
) -> None:
    ran, _ = runs["wrong-password-json"]

    step = ran.json()["hosts"]["ams-edge-01"]["steps"][0]
    assert (step["status"], ran.code) == ("unreachable", 4)
    assert "Authentication" in step["error"]
