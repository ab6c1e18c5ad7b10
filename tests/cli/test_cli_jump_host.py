"""``nrb run`` through a jump host: a real OpenSSH server (Debian's ``openssh-server``) on
127.0.0.1 as the bastion in front of the lab, key authentication to it, and an ssh_config file
with ``ProxyJump`` given to a host through its Netmiko connection options (``ssh_config_file``).

The bastion runs from a folder of its own: its sshd_config, host key, authorized_keys and pid
file, on a free port; never the system's configuration or port 22.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_kit import MakeProject, Nrb, WriteRunbook

pytestmark = pytest.mark.cli

SSHD = Path("/usr/sbin/sshd")
READY_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Bastion:
    port: int
    folder: Path
    client_key: Path  # the private key the bastion accepts
    known_hosts: Path  # the bastion's own host key, for the ssh client that jumps through it
    log: Path  # sshd's output (-e), at LogLevel DEBUG1

    def ssh_config(self, path: Path, target: str, identity: Path | None = None) -> Path:
        """An ssh_config sending ``target`` through the bastion (ProxyJump)."""
        path.write_text(
            f"Host bastion\n"
            f"    HostName 127.0.0.1\n"
            f"    Port {self.port}\n"
            f"    User {getpass.getuser()}\n"
            f"    IdentityFile {identity or self.client_key}\n"
            f"    IdentitiesOnly yes\n"
            f"    UserKnownHostsFile {self.known_hosts}\n"
            f"    GlobalKnownHostsFile /dev/null\n"
            f"    StrictHostKeyChecking yes\n"
            f"    BatchMode yes\n"
            f"\n"
            f"Host {target}\n"
            f"    ProxyJump bastion\n"
        )
        return path


def keygen(path: Path) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "nrb-test", "-f", str(path)],
        check=True,
        timeout=60,
    )
    return path


def wait_for_banner(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if proc.poll() is not None:
            pytest.fail(f"sshd exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                if sock.recv(64).startswith(b"SSH-2.0"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"sshd did not answer on 127.0.0.1:{port}: {log.read_text()[-2000:]}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def bastion(
    tmp_path_factory: pytest.TempPathFactory, free_ports: Callable[..., list[int]]
) -> Iterator[Bastion]:
    if not SSHD.exists() or shutil.which("ssh") is None:
        pytest.fail(
            f"the jump host tests need OpenSSH's server at {SSHD} and its client `ssh`: "
            "apt-get install -y openssh-server"
        )
    folder = tmp_path_factory.mktemp("bastion")
    host_key = keygen(folder / "host_key")
    client_key = keygen(folder / "client_key")
    (folder / "authorized_keys").write_text(Path(f"{client_key}.pub").read_text())
    port = free_ports(1)[0]
    known_hosts = folder / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {Path(f'{host_key}.pub').read_text()}")
    config = folder / "sshd_config"
    config.write_text(
        f"ListenAddress 127.0.0.1:{port}\n"
        f"HostKey {host_key}\n"
        f"PidFile {folder / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\n"
        "PubkeyAuthentication yes\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "UsePAM no\n"
        "StrictModes no\n"  # the temporary folders are not the user's home
        "AllowTcpForwarding yes\n"
        "PermitRootLogin prohibit-password\n"
        "LogLevel DEBUG1\n"
    )
    if os.geteuid() == 0:  # sshd started as root wants its privilege separation folder
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    log = folder / "sshd.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for_banner(port, proc, log)
        yield Bastion(port, folder, client_key, known_hosts, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def through(config: Path, host: str, ssh_config: Path) -> None:
    """``host`` connects with ``ssh_config_file`` in its Netmiko connection options."""
    hosts_file = config.parent / "inventory" / "hosts.yaml"
    hosts: dict[str, Any] = yaml.safe_load(hosts_file.read_text())
    hosts[host]["connection_options"] = {
        "netmiko": {"extras": {"ssh_config_file": str(ssh_config), "banner_timeout": 20}}
    }
    hosts_file.write_text(yaml.safe_dump(hosts, sort_keys=False))


def port_of(config: Path, host: str) -> int:
    hosts = yaml.safe_load((config.parent / "inventory" / "hosts.yaml").read_text())
    port: int = hosts[host]["port"]
    return port


CLOCK = """
    name: Clock
    steps:
      - {name: Clock, commands: [show clock]}
    """


def test_a_lab_device_through_a_jump_host(
    nrb: Nrb,
    write_runbook: WriteRunbook,
    make_project: MakeProject,
    bastion: Bastion,
    tmp_path: Path,
) -> None:
    config = make_project()
    host = "fra-core-01"
    port = port_of(config, host)
    through(config, host, bastion.ssh_config(tmp_path / "ssh_config", "127.0.0.1"))
    forwarded = f"target 127.0.0.1 port {port}"
    assert forwarded not in bastion.log.read_text()

    ran = nrb.run(write_runbook(CLOCK), "-c", config, "-l", host, "-o", "json")

    assert ran.code == 0, ran
    assert "UTC" in ran.json()["hosts"][host]["steps"][0]["result"]["show clock"]
    log = bastion.log.read_text()
    assert f"Accepted publickey for {getpass.getuser()}" in log
    assert forwarded in log  # the session to the device went through the bastion


def test_a_jump_host_that_refuses_our_key_says_so(
    nrb: Nrb,
    write_runbook: WriteRunbook,
    make_project: MakeProject,
    bastion: Bastion,
    tmp_path: Path,
) -> None:
    config = make_project()
    host = "fra-core-02"
    stranger = keygen(tmp_path / "not_authorized")
    through(config, host, bastion.ssh_config(tmp_path / "ssh_config", "127.0.0.1", stranger))

    ran = nrb.run(write_runbook(CLOCK), "-c", config, "-l", host, "-o", "json")

    assert ran.code == 4, ran
    error = ran.json()["hosts"][host]["steps"][0]["error"]
    port = port_of(config, host)
    assert error.startswith(f"127.0.0.1:{port}: the jump host failed: ssh -F "), error
    assert "Permission denied (publickey)" in error, error
