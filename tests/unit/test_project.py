"""The project layer in-process: config.yaml and SimpleInventory files read by ``load_project``,
their settings and their problems, and host selection over what was loaded. No device, no
``nrb`` subprocess."""

from __future__ import annotations

import builtins
import io
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from nornir_runbook.errors import ConfigError, InventoryError
from nornir_runbook.project.config import Project, load_project
from nornir_runbook.project.selection import select_hosts

CONFIG = """\
inventory:
  plugin: SimpleInventory
  options:
    host_file: inventory/hosts.yaml
    group_file: inventory/groups.yaml
    defaults_file: inventory/defaults.yaml
runner:
  plugin: futures
  options:
    num_workers: 7
    task_timeout: 2.5
logging:
  enabled: false
user_defined:
  nornir_runbook:
    host_key_checking: off
    known_hosts: keys/known_hosts
"""

HOSTS = """\
r1:
  hostname: 127.0.0.1
  port: 2201
  groups: [ams]
r2:
  hostname: 127.0.0.1
  port: 2202
  groups: [fra]
  data:
    tags: [canary]
"""

GROUPS = """\
emea:
  data:
    region: emea
ams:
  groups: [emea]
fra:
  groups: [emea]
"""

DEFAULTS = """\
platform: cisco_ios
username: admin
password: s3cr3t-pw
"""


def write_project(
    root: Path,
    *,
    config: str = CONFIG,
    hosts: str = HOSTS,
    groups: str = GROUPS,
    defaults: str = DEFAULTS,
) -> Path:
    (root / "inventory").mkdir(parents=True)
    (root / "inventory" / "hosts.yaml").write_text(textwrap.dedent(hosts))
    (root / "inventory" / "groups.yaml").write_text(textwrap.dedent(groups))
    (root / "inventory" / "defaults.yaml").write_text(textwrap.dedent(defaults))
    config_file = root / "config.yaml"
    config_file.write_text(textwrap.dedent(config))
    return config_file


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory that is not the project's folder."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def test_the_inventory_files_are_read_relative_to_config_yaml(
    tmp_path: Path, elsewhere: Path
) -> None:
    project = load_project(write_project(tmp_path / "site"))

    assert isinstance(project, Project)
    assert project.directory == (tmp_path / "site").resolve()
    inventory = project.nr.inventory
    assert list(inventory.hosts) == ["r1", "r2"]
    r1 = inventory.hosts["r1"]
    assert (r1.hostname, r1.port, r1.platform, r1.username) == (
        "127.0.0.1",
        2201,
        "cisco_ios",
        "admin",
    )
    assert r1["region"] == "emea"  # through ams, from its parent group
    assert r1.password == "s3cr3t-pw"


def test_runner_options_and_host_key_settings_come_from_config_yaml(
    tmp_path: Path, elsewhere: Path
) -> None:
    project = load_project(write_project(tmp_path / "site"))

    assert project.runner_options == {"num_workers": 7, "task_timeout": 2.5}
    assert project.host_keys.mode == "off"  # YAML's unquoted off is false: read as "off"
    assert project.host_keys.known_hosts == str(tmp_path / "site" / "keys" / "known_hosts")


def test_selection_over_a_loaded_project(tmp_path: Path, elsewhere: Path) -> None:
    inventory = load_project(write_project(tmp_path / "site")).nr.inventory

    assert select_hosts(inventory, limit="emea") == ["r1", "r2"]
    assert select_hosts(inventory, limit="emea:!fra") == ["r1"]
    assert select_hosts(inventory, tags=["canary"]) == ["r2"]
    assert select_hosts(inventory, filters=["port=2201"]) == ["r1"]


def test_an_unknown_runner_option_is_a_config_error_with_a_suggestion(tmp_path: Path) -> None:
    config = CONFIG.replace("num_workers: 7", "num_wrokers: 7")

    with pytest.raises(ConfigError) as info:
        load_project(write_project(tmp_path, config=config))

    [problem] = info.value.problems
    assert problem.file == str(tmp_path / "config.yaml")
    assert problem.message == "unknown runner option 'num_wrokers' (did you mean 'num_workers'?)"


def test_a_bad_runner_option_value_names_the_expected_kind(tmp_path: Path) -> None:
    config = CONFIG.replace("task_timeout: 2.5", "task_timeout: -1")

    with pytest.raises(ConfigError) as info:
        load_project(write_project(tmp_path, config=config))

    [problem] = info.value.problems
    assert problem.message == "expected a number of seconds greater than 0, got -1"


def test_an_undefined_parent_group_is_an_inventory_error_with_a_suggestion(
    tmp_path: Path,
) -> None:
    hosts = HOSTS.replace("groups: [ams]", "groups: [asm]")

    with pytest.raises(InventoryError) as info:
        load_project(write_project(tmp_path, hosts=hosts))

    [problem] = info.value.problems
    assert problem.file is not None
    assert problem.file.endswith("hosts.yaml")
    assert problem.line == 4
    assert problem.message == "unknown group 'asm' (did you mean 'ams'?)"


def test_a_wrong_value_is_described_by_its_kind_never_by_its_text(tmp_path: Path) -> None:
    """A string where a number belongs may be a password typed in the wrong place."""
    hosts = HOSTS.replace("port: 2201", "port: hunter2-secret")

    with pytest.raises(InventoryError) as info:
        load_project(write_project(tmp_path, hosts=hosts))

    text = str(info.value)
    assert "expected a port number from 1 to 65535, got a string" in text
    assert "hunter2-secret" not in text.replace("port: hunter2-secret", "")


def test_each_inventory_file_is_read_once(
    tmp_path: Path, elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked and built from one reading: neither nrb's checks nor Nornir read them again."""
    config_file = write_project(tmp_path / "site")
    inventory = (tmp_path / "site" / "inventory").resolve()
    opened: Counter[str] = Counter()
    real_open = io.open

    def counting_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, str | Path) and Path(file).resolve().parent == inventory:
            opened[Path(file).name] += 1
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)  # what Nornir's plugins open with
    monkeypatch.setattr(io, "open", counting_open)  # what Path.read_text opens with

    project = load_project(config_file)

    assert opened == {"hosts.yaml": 1, "groups.yaml": 1, "defaults.yaml": 1}
    assert list(project.nr.inventory.hosts) == ["r1", "r2"]
    assert project.nr.inventory.hosts["r1"]["region"] == "emea"
