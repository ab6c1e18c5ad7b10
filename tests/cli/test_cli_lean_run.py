"""What a plain ``nrb run`` loads: a runbook without templates or expressions, its output a
document to a pipe (no live line), runs against the lab without importing Jinja2 or rich's
progress display, and paramiko checks packet MACs in C (``runner.fastmac``). A hook around
``python -m nornir_runbook`` writes the modules it ended with, and paramiko's MAC check.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_kit import TIMEOUT, Nrb, WriteRunbook, clean_env

pytestmark = pytest.mark.cli

# nrb as `python -m nornir_runbook ARGS`, then the names in sys.modules written to a file
HOOK = (
    "import json, runpy, sys\n"
    "report = sys.argv.pop(1)\n"
    "try:\n"
    "    runpy.run_module('nornir_runbook', run_name='__main__', alter_sys=True)\n"
    "finally:\n"
    "    util = sys.modules.get('paramiko.util')\n"
    "    fast = getattr(getattr(util, 'constant_time_bytes_eq', None), 'fastmac', False)\n"
    "    with open(report, 'w') as f:\n"
    "        json.dump({'modules': sorted(sys.modules), 'fastmac': fast}, f)\n"
)
PLAIN = """
    name: Everyday
    steps:
      - name: Clock and version
        commands: [show clock, show version]
    """
TEMPLATED = """
    name: Everyday, templated
    steps:
      - name: Clock and version
        commands: [show clock, "show {{ 'version' }}"]
    """
LAZY = ("jinja2", "markupsafe", "rich.progress")


def run_reporting_modules(nrb: Nrb, runbook: Path) -> tuple[dict[str, Any], set[str]]:
    """``nrb run RUNBOOK -l core -o json``: its document, and the modules it imported (with
    ``fastmac`` among them when paramiko's MAC check was the one in C)."""
    report = runbook.with_suffix(".modules.json")
    argv = ["run", str(runbook), "-c", str(nrb.config), "-l", "core", "-o", "json"]
    ran = subprocess.run(
        [sys.executable, "-c", HOOK, str(report), *argv],
        cwd=nrb.cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr[-1500:]
    seen = json.loads(report.read_text())
    return json.loads(ran.stdout), {*seen["modules"], *(["fastmac"] if seen["fastmac"] else [])}


def test_a_runbook_without_templates_runs_without_jinja2_or_a_progress_display(
    nrb: Nrb, write_runbook: WriteRunbook
) -> None:
    doc, modules = run_reporting_modules(nrb, write_runbook(PLAIN))

    assert doc["summary"]["ok"] == doc["summary"]["hosts"] > 0
    for host in doc["hosts"].values():
        assert "Cisco IOS Software" in host["steps"][0]["result"]["show version"]
    assert "nornir_runbook.run.engine" in modules  # the hook saw the whole run
    assert sorted(m for m in modules if m.split(".")[0] in LAZY or m in LAZY) == []
    assert "fastmac" in modules


def test_a_template_loads_jinja2_and_renders_as_before(
    nrb: Nrb, write_runbook: WriteRunbook
) -> None:
    doc, modules = run_reporting_modules(nrb, write_runbook(TEMPLATED))

    assert doc["summary"]["ok"] == doc["summary"]["hosts"] > 0
    for host in doc["hosts"].values():
        assert "Cisco IOS Software" in host["steps"][0]["result"]["show version"]
    assert {"jinja2", "nornir_runbook.runbook.sandbox"} <= modules
    assert "rich.progress" not in modules
