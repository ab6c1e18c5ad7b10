"""Every runbook shipped in ``runbooks/`` is valid and works against the lab.

Each runbook is validated with ``nrb validate``, then run with ``nrb run -o json`` against the
session lab (``lab_inventory``: its own config.yaml and free ports), from a copy of
``runbooks/`` beside that config.yaml (``lab_runbooks``), so ``module:function`` tasks are
imported from the project folder and not from the current directory. The tests are
parametrized over the files found in ``runbooks/``: a new runbook is covered as soon as it is
added, by the checks every runbook must pass (exit 0, every selected host and step ok, no
command the device rejected); a runbook listed in ``CHECKS`` also has its outputs checked.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
import yaml

if TYPE_CHECKING:
    from conftest import LabInventory

pytestmark = [pytest.mark.integration, pytest.mark.cli]

REPO = Path(__file__).resolve().parents[2]
RUNBOOKS = sorted(p.name for p in (REPO / "runbooks").iterdir() if p.suffix in (".yaml", ".yml"))
_NRB = Path(sys.executable).with_name("nrb")
NRB = [str(_NRB)] if _NRB.exists() else [sys.executable, "-m", "nornir_runbook"]
TIMEOUT = 180  # seconds for one nrb command; a run takes a few seconds
# what an IOS device answers to a command it does not take: send_commands fails the step on it
# (the step's status says so); the outputs of commands steps are checked for it all the same
REJECTED = re.compile(r"^% (Invalid input|Incomplete command|Ambiguous command)", re.MULTILINE)
CLOCK = re.compile(r"^\*\d{2}:\d{2}:\d{2}\.\d{3} \S+ \w{3} \w{3} \d{1,2} \d{4}$")
# what Arista EOS answers to show clock
EOS_CLOCK = re.compile(
    r"^\w{3} \w{3} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4}\nTimezone: \S+\nClock source: \w+$"
)
IOS, EOS = "cisco_ios", "arista_eos"


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """One runbook run: its json document and the folder it ran in."""

    doc: dict[str, Any]
    workdir: Path
    lab: LabInventory
    runbook: dict[str, Any]  # the runbook file as data

    def results(self, host: str, step: str) -> Any:
        """The ``result`` of the step named ``step`` on ``host``."""
        steps = {s["name"]: s for s in self.doc["hosts"][host]["steps"]}
        assert step in steps, f"{host}: no step {step!r} in {list(steps)}"
        return steps[step]["result"]


def nrb(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``nrb`` with the lab credentials of the inventory (none from the environment)."""
    env = {k: v for k, v in os.environ.items() if k not in ("NRB_USERNAME", "NRB_PASSWORD")}
    return subprocess.run(
        [*NRB, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def failures(doc: dict[str, Any]) -> dict[str, list[tuple[str, str, str | None]]]:
    """Each host that is not ok: its steps that are not ok, as (name, status, error)."""
    return {
        host: [(s["name"], s["status"], s["error"]) for s in report["steps"] if s["status"] != "ok"]
        for host, report in doc["hosts"].items()
        if report["status"] != "ok"
    }


def _step_names(runbook: dict[str, Any]) -> list[str]:
    return [step["name"] for step in runbook["steps"] if "name" in step]


# ---- every runbook --------------------------------------------------------------------------


def test_runbooks_folder_holds_the_documented_examples() -> None:
    documented = {"health.yaml", "checks.yaml", "ntp.yaml", "backup.yaml", "custom_task.yaml"}
    documented |= {"change_ntp.yaml", "snapshot.yaml"}  # README, "A change window"
    assert documented <= set(RUNBOOKS)


def test_every_runbook_validates_at_once(
    lab_inventory: LabInventory, lab_runbooks: Path, tmp_path: Path
) -> None:
    paths = [str(lab_runbooks / name) for name in RUNBOOKS]

    done = nrb("validate", "-c", str(lab_inventory.config_file), *paths, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    facts = lab_runbooks.resolve() / "plugins" / "facts.py"  # custom_task.yaml's task
    expected = [f"ok: {path}" for path in paths]
    place = expected.index(f"ok: {lab_runbooks / 'custom_task.yaml'}") + 1
    expected.insert(place, f"  imports module runbooks.plugins.facts from {facts}")
    assert done.stdout.splitlines() == expected


@pytest.mark.parametrize("name", RUNBOOKS)
def test_runbook_validates_and_runs_on_the_lab(
    name: str, lab_inventory: LabInventory, lab_runbooks: Path, tmp_path: Path
) -> None:
    config, path = str(lab_inventory.config_file), str(lab_runbooks / name)
    runbook = yaml.safe_load((lab_runbooks / name).read_text())

    validated = nrb("validate", "-c", config, path, cwd=tmp_path)
    listed = nrb("run", "-c", config, path, "--list-hosts", cwd=tmp_path)
    done = nrb("run", "-c", config, path, "-o", "json", cwd=tmp_path)

    assert validated.returncode == 0, validated.stderr
    assert listed.returncode == 0, listed.stderr
    selected = listed.stdout.splitlines()
    assert selected, f"{name} selects no host of the lab"
    doc = json.loads(done.stdout)  # nothing but the document on stdout, also when hosts fail
    failing = FAILS_ON_PURPOSE.get(name, {})
    code = 2 if failing else 0
    assert done.returncode == code, f"exit {done.returncode}: {failures(doc)}\n{done.stderr}"
    assert doc["runbook"] == runbook["name"]
    assert list(doc["hosts"]) == selected  # inventory order
    ok = len(selected) - len(failing)
    summary = {"hosts": len(selected), "ok": ok, "failed": len(failing), "unreachable": 0}
    assert summary.items() <= doc["summary"].items()
    untargeted = [s["name"] for s in runbook["steps"] if "name" in s and "targets" not in s]
    for host, report in doc["hosts"].items():
        names = [step["name"] for step in report["steps"]]
        assert set(untargeted) <= set(names), (host, names)
        assert names == [n for n in _step_names(runbook) if n in names], "steps out of order"
        if host in failing:
            assert report["status"] == "failed", (host, report)
            assert [s["name"] for s in report["steps"] if s["status"] == "failed"] == [
                failing[host]
            ], (host, report)
            continue
        assert report["status"] == "ok", (host, report)
        for step in report["steps"]:
            # a false when, or no lines for the host's platform: skipped, and the host ok
            assert step["status"] in ("ok", "skipped"), (host, step["name"], step["status"])
            assert step["error"] is None, (host, step["name"], step["error"])
            if step["task"] == "send_commands" and step["status"] == "ok":
                for command, output in step["result"].items():
                    text = output if isinstance(output, str) else json.dumps(output)
                    assert not REJECTED.search(text), f"{host}: {command!r} rejected: {output}"
    secret = lab_inventory.password
    assert secret not in done.stdout
    assert secret not in done.stderr
    check = CHECKS.get(name)
    if check is not None:
        check(Run(doc=doc, workdir=tmp_path, lab=lab_inventory, runbook=runbook))


# ---- what each runbook must have done -------------------------------------------------------


def ios_hosts(run: Run) -> list[str]:
    return [h for h in run.lab.hosts if run.lab.platforms[h] == IOS]


def check_health(run: Run) -> None:
    hosts = run.doc["hosts"]
    assert list(hosts) == list(run.lab.hosts)  # tags prod or lab: every host of the lab
    assert {run.lab.platforms[h] for h in hosts} == {IOS, EOS}  # both vendors answer it
    for host in hosts:
        clock_and_version = run.results(host, "Clock and version")
        clock, version = clock_and_version["show clock"], clock_and_version["show version"]
        if run.lab.platforms[host] == IOS:
            assert CLOCK.match(clock), clock
            assert "Cisco IOS XE Software" in version
            assert f"{host} uptime is" in version
        else:
            assert EOS_CLOCK.match(clock), clock
            assert version.startswith("Arista "), version
            assert "Software image version: 4." in version
        assert "Interface" in run.results(host, "Interfaces")["show ip interface brief"]
        names = [step["name"] for step in hosts[host]["steps"]]
        is_core, is_edge = "-core-" in host, "-edge-" in host
        assert ("Routing on core only" in names) is is_core
        assert ("BGP on edge only" in names) is is_edge
        if is_core:
            routes = run.results(host, "Routing on core only")["show ip route summary"]
            assert "Route Source" in routes


def check_ntp(run: Run) -> None:
    # group emea holds ams and fra: every host; the IOS config lines go to the routers only
    assert list(run.doc["hosts"]) == ios_hosts(run)
    for host, report in run.doc["hosts"].items():
        assert report["changed"] is True
        ntp = run.results(host, "Verify NTP")["show running-config | include ntp"]
        logging = run.results(host, "Verify logging")["show running-config | include logging"]
        ntp_lines, logging_lines = ntp.splitlines(), logging.splitlines()
        # from the group data of emea, and from vars
        assert "ntp server 192.0.2.1 prefer" in ntp_lines
        assert "ntp server 192.0.2.2" in ntp_lines
        assert "ntp source Loopback0" in ntp_lines
        assert all("ntp" in line for line in ntp_lines)
        assert "logging host 192.0.2.10" in logging_lines
        assert "logging trap informational" in logging_lines
        assert f"logging origin-id string {host}" in logging_lines  # {{ host.name }}
        assert "[OK]" in run.results(host, "Save the configuration")


def check_backup(run: Run) -> None:
    backups = run.workdir / "backups"  # relative to the current directory of nrb
    assert sorted(p.name for p in backups.iterdir()) == sorted(f"{h}.cfg" for h in run.lab.hosts)
    for host in run.lab.hosts:
        text = (backups / f"{host}.cfg").read_text()
        assert f"\nhostname {host}\n" in text
        if run.lab.platforms[host] == IOS:
            assert "\ninterface Loopback0\n" in text
        else:
            assert text.startswith("! Command: show running-config\n")
            assert "\ninterface Ethernet1\n   description " in text
        assert text.rstrip().endswith("end")
        result = run.results(host, "Back up the running configuration")
        assert result == {"path": f"backups/{host}.cfg", "bytes": len(text.encode())}
        assert run.doc["hosts"][host]["changed"] is True

    again = nrb(
        "run",
        "-c",
        str(run.lab.config_file),
        str(run.lab.directory / "runbooks" / "backup.yaml"),
        "-o",
        "json",
        cwd=run.workdir,
    )

    assert again.returncode == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc["summary"]["ok"] == len(run.lab.hosts)
    assert doc["summary"]["changed"] == 0  # identical files are left alone


def check_custom_task(run: Run) -> None:
    assert list(run.doc["hosts"]) == ios_hosts(run)  # the task reads IOS show version
    for host in run.doc["hosts"]:
        step = run.doc["hosts"][host]["steps"][0]
        assert step["task"] == "runbooks.plugins.facts:version_facts"
        facts = step["result"]
        assert facts["hostname"] == host
        assert facts["version"] == "17.03.01a"
        assert re.fullmatch(r"\d+ days?, \d+ hours?, \d+ minutes?", facts["uptime"])
        assert facts["model"] == "CSR1000V"
        assert facts["serial"]
        assert CLOCK.match(run.results(host, "Clock")["show clock"])


def check_rolling(run: Run) -> None:
    edge = [h for h in run.lab.hosts if "-edge-" in h]
    assert list(run.doc["hosts"]) == edge
    for host in edge:
        site = host.split("-")[0].upper()
        lines = run.results(host, "Verify")["show running-config | include snmp-server"]
        assert f"snmp-server location {site} emea {host}" in lines.splitlines()
        assert "snmp-server contact noc@lab.example.net" in lines.splitlines()


def check_audit(run: Run) -> None:
    assert list(run.doc["hosts"]) == ios_hosts(run)  # IOS commands: the routers only
    for host in run.doc["hosts"]:
        site, role = host.split("-")[:2]
        recorded = run.results(host, "Record what was audited")
        assert recorded["site"] == site
        assert recorded["role"] == role
        assert "NAME:" in run.results(host, "Hardware")["show inventory"]
        aaa = run.results(host, "AAA and users")["show running-config | include ^aaa|^username"]
        assert "aaa new-model" in aaa.splitlines()


def check_checks(run: Run) -> None:
    """checks.yaml over the lab: parsed interfaces, a when on registered data, asserts; the
    lab's link_down fault on fra-edge-04 fails that host, and only it, with what it saw."""
    hosts = run.doc["hosts"]
    assert list(hosts) == list(run.lab.hosts)
    for host, report in hosts.items():
        steps = {s["name"]: s for s in report["steps"]}
        records = steps["Interfaces"]["result"]["show ip interface brief"]
        assert {"interface", "status"} <= set(records[0]), records
        detail = steps["Down interfaces in detail"]
        if host == "fra-edge-04":
            assert [r["status"] for r in records if r["interface"] == "Ethernet0/1"] == ["down"]
            assert detail["status"] == "ok", detail  # when: an interface is down
            up = steps["Interfaces up"]
            assert up["error"].startswith("down on fra-edge-04: Ethernet0/1 ("), up
            assert up["error"].endswith("; saw 1 == 0)"), up
            assert [(c["ok"], c["seen"]) for c in up["checks"]] == [(False, "saw 1 == 0")]
            assert [steps[n]["status"] for n in ("Neighbors", "NTP configured")] == [
                "skipped",
                "skipped",
            ]
            continue
        assert detail["status"] == "skipped", (host, detail)  # nothing is down
        for name in ("Interfaces up", "Neighbors", "Software version", "NTP configured"):
            assert [c["ok"] for c in steps[name]["checks"]] == [True], (host, steps[name])
        neighbors = steps["Neighbors"]["result"]
        expected = "show cdp neighbors" if run.lab.platforms[host] == IOS else "show lldp neighbors"
        assert list(neighbors) == [expected], (host, neighbors)


# runbooks that fail a host of the lab on purpose: host -> the step it fails
FAILS_ON_PURPOSE: dict[str, dict[str, str]] = {"checks.yaml": {"fra-edge-04": "Interfaces up"}}

CHECKS: dict[str, Callable[[Run], None]] = {
    "checks.yaml": check_checks,
    "health.yaml": check_health,
    "ntp.yaml": check_ntp,
    "backup.yaml": check_backup,
    "custom_task.yaml": check_custom_task,
    "rolling.yaml": check_rolling,
    "audit.yaml": check_audit,
}


# ---- the example task plugin, without a device ----------------------------------------------


def _facts_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "example_facts", REPO / "runbooks" / "plugins" / "facts.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CLASSIC_IOS = """\
Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 12.2(55)SE5, RELEASE SOFTWARE (fc1)
Technical Support: http://www.cisco.com/techsupport

sw-acc-01 uptime is 12 weeks, 3 days, 1 hour, 4 minutes
System returned to ROM by power-on
System image file is "flash:c2960-lanbasek9-mz.122-55.SE5.bin"

cisco WS-C2960-24TT-L (PowerPC405) processor (revision B0) with 65536K bytes of memory.
Processor board ID FOC1010X104

Configuration register is 0xF
"""


def test_facts_parser_reads_classic_ios() -> None:
    facts = _facts_module().parse_show_version(CLASSIC_IOS)

    assert facts == {
        "hostname": "sw-acc-01",
        "version": "12.2(55)SE5",
        "uptime": "12 weeks, 3 days, 1 hour, 4 minutes",
        "model": "WS-C2960-24TT-L",
        "serial": "FOC1010X104",
        "image": "flash:c2960-lanbasek9-mz.122-55.SE5.bin",
        "config_register": "0xF",
    }


def test_facts_parser_gives_none_for_what_is_missing() -> None:
    facts = _facts_module().parse_show_version("% Invalid input detected at '^' marker.")

    assert set(facts.values()) == {None}
