"""The package's layers (cli -> run -> runbook -> project -> runner -> tasks -> errors) and the
absence of import cycles, as the import-linter contracts in pyproject.toml state them.

``lint-imports`` reads the source, imports inside functions and under TYPE_CHECKING included.
The contracts are also checked against copies of the package with one deliberate violation, so
that a contract that no longer catches anything fails here too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
TIMEOUT = 120


def lint_imports(src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}  # before the installed copy on sys.path
    return subprocess.run(
        [str(LINT_IMPORTS), str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_every_import_points_down_and_no_package_has_a_cycle() -> None:
    ran = lint_imports(SRC)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "2 kept, 0 broken" in ran.stdout


def _broken_copy(tmp_path: Path, module: str, line: str) -> Path:
    """A copy of the package where ``module`` (relative to it) also has ``line`` at its end."""
    copy = tmp_path / "src"
    shutil.copytree(
        SRC / "nornir_runbook",
        copy / "nornir_runbook",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    path = copy / "nornir_runbook" / module
    path.write_text(path.read_text() + f"\n\ndef _deliberate() -> None:\n    {line}\n")
    return copy


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # a bottom layer reaching up, inside a function
        ("errors.py", "import nornir_runbook.cli.app", "Layers: every import points down BROKEN"),
        # the inventory layer reaching up into runbooks
        (
            "project/selection.py",
            "from nornir_runbook.runbook import model",
            "Layers: every import points down BROKEN",
        ),
        # the runner's guard importing the runner back (the cycle there once was)
        (
            "runner/guard.py",
            "from nornir_runbook.runner import futures",
            "No cycles: the modules of each package import each other one way only BROKEN",
        ),
        # what the commands share calling back into a command
        (
            "cli/common.py",
            "from nornir_runbook.cli import run",
            "No cycles: the modules of each package import each other one way only BROKEN",
        ),
    ],
)
def test_a_deliberate_violation_breaks_a_contract(
    tmp_path: Path, module: str, line: str, broken: str
) -> None:
    ran = lint_imports(_broken_copy(tmp_path, module, line))

    assert ran.returncode != 0, ran.stdout
    assert broken in ran.stdout, ran.stdout
