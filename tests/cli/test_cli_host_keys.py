"""``nrb run`` and SSH host keys (``--host-key-checking``, ``user_defined.nornir_runbook``), and
connection errors that say what happened, in text and json.

Each run that meets a wrong key has a HOME (or a known_hosts file) of its own: the session's
known_hosts, shared by every test, only ever holds the lab's real key.
"""

from __future__ import annotations

import re
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from subprocess import Popen
from typing import Any

import pytest
import yaml
from cli_kit import ALL, TIMEOUT, MakeProject, Nrb, WriteRunbook, clean_env, finish
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

pytestmark = pytest.mark.cli

CLOCK = """
    name: Clock
    steps:
      - {name: Clock, commands: [show clock]}
    """


def other_key() -> str:
    public = Ed25519PrivateKey.generate().public_key()
    return public.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()


def ports(config: Path) -> dict[str, int]:
    hosts = yaml.safe_load((config.parent / "inventory" / "hosts.yaml").read_text())
    return {name: host["port"] for name, host in hosts.items()}


def set_config(config: Path, **settings: Any) -> None:
    data = yaml.safe_load(config.read_text())
    data["user_defined"] = {"nornir_runbook": settings}
    config.write_text(yaml.safe_dump(data, sort_keys=False))


def home_with(tmp_path: Path, known_hosts: str) -> dict[str, str]:
    """An environment whose ~/.ssh/known_hosts holds ``known_hosts``."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "known_hosts").write_text(known_hosts)
    return clean_env(HOME=str(home))


def steps_error(doc: dict[str, Any], host: str) -> str:
    error: str = doc["hosts"][host]["steps"][0]["error"]
    return error


def test_a_changed_key_in_known_hosts_makes_the_host_unreachable(
    nrb: Nrb, write_runbook: WriteRunbook, lab_inventory: Any, tmp_path: Path
) -> None:
    """The security review: a wrong key for [127.0.0.1]:PORT in ~/.ssh/known_hosts."""
    victim, other = "ams-core-01", "ams-core-02"
    port = lab_inventory.ports[victim]
    wrong = f"[127.0.0.1]:{port} {other_key()}\n"
    env = home_with(tmp_path, wrong)
    runbook = write_runbook(CLOCK)
    limit = ("-l", f"{victim}:{other}")

    as_json = nrb.run(runbook, *limit, "-o", "json", env=env)
    as_text = nrb.run(runbook, *limit, "-o", "text", env=env)
    off = nrb.run(runbook, *limit, "-o", "json", "--host-key-checking", "off", env=env)

    assert as_json.code == 4, as_json
    doc = as_json.json()
    assert doc["hosts"][victim]["status"] == "unreachable"
    assert doc["hosts"][other]["status"] == "ok"
    known = tmp_path / "home" / ".ssh" / "known_hosts"
    assert steps_error(doc, victim).startswith(
        f"host key changed: [127.0.0.1]:{port} sent ssh-ed25519 SHA256:"
    )
    assert f"{known}:1" in steps_error(doc, victim)
    assert as_text.code == 4, as_text
    assert re.search(
        rf"\[{victim}\] .*host key changed: \[127\.0\.0\.1\]:{port} sent", as_text.out
    ), as_text.out
    assert off.code == 0, off
    lines = known.read_text().splitlines()
    assert lines[0] == wrong.strip()
    assert len(lines) == 2  # the other host's key was recorded (accept-new), once


def test_strict_and_known_hosts_from_config_yaml_and_the_flag_over_them(
    nrb: Nrb, write_runbook: WriteRunbook, make_project: MakeProject
) -> None:
    config = make_project()
    set_config(config, host_key_checking="strict", known_hosts="keys/known_hosts")
    runbook = write_runbook(CLOCK)
    known = config.parent / "keys" / "known_hosts"  # relative to config.yaml's folder
    port = ports(config)["fra-edge-01"]

    one = ("-c", config, "-l", "fra-edge-01", "-o", "json")

    strict = nrb.run(runbook, *one)
    learn = nrb.run(runbook, *one, "--host-key-checking", "accept-new")
    again = nrb.run(runbook, *one)

    assert strict.code == 4, strict
    assert steps_error(strict.json(), "fra-edge-01").startswith(
        f"host key refused: [127.0.0.1]:{port} is not in {known} and host key checking is strict"
    )
    assert learn.code == 0, learn
    assert known.read_text().startswith(f"[127.0.0.1]:{port} ssh-ed25519 ")
    assert again.code == 0, again


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"host_key_checking": "yes"},
            r"config\.yaml user_defined\.nornir_runbook\.host_key_checking: expected "
            r"'accept-new', 'strict', 'off' \(quoted\), got 'yes'",
        ),
        (
            {"known_host": "x"},
            r"config\.yaml user_defined\.nornir_runbook\.known_host: unknown setting "
            r"'known_host' \(did you mean 'known_hosts'\?\)",
        ),
        (
            {"known_hosts": ["a"]},
            r"config\.yaml user_defined\.nornir_runbook\.known_hosts: expected the path of a "
            r"known_hosts file, got a list",
        ),
    ],
)
def test_bad_settings_are_located_input_errors(
    nrb: Nrb,
    write_runbook: WriteRunbook,
    make_project: MakeProject,
    settings: dict[str, Any],
    expected: str,
) -> None:
    config = make_project()
    set_config(config, **settings)

    ran = nrb.run(write_runbook(CLOCK), "-c", config, "-l", "ams-core-01")

    assert ran.code == 5, ran
    assert re.search(expected, ran.err), ran.err
    assert "Traceback" not in ran.err


def test_an_unquoted_off_in_config_yaml_means_off(
    nrb: Nrb, write_runbook: WriteRunbook, make_project: MakeProject, tmp_path: Path
) -> None:
    config = make_project()
    port = ports(config)["ams-edge-01"]
    known = tmp_path / "wrong_known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {other_key()}\n")
    text = config.read_text().replace(
        "user_defined: {}",
        f"user_defined:\n  nornir_runbook:\n    host_key_checking: off\n    known_hosts: {known}\n",
    )
    config.write_text(text)

    ran = nrb.run(write_runbook(CLOCK), "-c", config, "-l", "ams-edge-01", "-o", "json")

    assert ran.code == 0, ran


def test_a_lab_run_neither_reads_nor_writes_the_users_known_hosts(
    nrb: Nrb, write_runbook: WriteRunbook, make_project: MakeProject, tmp_path: Path
) -> None:
    config = make_project(closed=ALL)  # every host on a port of its own, for the lab to serve
    wrong = "".join(f"[127.0.0.1]:{port} {other_key()}\n" for port in ports(config).values())
    env = home_with(tmp_path, wrong)
    runbook = write_runbook(CLOCK)

    first = nrb.run(runbook, "-c", config, "--lab", "-l", "ams", "-o", "json", env=env)
    second = nrb.run(runbook, "-c", config, "--lab", "-l", "ams", "-o", "json", env=env)

    assert first.code == 0, first
    assert second.code == 0, second  # the lab's key is the same at its next start
    assert (tmp_path / "home" / ".ssh" / "known_hosts").read_text() == wrong


def test_connection_errors_say_address_port_and_cause_in_text_and_json(
    nrb: Nrb, write_runbook: WriteRunbook, make_project: MakeProject
) -> None:
    config = make_project(closed=["ams-core-02"])
    hosts_file = config.parent / "inventory" / "hosts.yaml"
    hosts = yaml.safe_load(hosts_file.read_text())
    hosts["ams-edge-01"]["password"] = "not-the-password"
    hosts_file.write_text(yaml.safe_dump(hosts, sort_keys=False))
    closed, wrong = ports(config)["ams-core-02"], ports(config)["ams-edge-01"]
    runbook = write_runbook(CLOCK)
    limit = ("-l", "ams-core-02:ams-edge-01")

    as_json = nrb.run(runbook, "-c", config, *limit, "-o", "json")
    as_text = nrb.run(runbook, "-c", config, *limit, "-o", "text")

    assert as_json.code == 4, as_json
    doc = as_json.json()
    refused = f"127.0.0.1:{closed}: connection refused"
    denied = f"127.0.0.1:{wrong}: authentication failed for user 'admin' (Authentication failed.)"
    assert steps_error(doc, "ams-core-02") == refused
    assert steps_error(doc, "ams-edge-01") == denied
    assert as_text.code == 4, as_text
    assert refused in as_text.out
    assert denied in as_text.out


def stderr_until(proc: Popen[bytes], text: str) -> str:
    """stderr up to the line holding ``text`` (a killed process and a failed test after
    TIMEOUT)."""
    assert proc.stderr is not None
    stderr = proc.stderr
    seen: list[str] = []

    def read() -> str:
        while text not in (line := stderr.readline().decode()):
            if not line:
                return ""
            seen.append(line)
        return line

    with ThreadPoolExecutor(max_workers=1) as pool:
        found = pool.submit(read).result(timeout=TIMEOUT)
    assert found, seen
    return "".join(seen) + found


def test_nrb_lab_keeps_its_host_key_from_one_start_to_the_next(
    nrb: Nrb, write_runbook: WriteRunbook, make_project: MakeProject, tmp_path: Path
) -> None:
    config = make_project(closed=ALL)  # ports nothing else listens on
    known = tmp_path / "known_hosts"
    set_config(config, known_hosts=str(known))
    runbook = write_runbook(CLOCK)
    said, runs = [], []
    for mode in ("accept-new", "strict"):  # learn the keys, then insist on them
        lab = nrb.popen("lab", "-c", config)
        try:
            said.append(stderr_until(lab, "Ctrl-C to stop"))
            run = nrb.run(runbook, "-c", config, "-l", "fra", "--host-key-checking", mode)
            runs.append(run)
        finally:
            finish(lab, signal.SIGINT)

    assert [run.code for run in runs] == [0, 0], runs
    first, second = (re.search(r"host key (ssh-ed25519 SHA256:\S+)", text) for text in said)
    assert first is not None, said
    assert second is not None, said
    assert first.group(1) == second.group(1)
    assert len(known.read_text().splitlines()) == len(ports(config)) // 2  # fra: half of them
