"""``--ask-pass``: nrb prompts on its terminal, and the answer replaces every host's password.

nrb runs under ``script``, which gives it a pseudo-terminal of its own as its controlling
terminal (as a shell in a terminal window would), so ``getpass`` prompts there with echo off;
the test reads the prompt and types the answer, as a person would.
"""

from __future__ import annotations

import json
import os
import select
import shlex
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_kit import NRB, TIMEOUT, Nrb, copy_project, write_text

pytestmark = pytest.mark.cli

PROMPT = b"SSH password: "
INVENTORY_PASSWORD = "Not-The-Lab-Pa55"  # what the copied inventory says; the devices refuse it
HOST = "fra-core-02"
CLOCK = """
    name: Clock
    steps:
      - name: Clock
        commands: [show clock]
    """


@pytest.fixture(scope="module")
def project(
    lab_inventory: Any,
    tmp_path_factory: pytest.TempPathFactory,
    free_ports: Callable[..., list[int]],
) -> Path:
    """The lab project with a password in its inventory that the devices refuse."""
    folder = tmp_path_factory.mktemp("ask-pass")
    config = copy_project(lab_inventory, folder, free_ports)
    defaults_file = folder / "inventory" / "defaults.yaml"
    defaults = yaml.safe_load(defaults_file.read_text())
    defaults["password"] = INVENTORY_PASSWORD
    defaults_file.write_text(yaml.safe_dump(defaults, sort_keys=False))
    write_text(folder, CLOCK, "clock.yaml")
    return config


def in_a_terminal(nrb: Nrb, args: list[str], answer: str) -> tuple[int, str, bytes]:
    """Run ``nrb ARGS`` on a terminal of its own; type ``answer`` at the password prompt.

    Returns the exit code, what nrb's terminal showed after the prompt, and all it showed.
    """
    command = shlex.join([*NRB, *args])
    proc = subprocess.Popen(
        ["script", "--quiet", "--return", "--command", command, "/dev/null"],
        cwd=nrb.cwd,
        env=nrb.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # never the terminal pytest itself may run in
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    shown = b""
    deadline = time.monotonic() + TIMEOUT
    try:
        while PROMPT not in shown:
            assert time.monotonic() < deadline, f"no password prompt: {shown!r}"
            ready, _, _ = select.select([proc.stdout], [], [], 1.0)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 4096)
                assert chunk, f"nrb ended before it prompted: {shown!r}"
                shown += chunk
        proc.stdin.write(answer.encode() + b"\r")
        proc.stdin.flush()
        rest = b""
        while chunk := os.read(proc.stdout.fileno(), 4096):
            rest += chunk
        code = proc.wait(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdin.close()
        proc.stdout.close()
    return code, rest.decode(errors="replace"), shown + rest


def report(text: str) -> Any:
    """The json document nrb printed on its terminal (the terminal turns \\n into \\r\\n)."""
    return json.loads(text[text.index("{") : text.rindex("}") + 1])


def test_the_prompted_password_replaces_the_inventorys(project: Path, lab_inventory: Any) -> None:
    nrb = Nrb(config=project, cwd=project.parent)
    args = ["run", "clock.yaml", "-c", "config.yaml", "-l", HOST, "-o", "json", "--ask-pass"]

    code, after, shown = in_a_terminal(nrb, args, lab_inventory.password)

    assert code == 0, shown
    host = report(after)["hosts"][HOST]
    assert host["status"] == "ok"
    assert "UTC" in host["steps"][0]["result"]["show clock"]
    assert lab_inventory.password.encode() not in shown  # the prompt did not echo it


def test_a_wrong_answer_makes_the_hosts_unreachable(project: Path, lab_inventory: Any) -> None:
    nrb = Nrb(config=project, cwd=project.parent)
    args = ["run", "clock.yaml", "-c", "config.yaml", "-l", HOST, "-o", "json", "--ask-pass"]

    code, after, shown = in_a_terminal(nrb, args, "Typo-" + lab_inventory.password)

    assert code == 4, shown
    step = report(after)["hosts"][HOST]["steps"][0]
    assert step["status"] == "unreachable"
    assert "Authentication" in step["error"]
    assert b"Typo-" not in shown


def test_inventory_also_asks_and_never_shows_the_answer(project: Path) -> None:
    nrb = Nrb(config=project, cwd=project.parent)

    code, after, shown = in_a_terminal(
        nrb, ["inventory", "-c", "config.yaml", "--list", "--ask-pass"], "Prompted-Secret-77"
    )

    assert code == 0, shown
    assert HOST in report(after)["_meta"]["hostvars"]
    assert b"Prompted-Secret-77" not in shown
    assert INVENTORY_PASSWORD.encode() not in shown


def test_no_terminal_and_no_input_is_a_clear_input_error(project: Path) -> None:
    """Without a terminal getpass reads standard input; at its end nrb says so, exit 5."""
    ran = subprocess.run(
        [*NRB, "run", "clock.yaml", "-c", "config.yaml", "-l", HOST, "--ask-pass"],
        cwd=project.parent,
        env=Nrb(config=project, cwd=project.parent).env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        start_new_session=True,  # no controlling terminal
        check=False,
    )

    assert ran.returncode == 5, ran.stderr
    assert "--ask-pass: no password was entered" in ran.stderr
    assert "Traceback" not in ran.stderr
    assert ran.stdout == ""
