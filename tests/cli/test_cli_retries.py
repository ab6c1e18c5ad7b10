"""A connection retry resumes at the step that failed to connect: no step runs twice.

A task from the project folder (``flaky:connect``) fails its first connection set-up on
purpose (to a port where nothing listens: a refusal, which the runner retries) and on the retry
connects to the host's real lab device. The steps before it append a line to a log as they run,
so the log says how many times each ran.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from cli_kit import MakeProject, Nrb, write_text

pytestmark = pytest.mark.cli

FLAKY = '''
"""Steps for the retry tests: ``mark`` logs that it ran; ``connect`` fails its first set-up."""

import os

from nornir.core.task import Result, Task


def mark(task: Task, log: str) -> Result:
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{task.host.name}\\n".encode())
    finally:
        os.close(fd)
    return Result(host=task.host, result="marked")


def connect(task: Task, marker: str, closed_port: int) -> Result:
    """The first call for a host connects to ``closed_port`` (refused); later calls to the
    host's device, whose clock they return."""
    if not os.path.exists(marker):
        open(marker, "w").close()
        real, task.host.port = task.host.port, closed_port
        try:
            task.host.get_connection("netmiko", task.nornir.config)
        finally:
            task.host.port = real
    conn = task.host.get_connection("netmiko", task.nornir.config)
    return Result(host=task.host, result=conn.send_command("show clock"))
'''

RUNBOOK = """
name: Retry resumes
steps:
  - {{name: Before, task: 'flaky:mark', args: {{log: '{log}'}}}}
  - {{name: Flaky, task: 'flaky:connect', args: {{marker: '{marker}', closed_port: {port}}}}}
  - {{name: After, task: 'flaky:mark', args: {{log: '{after}'}}}}
"""


@pytest.mark.parametrize(
    ("strategy", "executor"), [("free", "thread"), ("linear", "thread"), ("free", "process")]
)
def test_a_retried_connection_resumes_at_the_step_that_failed(
    nrb: Nrb,
    make_project: MakeProject,
    free_ports: Callable[..., list[int]],
    strategy: str,
    executor: str,
) -> None:
    """With processes, the free strategy's progress is kept in the host's worker process."""
    config = make_project()
    folder = config.parent
    write_text(folder, FLAKY, "flaky.py")
    log, after, marker = folder / "before.log", folder / "after.log", folder / "marker"
    text = RUNBOOK.format(log=log, after=after, marker=marker, port=free_ports(1)[0])
    runbook = write_text(folder, text, "retry.yaml")

    ran = nrb.run(
        runbook,
        "-l",
        "ams-core-01",
        "--retries",
        "1",
        "--strategy",
        strategy,
        "--executor",
        executor,
        "-o",
        "json",
        config=config,
    )

    assert ran.code == 0, ran
    assert marker.exists()  # the first set-up did fail (and the run still ended ok)
    steps = ran.json()["hosts"]["ams-core-01"]["steps"]
    assert [(s["name"], s["status"]) for s in steps] == [
        ("Before", "ok"),
        ("Flaky", "ok"),
        ("After", "ok"),
    ]
    assert steps[1]["result"].startswith("*")  # the device's clock, from the retried set-up
    assert Counter(log.read_text().splitlines()) == {"ams-core-01": 1}  # not run again
    assert Counter(after.read_text().splitlines()) == {"ams-core-01": 1}
