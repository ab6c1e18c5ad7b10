"""Ctrl-C (SIGINT) and SIGTERM in the middle of a run with ``--save``.

Twelve hosts, three at a time: one answers at once, the others slowly. The run gets the signal
as soon as ``-o jsonl`` prints the first host (or, should that line not come in time, as soon as
a slow device has answered). It must end with 130 / 143, having printed and saved every host
that finished and the rest as skipped, with no half-written file, no password anywhere, and no
session left open on the devices.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from fault_drill import (
    LAB_PASSWORD,
    WRONG_PASSWORD,
    DrillProject,
    NrbRun,
    Spec,
    check_lab_alive,
    leftover_files,
    nrb_command,
    nrb_env,
    scanned_places,
    secret_hits,
    wait_until_closed,
    write_drill_project,
    write_runbook,
)

from nornir_runbook.lab import Lab

pytestmark = [pytest.mark.integration, pytest.mark.cli]

RUN_TIMEOUT = 60
WORKERS = 3
# show version: 63 lines, about a second at this delay, against the fast host's none: a slow
# host that has started finishes well within the runner's grace period after the signal (5 s)
SLOW_DELAY = 0.015
HOSTS = ("fast", *(f"slow-{i:02d}" for i in range(1, 12)))
# still pending at the signal, with room for the hosts started as the first ones finished
NEVER_STARTED = HOSTS[WORKERS + 3 :]
SPECS = (
    Spec(name="fast"),
    *(Spec(name=h, fault="slow", fault_delay=SLOW_DELAY) for h in HOSTS[1:]),
)
RUNBOOK: dict[str, Any] = {
    "name": "Signal drill",
    "options": {"workers": WORKERS, "task_timeout": 30},
    "steps": [{"name": "Version", "commands": ["show version"]}],
}
VARIANTS = {  # id: (signal, strategy)
    "SIGINT-free": (signal.SIGINT, "free"),
    "SIGTERM-free": (signal.SIGTERM, "free"),
    "SIGINT-linear": (signal.SIGINT, "linear"),
}


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Interrupted:
    signal: signal.Signals
    strategy: str
    project: DrillProject
    lab: Lab
    run: NrbRun
    before: tuple[str, ...]  # hosts printed before the signal was sent
    records: tuple[dict[str, Any], ...]  # every jsonl line, parsed

    def __repr__(self) -> str:
        return f"Interrupted({self.signal.name}, {self.strategy}, exit {self.run.code})"

    def statuses(self) -> dict[str, str]:
        return {h: r["status"] for h, r in self.run.saved_report()["hosts"].items()}


def _lines(stream: IO[str], into: queue.SimpleQueue[str | None]) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


def _signal_when_first_host_done(
    proc: subprocess.Popen[str], lab: Lab, sig: int
) -> tuple[list[str], list[str]]:
    """Send ``sig`` once the first jsonl line comes, or a slow device has answered; the lines
    printed before the signal, and after it."""
    assert proc.stdout is not None
    lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
    before: list[str] = []
    deadline = time.monotonic() + RUN_TIMEOUT
    while not before and proc.poll() is None and time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.02)
        except queue.Empty:
            if any(s.commands for h, s in lab.stats().items() if h != "fast"):
                break
            continue
        if line is not None:
            before.append(line)
    if proc.poll() is None:
        proc.send_signal(sig)
    proc.wait(RUN_TIMEOUT)
    rest = []
    while (line := lines.get(timeout=RUN_TIMEOUT)) is not None:
        rest.append(line)
    return before, rest


def _interrupt(
    project: DrillProject, runbook: Path, sig: signal.Signals, lab: Lab
) -> tuple[NrbRun, list[str]]:
    save_dir = project.directory / "saved"
    stderr_file = project.directory / "stderr.txt"
    with (
        stderr_file.open("w") as stderr,
        subprocess.Popen(
            nrb_command(project, runbook, save_dir, "-o", "jsonl"),
            stdout=subprocess.PIPE,
            stderr=stderr,  # a file: -vvv writes far more than a pipe holds
            text=True,
            cwd=project.directory,
            env=nrb_env(),
        ) as proc,
    ):
        try:
            before, after = _signal_when_first_host_done(proc, lab, sig)
        finally:
            if proc.poll() is None:
                proc.kill()
    stdout = "".join(before + after)
    run = NrbRun(
        code=proc.returncode, stdout=stdout, stderr=stderr_file.read_text(), save_dir=save_dir
    )
    return run, before


@pytest.fixture(scope="module", params=list(VARIANTS))
def interrupted(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Interrupted]:
    sig, strategy = VARIANTS[request.param]
    directory = tmp_path_factory.mktemp(f"signal-{request.param}")
    project = write_drill_project(directory, SPECS)
    runbook = write_runbook(
        directory, "signal", {**RUNBOOK, "options": {**RUNBOOK["options"], "strategy": strategy}}
    )
    with project.lab() as lab:
        run, before = _interrupt(project, runbook, sig, lab)
        check_lab_alive(lab)
        try:
            records = tuple(json.loads(line) for line in run.stdout.splitlines())
        except ValueError:
            pytest.fail(f"stdout is not json lines (exit {run.code}):\n{run.stdout[-2000:]}")
        yield Interrupted(
            signal=sig,
            strategy=strategy,
            project=project,
            lab=lab,
            run=run,
            before=tuple(json.loads(line)["host"] for line in before),
            records=records,
        )


def test_exit_code_tells_the_signal(interrupted: Interrupted) -> None:
    expected = {signal.SIGINT: 130, signal.SIGTERM: 143}[interrupted.signal]

    assert interrupted.run.code == expected, interrupted.run.stderr[-3000:]


def test_first_host_is_printed_as_soon_as_it_finished(interrupted: Interrupted) -> None:
    """jsonl: one line per host as it completes (SPEC), before the slow devices answer."""
    assert interrupted.before == ("fast",)


def test_jsonl_has_every_host_once_then_the_summary(interrupted: Interrupted) -> None:
    *hosts, summary = interrupted.records

    assert sorted(r["host"] for r in hosts) == sorted(HOSTS)
    assert summary["interrupted"] is True
    assert interrupted.run.saved_report()["interrupted"] is True
    assert summary["summary"] == interrupted.run.saved_report()["summary"]
    assert {r["host"]: r["status"] for r in hosts} == interrupted.statuses()


def test_finished_hosts_are_kept_and_the_rest_skipped(interrupted: Interrupted) -> None:
    report = interrupted.run.saved_report()
    statuses = interrupted.statuses()

    assert list(report["hosts"]) == list(HOSTS)  # inventory order
    assert statuses["fast"] == "ok"
    assert {statuses[h] for h in NEVER_STARTED} == {"skipped"}, statuses
    for host, status in statuses.items():
        (step,) = report["hosts"][host]["steps"]
        if status == "ok":
            assert f"{host} uptime is" in step["result"]["show version"]
        else:
            assert (status, step["status"], step["result"]) == ("skipped", "skipped", None), host
    counts = report["summary"]
    assert counts["ok"] + counts["skipped"] == counts["hosts"] == len(HOSTS)


def test_save_dir_is_complete_with_no_partial_file(interrupted: Interrupted) -> None:
    folder = interrupted.run.run_folder
    statuses = interrupted.statuses()

    # an interrupted run's failed.txt lists every host it did not finish, to resume with
    assert (folder / "failed.txt").read_text().split() == [h for h in HOSTS if statuses[h] != "ok"]
    assert sorted(p.stem for p in (folder / "hosts").iterdir()) == sorted(HOSTS)
    assert leftover_files(interrupted.run.save_dir) == []


def test_no_session_left_open_and_pending_hosts_never_connected(interrupted: Interrupted) -> None:
    stats = wait_until_closed(interrupted.lab)
    statuses = interrupted.statuses()

    assert {h: s.open for h, s in stats.items() if s.open} == {}
    for host in NEVER_STARTED:
        assert stats[host].connections == 0, (host, stats[host])
    for host in (h for h, status in statuses.items() if status == "ok"):
        # one session, and nrb closed it itself before it exited
        assert (stats[host].logins, stats[host].client_closed) == (1, 1), (host, stats[host])


def test_no_password_in_any_output_or_file(interrupted: Interrupted) -> None:
    # stdout, stderr, report.json, failed.txt, a file per host and a file per command output
    outputs = [p for p in interrupted.run.save_dir.rglob("outputs/*/*/*") if p.is_file()]
    assert outputs  # the hosts that finished before the signal
    assert scanned_places(interrupted.run) == 2 + 2 + len(HOSTS) + len(outputs)
    assert "DEBUG" in interrupted.run.stderr
    assert secret_hits(interrupted.run, [LAB_PASSWORD, WRONG_PASSWORD]) == []
