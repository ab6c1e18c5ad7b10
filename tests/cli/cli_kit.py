"""Helpers of the CLI tests: run the installed ``nrb`` as a subprocess and read what it printed.

- :class:`Nrb` runs ``python -m nornir_runbook`` (the ``nrb`` program) in a folder with an
  environment free of ``NRB_*`` variables; :class:`Ran` is a finished run.
- :func:`copy_project` copies the lab project with chosen hosts moved to closed ports.
- :func:`first_line` reads the first stdout line of a :meth:`Nrb.popen` process; :func:`bounded`
  runs any such wait with a time limit.
- :data:`MIXED` is a runbook with every kind of step, for the output and strategy tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import yaml

K = TypeVar("K")
T = TypeVar("T")
WriteRunbook = Callable[..., Path]  # the write_runbook fixture: (text, name="runbook.yaml")
MakeProject = Callable[..., Path]  # the make_project fixture: (closed=(), folder="project")

# ``python -m nornir_runbook`` is the same program as the ``nrb`` script next to sys.executable
NRB = (sys.executable, "-m", "nornir_runbook")
# Python leaves SIGINT ignored if it starts ignored (as in a shell's background job), and then
# Ctrl-C would never reach nrb: reset it to the default, then exec the real command.
_WITH_DEFAULT_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.executable, [sys.executable, '-m', 'nornir_runbook', *sys.argv[1:]])"
)
TIMEOUT = 120  # seconds: a hung nrb fails its test instead of the whole session
ALL = ("*",)  # copy_project(closed=ALL): every host on a closed port

SHOW_CLOCK = "show clock"  # the one lab command whose output changes from run to run
SUMMARY_KEYS = ["hosts", "ok", "changed", "failed", "unreachable", "skipped"]
DOCUMENT_KEYS = [
    "runbook",
    "run_id",
    "started_at",
    "finished_at",
    "duration_s",
    "dry_run",
    "interrupted",
    "aborted",
    "summary",
    "hosts",
]
HOST_KEYS = ["status", "changed", "duration_s", "steps"]
STEP_KEYS = ["name", "task", "status", "changed", "duration_s", "error", "result"]
RUN_ID = r"\d{8}T\d{6}Z-[0-9a-f]{6}"  # UTC second, then a random suffix
TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without NRB_* variables or colour forcing, plus ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("NRB_") and key not in ("FORCE_COLOR", "TTY_COMPATIBLE")
    }
    env["COLUMNS"] = "160"
    env.update(extra)
    return env


@dataclass(frozen=True, slots=True)
class Ran:
    """A finished ``nrb`` process."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def __repr__(self) -> str:  # what an assertion message shows
        return f"Ran(nrb {' '.join(self.args)} -> {self.code}; stderr tail {self.err[-1500:]!r})"

    def json(self) -> Any:
        return json.loads(self.out)

    def jsonl(self) -> list[Any]:
        return [json.loads(line) for line in self.out.splitlines()]

    def lines(self) -> list[str]:
        return self.out.splitlines()


@dataclass(slots=True)
class Nrb:
    """Runs ``nrb`` in ``cwd`` with ``env``; ``run`` and ``inventory`` add ``-c config``."""

    config: Path
    cwd: Path
    env: dict[str, str] = field(default_factory=clean_env)

    def __call__(self, *args: str | Path, env: dict[str, str] | None = None) -> Ran:
        argv = tuple(str(a) for a in args)
        proc = subprocess.run(
            [*NRB, *argv],
            cwd=self.cwd,
            env=self.env if env is None else env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        return Ran(argv, proc.returncode, proc.stdout, proc.stderr)

    def run(
        self,
        runbook: Path | str,
        *args: str | Path,
        config: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> Ran:
        return self("run", runbook, "-c", config or self.config, *args, env=env)

    def inventory(self, *args: str | Path, config: Path | None = None) -> Ran:
        return self("inventory", "-c", config or self.config, *args)

    def popen(self, *args: str | Path) -> subprocess.Popen[bytes]:
        """``nrb ARGS`` started with SIGINT at its default; stdout and stderr piped.

        stdout is unbuffered on this side, so ``proc.stdout.readline()`` takes exactly one line
        and ``communicate()`` gets every byte after it.
        """
        return subprocess.Popen(
            [sys.executable, "-c", _WITH_DEFAULT_SIGINT, *(str(a) for a in args)],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
        )


def run_many(
    nrb: Nrb, commands: Mapping[K, Sequence[str | Path]], workers: int = 4
) -> dict[K, Ran]:
    """Each ``nrb(*args)`` of ``commands``, several at once (they mostly wait on I/O)."""
    return run_calls({key: partial(nrb, *args) for key, args in commands.items()}, workers)


def run_calls(calls: Mapping[K, Callable[[], Ran]], workers: int = 4) -> dict[K, Ran]:
    """Each of ``calls``, several at once."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {key: pool.submit(call) for key, call in calls.items()}
        return {key: future.result() for key, future in futures.items()}


def finish(proc: subprocess.Popen[bytes], signum: int | None = None) -> tuple[str, str]:
    """Send ``signum`` (if any), then the rest of stdout and stderr; kills a hung process."""
    if signum is not None:
        proc.send_signal(signum)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return out.decode(), err.decode()


def bounded(proc: subprocess.Popen[bytes], call: Callable[[], T]) -> T:
    """What ``call`` returns, or a killed process and a failed test after TIMEOUT."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(call)
        try:
            return future.result(timeout=TIMEOUT)
        except FutureTimeout:
            proc.kill()
            raise


def first_line(proc: subprocess.Popen[bytes]) -> str:
    """The first stdout line, or a killed process and a failed test after TIMEOUT."""
    assert proc.stdout is not None
    line: bytes = bounded(proc, proc.stdout.readline)
    return line.decode()


def write_text(directory: Path, text: str, name: str) -> Path:
    """``text`` dedented into ``directory / name``."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def copy_project(
    lab: Any, target: Path, free_ports: Callable[..., list[int]], closed: Sequence[str] = ()
) -> Path:
    """The lab project copied to ``target`` (inventory paths relative to its config.yaml), the
    ``closed`` hosts moved to ports where nothing listens. Returns the copy's ``config.yaml``."""
    source = lab.directory / "inventory"
    inventory = target / "inventory"
    inventory.mkdir(parents=True, exist_ok=True)
    for name in ("groups.yaml", "defaults.yaml"):
        shutil.copyfile(source / name, inventory / name)
    hosts = yaml.safe_load((source / "hosts.yaml").read_text())
    names = list(hosts) if tuple(closed) == ALL else list(closed)
    for name, port in zip(names, free_ports(len(names)), strict=True):
        hosts[name]["port"] = port
    (inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    config = yaml.safe_load(lab.config_file.read_text())
    config["inventory"]["options"] = {
        "host_file": "inventory/hosts.yaml",
        "group_file": "inventory/groups.yaml",
        "defaults_file": "inventory/defaults.yaml",
    }
    config_file = target / "config.yaml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    return config_file


def without_clock(result: Any) -> Any:
    """A step's result without the ``show clock`` output (it is the time of the run)."""
    if isinstance(result, dict):
        return {k: v for k, v in result.items() if k != SHOW_CLOCK}
    return result


def host_outcomes(doc: dict[str, Any]) -> dict[str, Any]:
    """Per host: status, changed, and each step's name, task, status, error and result, with
    what changes from run to run (durations, the clock) left out; and the lines a config step
    sent, which depend on what the device held when the step read it (runs at once on the
    same devices change that)."""
    return {
        name: {
            "status": host["status"],
            "changed": host["changed"],
            "steps": [
                (
                    s["name"],
                    s["task"],
                    s["status"],
                    s["changed"],
                    s["error"],
                    None if s["task"] == "send_config" else without_clock(s["result"]),
                )
                for s in host["steps"]
            ],
        }
        for name, host in doc["hosts"].items()
    }


# --- the mixed runbook: every kind of step --------------------------------------------------

MIXED = """
    name: Mixed
    description: every kind of step
    vars: {loc: rack-7}
    steps:
      - name: Version
        commands: [show version, show clock]
      - name: Location
        config:
          - "snmp-server location {{ host.data.site }}-{{ vars.loc }}"
          - "no snmp-server location {{ host.data.site }}-{{ vars.loc }}"
      - name: Facts
        task: echo
        args:
          name: "{{ host.name }}"
          site: "{{ host.data.site }}"
          role: "{{ host.data.role }}"
          ntp: "{{ host.data.ntp_servers | join(',') }}"
          loc: "{{ vars.loc }}"
      - name: Core routes
        targets: {groups: [core]}
        commands: [show ip route summary]
      - name: Route reflectors refuse
        targets: {tags: [rr]}
        task: fail
        args: {message: "refused on {{ host.name }}"}
      - name: Edges may fail
        targets: {groups: [edge]}
        task: fail
        args: {message: "ignored on {{ host.name }}"}
        ignore_errors: true
      - name: Last
        task: echo
        args: {done: "yes"}
    """
MIXED_STEPS = (
    "Version",
    "Location",
    "Facts",
    "Core routes",
    "Route reflectors refuse",
    "Edges may fail",
    "Last",
)
# inventory order; MIXED_DOWN sits on a closed port in the mixed project
MIXED_HOSTS = ("ams-core-01", "ams-edge-01", "fra-core-02", "fra-edge-04")
MIXED_DOWN = "fra-edge-04"
MIXED_LIMIT = ":".join(MIXED_HOSTS)
