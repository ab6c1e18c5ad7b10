"""The text output over the lab: outputs gathered across hosts, control characters from devices
and runbooks escaped on stdout and in the saved files, a progress line on a terminal stderr
while stdout carries only json."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import threading
from pathlib import Path

import pytest
import yaml
from cli_kit import NRB, TIMEOUT, MakeProject, Nrb, WriteRunbook

from nornir_runbook.lab.faults import HOSTILE_BANNER

AMS = ("ams-core-01", "ams-core-02", "ams-edge-01", "ams-edge-02", "ams-edge-03", "ams-edge-04")
# what must never reach a terminal or a text file raw: C0 but \n and \t, DEL, C1
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def test_verbose_text_gathers_outputs_that_differ_only_by_the_host_name(
    nrb: Nrb, write_runbook: WriteRunbook
) -> None:
    runbook = write_runbook("name: Versions\nsteps:\n  - commands: [show version]\n")

    ran = nrb.run(runbook, "-l", "ams", "-o", "text", "-v")

    assert ran.code == 0, ran
    # every lab device says the same but its own name (the uptime line): shown once
    assert ran.out.count("Cisco IOS XE Software, Version 17.03.01a") == 1
    assert f"    {', '.join(AMS)} (6 hosts, {{host}} = its name):\n" in ran.out
    assert "      {host} uptime is " in ran.out
    per_host = re.findall(r"^      ([\w-]+): \1 uptime is \d", ran.out, re.MULTILINE)
    assert per_host == list(AMS)


def hostile_project(make_project: MakeProject) -> Path:
    """The lab project with ams-edge-03 on a port of its own, its banner full of escapes."""
    config = make_project(closed=("ams-edge-03",))
    hosts_file = config.parent / "inventory" / "hosts.yaml"
    hosts = yaml.safe_load(hosts_file.read_text())
    hosts["ams-edge-03"].setdefault("data", {})["lab_fault"] = "hostile_banner"
    hosts_file.write_text(yaml.safe_dump(hosts, sort_keys=False))
    return config


HOSTILE_RUNBOOK = r"""
name: Banner
steps:
  - commands: [show banner motd]
  - name: Say
    task: echo
    args: {word: "x\e]0;title\a\rok: [forged]"}
  - name: Refuse
    task: fail
    args: {message: "refused\e[2J\rok: [forged]"}
"""


def test_text_output_and_saved_files_escape_control_characters(
    nrb: Nrb, write_runbook: WriteRunbook, make_project: MakeProject, tmp_path: Path
) -> None:
    config = hostile_project(make_project)
    runbook = write_runbook(HOSTILE_RUNBOOK)
    args = ("-c", config, "-l", "ams-edge-03", "--lab", "--save", tmp_path / "runs")

    ran = nrb.run(runbook, *args, "-o", "text", "-v")

    assert ran.code == 2, ran  # the fail step
    assert not RAW.search(ran.out), ran.out
    # the device's banner, shown escaped (Netmiko turns the lone \r into a line break)
    assert r"\x1b]0;pwned by the banner\x07\x1b[2J\x1b[H\x1b]52;c;cm0gLXJmIH4K\x07" in ran.out
    assert r"      \x1b[1A\x1b[2K" + "\n      ok: [forged]" + r"\x1b[K" in ran.out
    assert r"x\x1b]0;title\x07\rok: [forged]" in ran.out  # runbook data, echoed
    assert r"failed: [ams-edge-03] refused\x1b[2J\rok: [forged]" in ran.out  # an error
    assert not re.search(r"^ok: \[forged\]", ran.out, re.MULTILINE)
    texts = list((tmp_path / "runs").rglob("*.txt"))
    assert {p.name for p in texts} == {"ams-edge-03.txt", "failed.txt", "show_banner_motd.txt"}
    for path in texts:
        assert not RAW.search(path.read_text()), path
    saved = next(p for p in texts if p.name == "ams-edge-03.txt").read_text()
    assert r"Authorized access only\x07" in saved
    output = next(p for p in texts if p.name == "show_banner_motd.txt")
    assert output.read_text().startswith(r"\x1b]0;pwned by the banner\x07\x1b[2J")
    assert r"refused\x1b[2J\rok: [forged]" in saved

    as_json = nrb.run(runbook, *args, "-o", "json")  # json keeps the exact data

    assert as_json.code == 2, as_json
    steps = as_json.json()["hosts"]["ams-edge-03"]["steps"]
    banner = HOSTILE_BANNER.replace("\r", "\n")  # as Netmiko normalises line breaks
    assert steps[0]["result"]["show banner motd"] == banner
    assert steps[1]["result"] == {"word": "x\x1b]0;title\x07\rok: [forged]"}
    assert steps[2]["error"] == "refused\x1b[2J\rok: [forged]"


def test_names_with_control_characters_are_input_errors_shown_escaped(
    nrb: Nrb, write_runbook: WriteRunbook
) -> None:
    runbook = write_runbook(
        'name: "Health\\e]0;pwned\\a"\nsteps:\n  - name: "Clock\\r"\n    commands: [show clock]\n'
    )
    other = write_runbook('name: Tasks\nsteps:\n  - task: "echo\\e[2J"\n', "other.yaml")

    ran = nrb.run(runbook)
    checked = nrb("validate", other, "-c", nrb.config)

    assert ran.code == 5, ran
    assert ran.out == ""
    assert not RAW.search(ran.err), ran.err
    assert "runbook.yaml:1:7 name: expected a name without control characters" in ran.err
    assert "'Health\\x1b]0;pwned\\x07'" in ran.err
    assert "runbook.yaml:3:11 steps[0].name: expected a name without control characters" in ran.err
    assert checked.code == 5, checked
    assert not RAW.search(checked.err), checked.err
    assert "other.yaml:3:11 steps[0].task: unknown task 'echo\\x1b[2J'" in checked.err


def run_with_terminal_stderr(nrb: Nrb, *args: str) -> tuple[int, str, str]:
    """``nrb run ARGS`` with stderr on a pseudo-terminal and stdout on a pipe: (code, stdout,
    what the terminal received)."""
    main, secondary = pty.openpty()
    with subprocess.Popen(
        [*NRB, "run", *args, "-c", str(nrb.config)],
        cwd=nrb.cwd,
        env=nrb.env,
        stdout=subprocess.PIPE,
        stderr=secondary,
    ) as proc:
        os.close(secondary)
        assert proc.stdout is not None
        out: list[bytes] = []
        reader = threading.Thread(target=lambda: out.append(proc.stdout.read()))  # type: ignore[union-attr]
        reader.start()
        chunks = []
        while True:
            if not select.select([main], [], [], TIMEOUT)[0]:
                proc.kill()
                pytest.fail("nrb hung with stderr on a terminal")
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: every writer of the terminal has closed it
                break
            if not chunk:
                break
            chunks.append(chunk)
        reader.join(TIMEOUT)
        proc.wait(timeout=TIMEOUT)
    os.close(main)
    return proc.returncode, b"".join(out).decode(), b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize("fmt", ["json", "jsonl", "yaml"])
def test_machine_formats_show_progress_on_a_terminal_stderr(
    nrb: Nrb, write_runbook: WriteRunbook, fmt: str
) -> None:
    runbook = write_runbook(
        "name: Progress\nsteps:\n  - {name: Say, task: echo, args: {x: y}}\n"
        "  - {name: Clock, commands: [show clock]}\n"
    )

    code, out, terminal = run_with_terminal_stderr(
        nrb, str(runbook), "-l", "ams-core-01:ams-core-02", "-o", fmt
    )

    assert code == 0, terminal
    if fmt == "json":
        assert json.loads(out)["summary"]["ok"] == 2
    elif fmt == "jsonl":
        lines = [json.loads(line) for line in out.splitlines()]  # hosts as they complete
        assert sorted(line["host"] for line in lines[:-1]) == ["ams-core-01", "ams-core-02"]
        assert lines[-1]["summary"]["ok"] == 2
    else:
        assert yaml.safe_load(out)["summary"]["ok"] == 2
    assert "\x1b" not in out
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal)
    assert re.search(r"step 1/2 Say  [0-2]/2 hosts  0 failed", plain), terminal
    assert "step 2/2 Clock" in plain
    assert "\x1b[?25l" in terminal  # rich's live line hides the cursor, and shows it again
    assert "\x1b[?25h" in terminal


def test_no_progress_when_stderr_is_not_a_terminal(nrb: Nrb, write_runbook: WriteRunbook) -> None:
    runbook = write_runbook("name: Quiet\nsteps:\n  - {name: Say, task: echo, args: {x: y}}\n")

    ran = nrb.run(runbook, "-l", "ams-core-01", "-o", "json")

    assert ran.code == 0, ran
    assert ran.err == ""
    assert ran.json()["summary"]["ok"] == 1


def test_listings_escape_names_from_runbooks_and_the_inventory(
    nrb: Nrb, write_runbook: WriteRunbook, make_project: MakeProject
) -> None:
    config = make_project()
    hosts_file = config.parent / "inventory" / "hosts.yaml"
    hosts = yaml.safe_load(hosts_file.read_text())
    hosts["evil\x1b]0;pwned\x07"] = {"hostname": "127.0.0.1", "port": 9, "groups": ["ams"]}
    hosts_file.write_text(yaml.safe_dump(hosts, sort_keys=False))
    runbook = write_runbook('name: Listing\nsteps:\n  - commands: ["show \\e[2Jclock"]\n')

    steps = nrb.run(runbook, "-c", config, "--list-steps")
    listed = nrb.run(runbook, "-c", config, "--list-hosts", "-l", "evil*")
    graph = nrb.inventory("-l", "evil*", config=config)

    assert steps.code == listed.code == graph.code == 0, (steps, listed, graph)
    assert steps.out == "1. show \\x1b[2Jclock (commands)\n"
    assert listed.out == "evil\\x1b]0;pwned\\x07\n"
    assert "evil\\x1b]0;pwned\\x07" in graph.out
    assert not RAW.search(graph.out), graph.out
