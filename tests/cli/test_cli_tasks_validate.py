"""``nrb tasks`` (name, signature, origin) and ``nrb validate`` (exit 0 / 5, located messages)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
from pathlib import Path

import pytest
from cli_kit import NRB, TIMEOUT, MakeProject, Nrb, Ran, WriteRunbook, clean_env, write_text

pytestmark = pytest.mark.cli


def task_rows(ran: Ran) -> dict[str, tuple[str, str]]:
    rows = {}
    for line in ran.lines()[1:]:
        name, signature, origin = line.split("\t")  # piped: tab-separated, never wrapped
        rows[name] = (signature, origin)
    return rows


WIDE = clean_env(COLUMNS="40")  # a narrow terminal setting must not wrap piped output


def test_tasks_lists_name_signature_and_origin(nrb: Nrb) -> None:
    ran = nrb("tasks", "-c", nrb.config, env=WIDE)

    assert ran.code == 0, ran
    assert ran.lines()[0].split("\t") == ["task", "signature", "from"]
    rows = task_rows(ran)
    assert rows["send_commands"] == ("(commands: list[str])", "builtin")
    assert rows["send_config"] == (
        "(config: list[str], parents: list[str] | None = None, *, check: bool = False, "
        "diff: bool = False)",
        "builtin",
    )
    assert rows["echo"] == ("(**data: Any)", "builtin")
    assert rows["fail"] == ("(message: str = 'failed on purpose')", "builtin")
    assert rows["echo_data"] == ("(**kwargs: Any)", "nornir_utils")
    assert rows["netmiko_send_command"] == (
        "(command_string: str, use_timing: bool = False, enable: bool = False, **kwargs: Any)",
        "nornir_netmiko",
    )
    for name in ("netmiko_send_config", "netmiko_save_config", "tcp_ping", "write_file"):
        assert name in rows
    assert list(rows) == sorted(rows)


def in_a_terminal(nrb: Nrb, *args: str, columns: int) -> list[str]:
    """The lines ``nrb ARGS`` shows on a terminal ``columns`` wide (a pty), styles left out."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {k: v for k, v in nrb.env.items() if k not in ("COLUMNS", "LINES")}
    with subprocess.Popen(
        [*NRB, *args], stdin=child, stdout=child, stderr=child, cwd=nrb.cwd, env=env
    ) as proc:
        os.close(child)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the child side closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=TIMEOUT) == 0
    os.close(main)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode())
    return text.replace("\r\n", "\n").splitlines()


@pytest.mark.parametrize("columns", [48, 200])
def test_tasks_on_a_terminal_is_a_table_whose_columns_line_up(nrb: Nrb, columns: int) -> None:
    lines = in_a_terminal(nrb, "tasks", "-c", str(nrb.config), columns=columns)

    header = lines[0]
    assert header.split() == ["task", "signature", "from"]
    at_signature, at_from = header.index("signature"), header.index("from")
    names = []
    for line in lines[1:]:
        assert len(line.rstrip()) <= columns, line
        name, rest = line[:at_signature].strip(), line[at_signature:]
        if name:  # a task's first line: its name whole, its signature and origin under theirs
            names.append(name)
            assert rest.startswith("("), line
            assert line[at_from - 1] == " ", line
            assert line[at_from] != " ", line
        else:  # the signature going on: under the signature, nothing in the other columns
            assert rest.strip(), line
            assert not line[at_from:].strip(), line
    assert "netmiko_file_transfer" in names  # the longest name, not cut short on 48 columns
    assert names == sorted(names)


def test_tasks_needs_no_config(nrb: Nrb) -> None:
    ran = nrb("tasks", env=WIDE)  # no config.yaml in the current folder

    assert ran.code == 0, ran
    assert "send_commands" in task_rows(ran)


GOOD = """
    name: Good
    targets: {groups: [core]}
    vars: {ntp: 192.0.2.1}
    steps:
      - name: Clock
        commands: [show clock]
      - name: NTP
        config: ["ntp server {{ vars.ntp }}"]
      - name: Send
        task: netmiko_send_command
        args: {command_string: "show version", use_timing: true}
      - name: Echo
        targets: {tags: [rr]}
        task: echo_data
        args: {site: "{{ host.data.site }}"}
        ignore_errors: true
    """
BAD_TASK = """
    name: Bad task
    steps:
      - name: Clock
        commands: [show clock]
      - name: Typo
        task: echo_dat
    """
BAD_GROUP = """
    name: Bad group
    steps:
      - name: Clock
        targets: {groups: [edges]}
        commands: [show clock]
    """


@pytest.fixture
def runbooks(write_runbook: WriteRunbook) -> Path:
    write_runbook(GOOD, "good.yaml")
    write_runbook(BAD_TASK, "bad_task.yaml")
    return write_runbook(BAD_GROUP, "bad_group.yaml").parent


def test_validate_a_good_runbook(nrb: Nrb, runbooks: Path) -> None:
    ran = nrb("validate", "-c", nrb.config, "good.yaml")

    assert (ran.code, ran.out, ran.err) == (0, "ok: good.yaml\n", ""), ran


def test_validate_reports_every_bad_runbook_located(nrb: Nrb, runbooks: Path) -> None:
    ran = nrb("validate", "-c", nrb.config, "bad_task.yaml", "good.yaml", "bad_group.yaml")

    assert ran.code == 5, ran
    assert ran.out == "ok: good.yaml\n"
    assert ran.err.splitlines() == [
        "bad_task.yaml:6:11 steps[1].task: unknown task 'echo_dat' (did you mean 'echo_data'?)",
        "        task: echo_dat",
        " " * 14 + "^",
        "bad_group.yaml:4:24 steps[0].targets.groups[0]: "
        "unknown group 'edges' (did you mean 'edge'?)",
        "        targets: {groups: [edges]}",
        " " * 27 + "^",
    ]


def test_validate_shows_shape_and_meaning_problems_together_in_file_order(
    nrb: Nrb, write_runbook: WriteRunbook
) -> None:
    # was: the task and template problems only once the shape problems were fixed
    write_runbook(
        """
        name: Mixed
        hosts: core
        steps:
          - name: Typo in a key
            commandz: [show clock]
          - name: Typo in a task
            task: echo_dat
          - name: Typo in a template
            commands: ["show {{ host.nmae }}"]
        """,
        "mixed.yaml",
    )

    ran = nrb("validate", "-c", nrb.config, "mixed.yaml")

    assert ran.code == 5, ran
    assert [line for line in ran.err.splitlines() if line.startswith("mixed.yaml")] == [
        "mixed.yaml:2:1 hosts: unknown key 'hosts' (did you mean 'targets'?)",
        "mixed.yaml:4:5 steps[0]: expected exactly one of 'commands', 'config' or 'task' "
        "(or 'assert' alone), got none",
        "mixed.yaml:5:5 steps[0].commandz: unknown key 'commandz' (did you mean 'commands'?)",
        "mixed.yaml:7:11 steps[1].task: unknown task 'echo_dat' (did you mean 'echo_data'?)",
        "mixed.yaml:9:16 steps[2].commands[0]: undefined attribute 'host.nmae'"
        " (did you mean 'host.name'?)",
    ]


def test_a_template_typo_in_host_data_is_said_once_for_every_host(
    nrb: Nrb, write_runbook: WriteRunbook
) -> None:
    # was: one message per host (and three lines each), 36 lines for one mistake
    runbook = write_runbook(
        """
        name: Typo
        steps:
          - name: NTP
            config: ["ntp vrf {{ host.data.mgmt_vfr }}"]
        """
    )

    ran = nrb.run(runbook, "--dry-run", "-l", "fra:&edge")

    assert ran.code == 5, ran
    assert ran.out == ""
    assert ran.err.splitlines()[0] == (
        f"{runbook}:4:14 steps[0].config[0]: cannot render for 4 hosts"
        " (fra-edge-01, fra-edge-02, fra-edge-03, fra-edge-04):"
        " 'dict object' has no attribute 'mgmt_vfr' (did you mean 'host.data.mgmt_vrf'?)"
    )
    assert len(ran.err.splitlines()) == 3  # the message, the line, the caret


def test_validate_connects_to_nothing(nrb: Nrb, runbooks: Path, make_project: MakeProject) -> None:
    dark = make_project(closed=("*",))

    ran = nrb("validate", "-c", dark, "good.yaml")

    assert (ran.code, ran.out) == (0, "ok: good.yaml\n"), ran


LOCAL_TASKS = """
    import pathlib

    from nornir.core.task import Result, Task

    pathlib.Path("imported.txt").write_text("module code ran")  # importing runs code


    def stamp(task: Task) -> Result:
        return Result(host=task.host, result="stamped")
    """
LOCAL = """
    name: Local tasks
    steps:
      - name: Stamp
        task: site_tasks.stamp:stamp
      - name: Again
        task: site_tasks.stamp:stamp
      - name: Clock
        commands: [show clock]
    """


def test_validate_lists_the_local_modules_it_imports(
    nrb: Nrb, write_runbook: WriteRunbook, make_project: MakeProject
) -> None:
    """Runbooks are code: validating one imports its ``module:function`` tasks, and says so,
    one indented line per module under the runbook's unchanged ``ok:`` line."""
    config = make_project()
    package = config.parent / "site_tasks"
    write_text(package, "", "__init__.py")
    module = write_text(package, LOCAL_TASKS, "stamp.py")
    write_runbook(LOCAL, "local.yaml")
    runbooks = write_runbook(GOOD, "good.yaml").parent

    ran = nrb("validate", "-c", config, "local.yaml", "good.yaml")

    assert (ran.code, ran.err) == (0, ""), ran
    assert ran.lines() == [
        "ok: local.yaml",
        f"  imports module site_tasks.stamp from {module.resolve()}",
        "ok: good.yaml",
    ]
    assert (runbooks / "imported.txt").read_text() == "module code ran"


def test_validate_a_missing_file(nrb: Nrb) -> None:
    ran = nrb("validate", "-c", nrb.config, "nowhere.yaml")

    assert ran.code == 5, ran
    assert ran.err.startswith("nowhere.yaml: cannot read")
    assert "Traceback" not in ran.err
