"""SIGINT and SIGTERM during ``nrb``: raised in the main thread, held back while an output takes an
event, and the exit code they end with (130, 143)."""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from nornir_runbook.errors import ExitCode


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C but ending with exit code 143."""


_terminated: list[bool] = []  # non-empty once SIGTERM arrived


def _raise_for(signum: int) -> NoReturn:
    if signum == signal.SIGTERM:
        _terminated.append(True)
        raise Terminated
    raise KeyboardInterrupt


class _Signals:
    """SIGINT and SIGTERM as exceptions in the main thread, held back while an output takes an
    event.

    Python raises a signal's exception between any two bytecodes: one that landed while an
    output was taking an event (printing its jsonl line, saving its host file) would lose that
    event, since the engine has already counted it as delivered. :meth:`hold` wraps the event
    sink: a signal that arrives while the sink runs is raised as soon as the sink returns.
    """

    def __init__(self) -> None:
        self.holding = 0
        self.pending: int | None = None
        self.received = 0  # signals so far

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.received += 1
        if self.holding:
            self.pending = signum
            return
        _raise_for(signum)

    def hold(self, sink: Callable[[Any], None]) -> Callable[[Any], None]:
        def held(event: Any) -> None:
            self.holding += 1
            try:
                sink(event)
            finally:
                self.holding -= 1
            if not self.holding and self.pending is not None:
                signum, self.pending = self.pending, None
                _raise_for(signum)

        return held


process_signals = _Signals()  # the handlers nrb installs for SIGINT and SIGTERM
hold_signals = process_signals.hold


def interrupted_code() -> ExitCode:
    """130 after Ctrl-C, 143 after SIGTERM."""
    from nornir_runbook.errors import ExitCode  # noqa: PLC0415 - not for nrb --help

    return ExitCode.TERMINATED if _terminated else ExitCode.INTERRUPTED
