"""Ctrl-C and SIGTERM never cut an output in the middle of an event (``cli.signals._Signals``).

The signals here are real (``signal.raise_signal``) and reach the handler nrb installs; each test
puts the previous handlers back.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from nornir_runbook.cli import signals as cli_signals
from nornir_runbook.errors import ExitCode


@pytest.fixture
def signals() -> Iterator[cli_signals._Signals]:
    held = cli_signals._Signals()
    previous = {s: signal.signal(s, held.handle) for s in (signal.SIGINT, signal.SIGTERM)}
    yield held
    for signum, handler in previous.items():
        signal.signal(signum, handler)
    cli_signals._terminated.clear()


def test_a_signal_while_the_sink_runs_is_raised_once_it_returns(
    signals: cli_signals._Signals,
) -> None:
    seen: list[str] = []

    def sink(event: str) -> None:
        seen.append(f"{event} begun")
        signal.raise_signal(signal.SIGINT)
        seen.append(f"{event} written")  # the signal waits for this

    with pytest.raises(KeyboardInterrupt):
        signals.hold(sink)("r1")

    assert seen == ["r1 begun", "r1 written"]
    assert signals.pending is None
    assert not cli_signals._terminated


def test_sigterm_is_held_too_and_ends_as_terminated(signals: cli_signals._Signals) -> None:
    seen: list[str] = []

    def sink(event: str) -> None:
        signal.raise_signal(signal.SIGTERM)
        seen.append(event)

    with pytest.raises(cli_signals.Terminated):
        signals.hold(sink)("r2")

    assert seen == ["r2"]
    assert cli_signals.interrupted_code() == ExitCode.TERMINATED


def test_outside_the_sink_a_signal_is_raised_at_once(signals: cli_signals._Signals) -> None:
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)

    assert signals.holding == 0


def test_a_sink_that_fails_lets_its_error_through_and_holds_nothing(
    signals: cli_signals._Signals,
) -> None:
    def sink(event: str) -> None:
        raise ValueError(event)

    with pytest.raises(ValueError, match="r3"):
        signals.hold(sink)("r3")

    assert (signals.holding, signals.pending) == (0, None)
    seen: list[str] = []
    signals.hold(seen.append)("r4")  # no signal came: nothing is raised
    assert seen == ["r4"]
