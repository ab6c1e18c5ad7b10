"""SSH host key checking for Netmiko connections, as OpenSSH's ``StrictHostKeyChecking``.

Netmiko accepts any host key by default (paramiko's ``AutoAddPolicy``): whoever sits between
us and a device collects its password. Here every Netmiko connection a FuturesRunner opens is
checked against an OpenSSH ``known_hosts`` file (``~/.ssh/known_hosts`` unless told otherwise),
read as OpenSSH writes it: ``[host]:port`` names for ports other than 22, hashed ``|1|`` names,
``*``/``?`` patterns and ``!`` negations, ``@revoked`` keys.

- ``accept-new``: a host not in the file has its key recorded there; a changed key is refused.
- ``strict``: a host not in the file is refused too.
- ``off``: nothing is checked (Netmiko's own ``ssh_strict``/``system_host_keys`` options apply).

The file is appended to under an exclusive ``flock``, one line at a time and synced, after
reading it again under the lock: hosts of one run and concurrent runs recording keys in the
same file never lose or mangle a line, and two first contacts with one host agree on one key.

The policy is per thread (:func:`checking`): the runner sets it around each host attempt, in
whatever thread, process or dask worker runs it; :func:`install` hooks Netmiko's
``_build_ssh_client`` once per process. Connections opened outside a FuturesRunner attempt are
Netmiko's own business. paramiko is only imported when a connection opens.

The lab's devices share one host key, made once per user and kept in nornir-runbook's state
folder (:func:`lab_host_key`), so they keep their identity from one lab start to the next.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import fnmatch
import hashlib
import hmac
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nornir_runbook.errors import HostKeyError
from nornir_runbook.runner import fastmac
from nornir_runbook.runner.options import HostKeyChecking

# on a connection error, what a jump host's ProxyCommand said before it exited
PROXY_NOTE = "nornir-runbook: the proxy command failed: "
SSH_PORT = 22


def host_key_name(hostname: str, port: int) -> str:
    """The name a host's key is filed under, as OpenSSH and paramiko write it."""
    return hostname if port == SSH_PORT else f"[{hostname}]:{port}"


# -- the policy of the current thread -------------------------------------------------------

_current = threading.local()


@contextlib.contextmanager
def checking(policy: HostKeyChecking | None) -> Iterator[None]:
    """Netmiko connections opened in this thread inside the block follow ``policy``."""
    previous = getattr(_current, "policy", None)
    _current.policy = policy
    try:
        yield
    finally:
        _current.policy = previous


_installed = False
_install_guard = threading.Lock()


def install() -> None:
    """Hook Netmiko's SSH client set-up, once per process (and have paramiko check packet MACs
    in C: :mod:`~nornir_runbook.runner.fastmac`)."""
    global _installed  # noqa: PLW0603 -- patched once per process, guarded by this flag
    with _install_guard:
        if _installed:
            return
        _installed = True
    fastmac.install()
    from netmiko.base_connection import BaseConnection  # noqa: PLC0415 -- only when connecting

    original = BaseConnection._build_ssh_client

    def build_ssh_client(self: Any) -> Any:
        policy: HostKeyChecking | None = getattr(_current, "policy", None)
        if policy is None or policy.mode == "off":
            return original(self)
        client = self._get_ssh_client_instance()
        _check_with(client, policy)
        return client

    BaseConnection._build_ssh_client = build_ssh_client  # type: ignore[method-assign]


def _check_with(client: Any, policy: HostKeyChecking) -> None:
    """Make ``client`` (a paramiko SSHClient) check host keys under ``policy``.

    The known keys of the host are loaded when ``connect`` learns its name and port (the
    address an ssh_config ``HostName`` gives included), so paramiko asks the device for the
    key type on file and refuses a different key itself; a host with no key on file goes to
    :class:`_Policy`. A refusal closes the client and raises :class:`HostKeyError`.
    """
    from paramiko.ssh_exception import BadHostKeyException  # noqa: PLC0415

    client.set_missing_host_key_policy(_Policy(policy))
    connect = client.connect

    def checked_connect(hostname: str, port: int = SSH_PORT, *args: Any, **kwargs: Any) -> Any:
        name = host_key_name(hostname, port)
        found = lookup(policy.file, name)
        if found.revoked is not None:
            client.close()
            raise HostKeyError(f"host key revoked: {name} ({found.where}) is marked @revoked")
        known = client.get_host_keys()
        for key in found.keys:
            known.add(name, key.get_name(), key)
        try:
            return connect(hostname, port, *args, **kwargs)
        except BadHostKeyException as exc:
            client.close()
            raise HostKeyError(_changed(name, exc.key, exc.expected_key, found.where)) from None
        except Exception as exc:
            said = _proxy_said(kwargs.get("sock"), exc)
            if said is not None:
                exc.add_note(PROXY_NOTE + said)
            raise

    client.connect = checked_connect


def _proxy_said(sock: Any, exc: BaseException) -> str | None:
    """What a ProxyCommand (Netmiko's ProxyJump is ``ssh -W``) printed before it exited, if
    it did: paramiko keeps its stderr unread, and its failure reads as a missing banner."""
    process = getattr(sock, "process", None)
    if process is None:
        return None
    ended = "banner" in str(exc) or isinstance(exc, EOFError)  # its output closed: it is ending
    if process.poll() is None and not ended:
        return None  # the proxy works; the failure is the device's (a wrong password, say)
    try:
        code = process.wait(timeout=5)
        said = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
    except Exception:  # noqa: BLE001 -- still running, or nothing to read: nothing to add
        return None
    lines = [line.strip() for line in said.splitlines() if line.strip()]
    command = " ".join(getattr(sock, "cmd", []) or ["the proxy command"])
    return f"{command} exited with {code}" + (f": {lines[-1]}" if lines else "")


class _Policy:
    """paramiko's MissingHostKeyPolicy for a host with no key on file."""

    def __init__(self, policy: HostKeyChecking) -> None:
        self.policy = policy

    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        path = self.policy.file
        try:
            if self.policy.mode == "strict":
                raise HostKeyError(
                    f"host key refused: {hostname} is not in {path} and host key checking is "
                    f"strict (the device sent {fingerprint(key)}; after checking it, record it "
                    "with --host-key-checking accept-new or ssh-keyscan)"
                )
            record(path, hostname, key)
        except HostKeyError:
            client.close()
            raise


def fingerprint(key: Any) -> str:
    """``ssh-ed25519 SHA256:...``, as ``ssh-keygen -l`` shows it."""
    digest = base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")
    return f"{key.get_name()} SHA256:{digest}"


def _changed(name: str, got: Any, expected: Any, where: str) -> str:
    return (
        f"host key changed: {name} sent {fingerprint(got)}, but {where} holds "
        f"{fingerprint(expected)} for it; not connecting (someone may be intercepting the "
        "connection, or the device's key was replaced: if you know it was, remove the old key "
        f"with ssh-keygen -R '{name}' -f {where.rsplit(':', 1)[0]})"
    )


# -- reading and writing known_hosts ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Found:
    keys: tuple[Any, ...]  # paramiko PKeys filed for the host
    where: str  # "FILE:LINE" of the first of them, or the file
    revoked: str | None = None  # "FILE:LINE" of a @revoked line naming the host


def lookup(path: Path, name: str) -> Found:
    """The keys ``path`` files for ``name`` (read under a shared lock; a missing file is
    empty). Only the lines whose names match are parsed: the file is read again for each host,
    but split into lines and indexed by name once while it does not change (:class:`_Index`),
    so a run's lookups cost the file's size, not its size times the number of hosts."""
    try:
        with open(path, "rb") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_SH)
            text = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return Found(keys=(), where=str(path))
    except OSError as exc:
        raise HostKeyError(
            f"host key of {name} not checked: cannot read {path}: {exc.strerror}"
        ) from None
    return _scan(text, name, str(path))


def _scan(text: str, name: str, file: str) -> Found:
    from paramiko.hostkeys import HostKeyEntry  # noqa: PLC0415
    from paramiko.ssh_exception import SSHException  # noqa: PLC0415

    keys: list[Any] = []
    where = file
    revoked = None
    for number, line, marker in _index(text).lines_naming(name):
        if marker == "@revoked":
            revoked = f"{file}:{number}"
            continue
        if marker is not None:  # @cert-authority: certificates are not used here
            continue
        try:
            entry = HostKeyEntry.from_line(line, number)
        except (SSHException, ValueError, TypeError):
            continue
        if entry is not None:
            if not keys:
                where = f"{file}:{number}"
            keys.append(entry.key)
    return Found(keys=tuple(keys), where=where, revoked=revoked)


_Line = tuple[int, str, str | None]  # line number, the line after its marker, the marker


@dataclass(frozen=True, slots=True)
class _Index:
    """A known_hosts text split into lines once, for every host of a run that looks in it:
    lines naming hosts plainly, by each name (lowercase, as names compare); lines with hashed
    names, patterns or negations, matched name by name (:func:`_names_match`)."""

    text: str
    by_name: dict[str, list[_Line]]
    other: list[tuple[_Line, str]]  # (the line, its names field)

    def lines_naming(self, name: str) -> list[_Line]:
        """The lines whose names match ``name``, in file order."""
        found = list(self.by_name.get(name.lower(), ()))
        found += [line for line, names in self.other if _names_match(names, name)]
        return sorted(found)


_last_index: _Index | None = None  # of the file read last: the hosts of a run read one file


def _index(text: str) -> _Index:
    global _last_index  # noqa: PLW0603 -- one cached index, replaced whole (atomically)
    cached = _last_index
    if cached is not None and cached.text == text:
        return cached
    by_name: dict[str, list[_Line]] = {}
    other: list[tuple[_Line, str]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        marker = None
        if line.startswith("@"):
            marker, _, line = line.partition(" ")
            line = line.strip()
        fields = line.split(None, 1)
        if not fields:  # a marker and nothing else names no host
            continue
        names = fields[0]
        if any(c in names for c in "!*?|"):
            other.append(((number, line, marker), names))
            continue
        for plain in dict.fromkeys(names.lower().split(",")):
            by_name.setdefault(plain, []).append((number, line, marker))
    index = _Index(text=text, by_name=by_name, other=other)
    _last_index = index
    return index


def _names_match(field: str, name: str) -> bool:
    """OpenSSH's host name field: comma-separated names, hashed names, patterns and negations."""
    matched = False
    lowered = name.lower()
    for item in field.split(","):
        negated = item.startswith("!")
        pattern = item.removeprefix("!")
        if pattern.startswith("|1|"):
            hit = _hashed_match(pattern, name)
        elif "*" in pattern or "?" in pattern:
            hit = fnmatch.fnmatchcase(lowered, pattern.lower().replace("[", "[[]"))
        else:
            hit = pattern.lower() == lowered
        if hit and negated:
            return False
        matched = matched or hit
    return matched


def _hashed_match(pattern: str, name: str) -> bool:
    try:
        _, _, salt, digest = pattern.split("|")
        mac = hmac.new(base64.b64decode(salt), name.encode(), hashlib.sha1).digest()
        return hmac.compare_digest(mac, base64.b64decode(digest))
    except (ValueError, TypeError):
        return False


def record(path: Path, name: str, key: Any) -> None:
    """Append ``name``'s key to ``path`` unless the file already has it (another host or run
    may have written it a moment ago): under an exclusive lock, one line, synced. A key on file
    that differs, or a file that cannot be written, refuses the host (HostKeyError)."""
    line = f"{name} {key.get_name()} {key.get_base64()}\n".encode()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError as exc:
        raise HostKeyError(
            f"host key of {name} not recorded: cannot write {path}: {exc.strerror}; not "
            "connecting to a host whose key would not be kept"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with os.fdopen(os.dup(fd), "rb") as f:
            f.seek(0)
            text = f.read()
        found = _scan(text.decode("utf-8", "replace"), name, str(path))
        if found.revoked is not None:
            raise HostKeyError(f"host key revoked: {name} ({found.revoked}) is marked @revoked")
        same = [k for k in found.keys if k.get_name() == key.get_name()]
        if key in same:
            return
        if found.keys:
            raise HostKeyError(_changed(name, key, found.keys[0], found.where))
        if text and not text.endswith(b"\n"):
            line = b"\n" + line
        os.write(fd, line)
        os.fsync(fd)
    except OSError as exc:
        raise HostKeyError(
            f"host key of {name} not recorded: cannot write {path}: {exc.strerror}; not "
            "connecting to a host whose key would not be kept"
        ) from None
    finally:
        os.close(fd)  # also lets go of the lock


# -- the lab's host key ---------------------------------------------------------------------


def state_dir() -> Path:
    """nornir-runbook's per-user state folder (``$XDG_STATE_HOME/nornir-runbook``)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return Path(base) / "nornir-runbook"


def lab_key_file() -> Path:
    return state_dir() / "lab_host_key"


_lab_key: tuple[Path, Any] | None = None
_lab_key_guard = threading.Lock()


def lab_host_key() -> Any:
    """The lab devices' host key (a paramiko Ed25519Key): read from :func:`lab_key_file`,
    made there first if it does not exist yet (mode 0600; two labs starting at once agree on
    one key)."""
    global _lab_key  # noqa: PLW0603 -- parsed once per process and file
    import paramiko  # noqa: PLC0415

    path = lab_key_file()
    with _lab_key_guard:
        if _lab_key is not None and _lab_key[0] == path:
            return _lab_key[1]
        if not path.exists():
            _make_lab_key(path)
        key = paramiko.Ed25519Key(filename=str(path))
        _lab_key = (path, key)
        return key


def _make_lab_key(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
        Ed25519PrivateKey,
    )

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temporary, path)  # fails if another lab made one first: theirs is kept
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


def lab_known_hosts(addresses: list[tuple[str, int]], directory: Path) -> Path:
    """A known_hosts file in ``directory`` filing the lab key for every ``(address, port)``."""
    key = lab_host_key()
    path = directory / "known_hosts"
    path.write_text(
        "".join(
            f"{host_key_name(a, p)} {key.get_name()} {key.get_base64()}\n" for a, p in addresses
        )
    )
    return path
