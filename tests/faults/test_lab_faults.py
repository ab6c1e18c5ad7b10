"""The lab's fault modes and session counters, driven directly with Netmiko (no nrb)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fault_drill import LAB_PASSWORD, USERNAME, Spec, pick_free_ports, write_drill_project
from netmiko import BaseConnection, ConnectHandler
from netmiko.exceptions import NetmikoAuthenticationException

from nornir_runbook.errors import LabError
from nornir_runbook.lab import Device, Lab
from nornir_runbook.lab.faults import Fault, SessionStats

pytestmark = pytest.mark.integration

SETTLE_TIMEOUT = 30.0


def device(name: str, port: int, fault: str | None = None, **kw: float) -> Device:
    return Device(
        name=name,
        address="127.0.0.1",
        port=port,
        username=USERNAME,
        password=LAB_PASSWORD,
        fault=fault,
        **kw,
    )


def connect(port: int, password: str = LAB_PASSWORD) -> BaseConnection:
    return ConnectHandler(
        device_type="cisco_ios",
        host="127.0.0.1",
        port=port,
        username=USERNAME,
        password=password,
        conn_timeout=10,
        banner_timeout=10,
        auth_timeout=10,
        read_timeout_override=10,
    )


def settled(lab: Lab, name: str) -> SessionStats:
    """The device's stats once it has no session open (a bounded wait, for a loaded machine)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while (stats := lab.stats()[name]).open and time.monotonic() < deadline:
        time.sleep(0.05)
    return stats


def client_saw_the_close(connection: BaseConnection) -> bool:
    """Whether the client's transport noticed, within a bounded wait, that the device closed
    the session (its reader thread sees the end of the socket a moment after the device)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while connection.is_alive():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    """Served from this process's threads: the counters are read directly, not over a pipe."""
    ports = pick_free_ports(4)
    devices = [
        device("healthy", ports[0]),
        device("drop-once", ports[1], Fault.DROP_AFTER_FIRST_COMMAND),
        device("deny", ports[2], "drop_then_deny_login"),
        device("mid", ports[3], "drop_mid_output"),
    ]
    with Lab(devices, processes=0) as running:
        yield running


def port_of(lab: Lab, name: str) -> int:
    return next(d.port for d in lab.devices if d.name == name)


# -- devices and their settings ---------------------------------------------------------------


def test_fault_names_are_checked() -> None:
    with pytest.raises(LabError, match=r"host 'r1': unknown lab fault 'sloow' \(known: .*slow"):
        device("r1", 1, "sloow")
    with pytest.raises(LabError, match=r"host 'r1': fault_delay must be 0 or more"):
        device("r1", 1, "slow", fault_delay=-1)


def test_a_fault_given_as_enum_is_kept_as_its_name() -> None:
    made = device("r1", 1, Fault.NO_BANNER)

    assert made.fault == "no_banner"
    assert LAB_PASSWORD not in repr(made)


def test_devices_from_nornir_read_lab_fault_from_host_data(tmp_path: Path) -> None:
    project = write_drill_project(
        tmp_path,
        [
            Spec(name="a"),
            Spec(name="b", fault="slow", fault_delay=0.25),
            Spec(name="c", fault="no_prompt"),
            Spec(name="d", served=False),
        ],
    )

    found = {d.name: (d.fault, d.fault_delay) for d in project.devices}

    assert found == {"a": (None, 0.5), "b": ("slow", 0.25), "c": ("no_prompt", 0.5)}


def test_stats_of_a_stopped_lab_is_an_error() -> None:
    with pytest.raises(LabError, match="not running"):
        Lab([device("r1", pick_free_ports(1)[0])]).stats()


# -- sessions ------------------------------------------------------------------------------------


def test_healthy_session_is_counted_and_its_logout_seen(lab: Lab) -> None:
    before = lab.stats()["healthy"]
    conn = connect(port_of(lab, "healthy"))
    assert lab.stats()["healthy"].open == before.open + 1

    assert conn.find_prompt() == "healthy>"
    conn.disconnect()

    after = settled(lab, "healthy")
    assert after.open == 0
    assert (after.logins, after.client_closed) == (before.logins + 1, before.client_closed + 1)


def test_wrong_password_is_denied_and_counted(lab: Lab) -> None:
    before = lab.stats()["healthy"]

    with pytest.raises(NetmikoAuthenticationException):
        connect(port_of(lab, "healthy"), password="Not-" + LAB_PASSWORD)

    after = settled(lab, "healthy")
    assert (after.denied, after.logins) == (before.denied + 1, before.logins)


def test_drop_after_first_command_drops_once_then_serves(lab: Lab) -> None:
    port = port_of(lab, "drop-once")
    first = connect(port)
    first.enable()
    assert "drop-once uptime is" in str(first.send_command("show version"))  # answered in full
    assert settled(lab, "drop-once").drops == 1
    assert client_saw_the_close(first)

    second = connect(port)
    assert str(second.send_command("show clock")).startswith("*")
    assert str(second.send_command("show clock")).startswith("*")  # no drop this time
    second.disconnect()
    assert settled(lab, "drop-once") == SessionStats(
        connections=2, open=0, logins=2, denied=0, commands=3, client_closed=1, drops=1
    )


def test_drop_then_deny_login_refuses_the_next_login(lab: Lab) -> None:
    port = port_of(lab, "deny")
    connect(port).send_command("show clock")

    with pytest.raises(NetmikoAuthenticationException):
        connect(port)

    stats = settled(lab, "deny")
    assert (stats.logins, stats.denied, stats.drops) == (1, 1, 1)


def test_drop_mid_output_sends_half_then_closes(lab: Lab) -> None:
    conn = connect(port_of(lab, "mid"))
    conn.enable()
    assert str(conn.send_command("show clock")).startswith("*")  # one line: not cut

    conn.write_channel("show version\n")
    received = ""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while conn.is_alive() and time.monotonic() < deadline:
        received += conn.read_channel()
        time.sleep(0.05)
    received += conn.read_channel()

    assert "Cisco IOS XE Software" in received  # the first half came
    assert "Configuration register" not in received  # the last line did not
    assert not conn.is_alive()
    assert settled(lab, "mid").drops == 1


def test_slow_login_makes_set_ups_pile_up_and_the_lab_counts_them() -> None:
    """Served from a child process: the count comes over its pipe. One set-up, then three at
    once: each waits for its login answer while the others arrive."""
    ports = pick_free_ports(3)
    devices = [
        device(f"slow-{i}", port, "slow_login", fault_delay=1.0) for i, port in enumerate(ports)
    ]
    together = threading.Barrier(len(ports), timeout=SETTLE_TIMEOUT)

    def log_in(port: int) -> str:
        together.wait()
        session = connect(port)
        try:
            return str(session.find_prompt())
        finally:
            session.disconnect()

    with Lab(devices, processes=1) as lab:
        alone = connect(ports[0])
        alone.disconnect()
        peak_alone = lab.peak_setups()
        with ThreadPoolExecutor(len(ports)) as pool:
            prompts = list(pool.map(log_in, ports))
        peak = lab.peak_setups()
        logins = [stats.logins for stats in lab.stats().values()]

    assert peak_alone == 1
    assert prompts == ["slow-0>", "slow-1>", "slow-2>"]
    assert peak == len(ports)
    assert logins == [2, 1, 1]
