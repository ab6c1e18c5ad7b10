"""Every output format of ``nrb run``, on the MIXED runbook (every kind of step) over four hosts:
one all ok, one with an ignored failure, one failing, one unreachable (on a closed port)."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
from typing import Any

import pytest
import yaml
from cli_kit import (
    DOCUMENT_KEYS,
    HOST_KEYS,
    MIXED_HOSTS,
    MIXED_STEPS,
    NRB,
    RUN_ID,
    STEP_KEYS,
    SUMMARY_KEYS,
    TIMEOUT,
    TIMESTAMP,
    Nrb,
    Ran,
    WriteRunbook,
    host_outcomes,
)

pytestmark = pytest.mark.cli

SUMMARY = {"hosts": 4, "ok": 2, "changed": 3, "failed": 1, "unreachable": 1, "skipped": 0}
STATUSES = {
    "ams-core-01": "ok",
    "ams-edge-01": "ok",
    "fra-core-02": "failed",
    "fra-edge-04": "unreachable",
}
# (name, task, status, changed, error) of each host's steps
STEPS = {
    "ams-core-01": [
        ("Version", "send_commands", "ok", False, None),
        ("Location", "send_config", "ok", True, None),
        ("Facts", "echo", "ok", False, None),
        ("Core routes", "send_commands", "ok", False, None),
        ("Last", "echo", "ok", False, None),
    ],
    "ams-edge-01": [
        ("Version", "send_commands", "ok", False, None),
        ("Location", "send_config", "ok", True, None),
        ("Facts", "echo", "ok", False, None),
        ("Edges may fail", "fail", "failed", False, "ignored on ams-edge-01"),
        ("Last", "echo", "ok", False, None),
    ],
    "fra-core-02": [
        ("Version", "send_commands", "ok", False, None),
        ("Location", "send_config", "ok", True, None),
        ("Facts", "echo", "ok", False, None),
        ("Core routes", "send_commands", "ok", False, None),
        ("Route reflectors refuse", "fail", "failed", False, "refused on fra-core-02"),
        ("Last", "echo", "skipped", False, None),
    ],
    "fra-edge-04": [
        ("Version", "send_commands", "unreachable", False, "<connection error>"),
        ("Location", "send_config", "skipped", False, None),
        ("Facts", "echo", "skipped", False, None),
        ("Edges may fail", "fail", "skipped", False, None),
        ("Last", "echo", "skipped", False, None),
    ],
}


def facts(host: str, site: str, role: str) -> dict[str, str]:
    return {"name": host, "site": site, "role": role, "ntp": "192.0.2.1,192.0.2.2", "loc": "rack-7"}


def step_summary(steps: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """(name, task, status, changed, error) of each step; any unreachable error as a marker."""
    rows = []
    for s in steps:
        error = s["error"]
        if s["status"] == "unreachable":
            assert error, s
            error = "<connection error>"
        rows.append((s["name"], s["task"], s["status"], s["changed"], error))
    return rows


def check_hosts(hosts: dict[str, Any]) -> None:
    """The MIXED run's per-host documents, whatever format they came in."""
    assert list(hosts) == list(MIXED_HOSTS)  # inventory order
    for name, host in hosts.items():
        assert list(host) == HOST_KEYS
        assert host["status"] == STATUSES[name]
        assert host["changed"] is (name != "fra-edge-04")
        assert host["duration_s"] >= 0
        assert step_summary(host["steps"]) == STEPS[name], name
        for step in host["steps"]:
            assert list(step) == STEP_KEYS
            assert step["duration_s"] >= 0
            if step["status"] != "ok":
                assert step["result"] is None, step
        version = host["steps"][0]
        if version["status"] == "ok":
            assert list(version["result"]) == ["show version", "show clock"]
            assert "Cisco IOS" in version["result"]["show version"]
            assert f"{name} uptime is" in version["result"]["show version"]
            assert re.fullmatch(r"\*\d\d:\d\d:\d\d\.\d+ UTC .+", version["result"]["show clock"])

    def result(host: str, step: str) -> Any:
        return next(s["result"] for s in hosts[host]["steps"] if s["name"] == step)

    for host, site in (("ams-core-01", "ams"), ("ams-edge-01", "ams"), ("fra-core-02", "fra")):
        # the lines sent: both, unless another of these runs (they run at once) had just sent
        # the first: the device then has it, and only the no line changes anything
        sent = result(host, "Location")
        location = f"snmp-server location {site}-rack-7"  # vars and host data rendered
        assert sent in ([location, f"no {location}"], [f"no {location}"])
    assert result("ams-core-01", "Facts") == facts("ams-core-01", "ams", "core")
    assert result("ams-edge-01", "Facts") == facts("ams-edge-01", "ams", "edge")
    assert result("fra-core-02", "Facts") == facts("fra-core-02", "fra", "core")
    for host in ("ams-core-01", "fra-core-02"):
        routes = result(host, "Core routes")
        assert list(routes) == ["show ip route summary"]
        assert "Route Source" in routes["show ip route summary"]
    assert result("ams-core-01", "Last") == {"done": "yes"}


def test_json_document(mixed_runs: dict[str, Ran]) -> None:
    ran = mixed_runs["linear"]

    assert ran.code == 4, ran  # unreachable wins over failed
    doc = ran.json()  # stdout is the document and nothing else
    assert list(doc) == DOCUMENT_KEYS
    assert doc["runbook"] == "Mixed"
    assert re.fullmatch(RUN_ID, doc["run_id"])
    assert re.fullmatch(TIMESTAMP, doc["started_at"])
    assert re.fullmatch(TIMESTAMP, doc["finished_at"])
    assert doc["started_at"] <= doc["finished_at"]
    assert isinstance(doc["duration_s"], float)
    assert doc["duration_s"] >= 0
    assert list(doc["summary"]) == SUMMARY_KEYS
    assert doc["summary"] == SUMMARY
    check_hosts(doc["hosts"])


def test_yaml_document(mixed_runs: dict[str, Ran]) -> None:
    ran = mixed_runs["yaml"]

    assert ran.code == 4, ran
    doc = yaml.safe_load(ran.out)
    assert list(doc) == DOCUMENT_KEYS
    assert doc["summary"] == SUMMARY
    check_hosts(doc["hosts"])
    assert host_outcomes(doc) == host_outcomes(mixed_runs["linear"].json())


def test_jsonl_lines(mixed_runs: dict[str, Ran]) -> None:
    ran = mixed_runs["jsonl"]

    assert ran.code == 4, ran
    assert ran.out.endswith("\n")
    records = ran.jsonl()  # every line is a JSON document
    assert len(records) == len(MIXED_HOSTS) + 1
    *host_lines, last = records
    assert next(iter(last)) == "summary"
    assert last["summary"] == SUMMARY
    assert {line["host"] for line in host_lines} == set(MIXED_HOSTS)  # as they completed
    hosts = {line["host"]: {k: v for k, v in line.items() if k != "host"} for line in host_lines}
    ordered = {name: hosts[name] for name in MIXED_HOSTS}
    check_hosts(ordered)
    assert host_outcomes({"hosts": ordered}) == host_outcomes(mixed_runs["linear"].json())


def test_text_recap(mixed_runs: dict[str, Ran]) -> None:
    ran = mixed_runs["text"]

    assert ran.code == 4, ran
    recap = {
        m["host"]: {k: int(v) for k, v in m.groupdict().items() if k != "host"}
        for m in re.finditer(
            r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+failed=(?P<failed>\d+)"
            r"\s+unreachable=(?P<unreachable>\d+)\s+skipped=(?P<skipped>\d+)",
            ran.out,
            re.MULTILINE,
        )
    }
    assert list(recap) == list(MIXED_HOSTS)
    assert recap == {
        "ams-core-01": {"ok": 5, "changed": 1, "failed": 0, "unreachable": 0, "skipped": 0},
        "ams-edge-01": {"ok": 4, "changed": 1, "failed": 0, "unreachable": 0, "skipped": 0},
        "fra-core-02": {"ok": 4, "changed": 1, "failed": 1, "unreachable": 0, "skipped": 1},
        "fra-edge-04": {"ok": 0, "changed": 0, "failed": 0, "unreachable": 1, "skipped": 4},
    }
    assert "RECAP" in ran.out
    for step in MIXED_STEPS:
        assert f"[{step}]" in ran.out  # a banner per step under linear
    assert "failed: [fra-core-02] refused on fra-core-02" in ran.out
    assert re.search(r"^unreachable: \[fra-edge-04\]", ran.out, re.MULTILINE)
    assert "\x1b[" not in ran.out  # no colour codes when stdout is not a terminal


def test_text_verbose_shows_outputs(nrb: Nrb, write_runbook: WriteRunbook) -> None:
    runbook = write_runbook(
        """
        name: Verbose
        steps:
          - name: Interfaces
            commands: [show ip interface brief]
          - name: Say
            task: echo
            args: {word: "hello-{{ host.name }}"}
        """
    )

    ran = nrb.run(runbook, "-l", "ams-core-01:ams-core-02", "-o", "text", "-v")

    assert ran.code == 0, ran
    assert "show ip interface brief" in ran.out
    assert "Ethernet0/0.11" in ran.out  # the device's output
    assert "hello-ams-core-01" in ran.out
    assert "hello-ams-core-02" in ran.out
    assert re.search(r"^ams-core-02\s+:\s+ok=2\s+changed=0\s+failed=0", ran.out, re.MULTILINE)


SERIAL = """
    name: Serial
    steps:
      - {name: Clock, commands: [show clock]}
      - {name: Core only, targets: {groups: [core]}, task: echo, args: {x: "core-{{ host.name }}"}}
      - {name: Edge only, targets: {groups: [edge]}, task: echo, args: {x: "edge-{{ host.name }}"}}
      - {name: Last, task: echo, args: {x: "last-{{ host.name }}"}}
    """


@pytest.mark.parametrize("strategy", ["linear", "free"])
def test_text_serial_batches_have_banners_in_the_order_they_run(
    nrb: Nrb, write_runbook: WriteRunbook, strategy: str
) -> None:
    """A BATCH banner before each batch; under each, the step banners in runbook order, each
    batch's outputs (-v) before the next batch begins."""
    runbook = write_runbook(SERIAL)
    limit = "ams-core-01:ams-edge-01:fra-core-01:fra-edge-01"

    ran = nrb.run(runbook, "-l", limit, "--serial", "2", "--strategy", strategy, "-o", "text", "-v")

    assert ran.code == 0, ran
    banners = [line.split(" *")[0] for line in ran.lines() if line.endswith("***")]
    steps = ["STEP 1/4 [Clock]", "STEP 2/4 [Core only]", "STEP 3/4 [Edge only]", "STEP 4/4 [Last]"]
    assert banners == [
        "RUNBOOK [Serial] 4 hosts, 4 steps",
        "BATCH 1/2 [ams-core-01, ams-edge-01]",
        *steps,
        "BATCH 2/2 [fra-core-01, fra-edge-01]",
        *steps,
        "RECAP",
    ]
    out = ran.out
    assert out.index("last-ams-edge-01") < out.index("BATCH 2/2") < out.index("core-fra-core-01")
    assert out.index("edge-fra-edge-01") < out.index("last-fra-core-01")


def test_json_is_the_default_when_stdout_is_not_a_terminal(
    nrb: Nrb, write_runbook: WriteRunbook
) -> None:
    runbook = write_runbook(
        """
        name: Default output
        steps:
          - {name: Say, task: echo, args: {x: "{{ host.data.site }}"}}
        """
    )

    ran = nrb.run(runbook, "-l", "fra-core-01:ams-edge-02")

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
    assert list(doc["hosts"]) == ["ams-edge-02", "fra-core-01"]
    assert [h["steps"][0]["result"] for h in doc["hosts"].values()] == [{"x": "ams"}, {"x": "fra"}]


def test_text_is_the_default_on_a_terminal(nrb: Nrb, write_runbook: WriteRunbook) -> None:
    runbook = write_runbook("name: Tty\nsteps: [{name: Say, task: echo, args: {x: y}}]\n")
    main, secondary = pty.openpty()
    with subprocess.Popen(
        [*NRB, "run", str(runbook), "-c", str(nrb.config), "-l", "fra-edge-02"],
        cwd=nrb.cwd,
        env=nrb.env,
        stdout=secondary,
        stderr=subprocess.PIPE,
    ) as proc:
        os.close(secondary)
        chunks = []
        while True:
            if not select.select([main], [], [], TIMEOUT)[0]:
                proc.kill()
                pytest.fail("nrb hung on a terminal")
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the terminal's other end closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait(timeout=TIMEOUT)
    os.close(main)
    out = b"".join(chunks).decode(errors="replace")

    assert proc.returncode == 0
    assert "RECAP" in out
    assert re.search(
        r"fra-edge-02\s+:\s+ok=1\s+changed=0", re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)
    )
