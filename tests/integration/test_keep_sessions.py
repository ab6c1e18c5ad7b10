"""``keep_sessions``: device sessions kept open on dask workers between runs, counted on the
lab's devices (their login counters).

Each run has a runner, an executor and a dask client of its own, as two ``nrb`` invocations
against one standing cluster would. The cluster is real (``dask scheduler`` and two ``dask
worker`` processes); the task is nornir_netmiko's, which takes the host's session as it finds
it: whatever checks a kept session before reuse is the worker's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from distributed import Client
from nornir.core import Nornir
from nornir.core.inventory import Defaults, Groups, Host, Hosts, Inventory
from nornir.core.task import AggregatedResult
from nornir_netmiko.tasks import netmiko_send_command

from dask_kit import dask_cluster
from nornir_runbook import FuturesRunner
from nornir_runbook.lab import Device, Lab
from nornir_runbook.lab.faults import Fault
from nornir_runbook.runner.remote import close_on_worker

if TYPE_CHECKING:
    from conftest import LabInventory

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def cluster(free_ports: Callable[..., list[int]]) -> Iterator[str]:
    with dask_cluster(free_ports(1)[0], workers=2, nthreads=4, pythonpath=[HERE]) as address:
        yield address


@pytest.fixture
def dask_address(cluster: str) -> Iterator[str]:
    """The cluster; every session its workers kept is closed when the test ends."""
    yield cluster
    with Client(cluster, timeout=30) as client:
        client.run(close_on_worker)


def run_once(nr: Nornir, address: str, keep: float | None) -> AggregatedResult:
    """One run as one nrb invocation: a runner (and dask client) of its own, closed after."""
    runner = FuturesRunner(num_workers=4, executor="dask", dask_address=address, keep_sessions=keep)
    try:
        return nr.with_runner(runner).run(
            task=netmiko_send_command, command_string="show clock", on_failed=True
        )
    finally:
        runner.close()


def logins(lab: Lab) -> dict[str, int]:
    return {name: stats.logins for name, stats in lab.stats().items()}


def new_logins(lab: Lab, before: dict[str, int], hosts: tuple[str, ...]) -> dict[str, int]:
    now = logins(lab)
    return {h: now[h] - before[h] for h in hosts}


def test_kept_sessions_serve_the_next_run_without_logging_in(
    make_nornir: Callable[..., Nornir], dask_address: str, lab_inventory: LabInventory
) -> None:
    nr, lab, hosts = make_nornir(), lab_inventory.lab, lab_inventory.hosts
    before = logins(lab)
    first = run_once(nr, dask_address, keep=300)
    by_first = new_logins(lab, before, hosts)
    middle = logins(lab)
    second = run_once(nr, dask_address, keep=300)
    assert not first.failed
    assert not second.failed
    assert by_first == dict.fromkeys(hosts, 1)
    assert new_logins(lab, middle, hosts) == dict.fromkeys(hosts, 0)
    assert all("UTC" in second[h][0].result for h in hosts)


def test_without_keep_sessions_each_run_logs_in_again(
    make_nornir: Callable[..., Nornir], dask_address: str, lab_inventory: LabInventory
) -> None:
    nr, lab, hosts = make_nornir(), lab_inventory.lab, lab_inventory.hosts
    before = logins(lab)
    first = run_once(nr, dask_address, keep=None)
    by_first = new_logins(lab, before, hosts)
    middle = logins(lab)
    second = run_once(nr, dask_address, keep=None)
    assert not first.failed
    assert not second.failed
    assert by_first == dict.fromkeys(hosts, 1)
    assert new_logins(lab, middle, hosts) == dict.fromkeys(hosts, 1)


def test_a_kept_session_is_never_handed_to_other_credentials(
    make_nornir: Callable[..., Nornir], dask_address: str, lab_inventory: LabInventory
) -> None:
    """The second run gives one host a wrong password: that host logs in anew and is refused;
    the session the right password opened is not used for it."""
    nr, lab, hosts = make_nornir(), lab_inventory.lab, lab_inventory.hosts
    victim = hosts[0]
    first = run_once(nr, dask_address, keep=300)
    middle = {name: (s.logins, s.denied) for name, s in lab.stats().items()}
    nr.inventory.hosts[victim].password = "not-the-password"
    second = run_once(nr, dask_address, keep=300)
    now = {name: (s.logins, s.denied) for name, s in lab.stats().items()}
    assert not first.failed
    assert list(second.failed_hosts) == [victim]
    assert now[victim] == (middle[victim][0], middle[victim][1] + 1)  # tried, refused
    assert all(now[h] == middle[h] for h in hosts if h != victim)  # kept sessions, no login


def test_a_session_idle_past_keep_sessions_is_closed_and_the_next_run_logs_in(
    make_nornir: Callable[..., Nornir], dask_address: str, lab_inventory: LabInventory
) -> None:
    nr, lab, hosts = make_nornir(), lab_inventory.lab, lab_inventory.hosts
    none_open = lambda: not any(lab.stats()[h].open for h in hosts)  # noqa: E731
    assert wait_for(none_open)  # the sessions of earlier tests are gone
    first = run_once(nr, dask_address, keep=0.5)
    # the workers close the idle sessions themselves: the devices see them go
    assert wait_for(none_open)
    middle = logins(lab)
    second = run_once(nr, dask_address, keep=0.5)
    assert not first.failed
    assert not second.failed
    assert new_logins(lab, middle, hosts) == dict.fromkeys(hosts, 1)


def test_a_kept_session_the_device_dropped_is_opened_again(
    dask_address: str, free_ports: Callable[..., list[int]]
) -> None:
    """The device cuts the session after its first command: the next run finds the kept
    session dead before using it, logs in again, and succeeds."""
    username, password = "keeper", "Keep-Lab-Pw-51c2"
    (port,) = free_ports(1)
    device = Device(
        name="dropper",
        address="127.0.0.1",
        port=port,
        username=username,
        password=password,
        fault=Fault.DROP_AFTER_FIRST_COMMAND,
    )
    host = Host(
        name="dropper",
        hostname="127.0.0.1",
        port=port,
        username=username,
        password=password,
        platform="cisco_ios",
        defaults=Defaults(),
    )
    inventory = Inventory(hosts=Hosts({"dropper": host}), groups=Groups(), defaults=Defaults())
    nr = Nornir(inventory=inventory)
    with Lab([device]) as lab:
        runner = FuturesRunner(
            num_workers=1,
            executor="dask",
            dask_address=dask_address,
            keep_sessions=300,
            host_key_checking="off",
        )
        try:
            nr.with_runner(runner).run(task=netmiko_send_command, command_string="show clock")
        finally:
            runner.close()
        assert wait_for(lambda: lab.stats()["dropper"].open == 0)  # the device cut it
        assert lab.stats()["dropper"].drops == 1
        runner = FuturesRunner(
            num_workers=1,
            executor="dask",
            dask_address=dask_address,
            keep_sessions=300,
            host_key_checking="off",
        )
        try:
            second = nr.with_runner(runner).run(
                task=netmiko_send_command, command_string="show clock", on_failed=True
            )
        finally:
            runner.close()
        assert not second.failed, second["dropper"][0].exception
        assert "UTC" in second["dropper"][0].result
        assert lab.stats()["dropper"].logins == 2
        with Client(dask_address, timeout=30) as client:
            client.run(close_on_worker)  # before its device stops


def wait_for(condition: Callable[[], bool], bound: float = 60.0) -> bool:
    """Poll ``condition`` until it holds (True) or ``bound`` seconds pass (False)."""
    deadline = time.monotonic() + bound
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
