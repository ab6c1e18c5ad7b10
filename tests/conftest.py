"""Fixtures shared by every test tier: the lab inventory and its running devices.

- ``lab_inventory`` (session): a copy of the shipped ``inventory/`` in a temporary folder, with
  ports picked free at run time (so a running ``nrb lab`` on the shipped ports cannot collide),
  its devices running for the whole session. Yields a :class:`LabInventory`.
- ``make_nornir`` (function): ``make_nornir(runner_plugin=LAB_RUNNER, **runner_options)`` returns
  ``InitNornir`` for that inventory; its connections are closed when the test ends.
- ``free_ports``: ``free_ports(count, address="127.0.0.1")`` picks ports free right now.
- ``lab_project_writer`` (session): :func:`write_lab_project`, for a lab project of one's own
  (another password, say); its devices are not running.
- ``update_golden``: True when pytest runs with ``--update-golden`` (rewrite golden files).
- ``lab_runbooks`` (session): the shipped ``runbooks/`` copied into the ``lab_inventory`` project
  folder, beside its ``config.yaml``, so ``module:function`` tasks resolve from there. Returns
  the copy's path.

The whole session runs with ``HOME`` (and ``XDG_STATE_HOME``) in a temporary folder, inherited
by every ``nrb`` and lab process: the SSH host keys runs record, and the lab's own key, never
reach the real ``~/.ssh/known_hosts`` or state folder. A test that writes keys of its own (a
wrong one, say) gives its run a known_hosts file or a ``HOME`` of its own.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from nornir import InitNornir
from nornir.core import Nornir

from nornir_runbook.lab import Lab, devices_from_nornir
from ports import pick_free_ports

REPO = Path(__file__).resolve().parents[1]
SHIPPED_INVENTORY = REPO / "inventory"
SHIPPED_RUNBOOKS = REPO / "runbooks"
# The runner plugin make_nornir uses unless told otherwise.
LAB_RUNNER = "futures"


@dataclass(frozen=True, slots=True, kw_only=True)
class LabInventory:
    """A runbook project folder (``config.yaml`` + ``inventory/``) whose devices are running."""

    directory: Path
    config_file: Path
    hosts: tuple[str, ...]  # inventory order
    username: str
    password: str
    ports: dict[str, int]
    platforms: dict[str, str]  # cisco_ios or arista_eos, as the inventory resolves it
    lab: Lab

    def __repr__(self) -> str:  # keep the password out of assertion messages
        return f"LabInventory({self.config_file}, {len(self.hosts)} hosts)"


_REAL_HOME: dict[str, str | None] = {}


def pytest_configure(config: pytest.Config) -> None:
    home = tempfile.mkdtemp(prefix="nrb-tests-home-")
    for name, value in (("HOME", home), ("XDG_STATE_HOME", os.path.join(home, ".local/state"))):
        _REAL_HOME[name] = os.environ.get(name)
        os.environ[name] = value


def pytest_unconfigure(config: pytest.Config) -> None:
    home = os.environ.get("HOME")
    for name, value in _REAL_HOME.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    if home and os.path.basename(home).startswith("nrb-tests-home-"):
        shutil.rmtree(home, ignore_errors=True)


# fuzz cases run per property, gathered from the pytest-xdist workers (tests/fuzz/conftest.py)
FUZZ_CASES: Counter[str] = Counter()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    FUZZ_CASES.update(getattr(node, "workeroutput", {}).get("fuzz_cases", {}))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many cases each fuzzer property ran (those of this process, without xdist)."""
    harness = sys.modules.get("nrb_fuzz_harness")
    cases = FUZZ_CASES + (harness.CASES if harness is not None else Counter())
    if cases:
        terminalreporter.write_sep("-", f"fuzz cases: {sum(cases.values())}")
        for name, count in sorted(cases.items()):
            terminalreporter.write_line(f"{count:6d}  {name}")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden files from the current output instead of comparing with them",
    )


@pytest.fixture(scope="session")
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def write_lab_project(
    directory: Path, ports: list[int] | None = None, password: str | None = None
) -> LabInventory:
    """Copy the shipped inventory into ``directory`` with new ports (and, when given, another
    password for every device); returns a stopped lab."""
    hosts: dict[str, dict[str, Any]] = _load(SHIPPED_INVENTORY / "hosts.yaml")
    defaults: dict[str, Any] = _load(SHIPPED_INVENTORY / "defaults.yaml")
    if password is not None:
        defaults["password"] = password
    ports = ports or pick_free_ports(len(hosts))
    for host, port in zip(hosts.values(), ports, strict=True):
        host["port"] = port
    inventory = directory / "inventory"
    inventory.mkdir(parents=True, exist_ok=True)
    (inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    for name in ("groups.yaml", "defaults.yaml"):
        (inventory / name).write_text((SHIPPED_INVENTORY / name).read_text())
    if password is not None:
        defaults_text = yaml.safe_dump(defaults, sort_keys=False, allow_unicode=True)
        (inventory / "defaults.yaml").write_text(defaults_text, encoding="utf-8")
    config = {
        "inventory": {
            "plugin": "SimpleInventory",
            "options": {  # absolute: Nornir opens these relative to the current directory
                "host_file": str(inventory / "hosts.yaml"),
                "group_file": str(inventory / "groups.yaml"),
                "defaults_file": str(inventory / "defaults.yaml"),
            },
        },
        "runner": {"plugin": "futures", "options": {"num_workers": 20}},
        "logging": {"enabled": False},
        "user_defined": {},
    }
    config_file = directory / "config.yaml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    # as nrb lab reads them: each host's platform (IOS or EOS) comes from its groups
    devices = devices_from_nornir(InitNornir(config_file=str(config_file)))
    return LabInventory(
        directory=directory,
        config_file=config_file,
        hosts=tuple(hosts),
        username=defaults["username"],
        password=defaults["password"],
        ports={name: host["port"] for name, host in hosts.items()},
        platforms={device.name: device.platform for device in devices},
        lab=Lab(devices),
    )


@pytest.fixture(scope="session")
def free_ports() -> Callable[..., list[int]]:
    """``free_ports(count, address="127.0.0.1")``: distinct ports free right now."""
    return pick_free_ports


@pytest.fixture(scope="session")
def lab_project_writer() -> Callable[..., LabInventory]:
    """:func:`write_lab_project`: ``(directory, ports=None, password=None)``, a stopped lab."""
    return write_lab_project


@pytest.fixture(scope="session")
def lab_inventory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabInventory]:
    project = write_lab_project(tmp_path_factory.mktemp("lab"))
    with project.lab:
        yield project


@pytest.fixture(scope="session")
def lab_runbooks(lab_inventory: LabInventory) -> Path:
    """A copy of the shipped ``runbooks/`` in the lab project folder (where ``config.yaml`` is)."""
    target = lab_inventory.directory / "runbooks"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(SHIPPED_RUNBOOKS, target, ignore=ignore, dirs_exist_ok=True)
    return target


@pytest.fixture
def make_nornir(lab_inventory: LabInventory) -> Iterator[Callable[..., Nornir]]:
    made: list[Nornir] = []

    def make(runner_plugin: str = LAB_RUNNER, **runner_options: Any) -> Nornir:
        nr = InitNornir(
            config_file=str(lab_inventory.config_file),
            runner={"plugin": runner_plugin, "options": runner_options},
        )
        made.append(nr)
        return nr

    yield make
    for nr in made:
        nr.close_connections(on_good=True, on_failed=True)
