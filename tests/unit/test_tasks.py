"""Built-in tasks against a fake Netmiko connection: no network."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from nornir.core import Nornir
from nornir.core.inventory import Defaults, Groups, Host, Hosts, Inventory
from nornir.core.task import AggregatedResult
from nornir.plugins.runners import SerialRunner

from nornir_runbook.tasks import backup_config, echo, fail, send_commands, send_config

RUNNING_CONFIG = "hostname r1\n!\ninterface Gi0/1\n description uplink\n!\nend\n"


class FakeNetmiko:
    """Records what a task asks of a Netmiko connection; answers like a tiny IOS."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.running_config = RUNNING_CONFIG
        self.closed = False

    def send_command(self, command: str) -> str:
        self.calls.append(("send_command", command))
        if command == "show running-config":
            return self.running_config
        return f"output of {command}"

    def enable(self) -> str:
        self.calls.append(("enable", None))
        return ""

    def send_config_set(self, config_commands: list[str], **options: Any) -> str:
        self.calls.append(("send_config_set", list(config_commands)))
        return "config term\n" + "\n".join(config_commands) + "\nend"

    def disconnect(self) -> None:
        self.closed = True

    @property
    def remote_conn(self) -> Any:
        """The SSH channel, as far as the tasks look at it: open while not disconnected."""
        alive = not self.closed
        transport = type("Transport", (), {"is_active": lambda _self: alive})()
        return type(
            "Channel", (), {"closed": not alive, "get_transport": lambda _self: transport}
        )()


class FakePlugin:
    """Stands in for nornir_netmiko's connection plugin, already open."""

    def __init__(self, connection: FakeNetmiko) -> None:
        self.connection = connection

    def open(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("the task opened a new connection")

    def close(self) -> None:
        self.connection.disconnect()


@pytest.fixture
def device() -> FakeNetmiko:
    return FakeNetmiko()


@pytest.fixture
def nr(device: FakeNetmiko) -> Nornir:
    host = Host(name="r1", hostname="127.0.0.1", platform="cisco_ios", defaults=Defaults())
    host.connections["netmiko"] = FakePlugin(device)
    inventory = Inventory(hosts=Hosts(r1=host), groups=Groups(), defaults=Defaults())
    return Nornir(inventory=inventory, runner=SerialRunner())


def only(result: AggregatedResult) -> Any:
    multi = result["r1"]
    assert len(multi) == 1
    return multi[0]


def test_send_commands_maps_each_command_to_its_output(nr: Nornir, device: FakeNetmiko) -> None:
    result = only(nr.run(task=send_commands, commands=["show clock", "show version"]))
    assert (result.failed, result.changed) == (False, False)
    assert result.result == {
        "show clock": "output of show clock",
        "show version": "output of show version",
    }
    assert device.calls == [("send_command", "show clock"), ("send_command", "show version")]


def test_the_connection_is_reused_and_never_closed(nr: Nornir, device: FakeNetmiko) -> None:
    nr.run(task=send_commands, commands=["show clock"])
    nr.run(task=send_config, config=["ntp server 192.0.2.1"])
    assert not device.closed
    assert len(device.calls) == 4  # show clock; enable, show running-config, the set


def test_send_commands_takes_a_single_string_and_nothing(nr: Nornir, device: FakeNetmiko) -> None:
    assert only(nr.run(task=send_commands, commands="show clock")).result == {
        "show clock": "output of show clock"
    }
    assert only(nr.run(task=send_commands, commands=[])).result == {}
    assert device.calls == [("send_command", "show clock")]


def test_send_config_enables_reads_the_running_config_then_sends_what_it_lacks(
    nr: Nornir, device: FakeNetmiko
) -> None:
    result = only(nr.run(task=send_config, config=["ntp server 192.0.2.1", "hostname r1", "end"]))
    assert (result.failed, result.changed) == (False, True)
    assert result.result == ["ntp server 192.0.2.1"]
    assert device.calls == [
        ("enable", None),
        ("send_command", "show running-config"),
        ("send_config_set", ["ntp server 192.0.2.1"]),
    ]
    assert result.diff == ""  # not asked for


def test_send_config_of_lines_already_there_sends_nothing(nr: Nornir, device: FakeNetmiko) -> None:
    result = only(
        nr.run(
            task=send_config,
            config=["description uplink", "no shutdown"],
            parents="interface Gi0/1",
            diff=True,
        )
    )
    assert (result.failed, result.changed, result.result, result.diff) == (False, False, [], "")
    assert [name for name, _ in device.calls] == ["enable", "send_command"]


def test_send_config_fails_and_sends_nothing_when_the_running_config_is_refused(
    nr: Nornir, device: FakeNetmiko
) -> None:
    device.running_config = (
        "show running-config\n        ^\n% Invalid input detected at '^' marker."
    )

    result = only(nr.run(task=send_config, config=["ntp server 192.0.2.1"]))

    assert result.failed
    assert "'show running-config' rejected by the device: % Invalid input" in str(result.exception)
    assert "send_config_set" not in [name for name, _ in device.calls]


def test_send_config_with_no_lines_sends_nothing(nr: Nornir, device: FakeNetmiko) -> None:
    result = only(nr.run(task=send_config, config=[]))
    assert (result.failed, result.changed, result.result) == (False, False, [])
    assert device.calls == []


def test_send_config_splits_a_single_string_and_sends_under_the_section(
    nr: Nornir, device: FakeNetmiko
) -> None:
    result = only(nr.run(task=send_config, config="interface Gi0/1\n description x"))
    assert result.result == ["interface Gi0/1", "description x"]
    assert device.calls[-1] == ("send_config_set", ["interface Gi0/1", "description x"])


def test_send_config_check_sends_nothing_and_diffs_what_it_would_send(
    nr: Nornir, device: FakeNetmiko
) -> None:
    result = only(
        nr.run(
            task=send_config,
            config=["description core", "no description uplink"],
            parents=["interface Gi0/1"],
            check=True,
            diff=True,
        )
    )
    assert (result.failed, result.changed) == (False, True)
    assert result.result == ["interface Gi0/1", "description core", "no description uplink"]
    assert "send_config_set" not in [name for name, _ in device.calls]
    assert result.diff.splitlines() == [
        "--- before",
        "+++ after",
        "@@ -1,3 +1,3 @@",
        " hostname r1",
        " interface Gi0/1",
        "- description uplink",
        "+ description core",
    ]


def test_backup_config_writes_relative_to_the_cwd(
    nr: Nornir, device: FakeNetmiko, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = only(nr.run(task=backup_config, path="backups/site-a/r1.cfg"))
    target = tmp_path / "backups" / "site-a" / "r1.cfg"
    assert (result.failed, result.changed) == (False, True)
    assert result.result == {"path": "backups/site-a/r1.cfg", "bytes": len(RUNNING_CONFIG)}
    assert target.read_text() == RUNNING_CONFIG
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert device.calls == [("enable", None), ("send_command", "show running-config")]
    assert os.listdir(target.parent) == ["r1.cfg"]  # no temporary file left


def test_backup_config_changed_only_when_the_content_differs(
    nr: Nornir, device: FakeNetmiko, tmp_path: Path
) -> None:
    target = tmp_path / "r1.cfg"
    assert only(nr.run(task=backup_config, path=str(target))).changed is True
    mtime = target.stat().st_mtime_ns
    assert only(nr.run(task=backup_config, path=str(target))).changed is False
    assert target.stat().st_mtime_ns == mtime  # an identical file is left untouched
    device.running_config = RUNNING_CONFIG.replace("uplink", "core")
    assert only(nr.run(task=backup_config, path=str(target))).changed is True
    assert "description core" in target.read_text()


def test_backup_config_keeps_line_endings_exactly(
    nr: Nornir, device: FakeNetmiko, tmp_path: Path
) -> None:
    device.running_config = "hostname r1\r\nend\r\n"
    target = tmp_path / "r1.cfg"
    nr.run(task=backup_config, path=str(target))
    assert target.read_bytes() == b"hostname r1\r\nend\r\n"
    assert only(nr.run(task=backup_config, path=str(target))).changed is False


def test_backup_config_failure_leaves_no_temporary_file(
    nr: Nornir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(src: str, dst: str) -> None:
        raise PermissionError("read-only")

    monkeypatch.setattr(os, "replace", refuse)
    result = only(nr.run(task=backup_config, path=str(tmp_path / "r1.cfg")))
    assert result.failed is True
    assert isinstance(result.exception, PermissionError)
    assert os.listdir(tmp_path) == []


def test_echo_returns_its_arguments(nr: Nornir, device: FakeNetmiko) -> None:
    result = only(nr.run(task=echo, message="hi", n=[1, 2]))
    assert (result.failed, result.changed, result.result) == (
        False,
        False,
        {"message": "hi", "n": [1, 2]},
    )
    assert device.calls == []


def test_fail_fails_as_data(nr: Nornir) -> None:
    result = only(nr.run(task=fail, message="nope"))
    assert (result.failed, result.exception, result.result) == (True, None, "nope")
    assert only(nr.run(task=fail, on_failed=True)).result == "failed on purpose"


def test_a_rejected_command_fails_the_step(nr: Nornir, device: FakeNetmiko) -> None:
    def refuse(command: str) -> str:
        return "        ^\n% Invalid input detected at '^' marker.\n"

    device.send_command = refuse  # type: ignore[method-assign]
    result = only(nr.run(task=send_commands, commands=["show bogus"]))
    assert result.failed
    assert str(result.exception) == ("'show bogus' rejected by the device: % Invalid input")
