"""Connection-failure sorting: which exceptions mean "unreachable", and why, in words.

A failure while opening a session makes a host unreachable and worth a retry; any other failure
is the task's. The runner and the connection guard read these to decide, the report to explain.
"""

from __future__ import annotations

import errno

from nornir.core.exceptions import NornirSubTaskError
from nornir.core.task import MultiResult, Result

from nornir_runbook.runner.hostkeys import PROXY_NOTE

_CONNECT_TYPE_NAMES = frozenset(
    {
        "NetmikoTimeoutException",  # TCP connect or SSH handshake timed out
        "NetmikoAuthenticationException",
        "AuthenticationException",  # paramiko, and its subclasses below
        "BadAuthenticationType",
        "PasswordRequiredException",
        "UnableToAuthenticate",
        "NoValidConnectionsError",
        "ConnectionRefusedError",
        "ConnectionResetError",
        "ConnectionAbortedError",
        "gaierror",
        "ConnectionException",  # scrapli and netmiko
        "ScrapliConnectionNotOpened",
        "ScrapliAuthenticationFailed",
        "ScrapliTimeout",
        "HostKeyError",  # ours: the host's SSH key was refused
    }
)
CONNECT_NOTE = "nornir-runbook: raised while opening the connection"
# the connection guard's one-line account of a failed connection: address, port and cause
UNREACHABLE_NOTE = "nornir-runbook: unreachable: "
_CONNECT_MESSAGES = (
    "Error reading SSH protocol banner",
    "No existing session",
    "Unable to connect",
)


def is_connection_error(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) says the device could not be reached or logged in."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if CONNECT_NOTE in getattr(current, "__notes__", ()):
            return True
        names = {cls.__name__ for cls in type(current).__mro__}
        if names & _CONNECT_TYPE_NAMES:
            return True
        if isinstance(current, TimeoutError) and "connect" in str(current).lower():
            return True
        if any(m in str(current) for m in _CONNECT_MESSAGES):
            return True
        current = current.__cause__ or current.__context__
    return False


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not e for e in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


_AUTH_NAMES = frozenset(
    {"AuthenticationException", "NetmikoAuthenticationException", "ScrapliAuthenticationFailed"}
)


def unreachable_reason(exc: BaseException, username: str | None = None) -> str | None:
    """What stopped a connection, in a few words: ``connection refused``, ``timed out ...``,
    ``authentication failed ...``, the host key's refusal; None when the exception says nothing
    this function knows. Looks through the causes Netmiko wraps into its own exceptions."""
    chain = _chain(exc)
    for e in chain:
        if "HostKeyError" in _names(e):
            return str(e)
    for e in chain:
        for note in getattr(e, "__notes__", ()):
            if isinstance(note, str) and note.startswith(PROXY_NOTE):
                return f"the jump host failed: {note.removeprefix(PROXY_NOTE)}"
        if "ProxyCommandFailure" in _names(e):
            return f"the jump host failed: {str(e).strip()}"
    for e in chain:
        if _names(e) & _AUTH_NAMES:
            user = f" for user {username!r}" if username else ""
            detail = str(chain[-1]).strip().splitlines()
            said = f" ({detail[0]})" if detail and _names(chain[-1]) & _AUTH_NAMES else ""
            return f"authentication failed{user}{said}"
    for e in chain:
        reason = _socket_reason(e)
        if reason is not None:
            return reason
    return None


def _socket_reason(e: BaseException) -> str | None:  # noqa: PLR0911 -- one return per cause

    names = _names(e)
    if "NoValidConnectionsError" in names:  # paramiko: every address refused or unreachable
        causes = list(getattr(e, "errors", {}).values())
        codes = {getattr(c, "errno", None) for c in causes}
        if codes == {errno.EHOSTUNREACH}:
            return "no route to host"
        return "connection refused"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if "gaierror" in names:
        return f"host name not resolved ({e})"
    if "Error reading SSH protocol banner" in str(e):
        return "timed out waiting for the SSH banner (the port answers, no SSH server speaks)"
    if isinstance(e, TimeoutError):
        return "timed out connecting"
    if isinstance(e, OSError) and e.errno == errno.EHOSTUNREACH:
        return "no route to host"
    if isinstance(e, ConnectionResetError | EOFError):
        return "the connection was closed by the other end while connecting"
    return None


def unreachable_note(exc: BaseException) -> str | None:
    """The connection guard's account of ``exc`` (see UNREACHABLE_NOTE), if it has one."""
    for e in _chain(exc):
        for note in getattr(e, "__notes__", ()):
            if isinstance(note, str) and note.startswith(UNREACHABLE_NOTE):
                return note.removeprefix(UNREACHABLE_NOTE)
    return None


def connection_error(result: MultiResult | Result) -> BaseException | None:
    """The first connection-class exception inside a (multi)result, looking into subtasks."""
    results = result if isinstance(result, MultiResult) else [result]
    for r in results:
        exc = r.exception
        if exc is None:
            continue
        if isinstance(exc, NornirSubTaskError):
            inner = connection_error(exc.result)
            if inner is not None:
                return inner
        elif is_connection_error(exc):
            return exc
    return None


def describe_exception(exc: BaseException) -> str:
    """One readable line for an exception: the innermost cause through subtask failures."""
    if isinstance(exc, NornirSubTaskError):
        for r in exc.result:
            if r.exception is not None:
                return describe_exception(r.exception)
            if r.failed:
                return f"subtask {r.name!r} failed: {r.result}"
    note = unreachable_note(exc)
    if note is not None:
        return note
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    if first.endswith(":") and len(lines) > 1:  # a heading, as Netmiko's "... creation:"
        first = f"{first} {lines[1]}"
    return f"{type(exc).__name__}: {first}"
