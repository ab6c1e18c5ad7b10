"""Ctrl-C (SIGINT) and SIGTERM in the middle of a run: exit 130 / 143, what finished is reported
and saved, the rest is skipped.

Twelve hosts, two workers: the signal goes out as soon as the first host's jsonl line arrives,
when at most a couple of hosts have started and most have not.
"""

from __future__ import annotations

import json
import signal
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from subprocess import Popen
from typing import Any

import pytest
from cli_kit import TIMEOUT, MakeProject, Nrb, WriteRunbook, finish
from interrupt_kit import FREE, HELD, HELD_LIMIT, Watched, hold_runbook, with_probe

pytestmark = pytest.mark.cli

SLOW = """
    name: Slow
    options: {workers: 2}
    steps:
      - name: Show
        commands: [show version, show ip interface brief]
      - name: Say
        task: echo
        args: {who: "{{ host.name }}"}
    """


def first_line(proc: Popen[bytes]) -> str:
    """The first stdout line, or a killed process and a failed test after TIMEOUT."""
    assert proc.stdout is not None
    with ThreadPoolExecutor(max_workers=1) as pool:
        line = pool.submit(proc.stdout.readline)
        try:
            return line.result(timeout=TIMEOUT).decode()
        except FutureTimeout:
            proc.kill()
            raise


@pytest.mark.parametrize(
    ("signum", "options"),
    [
        pytest.param(signal.SIGINT, ["--strategy", "free"], id="sigint-free"),
        pytest.param(signal.SIGINT, ["--strategy", "linear", "--serial", "2"], id="sigint-linear"),
        pytest.param(signal.SIGTERM, ["--strategy", "free"], id="sigterm"),
    ],
)
def test_signal_mid_run_reports_and_saves_what_finished(
    nrb: Nrb, write_runbook: WriteRunbook, lab_inventory: Any, signum: int, options: list[str]
) -> None:
    code = 130 if signum == signal.SIGINT else 143
    runbook = write_runbook(SLOW)
    proc = nrb.popen("run", runbook, "-c", nrb.config, "-o", "jsonl", "--save", "out", *options)

    first = first_line(proc)
    assert first, "nrb ended without a host line"
    out, err = finish(proc, signum)

    assert proc.returncode == code, err
    *host_lines, last = [json.loads(line) for line in [first, *out.splitlines()]]  # all valid JSON
    statuses = {line["host"]: line["status"] for line in host_lines}
    assert sorted(statuses) == sorted(lab_inventory.hosts)  # every host once, finished or not
    assert statuses[json.loads(first)["host"]] == "ok"
    assert set(statuses.values()) == {"ok", "skipped"}  # some finished, the rest did not start
    assert last["summary"] == {
        "hosts": 12,
        "ok": list(statuses.values()).count("ok"),
        "changed": 0,
        "failed": 0,
        "unreachable": 0,
        "skipped": list(statuses.values()).count("skipped"),
    }

    reports = list((nrb.cwd / "out").glob("*/report.json"))
    assert len(reports) == 1, err
    report = json.loads(reports[0].read_text())
    assert list(report["hosts"]) == list(lab_inventory.hosts)  # inventory order
    assert {n: h["status"] for n, h in report["hosts"].items()} == statuses
    assert report["summary"] == last["summary"]
    for name, host in report["hosts"].items():
        steps = [(s["name"], s["status"]) for s in host["steps"]]
        if host["status"] == "ok":
            assert steps == [("Show", "ok"), ("Say", "ok")]
            assert f"{name} uptime is" in host["steps"][0]["result"]["show version"]
            assert host["steps"][1]["result"] == {"who": name}
        else:  # never started, or (linear) stopped between its steps
            assert steps in (
                [("Show", "skipped"), ("Say", "skipped")],
                [("Show", "ok"), ("Say", "skipped")],
            )
    assert (reports[0].parent / "failed.txt").read_text() == ""
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("signals", "code", "executor"),
    [
        pytest.param((signal.SIGINT, signal.SIGINT), 130, "thread", id="sigint-twice"),
        pytest.param((signal.SIGTERM, signal.SIGTERM), 143, "thread", id="sigterm-twice"),
        pytest.param((signal.SIGINT, signal.SIGTERM), 143, "thread", id="sigint-then-sigterm"),
        pytest.param((signal.SIGINT, signal.SIGINT), 130, "process", id="sigint-twice-process"),
    ],
)
def test_a_second_signal_aborts_running_sessions_and_exits(
    nrb: Nrb, make_project: MakeProject, signals: tuple[int, int], code: int, executor: str
) -> None:
    """Two hosts sit in a session read that never ends and the grace period is an hour: only
    the second signal, aborting their sessions, can end the run before the hang guard."""
    config = with_probe(make_project())
    folder = config.parent
    runbook = hold_runbook(folder, session=True, grace_period=3600)
    args = ("run", runbook, "-c", config, "-o", "jsonl", "--save", "out", "-l", HELD_LIMIT)
    with Watched(nrb, *args, "--executor", executor) as run:
        run.wait_for_line("out", f'"host": "{FREE}"')
        run.wait_for_files(*(folder / f"started-{h}" for h in HELD))
        run.signal(signals[0])
        run.wait_for_line("err", "interrupted: waiting up to 3600s for 2 running hosts")
        run.signal(signals[1])
        exit_code = run.finish()

    assert exit_code == code, run.err
    *host_lines, last = [json.loads(line) for line in run.out]
    statuses = {line["host"]: line["status"] for line in host_lines}
    assert statuses == {FREE: "ok", **dict.fromkeys(HELD, "skipped")}
    assert last["summary"]["ok"] == 1
    assert last["summary"]["skipped"] == 2
    assert "interrupted again: aborting the sessions of running hosts" in "".join(run.err)
    assert "Traceback" not in "".join(run.err)
    reports = list((nrb.cwd / "out").glob("*/report.json"))
    assert len(reports) == 1, run.err
    report = json.loads(reports[0].read_text())
    assert {n: h["status"] for n, h in report["hosts"].items()} == statuses
    assert report["hosts"][FREE]["steps"][0]["result"] == "free"
