"""The inventory files through ``nrb``: read with libyaml as Nornir's SimpleInventory reads them
(YAML 1.2 values), and a file that cannot be read is an input error (exit 5) that names its file,
line and column, on every command that reads the project. No lab device is needed: nothing
connects."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_kit import Nrb, clean_env

pytestmark = pytest.mark.cli

CONFIG = """\
inventory:
  plugin: SimpleInventory
  options: {host_file: inventory/hosts.yaml, group_file: inventory/groups.yaml}
logging: {enabled: false}
"""
RUNBOOK = """\
name: Echo
steps:
  - name: Port
    task: echo
    args: {port: "{{ host.port }}"}
"""
GOOD = "r1:\n  hostname: 127.0.0.1\n  port: 0o26\n  groups: [core]\n  data: {flag: yes}\n"


def project(root: Path, hosts: str) -> tuple[Nrb, Path]:
    """A project in ``root`` with ``hosts`` as its hosts file; nrb there, and that file."""
    (root / "inventory").mkdir(parents=True)
    hosts_file = root / "inventory" / "hosts.yaml"
    hosts_file.write_text(hosts)
    (root / "inventory" / "groups.yaml").write_text("core:\n  platform: cisco_ios\n")
    (root / "config.yaml").write_text(CONFIG)
    (root / "runbook.yaml").write_text(RUNBOOK)
    return Nrb(config=root / "config.yaml", cwd=root, env=clean_env()), hosts_file


def test_values_are_read_as_simple_inventory_reads_them(tmp_path: Path) -> None:
    """YAML 1.2, as ruamel reads it for Nornir: 0o26 is the number 22, yes is a string."""
    nrb, _ = project(tmp_path, GOOD)

    listed = nrb.inventory("--list")
    ran = nrb.run("runbook.yaml", "--dry-run", "-o", "json")

    assert (listed.code, ran.code) == (0, 0), (listed, ran)
    assert listed.json()["_meta"]["hostvars"]["r1"]["port"] == 22
    assert listed.json()["_meta"]["hostvars"]["r1"]["data"]["flag"] == "yes"
    assert ran.json()["hosts"]["r1"]["steps"][0]["result"] == {"port": 22}


@pytest.mark.parametrize(
    ("hosts", "where", "message"),
    [
        (GOOD + "r1:\n  hostname: 127.0.0.2\n", "6:1", "invalid YAML: duplicate key 'r1'"),
        (GOOD + "r2:\n  port: !!int ''\n", "7:9", "invalid YAML: not a valid !!int value"),
        (GOOD + "r2:\n  hostname: [127.0.0.2\n  port: 22\n", "8:7", "invalid YAML: did not find"),
    ],
    ids=["duplicate host", "bad tagged value", "syntax"],
)
def test_a_hosts_file_that_cannot_be_read_is_a_located_input_error(
    tmp_path: Path, hosts: str, where: str, message: str
) -> None:
    nrb, hosts_file = project(tmp_path, hosts)

    for ran in (nrb.inventory("--list"), nrb.run("runbook.yaml", "--dry-run", "-o", "json")):
        assert (ran.code, ran.out) == (5, ""), ran
        assert ran.err.startswith(f"{hosts_file}:{where}: {message}"), ran
        assert "Traceback" not in ran.err
