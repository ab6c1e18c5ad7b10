"""`nrb inventory --graph / --list`: the selected hosts as ansible-inventory shows them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nornir.core.inventory import Inventory
from nornir.plugins.inventory.simple import SimpleInventory

from nornir_runbook.project.views import (
    GroupNode,
    graph_lines,
    host_vars,
    inventory_graph,
    inventory_graph_text,
    inventory_list,
)
from nornir_runbook.redact import MASK

GROUPS_YAML = """
emea: {data: {region: emea}}
ams: {groups: [emea], data: {site: ams}}
lon: {groups: [emea], data: {site: lon}}
core: {data: {role: core, tags: [core]}}
edge: {data: {role: edge}}
unused: {}
"""
DEFAULTS_YAML = """
username: admin
password: s3cret-pw
platform: cisco_ios
connection_options:
  netmiko: {password: conn-pw-123, extras: {secret: enable-pw-456}}
data: {tags: [default]}
"""
HOSTS_YAML = """
ams-core1:
  hostname: 127.0.0.1
  port: 2201
  groups: [ams, core]
  data: {api_token: tok-789, snmp: {community_secret: c0mm, location: AMS-1}, ntp: [192.0.2.1]}
ams-edge1: {hostname: 127.0.0.1, port: 2202, groups: [ams, edge]}
lon-core1: {hostname: 127.0.0.1, port: 2203, groups: [lon, core], data: {note: "pw s3cret-pw"}}
emea-rr1: {hostname: 127.0.0.1, port: 2204, groups: [emea]}
r9: {hostname: 10.0.0.9, port: 22, platform: cisco_xe}
"""
ALL_HOSTS = ["ams-core1", "ams-edge1", "lon-core1", "emea-rr1", "r9"]


@pytest.fixture(scope="module")
def inv(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    folder: Path = tmp_path_factory.mktemp("inventory")
    for name, text in (
        ("hosts.yaml", HOSTS_YAML),
        ("groups.yaml", GROUPS_YAML),
        ("defaults.yaml", DEFAULTS_YAML),
    ):
        (folder / name).write_text(text, encoding="utf-8")
    return SimpleInventory(
        host_file=str(folder / "hosts.yaml"),
        group_file=str(folder / "groups.yaml"),
        defaults_file=str(folder / "defaults.yaml"),
    ).load()


def test_graph_text_of_every_host(inv: Inventory) -> None:
    assert inventory_graph_text(inv, ALL_HOSTS) == "\n".join(
        [
            "@all:",
            "  |--@ungrouped:",
            "  |  |--r9",
            "  |--@emea:",
            "  |  |--@ams:",
            "  |  |  |--ams-core1",
            "  |  |  |--ams-edge1",
            "  |  |--@lon:",
            "  |  |  |--lon-core1",
            "  |  |--emea-rr1",
            "  |--@core:",
            "  |  |--ams-core1",
            "  |  |--lon-core1",
            "  |--@edge:",
            "  |  |--ams-edge1",
        ]
    )


def test_graph_shows_only_the_groups_that_lead_to_the_selection(inv: Inventory) -> None:
    # given out of order: the graph keeps inventory order; unknown names are ignored
    assert inventory_graph_text(inv, ["lon-core1", "nope", "ams-edge1"]) == "\n".join(
        [
            "@all:",
            "  |--@emea:",
            "  |  |--@ams:",
            "  |  |  |--ams-edge1",
            "  |  |--@lon:",
            "  |  |  |--lon-core1",
            "  |--@core:",
            "  |  |--lon-core1",
            "  |--@edge:",
            "  |  |--ams-edge1",
        ]
    )


def test_graph_of_nothing(inv: Inventory) -> None:
    assert inventory_graph(inv, []) == GroupNode(name="all")
    assert inventory_graph_text(inv, []) == "@all:"


def test_graph_as_data(inv: Inventory) -> None:
    assert inventory_graph(inv, ["ams-core1", "r9"]) == GroupNode(
        name="all",
        children=(
            GroupNode(name="ungrouped", hosts=("r9",)),
            GroupNode(name="emea", children=(GroupNode(name="ams", hosts=("ams-core1",)),)),
            GroupNode(name="core", hosts=("ams-core1",)),
        ),
    )


def test_graph_lines_below_a_group() -> None:
    node = GroupNode(name="core", children=(GroupNode(name="ams", hosts=("a1",)),), hosts=("c1",))
    assert graph_lines(node, depth=1) == [
        "  |--@core:",
        "  |  |--@ams:",
        "  |  |  |--a1",
        "  |  |--c1",
    ]


def test_list_shape(inv: Inventory) -> None:
    listing = inventory_list(inv, ["lon-core1", "r9"])
    assert listing == {
        "all": {"children": ["ungrouped", "emea", "core"]},
        "ungrouped": {"hosts": ["r9"]},
        "emea": {"children": ["lon"]},
        "lon": {"hosts": ["lon-core1"]},
        "core": {"hosts": ["lon-core1"]},
        "_meta": {
            "hostvars": {
                "lon-core1": {
                    "hostname": "127.0.0.1",
                    "port": 2203,
                    "platform": "cisco_ios",
                    "username": "admin",
                    "groups": ["lon", "core"],
                    "data": {
                        "note": f"pw {MASK}",  # an inventory password inside data is scrubbed
                        "site": "lon",
                        "region": "emea",
                        "role": "core",
                        "tags": ["core"],
                    },
                },
                "r9": {
                    "hostname": "10.0.0.9",
                    "port": 22,
                    "platform": "cisco_xe",
                    "username": "admin",
                    "groups": [],
                    "data": {"tags": ["default"]},
                },
            }
        },
    }
    assert list(listing) == ["all", "ungrouped", "emea", "lon", "core", "_meta"]


def test_list_names_a_group_once_under_every_parent(inv: Inventory) -> None:
    listing = inventory_list(inv, ALL_HOSTS)
    assert list(listing) == ["all", "ungrouped", "emea", "ams", "lon", "core", "edge", "_meta"]
    assert listing["emea"] == {"hosts": ["emea-rr1"], "children": ["ams", "lon"]}
    assert listing["ams"] == {"hosts": ["ams-core1", "ams-edge1"]}
    assert list(listing["_meta"]["hostvars"]) == ALL_HOSTS


def test_list_never_shows_a_secret(inv: Inventory) -> None:
    text = json.dumps(inventory_list(inv, ALL_HOSTS))
    for secret in ("s3cret-pw", "conn-pw-123", "enable-pw-456", "tok-789", "c0mm"):
        assert secret not in text
    assert "password" not in text
    assert "connection_options" not in text


def test_host_vars_masks_secret_looking_keys_at_any_depth(inv: Inventory) -> None:
    data = host_vars(inv.hosts["ams-core1"])["data"]
    assert data == {
        "api_token": MASK,
        "snmp": {"community_secret": MASK, "location": "AMS-1"},
        "ntp": ["192.0.2.1"],
        "site": "ams",
        "region": "emea",
        "tags": ["core"],  # from core: ams and emea have none
        "role": "core",
    }
