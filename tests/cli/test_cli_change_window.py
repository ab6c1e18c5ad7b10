"""README's "A change window", as a user runs it: ``nrb lab`` in the background, then a
rehearsal with ``--check --diff``, a snapshot, the change with an audit trail, the change again
(nothing to send), a second snapshot, ``nrb diff`` of the two and ``nrb report --against``.

The shipped runbooks (``change_ntp.yaml``, ``snapshot.yaml``) run against the whole shipped
inventory, served by an ``nrb lab`` of its own on new ports, so the change outlives each run.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cli_kit import NRB, Nrb, Ran, clean_env, finish

pytestmark = [pytest.mark.integration, pytest.mark.cli]

REPO = Path(__file__).resolve().parents[2]
NTP = "show running-config | include ^ntp server"
NEW = ["ntp server 192.0.2.1 prefer", "ntp server 192.0.2.2"]  # group emea's ntp_servers
IOS_HOST, EOS_HOST = "ams-core-01", "ams-spine-01"
OLD = {  # the lab's canned NTP servers, which the change removes
    IOS_HOST: ["8.8.8.8", "7.7.7.8", "1.1.1.2", "3.3.3.3", "7.7.7.7"],
    EOS_HOST: ["1.1.1.1", "1.1.1.2", "1.1.1.10", "1.1.1.11", "2.2.2.2", "2.2.2.3"],
}


@dataclass(frozen=True, slots=True)
class Window:
    nrb: Nrb
    folder: Path
    hosts: tuple[str, ...]
    ran: dict[str, Ran]
    before: Path  # the first snapshot's run folder


@pytest.fixture(scope="module")
def window(
    lab_project_writer: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Window]:
    folder = tmp_path_factory.mktemp("window")
    project = lab_project_writer(folder)  # devices stopped: nrb lab serves them
    shutil.copytree(REPO / "runbooks", folder / "runbooks")
    config = str(project.config_file)
    lab = subprocess.Popen(
        [*NRB, "lab", "-c", config],
        cwd=folder,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert lab.stderr is not None
        said = [lab.stderr.readline().decode() for _ in range(2)]  # host key, then "N devices"
        assert said[1].startswith(f"lab: {len(project.hosts)} devices"), said
        nrb = Nrb(config=project.config_file, cwd=folder)
        change = ("runbooks/change_ntp.yaml", "-o", "json")
        ran = {"rehearsal": nrb.run(*change, "--check", "--diff")}
        ran["before"] = nrb.run("runbooks/snapshot.yaml", "--save", "runs", "-o", "json")
        before = (folder / "runs" / "latest").resolve()
        ran["change"] = nrb.run(*change, "--log-file", "change.jsonl")
        ran["again"] = nrb.run(*change)
        ran["after"] = nrb.run("runbooks/snapshot.yaml", "--save", "runs", "-o", "json")
        ran["diff"] = nrb("diff", before, "runs/latest")
        ran["diff-json"] = nrb("diff", before, "runs/latest", "-o", "json")
        ran["report"] = nrb("report", "runs/latest", "--against", before, "--markdown", "change.md")
        yield Window(nrb, folder, project.hosts, ran, before)
    finally:
        _, err = finish(lab, signal.SIGINT)
    assert lab.returncode == 0, err


def steps(ran: Ran, host: str) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in ran.json()["hosts"][host]["steps"]}


@pytest.mark.parametrize("host", [IOS_HOST, EOS_HOST])
def test_the_rehearsal_says_what_it_would_send_and_sends_nothing(window: Window, host: str) -> None:
    rehearsal, before = window.ran["rehearsal"], window.ran["before"]

    assert rehearsal.code == 0, rehearsal
    assert rehearsal.json()["summary"]["changed"] == len(window.hosts)
    ntp = steps(rehearsal, host)["NTP servers"]
    assert ntp["status"] == "ok"
    assert ntp["changed"] is True
    assert [f"no ntp server {s}" for s in OLD[host]] == ntp["result"][: len(OLD[host])]
    assert ntp["result"][-2:] == NEW
    assert "+ntp server 192.0.2.1 prefer" in ntp["diff"].splitlines()
    assert f"-ntp server {OLD[host][0]}" in ntp["diff"].splitlines()
    assert steps(rehearsal, host)["Post-check"]["status"] == "skipped"  # when: not check_mode
    assert steps(rehearsal, host)["Save the configuration"]["status"] == "skipped"
    # the snapshot after the rehearsal still sees the old servers: nothing was sent
    config = steps(before, host)["Configuration"]["result"]["show running-config"]
    assert f"ntp server {OLD[host][0]}" in config.splitlines()
    assert "ntp server 192.0.2.2" not in config.splitlines()


@pytest.mark.parametrize("host", [IOS_HOST, EOS_HOST])
def test_the_change_is_made_checked_and_saved_and_the_second_run_sends_nothing(
    window: Window, host: str
) -> None:
    change, again = window.ran["change"], window.ran["again"]

    assert change.code == again.code == 0, (change, again)
    made = steps(change, host)
    assert (
        made["NTP servers"]["result"]
        == steps(window.ran["rehearsal"], host)["NTP servers"]["result"]
    )
    assert made["Post-check"]["result"] == {NTP: "\n".join(NEW)}
    assert made["Save the configuration"]["status"] == "ok"
    assert change.json()["summary"]["changed"] == len(window.hosts)
    second = steps(again, host)
    assert (second["NTP servers"]["changed"], second["NTP servers"]["result"]) == (False, [])
    assert second["Save the configuration"]["status"] == "skipped"  # nothing was sent
    assert again.json()["summary"]["changed"] == 0


def test_the_audit_trail_has_the_lines_sent_to_each_device(window: Window) -> None:
    records = [
        json.loads(line) for line in (window.folder / "change.jsonl").read_text().splitlines()
    ]

    ntp = {r["host"]: r for r in records if r["step"] == "NTP servers"}
    assert sorted(ntp) == sorted(window.hosts)
    assert ntp[IOS_HOST]["sent"] is True
    assert json.dumps(ntp[IOS_HOST]).count("ntp server 192.0.2.2") == 1


def test_nrb_diff_of_the_snapshots_shows_the_ntp_servers_and_nothing_else(
    window: Window,
) -> None:
    diff, as_json = window.ran["diff"], window.ran["diff-json"]

    assert diff.code == as_json.code == 2, diff
    doc = as_json.json()
    assert sorted(doc["hosts"]) == sorted(window.hosts)  # every device changed
    for host, record in doc["hosts"].items():
        assert record["status"] is None, host  # ok before and after
        [step] = record["steps"]
        assert step["name"] == "Configuration", (host, step)  # interfaces, neighbors: the same
        changed = [
            line
            for line in step["outputs"][0]["diff"].splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        ]
        assert all("ntp server" in line for line in changed), (host, changed)
        assert [line for line in changed if line.startswith("+")] == [f"+{n}" for n in NEW]
    assert "+ntp server 192.0.2.1 prefer" in diff.out


def test_the_report_against_the_first_snapshot_lists_the_changes(window: Window) -> None:
    ran = window.ran["report"]

    assert ran.code == 0, ran
    markdown = (window.folder / "change.md").read_text()
    changes = markdown.split(f"## Changes since {window.before.name}", 1)[1]
    assert all(host in changes for host in window.hosts)
    assert "+ntp server 192.0.2.1 prefer" in changes
