"""The configuration tree that config steps and the lab share (nornir_runbook.netconfig)."""

from __future__ import annotations

from nornir_runbook.netconfig import Change, candidate, commands, keystrokes, missing, parse

RUNNING = """\
Building configuration...

Current configuration : 1234 bytes
! Command: show running-config
hostname r1
!
interface Ethernet1
   description uplink
   shutdown
   !
!
router bgp 65000
   neighbor 192.0.2.1 remote-as 65001
   address-family ipv4
      neighbor 192.0.2.1 activate
!
no ip routing
end
"""


def test_parse_reads_sections_by_indentation_and_drops_comments_and_end() -> None:
    config = parse(RUNNING)

    assert [n.text for n in config.root.children] == [
        "hostname r1",
        "interface Ethernet1",
        "router bgp 65000",
        "no ip routing",
    ]
    bgp = config.section(["router bgp 65000", "address-family ipv4"])
    assert bgp is not None
    assert [n.text for n in bgp.children] == ["neighbor 192.0.2.1 activate"]
    assert config.indent == "   "
    assert config.render().splitlines()[4:7] == [
        "router bgp 65000",
        "   neighbor 192.0.2.1 remote-as 65001",
        "   address-family ipv4",
    ]


def test_apply_edits_a_section_adds_once_and_removes_with_no() -> None:
    config = parse(RUNNING)

    config.apply(["interface Ethernet1"], "description  core")
    config.apply(["interface Ethernet1"], "description core")
    config.apply(["interface Ethernet1"], "no shutdown")
    config.apply([], "no router bgp 65000")
    config.apply([], "no logging host 192.0.2.9")  # absent: nothing changes
    config.apply([], "ip routing")  # replaces its own negation
    config.apply(["interface Ethernet2"], "mtu 9000")  # a new section goes at the end

    assert config.render().splitlines() == [
        "hostname r1",
        "interface Ethernet1",
        "   description uplink",
        "   description core",
        "ip routing",
        "interface Ethernet2",
        "   mtu 9000",
    ]


def test_missing_lists_only_what_is_not_there_with_its_parents() -> None:
    running = parse(RUNNING)
    wanted = candidate(
        ["description uplink", "mtu 9000", "no shutdown", "no speed 100"],
        ["interface  Ethernet1"],
    )

    changes = missing(running, wanted)

    assert changes == [
        Change(("interface Ethernet1",), "mtu 9000"),
        Change(("interface Ethernet1",), "no shutdown"),
    ]
    assert commands(changes) == ["interface Ethernet1", "mtu 9000", "no shutdown"]
    assert missing(running.applied(changes), wanted) == []


def test_a_section_written_in_one_string_and_new_sections_are_sent_whole() -> None:
    running = parse(RUNNING)
    wanted = candidate(
        [
            "interface Ethernet9\n   description new\n   no shutdown",  # nothing to undo
            "router bgp 65000\n   address-family ipv4\n      neighbor 192.0.2.2 activate",
            "ntp server 192.0.2.1",
            "no ip routing",  # present as written: nothing to do
            "no interface Ethernet8",  # absent: a no-op
        ]
    )

    changes = missing(running, wanted)

    assert commands(changes) == [
        "interface Ethernet9",
        "description new",
        "router bgp 65000",
        "address-family ipv4",
        "neighbor 192.0.2.2 activate",
        "ntp server 192.0.2.1",
    ]
    assert keystrokes(changes) == [
        "interface Ethernet9",
        "description new",
        "exit",
        "router bgp 65000",
        "address-family ipv4",
        "neighbor 192.0.2.2 activate",
        "exit",
        "exit",
        "ntp server 192.0.2.1",
    ]


def test_a_no_line_is_missing_only_where_its_line_is_there() -> None:
    running = parse(RUNNING)

    there = missing(running, candidate(["no description uplink"], ["interface Ethernet1"]))
    absent_section = missing(running, candidate(["no shutdown"], ["interface Ethernet7"]))

    assert commands(there) == ["interface Ethernet1", "no description uplink"]
    assert absent_section == [Change((), "interface Ethernet7", opens=True)]


def test_lines_are_weighed_in_order_as_config_mode_applies_them() -> None:
    running = parse(RUNNING)
    wanted = candidate(["snmp-server location x", "no snmp-server location x", "no hostname r1"])

    changes = missing(running, wanted)

    assert commands(changes) == [
        "snmp-server location x",
        "no snmp-server location x",
        "no hostname r1",
    ]
    assert running.applied(changes).render() == running.render().replace("hostname r1\n", "")
