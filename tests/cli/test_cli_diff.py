"""``nrb diff OLD NEW``: three runs saved by ``nrb run --save``, two of the session's lab and one
with ``--lab`` where a device has a link down (``lab_fault: link_down``).

The saved files hold nothing volatile (``diff -r`` of the unchanged runs shows only
report.json); ``nrb diff`` exits 0 when the runs match, 2 when they differ (showing the parsed
interface that went down as data and the raw output as a unified diff), 5 on bad input."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_kit import Nrb, clean_env, copy_project, run_many, write_text

pytestmark = pytest.mark.cli

RUNBOOK = """
    name: Interfaces and version
    steps:
      - name: Interfaces
        commands: [show ip interface brief]
        parse: textfsm
      - name: Raw interfaces
        commands: [show ip interface brief]
      - name: Version
        commands: [show version]
      - name: Site
        task: echo
        args: {site: "{{ host.data.site }}"}
    """
FAULTY = "ams-edge-01"  # its link goes down for the third run
HOSTS = (FAULTY, "ams-spine-01")  # IOS and EOS
INTERFACES = "show ip interface brief"


@dataclass(frozen=True, slots=True)
class Saved:
    nrb: Nrb  # the third run's project
    first: Path  # the lab as it is
    second: Path  # the lab as it is, again
    third: Path  # FAULTY's link down (``nrb``'s out/latest)


def save_run(nrb: Nrb, *args: str) -> Path:
    """RUNBOOK on HOSTS with ``--save out``: its run folder."""
    ran = nrb.run(
        nrb.cwd / "diff.yaml", "-l", ":".join(HOSTS), "-o", "json", "--save", "out", *args
    )
    assert ran.code == 0, ran
    run_id: str = ran.json()["run_id"]
    return nrb.cwd / "out" / run_id


@pytest.fixture(scope="module")
def saved(
    lab_inventory: Any,
    tmp_path_factory: pytest.TempPathFactory,
    free_ports: Callable[..., list[int]],
) -> Saved:
    """Three runs of RUNBOOK with ``--save out``, at once: two against the session's lab, the
    third with ``--lab`` in a project of its own whose HOSTS have ports of their own and whose
    FAULTY has a link down."""
    lab = tmp_path_factory.mktemp("lab")
    write_text(lab, RUNBOOK, "diff.yaml")
    faulty = tmp_path_factory.mktemp("faulty")
    config = copy_project(lab_inventory, faulty, free_ports, closed=HOSTS)
    write_text(faulty, RUNBOOK, "diff.yaml")
    hosts_file = faulty / "inventory" / "hosts.yaml"
    hosts = yaml.safe_load(hosts_file.read_text())
    hosts[FAULTY].setdefault("data", {})["lab_fault"] = "link_down"
    hosts_file.write_text(yaml.safe_dump(hosts, sort_keys=False))
    nrb = Nrb(config=lab_inventory.config_file, cwd=lab)
    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = [pool.submit(save_run, nrb), pool.submit(save_run, nrb)]
        third = save_run(Nrb(config=config, cwd=faulty), "--lab")
        first, second = sorted(run.result() for run in runs)
    return Saved(Nrb(config=config, cwd=faulty), first, second, third)


def diff_r(old: Path, new: Path) -> list[str]:
    """What ``diff -rq`` says of two run folders, with the folders named OLD and NEW."""
    proc = subprocess.run(["diff", "-rq", old, new], capture_output=True, text=True, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    return [
        line.replace(str(old), "OLD").replace(str(new), "NEW") for line in proc.stdout.splitlines()
    ]


def test_two_saves_of_an_unchanged_lab_differ_only_in_report_json(saved: Saved) -> None:
    assert diff_r(saved.first, saved.second) == ["Files OLD/report.json and NEW/report.json differ"]
    outputs = saved.first / "outputs" / FAULTY
    assert sorted(str(p.relative_to(outputs)) for p in outputs.rglob("*.*")) == [
        "01-Interfaces/show_ip_interface_brief.json",
        "02-Raw_interfaces/show_ip_interface_brief.txt",
        "03-Version/show_version.txt",
        "04-Site/result.json",
    ]
    parsed = json.loads((outputs / "01-Interfaces" / "show_ip_interface_brief.json").read_text())
    assert {"interface": "Ethernet0/1", "status": "up"}.items() <= parsed[2].items()


def test_a_link_down_shows_in_diff_r_as_the_outputs_of_that_device(saved: Saved) -> None:
    assert diff_r(saved.second, saved.third) == [
        f"Files OLD/hosts/{FAULTY}.txt and NEW/hosts/{FAULTY}.txt differ",
        f"Files OLD/outputs/{FAULTY}/01-Interfaces/show_ip_interface_brief.json and "
        f"NEW/outputs/{FAULTY}/01-Interfaces/show_ip_interface_brief.json differ",
        f"Files OLD/outputs/{FAULTY}/02-Raw_interfaces/show_ip_interface_brief.txt and "
        f"NEW/outputs/{FAULTY}/02-Raw_interfaces/show_ip_interface_brief.txt differ",
        "Files OLD/report.json and NEW/report.json differ",
    ]


def test_nrb_diff_exit_codes_and_text(saved: Saved) -> None:
    nrb, out = saved.nrb, saved.nrb.cwd / "out"  # out/latest: the third run
    ran = run_many(
        nrb,
        {
            "same": ("diff", saved.first, saved.second / "report.json"),
            "differ": ("diff", saved.second, out / "latest"),
            "ignored": ("diff", saved.second, out / "latest", "--ignore", r"^Ethernet0/1\b"),
        },
    )

    assert ran["same"].code == 0, ran["same"]
    assert ran["same"].out.endswith("\nthe runs match\n")
    differ = ran["differ"]
    assert differ.code == 2, differ
    assert differ.err == ""
    lines = differ.lines()
    assert lines[:2] == [
        f"old: {saved.second.name} (Interfaces and version)",
        f"new: {saved.third.name} (Interfaces and version)",
    ]
    start = lines.index(f"{FAULTY}:")
    assert lines[start : start + 3] == [
        f"{FAULTY}:",
        "  step Interfaces:",
        f"    {INTERFACES}",
    ]
    assert f"        {INTERFACES}[2].status: 'up' -> 'down'" in lines
    assert f"        {INTERFACES}[2].proto: 'up' -> 'down'" in lines
    assert "  step Raw interfaces:" in lines
    removed = [line for line in lines if line.startswith("        -Ethernet0/1 ")]
    added = [line for line in lines if line.startswith("        +Ethernet0/1 ")]
    assert len(removed) == len(added) == 1
    assert removed[0].split()[-2:] == ["up", "up"]
    assert added[0].split()[-2:] == ["down", "down"]
    assert "ams-spine-01" not in differ.out  # unchanged
    assert lines[-1] == "the runs differ: 1 host differs"
    ignored = ran["ignored"]
    assert ignored.code == 2, ignored  # the parsed data still differs
    assert "  step Interfaces:" in ignored.lines()
    assert "Raw interfaces" not in ignored.out


def test_nrb_diff_json(saved: Saved) -> None:
    ran = saved.nrb("diff", saved.second, saved.third, "-o", "json")

    assert ran.code == 2, ran
    doc = ran.json()
    assert list(doc) == ["old", "new", "same", "hosts_only_in", "steps_only_in", "hosts"]
    assert doc["old"] == {"run_id": saved.second.name, "runbook": "Interfaces and version"}
    assert doc["new"] == {"run_id": saved.third.name, "runbook": "Interfaces and version"}
    assert doc["same"] is False
    assert doc["hosts_only_in"] == doc["steps_only_in"] == {"old": [], "new": []}
    assert list(doc["hosts"]) == [FAULTY]
    host = doc["hosts"][FAULTY]
    assert host["status"] is None
    assert [s["name"] for s in host["steps"]] == ["Interfaces", "Raw interfaces"]
    parsed, raw = (s["outputs"][0] for s in host["steps"])
    assert parsed["label"] == raw["label"] == INTERFACES
    assert parsed["changes"] == [
        {"path": f"{INTERFACES}[2].status", "change": "changed", "old": "up", "new": "down"},
        {"path": f"{INTERFACES}[2].proto", "change": "changed", "old": "up", "new": "down"},
    ]
    assert raw["changes"] == []
    assert raw["diff"].startswith(f"--- {saved.second.name}\n+++ {saved.third.name}\n@@ ")
    assert saved.nrb("diff", saved.first, saved.second, "-o", "json").json()["same"] is True


def test_nrb_diff_is_coloured_on_a_terminal_only(saved: Saved) -> None:
    args = ("diff", saved.second, saved.third)

    coloured = saved.nrb(*args, env=clean_env(FORCE_COLOR="1"))
    plain = saved.nrb(*args)

    assert coloured.code == plain.code == 2
    assert "\x1b[" in coloured.out
    assert "\x1b" not in plain.out


def test_nrb_diff_bad_input_is_exit_5_naming_it(saved: Saved, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "report.json").write_text('{"runbook": "x", "hosts": [')
    missing = tmp_path / "missing"
    nrb = Nrb(config=saved.nrb.config, cwd=tmp_path)

    ran = run_many(
        nrb,
        {
            "missing": ("diff", missing, saved.first),
            "corrupt": ("diff", saved.first, corrupt),
            "regex": ("diff", saved.first, saved.second, "--ignore", "up(", "--ignore", "x"),
            "empty": ("diff", tmp_path, saved.first),
        },
    )

    for case in ran.values():
        assert case.code == 5, case
        assert case.out == ""
        assert "Traceback" not in case.err
    assert f"{missing}: not a saved run: no such file or folder" in ran["missing"].err
    assert f"{corrupt / 'report.json'}:1:28: not a saved run: invalid json" in ran["corrupt"].err
    assert "--ignore 'up(': not a regular expression: missing ), unterminated subpattern" in (
        ran["regex"].err
    )
    assert f"{tmp_path}: not a saved run: it has no report.json" in ran["empty"].err
