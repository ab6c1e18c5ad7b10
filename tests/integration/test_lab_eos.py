"""The lab's Arista EOS devices, over real SSH: Netmiko's ``arista_eos`` driver, Nornir, nrb.

Netmiko prepares an EOS session its own way (``terminal width 511`` until it reads ``Width set
to``, ``terminal length 0`` until ``Pagination disabled``, a config mode it checks by ``)#``),
so these tests drive the devices with that driver, as a user with an Arista switch would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from netmiko import BaseConnection, ConnectHandler
from nornir.core import Nornir
from nornir.core.filter import F
from nornir_netmiko.tasks import netmiko_save_config, netmiko_send_command, netmiko_send_config
from ntc_templates.parse import parse_output

from nornir_runbook.errors import LabError
from nornir_runbook.lab import Device, Lab
from nornir_runbook.lab.faults import Fault
from ports import pick_free_ports

if TYPE_CHECKING:
    from conftest import LabInventory

pytestmark = pytest.mark.integration

EOS = "arista_eos"
USERNAME, PASSWORD = "admin", "Eos-Lab-pw1"
SETTLE_TIMEOUT = 30.0
EOS_CLOCK = re.compile(
    r"^\w{3} \w{3} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4}\nTimezone: UTC\nClock source: "
)
MakeNornir = Callable[..., Nornir]
NRB = (sys.executable, "-m", "nornir_runbook")
NRB_TIMEOUT = 180  # seconds: a hung nrb fails its test instead of the session
# what the lab's EOS devices answer that ntc-templates 9.3 parses, with the records expected
PARSED = {
    "show version": 1,
    "show clock": 1,
    "show ip interface brief": 4,
    "show interfaces status": 6,
    "show interfaces": 8,
    "show interfaces description": 20,
    "show module": 12,
    "show environment temperature": 16,
    "show processes top once": 10,
    "show lldp neighbors": 4,
    "show ip route": 38,
    "show ip bgp summary": 4,
    "show vlan": 4,
    "show inventory": 13,
    "show hostname": 1,
}


def eos_device(name: str, port: int, fault: str | None = None) -> Device:
    return Device(
        name=name,
        address="127.0.0.1",
        port=port,
        username=USERNAME,
        password=PASSWORD,
        fault=fault,
        platform=EOS,
    )


def connect(port: int) -> BaseConnection:
    return ConnectHandler(
        device_type=EOS,
        host="127.0.0.1",
        port=port,
        username=USERNAME,
        password=PASSWORD,
        conn_timeout=10,
        banner_timeout=10,
        auth_timeout=10,
        read_timeout_override=20,
    )


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    """Two healthy EOS devices and one that drops its first session, in one child process."""
    ports = pick_free_ports(3)
    devices = [
        eos_device("spine-a", ports[0]),
        eos_device("spine-b", ports[1]),
        eos_device("spine-drop", ports[2], Fault.DROP_AFTER_FIRST_COMMAND),
    ]
    with Lab(devices, processes=1) as running:
        yield running


@pytest.fixture(scope="module")
def session(lab: Lab) -> Iterator[BaseConnection]:
    """A privileged Netmiko session to spine-a."""
    connection = connect(lab.devices[0].port)
    connection.enable()
    yield connection
    connection.disconnect()


# ---- Netmiko's arista_eos driver -------------------------------------------------------------


def test_netmiko_logs_in_and_prepares_the_session(lab: Lab) -> None:
    connection = connect(lab.devices[1].port)
    try:
        assert connection.base_prompt == "spine-b"
        assert connection.find_prompt() == "spine-b>"
        assert EOS_CLOCK.match(str(connection.send_command("show clock")))
        connection.enable()
        assert connection.find_prompt() == "spine-b#"
        assert connection.check_enable_mode()
    finally:
        connection.disconnect()


@pytest.mark.parametrize("command", list(PARSED))
def test_show_commands_answer_as_eos_and_ntc_templates_parse_them(
    command: str, session: BaseConnection
) -> None:
    output = str(session.send_command(command))

    records = parse_output(platform=EOS, command=command, data=output)

    assert len(records) == PARSED[command], output


def test_show_version_is_arista(session: BaseConnection) -> None:
    (version,) = parse_output(
        platform=EOS, command="show version", data=str(session.send_command("show version"))
    )

    assert version["model"] == "cEOSLab"
    assert version["image"].startswith("4.")


def test_unknown_command_is_rejected_as_eos_does(session: BaseConnection) -> None:
    assert str(session.send_command("show no-such-thing")).startswith("% Invalid input")


def test_config_set_enters_config_mode_and_shows_in_running_config(lab: Lab) -> None:
    tag = uuid.uuid4().hex[:8]
    lines = [f"ntp server 192.0.2.{int(tag, 16) % 250 + 1} prefer", f"snmp-server contact {tag}"]
    interface = ["interface Ethernet7", f"description uplink-{tag}", "mtu 9100"]
    connection = connect(lab.devices[0].port)
    try:
        connection.enable()

        pushed = str(connection.send_config_set([*lines, *interface]))
        saved = str(connection.save_config())
        running = str(connection.send_command("show running-config"))
    finally:
        connection.disconnect()
    other = connect(lab.devices[1].port)
    try:
        other.enable()
        elsewhere = str(other.send_command("show running-config"))
    finally:
        other.disconnect()

    assert f"spine-a(config)#{lines[0]}" in pushed
    assert f"spine-a(config-if)#description uplink-{tag}" in pushed
    assert pushed.rstrip().endswith("spine-a#")  # Netmiko left config mode with "end"
    assert "Copy completed successfully." in saved
    shown = running.splitlines()
    assert shown[0] == "! Command: show running-config"
    assert shown[-1] == "end"
    assert "hostname spine-a" in shown
    assert set(lines) <= set(shown)
    at = shown.index("interface Ethernet7")
    assert shown[at + 1 : at + 3] == [f"   description uplink-{tag}", "   mtu 9100"]
    assert f"uplink-{tag}" not in elsewhere  # each device keeps its own configuration
    assert "hostname spine-b" in elsewhere.splitlines()


def test_config_lines_edit_the_running_config_as_eos_config_mode_does(lab: Lab) -> None:
    tag = uuid.uuid4().hex[:8]
    lines = [
        "interface Ethernet1",  # a section of the canned config: edited in place
        f"description edge-{tag}",
        "no mtu 9200",
        "mtu 9200",
        "mtu 9200",  # already there once: not added twice
        "no shutdown",  # absent: accepted, nothing changes
        "exit",
        "no interface Loopback2",  # a section and its lines removed
        "interface Loopback9",  # a new section goes at the end
        f"description new-{tag}",
    ]
    connection = connect(lab.devices[1].port)
    try:
        connection.enable()
        pushed = str(connection.send_config_set(lines))
        shown = str(connection.send_command("show running-config")).splitlines()
    finally:
        connection.disconnect()

    assert "Invalid" not in pushed
    at = shown.index("interface Ethernet1")
    assert shown[at : at + 7] == [
        "interface Ethernet1",
        "   description Configured by NETCONF",
        "   no switchport",
        "   ip address 10.0.1.4/24",
        f"   description edge-{tag}",
        "   mtu 9200",
        "!",
    ]
    assert "interface Loopback2" not in shown
    assert "   description Lopback2 for Customer 27123" not in shown
    assert shown[-4:] == ["interface Loopback9", f"   description new-{tag}", "!", "end"]


def test_include_filter_works_on_eos_output(session: BaseConnection) -> None:
    output = str(session.send_command("show running-config | include ^hostname|^ntp server 1.1"))

    assert output.splitlines()[0] == "hostname spine-a"
    assert all(line.startswith(("hostname", "ntp server 1.1")) for line in output.splitlines())


def test_a_fault_works_on_an_eos_device(lab: Lab) -> None:
    first = connect(lab.devices[2].port)
    first.enable()

    assert str(first.send_command("show version")).startswith("Arista ")  # answered in full
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while (stats := lab.stats()["spine-drop"]).open and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (stats.drops, stats.commands, stats.open) == (1, 1, 0)  # then the session was cut
    second = connect(lab.devices[2].port)  # later sessions are healthy
    try:
        assert EOS_CLOCK.match(str(second.send_command("show clock")))
    finally:
        second.disconnect()


def test_a_platform_the_lab_does_not_serve_is_refused() -> None:
    with pytest.raises(LabError, match=r"host 'j1': platform 'juniper_junos' is not served"):
        Device(
            name="j1",
            address="127.0.0.1",
            port=4000,
            username="u",
            password="pw",
            platform="juniper_junos",
        )


# ---- Nornir, on the shipped inventory's EOS hosts ---------------------------------------------


def test_nornir_reaches_the_inventory_eos_hosts(
    make_nornir: MakeNornir, lab_inventory: LabInventory
) -> None:
    nr = make_nornir().filter(F(platform=EOS))
    tag = uuid.uuid4().hex[:8]
    spines = [h for h, p in lab_inventory.platforms.items() if p == EOS]
    target = spines[0]

    versions = nr.run(task=netmiko_send_command, command_string="show version", enable=True)
    pushed = nr.filter(name=target).run(
        task=netmiko_send_config, config_commands=[f"snmp-server location hall-{tag}"]
    )
    saved = nr.filter(name=target).run(task=netmiko_save_config)
    running = nr.run(task=netmiko_send_command, command_string="show running-config", enable=True)

    assert list(versions) == spines
    assert len(spines) >= 2
    assert [r.failed for r in (versions, pushed, saved, running)] == [False] * 4
    assert all(str(r[0].result).startswith("Arista cEOSLab") for r in versions.values())
    assert "Copy completed successfully." in str(saved[target][0].result)
    assert f"snmp-server location hall-{tag}" in str(running[target][0].result).splitlines()
    assert f"hall-{tag}" not in str(running[spines[1]][0].result)


# ---- nrb run --lab, over a copy of the shipped inventory --------------------------------------

MIXED_VENDOR = """\
name: Both vendors
steps:
  - name: Version
    commands: [show version]
  - name: Interfaces
    commands: [show ip interface brief]
  - name: NTP server
    config: ["ntp server 192.0.2.77"]
  - name: Verify
    commands: ["show running-config | include ^ntp server 192.0.2.77"]
  - name: Spines only
    targets: {filter: {platform: arista_eos}}
    commands: [show interfaces status]
"""


def test_nrb_run_lab_serves_ios_and_eos_hosts_of_the_inventory(
    lab_project_writer: Callable[..., LabInventory], tmp_path: Path
) -> None:
    project = lab_project_writer(tmp_path / "project")  # its devices are not running
    runbook = tmp_path / "mixed.yaml"
    runbook.write_text(MIXED_VENDOR)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NRB_")}

    ran = subprocess.run(
        [*NRB, "run", str(runbook), "-c", str(project.config_file), "--lab", "-o", "json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=NRB_TIMEOUT,
        check=False,
    )

    assert ran.returncode == 0, ran.stderr
    assert f"lab: starting {len(project.hosts)} fake devices" in ran.stderr
    hosts = json.loads(ran.stdout)["hosts"]
    assert list(hosts) == list(project.hosts)
    assert set(project.platforms.values()) == {"cisco_ios", EOS}
    for host, report in hosts.items():
        assert report["status"] == "ok", (host, report)
        steps = {step["name"]: step["result"] for step in report["steps"]}
        version = steps["Version"]["show version"]
        verify = steps["Verify"]["show running-config | include ^ntp server 192.0.2.77"]
        assert verify == "ntp server 192.0.2.77"
        if project.platforms[host] == EOS:
            assert version.startswith("Arista cEOSLab")
            assert "notconnect" in steps["Spines only"]["show interfaces status"]
        else:
            assert "Cisco IOS XE Software" in version
            assert "Spines only" not in steps
