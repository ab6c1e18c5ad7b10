"""``config`` steps through ``nrb`` against the lab: idempotent as Ansible's ``ios_config``
``lines``/``parents``, ``--check`` and ``--diff``, on an IOS and an EOS host, under both
strategies and on the thread and process executors.

One runbook (CONFIG) with lines tagged for this module runs, in order:

1. ``--check --diff`` (json, free/process) and ``--check --diff`` (text, linear/thread), at once:
   nothing is sent (the runbook's last step reads the running config back), the lines that
   would be sent are the result, each config step has a diff;
2. the real run with ``--diff`` (json, linear/process): the same lines sent, the same diff;
3. at once: the same runbook again with ``--diff`` (json, free/thread): nothing to send, no
   diff; and a second tag with ``--diff`` in text (linear/thread): a real change's diff shown.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_kit import ALL, Nrb, Ran, copy_project, run_many, write_text

pytestmark = pytest.mark.cli

IOS_HOST, EOS_HOST = "fra-edge-02", "fra-spine-01"
HOSTS = ":".join((IOS_HOST, EOS_HOST))
INTERFACE = {IOS_HOST: "Ethernet0/2", EOS_HOST: "Ethernet1"}
# what the canned config has in that interface, that a `no` line removes
UNDONE = {IOS_HOST: "duplex auto", EOS_HOST: "mtu 9200"}

CONFIG = """\
name: Config
steps:
  - name: Contact
    config: ["snmp-server contact {{ vars.tag }}"]
  - name: Interface
    parents: "interface {{ 'Ethernet0/2' if host.platform == 'cisco_ios' else 'Ethernet1' }}"
    config:
      cisco_ios: ["description edge-{{ vars.tag }}", "no duplex auto", "no speed 100"]
      arista_eos: ["description edge-{{ vars.tag }}", "no mtu 9200", "no speed 100"]
  - name: Loopback
    config: |
      interface Loopback77
       description {{ vars.tag }}
  - name: Plain task
    task: "cfgtasks:plain"
  - name: Careful task
    task: "cfgtasks:careful"
  - name: Seen
    commands: ["show running-config | include {{ vars.tag }}"]
"""
TASKS = """\
from nornir.core.task import Result, Task


def plain(task: Task) -> Result:
    return Result(host=task.host, result="plain ran")


def careful(task: Task, check: bool = False) -> Result:
    return Result(host=task.host, result=f"careful ran, check={check}")
"""
SEEN = "show running-config | include {tag}"


def sent(tag: str, host: str) -> dict[str, list[str]]:
    """What each config step sends to ``host`` the first time, for ``tag``."""
    return {
        "Contact": [f"snmp-server contact {tag}"],
        "Interface": [
            f"interface {INTERFACE[host]}",
            f"description edge-{tag}",
            f"no {UNDONE[host]}",
        ],
        "Loopback": ["interface Loopback77", f"description {tag}"],
    }


@pytest.fixture(scope="module")
def tags() -> tuple[str, str]:
    return f"t{uuid.uuid4().hex[:8]}", f"u{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def project(
    lab_inventory: Any,
    tmp_path_factory: pytest.TempPathFactory,
    free_ports: Callable[..., list[int]],
) -> Nrb:
    """The lab project copied (its hosts on the running lab) with ``cfgtasks.py`` beside it."""
    folder = tmp_path_factory.mktemp("config")
    config = copy_project(lab_inventory, folder, free_ports)
    write_text(folder, TASKS, "cfgtasks.py")
    write_text(folder, CONFIG, "books/config.yaml")
    return Nrb(config=config, cwd=folder)


@pytest.fixture(scope="module")
def runs(project: Nrb, tags: tuple[str, str]) -> dict[str, Ran]:
    tag, other = tags
    book: tuple[str | Path, ...] = (
        "run",
        "books/config.yaml",
        "-c",
        project.config,
        "-l",
        HOSTS,
    )
    linear_thread = ("--strategy", "linear", "--executor", "thread")
    free_process = ("--strategy", "free", "--executor", "process")
    free_thread = ("--strategy", "free", "--executor", "thread")
    linear_process = ("--strategy", "linear", "--executor", "process")
    done = run_many(
        project,
        {
            "check": (*book, "-e", f"tag={tag}", "--check", "--diff", "-o", "json", *free_process),
            "check-text": (*book, "-e", f"tag={tag}", "--check", "--diff", "-o", "text"),
        },
    )
    first = (*book, "-e", f"tag={tag}", "--diff", "-o", "json", "--save", "saved")
    done["first"] = project(*first, *linear_process)
    later = {  # the same tag again, and another tag: neither changes what the other sees
        "second": (*book, "-e", f"tag={tag}", "--diff", "-o", "json", *free_thread),
        "text": (*book, "-e", f"tag={other}", "--diff", "-o", "text", *linear_thread),
    }
    done.update(run_many(project, later))
    return done


def steps_of(ran: Ran, host: str) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in ran.json()["hosts"][host]["steps"]}


def changes(diff: str) -> list[str]:
    """A diff's + and - lines, without its headers."""
    return [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


@pytest.mark.parametrize("host", [IOS_HOST, EOS_HOST])
def test_check_sends_nothing_and_reports_the_lines_it_would_send(
    runs: dict[str, Ran], tags: tuple[str, str], host: str
) -> None:
    ran = runs["check"]
    tag = tags[0]

    assert ran.code == 0, ran
    steps = steps_of(ran, host)
    for name, lines in sent(tag, host).items():
        assert (steps[name]["status"], steps[name]["changed"]) == ("ok", True), steps[name]
        assert steps[name]["result"] == lines
    assert steps["Seen"]["result"] == {SEEN.format(tag=tag): ""}  # nothing reached the device
    assert ran.json()["hosts"][host]["status"] == "ok"


@pytest.mark.parametrize("host", [IOS_HOST, EOS_HOST])
def test_check_skips_a_task_without_check_mode_and_calls_one_with_it(
    runs: dict[str, Ran], host: str
) -> None:
    checked, real = steps_of(runs["check"], host), steps_of(runs["first"], host)

    assert checked["Plain task"]["status"] == "skipped"
    assert "--check" in checked["Plain task"]["error"]
    assert checked["Plain task"]["result"] is None
    assert checked["Careful task"]["result"] == "careful ran, check=True"
    assert real["Plain task"]["result"] == "plain ran"
    assert real["Careful task"]["result"] == "careful ran, check=False"


@pytest.mark.parametrize("host", [IOS_HOST, EOS_HOST])
def test_the_first_run_sends_the_missing_lines_and_the_second_nothing(
    runs: dict[str, Ran], tags: tuple[str, str], host: str
) -> None:
    first, second = steps_of(runs["first"], host), steps_of(runs["second"], host)
    tag = tags[0]

    assert runs["first"].code == runs["second"].code == 0
    for name, lines in sent(tag, host).items():
        assert (first[name]["changed"], first[name]["result"]) == (True, lines), first[name]
        assert (second[name]["status"], second[name]["changed"]) == ("ok", False)
        assert second[name]["result"] == []
        assert "diff" not in second[name]  # --diff, and nothing changed
    seen = first["Seen"]["result"][SEEN.format(tag=tag)].splitlines()
    assert f"snmp-server contact {tag}" in seen
    assert runs["first"].json()["hosts"][host]["changed"] is True
    assert runs["second"].json()["hosts"][host]["changed"] is False
    assert runs["second"].json()["summary"]["changed"] == 0


@pytest.mark.parametrize("host", [IOS_HOST, EOS_HOST])
def test_diff_shows_the_change_and_check_foresees_it(
    runs: dict[str, Ran], tags: tuple[str, str], host: str
) -> None:
    checked, first = steps_of(runs["check"], host), steps_of(runs["first"], host)
    tag, indent = tags[0], " " if host == IOS_HOST else "   "

    interface = first["Interface"]["diff"]
    assert interface.splitlines()[:2] == ["--- before", "+++ after"]
    assert changes(interface) == [f"-{indent}{UNDONE[host]}", f"+{indent}description edge-{tag}"]
    assert f" interface {INTERFACE[host]}" in interface.splitlines()
    assert changes(first["Contact"]["diff"]) == [f"+snmp-server contact {tag}"]
    for name in ("Contact", "Interface", "Loopback"):
        assert changes(checked[name]["diff"]) == changes(first[name]["diff"]), name
    assert "diff" not in first["Seen"]  # only config steps have one


@pytest.mark.parametrize("host", [IOS_HOST, EOS_HOST])
def test_the_saved_host_file_has_each_config_steps_diff(
    runs: dict[str, Ran], project: Nrb, tags: tuple[str, str], host: str
) -> None:
    saved = (Path(project.cwd) / "saved" / "latest" / "hosts" / f"{host}.txt").read_text()
    contact = saved.split("== Contact: ok (changed)", 1)[1].split("\n== ", 1)[0]

    diff = contact.split("\ndiff:\n", 1)[1].split("\n\n", 1)[0]
    assert diff.splitlines()[:2] == ["--- before", "+++ after"]
    assert changes(diff) == [f"+snmp-server contact {tags[0]}"]


def test_text_output_shows_the_diff_under_the_hosts_line(
    runs: dict[str, Ran], tags: tuple[str, str]
) -> None:
    other = tags[1]
    ran, checked = runs["text"], runs["check-text"]

    assert ran.code == 0, ran
    lines = ran.out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("STEP 1/6 [Contact]"))
    end = next(i for i, line in enumerate(lines) if line.startswith("STEP 2/6"))
    block = lines[start + 1 : end]
    ios = block.index(f"changed: [{IOS_HOST}]")
    assert block[ios + 1 : ios + 3] == ["    --- before", "    +++ after"]
    assert f"    +snmp-server contact {other}" in block
    assert "\x1b[" not in ran.out  # not a terminal: no colour
    assert f"    +snmp-server contact {tags[0]}" in checked.out
    assert "skipped: [fra-edge-02] --check: task 'cfgtasks:plain' has no check mode" in checked.out


def test_dry_run_with_check_and_diff_connects_to_nothing(
    tmp_path: Path, lab_inventory: Any, free_ports: Callable[..., list[int]]
) -> None:
    config = copy_project(lab_inventory, tmp_path / "dark", free_ports, ALL)  # nothing listens
    write_text(tmp_path, TASKS, "dark/cfgtasks.py")
    write_text(tmp_path, CONFIG, "book.yaml")
    nrb = Nrb(config=config, cwd=tmp_path / "dark")

    ran = nrb.run(
        tmp_path / "book.yaml", "-l", HOSTS, "-e", "tag=x", "--dry-run", "--check", "--diff"
    )

    assert ran.code == 0, ran
    steps = steps_of(ran, IOS_HOST)
    assert steps["Interface"]["result"] == {
        "config": ["description edge-x", "no duplex auto", "no speed 100"],
        "parents": ["interface Ethernet0/2"],
    }
    assert all("diff" not in step for step in steps.values())
