"""SPEC's exit codes of ``nrb run``: 0, 2, 3, 4 (wins over 2) and 5 (invalid input, with a
located message and no traceback). 130 and 143 are in test_cli_signals.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from cli_kit import MakeProject, Nrb, Ran, WriteRunbook, run_many, write_text

pytestmark = pytest.mark.cli

ECHO_AND_FAIL = """
    name: Echo and fail
    steps:
      - name: Echo
        task: echo
        args: {who: "{{ host.name }}"}
      - name: Refuse
        targets: {hosts: [fra-core-01]}
        task: fail
        args: {message: "no thanks"}
      - name: After
        task: echo
        args: {x: "1"}
    """


def test_every_host_ok_exits_0(nrb: Nrb, write_runbook: WriteRunbook) -> None:
    runbook = write_runbook(
        """
        name: All good
        steps:
          - {name: Clock, commands: [show clock]}
          - {name: Echo, task: echo, args: {who: "{{ host.name }}"}}
        """
    )

    ran = nrb.run(runbook, "-l", "ams-edge-03:fra-edge-02", "-o", "json")

    assert ran.code == 0, ran
    doc = ran.json()
    assert doc["summary"] == {
        "hosts": 2,
        "ok": 2,
        "changed": 0,
        "failed": 0,
        "unreachable": 0,
        "skipped": 0,
    }
    assert [h["status"] for h in doc["hosts"].values()] == ["ok", "ok"]


def test_a_failed_host_exits_2(nrb: Nrb, write_runbook: WriteRunbook) -> None:
    runbook = write_runbook(ECHO_AND_FAIL)

    ran = nrb.run(runbook, "-l", "core", "-o", "json")

    assert ran.code == 2, ran
    doc = ran.json()
    assert doc["summary"] == {
        "hosts": 4,
        "ok": 3,
        "changed": 0,
        "failed": 1,
        "unreachable": 0,
        "skipped": 0,
    }
    assert {name: h["status"] for name, h in doc["hosts"].items()} == {
        "ams-core-01": "ok",
        "ams-core-02": "ok",
        "fra-core-01": "failed",
        "fra-core-02": "ok",
    }
    failed = doc["hosts"]["fra-core-01"]["steps"]
    assert [(s["name"], s["status"], s["error"]) for s in failed] == [
        ("Echo", "ok", None),
        ("Refuse", "failed", "no thanks"),
        ("After", "skipped", None),  # a failing step stops the host
    ]


def test_a_batch_past_max_fail_percentage_stops_the_run(
    nrb: Nrb, write_runbook: WriteRunbook, lab_inventory: Any
) -> None:
    runbook = write_runbook(
        ECHO_AND_FAIL.replace(
            "hosts: [fra-core-01]", "hosts: [ams-core-01, ams-core-02, fra-edge-01]"
        )
    )

    ran = nrb.run(runbook, "--serial", "4", "--max-fail-percentage", "25", "-o", "json")

    assert ran.code == 2, ran
    hosts = ran.json()["hosts"]
    assert list(hosts) == list(lab_inventory.hosts)
    # 2 of the first batch of 4 failed, more than 25%: the run stops there, the rest never starts
    assert {name: h["status"] for name, h in hosts.items()} == {
        "ams-core-01": "failed",
        "ams-core-02": "failed",
        **dict.fromkeys(["ams-edge-01", "ams-edge-02", "ams-edge-03", "ams-edge-04"], "skipped"),
        **dict.fromkeys(["fra-core-01", "fra-core-02", "fra-edge-01", "fra-edge-02"], "skipped"),
        **dict.fromkeys(["fra-edge-03", "fra-edge-04", "ams-spine-01", "fra-spine-01"], "skipped"),
    }
    steps = {name: [(s["name"], s["status"]) for s in h["steps"]] for name, h in hosts.items()}
    assert steps["ams-core-01"] == [("Echo", "ok"), ("Refuse", "failed"), ("After", "skipped")]
    assert steps["ams-edge-01"] == [("Echo", "ok"), ("After", "skipped")]  # stopped mid-batch
    assert steps["ams-edge-03"] == [("Echo", "skipped"), ("After", "skipped")]
    assert steps["fra-edge-01"] == [
        ("Echo", "skipped"),
        ("Refuse", "skipped"),
        ("After", "skipped"),
    ]
    assert ran.json()["aborted"] is True
    message = (
        "max_fail_percentage 25 reached in batch 1/4: "
        "10 hosts not run, 2 stopped before their last step"
    )
    assert f"nrb: {message}\n" in ran.err


IGNORED_FAILURE = """
    name: Rolling
    options: {serial: 4, max_fail_percentage: 0}
    steps:
      - name: Echo
        task: echo
        args: {who: "{{ host.name }}"}
      - name: May fail
        targets: {hosts: [ams-core-01]}
        task: fail
        args: {message: "let through"}
        ignore_errors: true
      - name: After
        task: echo
        args: {x: "1"}
    """
EIGHT = "ams-core-*:ams-edge-*:fra-core-*"  # 8 hosts: two batches of 4


@pytest.mark.parametrize("strategy", ["linear", "free"])
def test_an_ignored_failure_does_not_count_toward_max_fail_percentage(
    nrb: Nrb, write_runbook: WriteRunbook, strategy: str
) -> None:
    """Ansible's rule: ``ignore_errors`` failures never stop a run. One worker, so that under
    ``free`` the batch's other hosts are still waiting when the first one's failure comes."""
    runbook = write_runbook(IGNORED_FAILURE)

    ran = nrb.run(runbook, "-l", EIGHT, "-w", "1", "--strategy", strategy, "-o", "json")

    assert ran.code == 0, ran
    doc = ran.json()
    assert doc["summary"]["ok"] == doc["summary"]["hosts"] == 8
    assert doc["aborted"] is False
    first = doc["hosts"]["ams-core-01"]["steps"]
    assert [(s["name"], s["status"]) for s in first] == [
        ("Echo", "ok"),
        ("May fail", "failed"),
        ("After", "ok"),
    ]
    assert "max_fail_percentage" not in ran.err


STOPPED = """
    name: Stopped
    options: {serial: 4, max_fail_percentage: 0}
    steps:
      - {name: Clock, commands: [show clock]}
      - {name: Refuse, targets: {hosts: [ams-core-01]}, task: fail}
      - {name: After, task: echo, args: {x: "1"}}
    """


def test_a_run_stopped_by_max_fail_percentage_says_so_in_every_format(
    nrb: Nrb, write_runbook: WriteRunbook, make_project: MakeProject
) -> None:
    """Exit 2 (4 with an unreachable host), a line on stderr, the text recap, and
    ``aborted: true`` in the document and the jsonl summary."""
    runbook = write_runbook(STOPPED)
    config = make_project(closed=["ams-core-01"])
    base = ("run", runbook, "-l", EIGHT, "-w", "1")
    runs = run_many(
        nrb,
        {
            "json": (*base, "-c", nrb.config, "-o", "json"),
            "jsonl": (*base, "-c", nrb.config, "-o", "jsonl"),
            "text": (*base, "-c", nrb.config, "-o", "text"),
            "unreachable": (*base, "-c", config, "-o", "json"),
        },
    )
    # batch 1 ran Clock everywhere, then ams-core-01 failed Refuse; batch 2 never started
    message = "max_fail_percentage 0 reached in batch 1/2: 4 hosts not run, "
    message += "3 stopped before their last step"
    # one worker: ams-core-01 is unreachable before the other three start
    unreachable = "max_fail_percentage 0 reached in batch 1/2: 7 hosts not run"

    for name, ran in runs.items():
        assert ran.code == (4 if name == "unreachable" else 2), ran
        said = unreachable if name == "unreachable" else message
        assert f"nrb: {said}\n" in ran.err, ran
    for doc in (runs["json"].json(), runs["unreachable"].json()):
        assert doc["aborted"] is True
        assert doc["summary"]["skipped"] == 7
    assert runs["jsonl"].jsonl()[-1]["aborted"] is True
    assert f"Aborted: {message}." in runs["text"].lines()


def test_no_host_selected_exits_3(nrb: Nrb, write_runbook: WriteRunbook) -> None:
    runbook = write_runbook(
        ECHO_AND_FAIL.replace("steps:", "targets: {groups: [edge]}\n    steps:")
    )

    ran = nrb.run(runbook, "-l", "core", "-o", "json")

    assert ran.code == 3, ran
    assert "no host matched" in ran.err
    doc = ran.json()  # still a valid document, with no host in it
    assert doc["hosts"] == {}
    assert doc["summary"] == {
        "hosts": 0,
        "ok": 0,
        "changed": 0,
        "failed": 0,
        "unreachable": 0,
        "skipped": 0,
    }


def test_unreachable_exits_4_and_wins_over_failed(
    nrb: Nrb, write_runbook: WriteRunbook, make_project: MakeProject
) -> None:
    config = make_project(closed=["ams-core-02"])
    runbook = write_runbook(
        """
        name: Reach
        steps:
          - {name: Clock, commands: [show clock]}
          - {name: Refuse, targets: {hosts: [ams-core-01]}, task: fail}
        """
    )
    commands = {
        limit: ("run", runbook, "-c", config, "-l", limit, "-o", "json")
        for limit in ("ams-core-0*", "ams-core-02", "ams-core-01")
    }

    both, unreachable, failed = run_many(nrb, commands).values()

    assert both.code == 4, both
    assert {n: h["status"] for n, h in both.json()["hosts"].items()} == {
        "ams-core-01": "failed",
        "ams-core-02": "unreachable",
    }
    assert both.json()["summary"]["unreachable"] == 1
    down = both.json()["hosts"]["ams-core-02"]["steps"]
    assert [(s["name"], s["status"]) for s in down] == [("Clock", "unreachable")]
    assert down[0]["error"]
    assert unreachable.code == 4, unreachable
    assert failed.code == 2, failed


# --- 5: invalid input -------------------------------------------------------------------------

GOOD = "name: Good\nsteps:\n  - {name: Echo, task: echo, args: {x: y}}\n"  # connects to nothing
BAD_RUNBOOKS = {
    "unknown-key": (
        "name: Bad\nsteps:\n  - name: Clock\n    commands: [show clock]\n    bogus: 1\n",
        r"bad\.yaml:5:5 steps\[0\]\.bogus: unknown key 'bogus'",
    ),
    "unknown-task": (
        "name: Bad\nsteps:\n  - name: Clock\n    commands: [show clock]\n"
        "  - name: Odd\n    task: netmiko_send_comand\n",
        r"bad\.yaml:6:11 steps\[1\]\.task: unknown task 'netmiko_send_comand' "
        r"\(did you mean 'netmiko_send_command'\?\)",
    ),
    "unexpected-argument": (
        "name: Bad\nsteps:\n  - name: Fail\n    task: fail\n    args: {msg: x}\n",
        r"bad\.yaml:5:12 steps\[0\]\.args\.msg: unexpected argument 'msg' "
        r"\(did you mean 'message'\?\)",
    ),
    "missing-argument": (
        "name: Bad\nsteps:\n  - name: Send\n    task: netmiko_send_command\n",
        r"bad\.yaml:4:11 steps\[0\]\.task: missing required argument 'command_string'",
    ),
    "template-syntax": (
        'name: Bad\nsteps:\n  - name: Clock\n    commands: ["show {{ host.name "]\n',
        r"bad\.yaml:4:16 steps\[0\]\.commands\[0\]: template syntax error",
    ),
    "undefined-var": (
        'name: Bad\nvars: {a: 1}\nsteps:\n  - name: N\n    config: ["ntp server {{ vars.ntp }}"]\n',
        r"bad\.yaml:5:14 steps\[0\]\.config\[0\]: undefined variable 'vars\.ntp'",
    ),
    "undefined-host-data": (
        'name: Bad\nsteps:\n  - name: E\n    task: echo\n    args: {x: "{{ host.data.nosuch }}"}\n',
        r"bad\.yaml:5:15 steps\[0\]\.args\.x: "
        r"cannot render for 14 hosts \(ams-core-01, ams-core-02, .* and 4 more\): .*nosuch",
    ),
    "unknown-group": (
        "name: Bad\ntargets: {groups: [cor]}\nsteps:\n  - {name: Clock, commands: [show clock]}\n",
        r"bad\.yaml:2:20 targets\.groups\[0\]: unknown group 'cor' \(did you mean 'core'\?\)",
    ),
    "not-yaml": ("name: Bad\nsteps: [\n", r"bad\.yaml:\d+:\d+"),
}
BAD_COMMAND_LINES = {
    "missing-config": (["-c", "nosuch.yaml"], r"nosuch\.yaml: config file not found"),
    "missing-runbook": (["missing.yaml"], r"missing\.yaml: cannot read"),
    "unknown-host-pattern": (["-l", "fra-edge-9"], r"no host or group named 'fra-edge-9'"),
    "serial-word": (["--serial", "many"], r"--serial: expected a count N or a percentage P%"),
    "workers-zero": (["-w", "0"], r"-w/--workers"),
    "retries-negative": (["--retries", "-1"], r"--retries"),
    "timeout-zero": (["--task-timeout", "0"], r"--task-timeout"),
    "max-fail-over-100": (["--max-fail-percentage", "101"], r"--max-fail-percentage"),
    "unknown-output": (["-o", "xml"], r"-o/--output: invalid choice: 'xml'"),
}


@pytest.fixture(scope="module")
def invalid_runs(lab_inventory: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ran]:
    """Every BAD_RUNBOOKS and BAD_COMMAND_LINES case, run at once, in a folder of its own."""
    folder = tmp_path_factory.mktemp("invalid")
    nrb = Nrb(config=lab_inventory.config_file, cwd=folder)
    write_text(folder, GOOD, "good.yaml")
    commands: dict[str, tuple[str | Path, ...]] = {}
    for case, (text, _) in BAD_RUNBOOKS.items():
        write_text(folder / case, text, "bad.yaml")
        commands[case] = ("run", f"{case}/bad.yaml", "-c", nrb.config, "-o", "json")
    for case, (options, _) in BAD_COMMAND_LINES.items():
        runbook: list[str | Path] = [] if options[0] == "missing.yaml" else ["good.yaml"]
        config: list[str | Path] = [] if options[0] == "-c" else ["-c", nrb.config]
        commands[case] = ("run", *runbook, *config, "-l", "ams-core-01", *options, "-o", "json")
    return run_many(nrb, commands)


@pytest.mark.parametrize("case", [*BAD_RUNBOOKS, *BAD_COMMAND_LINES])
def test_invalid_input_exits_5(invalid_runs: dict[str, Ran], case: str) -> None:
    ran = invalid_runs[case]
    if case in BAD_RUNBOOKS:  # located: file:line:col path: message, at the start of a line
        pattern = f"^{case}/{BAD_RUNBOOKS[case][1]}"
    else:
        pattern = BAD_COMMAND_LINES[case][1]

    assert ran.code == 5, ran
    assert ran.out == ""  # no report: nothing ran
    assert re.search(pattern, ran.err, re.MULTILINE), ran
    assert "Traceback" not in ran.err
    assert "internal error" not in ran.err


def test_every_problem_of_a_runbook_is_reported_with_a_caret(
    nrb: Nrb, write_runbook: WriteRunbook
) -> None:
    write_runbook(
        """
        name: Two problems
        steps:
          - name: One
            commands: [show clock]
            colour: blue
          - name: Two
            task: fail
            ignore_errors: maybe
        """,
        "two.yaml",
    )

    ran = nrb.run("two.yaml", "-o", "json")

    assert ran.code == 5, ran
    assert ran.err.splitlines()[:6] == [
        "two.yaml:5:5 steps[0].colour: unknown key 'colour' "
        "(expected name, commands, config, parents, task, args, targets, ignore_errors, when, "
        "register, assert, fail_msg, parse, parse_template)",
        "        colour: blue",
        "        ^",
        "two.yaml:8:20 steps[1].ignore_errors: expected true or false, got 'maybe'",
        "        ignore_errors: maybe",
        "                       ^",
    ]


def test_invalid_runbook_is_rejected_before_any_connection(
    nrb: Nrb, write_runbook: WriteRunbook, tmp_path: Path
) -> None:
    runbook = write_runbook(
        """
        name: Late problem
        steps:
          - name: Backup first
            task: backup_config
            args: {path: "{{ host.name }}.cfg"}
          - name: Then a typo
            task: echo
            args: {x: "{{ vars.missing }}"}
        """
    )

    ran = nrb.run(runbook, "-l", "ams-core-01", "--save", "out")

    assert ran.code == 5, ran
    assert not (tmp_path / "ams-core-01.cfg").exists()  # the first step never ran
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
