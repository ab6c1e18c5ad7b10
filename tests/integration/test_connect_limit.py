"""``connect_limit`` on every executor, counted where it matters: on the devices.

The lab's devices answer each login after ``LOGIN_DELAY`` seconds (fault ``slow_login``, a slow
TACACS server), so that connection set-ups pile up on them, and count the set-ups in progress
at once (``Lab.peak_setups``). Each run goes over ``HOSTS`` devices at ``HOSTS`` workers, after
a run that starts every worker without connecting anywhere: without a limit, the set-ups
overlap on the devices; with ``connect_limit=2``, two of them do and never more.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import limit_tasks
import pytest
import yaml
from distributed import Client
from nornir.core import Nornir
from nornir.core.inventory import ConnectionOptions, Defaults, Groups, Host, Hosts, Inventory
from nornir.core.plugins.connections import ConnectionPluginRegister

from dask_kit import dask_cluster
from nornir_runbook import FuturesRunner
from nornir_runbook.lab import Device, Lab
from nornir_runbook.tasks.echo import echo
from nornir_runbook.tasks.send_commands import send_commands

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
HOSTS = 8
LIMIT = 2
LOGIN_DELAY = 1.0  # seconds: ample for the set-ups of a run without a limit to meet
USERNAME, PASSWORD = "limit", "Limit-Lab-Pw-5d1c"
NETMIKO_EXTRAS = {"conn_timeout": 20, "auth_timeout": 20, "banner_timeout": 20}
NRB_TIMEOUT = 120  # seconds: a hung nrb fails the test
# seconds: far past the wait of the last of HOSTS set-ups made one at a time on a busy machine
ONE_AT_A_TIME_TIMEOUT = 60


@pytest.fixture(scope="module")
def dask_address(free_ports: Callable[..., list[int]]) -> Iterator[str]:
    with dask_cluster(free_ports(1)[0], workers=2, nthreads=HOSTS, pythonpath=[HERE]) as address:
        yield address


@pytest.fixture(params=["thread", "process", "dask"])
def executor(request: pytest.FixtureRequest) -> dict[str, object]:
    if request.param == "dask":
        return {"executor": "dask", "dask_address": request.getfixturevalue("dask_address")}
    return {"executor": request.param}


@pytest.fixture
def slow_lab(free_ports: Callable[..., list[int]]) -> Iterator[Lab]:
    devices = [
        Device(
            name=f"slow-{i}",
            address="127.0.0.1",
            port=port,
            username=USERNAME,
            password=PASSWORD,
            fault="slow_login",
            fault_delay=LOGIN_DELAY,
        )
        for i, port in enumerate(free_ports(HOSTS))
    ]
    with Lab(devices, processes=0) as lab:
        yield lab


def lab_nornir(lab: Lab, runner: FuturesRunner) -> Nornir:
    ConnectionPluginRegister.auto_register()  # netmiko, for the thread executor
    defaults = Defaults(
        username=USERNAME,
        password=PASSWORD,
        platform="cisco_ios",
        connection_options={"netmiko": ConnectionOptions(extras=NETMIKO_EXTRAS)},
    )
    hosts = Hosts(
        {
            d.name: Host(d.name, hostname=d.address, port=d.port, defaults=defaults)
            for d in lab.devices
        }
    )
    return Nornir(
        inventory=Inventory(hosts=hosts, groups=Groups(), defaults=defaults), runner=runner
    )


@pytest.mark.parametrize("limit", [LIMIT, None], ids=["limit", "no-limit"])
def test_connect_limit_bounds_setups_on_the_devices(
    executor: dict[str, object], limit: int | None, slow_lab: Lab
) -> None:
    runner = FuturesRunner(num_workers=HOSTS, connect_limit=limit, **executor)
    nr = lab_nornir(slow_lab, runner)
    try:
        warm = nr.run(task=echo)  # every worker up, no session yet
        result = nr.run(task=send_commands, commands=["show clock"])
        again = nr.run(task=send_commands, commands=["show clock"])  # sessions open: no set-up
    finally:
        nr.close_connections(on_good=True, on_failed=True)
        runner.close()

    assert not warm.failed
    assert not result.failed, {h: str(result[h].exception) for h in result.failed_hosts}
    assert not again.failed
    assert all(s.logins == 1 for s in slow_lab.stats().values())
    if limit is None:
        assert slow_lab.peak_setups() > LIMIT  # the lab sees set-ups pile up without a limit
    else:
        assert slow_lab.peak_setups() == LIMIT


@pytest.mark.cli
def test_nrb_holds_the_runbooks_connect_limit_on_worker_processes(
    slow_lab: Lab, tmp_path: Path
) -> None:
    """The option as a user gives it: in the runbook, with ``--executor process``."""
    config = write_project(tmp_path, slow_lab)
    book = tmp_path / "clock.yaml"
    book.write_text(
        yaml.safe_dump(
            {
                "name": "Clock",
                "options": {"connect_limit": LIMIT},
                "steps": [{"name": "Clock", "commands": ["show clock"]}],
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NRB_")}
    args = ["run", str(book), "-c", str(config), "--executor", "process", "-w", str(HOSTS)]
    ran = subprocess.run(
        [sys.executable, "-m", "nornir_runbook", *args, "-o", "json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=NRB_TIMEOUT,
        check=False,
    )

    assert ran.returncode == 0, ran.stderr[-3000:]
    assert json.loads(ran.stdout)["summary"]["ok"] == HOSTS
    assert slow_lab.peak_setups() == LIMIT


def write_project(folder: Path, lab: Lab) -> Path:
    """``config.yaml`` and a SimpleInventory of ``lab``'s devices; the config file's path."""
    inventory = folder / "inventory"
    inventory.mkdir()
    hosts = {d.name: {"hostname": d.address, "port": d.port} for d in lab.devices}
    defaults = {
        "username": USERNAME,
        "password": PASSWORD,
        "platform": "cisco_ios",
        "connection_options": {"netmiko": {"extras": NETMIKO_EXTRAS}},
    }
    for name, content in (("hosts", hosts), ("groups", {}), ("defaults", defaults)):
        (inventory / f"{name}.yaml").write_text(yaml.safe_dump(content))
    config = {
        "inventory": {
            "plugin": "SimpleInventory",
            "options": {
                "host_file": str(inventory / "hosts.yaml"),
                "group_file": str(inventory / "groups.yaml"),
                "defaults_file": str(inventory / "defaults.yaml"),
            },
        },
        "logging": {"enabled": False},
    }
    config_file = folder / "config.yaml"
    config_file.write_text(yaml.safe_dump(config))
    return config_file


def test_a_worker_process_that_dies_mid_set_up_gives_its_permit_back(slow_lab: Lab) -> None:
    """One permit, held by a worker process when it dies: its slot's next process and every
    other host still get to connect (with the permit lost, they would all wait for ever, until
    ``task_timeout`` failed them)."""
    victim = slow_lab.devices[0].name
    runner = FuturesRunner(
        num_workers=HOSTS, connect_limit=1, task_timeout=ONE_AT_A_TIME_TIMEOUT, executor="process"
    )
    nr = lab_nornir(slow_lab, runner)
    try:
        died = nr.filter(name=victim).run(task=limit_tasks.die_connecting)
        result = nr.run(task=send_commands, commands=["show clock"])
    finally:
        runner.close()

    assert isinstance(died[victim].exception, BrokenProcessPool)
    assert not result.failed, {h: str(result[h].exception) for h in result.failed_hosts}
    assert slow_lab.peak_setups() == 1


def test_each_runs_semaphore_is_forgotten_when_the_run_ends(
    dask_address: str, slow_lab: Lab
) -> None:
    runner = FuturesRunner(
        num_workers=HOSTS, connect_limit=LIMIT, executor="dask", dask_address=dask_address
    )
    nr = lab_nornir(slow_lab, runner)
    with Client(dask_address, timeout=10) as client:
        try:
            half = [d.name for d in slow_lab.devices[: HOSTS // 2]]
            first = nr.filter(filter_func=lambda h: h.name in half).run(
                task=send_commands, commands=["show clock"]
            )
            during = client.run_on_scheduler(limit_tasks.run_semaphores)
            second = nr.run(task=send_commands, commands=["show clock"])
        finally:
            runner.close()
        after = client.run_on_scheduler(limit_tasks.run_semaphores)

    assert not first.failed
    assert not second.failed
    assert slow_lab.peak_setups() <= LIMIT
    assert during == []
    assert after == []
