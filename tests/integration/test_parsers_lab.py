"""The parsers over what the lab's IOS devices answer through Netmiko: which outputs
ntc-templates parses, which it cannot (and says why), and Genie and ttp on the same outputs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from netmiko import ConnectHandler

from nornir_runbook.runbook.parsers import ParseError, parse_output, read_template

if TYPE_CHECKING:
    from conftest import LabInventory

pytestmark = pytest.mark.integration

PLATFORM = "cisco_ios"
# (command, records ntc-templates finds in the lab's answer, a field, its value in the first)
PARSED = [
    ("show clock", 1, "timezone", "UTC"),
    ("show ip interface brief", 6, "interface", "Ethernet0/0"),
    ("show interfaces", 16, "interface", "FastEthernet1"),
    ("show interfaces description", 15, "port", "Vl1"),
    ("show ip route", 2, "network", "192.168.1.0"),
    ("show ip route summary", 9, "route_source", "connected"),
    ("show ip arp", 7, "ip_address", "172.16.233.229"),
    ("show cdp neighbors", 6, "neighbor_name", "R1-PBX"),
    ("show cdp neighbors detail", 3, "neighbor_name", "desktop-switch"),
    ("show lldp neighbors", 5, "neighbor_name", "S2"),
    ("show inventory", 4, "name", "3640 chassis"),
    ("show vlan", 8, "vlan_name", "default"),
    ("show ip bgp summary", 10, "bgp_neighbor", "10.0.0.1"),
    ("show ip bgp", 8, "network", "10.1.0.0/16"),
    ("show ip ospf neighbor", 3, "neighbor_id", "10.0.0.1"),
    ("show standby brief", 7, "interface", "Vl1"),
    ("show vrf", 3, "name", "OOB-MGMT"),
    ("show spanning-tree", 7, "vlan_id", "1"),
    ("show interfaces switchport", 2, "interface", "Te5/0/1"),
    ("show ipv6 interface brief", 77, "interface", "TenGigabitEthernet1/1"),
]
# the lab answers these in a shape their ntc-templates template rejects
NOT_FITTING = [
    ("show object-group", "cisco_ios_show_object-group.textfsm"),
    ("show vlans", "cisco_ios_show_vlans.textfsm"),
    ("show crypto ipsec sa detail", "cisco_ios_show_crypto_ipsec_sa_detail.textfsm"),
]
RUNNING_CONFIG_TTP = """\
<group name="interfaces">
interface {{ interface }}
 description {{ description | ORPHRASE }}
 ip address {{ ip }} {{ mask }}
 shutdown {{ disabled | set(True) }}
</group>
"""


@pytest.fixture(scope="module")
def lab_host(lab_inventory: LabInventory) -> str:
    return lab_inventory.hosts[0]


@pytest.fixture(scope="module")
def outputs(lab_inventory: LabInventory, lab_host: str) -> Iterator[dict[str, str]]:
    """The lab device's answer to every command these tests parse, over one Netmiko session."""
    commands = [
        *(c for c, *_ in PARSED),
        *(c for c, _ in NOT_FITTING),
        "show version",
        "show etherchannel summary",
        "show running-config",
    ]
    session = ConnectHandler(
        device_type=PLATFORM,
        host="127.0.0.1",
        port=lab_inventory.ports[lab_host],
        username=lab_inventory.username,
        password=lab_inventory.password,
    )
    try:
        session.enable()
        yield {command: session.send_command(command) for command in commands}
    finally:
        session.disconnect()


def textfsm(outputs: dict[str, str], command: str) -> list[dict[str, str]]:
    records: list[dict[str, str]] = parse_output(
        "textfsm", platform=PLATFORM, command=command, output=outputs[command]
    )
    return records


@pytest.mark.parametrize(("command", "count", "field", "first"), PARSED)
def test_ntc_templates_parse_the_labs_answer(
    outputs: dict[str, str], command: str, count: int, field: str, first: str
) -> None:
    records = textfsm(outputs, command)

    assert len(records) == count
    assert records[0][field].strip() == first


def test_interfaces_and_their_states(outputs: dict[str, str]) -> None:
    brief = textfsm(outputs, "show ip interface brief")
    interfaces = textfsm(outputs, "show interfaces")

    assert [(r["interface"], r["ip_address"], r["status"], r["proto"]) for r in brief] == [
        ("Ethernet0/0", "unassigned", "up", "up"),
        ("Ethernet0/0.11", "10.0.1.38", "up", "up"),
        ("Ethernet0/1", "1.1.1.1", "up", "up"),
        ("Ethernet0/2", "unassigned", "administratively down", "down"),
        ("Ethernet0/3", "unassigned", "administratively down", "down"),
        ("Loopback0", "10.0.1.2", "up", "up"),
    ]
    states = {r["interface"]: (r["link_status"], r["protocol_status"]) for r in interfaces}
    assert states["FastEthernet1"] == ("down", "down")
    assert states["TenGigabitEthernet1/1/1"] == ("up", "up (connected)")
    assert states["TenGigabitEthernet1/1/5"] == ("administratively down", "down (disabled)")


def test_show_version_and_clock_of_the_device(outputs: dict[str, str], lab_host: str) -> None:
    (version,) = textfsm(outputs, "show version")
    (clock,) = textfsm(outputs, "show clock")

    assert version["hostname"] == lab_host
    assert version["hardware"] == ["CSR1000V"]
    assert version["running_image"] == "packages.conf"
    assert clock["time"] in outputs["show clock"]
    assert clock["year"] in outputs["show clock"]


@pytest.mark.parametrize(("command", "template"), NOT_FITTING)
def test_an_answer_the_template_rejects_names_that_template(
    outputs: dict[str, str], command: str, template: str
) -> None:
    with pytest.raises(ParseError) as caught:
        textfsm(outputs, command)

    assert str(caught.value).startswith(f"textfsm template {template!r} does not fit the output: ")


def test_an_answer_with_no_record_in_it_is_empty(outputs: dict[str, str]) -> None:
    # the lab's etherchannel summary is tab-separated, which the template's columns never match
    assert "Po10" in outputs["show etherchannel summary"]
    assert textfsm(outputs, "show etherchannel summary") == []


def test_running_config_has_no_ntc_template(outputs: dict[str, str]) -> None:
    with pytest.raises(ParseError) as caught:
        textfsm(outputs, "show running-config")

    assert str(caught.value) == (
        "no textfsm template for platform 'cisco_ios' and command 'show running-config'"
    )


def test_ttp_reads_the_running_config_with_a_template_of_ones_own(
    outputs: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "interfaces.ttp"
    path.write_text(RUNNING_CONFIG_TTP)

    ((groups,),) = parse_output(
        "ttp",
        platform=PLATFORM,
        command="show running-config",
        output=outputs["show running-config"],
        template=read_template(path),
    )

    interfaces = {i["interface"]: i for i in groups["interfaces"]}
    assert interfaces["Loopback0"] == {
        "interface": "Loopback0",
        "description": "Routing Loopback",
        "ip": "10.0.0.10",
        "mask": "255.255.255.255",
    }
    assert interfaces["Ethernet0/3"]["disabled"] is True
    assert "disabled" not in interfaces["Ethernet0/1"]


def test_genie_agrees_with_ntc_templates_on_interface_states(outputs: dict[str, str]) -> None:
    command = "show ip interface brief"
    genie = parse_output("genie", platform=PLATFORM, command=command, output=outputs[command])

    by_textfsm = {r["interface"]: r["status"] for r in textfsm(outputs, command)}
    assert {name: i["status"] for name, i in genie["interface"].items()} == by_textfsm
