"""Helpers of the fault drills: a runbook project in a temporary folder whose lab devices
misbehave, and ``nrb run`` as a subprocess against it.

- :func:`write_drill_project` writes ``config.yaml``, ``inventory/`` and a custom ``pause`` task
  (``drill_tasks.py``) for a list of :class:`Spec` s, and returns the lab devices to serve.
- :func:`run_nrb` runs ``python -m nornir_runbook run ... -vvv --save DIR`` and returns a
  :class:`NrbRun` (exit code, stdout, stderr, the saved run folder).
- :func:`secret_hits` / :func:`leftover_files` / :func:`wait_until_closed` check what a run
  leaves behind: passwords in any output, half-written files, sessions still open on a device.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from nornir import InitNornir

from nornir_runbook.errors import LabError
from nornir_runbook.lab import Device, Lab, devices_from_nornir
from nornir_runbook.lab.faults import SessionStats
from ports import pick_free_ports

# distinctive, so that any leak is found by a plain substring search
LAB_PASSWORD = "Drill-Lab-Pw-7f3e9a"  # the fake devices' password
WRONG_PASSWORD = "Drill-Wrong-Pw-c41d2b"  # what the wrong-password host sends
USERNAME = "drill"

# Netmiko's own timeouts, short: every fault ends well within a few seconds of these
CONN_TIMEOUT = 5  # TCP connect + key exchange
BANNER_TIMEOUT = 3  # the SSH banner
AUTH_TIMEOUT = 5
READ_TIMEOUT = 5  # read_timeout_override: every read of a session, set-up and commands
NETMIKO_EXTRAS: dict[str, Any] = {
    "conn_timeout": CONN_TIMEOUT,
    "banner_timeout": BANNER_TIMEOUT,
    "auth_timeout": AUTH_TIMEOUT,
    "read_timeout_override": READ_TIMEOUT,
}

DRILL_TASKS = '''"""Tasks of the fault drill project."""

import time

from nornir.core.task import Result, Task


def pause(task: Task, seconds: float) -> Result:
    """Wait without touching the device: room for a device to drop its session."""
    time.sleep(float(seconds))
    return Result(host=task.host, result={"paused_s": float(seconds)})
'''


@dataclass(frozen=True, slots=True, kw_only=True)
class Spec:
    """One inventory host of a drill: its fault, and how it differs from a healthy host.

    ``served``: False for a port nobody listens on; ``password``: what the inventory gives it
    (the device always accepts LAB_PASSWORD); ``extras``: its own Netmiko extras.
    """

    name: str
    fault: str | None = None
    fault_delay: float | None = None
    served: bool = True
    password: str | None = None
    extras: dict[str, Any] | None = None
    group: str = "healthy"


@dataclass(frozen=True, slots=True, kw_only=True)
class DrillProject:
    directory: Path
    config_file: Path
    hosts: tuple[str, ...]  # inventory order
    devices: tuple[Device, ...]  # what the lab serves (not the refused host)

    def __repr__(self) -> str:
        return f"DrillProject({self.config_file}, {len(self.hosts)} hosts)"

    def lab(self) -> Lab:
        return Lab(self.devices)


def write_drill_project(directory: Path, specs: Sequence[Spec]) -> DrillProject:
    """The project folder for ``specs``; the devices come from the inventory's ``lab_fault``."""
    ports = pick_free_ports(len(specs))
    hosts: dict[str, dict[str, Any]] = {}
    for spec, port in zip(specs, ports, strict=True):
        host: dict[str, Any] = {"hostname": "127.0.0.1", "port": port, "groups": [spec.group]}
        data: dict[str, Any] = {}
        if spec.fault is not None:
            data["lab_fault"] = spec.fault
        if spec.fault_delay is not None:
            data["lab_fault_delay"] = spec.fault_delay
        if data:
            host["data"] = data
        if spec.password is not None:
            host["password"] = spec.password
        if spec.extras is not None:
            host["connection_options"] = {"netmiko": {"extras": spec.extras}}
        hosts[spec.name] = host
    groups = {g: {"data": {"tags": [g]}} for g in dict.fromkeys(s.group for s in specs)}
    defaults = {
        "platform": "cisco_ios",
        "username": USERNAME,
        "password": LAB_PASSWORD,
        "connection_options": {"netmiko": {"extras": NETMIKO_EXTRAS}},
    }
    inventory = directory / "inventory"
    inventory.mkdir(parents=True, exist_ok=True)
    for name, content in (("hosts", hosts), ("groups", groups), ("defaults", defaults)):
        (inventory / f"{name}.yaml").write_text(yaml.safe_dump(content, sort_keys=False))
    config = {
        "inventory": {
            "plugin": "SimpleInventory",
            "options": {
                "host_file": "inventory/hosts.yaml",
                "group_file": "inventory/groups.yaml",
                "defaults_file": "inventory/defaults.yaml",
            },
        },
        "runner": {"plugin": "futures", "options": {"num_workers": 20}},
        "logging": {"enabled": False},
    }
    config_file = directory / "config.yaml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    (directory / "drill_tasks.py").write_text(DRILL_TASKS)
    return DrillProject(
        directory=directory,
        config_file=config_file,
        hosts=tuple(hosts),
        devices=tuple(_devices(config_file, specs)),
    )


def _devices(config_file: Path, specs: Sequence[Spec]) -> list[Device]:
    """The lab devices as ``devices_from_nornir`` reads them, all accepting LAB_PASSWORD."""
    inventory = config_file.parent / "inventory"
    nr = InitNornir(
        inventory={
            "plugin": "SimpleInventory",
            "options": {
                "host_file": str(inventory / "hosts.yaml"),
                "group_file": str(inventory / "groups.yaml"),
                "defaults_file": str(inventory / "defaults.yaml"),
            },
        },
        logging={"enabled": False},
    )
    served = [s.name for s in specs if s.served]
    return [dataclasses.replace(d, password=LAB_PASSWORD) for d in devices_from_nornir(nr, served)]


# -- running nrb ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class NrbRun:
    code: int
    stdout: str
    stderr: str
    save_dir: Path
    extra_outputs: tuple[str, ...] = field(default=())

    @property
    def run_folder(self) -> Path:
        folders = [p for p in self.save_dir.iterdir() if p.is_dir() and not p.is_symlink()]
        assert len(folders) == 1, (folders, self.stderr[-3000:])
        return folders[0]

    def saved_report(self) -> dict[str, Any]:
        report: dict[str, Any] = json.loads((self.run_folder / "report.json").read_text())
        return report

    def host(self, name: str) -> dict[str, Any]:
        host: dict[str, Any] = self.saved_report()["hosts"][name]
        return host


def nrb_command(project: DrillProject, runbook: Path, save_dir: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "nornir_runbook",
        "run",
        str(runbook),
        "-c",
        str(project.config_file),
        "-vvv",
        "--save",
        str(save_dir),
        *args,
    ]


def nrb_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NRB_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("COLUMNS", None)
    return env


def run_nrb(
    project: DrillProject, runbook: Path, save_dir: Path, *args: str, timeout: float
) -> NrbRun:
    """Run nrb to the end; ``subprocess.TimeoutExpired`` (a failed test) if it hangs."""
    done = subprocess.run(
        nrb_command(project, runbook, save_dir, *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=project.directory,
        env=nrb_env(),
        check=False,
    )
    return NrbRun(code=done.returncode, stdout=done.stdout, stderr=done.stderr, save_dir=save_dir)


def write_runbook(directory: Path, name: str, content: dict[str, Any]) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


# -- what a run leaves behind --------------------------------------------------------------


def secret_hits(run: NrbRun, secrets: Sequence[str]) -> list[str]:
    """Where any of ``secrets`` appears: stdout, stderr, or any file under the save folder."""
    texts = {"stdout": run.stdout, "stderr": run.stderr}
    for i, text in enumerate(run.extra_outputs):
        texts[f"output {i}"] = text
    for path in sorted(run.save_dir.rglob("*")):
        if path.is_file():
            texts[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
    return [f"{where}: {s[:6]}..." for where, text in texts.items() for s in secrets if s in text]


def scanned_places(run: NrbRun) -> int:
    return 2 + len(run.extra_outputs) + sum(1 for p in run.save_dir.rglob("*") if p.is_file())


def leftover_files(save_dir: Path) -> list[str]:
    """Temporary or hidden files in the save folder: what an interrupted write leaves."""
    return [
        str(p.relative_to(save_dir))
        for p in save_dir.rglob("*")
        if p.name.startswith(".") or p.suffix in (".tmp", ".part")
    ]


def check_lab_alive(lab: Lab) -> None:
    """Fail the fixture plainly if the lab's device processes died during the run (every host
    would read as refused, which says nothing about nrb)."""
    try:
        lab.stats()
    except LabError as exc:
        raise AssertionError(f"the lab stopped serving during the run: {exc}") from exc


def wait_until_closed(lab: Lab, timeout: float = 30.0) -> dict[str, SessionStats]:
    """The lab's stats once no device has a session open (or at ``timeout``, for the assert)."""
    deadline = time.monotonic() + timeout
    while True:
        stats = lab.stats()
        if not any(s.open for s in stats.values()) or time.monotonic() > deadline:
            return stats
        time.sleep(0.1)
