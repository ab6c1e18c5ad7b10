"""FastSimpleInventory against Nornir's own SimpleInventory, on the same files: the same
Inventory (every host, group and defaults attribute, the values inherited, the connection
options, the order), the same warnings, the same YAML values (ruamel's YAML 1.2, where pyyaml
reads YAML 1.1); errors located at file, line and column; usable from a plain Nornir config.yaml
by its entry point name."""

from __future__ import annotations

import logging
import math
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from nornir import InitNornir
from nornir.core.inventory import Inventory
from nornir.plugins.inventory.simple import SimpleInventory
from ruamel.yaml import YAML

from nornir_runbook.errors import InventoryError
from nornir_runbook.project import fastyaml
from nornir_runbook.project.simple import PLUGIN_NAME, FastSimpleInventory

SHIPPED = Path(__file__).resolve().parents[2] / "inventory"

# a site: three levels of groups, connection options and extras at every level, defaults with
# data, and the odd values of YAML (1.2 as ruamel reads them: `yes` and `1:20` are strings,
# `0o26` is 22, `1e3` a float), anchors, aliases and merge keys
SITE = {
    "defaults.yaml": """
        platform: cisco_ios
        username: admin
        password: "0777"
        port: 0x16
        connection_options:
          netmiko: {extras: {fast_cli: false, global_delay_factor: 2}}
          napalm: {platform: ios, extras: {optional_args: {transport: ssh}}}
        data:
          tags: [prod]
          domain: example.net
          ntp: [192.0.2.1, 192.0.2.2]
        """,
    "groups.yaml": """
        world:
          data: {scope: world, answer: 42}
          connection_options:
            netmiko: {port: 2222, extras: {conn_timeout: 30}}
        emea:
          groups: [world]
          username: emea-admin
          data: {region: emea, tz: +1}
        ams:
          groups: [emea]
          data: {site: ams, site_id: 1, opened: 2001-12-14}
        fra:
          groups: [emea, world]
          platform: cisco_xe
          data: {site: fra, mgmt_vrf: OOB}
        core:
          data: {role: core, bgp_asn: 64500}
          connection_options:
            napalm: {username: napalm-user, extras: null}
        edge:
          data: {role: edge, tags: [prod, pe]}
        empty: {}
        nothing:
        """.replace("nothing:", "nothing: {}"),
    "hosts.yaml": """
        ams-core-01:
          hostname: 192.0.2.11
          port: 0o26
          groups: [ams, core]
          data:
            <<: [&common {tags: [prod, core], domain: example.net}, {domain: other, x: 1}]
            serial: FTX0001
            common: *common
            booleans: [true, True, TRUE, false, yes, no, on, off, y, n]
            numbers: [0777, 0o17, 0x1F, 0b11, 1_000, +12, -0, 1e3, 1.5e-3, .5, 1., 6.02E+23]
            specials: [.inf, -.inf, .nan, .NaN, ~, null, Null, "", '', 1.2.3, 0x, 0o]
            sexagesimal: 1:20
            dates:  # ':' inside a plain scalar of a flow list: ruamel's older libyaml refuses it
              - 2001-12-14
              - 2001-12-14t21:59:43.10-05:00
              - 2002-12-14 21:59:43Z
              - 2001-1-1
            quoted: ["yes", '0777', "1e3", "null", !!str 12, !!int "34", !!float 1]
            text: |
              line one
                indented: two
            folded: >
              folded
              text
            unicode: "rø — 日本 \\u00e9 🙂"
            keys: {3: three, 2.5: two-and-half, true: y, null: nil, "=": eq, [a, b]: list}
            binary: !!binary aGVsbG8=
            set: !!set {x, y}
            omap: !!omap [{one: 1}, {two: 2}]
            pairs: !!pairs [{a: 1}, {a: 2}]
            nested: [{a: [1, {b: [2, [3, {c: 4}]]}]}, [[[]]], {}]
        ams-edge-01:
          hostname: 192.0.2.12
          groups: [ams, edge]
          connection_options:
            netmiko: {hostname: 198.51.100.1, port: 22, username: j, password: pw}
            ssh: {platform: ios, extras: {a: 1}}
        fra-edge-01:
          hostname: 192.0.2.21
          groups: [fra, edge, empty, nothing]
          data: {tags: [canary], shared: &shared {x: [1, 2]}, again: *shared}
        "rø-øst":
          groups: []
          data: null
        "12345": {}
        lonely:
          platform: linux
          username: root
          password: ""
        """,
}


def write(folder: Path, files: dict[str, str]) -> dict[str, str]:
    """``files`` (dedented) in ``folder``; SimpleInventory's options for them."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return {
        "host_file": str(folder / "hosts.yaml"),
        "group_file": str(folder / "groups.yaml"),
        "defaults_file": str(folder / "defaults.yaml"),
    }


def seen(inventory: Inventory) -> str:
    """Everything a user can read from ``inventory``, as text: its own values (types and order
    included), and what each host inherits (attributes, data, groups, connection parameters)."""
    hosts = inventory.hosts.values()
    attributes = ("hostname", "port", "username", "password", "platform")
    resolved = [
        (
            host.name,
            [getattr(host, key) for key in attributes],
            host.extended_data(),
            [group.name for group in host.extended_groups()],
            [host.get_connection_parameters(c).dict() for c in (None, "netmiko", "napalm")],
        )
        for host in hosts
    ]
    kinds = [type(inventory.hosts), *(type(h.groups) for h in hosts)]
    return repr((inventory.dict(), resolved, kinds))


def load_both(options: dict[str, str]) -> tuple[str, str]:
    return seen(SimpleInventory(**options).load()), seen(FastSimpleInventory(**options).load())


def test_the_shipped_inventory_is_the_same_inventory() -> None:
    options = {
        "host_file": str(SHIPPED / "hosts.yaml"),
        "group_file": str(SHIPPED / "groups.yaml"),
        "defaults_file": str(SHIPPED / "defaults.yaml"),
    }

    simple, fast = load_both(options)

    assert fast == simple
    assert "ams-core-01" in fast


def test_a_site_with_every_kind_of_value_is_the_same_inventory(tmp_path: Path) -> None:
    simple, fast = load_both(write(tmp_path, SITE))

    assert fast == simple
    host = FastSimpleInventory(**write(tmp_path, SITE)).load().hosts["ams-core-01"]
    assert host.port == 22  # 0o26: YAML 1.2's octal
    assert host.data["booleans"][4:] == ["yes", "no", "on", "off", "y", "n"]
    assert host.data["numbers"][0] == 777
    assert math.isnan(host.data["specials"][2])
    assert host["region"] == "emea"


@pytest.mark.parametrize(
    "missing",
    [("groups.yaml",), ("defaults.yaml",), ("groups.yaml", "defaults.yaml")],
)
def test_a_groups_or_defaults_file_that_is_not_there_is_skipped(
    tmp_path: Path, missing: tuple[str, ...]
) -> None:
    files = {**SITE, "hosts.yaml": "r1: {hostname: 192.0.2.1, data: {a: 1}}\n"}
    options = write(tmp_path, {k: v for k, v in files.items() if k not in missing})

    simple, fast = load_both(options)

    assert fast == simple


@pytest.mark.parametrize("empty", ["hosts.yaml", "groups.yaml", "defaults.yaml"])
def test_an_empty_file_is_an_empty_inventory_with_the_same_warning(
    tmp_path: Path, empty: str, caplog: pytest.LogCaptureFixture
) -> None:
    files = {**SITE, "hosts.yaml": "r1: {hostname: 192.0.2.1}\n"}
    options = write(tmp_path, {**files, empty: "# nothing here yet\n"})

    with caplog.at_level(logging.WARNING):
        simple = seen(SimpleInventory(**options).load())
        said_by_simple = [r.getMessage() for r in caplog.records]
        caplog.clear()
        fast = seen(FastSimpleInventory(**options).load())
        said_by_fast = [r.getMessage() for r in caplog.records]

    assert fast == simple
    assert said_by_fast == said_by_simple
    assert said_by_fast[0].startswith(f"'{tmp_path / empty}' is empty or contains only comments")


def test_the_plugin_works_from_a_plain_nornir_config_by_its_entry_point_name(
    tmp_path: Path,
) -> None:
    options = write(tmp_path / "inventory", SITE)
    config = tmp_path / "config.yaml"
    config.write_text(
        f"inventory:\n  plugin: {PLUGIN_NAME}\n  options:\n"
        + "".join(f"    {key}: {value}\n" for key, value in options.items())
        + "logging: {enabled: false}\n"
    )

    nr = InitNornir(config_file=str(config))

    assert type(nr.inventory) is Inventory
    assert seen(nr.inventory) == seen(SimpleInventory(**options).load())


def test_a_yaml_error_names_the_file_line_and_column(tmp_path: Path) -> None:
    options = write(tmp_path, {**SITE, "hosts.yaml": "r1:\n  hostname: [192.0.2.1\n  port: 22\n"})

    with pytest.raises(InventoryError) as raised:
        FastSimpleInventory(**options).load()

    [problem] = raised.value.problems
    assert (problem.file, problem.line, problem.column) == (options["host_file"], 3, 7)
    assert problem.message == "invalid YAML: did not find expected ',' or ']'"


@pytest.mark.parametrize(
    ("hosts", "line", "column", "message"),
    [
        ("r1: {}\nr2: {}\nr1: {port: 22}\n", 3, 1, "invalid YAML: duplicate key 'r1'"),
        ("r1:\n  password: !!int hunter2\n", 2, 13, "invalid YAML: not a valid !!int value"),
        ("r1:\n  port: !!int ''\n", 2, 9, "invalid YAML: not a valid !!int value"),
        ("r1: {data: *nowhere}\n", 1, 12, "invalid YAML: found undefined alias 'nowhere'"),
        ("r1: {data: !python/name:os.system x}\n", 1, 12, "invalid YAML: could not determine"),
    ],
)
def test_a_value_that_cannot_be_read_is_located_and_never_shown(
    tmp_path: Path, hosts: str, line: int, column: int, message: str
) -> None:
    options = write(tmp_path, {**SITE, "hosts.yaml": hosts})

    with pytest.raises(InventoryError) as raised:
        FastSimpleInventory(**options).load()

    [problem] = raised.value.problems
    assert (problem.line, problem.column) == (line, column)
    assert problem.message.startswith(message)
    assert "hunter2" not in str(raised.value)


def test_the_files_are_checked_as_nrb_checks_them(tmp_path: Path) -> None:
    """Where SimpleInventory ends in a KeyError, the plugin says which file, line and key."""
    hosts = "r1:\n  groups: [ams]\nr2:\n  groups: [amz]\n"
    options = write(tmp_path, {**SITE, "hosts.yaml": hosts})

    with pytest.raises(KeyError):
        SimpleInventory(**options).load()
    with pytest.raises(InventoryError) as raised:
        FastSimpleInventory(**options).load()

    assert str(raised.value) == (
        f"{options['host_file']}:4:12 r2.groups[0]: unknown group 'amz' (did you mean 'ams'?)"
    )


# plain scalars as YAML 1.2 reads them: what looks like a number, a date, a boolean or null
SCALARS = st.text(alphabet="0123456789+-._:eExXoObBtTrRuUfFaAlLsSnN~ ", min_size=1, max_size=12)


@settings(max_examples=400, deadline=None)
@given(SCALARS)
@example("-_")  # an integer to the resolver, not to int(): refused by both
@example("._")
def test_every_plain_scalar_has_ruamels_value(text: str) -> None:
    document = f"v: {text}\n"
    try:
        expected: Any = ("value", YAML(typ="safe").load(document))
    except Exception:  # noqa: BLE001 -- ruamel raises ValueError, KeyError, YAMLError...
        expected = ("refused",)
    try:
        got: Any = ("value", fastyaml.load(document))
    except fastyaml.yaml.YAMLError:
        got = ("refused",)

    assert repr(got) == repr(expected)
