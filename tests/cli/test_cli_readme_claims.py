"""What the README promises of ``nrb`` that no other test runs: the dask executor from the
command line, ``NRB_USERNAME``, ``nrb lab --processes``, ``--lab`` on a busy port, and exit 1
with a traceback when nrb itself fails."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_kit import ALL, TIMEOUT, MakeProject, Nrb, WriteRunbook, clean_env, finish

from dask_kit import dask_cluster

pytestmark = pytest.mark.cli

CLOCK = """
name: Clock
steps:
  - {name: Clock, commands: [show clock]}
"""
TWO = "ams-core-01:fra-edge-04"


def test_the_dask_executor_from_the_command_line(
    nrb: Nrb, write_runbook: WriteRunbook, free_ports: Callable[..., list[int]]
) -> None:
    runbook = write_runbook(CLOCK)
    with dask_cluster(free_ports(1)[0], workers=1, nthreads=2) as address:
        ran = nrb.run(runbook, "-l", TWO, "--executor", "dask", "--dask-address", address)

    assert ran.code == 0, ran
    hosts = ran.json()["hosts"]
    assert list(hosts) == TWO.split(":")
    assert all(h["steps"][0]["result"]["show clock"].startswith("*") for h in hosts.values())


def test_the_dask_executor_without_an_address_is_an_input_error(
    nrb: Nrb, write_runbook: WriteRunbook
) -> None:
    ran = nrb.run(write_runbook(CLOCK), "-l", TWO, "--executor", "dask")

    assert ran.code == 5, ran
    assert "--dask-address" in ran.err
    assert ran.out == ""


def test_nrb_username_replaces_the_inventory_username(
    nrb: Nrb, write_runbook: WriteRunbook, make_project: MakeProject, lab_inventory: Any
) -> None:
    config = make_project()
    defaults = config.parent / "inventory" / "defaults.yaml"
    data = yaml.safe_load(defaults.read_text())
    data["username"] = "nobody"  # the devices refuse it
    defaults.write_text(yaml.safe_dump(data))
    runbook = write_runbook(CLOCK)

    refused = nrb.run(runbook, "-l", TWO, config=config)
    fixed = nrb.run(
        runbook, "-l", TWO, config=config, env=clean_env(NRB_USERNAME=lab_inventory.username)
    )

    assert refused.code == 4, refused
    assert fixed.code == 0, fixed
    assert set(fixed.json()["hosts"]) == set(TWO.split(":"))


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_nrb_lab_with_processes_serves_every_device_until_ctrl_c(
    nrb: Nrb, write_runbook: WriteRunbook, make_project: MakeProject, lab_inventory: Any
) -> None:
    config = make_project(closed=ALL)  # every host on new ports: a lab of its own
    lab = subprocess.Popen(
        [sys.executable, "-m", "nornir_runbook", "lab", "-c", str(config), "--processes", "2"],
        cwd=config.parent,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert lab.stderr is not None
        # "lab: host key ...", then "lab: 12 devices (...); Ctrl-C to stop", once they listen
        said = [lab.stderr.readline().decode() for _ in range(2)]
        assert said[0].startswith("lab: host key "), said
        assert said[1].startswith(f"lab: {len(lab_inventory.hosts)} devices"), said
        assert len(_children(lab.pid)) == 2  # the device processes

        ran = nrb.run(write_runbook(CLOCK), config=config)

        assert ran.code == 0, ran
        assert list(ran.json()["hosts"]) == list(lab_inventory.hosts)
    finally:
        _, err = finish(lab, signal.SIGINT)
    assert lab.returncode == 0, err
    assert "Traceback" not in err


def test_lab_on_a_busy_port_is_an_input_error(nrb: Nrb, write_runbook: WriteRunbook) -> None:
    # the session's lab already serves every port of this inventory
    ran = nrb.run(write_runbook(CLOCK), "-l", "ams-core-01", "--lab")

    assert ran.code == 5, ran
    assert "already in use" in ran.err
    assert ran.out == ""


def test_a_bug_in_nrb_is_exit_1_with_its_traceback(tmp_path: Path) -> None:
    """A failure inside nrb's own code (here: a command that raises) is exit 1, says "internal
    error" and shows the traceback, so that it can be reported."""
    program = (
        "import sys\n"
        "from nornir_runbook import cli\n"
        "from nornir_runbook.cli import tasks\n"
        "def broken(*args):\n"
        "    raise RuntimeError('a bug in a command')\n"
        "tasks.cmd_tasks = broken\n"
        "sys.exit(cli.main(['tasks']))\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", program],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )

    assert ran.returncode == 1, ran
    assert "nrb: internal error" in ran.stderr
    assert "Traceback (most recent call last)" in ran.stderr
    assert "RuntimeError: a bug in a command" in ran.stderr
