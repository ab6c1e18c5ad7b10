"""``--strategy linear`` and ``--strategy free`` run the same steps to the same outcomes: per-host
statuses, step lists, errors and command outputs agree (all but ``show clock``)."""

from __future__ import annotations

import re

import pytest
from cli_kit import (
    MIXED_DOWN,
    MIXED_HOSTS,
    MIXED_STEPS,
    MakeProject,
    Nrb,
    Ran,
    WriteRunbook,
    host_outcomes,
    run_many,
)

pytestmark = pytest.mark.cli


def test_linear_and_free_agree_host_by_host(mixed_runs: dict[str, Ran]) -> None:
    linear, free = mixed_runs["linear"], mixed_runs["free"]

    assert (linear.code, free.code) == (4, 4), (linear, free)
    linear_doc, free_doc = linear.json(), free.json()
    assert list(free_doc["hosts"]) == list(MIXED_HOSTS)  # inventory order under free too
    assert free_doc["summary"] == linear_doc["summary"]
    for host in MIXED_HOSTS:
        assert host_outcomes(free_doc)[host] == host_outcomes(linear_doc)[host], host


def test_an_unreachable_host_reports_the_runbook_steps_under_free(
    mixed_runs: dict[str, Ran],
) -> None:
    steps = mixed_runs["free"].json()["hosts"][MIXED_DOWN]["steps"]

    assert [(s["name"], s["status"]) for s in steps] == [
        ("Version", "unreachable"),
        ("Location", "skipped"),
        ("Facts", "skipped"),
        ("Edges may fail", "skipped"),
        ("Last", "skipped"),
    ]
    assert steps[0]["task"] == "send_commands"
    assert {s["name"] for s in steps} <= set(MIXED_STEPS)


def test_a_host_that_fails_after_a_device_step_keeps_its_results_under_free(
    nrb: Nrb, write_runbook: WriteRunbook, make_project: MakeProject
) -> None:
    config = make_project(closed=["fra-core-01"])
    runbook = write_runbook(
        """
        name: Echo first
        steps:
          - {name: Echo, task: echo, args: {who: "{{ host.name }}"}}
          - {name: Clock, commands: [show clock]}
          - {name: After, task: echo, args: {x: "1"}}
        """
    )

    runs = run_many(
        nrb,
        {
            strategy: (
                "run",
                runbook,
                "-c",
                config,
                "-l",
                "fra-core-01",
                "-o",
                "json",
                "--strategy",
                strategy,
            )
            for strategy in ("linear", "free")
        },
    )

    for strategy, ran in runs.items():
        assert ran.code == 4, ran
        steps = ran.json()["hosts"]["fra-core-01"]["steps"]
        assert [(s["name"], s["status"], s["result"]) for s in steps] == [
            ("Echo", "ok", {"who": "fra-core-01"}),
            ("Clock", "unreachable", None),
            ("After", "skipped", None),
        ], strategy


def test_the_command_line_strategy_overrides_the_runbook(
    nrb: Nrb, write_runbook: WriteRunbook
) -> None:
    runbook = write_runbook(
        """
        name: Strategy
        options: {strategy: free}
        steps:
          - {name: First, task: echo, args: {n: "1"}}
          - {name: Second, task: echo, args: {n: "2"}}
        """
    )

    base = ("run", runbook, "-c", nrb.config, "-l", "ams-core-01:ams-core-02", "-o", "text")
    free, linear = run_many(nrb, {"free": base, "linear": (*base, "--strategy", "linear")}).values()

    assert (free.code, linear.code) == (0, 0), (free, linear)
    banners = re.compile(r"^STEP \d/2 \[(\w+)\]", re.MULTILINE)
    assert banners.findall(linear.out) == ["First", "Second"]  # linear: step by step
    outcomes = re.compile(r"^ok: \[(\S+)\]", re.MULTILINE)
    assert sorted(outcomes.findall(linear.out)) == [
        "ams-core-01",
        "ams-core-01",
        "ams-core-02",
        "ams-core-02",
    ]
    assert banners.findall(free.out) == []  # free: a line per host
    assert sorted(outcomes.findall(free.out)) == ["ams-core-01", "ams-core-02"]
