"""The suite's own guards: a hung test fails by itself instead of stalling the whole run."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]


def test_the_project_sets_a_per_test_time_limit() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    limit = int(config["tool"]["pytest"]["ini_options"]["timeout"])
    assert 60 <= limit <= 600  # past the slowest test on two busy cores, far below CI's limit
    assert any(
        d.startswith("pytest-timeout") for d in config["project"]["optional-dependencies"]["test"]
    )


def test_a_hung_test_fails_with_a_timeout(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ntimeout = 2\n")
    pytester.makepyfile(
        test_hangs="""
        import threading

        def test_waits_for_nothing():
            threading.Event().wait(120)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=60)
    result.assert_outcomes(failed=1)
    assert "Timeout" in result.stdout.str()
