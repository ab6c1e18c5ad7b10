"""The lab's fake IOS devices (and what every lab device shares), over real SSH through Netmiko
and Nornir; EOS devices have tests of their own in test_lab_eos.py."""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from netmiko import BaseConnection, ConnectHandler
from netmiko.exceptions import NetmikoAuthenticationException
from nornir.core import Nornir
from nornir.core.task import AggregatedResult
from nornir_netmiko.tasks import netmiko_save_config, netmiko_send_command, netmiko_send_config
from ntc_templates.parse import parse_output

from nornir_runbook.errors import LabError
from nornir_runbook.lab import Device, Lab, check_port_free, devices_from_nornir

if TYPE_CHECKING:
    from conftest import LabInventory

pytestmark = pytest.mark.integration

CLOCK = re.compile(r"^\*\d{2}:\d{2}:\d{2}\.\d{3} \S+ \w{3} \w{3} \d{2} \d{4}$")
EOS_CLOCK = re.compile(
    r"^\w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} \d{4}\nTimezone: UTC\nClock source: local$"
)
MakeNornir = Callable[..., Nornir]
# what the lab's IOS devices answer that ntc-templates 9.3 parses, with the records expected;
# those from "show boot" on are mended (FakeNOS's text has lines a YAML fold pushed right)
PARSED = {
    "show version": 1,
    "show clock": 1,
    "show ip interface brief": 6,
    "show interfaces": 16,
    "show interfaces description": 15,
    "show ip route summary": 9,
    "show ip bgp summary": 10,
    "show ip ospf neighbor": 3,
    "show inventory": 4,
    "show cdp neighbors": 6,
    "show lldp neighbors": 5,
    "show vlan": 8,
    "show boot": 1,
    "show crypto session detail": 3,
    "show dot1x all": 1,
    "show environment temperature": 2,
    "show interfaces status": 16,
    "show ip access-lists": 87,
    "show ip eigrp topology": 11,
    "show ip source binding": 3,
    "show license": 10,
    "show snmp user": 3,
}
FreePorts = Callable[[int], list[int]]


def outputs(result: AggregatedResult) -> dict[str, str]:
    """Each host's output, after asserting that no host failed (showing why if one did)."""
    failed = {host: str(r.exception or r[0].result) for host, r in result.items() if r.failed}
    assert not failed
    return {host: str(r[0].result) for host, r in result.items()}


def device(name: str = "r1", address: str = "127.0.0.1", port: int = 1) -> Device:
    return Device(name=name, address=address, port=port, username="u", password="Sekrit-99")


# ---- over SSH, on the session lab ----------------------------------------------------------


@pytest.fixture(scope="module")
def ios_session(lab_inventory: LabInventory) -> Iterator[BaseConnection]:
    """A privileged Netmiko session to the lab's first host (IOS)."""
    name = lab_inventory.hosts[0]
    assert lab_inventory.platforms[name] == "cisco_ios"
    connection = ConnectHandler(
        device_type="cisco_ios",
        host="127.0.0.1",
        port=lab_inventory.ports[name],
        username=lab_inventory.username,
        password=lab_inventory.password,
    )
    connection.enable()
    yield connection
    connection.disconnect()


@pytest.mark.parametrize("command", list(PARSED))
def test_show_commands_parse_with_ntc_templates(command: str, ios_session: BaseConnection) -> None:
    output = str(ios_session.send_command(command))

    records = parse_output(platform="cisco_ios", command=command, data=output)

    assert len(records) == PARSED[command], output


def test_show_clock_answers_on_every_host(
    make_nornir: MakeNornir, lab_inventory: LabInventory
) -> None:
    nr = make_nornir()

    result = nr.run(task=netmiko_send_command, command_string="show clock")

    clocks = outputs(result)
    assert list(clocks) == list(lab_inventory.hosts)
    formats = {"cisco_ios": CLOCK, "arista_eos": EOS_CLOCK}
    assert set(lab_inventory.platforms.values()) == set(formats)
    assert all(formats[lab_inventory.platforms[h]].match(c) for h, c in clocks.items()), clocks
    host = nr.inventory.hosts[lab_inventory.hosts[0]]
    assert host.get_connection("netmiko", nr.config).base_prompt == host.name


def test_show_version_needs_enable(make_nornir: MakeNornir, lab_inventory: LabInventory) -> None:
    nr = make_nornir().filter(name=lab_inventory.hosts[1])

    user_mode = outputs(nr.run(task=netmiko_send_command, command_string="show version"))
    enabled = outputs(nr.run(task=netmiko_send_command, command_string="show version", enable=True))

    assert "% Invalid input" in user_mode[lab_inventory.hosts[1]]
    version = enabled[lab_inventory.hosts[1]]
    assert "Cisco IOS XE Software" in version
    assert f"{lab_inventory.hosts[1]} uptime is" in version


def test_config_push_shows_in_that_devices_running_config(
    make_nornir: MakeNornir, lab_inventory: LabInventory
) -> None:
    target, other = lab_inventory.hosts[2], lab_inventory.hosts[3]
    location = f"snmp-server location rack-{uuid.uuid4().hex[:8]}"
    description = f"description uplink-{uuid.uuid4().hex[:8]}"
    nr = make_nornir()

    pushed = outputs(
        nr.filter(name=target).run(
            task=netmiko_send_config,
            config_commands=[location, "interface GigabitEthernet0/9", description, "exit"],
        )
    )
    saved = outputs(nr.filter(name=target).run(task=netmiko_save_config))
    running = outputs(
        nr.filter(filter_func=lambda host: host.name in (target, other)).run(
            task=netmiko_send_command, command_string="show running-config", enable=True
        )
    )

    assert f"{target}(config)#{location}" in pushed[target]
    assert f"{target}(config-if)#{description}" in pushed[target]
    assert "[OK]" in saved[target]
    lines = running[target].splitlines()
    assert lines[-1] == "end"
    assert location in lines
    assert lines[lines.index("interface GigabitEthernet0/9") + 1] == f" {description}"
    assert location not in running[other]
    assert f"hostname {other}" in running[other].splitlines()


def test_config_lines_edit_the_running_config_as_config_mode_does(
    make_nornir: MakeNornir, lab_inventory: LabInventory
) -> None:
    target = lab_inventory.hosts[4]
    tag = uuid.uuid4().hex[:8]
    nr = make_nornir().filter(name=target)
    lines = [
        "interface Ethernet0/1",  # a section of the canned config: edited in place
        f"description edge-{tag}",
        "no duplex auto",
        "exit",
        "interface Ethernet0/1",
        f"description edge-{tag}",  # already there: not added twice
        "exit",
        "no interface Loopback100",  # a section and its lines removed
        "no logging host 9.9.9.9",  # absent: accepted, nothing changes
        "ntp server 8.8.8.8",  # already there
        f"snmp-server contact {tag}",
    ]

    pushed = outputs(nr.run(task=netmiko_send_config, config_commands=lines))
    running = outputs(
        nr.run(task=netmiko_send_command, command_string="show running-config", enable=True)
    )

    assert "Invalid" not in pushed[target]
    shown = running[target].splitlines()
    at = shown.index("interface Ethernet0/1")
    assert shown[at : at + 4] == [
        "interface Ethernet0/1",
        " no ip address",
        f" description edge-{tag}",
        "!",
    ]
    assert shown.count("interface Ethernet0/1") == 1
    assert "interface Loopback100" not in shown
    assert " ip address 1.1.1.100 255.255.255.255" not in shown
    assert shown.count("ntp server 8.8.8.8") == 1
    assert shown[-2:] == [f"snmp-server contact {tag}", "end"]  # a new line goes at the end


def test_wrong_password_is_refused(lab_inventory: LabInventory) -> None:
    with pytest.raises(NetmikoAuthenticationException):
        ConnectHandler(
            device_type="cisco_ios",
            host="127.0.0.1",
            port=lab_inventory.ports[lab_inventory.hosts[0]],
            username=lab_inventory.username,
            password=lab_inventory.password + "x",
        )


def test_devices_come_from_the_resolved_inventory(
    make_nornir: MakeNornir, lab_inventory: LabInventory
) -> None:
    nr = make_nornir()

    devices = devices_from_nornir(nr)
    picked = devices_from_nornir(nr, hosts=[lab_inventory.hosts[5], lab_inventory.hosts[0]])

    assert [d.name for d in devices] == list(lab_inventory.hosts)
    assert {d.name: d.port for d in devices} == lab_inventory.ports
    assert {(d.address, d.username, d.password) for d in devices} == {
        ("127.0.0.1", lab_inventory.username, lab_inventory.password)
    }
    assert [d.name for d in picked] == [lab_inventory.hosts[0], lab_inventory.hosts[5]]
    assert lab_inventory.password not in repr(devices)


def test_a_second_lab_on_busy_ports_is_refused(lab_inventory: LabInventory) -> None:
    with pytest.raises(LabError, match=rf"{lab_inventory.hosts[0]}.*already in use"):
        Lab(lab_inventory.lab.devices).start()


# ---- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize("reuse_port", [False, True], ids=["plain", "SO_REUSEPORT"])
def test_port_already_listening_is_refused(reuse_port: bool, free_ports: FreePorts) -> None:
    with socket.socket() as busy:
        if reuse_port:  # what FakeNOS itself sets: a second server would silently share the port
            busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        (free,) = free_ports(1)
        lab = Lab([device("r1", port=free), device("r2", port=port)])

        with pytest.raises(LabError) as caught:
            lab.start()

    assert str(caught.value) == f"host 'r2': cannot serve 127.0.0.1:{port}: already in use"
    check_port_free(device("r1", port=free))  # nothing was left running


def test_child_process_errors_reach_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("nornir_runbook.lab.check_port_free", lambda device: None)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        with pytest.raises(LabError, match=rf"host 'r1': cannot serve 127.0.0.1:{port}"):
            Lab([device("r1", port=port)], processes=1).start()


@pytest.mark.parametrize("address", ["192.0.2.1", "0.0.0.0", "localhost", "::", "lab.example"])
def test_non_loopback_address_is_refused(address: str) -> None:
    with pytest.raises(LabError, match=r"host 'r1': .* is not a loopback IP address"):
        device(address=address)


@pytest.mark.parametrize("address", ["127.0.0.1", "127.1.2.3", "::1"])
def test_loopback_addresses_are_accepted(address: str) -> None:
    assert device(address=address).address == address


def test_non_loopback_host_in_inventory_is_refused(
    make_nornir: MakeNornir, lab_inventory: LabInventory
) -> None:
    nr = make_nornir()
    nr.inventory.hosts[lab_inventory.hosts[4]].hostname = "192.0.2.44"

    with pytest.raises(LabError, match=rf"host '{lab_inventory.hosts[4]}': '192.0.2.44' is not"):
        devices_from_nornir(nr)


def test_duplicate_address_and_port_is_refused() -> None:
    with pytest.raises(LabError, match=r"hosts 'r1' and 'r2' both use 127.0.0.1:4000"):
        Lab([device("r1", port=4000), device("r2", port=4000), device("r3", port=4001)])


def test_password_stays_out_of_reprs_and_errors() -> None:
    with pytest.raises(LabError) as caught:
        device(address="192.0.2.1")

    assert "Sekrit-99" not in repr(device()) + str(caught.value)


def test_process_count_follows_the_number_of_devices() -> None:
    devices = [device(f"r{i}", port=4000 + i) for i in range(120)]

    assert Lab(devices[:12]).processes == 1
    assert Lab(devices).processes in (1, 2, 3)  # ceil(120 / 50), at most one per CPU
    assert Lab(devices, processes=0).processes == 0
    assert Lab(devices[:2], processes=8).processes == 2


# ---- start and stop ------------------------------------------------------------------------


@pytest.mark.parametrize("processes", [0, 1, 2], ids=["in-process", "1-child", "2-children"])
def test_lab_stops_cleanly_with_sessions_open(processes: int, free_ports: FreePorts) -> None:
    devices = [
        Device(name=f"s{i}", address="127.0.0.1", port=port, username="admin", password="pw-Lab-1")
        for i, port in enumerate(free_ports(3))
    ]
    lab = Lab(devices, processes=processes)
    with lab:
        session = ConnectHandler(
            device_type="cisco_ios",
            host="127.0.0.1",
            port=devices[2].port,
            username="admin",
            password="pw-Lab-1",
        )
        assert session.base_prompt == "s2"

    for dev in devices:
        check_port_free(dev)  # raises if anything still listens
        with (
            pytest.raises(ConnectionRefusedError),
            socket.create_connection((dev.address, dev.port), timeout=2),
        ):
            pass
    session.remote_conn_pre.close()  # Netmiko's disconnect() would wait for the gone device
    lab.stop()  # a second stop does nothing
