"""known_hosts reading and writing (no network): OpenSSH's formats, and appends that many
processes make at once."""

from __future__ import annotations

import base64
import fcntl
import inspect
import io
import multiprocessing
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from nornir_runbook.errors import ConfigError, HostKeyError
from nornir_runbook.project.config import load_project
from nornir_runbook.runner import hostkeys
from nornir_runbook.runner.fastmac import constant_time_equal
from nornir_runbook.runner.hostkeys import (
    HostKeyChecking,
    fingerprint,
    host_key_name,
    lab_host_key,
    lookup,
    record,
)

PROCESSES = 4
KEYS_EACH = 25


def new_key() -> paramiko.PKey:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    return paramiko.Ed25519Key(file_obj=io.StringIO(pem))


def line(name: str, key: paramiko.PKey) -> str:
    return f"{name} {key.get_name()} {key.get_base64()}\n"


def test_names_are_filed_as_openssh_files_them() -> None:
    assert host_key_name("10.0.0.1", 22) == "10.0.0.1"
    assert host_key_name("127.0.0.1", 2201) == "[127.0.0.1]:2201"
    assert host_key_name("::1", 2201) == "[::1]:2201"


def test_the_mode_must_be_one_of_three() -> None:
    with pytest.raises(ValueError, match="accept-new, strict, off"):
        HostKeyChecking("yes")
    assert HostKeyChecking().file == Path.home() / ".ssh" / "known_hosts"


def test_lookup_reads_plain_hashed_pattern_and_negated_names(tmp_path: Path) -> None:
    keys = [new_key() for _ in range(4)]
    plain = tmp_path / "plain"
    plain.write_text(line("[127.0.0.1]:2201,router1", keys[0]))
    hashed = tmp_path / "hashed"
    hashed.write_text(line("[127.0.0.1]:2202", keys[1]))
    # OpenSSH's own tool hashes the names (as HashKnownHosts does)
    subprocess.run(["ssh-keygen", "-H", "-f", str(hashed)], check=True, capture_output=True)
    assert hashed.read_text().startswith("|1|")
    (tmp_path / "patterns").write_text(
        "# a comment, then a blank line\n\n"
        + line("[10.1.*]:22??,![10.1.9.9]:2201", keys[2])
        + line("@cert-authority *", keys[3])
    )
    assert lookup(plain, "[127.0.0.1]:2201").keys == (keys[0],)
    assert lookup(plain, "ROUTER1").keys == (keys[0],)  # names compare case-insensitively
    assert lookup(plain, "[127.0.0.1]:2202").keys == ()
    assert lookup(hashed, "[127.0.0.1]:2202").keys == (keys[1],)
    assert lookup(hashed, "[127.0.0.1]:2201").keys == ()
    patterns = tmp_path / "patterns"
    assert lookup(patterns, "[10.1.2.3]:2201").keys == (keys[2],)
    assert lookup(patterns, "[10.1.2.3]:22").keys == ()
    assert lookup(patterns, "[10.1.9.9]:2201").keys == ()  # negated
    assert lookup(patterns, "[10.1.2.3]:2201").where == f"{patterns}:3"
    assert lookup(tmp_path / "missing", "x").keys == ()


def test_a_revoked_key_is_found(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("@revoked " + line("[127.0.0.1]:2201", new_key()))
    assert lookup(known, "[127.0.0.1]:2201").revoked == f"{known}:1"
    with pytest.raises(HostKeyError, match=r"host key revoked: \[127.0.0.1\]:2201"):
        record(known, "[127.0.0.1]:2201", new_key())


def test_record_appends_once_and_refuses_a_different_key(tmp_path: Path) -> None:
    known = tmp_path / "new" / "known_hosts"
    key, other = new_key(), new_key()
    record(known, "[127.0.0.1]:2201", key)
    record(known, "[127.0.0.1]:2201", key)
    assert known.read_text() == line("[127.0.0.1]:2201", key)
    assert known.stat().st_mode & 0o777 == 0o600
    assert known.parent.stat().st_mode & 0o777 == 0o700
    with pytest.raises(HostKeyError) as refused:
        record(known, "[127.0.0.1]:2201", other)
    assert str(refused.value).startswith(
        f"host key changed: [127.0.0.1]:2201 sent {fingerprint(other)}, but {known}:1 holds "
        f"{fingerprint(key)}"
    )
    assert known.read_text() == line("[127.0.0.1]:2201", key)


def test_record_starts_a_new_line_after_a_file_without_one(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    first, second = new_key(), new_key()
    known.write_text(line("a", first).rstrip("\n"))
    record(known, "b", second)
    assert known.read_text() == line("a", first) + line("b", second)


def test_a_file_that_cannot_be_written_refuses_the_host(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(HostKeyError, match="not recorded: cannot write"):
        record(blocked / "known_hosts", "a", new_key())  # its folder is a file


def test_fingerprint_is_what_ssh_keygen_shows(tmp_path: Path) -> None:
    key = new_key()
    known = tmp_path / "known_hosts"
    known.write_text(line("a", key))
    shown = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(known)], check=True, capture_output=True, text=True
    ).stdout
    assert fingerprint(key).split()[1] in shown


def _record_many(path: str, start: Any, worker: int, keys: list[str], shared: str) -> None:
    start.wait(timeout=60)
    shared_key = paramiko.Ed25519Key(data=_decode(shared))
    for index, text in enumerate(keys):
        key = paramiko.Ed25519Key(data=_decode(text))
        record(Path(path), f"[10.0.{worker}.{index}]:2201", key)
        record(Path(path), "[10.9.9.9]:2201", shared_key)


def _decode(text: str) -> bytes:
    return base64.b64decode(text)


def test_many_processes_append_at_once_without_losing_or_mangling_a_line(
    tmp_path: Path,
) -> None:
    known = tmp_path / "known_hosts"
    keys = [[new_key().get_base64() for _ in range(KEYS_EACH)] for _ in range(PROCESSES)]
    shared = new_key()
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(PROCESSES)
    procs = [
        context.Process(
            target=_record_many, args=(str(known), start, w, keys[w], shared.get_base64())
        )
        for w in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    assert [proc.exitcode for proc in procs] == [0] * PROCESSES
    lines = known.read_text().splitlines()
    expected = {
        f"[10.0.{w}.{i}]:2201 ssh-ed25519 {keys[w][i]}"
        for w in range(PROCESSES)
        for i in range(KEYS_EACH)
    }
    expected.add(f"[10.9.9.9]:2201 ssh-ed25519 {shared.get_base64()}")
    assert sorted(lines) == sorted(expected)  # each once: none lost, none twice, none torn
    # and OpenSSH reads every line of it
    listed = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(known)], check=True, capture_output=True, text=True
    ).stdout
    assert len(listed.splitlines()) == len(expected)


def _record_one(path: str, name: str, key_text: str, done: Any) -> None:
    key = paramiko.Ed25519Key(data=_decode(key_text))
    try:
        record(Path(path), name, key)
    except HostKeyError:
        done.put("refused")
    else:
        done.put("recorded")


def wait_until_blocked_on_a_lock(pid: int) -> None:
    """Until ``pid`` waits for a flock, as the kernel lists it in /proc/locks (``->`` lines)."""
    deadline = time.monotonic() + 60
    while not any(
        "->" in entry and "FLOCK" in entry and f" {pid} " in entry
        for entry in Path("/proc/locks").read_text().splitlines()
    ):
        assert time.monotonic() < deadline, f"process {pid} never waited for the lock"
        time.sleep(0.05)


def test_a_key_written_while_the_file_was_locked_is_seen_by_the_next_writer(
    tmp_path: Path,
) -> None:
    """Another run records the host while this one waits for the lock: this one reads the
    file again under the lock and refuses its different key instead of filing a second."""
    known = tmp_path / "known_hosts"
    known.write_text("")
    theirs, ours = new_key(), new_key()
    context = multiprocessing.get_context("spawn")
    done = context.Queue()
    with open(known, "ab") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        proc = context.Process(
            target=_record_one, args=(str(known), "[127.0.0.1]:2201", ours.get_base64(), done)
        )
        proc.start()
        wait_until_blocked_on_a_lock(proc.pid)
        held.write(line("[127.0.0.1]:2201", theirs).encode())
        held.flush()
        os.fsync(held.fileno())
    proc.join(timeout=120)
    assert done.get(timeout=10) == "refused"
    assert known.read_text() == line("[127.0.0.1]:2201", theirs)


def test_the_lab_key_is_made_once_and_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    first = lab_host_key()
    path = tmp_path / "state" / "nornir-runbook" / "lab_host_key"
    assert path.stat().st_mode & 0o777 == 0o600
    made = path.read_bytes()
    monkeypatch.setattr("nornir_runbook.runner.hostkeys._lab_key", None)  # as a new process would
    assert lab_host_key() == first
    assert path.read_bytes() == made


def write_project(folder: Path, settings: str) -> Path:
    (folder / "hosts.yaml").write_text("r1: {hostname: 127.0.0.1, port: 2201}\n")
    config = folder / "config.yaml"
    config.write_text(
        "inventory: {plugin: SimpleInventory, options: {host_file: hosts.yaml}}\n"
        "logging: {enabled: false}\n" + settings
    )
    return config


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ("", HostKeyChecking()),
        ("user_defined: {}\n", HostKeyChecking()),
        (
            "user_defined: {nornir_runbook: {host_key_checking: strict}}\n",
            HostKeyChecking("strict"),
        ),
        ("user_defined: {nornir_runbook: {host_key_checking: off}}\n", HostKeyChecking("off")),
        (
            "user_defined: {nornir_runbook: {known_hosts: keys/known}}\n",
            HostKeyChecking("accept-new", "{folder}/keys/known"),
        ),
        (
            "user_defined: {nornir_runbook: {known_hosts: ~/elsewhere}}\n",
            HostKeyChecking("accept-new", "{home}/elsewhere"),
        ),
    ],
)
def test_project_settings(tmp_path: Path, settings: str, expected: HostKeyChecking) -> None:
    project = load_project(write_project(tmp_path, settings))
    known = expected.known_hosts
    if known is not None:
        known = known.format(folder=tmp_path, home=Path.home())
    assert project.host_keys == HostKeyChecking(expected.mode, known)


@pytest.mark.parametrize(
    ("settings", "path", "message"),
    [
        ("user_defined: {nornir_runbook: [1]}\n", "user_defined.nornir_runbook", "a mapping"),
        (
            "user_defined: {nornir_runbook: {host_key_checking: true}}\n",
            "user_defined.nornir_runbook.host_key_checking",
            "'accept-new', 'strict', 'off' (quoted), got true",
        ),
        (
            "user_defined: {nornir_runbook: {known_hosts: ''}}\n",
            "user_defined.nornir_runbook.known_hosts",
            "the path of a known_hosts file, got a string",
        ),
        (
            "user_defined: {nornir_runbook: {host_key_check: strict}}\n",
            "user_defined.nornir_runbook.host_key_check",
            "did you mean 'host_key_checking'?",
        ),
    ],
)
def test_bad_project_settings_are_located(
    tmp_path: Path, settings: str, path: str, message: str
) -> None:
    config = write_project(tmp_path, settings)
    with pytest.raises(ConfigError) as error:
        load_project(config)
    [problem] = error.value.problems
    assert problem.file == str(config)
    assert problem.path == path
    assert message in problem.message


def test_the_mac_check_in_c_answers_as_paramikos_own() -> None:
    original = inspect.unwrap(paramiko.util.constant_time_bytes_eq)  # installed or not
    fast = constant_time_equal(original)
    mac = os.urandom(32)
    pairs = [
        (mac, bytes(mac)),
        (mac, bytes([mac[0] ^ 1]) + mac[1:]),
        (mac, mac[:-1] + bytes([mac[-1] ^ 0x80])),
        (mac, mac[:-1]),
        (b"", b""),
        ("abc", "abc"),  # not bytes: paramiko's own function answers
        ("abc", "abd"),
    ]

    assert getattr(fast, "fastmac", False)
    assert [fast(a, b) for a, b in pairs] == [original(a, b) for a, b in pairs]
    assert [fast(a, b) for a, b in pairs] == [True, False, False, False, True, True, False]


def test_the_hosts_of_a_run_share_one_reading_of_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counting work, not timing it: 200 hosts looked up in a file of 200 plain lines and two
    pattern lines match names for the pattern lines only, and parse the file once."""
    key = new_key()
    names = [f"[127.0.0.1]:{2200 + i}" for i in range(200)]
    known = tmp_path / "known_hosts"
    known.write_text(
        "".join(line(n, key) for n in names) + line("[10.*]:22", key) + line("!x,y*", key)
    )
    matched: list[str] = []
    real_match = hostkeys._names_match
    monkeypatch.setattr(
        hostkeys,
        "_names_match",
        lambda field, name: matched.append(field) or real_match(field, name),
    )
    splits = 0
    real_index = hostkeys._index

    def index(text: str) -> Any:
        nonlocal splits
        splits += hostkeys._last_index is None or hostkeys._last_index.text != text
        return real_index(text)

    monkeypatch.setattr(hostkeys, "_last_index", None)
    monkeypatch.setattr(hostkeys, "_index", index)

    found = [lookup(known, name) for name in names]

    assert [f.where for f in found] == [f"{known}:{i}" for i in range(1, 201)]
    assert all(f.keys == (key,) for f in found)
    assert splits == 1
    assert len(matched) == 2 * len(names)  # the two pattern lines, for each host
    assert lookup(known, "[10.1.1.1]:22").where == f"{known}:201"
    assert lookup(known, "yes").where == f"{known}:202"
    assert lookup(known, "x").keys == ()  # negated
