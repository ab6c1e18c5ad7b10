"""FuturesRunner over real SSH: Nornir + nornir_netmiko against the FakeNOS lab on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException
from nornir.core import Nornir
from nornir.core.inventory import ConnectionOptions
from nornir.core.task import Result, Task
from nornir_netmiko.tasks import netmiko_send_command, netmiko_send_config

from nornir_runbook import FuturesRunner, RunInterrupted
from nornir_runbook.runner.failures import connection_error

if TYPE_CHECKING:
    from conftest import LabInventory

pytestmark = pytest.mark.integration

# Netmiko gives up on a dead port or a silent device after this long, not its 15 s default
FAST_FAIL = {"conn_timeout": 3, "auth_timeout": 5, "banner_timeout": 5}


def _with_fast_fail(nr: Nornir) -> Nornir:
    for host in nr.inventory.hosts.values():
        host.connection_options["netmiko"] = ConnectionOptions(extras=dict(FAST_FAIL))
    return nr


def test_the_config_file_runner_is_futures(make_nornir: Callable[..., Nornir]) -> None:
    nr = make_nornir()
    assert isinstance(nr.runner, FuturesRunner)


def test_show_clock_and_show_version_on_every_host(
    make_nornir: Callable[..., Nornir], lab_inventory: LabInventory
) -> None:
    nr = make_nornir(num_workers=6)
    clock = nr.run(task=netmiko_send_command, command_string="show clock")
    version = nr.run(task=netmiko_send_command, command_string="show version", enable=True)

    assert list(clock) == list(lab_inventory.hosts)
    assert not clock.failed
    assert not version.failed
    vendor = {"cisco_ios": "Cisco IOS Software", "arista_eos": "Arista cEOSLab"}
    for name in lab_inventory.hosts:
        assert "UTC" in clock[name][0].result
        assert vendor[lab_inventory.platforms[name]] in version[name][0].result


def test_config_set_then_running_config_shows_it(make_nornir: Callable[..., Nornir]) -> None:
    nr = make_nornir(num_workers=6)
    pushed = nr.run(
        task=netmiko_send_config,
        config_commands=["ntp server 192.0.2.123", "logging host 192.0.2.55"],
    )
    assert not pushed.failed
    shown = nr.run(
        task=netmiko_send_command,
        command_string="show running-config | include 192.0.2",
        enable=True,
    )
    for multi in shown.values():
        assert "ntp server 192.0.2.123" in multi[0].result
        assert "logging host 192.0.2.55" in multi[0].result


def test_a_wrong_password_and_a_closed_port_fail_alone(
    make_nornir: Callable[..., Nornir],
    lab_inventory: LabInventory,
    free_ports: Callable[..., list[int]],
) -> None:
    nr = _with_fast_fail(make_nornir(num_workers=12))
    bad_password, closed_port = lab_inventory.hosts[1], lab_inventory.hosts[4]
    nr.inventory.hosts[bad_password].password = "not-the-password"
    nr.inventory.hosts[closed_port].port = free_ports(1)[0]

    result = nr.run(task=netmiko_send_command, command_string="show clock")

    assert set(result.failed_hosts) == {bad_password, closed_port}
    assert isinstance(connection_error(result[bad_password]), NetmikoAuthenticationException)
    assert isinstance(connection_error(result[closed_port]), NetmikoTimeoutException)
    assert "TCP connection to device failed" in str(result[closed_port][0].exception)
    ok = [h for h in lab_inventory.hosts if h not in (bad_password, closed_port)]
    assert all("UTC" in result[h][0].result for h in ok)


def test_retries_give_up_on_a_wrong_password_and_count_attempts(
    make_nornir: Callable[..., Nornir], lab_inventory: LabInventory
) -> None:
    nr = make_nornir(num_workers=4, retries=2, retry_backoff=0.01)
    bad = lab_inventory.hosts[0]
    nr.inventory.hosts[bad].password = "still-wrong"

    result = nr.run(task=netmiko_send_command, command_string="show clock")

    assert list(result.failed_hosts) == [bad]
    runner = nr.runner
    assert isinstance(runner, FuturesRunner)
    assert runner.last_run.attempts[bad] == 3
    assert runner.last_run.attempts[lab_inventory.hosts[1]] == 1


def test_one_session_per_host_when_two_threads_race(make_nornir: Callable[..., Nornir]) -> None:
    """nornir#325: two threads asking for one host's connection open it once."""
    nr = make_nornir(num_workers=2)
    host = next(iter(nr.inventory.hosts.values()))
    barrier = threading.Barrier(2, timeout=10)
    connections: list[object] = []

    def connect() -> None:
        barrier.wait()
        connections.append(host.get_connection("netmiko", nr.config))

    threads = [threading.Thread(target=connect) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(connections) == 2
    assert connections[0] is connections[1]


def test_ctrl_c_mid_run_keeps_every_finished_result(
    make_nornir: Callable[..., Nornir], lab_inventory: LabInventory
) -> None:
    """Three hosts finish over SSH, then Ctrl-C arrives while the others wait to start."""
    release = threading.Event()
    finished = threading.Semaphore(0)
    first = set(lab_inventory.hosts[:3])

    def clock_or_wait(task: Task) -> Result:
        if task.host.name not in first:
            release.wait(timeout=30)
            return Result(host=task.host, result="late")
        output = task.run(task=netmiko_send_command, command_string="show clock")
        return Result(host=task.host, result=output[0].result)

    def interrupt_after_three() -> None:
        for _ in range(3):
            finished.acquire(timeout=30)
        os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, delivered to the main thread

    nr = make_nornir(num_workers=4, grace_period=0.5)
    runner = nr.runner
    assert isinstance(runner, FuturesRunner)
    runner.on_result = lambda c: finished.release() if c.host in first else None
    watcher = threading.Thread(target=interrupt_after_three)
    watcher.start()
    try:
        with pytest.raises(RunInterrupted) as caught:
            nr.run(task=clock_or_wait)
    finally:
        release.set()
        watcher.join(timeout=30)

    done = caught.value.result
    assert first <= set(done)
    assert all("UTC" in done[h][0].result for h in first)
    assert not set(done) & set(caught.value.skipped)
    assert set(done) | set(caught.value.skipped) == set(lab_inventory.hosts)
    assert len(caught.value.skipped) >= len(lab_inventory.hosts) - 4
