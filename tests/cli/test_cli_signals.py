"""Ctrl-C (SIGINT) and SIGTERM in the middle of a run: exit 130 / 143, what finished is reported
and saved, the rest is skipped.

Twelve hosts, two workers: the signal goes out as soon as the first host's jsonl line arrives,
when at most a couple of hosts have started and most have not.
"""

from __future__ import annotations

import json
import signal
from typing import Any

import pytest
from cli_kit import Nrb, WriteRunbook, finish, first_line

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

    reports = [p for p in (nrb.cwd / "out").glob("*/report.json") if not p.parent.is_symlink()]
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
