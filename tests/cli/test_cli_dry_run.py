"""``--dry-run`` renders every step for every host and connects to nothing; ``--list-steps``;
``--lab`` brings the devices up for the length of the run.

The project here has every host on a closed port: a run that tried to connect would end
unreachable (exit 4), as the control run shows.
"""

from __future__ import annotations

import pytest
import yaml
from cli_kit import (
    ALL,
    MIXED,
    MIXED_HOSTS,
    MIXED_LIMIT,
    MIXED_STEPS,
    MakeProject,
    Nrb,
    WriteRunbook,
    run_many,
)

pytestmark = pytest.mark.cli


def rendered(host: str, site: str, role: str) -> dict[str, object]:
    """What the dry run shows for each MIXED step that applies to ``host``."""
    steps: dict[str, object] = {
        "Version": {"commands": ["show version", "show clock"]},
        "Location": {
            "config": [
                f"snmp-server location {site}-rack-7",
                f"no snmp-server location {site}-rack-7",
            ]
        },
        "Facts": {
            "name": host,
            "site": site,
            "role": role,
            "ntp": "192.0.2.1,192.0.2.2",
            "loc": "rack-7",
        },
    }
    if role == "core":
        steps["Core routes"] = {"commands": ["show ip route summary"]}
    if host == "fra-core-02":  # tagged rr
        steps["Route reflectors refuse"] = {"message": f"refused on {host}"}
    if role == "edge":
        steps["Edges may fail"] = {"message": f"ignored on {host}"}
    steps["Last"] = {"done": "yes"}
    return steps


@pytest.fixture
def dark(nrb: Nrb, write_runbook: WriteRunbook, make_project: MakeProject) -> Nrb:
    """``nrb`` on a copy of the lab whose every host is on a closed port, with mixed.yaml."""
    write_runbook(MIXED, "mixed.yaml")
    return Nrb(config=make_project(closed=ALL), cwd=nrb.cwd, env=nrb.env)


def test_dry_run_renders_every_step_and_connects_to_nothing(dark: Nrb) -> None:
    base = ("run", "mixed.yaml", "-c", dark.config, "-l", MIXED_LIMIT)
    dry, text, control = run_many(
        dark,
        {
            "json": (*base, "--dry-run", "-o", "json"),
            "text": (*base, "--dry-run", "-o", "text", "-v"),
            "control": (*base, "-o", "json"),
        },
    ).values()

    assert control.code == 4, control  # nothing listens on these ports
    assert {h["status"] for h in control.json()["hosts"].values()} == {"unreachable"}

    assert dry.code == 0, dry
    doc = dry.json()
    assert doc["summary"] == {
        "hosts": 4,
        "ok": 4,
        "changed": 0,
        "failed": 0,
        "unreachable": 0,
        "skipped": 0,
    }
    assert list(doc["hosts"]) == list(MIXED_HOSTS)
    expected = {
        "ams-core-01": rendered("ams-core-01", "ams", "core"),
        "ams-edge-01": rendered("ams-edge-01", "ams", "edge"),
        "fra-core-02": rendered("fra-core-02", "fra", "core"),
        "fra-edge-04": rendered("fra-edge-04", "fra", "edge"),
    }
    for name, host in doc["hosts"].items():
        assert {s["name"]: s["result"] for s in host["steps"]} == expected[name], name
        assert {s["status"] for s in host["steps"]} == {"ok"}

    assert text.code == 0, text
    for line in (
        "snmp-server location ams-rack-7",
        "no snmp-server location fra-rack-7",
        "show ip route summary",
        "refused on fra-core-02",
    ):
        assert line in text.out
    assert "unreachable=0" in text.out


def test_dry_run_says_so_in_every_format_and_shows_steps_in_order(dark: Nrb) -> None:
    base = ("run", "mixed.yaml", "-c", dark.config, "-l", MIXED_LIMIT, "--dry-run")
    runs = run_many(dark, {fmt: (*base, "-o", fmt) for fmt in ("json", "yaml", "jsonl", "text")})

    assert {fmt: ran.code for fmt, ran in runs.items()} == dict.fromkeys(runs, 0), runs
    assert runs["json"].json()["dry_run"] is True
    assert yaml.safe_load(runs["yaml"].out)["dry_run"] is True
    assert runs["jsonl"].jsonl()[-1]["dry_run"] is True
    lines = runs["text"].lines()
    banners = [line.split(" *")[0] for line in lines if line.endswith("***")]
    steps = [f"STEP {i}/{len(MIXED_STEPS)} [{name}]" for i, name in enumerate(MIXED_STEPS, 1)]
    assert banners == [
        "DRY RUN: commands are rendered, nothing is sent to any device",
        f"RUNBOOK [Mixed] {len(MIXED_HOSTS)} hosts, {len(MIXED_STEPS)} steps",
        *steps,
        "RECAP",
    ]
    first = next(i for i, line in enumerate(lines) if line.startswith(steps[0]))
    under = lines[first + 1 : first + 1 + len(MIXED_HOSTS)]
    assert under == [f"ok: [{h}]" for h in MIXED_HOSTS]  # each host's line under its step
    assert lines[-1] == "DRY RUN: no device was contacted, nothing was sent."


def test_a_real_run_is_not_marked_dry(nrb: Nrb, write_runbook: WriteRunbook) -> None:
    runbook = write_runbook("name: Echo\nsteps:\n  - {name: E, task: echo, args: {x: y}}\n")
    runs = run_many(
        nrb,
        {
            fmt: ("run", runbook, "-c", nrb.config, "-l", "ams-core-01", "-o", fmt)
            for fmt in ("json", "jsonl", "text")
        },
    )

    assert runs["json"].json()["dry_run"] is False
    assert runs["jsonl"].jsonl()[-1]["dry_run"] is False
    assert "DRY RUN" not in runs["text"].out


def test_list_steps(dark: Nrb) -> None:
    ran = dark.run("mixed.yaml", "--list-steps")

    assert ran.code == 0, ran
    kinds = ["commands", "config", "task", "commands", "task", "task", "task"]
    assert ran.lines() == [
        f"{i}. {name} ({kind})"
        for i, (name, kind) in enumerate(zip(MIXED_STEPS, kinds, strict=True), 1)
    ]


def test_lab_starts_the_inventory_devices_for_the_run(
    dark: Nrb, write_runbook: WriteRunbook
) -> None:
    runbook = write_runbook("name: Clock\nsteps: [{name: Clock, commands: [show clock]}]\n")

    ran = dark.run(runbook, "--lab", "-l", "ams-core-02:fra-edge-03", "-o", "json")

    assert ran.code == 0, ran  # the same hosts are unreachable without --lab (see above)
    assert "lab: starting 2 fake devices" in ran.err
    hosts = ran.json()["hosts"]
    assert [h["status"] for h in hosts.values()] == ["ok", "ok"]
    assert all(" UTC " in h["steps"][0]["result"]["show clock"] for h in hosts.values())
