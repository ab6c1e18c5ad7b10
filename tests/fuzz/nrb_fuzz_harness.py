"""Shared pieces of the bad-input fuzzers: run ``nrb`` in-process, build throwaway projects.

- :func:`call` runs :func:`nornir_runbook.cli.main` in this process (about 20 ms a call, where a
  subprocess costs a second) with stdout and stderr captured as a real run would write them
  (UTF-8; stdout strict, stderr ``backslashreplace``), and puts back the current directory,
  ``sys.path``, modules imported from the project, the root logger, the warning filters and the
  environment, so thousands of calls leak neither into each other nor into the test session.
- :func:`assert_no_bug` is what every fuzzer asserts of every call: never exit 1, never a
  traceback, never a password.
- :func:`write_project` writes a lab project (``config.yaml`` + ``inventory/``) into a folder.
- Settings profiles: ``fuzz-ci`` (the default: the whole of tests/fuzz in about a minute on two
  cores) and ``fuzz-long`` (``NRB_FUZZ_PROFILE=fuzz-long``: 20 times the cases, for a hunt).
  Both are derandomized, so a CI failure replays anywhere with the same command.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import socket
import sys
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, event, settings

from nornir_runbook.cli import main

REPO = Path(__file__).resolve().parents[2]
SHIPPED_INVENTORY = REPO / "inventory"
PASSWORD = "Fuzz-Secret-7q!"  # the defaults' password in every fuzzed project: never printed
HOST_PASSWORD = "Host-Secret-9z!"  # one host's own password

# -- hypothesis profiles ------------------------------------------------------------------------

_COMMON: dict[str, Any] = {
    "deadline": None,  # a busy CI machine is not a bug
    "derandomize": True,  # the same cases on every run and machine
    "database": None,  # nothing to replay: derandomized runs find the same cases again
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
# CI reports a failing case as found (hypothesis may spend minutes shrinking a case whose every
# replay costs two nrb calls); fuzz-long shrinks it to its simplest form.
settings.register_profile(
    "fuzz-ci", phases=[Phase.explicit, Phase.reuse, Phase.generate], **_COMMON
)
settings.register_profile("fuzz-long", **_COMMON)
_PROFILE = os.environ.get("NRB_FUZZ_PROFILE", "fuzz-ci")
_SCALE = 20 if _PROFILE == "fuzz-long" else 1


def fuzz_settings(examples: int) -> settings:
    """The active profile with ``examples`` cases (times 20 under fuzz-long)."""
    return settings(settings.get_profile(_PROFILE), max_examples=examples * _SCALE)


#: cases run per property, by test name (printed at the end of the session by conftest.py)
CASES: Counter[str] = Counter()


def count(prop: str, outcome: str) -> None:
    """One more case of ``prop``; ``outcome`` shows in ``--hypothesis-show-statistics``."""
    CASES[prop] += 1
    event(outcome)


def code(outcome: Outcome) -> str:
    """The exit code, for the statistics."""
    return str(outcome.code)


# -- running nrb ---------------------------------------------------------------------------------

_ENV_OUT = ("NRB_USERNAME", "NRB_PASSWORD", "FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR")


@dataclass(frozen=True, slots=True)
class Outcome:
    argv: tuple[str, ...]
    code: int
    out: str
    err: str
    warned: tuple[str, ...]

    def __str__(self) -> str:  # what a failing assertion shows
        shown = [
            repr(a) if len(a) < 200 else f"{a[:60]!r}...({len(a)} characters)" for a in self.argv
        ]
        warned = "".join(f"\n--- warning ---\n{w}" for w in self.warned)
        return (
            f"nrb {' '.join(shown)} -> exit {self.code}\n"
            f"--- stdout ---\n{self.out[:3000]}\n--- stderr ---\n{self.err[:4000]}{warned}"
        )


@contextlib.contextmanager
def _isolated(cwd: Path | None) -> Iterator[None]:
    before = os.getcwd()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    path = sys.path[:]
    modules = set(sys.modules)
    env = {key: os.environ.pop(key) for key in _ENV_OUT if key in os.environ}
    if cwd is not None:
        os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(before)
        os.environ.update(env)
        root.handlers[:] = handlers
        root.setLevel(level)
        sys.path[:] = path
        for name in set(sys.modules) - modules:  # task modules imported from the project
            file = getattr(sys.modules[name], "__file__", None) or ""
            if cwd is not None and file.startswith(str(cwd)):
                del sys.modules[name]


def _stream(errors: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors=errors, write_through=True)


def _text(stream: io.TextIOWrapper) -> str:
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode("utf-8", errors="backslashreplace")


class ConnectionAttempt(AssertionError):
    """nrb tried to open a connection: no fuzzed call may."""


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """Every TCP connection attempt fails the test (Netmiko and paramiko use these)."""

    def refuse(self: socket.socket, address: Any) -> Any:
        raise ConnectionAttempt(f"nrb tried to connect to {address!r}")

    saved = socket.socket.connect, socket.socket.connect_ex
    socket.socket.connect = socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex = saved  # type: ignore[method-assign]


def call(argv: Sequence[str], *, cwd: Path | None = None) -> Outcome:
    """``nrb *argv`` in this process, in ``cwd``; its exit code and what it wrote."""
    out, err = _stream("strict"), _stream("backslashreplace")  # as Python sets up a real run
    with warnings.catch_warnings(record=True) as caught, _offline():
        warnings.simplefilter("always")  # as in production: a warning is printed, not raised
        with _isolated(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(argv))
            except SystemExit as exc:  # argparse's --help; Python's own rule for the code
                code = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
    return Outcome(
        argv=tuple(argv),
        code=code,
        out=_text(out),
        err=_text(err),
        warned=tuple(f"{w.category.__name__}: {w.message}" for w in caught),
    )


def assert_no_bug(outcome: Outcome, *, allowed: Sequence[int] = (0, 3, 5)) -> None:
    """What no input may do: end in exit 1 (a bug in nrb) or in a traceback, connect
    anywhere, or show a password."""
    assert ConnectionAttempt.__name__ not in outcome.err, outcome
    assert outcome.code in allowed, outcome
    assert "Traceback" not in outcome.err, outcome
    assert "internal error" not in outcome.err, outcome
    for secret in (PASSWORD, HOST_PASSWORD):
        assert secret not in outcome.out, outcome
        assert secret not in outcome.err, outcome
    if outcome.code == 5:
        assert outcome.err.strip(), outcome  # says what is wrong


def located(outcome: Outcome, file: str) -> bool:
    """Whether stderr points into ``file`` at a line and column."""
    return re.search(re.escape(file) + r":\d+:\d+", outcome.err) is not None


# -- throwaway projects --------------------------------------------------------------------------


def shipped(name: str) -> Any:
    return yaml.safe_load((SHIPPED_INVENTORY / name).read_text(encoding="utf-8"))


#: a third of the lab, every kind of host kept: project loading is most of a call's cost
LAB_HOSTS = ("ams-core-01", "ams-edge-04", "fra-core-02", "fra-edge-01")


def project_files() -> dict[str, Any]:
    """The lab project as data: ``config.yaml`` and the inventory files (the hosts of
    :data:`LAB_HOSTS`), with our passwords."""
    hosts = {name: host for name, host in shipped("hosts.yaml").items() if name in LAB_HOSTS}
    defaults = shipped("defaults.yaml")
    defaults["password"] = PASSWORD
    hosts[next(iter(hosts))]["password"] = HOST_PASSWORD
    return {
        "config.yaml": {
            "inventory": {
                "plugin": "SimpleInventory",
                "options": {
                    "host_file": "inventory/hosts.yaml",
                    "group_file": "inventory/groups.yaml",
                    "defaults_file": "inventory/defaults.yaml",
                },
            },
            "runner": {"plugin": "futures", "options": {"num_workers": 4}},
            "logging": {"enabled": False},
            "user_defined": {},
        },
        "inventory/hosts.yaml": hosts,
        "inventory/groups.yaml": shipped("groups.yaml"),
        "inventory/defaults.yaml": defaults,
    }


def write_project(directory: Path, files: dict[str, Any] | None = None) -> Path:
    """Write the project's files into ``directory``: data is dumped as YAML, ``str`` and
    ``bytes`` are written as they are, None leaves the file out. Returns ``config.yaml``."""
    for name, content in (files if files is not None else _PROJECT_TEXTS).items():
        if content is None:
            continue
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return directory / "config.yaml"


_FILES = project_files()
_PROJECT_TEXTS = {name: yaml.safe_dump(data, sort_keys=False) for name, data in _FILES.items()}
HOSTS: tuple[str, ...] = tuple(_FILES["inventory/hosts.yaml"])
GROUPS: tuple[str, ...] = tuple(_FILES["inventory/groups.yaml"])
TAGS = ("prod", "lab", "pe", "canary", "rr")

#: a task module in the project folder; calling its task leaves a file named CALLED next to it
PLUGIN = """
from pathlib import Path

from nornir.core.task import Result, Task


def hello(task: Task, who: str = "world") -> Result:
    Path(__file__).with_name("CALLED").touch()
    return Result(host=task.host, result=f"hello {who}")
"""


def write_plugin(directory: Path) -> Path:
    """``fuzzplugin.tasks:hello`` in ``directory``; returns the file its call would create."""
    package = directory / "fuzzplugin"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "tasks.py").write_text(PLUGIN)
    return package / "CALLED"
