"""The audit trail in-process (``run.audit.AuditLog`` fed by the engine's events, on an in-memory
inventory with tasks that never connect) and ``files.append_line`` under concurrent writers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from nornir.core import Nornir
from nornir.core.inventory import Defaults, Groups, Host, Hosts, Inventory
from nornir.core.processor import Processors

from nornir_runbook.files import open_for_append
from nornir_runbook.redact import Redactor
from nornir_runbook.report.render import Tee
from nornir_runbook.report.results import (
    HostDone,
    HostReport,
    RunReport,
    RunStarted,
    Status,
    StepDone,
    StepResult,
)
from nornir_runbook.run.audit import AuditLog
from nornir_runbook.run.engine import Engine
from nornir_runbook.run.plan import make_plan, settings_from
from nornir_runbook.runbook.loader import parse_runbook
from nornir_runbook.runbook.registry import default_registry

SECRET = "S3cret-pass"
HOSTS = ("h1", "h2", "h3")
RUNBOOK = """
    name: Audited
    vars: {pw: "S3cret-pass"}
    steps:
      - name: Say
        task: echo
        args: {word: "hi {{ host.name }} {{ vars.pw }}"}
      - name: Checks only
        assert: ["1 == 1"]
      - name: Not on h2
        when: "host.name != 'h2'"
        task: echo
        args: {n: 1}
      - name: Refuse h3
        targets: {hosts: [h3]}
        task: fail
        args: {message: "no {{ vars.pw }}"}
      - name: Last
        task: echo
        args: {n: 2}
    """


class Collected:
    """An Output that keeps the final report."""

    report: RunReport | None = None

    def on_event(self, event: Any) -> None:
        pass

    def finish(self, report: RunReport) -> None:
        self.report = report


def nornir() -> Nornir:
    defaults = Defaults()
    hosts = Hosts(
        {
            name: Host(name, hostname=f"10.0.0.{i}", port=2200 + i, defaults=defaults)
            for i, name in enumerate(HOSTS, 1)
        }
    )
    inventory = Inventory(hosts=hosts, groups=Groups(), defaults=defaults)
    return Nornir(inventory=inventory, processors=Processors([]))


def audited(fd: int, path: Path, **settings: Any) -> tuple[AuditLog, RunReport]:
    nr = nornir()
    runbook = parse_runbook(textwrap.dedent(RUNBOOK))
    plan = make_plan(nr, runbook, HOSTS, default_registry(), None)
    redactor = Redactor([SECRET])
    audit = AuditLog(fd, path, nr=nr, plan=plan, redactor=redactor)
    collected = Collected()
    output = Tee(collected, audit)
    report = Engine(nr, settings_from({}, runbook).merged(**settings), redactor).run(
        plan, output.on_event
    )
    output.finish(report)
    return audit, report


@pytest.mark.parametrize("strategy", ["linear", "free"])
def test_one_record_per_step_per_host_that_ran_one_that_sends(
    tmp_path: Path, strategy: str
) -> None:
    """Not a step of checks alone, nor a step skipped on the host (``when``), nor one a failed
    host never reached; under ``free`` (no StepDone) from the host's report."""
    path = tmp_path / "audit.jsonl"

    audit, report = audited(open_for_append(path), path, strategy=strategy)

    assert audit.error is None
    lines = path.read_text().splitlines()
    assert SECRET not in "".join(lines)
    found = {(r["host"], r["step"]): r for r in map(json.loads, lines)}
    assert sorted(found) == sorted(
        [
            ("h1", "Say"),
            ("h1", "Not on h2"),
            ("h1", "Last"),
            ("h2", "Say"),
            ("h2", "Last"),
            ("h3", "Say"),
            ("h3", "Not on h2"),
            ("h3", "Refuse h3"),
        ]
    )
    assert len(lines) == len(found)
    assert found["h1", "Say"]["args"] == {"word": "hi h1 ********"}
    assert found["h2", "Say"]["address"] == "10.0.0.2:2202"
    refused = found["h3", "Refuse h3"]
    assert (refused["status"], refused["error"], refused["sent"]) == ("failed", "no ********", True)
    assert {r["run_id"] for r in found.values()} == {report.run_id}
    assert {r["mode"] for r in found.values()} == {"run"}


def test_a_log_that_fails_mid_run_loses_no_host_result(tmp_path: Path) -> None:
    """/dev/full takes the file's place: every write fails (ENOSPC), the run goes on."""
    fd = os.open("/dev/full", os.O_WRONLY)

    audit, report = audited(fd, tmp_path / "audit.jsonl")

    assert audit.error is not None
    assert audit.error.strerror == "No space left on device"
    assert audit.lost == 8
    assert [(h.name, h.status) for h in report.hosts] == [
        ("h1", Status.OK),
        ("h2", Status.OK),
        ("h3", Status.FAILED),
    ]


CONFIG = """
    name: Config
    vars: {pw: "S3cret-pass"}
    steps:
      - name: Contact
        config: ["snmp-server contact {{ host.name }}", "snmp-server location {{ vars.pw }}"]
    """
GIVEN = ["snmp-server contact h1", "snmp-server location ********"]


@pytest.mark.parametrize(
    ("result", "check", "logged"),
    [
        # the session's output: the lines the step was given, rendered
        ("h1(config)#snmp-server contact h1\nh1(config)#end", False, ("run", True, GIVEN)),
        # the lines it sent (the others were there already)
        ([f"snmp-server location {SECRET}"], False, ("run", True, GIVEN[1:])),
        # --check: the lines it would send, and nothing sent
        ([f"snmp-server location {SECRET}"], True, ("check", False, GIVEN[1:])),
        ([], False, ("run", True, [])),
    ],
)
def test_a_config_step_logs_the_lines_it_sent(
    tmp_path: Path, result: Any, check: bool, logged: tuple[str, bool, list[str]]
) -> None:
    nr = nornir()
    plan = make_plan(nr, parse_runbook(textwrap.dedent(CONFIG)), ["h1"], default_registry(), None)
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(
        open_for_append(path), path, nr=nr, plan=plan, redactor=Redactor([SECRET]), check=check
    )
    step = StepResult(
        name="Contact", task="send_config", status=Status.OK, changed=bool(result), result=result
    )

    audit.on_event(RunStarted(runbook="Config", run_id="r-1", hosts=("h1",), steps=("Contact",)))
    audit.on_event(StepDone(index=0, host="h1", result=step))
    audit.on_event(HostDone(report=HostReport(name="h1", status=Status.OK, steps=(step,))))

    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["mode"], r["sent"], r["config"]) for r in records] == [logged]


APPEND = """
import json, os, sys
from pathlib import Path
from nornir_runbook.files import append_line, open_for_append
fd = open_for_append(Path(sys.argv[1]))
for i in range(20):
    append_line(fd, json.dumps({"w": sys.argv[2], "i": i, "pad": sys.argv[2] * 100_000}))
"""


def test_concurrent_appenders_never_interleave_within_a_line(tmp_path: Path) -> None:
    path = tmp_path / "shared.jsonl"
    marks = "abcd"
    writers = [subprocess.Popen([sys.executable, "-c", APPEND, str(path), m]) for m in marks]
    assert [w.wait(timeout=120) for w in writers] == [0] * len(marks)

    records = [json.loads(line) for line in path.read_text().splitlines()]

    assert sorted((r["w"], r["i"]) for r in records) == [(m, i) for m in marks for i in range(20)]
    assert all(r["pad"] == r["w"] * 100_000 for r in records)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
