"""The bad-input fuzzers (helpers in ``nrb_fuzz_harness.py``).

At the end of a session that ran any of them, the number of cases each property ran is printed
(``fuzz cases: ...``, by the root conftest.py, gathered from every xdist worker);
``--hypothesis-show-statistics`` adds hypothesis' own figures and the share of each outcome
(exit code) per property.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # nrb_fuzz_harness, whatever pytest's import mode

from nrb_fuzz_harness import CASES


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In a pytest-xdist worker: hand this worker's counts to the controller (the root
    conftest.py prints them all)."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["fuzz_cases"] = dict(CASES)
