"""SSH host keys and connection errors, over SSH to the lab with FuturesRunner (threads).

Every run here gives the runner a known_hosts file of its own (or a HOME of its own), so that
the wrong keys the tests write never reach the session's known_hosts.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nornir.core import Nornir
from nornir.core.inventory import ConnectionOptions
from nornir.core.task import AggregatedResult

from nornir_runbook import FuturesRunner
from nornir_runbook.errors import HostKeyError
from nornir_runbook.runner.failures import connection_error, describe_exception
from nornir_runbook.runner.hostkeys import lab_host_key
from nornir_runbook.runner.options import HostKeyChecking
from nornir_runbook.tasks.send_commands import send_commands

if TYPE_CHECKING:
    from conftest import LabInventory

pytestmark = pytest.mark.integration


def other_key() -> str:
    """A public key no lab device has: ``ssh-ed25519 AAAA...``."""
    public = Ed25519PrivateKey.generate().public_key()
    return public.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()


def lab_key() -> str:
    key = lab_host_key()
    return f"{key.get_name()} {key.get_base64()}"


def run(nr: Nornir, mode: str, known_hosts: Path | None = None) -> AggregatedResult:
    checking = HostKeyChecking(mode, str(known_hosts) if known_hosts else None)
    runner = FuturesRunner(num_workers=6, host_key_checking=checking)
    return nr.with_runner(runner).run(task=send_commands, commands=["show clock"], on_failed=True)


def error(result: AggregatedResult, host: str) -> str:
    exc = connection_error(result[host])
    assert exc is not None, result[host]
    return describe_exception(exc)


def logins(lab: LabInventory, host: str) -> int:
    stats = lab.lab.stats()[host]
    return stats.logins + stats.denied


def test_a_changed_key_is_refused_before_any_password_is_sent(
    make_nornir: Callable[..., Nornir], lab_inventory: LabInventory, tmp_path: Path
) -> None:
    victim, *others = lab_inventory.hosts
    port = lab_inventory.ports[victim]
    known = tmp_path / "known_hosts"
    wrong = f"[127.0.0.1]:{port} {other_key()}\n"
    known.write_text(wrong)
    before = logins(lab_inventory, victim)

    result = run(make_nornir(), "accept-new", known)

    assert list(result.failed_hosts) == [victim]
    assert isinstance(connection_error(result[victim]), HostKeyError)
    message = error(result, victim)
    assert message.startswith(f"host key changed: [127.0.0.1]:{port} sent ssh-ed25519 SHA256:")
    assert f"{known}:1" in message
    assert f"ssh-keygen -R '[127.0.0.1]:{port}' -f {known}" in message
    assert logins(lab_inventory, victim) == before  # refused before authentication
    lines = known.read_text().splitlines()
    assert lines[0] == wrong.strip()  # the changed key is not overwritten
    assert sorted(lines[1:]) == sorted(
        f"[127.0.0.1]:{lab_inventory.ports[h]} {lab_key()}" for h in others
    )


def test_accept_new_records_each_key_once_and_trusts_it_afterwards(
    make_nornir: Callable[..., Nornir], lab_inventory: LabInventory, tmp_path: Path
) -> None:
    known = tmp_path / "ssh" / "known_hosts"  # a folder that does not exist yet is made

    first = run(make_nornir(), "accept-new", known)
    recorded = known.read_text()
    second = run(make_nornir(), "strict", known)

    assert not first.failed
    assert not second.failed
    assert sorted(recorded.splitlines()) == sorted(
        f"[127.0.0.1]:{port} {lab_key()}" for port in lab_inventory.ports.values()
    )
    assert known.read_text() == recorded
    assert known.stat().st_mode & 0o777 == 0o600


def test_strict_refuses_an_unknown_key_before_any_password_is_sent(
    make_nornir: Callable[..., Nornir], lab_inventory: LabInventory, tmp_path: Path
) -> None:
    known = tmp_path / "known_hosts"
    host = lab_inventory.hosts[0]
    before = logins(lab_inventory, host)

    result = run(make_nornir(), "strict", known)

    assert set(result.failed_hosts) == set(lab_inventory.hosts)
    port = lab_inventory.ports[host]
    assert error(result, host).startswith(
        f"host key refused: [127.0.0.1]:{port} is not in {known} and host key checking is strict"
    )
    assert logins(lab_inventory, host) == before
    assert not known.exists()


def test_keys_openssh_wrote_hashed_are_trusted(
    make_nornir: Callable[..., Nornir], lab_inventory: LabInventory, tmp_path: Path
) -> None:
    """ssh-keyscan -H writes the hashed |1| entries OpenSSH writes with HashKnownHosts."""
    known = tmp_path / "known_hosts"
    lines = []
    for port in lab_inventory.ports.values():
        scanned = subprocess.run(
            ["ssh-keyscan", "-H", "-t", "ed25519", "-p", str(port), "127.0.0.1"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        lines.extend(line for line in scanned.splitlines() if line.startswith("|1|"))
    assert len(lines) == len(lab_inventory.hosts)
    known.write_text("# written by ssh-keyscan -H\n" + "\n".join(lines) + "\n")

    result = run(make_nornir(), "strict", known)

    assert not result.failed


def test_off_checks_nothing(
    make_nornir: Callable[..., Nornir], lab_inventory: LabInventory, tmp_path: Path
) -> None:
    known = tmp_path / "known_hosts"
    wrong = "".join(f"[127.0.0.1]:{p} {other_key()}\n" for p in lab_inventory.ports.values())
    known.write_text(wrong)

    result = run(make_nornir(), "off", known)

    assert not result.failed
    assert known.read_text() == wrong


def test_the_default_is_accept_new_on_the_users_known_hosts(
    make_nornir: Callable[..., Nornir],
    lab_inventory: LabInventory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The security review: a wrong key for [127.0.0.1]:PORT in ~/.ssh/known_hosts."""
    monkeypatch.setenv("HOME", str(tmp_path))
    victim = lab_inventory.hosts[1]
    known = tmp_path / ".ssh" / "known_hosts"
    known.parent.mkdir()
    known.write_text(f"[127.0.0.1]:{lab_inventory.ports[victim]} {other_key()}\n")
    nr = make_nornir(num_workers=6)  # FuturesRunner from config.yaml, no host key option

    result = nr.run(task=send_commands, commands=["show clock"], on_failed=True)

    assert list(result.failed_hosts) == [victim]
    assert "host key changed" in error(result, victim)
    assert len(known.read_text().splitlines()) == len(lab_inventory.hosts)


def test_a_refused_key_is_not_retried(
    make_nornir: Callable[..., Nornir], lab_inventory: LabInventory, tmp_path: Path
) -> None:
    victim = lab_inventory.hosts[0]
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{lab_inventory.ports[victim]} {other_key()}\n")
    checking = HostKeyChecking("accept-new", str(known))
    runner = FuturesRunner(num_workers=6, retries=2, retry_backoff=0.01, host_key_checking=checking)
    nr = make_nornir().filter(filter_func=lambda h: h.name == victim)

    result = nr.with_runner(runner).run(task=send_commands, commands=["show clock"])

    assert isinstance(connection_error(result[victim]), HostKeyError)
    assert runner.last_run.attempts[victim] == 1


# -- connection errors say what happened --------------------------------------------------


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts TCP connections (the kernel's backlog) and never says
    a word: an SSH client waits for the banner until its banner_timeout."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_connection_errors_name_the_address_the_port_and_the_cause(
    make_nornir: Callable[..., Nornir],
    lab_inventory: LabInventory,
    free_ports: Callable[..., list[int]],
    silent_port: int,
    tmp_path: Path,
) -> None:
    nr = make_nornir()
    refused, wrong_password, silent, ok = lab_inventory.hosts[:4]
    closed = free_ports(1)[0]
    hosts = nr.inventory.hosts
    hosts[refused].port = closed
    hosts[wrong_password].password = "not-the-password"
    hosts[silent].port = silent_port
    hosts[silent].connection_options["netmiko"] = ConnectionOptions(
        extras={"banner_timeout": 1, "conn_timeout": 5}
    )
    nr = nr.filter(filter_func=lambda h: h.name in (refused, wrong_password, silent, ok))

    result = run(nr, "accept-new", tmp_path / "known_hosts")

    assert set(result.failed_hosts) == {refused, wrong_password, silent}
    assert error(result, refused) == f"127.0.0.1:{closed}: connection refused"
    port = lab_inventory.ports[wrong_password]
    assert error(result, wrong_password) == (
        f"127.0.0.1:{port}: authentication failed for user "
        f"'{lab_inventory.username}' (Authentication failed.)"
    )
    assert error(result, silent).startswith(
        f"127.0.0.1:{silent_port}: timed out waiting for the SSH banner"
    )
