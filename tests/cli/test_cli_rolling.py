"""What a run does batch by batch and step by step, read from the order in which hosts did things.

A task from the project folder (``order_log:mark``) appends ``STEP HOST`` to a log file as it
runs; the tests read that log. Order is proven by events (a host that waits until another one
has logged a line), never by the clock.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from cli_kit import MakeProject, Nrb, write_text

pytestmark = pytest.mark.cli

ORDER_LOG = '''
"""Log the order in which hosts run steps: one line "STEP HOST" appended per call."""

import os
import time

from nornir.core.task import Result, Task


def _logged(log: str, line: str) -> bool:
    try:
        with open(log, encoding="utf-8") as f:
            return line in f.read().splitlines()
    except FileNotFoundError:
        return False


def mark(task: Task, log: str, step: str, wait_for: str = "", bound: float = 60.0) -> Result:
    """Append "STEP HOST" to ``log``; first wait (at most ``bound`` s) until ``wait_for`` is
    a line of it."""
    deadline = time.monotonic() + bound
    while wait_for and not _logged(log, wait_for):
        if time.monotonic() > deadline:
            return Result(host=task.host, result=f"gave up waiting for {wait_for!r}", failed=True)
        time.sleep(0.02)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{step} {task.host.name}\\n".encode())  # one write: lines never mix
    finally:
        os.close(fd)
    return Result(host=task.host, result=step)
'''


def project_with_log(make_project: MakeProject) -> tuple[Path, Path]:
    """A copy of the lab project with ``order_log.py`` beside its config.yaml, and the log."""
    config = make_project()
    write_text(config.parent, ORDER_LOG, "order_log.py")
    return config, config.parent / "order.log"


def log_lines(log: Path) -> list[tuple[str, str]]:
    return [tuple(line.split(" ", 1)) for line in log.read_text().splitlines()]  # type: ignore[misc]


def chunks(lines: list[tuple[str, str]]) -> list[tuple[str, set[str]]]:
    """Consecutive lines of the same step, as (step, hosts)."""
    out: list[tuple[str, set[str]]] = []
    for step, host in lines:
        if out and out[-1][0] == step:
            out[-1][1].add(host)
        else:
            out.append((step, {host}))
    return out


def runbook_text(log: Path, *steps: str, extra: str = "") -> str:
    body = "".join(
        f"  - {{name: {step}, task: 'order_log:mark', args: {{log: '{log}', step: {step}}}}}\n"
        for step in steps
    )
    return f"name: Order\n{textwrap.dedent(extra)}steps:\n{body}"


@pytest.mark.parametrize(
    ("serial", "sizes"),
    [
        ("25%", [3, 3, 3, 3, 2]),  # 14 hosts: 3.5 rounds down, the last batch takes the rest
        ("30%", [4, 4, 4, 2]),  # 4.2 rounds down
        ("5%", [1] * 14),  # 0.7 rounds down, but a batch has at least one host
        ("5", [5, 5, 4]),
        ("100%", [14]),
    ],
)
def test_serial_runs_rolling_batches_of_the_right_size_one_after_another(
    nrb: Nrb, make_project: MakeProject, lab_inventory: object, serial: str, sizes: list[int]
) -> None:
    config, log = project_with_log(make_project)
    runbook = write_text(config.parent, runbook_text(log, "A", "B"), "order.yaml")

    ran = nrb.run(runbook, "--serial", serial, "-o", "json", config=config)

    assert ran.code == 0, ran
    hosts = list(lab_inventory.hosts)  # type: ignore[attr-defined]
    assert len(hosts) == sum(sizes)
    expected, start = [], 0
    for size in sizes:  # linear within a batch: every host's A, then every host's B
        batch = set(hosts[start : start + size])
        expected += [("A", batch), ("B", batch)]
        start += size
    assert chunks(log_lines(log)) == expected


def test_a_rolling_run_reaches_the_devices_batch_by_batch(
    nrb: Nrb, make_project: MakeProject, lab_inventory: object
) -> None:
    config, log = project_with_log(make_project)
    text = runbook_text(log, "A", "B").replace(
        "  - {name: B,", "  - {name: Clock, commands: [show clock]}\n  - {name: B,"
    )
    runbook = write_text(config.parent, text, "order.yaml")

    ran = nrb.run(runbook, "--serial", "50%", "-o", "json", config=config)

    assert ran.code == 0, ran
    hosts = list(lab_inventory.hosts)  # type: ignore[attr-defined]
    first, second = set(hosts[:7]), set(hosts[7:])  # 14 hosts
    assert chunks(log_lines(log)) == [("A", first), ("B", first), ("A", second), ("B", second)]
    document = ran.json()["hosts"]
    assert all(h["steps"][1]["result"]["show clock"] for h in document.values())


def test_free_has_no_barrier_between_steps_and_linear_has(
    nrb: Nrb, make_project: MakeProject
) -> None:
    """Under free, ams-core-01 finishes its first step only once ams-core-02 has logged its
    second: a per-step barrier would hold ams-core-02 back and the wait would give up."""
    config, log = project_with_log(make_project)
    text = runbook_text(log, "A", "B").replace(
        "step: A}",
        "step: A, wait_for: \"{{ 'B ams-core-02' if host.name == 'ams-core-01' else '' }}\"}",
    )
    free = write_text(config.parent, text, "free.yaml")
    base = ("-l", "ams-core-01:ams-core-02", "-w", "2", "-o", "json")

    ran = nrb.run(free, *base, "--strategy", "free", config=config)

    assert ran.code == 0, ran
    lines = log_lines(log)
    assert lines.index(("B", "ams-core-02")) < lines.index(("A", "ams-core-01")), lines

    log.unlink()
    linear = write_text(config.parent, runbook_text(log, "A", "B"), "linear.yaml")
    ran = nrb.run(linear, *base, "--strategy", "linear", config=config)

    assert ran.code == 0, ran
    assert chunks(log_lines(log)) == [
        ("A", {"ams-core-01", "ams-core-02"}),
        ("B", {"ams-core-01", "ams-core-02"}),
    ]


@pytest.mark.parametrize("strategy", ["linear", "free"])
def test_max_fail_percentage_without_serial_skips_the_hosts_not_started(
    nrb: Nrb, make_project: MakeProject, lab_inventory: object, strategy: str
) -> None:
    config, log = project_with_log(make_project)
    text = runbook_text(log, "A").replace(
        "steps:\n", "steps:\n  - {name: Fail, task: fail, targets: {hosts: [ams-core-01]}}\n"
    )
    runbook = write_text(config.parent, text, "fail.yaml")

    ran = nrb.run(
        runbook,
        "-w",
        "1",
        "--max-fail-percentage",
        "0",
        "--strategy",
        strategy,
        "-o",
        "json",
        config=config,
    )

    assert ran.code == 2, ran
    hosts = list(lab_inventory.hosts)  # type: ignore[attr-defined]
    statuses = {name: h["status"] for name, h in ran.json()["hosts"].items()}
    assert statuses == {hosts[0]: "failed", **dict.fromkeys(hosts[1:], "skipped")}
    assert not log.exists()  # no other host ran a step
