"""The bad-input fuzzers (helpers in ``nrb_fuzz_harness.py``).

At the end of a session that ran any of them, the number of cases each property ran is printed
(``fuzz cases: ...``); ``--hypothesis-show-statistics`` adds hypothesis' own figures and the
share of each outcome (exit code) per property.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # nrb_fuzz_harness, whatever pytest's import mode

from nrb_fuzz_harness import CASES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if CASES:
        total = sum(CASES.values())
        terminalreporter.write_sep("-", f"fuzz cases: {total}")
        for name, cases in sorted(CASES.items()):
            terminalreporter.write_line(f"{cases:6d}  {name}")
