"""Two saved runs compared (report.compare) and shown as text (report.compare_text)."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path
from typing import Any

from rich.console import Console

from nornir_runbook.redact import Redactor
from nornir_runbook.report.compare import (
    Change,
    DataChange,
    RunComparison,
    compare_runs,
    data_changes,
)
from nornir_runbook.report.compare_text import ComparisonText
from nornir_runbook.report.runs import SavedRun

INTERFACES = "show ip interface brief"
PARSED = [
    {"interface": "Ethernet0/0", "status": "up"},
    {"interface": "Ethernet0/1", "status": "up"},
]
NTP = "show running-config | include ntp"


def commands(name: str, result: dict[str, Any], status: str = "ok", **kw: Any) -> dict[str, Any]:
    return {"name": name, "task": "send_commands", "status": status, "result": result, **kw}


def run(run_id: str, hosts: dict[str, Any], runbook: str = "Checks") -> SavedRun:
    document = {"runbook": runbook, "run_id": run_id, "hosts": hosts}
    return SavedRun(folder=Path("out") / run_id, document=document)


def host(*steps: dict[str, Any], status: str = "ok") -> dict[str, Any]:
    return {"status": status, "changed": False, "steps": list(steps)}


def baseline(ntp: str = "ntp server 192.0.2.1\nntp server 192.0.2.2", **kw: Any) -> dict[str, Any]:
    return host(
        commands("Interfaces", {INTERFACES: PARSED}),
        commands("NTP", {NTP: ntp, "show clock": "10:15:01 UTC"}),
        {"name": "Facts", "task": "echo", "status": "ok", "result": {"site": "ams"}},
        **kw,
    )


def shown(comparison: RunComparison) -> str:
    out = StringIO()
    console = Console(file=out, width=100, color_system=None)
    ComparisonText(console, redactor=Redactor(["s3cr3t"])).show(comparison)
    return out.getvalue()


def test_the_same_outputs_match() -> None:
    old = run("A", {"r1": baseline(), "r2": baseline()})
    new = run("B", {"r1": baseline(), "r2": baseline()})

    comparison = compare_runs(old, new)

    assert comparison.same
    assert comparison.hosts == ()
    assert comparison.to_dict() == {
        "old": {"run_id": "A", "runbook": "Checks"},
        "new": {"run_id": "B", "runbook": "Checks"},
        "same": True,
        "hosts_only_in": {"old": [], "new": []},
        "steps_only_in": {"old": [], "new": []},
        "hosts": {},
    }
    assert shown(comparison).endswith("\nthe runs match\n")


def test_a_text_output_that_differs_has_its_unified_diff() -> None:
    old = run("A", {"r1": baseline()})
    new = run("B", {"r1": baseline(ntp="ntp server 192.0.2.1\nntp server 192.0.2.9")})

    comparison = compare_runs(old, new, [re.compile(r"UTC$")])

    assert not comparison.same
    (r1,) = comparison.hosts
    assert (r1.name, r1.status) == ("r1", None)
    (step,) = r1.steps
    assert (step.name, step.status, step.only_in) == ("NTP", None, None)
    (output,) = step.outputs  # show clock differs too, but only in an ignored line
    assert output.label == NTP
    assert output.changes == ()
    assert output.unified == (
        "--- A\n+++ B\n@@ -1,2 +1,2 @@\n ntp server 192.0.2.1\n-ntp server 192.0.2.2\n"
        "+ntp server 192.0.2.9\n"
    )


def test_ignore_drops_matching_lines_before_comparing() -> None:
    old = run("A", {"r1": baseline()})
    new = run("B", {"r1": host(*baseline()["steps"][:1], commands("NTP", {NTP: "x"}))})
    clockless = baseline()
    clockless["steps"][1]["result"]["show clock"] = "10:16:59 UTC"

    assert compare_runs(run("A", {"r1": baseline()}), run("B", {"r1": clockless})).hosts
    assert compare_runs(
        run("A", {"r1": baseline()}), run("B", {"r1": clockless}), [re.compile(r"\d+:\d+:\d+")]
    ).same
    assert compare_runs(old, new, [re.compile(".")]).hosts[0].steps[0].name == "NTP"  # not text


def test_parsed_outputs_are_compared_as_data_by_key() -> None:
    down = [PARSED[0], {"interface": "Ethernet0/1", "status": "down"}]
    old = run("A", {"r1": baseline(), "r2": baseline()})
    stopped = host(commands("Interfaces", {INTERFACES: down}), status="failed")
    new = run("B", {"r1": stopped, "r2": baseline()})  # r2 still runs NTP and Facts

    comparison = compare_runs(old, new)

    assert comparison.steps_only_old == ()
    (r1,) = comparison.hosts
    assert r1.status == Change(old="ok", new="failed")
    interfaces = r1.steps[0]
    assert interfaces.name == "Interfaces"
    (output,) = interfaces.outputs
    assert output.changes == (
        DataChange(path=f"{INTERFACES}[1].status", kind="changed", old="up", new="down"),
    )
    assert '-    "status": "up"' in output.unified
    assert '+    "status": "down"' in output.unified
    assert [(s.name, s.only_in) for s in r1.steps[1:]] == [("NTP", "old"), ("Facts", "old")]
    text = shown(comparison)
    assert "r1: ok -> failed\n" in text
    assert f"        {INTERFACES}[1].status: 'up' -> 'down'\n" in text
    assert "  step NTP: only in the old run\n" in text


def test_records_added_and_removed_and_keys() -> None:
    extra = {"interface": "Loopback0", "status": "up"}

    assert data_changes("x", PARSED, [*PARSED, extra]) == [
        DataChange(path="x[2]", kind="added", new=extra)
    ]
    assert data_changes("x", [extra, *PARSED], PARSED) == [
        DataChange(path="x[0]", kind="removed", old=extra)
    ]
    assert data_changes("x", {"a": 1, "b c": 2}, {"a": 2, "d": [1]}) == [
        DataChange(path="x.a", kind="changed", old=1, new=2),
        DataChange(path="x['b c']", kind="removed", old=2),
        DataChange(path="x.d", kind="added", new=[1]),
    ]


def test_another_tasks_result_is_one_output_compared_as_data() -> None:
    fra = baseline()
    fra["steps"][2]["result"] = {"site": "fra"}

    (r1,) = compare_runs(run("A", {"r1": baseline()}), run("B", {"r1": fra})).hosts

    (output,) = r1.steps[0].outputs
    assert output.label == "result"
    assert output.changes == (DataChange(path="result.site", kind="changed", old="ams", new="fra"),)


def test_hosts_only_in_one_run_are_listed() -> None:
    old = run("A", {"r1": baseline(), "r2": baseline()})
    new = run("B", {"r1": baseline(), "r3": baseline()})

    comparison = compare_runs(old, new)

    assert not comparison.same
    assert comparison.hosts == ()
    assert (comparison.hosts_only_old, comparison.hosts_only_new) == (("r2",), ("r3",))
    assert comparison.to_dict()["hosts_only_in"] == {"old": ["r2"], "new": ["r3"]}
    text = shown(comparison)
    assert "hosts only in the old run: r2\n" in text
    assert "hosts only in the new run: r3\n" in text


def test_runs_of_different_runbooks_compare_what_they_share() -> None:
    other = host(
        commands("Interfaces", {INTERFACES: PARSED}),
        commands("Version", {"show version": "IOS 17.3"}),
    )
    old = run("A", {"r1": baseline()}, runbook="Checks")
    new = run("B", {"r1": other}, runbook="Versions")

    comparison = compare_runs(old, new)

    assert not comparison.same
    assert comparison.hosts == ()  # the shared step is the same; the others are said once
    assert comparison.steps_only_old == ("NTP", "Facts")
    assert comparison.steps_only_new == ("Version",)
    doc = comparison.to_dict()
    assert (doc["old"]["runbook"], doc["new"]["runbook"], doc["same"]) == (
        "Checks",
        "Versions",
        False,
    )
    text = shown(comparison)
    assert "different runbooks: 'Checks' and 'Versions'; what they share is compared\n" in text
    assert "steps only in the old run: NTP, Facts\n" in text
    assert "steps only in the new run: Version\n" in text


def test_text_shows_device_controls_escaped_and_no_secret() -> None:
    old = run("A", {"r1": host(commands("Banner", {"show banner": "hello"}))})
    banner = "\x1b]0;title\x07 key s3cr3t"
    new = run("B", {"r1": host(commands("Banner", {"show banner": banner}))})

    text = shown(compare_runs(old, new))

    assert "+\\x1b]0;title\\x07 key ********\n" in text
    assert "\x1b" not in text
    assert "s3cr3t" not in text


def test_a_status_and_error_change_of_a_step() -> None:
    old = run("A", {"r1": host(commands("NTP", {NTP: "x"}))})
    failed = commands("NTP", None, status="failed", error="% Invalid input")
    new = run("B", {"r1": host(failed, status="failed")})

    (r1,) = compare_runs(old, new).hosts

    (step,) = r1.steps
    assert step.status == Change(old="ok", new="failed")
    assert step.error == Change(old=None, new="% Invalid input")
    assert [(o.label, o.only_in) for o in step.outputs] == [(NTP, "old")]
    text = shown(compare_runs(old, new))
    assert "  step NTP: ok -> failed\n    error: None -> '% Invalid input'\n" in text
    assert f"    {NTP}: only in the old run (1 line)\n" in text
