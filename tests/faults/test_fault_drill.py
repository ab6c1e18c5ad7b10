"""Every fault a device can show ends as the right host status, with an error naming its cause.

One ``nrb run -o json -vvv --save`` per strategy (linear, free) over 8 healthy hosts and one
host per fault, against a lab started for the module. The tests below read that run.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from fault_drill import (
    LAB_PASSWORD,
    NETMIKO_EXTRAS,
    WRONG_PASSWORD,
    DrillProject,
    NrbRun,
    Spec,
    check_lab_alive,
    leftover_files,
    run_nrb,
    scanned_places,
    secret_hits,
    wait_until_closed,
    write_drill_project,
    write_runbook,
)

from nornir_runbook.lab import Lab
from nornir_runbook.lab.faults import SessionStats

pytestmark = [pytest.mark.integration, pytest.mark.cli]

# Every healthy host's three steps take about 3 s on an idle machine: TASK_TIMEOUT leaves room
# for a machine many times slower. no_prompt and slow can only end by it: Netmiko waits
# read_timeout_override twice at no_prompt's login, and slow's show version (63 lines) takes
# 63 x SLOW_DELAY, both past TASK_TIMEOUT.
TASK_TIMEOUT = 20
SLOW_DELAY = 0.5  # per line: ~32 s
# the slow host's own Netmiko read timeout: past TASK_TIMEOUT, and as short as that allows, since
# closing its session at the end of the run can wait for it (see the report of this drill)
SLOW_READ_TIMEOUT = 22
HEALTHY_READ_TIMEOUT = 15  # a cap only: a healthy read on a loaded machine stays far below it
RUN_TIMEOUT = 150  # the run must end by itself well before this
STEPS = ("Version", "Pause", "Clock")
CLOCK = re.compile(r"^\*\d{2}:\d{2}:\d{2}\.\d{3} \S+ \w{3} \w{3} \d{2} \d{4}$")

HEALTHY = tuple(f"ok-{i:02d}" for i in range(1, 9))
SPECS = (
    *(
        Spec(name=name, extras={**NETMIKO_EXTRAS, "read_timeout_override": HEALTHY_READ_TIMEOUT})
        for name in HEALTHY
    ),
    Spec(name="no-banner", fault="no_banner", group="faulty"),
    Spec(
        name="no-prompt",
        fault="no_prompt",
        extras={**NETMIKO_EXTRAS, "read_timeout_override": TASK_TIMEOUT},
        group="faulty",
    ),
    Spec(name="refused", served=False, group="faulty"),
    Spec(name="wrong-password", password=WRONG_PASSWORD, group="faulty"),
    Spec(name="drop-mid-output", fault="drop_mid_output", group="faulty"),
    # its own read timeout is longer than the runbook's task_timeout, which must stop it first
    Spec(
        name="slow",
        fault="slow",
        fault_delay=SLOW_DELAY,
        extras={**NETMIKO_EXTRAS, "read_timeout_override": SLOW_READ_TIMEOUT},
        group="faulty",
    ),
    Spec(name="drop-reconnect", fault="drop_after_first_command", group="faulty"),
    Spec(name="drop-deny", fault="drop_then_deny_login", group="faulty"),
)
RUNBOOK: dict[str, Any] = {
    "name": "Fault drill",
    "options": {"task_timeout": TASK_TIMEOUT, "workers": 20},
    "steps": [
        {"name": "Version", "commands": ["show version"]},
        # room for drop-reconnect and drop-deny to drop their session before the next step
        {"name": "Pause", "task": "drill_tasks:pause", "args": {"seconds": 1}},
        {"name": "Clock", "commands": ["show clock"]},
    ],
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    status: str
    step: str  # the step that failed; the ones before it are ok, the ones after skipped
    error: tuple[str, ...]  # the error names its cause: each of these appears in it


EXPECTED = {
    "no-banner": Outcome(status="unreachable", step="Version", error=("banner",)),
    "no-prompt": Outcome(status="unreachable", step="Version", error=("timed out",)),
    "refused": Outcome(status="unreachable", step="Version", error=("connection refused",)),
    "wrong-password": Outcome(
        status="unreachable", step="Version", error=("authentication failed",)
    ),
    "drop-mid-output": Outcome(status="failed", step="Version", error=("closed",)),
    "slow": Outcome(status="failed", step="Version", error=("timed out",)),
    "drop-deny": Outcome(status="unreachable", step="Clock", error=("authentication failed",)),
}


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Drill:
    strategy: str
    project: DrillProject
    lab: Lab
    run: NrbRun
    document: dict[str, Any]  # stdout, parsed

    def __repr__(self) -> str:  # failure messages name the run, not its whole output
        return f"Drill({self.strategy}, exit {self.run.code}, {self.run.save_dir})"

    def host(self, name: str) -> dict[str, Any]:
        host: dict[str, Any] = self.document["hosts"][name]
        return host

    def step(self, host: str, name: str) -> dict[str, Any]:
        found: list[dict[str, Any]] = [s for s in self.host(host)["steps"] if s["name"] == name]
        assert len(found) == 1, (host, name, self.host(host)["steps"])
        return found[0]


STRATEGIES = ("linear", "free")


@pytest.fixture(scope="module")
def drills(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Drill]]:
    """The drill under each strategy, both at once (each with a lab of its own): the run
    lasts TASK_TIMEOUT and more whatever the machine, so they share that wait."""
    with contextlib.ExitStack() as stack:
        started = {}
        for strategy in STRATEGIES:
            directory = tmp_path_factory.mktemp(f"drill-{strategy}")
            project = write_drill_project(directory, SPECS)
            options = {**RUNBOOK["options"], "strategy": strategy}
            runbook = write_runbook(directory, "drill", {**RUNBOOK, "options": options})
            lab = stack.enter_context(project.lab())
            started[strategy] = (project, lab, runbook, directory / "saved")
        with ThreadPoolExecutor(max_workers=len(STRATEGIES)) as pool:
            runs = {
                strategy: pool.submit(
                    run_nrb, project, runbook, saved, "-o", "json", timeout=RUN_TIMEOUT
                )
                for strategy, (project, _, runbook, saved) in started.items()
            }
            done = {strategy: future.result() for strategy, future in runs.items()}
        drills = {}
        for strategy, (project, lab, _, _) in started.items():
            check_lab_alive(lab)
            run = done[strategy]
            try:
                document = json.loads(run.stdout)
            except ValueError:
                pytest.fail(
                    f"stdout is not one json document (exit {run.code}):\n{run.stderr[-3000:]}"
                )
            drills[strategy] = Drill(
                strategy=strategy, project=project, lab=lab, run=run, document=document
            )
        yield drills


@pytest.fixture(params=STRATEGIES)
def drill(request: pytest.FixtureRequest, drills: dict[str, Drill]) -> Drill:
    return drills[request.param]


def _stats(drill: Drill) -> dict[str, SessionStats]:
    return wait_until_closed(drill.lab)


# -- statuses and messages ------------------------------------------------------------------


def test_exit_code_is_4_when_a_host_is_unreachable(drill: Drill) -> None:
    assert drill.run.code == 4, drill.run.stderr[-3000:]
    assert drill.document["summary"] == {
        "hosts": len(SPECS),
        "ok": len(HEALTHY) + 1,  # drop-reconnect
        "changed": 0,
        "failed": 2,
        "unreachable": 5,
        "skipped": 0,
    }


def test_hosts_are_reported_in_inventory_order(drill: Drill) -> None:
    assert list(drill.document["hosts"]) == list(drill.project.hosts)


@pytest.mark.parametrize("host", HEALTHY)
def test_healthy_host_is_ok_with_its_real_output(drill: Drill, host: str) -> None:
    report = drill.host(host)

    assert report["status"] == "ok"
    assert [(s["name"], s["status"], s["error"]) for s in report["steps"]] == [
        (name, "ok", None) for name in STEPS
    ]
    version = drill.step(host, "Version")["result"]["show version"]
    assert "Cisco IOS XE Software" in version
    assert f"{host} uptime is" in version  # its own device answered
    assert CLOCK.match(drill.step(host, "Clock")["result"]["show clock"])


@pytest.mark.parametrize("host", sorted(EXPECTED))
def test_fault_ends_as_its_status_with_its_cause(drill: Drill, host: str) -> None:
    expected = EXPECTED[host]
    report = drill.host(host)
    errors = [s["error"] for s in report["steps"] if s["error"]]

    assert report["status"] == expected.status, errors
    assert len(errors) == 1, report["steps"]
    for cause in expected.error:
        assert cause.lower() in errors[0].lower(), errors[0]
    if expected.status == "unreachable":  # where it tried to connect: the address and port
        assert re.match(r"127\.0\.0\.1:\d+: ", errors[0]), errors[0]


def test_failure_is_reported_on_the_step_that_failed(drill: Drill) -> None:
    """Steps before the failure keep their outputs; the ones after are skipped."""
    seen = {}
    for host, expected in EXPECTED.items():
        steps = drill.host(host)["steps"]
        at = STEPS.index(expected.step)
        seen[host] = [(s["name"], s["status"]) for s in steps]
        assert seen[host] == [
            *((name, "ok") for name in STEPS[:at]),
            (expected.step, expected.status),
            *((name, "skipped") for name in STEPS[at + 1 :]),
        ], seen
    version = drill.step("drop-deny", "Version")["result"]["show version"]
    assert "drop-deny uptime is" in version


def test_drop_between_steps_reconnects_and_is_ok(drill: Drill) -> None:
    report = drill.host("drop-reconnect")

    assert report["status"] == "ok", report["steps"]
    assert (
        "drop-reconnect uptime is"
        in drill.step("drop-reconnect", "Version")["result"]["show version"]
    )
    assert CLOCK.match(drill.step("drop-reconnect", "Clock")["result"]["show clock"])
    stats = _stats(drill)["drop-reconnect"]
    assert (stats.logins, stats.drops) == (2, 1)  # dropped once, logged in again once


def test_devices_saw_what_their_fault_implies(drill: Drill) -> None:
    stats = _stats(drill)

    assert stats["no-banner"].connections >= 1
    assert stats["no-banner"].logins == 0
    assert stats["no-prompt"].logins >= 1
    assert (stats["wrong-password"].logins, stats["wrong-password"].denied) == (0, 1)
    assert stats["drop-mid-output"].drops == 1
    assert (stats["drop-deny"].logins, stats["drop-deny"].denied) == (1, 1)
    assert stats["drop-deny"].drops == 1
    assert "refused" not in stats  # nothing listens on its port
    for host in HEALTHY:
        assert (stats[host].logins, stats[host].drops, stats[host].denied) == (1, 0, 0), host


# -- what the run leaves behind ---------------------------------------------------------------


def test_no_session_is_left_open_and_nrb_closed_its_own(drill: Drill) -> None:
    stats = _stats(drill)

    assert {name: s.open for name, s in stats.items() if s.open} == {}
    for host in (*HEALTHY, "drop-reconnect"):  # every session nrb kept, it logged out of
        assert stats[host].client_closed == stats[host].logins - stats[host].drops, stats[host]


def test_saved_report_is_the_printed_document(drill: Drill) -> None:
    saved = drill.run.saved_report()
    folder = drill.run.run_folder

    assert saved == drill.document
    assert folder.name == drill.document["run_id"]
    bad = [h for h in drill.project.hosts if drill.host(h)["status"] in ("failed", "unreachable")]
    assert (folder / "failed.txt").read_text().splitlines() == bad
    assert sorted(p.stem for p in (folder / "hosts").iterdir()) == sorted(drill.project.hosts)
    assert leftover_files(drill.run.save_dir) == []


def test_errors_keep_to_one_line_and_no_traceback(drill: Drill) -> None:
    for host in EXPECTED:
        for step in drill.host(host)["steps"]:
            assert "Traceback" not in (step["error"] or ""), (host, step)
            assert "\n" not in (step["error"] or ""), (host, step)


def test_no_password_in_any_output_or_file(drill: Drill) -> None:
    # stdout, stderr, report.json, failed.txt, a file per host and a file per command output
    outputs = [p for p in drill.run.save_dir.rglob("outputs/*/*/*") if p.is_file()]
    assert outputs  # the hosts that answered
    assert scanned_places(drill.run) == 2 + 2 + len(SPECS) + len(outputs)
    assert "DEBUG" in drill.run.stderr  # -vvv really logged everything it logs
    assert secret_hits(drill.run, [LAB_PASSWORD, WRONG_PASSWORD]) == []
