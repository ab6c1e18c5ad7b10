"""Ctrl-C (SIGINT) and SIGTERM in the middle of a run: exit 130 / 143, what finished is reported
and saved, the rest is skipped.

Fourteen hosts (twelve IOS, two EOS), two workers: the signal goes out as soon as the first
host's jsonl line arrives, when at most a couple of hosts have started and most have not.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from subprocess import Popen
from typing import Any

import pytest
from cli_kit import MakeProject, Nrb, WriteRunbook, bounded, finish, first_line, write_text
from interrupt_kit import FREE, HELD, HELD_LIMIT, Watched, hold_runbook, with_probe

pytestmark = pytest.mark.cli

INTERRUPTED = "interrupted: the run stopped before this step finished on this host"

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


def saved_reports(directory: Path) -> list[Path]:
    """The report.json of each run saved in ``directory`` (not again through ``latest``)."""
    return [p for p in directory.glob("*/report.json") if not p.parent.is_symlink()]


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
    # some finished, some were cut short between their steps (linear), the rest did not start
    assert {"ok", "skipped"} <= set(statuses.values()) <= {"ok", "failed", "skipped"}
    counts = list(statuses.values())
    assert last["summary"] == {
        "hosts": len(lab_inventory.hosts),
        "ok": counts.count("ok"),
        "changed": 0,
        "failed": counts.count("failed"),
        "unreachable": 0,
        "skipped": counts.count("skipped"),
    }
    assert last["interrupted"] is True

    reports = saved_reports(nrb.cwd / "out")
    assert len(reports) == 1, err
    report = json.loads(reports[0].read_text())
    assert list(report["hosts"]) == list(lab_inventory.hosts)  # inventory order
    assert {n: h["status"] for n, h in report["hosts"].items()} == statuses
    assert report["summary"] == last["summary"]
    assert report["interrupted"] is True
    for name, host in report["hosts"].items():
        steps = [(s["name"], s["status"]) for s in host["steps"]]
        if host["status"] == "ok":
            assert steps == [("Show", "ok"), ("Say", "ok")]
            version = host["steps"][0]["result"]["show version"]
            if lab_inventory.platforms[name] == "cisco_ios":
                assert f"{name} uptime is" in version
            else:
                assert version.startswith("Arista cEOSLab")
            assert host["steps"][1]["result"] == {"who": name}
        elif host["status"] == "skipped":  # never started
            assert steps == [("Show", "skipped"), ("Say", "skipped")]
        else:  # cut short: what it finished, the step it had not finished, the rest skipped
            cut = [s["status"] for s in host["steps"]].index("failed")
            assert steps[:cut] == [("Show", "ok"), ("Say", "ok")][:cut], name
            assert [status for _, status in steps[cut + 1 :]] == ["skipped"] * (1 - cut), name
            assert host["steps"][cut]["error"] == INTERRUPTED
    not_done = [name for name, status in statuses.items() if status != "ok"]
    assert (reports[0].parent / "failed.txt").read_text().split() == [
        h for h in lab_inventory.hosts if h in not_done
    ]
    assert "Traceback" not in err


# A rolling change interrupted part-way: under one worker, ams-core-01 runs only Clock and is
# done; ams-core-02 passes the Gate; ams-edge-01 is held in the Gate (gate.py) until the test
# lets it go; ams-edge-02 and ams-edge-03 are the second batch and never start.
GATE = """
    import time
    from pathlib import Path

    from nornir.core.task import Result


    def hold(task, held, folder):
        \"\"\"On host ``held``: say so in FOLDER/held, then wait for FOLDER/go.\"\"\"
        here = Path(folder)
        if task.host.name == held:
            (here / "held").write_text(held)
            deadline = time.monotonic() + 120  # never outlive a failed test for long
            while not (here / "go").exists() and time.monotonic() < deadline:
                time.sleep(0.02)
        return Result(host=task.host, result=f"through {task.host.name}")
    """
ROLLING = """
    name: Rolling change
    options: {serial: 3, workers: 1}
    steps:
      - name: Clock
        commands: [show clock]
      - name: Gate
        targets: {hosts: [ams-core-02, ams-edge-01]}
        task: gate:hold
        args: {held: ams-edge-01, folder: "FOLDER"}
      - name: After
        targets: {hosts: [ams-core-02, ams-edge-01]}
        task: echo
        args: {done: "{{ host.name }}"}
    """
ROLLING_HOSTS = ("ams-core-01", "ams-core-02", "ams-edge-01", "ams-edge-02", "ams-edge-03")
CUT = {  # strategy: each host's steps (name, status), as the interrupted run reports them
    "linear": {
        "ams-core-01": ("ok", [("Clock", "ok")]),
        "ams-core-02": ("failed", [("Clock", "ok"), ("Gate", "ok"), ("After", "failed")]),
        "ams-edge-01": ("failed", [("Clock", "ok"), ("Gate", "failed"), ("After", "skipped")]),
        "ams-edge-02": ("skipped", [("Clock", "skipped")]),
        "ams-edge-03": ("skipped", [("Clock", "skipped")]),
    },
    "free": {  # each host runs its whole list before the next starts
        "ams-core-01": ("ok", [("Clock", "ok")]),
        "ams-core-02": ("ok", [("Clock", "ok"), ("Gate", "ok"), ("After", "ok")]),
        "ams-edge-01": ("failed", [("Clock", "ok"), ("Gate", "failed"), ("After", "skipped")]),
        "ams-edge-02": ("skipped", [("Clock", "skipped")]),
        "ams-edge-03": ("skipped", [("Clock", "skipped")]),
    },
}


def wait_for(proc: Popen[bytes], path: Path) -> None:
    """Until ``path`` exists; fails if nrb ends first (or after TIMEOUT)."""

    def poll() -> None:
        while not path.exists():
            assert proc.poll() is None, "nrb ended before it got there"
            time.sleep(0.02)

    bounded(proc, poll)


def lines_to_summary(proc: Popen[bytes]) -> list[Any]:
    """The jsonl lines up to and with the summary line."""
    assert proc.stdout is not None
    lines: list[Any] = []
    while not lines or "summary" not in lines[-1]:
        line = bounded(proc, proc.stdout.readline)
        assert line, "nrb ended without a summary line"
        lines.append(json.loads(line))
    return lines


@pytest.mark.parametrize("strategy", ["linear", "free"])
def test_interrupted_change_records_what_each_host_got_and_failed_txt_resumes(
    nrb: Nrb, write_runbook: WriteRunbook, make_project: MakeProject, strategy: str
) -> None:
    config = make_project()
    folder = config.parent
    write_text(folder, GATE, "gate.py")
    runbook = write_runbook(ROLLING.replace("FOLDER", str(folder)))
    args = ("run", runbook, "-c", config, "-l", ":".join(ROLLING_HOSTS), "--strategy", strategy)
    proc = nrb.popen(*args, "-o", "jsonl", "--save", "out")

    wait_for(proc, folder / "held")
    proc.send_signal(signal.SIGINT)
    # the held host outlasts the grace period; its thread holds nrb's exit until it is let go
    records = lines_to_summary(proc)
    (folder / "go").write_text("")
    _, err = finish(proc)

    assert proc.returncode == 130, err
    *hosts, summary = records
    assert summary["interrupted"] is True
    (report_file,) = saved_reports(nrb.cwd / "out")
    report = json.loads(report_file.read_text())
    assert report["interrupted"] is True
    got = {
        name: (h["status"], [(s["name"], s["status"]) for s in h["steps"]])
        for name, h in report["hosts"].items()
    }
    assert got == CUT[strategy]
    assert {r["host"]: r["status"] for r in hosts} == {n: s for n, (s, _) in got.items()}
    edge = report["hosts"]["ams-edge-01"]["steps"]
    assert "show clock" in edge[0]["result"]  # what it got before the cut is kept
    assert edge[1]["error"] == INTERRUPTED
    if strategy == "linear":
        assert report["hosts"]["ams-core-02"]["steps"][1]["result"] == "through ams-core-02"
        assert report["hosts"]["ams-core-02"]["steps"][2]["error"] == INTERRUPTED
    redo = [name for name, (status, _) in got.items() if status != "ok"]
    failed_txt = report_file.parent / "failed.txt"
    assert failed_txt.read_text().split() == redo
    assert summary["failed_hosts"] == redo

    resumed = nrb.run(runbook, "--limit", f"@{failed_txt}", "-o", "json", config=config)

    assert resumed.code == 0, resumed
    assert list(resumed.json()["hosts"]) == redo
    assert resumed.json()["interrupted"] is False


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
    # the held hosts were cut short in their step: failed, their step says it was interrupted
    assert statuses == {FREE: "ok", **dict.fromkeys(HELD, "failed")}
    assert last["summary"]["ok"] == 1
    assert last["summary"]["failed"] == 2
    assert "interrupted again: aborting the sessions of running hosts" in "".join(run.err)
    assert "Traceback" not in "".join(run.err)
    reports = saved_reports(nrb.cwd / "out")
    assert len(reports) == 1, run.err
    report = json.loads(reports[0].read_text())
    assert {n: h["status"] for n, h in report["hosts"].items()} == statuses
    assert report["hosts"][FREE]["steps"][0]["result"] == "free"
    for held in HELD:
        assert report["hosts"][held]["steps"][0]["error"] == INTERRUPTED, held
