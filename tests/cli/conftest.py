"""Fixtures of the CLI tests (the helpers themselves are in ``cli_kit.py``).

- ``nrb`` (function): an :class:`cli_kit.Nrb` whose ``-c`` is the session lab's
  ``config.yaml``, running in the test's ``tmp_path`` with no ``NRB_*`` variables.
- ``write_runbook`` (function): ``write_runbook(text, name="runbook.yaml")`` writes the
  dedented ``text`` into ``tmp_path`` and returns its path.
- ``make_project`` (function): ``make_project(closed=(...), folder="project")`` copies the lab
  project into ``tmp_path / folder`` with the ``closed`` hosts (``cli_kit.ALL``: every host) on
  ports where nothing listens; returns the copy's ``config.yaml``.
- ``mixed_project`` / ``mixed_runs`` (session): a project with ``mixed.yaml``
  (:data:`cli_kit.MIXED`) and MIXED_DOWN on a closed port; the runbook run on MIXED_HOSTS in
  every format at once: ``{"linear": Ran, "free": Ran, "yaml": Ran, "jsonl": Ran, "text": Ran}``
  (``linear`` and ``free`` are ``-o json``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # cli_kit, whatever pytest's import mode

from cli_kit import (
    MIXED,
    MIXED_DOWN,
    MIXED_LIMIT,
    Nrb,
    Ran,
    copy_project,
    run_many,
    write_text,
)


@pytest.fixture
def nrb(lab_inventory: Any, tmp_path: Path) -> Nrb:
    return Nrb(config=lab_inventory.config_file, cwd=tmp_path)


@pytest.fixture
def write_runbook(tmp_path: Path) -> Callable[..., Path]:
    def write(text: str, name: str = "runbook.yaml") -> Path:
        return write_text(tmp_path, text, name)

    return write


@pytest.fixture
def make_project(
    lab_inventory: Any, tmp_path: Path, free_ports: Callable[..., list[int]]
) -> Callable[..., Path]:
    def make(closed: Sequence[str] = (), folder: str = "project") -> Path:
        return copy_project(lab_inventory, tmp_path / folder, free_ports, closed)

    return make


@pytest.fixture(scope="session")
def mixed_project(
    lab_inventory: Any,
    tmp_path_factory: pytest.TempPathFactory,
    free_ports: Callable[..., list[int]],
) -> Path:
    folder = tmp_path_factory.mktemp("mixed")
    copy_project(lab_inventory, folder, free_ports, closed=(MIXED_DOWN,))
    write_text(folder, MIXED, "mixed.yaml")
    return folder


@pytest.fixture(scope="session")
def mixed_runs(mixed_project: Path) -> dict[str, Ran]:
    """MIXED on MIXED_HOSTS, all at once: ``-o json`` under each strategy, ``-o yaml``,
    ``-o jsonl`` and ``-o text`` (linear)."""
    nrb = Nrb(config=mixed_project / "config.yaml", cwd=mixed_project)
    base = ("run", "mixed.yaml", "-c", "config.yaml", "-l", MIXED_LIMIT)
    commands = {
        "linear": (*base, "-o", "json", "--strategy", "linear"),
        "free": (*base, "-o", "json", "--strategy", "free"),
        "yaml": (*base, "-o", "yaml"),
        "jsonl": (*base, "-o", "jsonl"),
        "text": (*base, "-o", "text"),
    }
    return run_many(nrb, commands, workers=len(commands))
