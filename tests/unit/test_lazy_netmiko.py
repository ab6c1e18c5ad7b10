"""netmiko's Genie import waits until netmiko parses with Genie (nornir_runbook.lazy)."""

from __future__ import annotations

import json
import subprocess
import sys

CLOCK = "*10:20:30.123 UTC Mon Dec 2 2026"
PARSE_CLOCK = (
    "import json, sys\n"
    "import netmiko.utilities as u\n"
    "before = sorted({m.split('.')[0] for m in sys.modules} & {'genie', 'pyats'})\n"
    f"parsed = u.get_structured_data_genie({CLOCK!r}, platform='cisco_ios', command='show clock')\n"
    "print(json.dumps([before, u.GENIE_INSTALLED, parsed]))\n"
)


def _run(code: str) -> list[object]:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    result: list[object] = json.loads(done.stdout)
    return result


def test_netmiko_loaded_after_nornir_runbook_imports_no_genie() -> None:
    before, installed, _ = _run("import nornir_runbook\n" + PARSE_CLOCK)

    assert before == []
    assert installed is True


def test_netmikos_genie_parsing_is_what_it_is_without_nornir_runbook() -> None:
    _, installed, parsed = _run("import nornir_runbook\n" + PARSE_CLOCK)
    alone_before, alone_installed, alone_parsed = _run(PARSE_CLOCK)

    assert alone_before == ["genie", "pyats"]  # netmiko by itself imports Genie at once
    assert (installed, parsed) == (alone_installed, alone_parsed)
    assert parsed == {
        "time": "10:20:30.123",
        "timezone": "UTC",
        "day_of_week": "Mon",
        "month": "Dec",
        "day": "2",
        "year": "2026",
    }


def test_nornir_runbook_imported_after_netmiko_leaves_it_as_it_is() -> None:
    before, installed, parsed = _run("import netmiko\nimport nornir_runbook\n" + PARSE_CLOCK)

    assert before == ["genie", "pyats"]
    assert installed is True
    assert isinstance(parsed, dict)
