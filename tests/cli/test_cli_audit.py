"""``nrb run --log-file FILE``: the audit trail (JSON lines, appended: what was sent to which
device, when, by whom); ``--session-log DIR``: each host's SSH session in ``DIR/<host>.log``.

Two runs of one runbook on an IOS and an EOS host append to the same files, the first on
threads, the second in worker processes. The runbook sends the lab password inside a
rendered command (URL-encoded, a form Netmiko's own masking does not know) and a config line
the device echoes; neither file may hold it in any form.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_kit import ALL, MakeProject, Nrb, Ran, copy_project, run_many, write_text
from test_cli_save import WAIT_FOR_FILE, nrb_on_a_small_disk

from nornir_runbook.redact import secret_forms

pytestmark = pytest.mark.cli

MASK = "********"
HOSTS = ("ams-core-02", "fra-spine-01")  # cisco_ios, arista_eos
RUNBOOK = """
    name: Audited
    steps:
      - name: Version
        commands: [show version, "show clock | include {{ vars.pw | urlencode }}"]
      - name: Contact
        config: ["snmp-server contact ops-{{ vars.run }}-{{ vars.pw }}"]
      - name: Only checks
        assert: ["1 == 1"]
      - name: Not here
        when: "false"
        commands: [show ip route summary]
    """
RUNS = {
    "threads": ("-e", "run=1"),
    "processes": ("-e", "run=2", "--executor", "process", "-w", "2"),
}


@pytest.fixture(scope="module")
def audited(
    lab_inventory: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Ran]]:
    """RUNBOOK on HOSTS twice (RUNS, one after the other), both with ``--log-file
    logs/audit.jsonl --session-log sessions``; the folder they ran in and each run."""
    folder = tmp_path_factory.mktemp("audit")
    (folder / "logs").mkdir()
    write_text(folder, RUNBOOK, "audited.yaml")
    nrb = Nrb(config=lab_inventory.config_file, cwd=folder)
    pw = f"pw={lab_inventory.password}"
    ran = {
        name: nrb.run(
            "audited.yaml",
            "-l",
            ":".join(HOSTS),
            "-e",
            pw,
            *options,
            "-o",
            "json",
            "--log-file",
            "logs/audit.jsonl",
            "--session-log",
            "sessions",
        )
        for name, options in RUNS.items()
    }
    return folder, ran


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_log_says_what_was_sent_to_which_device_when_and_by_whom(
    audited: tuple[Path, dict[str, Ran]], lab_inventory: Any
) -> None:
    folder, ran = audited
    run_ids = {name: r.json()["run_id"] for name, r in ran.items()}
    for r in ran.values():
        assert r.code == 0, r

    found = records(folder / "logs" / "audit.jsonl")

    # appended: the first run's records, then the second's; two sending steps per host each
    assert [r["run_id"] for r in found] == [run_ids["threads"]] * 4 + [run_ids["processes"]] * 4
    for record in found:
        assert record["user"] == getpass.getuser()
        assert "login" in record
        assert record["uid"] == os.getuid()
        assert record["runbook"] == "Audited"
        assert record["runbook_file"] == str(folder / "audited.yaml")
        assert record["address"] == f"127.0.0.1:{lab_inventory.ports[record['host']]}"
        assert (record["mode"], record["sent"], record["status"]) == ("run", True, "ok")
        assert record["time"] >= record["run_id"][:4]  # an ISO time of this century
    by_step = {(r["run_id"], r["host"], r["step"]): r for r in found}
    assert len(by_step) == len(found)  # one record per step per host
    for name, run_id in run_ids.items():
        run = 1 if name == "threads" else 2
        for host in HOSTS:
            version = by_step[run_id, host, "Version"]
            assert version["commands"] == ["show version", f"show clock | include {MASK}"]
            assert version["changed"] is False
            contact = by_step[run_id, host, "Contact"]
            assert contact["config"] == [f"snmp-server contact ops-{run}-{MASK}"]
            assert contact["changed"] is True
    assert stat.S_IMODE((folder / "logs" / "audit.jsonl").stat().st_mode) == 0o600


def test_session_logs_hold_each_hosts_session_on_threads_and_processes(
    audited: tuple[Path, dict[str, Ran]],
) -> None:
    folder, ran = audited
    run_ids = [r.json()["run_id"] for r in ran.values()]
    sessions = folder / "sessions"

    assert sorted(p.name for p in sessions.iterdir()) == sorted(f"{h}.log" for h in HOSTS)
    assert stat.S_IMODE(sessions.stat().st_mode) == 0o700
    for host in HOSTS:
        log = sessions / f"{host}.log"
        text = log.read_text()
        assert stat.S_IMODE(log.stat().st_mode) == 0o600
        # appended: each session starts with a line naming its run; one session per run (in
        # worker processes too: the host and its session are kept from step to step)
        heads = [line.split()[4] for line in text.splitlines() if line.startswith("--- ")]
        assert heads == run_ids
        # the device's answers, from both runs (the second ran in worker processes)
        second = text[text.index(f"nrb run {run_ids[1]}") :]
        for part in (text[: text.index(f"nrb run {run_ids[1]}")], second):
            assert "show version" in part
            assert "Software" in part  # the version's answer, on IOS and EOS alike
            assert "snmp-server contact ops-" in part


def test_no_password_in_the_log_nor_the_session_logs(
    audited: tuple[Path, dict[str, Ran]], lab_inventory: Any
) -> None:
    folder, _ = audited
    forms = secret_forms(lab_inventory.password)
    files = [folder / "logs" / "audit.jsonl", *(folder / "sessions").iterdir()]

    for path in files:
        text = path.read_text()
        assert MASK in text, path  # the password was there, and was masked
        for form in forms:
            assert form not in text, f"{path} holds the password as {form!r}"


DRY = """
    name: Dry
    steps:
      - name: Contact
        config: ["snmp-server contact {{ host.name }}"]
    """


def test_config_yaml_sets_the_log_file_and_the_command_line_wins(
    lab_inventory: Any, tmp_path: Path
) -> None:
    """A dry run connects nowhere and records what it would send, marked as such."""
    config = yaml.safe_load(lab_inventory.config_file.read_text())
    config["user_defined"] = {"nornir_runbook": {"log_file": "from-config.jsonl"}}
    (tmp_path / "site").mkdir()
    config_file = tmp_path / "site" / "config.yaml"
    config_file.write_text(yaml.safe_dump(config))
    write_text(tmp_path, DRY, "dry.yaml")
    nrb = Nrb(config=config_file, cwd=tmp_path)

    first = nrb.run("dry.yaml", "-l", "ams-core-01", "--dry-run", "-o", "json")
    second = nrb.run(
        "dry.yaml", "-l", "ams-core-01", "--dry-run", "-o", "json", "--log-file", "cli.jsonl"
    )

    assert (first.code, second.code) == (0, 0), (first, second)
    from_config = records(tmp_path / "site" / "from-config.jsonl")  # beside config.yaml
    assert [(r["run_id"], r["mode"], r["sent"]) for r in from_config] == [
        (first.json()["run_id"], "dry_run", False)
    ]
    assert from_config[0]["config"] == ["snmp-server contact ams-core-01"]
    assert [r["run_id"] for r in records(tmp_path / "cli.jsonl")] == [second.json()["run_id"]]


def test_a_log_that_cannot_be_written_is_refused_before_any_connection(
    lab_inventory: Any, tmp_path: Path, free_ports: Callable[..., list[int]]
) -> None:
    """Every host is on a closed port: a run that tried to connect would end unreachable (4)."""
    nrb = Nrb(config=copy_project(lab_inventory, tmp_path, free_ports, closed=ALL), cwd=tmp_path)
    write_text(tmp_path, RUNBOOK, "audited.yaml")
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "file").write_text("not a folder")
    run = (
        "run",
        "audited.yaml",
        "-c",
        nrb.config,
        "-l",
        "ams-core-01",
        "-e",
        "pw=x",
        "-e",
        "run=1",
    )
    blocked = {
        ("--log-file", "a-folder"),
        ("--log-file", "missing/audit.jsonl"),
        ("--session-log", "file"),
    }

    ran = run_many(nrb, {"connected": run, **{b: (*run, *b) for b in blocked}})

    assert ran["connected"].code == 4, ran["connected"]
    for option, blocker in blocked:
        refused = ran[option, blocker]
        assert refused.code == 5, refused
        assert f"{option} {blocker}" in refused.err
        assert refused.out == ""
    assert (tmp_path / "file").read_text() == "not a folder"


def test_logs_that_fill_the_disk_during_the_run_lose_no_host_result(
    make_project: MakeProject, tmp_path: Path
) -> None:
    """The disk under both logs fills once nrb has checked them, while the hosts wait: the
    sessions and the run go on, every result is printed, stderr says how many records were
    lost, and the exit code is 5."""
    config = make_project()
    (config.parent / "waiting.py").write_text(WAIT_FOR_FILE)
    go = tmp_path / "go"
    write_text(
        config.parent,
        f"""
        name: Fills
        steps:
          - name: Wait
            task: waiting:wait_for_file
            args: {{path: "{go}"}}
          - name: Version
            commands: [show version]
        """,
        "fills.yaml",
    )
    disk = tmp_path / "disk"
    nrb = Nrb(config=config, cwd=config.parent)

    code, out, err = nrb_on_a_small_disk(
        nrb, disk, "run", "fills.yaml", "-c", config, "-l", ":".join(HOSTS), "-o", "json",
        "--session-log", disk / "out", "--log-file", disk / "audit.jsonl", fill="later", go=go,
    )  # fmt: skip

    assert go.exists(), err
    assert code == 5, (err, out)
    assert re.search(r"--log-file \S+: [2-4] records could not be written: No space left", err)
    assert "Traceback" not in err
    doc = json.loads(out)
    assert [h["status"] for h in doc["hosts"].values()] == ["ok", "ok"], doc
    for host in doc["hosts"].values():
        assert "Software" in host["steps"][1]["result"]["show version"]
