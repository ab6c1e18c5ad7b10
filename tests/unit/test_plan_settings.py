"""Settings of a run: every runner option of config.yaml and of a runbook's ``options:`` is
carried into them, the runbook's on top (``plan.settings_from``)."""

from __future__ import annotations

from typing import Any

import pytest

from nornir_runbook.run.plan import Settings, settings_from
from nornir_runbook.runbook.loader import parse_runbook
from nornir_runbook.runner.options import CHECKS

# a value unlike the default for each runner option config.yaml accepts
CONFIG_VALUES: dict[str, Any] = {
    "num_workers": 3,
    "executor": "process",
    "dask_address": "127.0.0.1:8786",
    "task_timeout": 31.0,
    "retries": 1,
    "retry_backoff": 0.25,
    "max_fail_percentage": 50.0,
    "connect_limit": 2,
    "group_limits": {"core": 2},
    "grace_period": 7.0,
    "keep_sessions": 600.0,
}
RUNBOOK = "name: t\nsteps: [{task: echo}]\n"


def value(settings: Settings, option: str) -> Any:
    """``option`` (config.yaml's name) as the settings hold it."""
    return (
        getattr(settings, option)
        if option == "max_fail_percentage"
        else getattr(settings.runner, option)
    )


def test_there_is_a_value_for_every_runner_option() -> None:
    assert sorted(CONFIG_VALUES) == sorted(CHECKS)


@pytest.mark.parametrize("option", list(CONFIG_VALUES))
def test_every_config_option_is_carried(option: str) -> None:
    settings = settings_from({option: CONFIG_VALUES[option]}, parse_runbook(RUNBOOK))
    assert value(settings, option) == CONFIG_VALUES[option]
    assert value(Settings(), option) != CONFIG_VALUES[option]


def test_the_runbook_wins_over_config_and_null_leaves_config_alone() -> None:
    runbook = parse_runbook(
        "name: t\noptions: {workers: 4, grace_period: 8, connect_limit: ~}\nsteps: [{task: echo}]\n"
    )
    settings = settings_from(CONFIG_VALUES, runbook)
    assert (settings.runner.num_workers, settings.runner.grace_period) == (4, 8.0)
    assert settings.runner.connect_limit == CONFIG_VALUES["connect_limit"]
    assert settings.runner.executor == CONFIG_VALUES["executor"]
