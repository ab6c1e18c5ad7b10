"""The ``nrb`` command: argument parsing and wiring only."""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from rich.console import Console

from nornir_runbook.errors import (
    InputError,
    LabError,
    MissingDependencyError,
    RunbookToolError,
    UsageError,
)
from nornir_runbook.hostkeys import MODES
from nornir_runbook.model import Serial, Strategy
from nornir_runbook.redact import RedactingFilter, Redactor, inventory_secrets
from nornir_runbook.results import ExitCode

log = logging.getLogger("nornir_runbook")


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError (exit 5) instead of exiting 2."""

    def error(self, message: str) -> Any:
        raise UsageError(f"{self.prog}: {message}")


def _selection_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", default="config.yaml", type=Path, help="Nornir config file")
    p.add_argument("-l", "--limit", help="Ansible host pattern: a:b, a:&b, a:!b, r*, ~re, @file")
    p.add_argument("-t", "--tags", action="append", default=[], help="hosts tagged with any")
    p.add_argument("--skip-tags", action="append", default=[], help="drop hosts tagged with any")
    p.add_argument(
        "-F", "--filter", action="append", default=[], dest="filters", metavar="KEY=VALUE"
    )
    p.add_argument("--ask-pass", action="store_true", help="prompt for the SSH password")
    p.add_argument("-v", "--verbose", action="count", default=0)


def _whole(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum`` (as the runbook's options)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            message = f"expected a whole number of {minimum} or more, not {text!r}"
            raise argparse.ArgumentTypeError(message)
        return value

    return parse


def _number(text: str, low: float, high: float, *, low_open: bool, expected: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    in_range = (low < value if low_open else low <= value) and value <= high
    if not (math.isfinite(value) and in_range):
        raise argparse.ArgumentTypeError(f"expected {expected}, not {text!r}")
    return value


def _seconds(text: str) -> float:
    return _number(text, 0, math.inf, low_open=True, expected="a number of seconds greater than 0")


def _percentage(text: str) -> float:
    return _number(text, 0, 100, low_open=False, expected="a number from 0 to 100")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nrb", description="Run YAML runbooks of device commands on Nornir.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run a runbook")
    run.add_argument("runbook", type=Path)
    _selection_args(run)
    run.add_argument("-w", "--workers", type=_whole(1))
    run.add_argument("--strategy", choices=[s.value for s in Strategy])
    run.add_argument("--executor", choices=["thread", "process", "dask"])
    run.add_argument("--dask-address")
    run.add_argument("--task-timeout", type=_seconds)
    run.add_argument("--retries", type=_whole(0))
    run.add_argument("--max-fail-percentage", type=_percentage)
    run.add_argument("--serial", help="rolling batches: a count N or a percentage P%%")
    run.add_argument("--dry-run", action="store_true", help="render commands, connect nowhere")
    run.add_argument("--list-hosts", action="store_true")
    run.add_argument("--list-steps", action="store_true")
    run.add_argument("-o", "--output", choices=["text", "json", "yaml", "jsonl"])
    run.add_argument("--save", type=Path, metavar="DIR")
    run.add_argument("--lab", action="store_true", help="start the inventory's fake devices")
    run.add_argument(
        "--host-key-checking",
        choices=MODES,
        help="SSH host keys against ~/.ssh/known_hosts: accept-new (default) records a new "
        "host's key and refuses a changed one, strict refuses unknown keys too, off checks none",
    )

    validate = sub.add_parser("validate", help="check runbooks without connecting")
    validate.add_argument("runbooks", nargs="+", type=Path)
    validate.add_argument("-c", "--config", default="config.yaml", type=Path)

    inventory = sub.add_parser("inventory", help="show the inventory")
    _selection_args(inventory)
    view = inventory.add_mutually_exclusive_group()
    view.add_argument("--graph", action="store_true")
    view.add_argument("--list", action="store_true")

    tasks = sub.add_parser("tasks", help="list available tasks")
    tasks.add_argument("-c", "--config", default="config.yaml", type=Path)

    lab = sub.add_parser("lab", help="run the inventory's lab devices until Ctrl-C")
    lab.add_argument("-c", "--config", default="config.yaml", type=Path)
    lab.add_argument("--processes", type=int, help="device processes (default: automatic)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0911 -- one return per outcome
    out = Console(soft_wrap=True, emoji=False)
    err = Console(stderr=True, soft_wrap=True, emoji=False)
    redactor = Redactor()
    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, _signals.handle)}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not if started ignored
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, _signals.handle)
    try:
        args = build_parser().parse_args(argv)
        _setup_logging(args.verbose if hasattr(args, "verbose") else 0, redactor)
        from nornir_runbook import commands  # noqa: PLC0415 -- keep `nrb --help` fast

        return int(commands.dispatch(args, out, err, redactor))
    except InputError as exc:
        err.print(redactor.scrub(str(exc)), markup=False, highlight=False)
        return ExitCode.INVALID_INPUT
    except LabError as exc:
        err.print(f"lab: {redactor.scrub(str(exc))}", markup=False, highlight=False)
        return ExitCode.INVALID_INPUT
    except MissingDependencyError as exc:
        err.print(str(exc), markup=False, highlight=False)
        return ExitCode.INVALID_INPUT
    except BrokenPipeError:  # stdout closed early (`nrb ... | head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.BROKEN_PIPE
    except KeyboardInterrupt as exc:
        err.print("interrupted", markup=False)
        return ExitCode.TERMINATED if isinstance(exc, _Terminated) else interrupted_code()
    except (RunbookToolError, Exception) as exc:  # noqa: BLE001 -- exit 1 is "a bug in nrb"
        text = "".join(traceback.format_exception(exc))
        err.print(f"nrb: internal error\n{redactor.scrub(text)}", markup=False, highlight=False)
        return ExitCode.BUG
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C but ending with exit code 143."""


_terminated: list[bool] = []  # non-empty once SIGTERM arrived


def _raise_for(signum: int) -> NoReturn:
    if signum == signal.SIGTERM:
        _terminated.append(True)
        raise _Terminated
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

    def handle(self, signum: int, frame: FrameType | None) -> None:
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


_signals = _Signals()
hold_signals = _signals.hold


def interrupted_code() -> ExitCode:
    """130 after Ctrl-C, 143 after SIGTERM."""
    return ExitCode.TERMINATED if _terminated else ExitCode.INTERRUPTED


def _setup_logging(verbose: int, redactor: Redactor) -> None:
    level = logging.WARNING if verbose < 2 else logging.INFO if verbose == 2 else logging.DEBUG  # noqa: PLR2004
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter(redactor))
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # host failures are in the report; Nornir's and paramiko's tracebacks of them only at -vvv
    quiet = logging.DEBUG if verbose >= 3 else logging.CRITICAL  # noqa: PLR2004
    for noisy in ("nornir.core.task", "paramiko", "fakenos"):
        logging.getLogger(noisy).setLevel(quiet)


def parse_serial(text: str | None) -> Serial | None:
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d{1,9}(?:\.\d{1,6})?)\s*(%?)\s*", text)
    if not match:
        shown = text if len(text) <= 40 else text[:40] + "..."  # noqa: PLR2004
        raise UsageError(f"--serial: expected a count N or a percentage P%, not {shown!r}")
    value, percent = match.groups()
    if percent:
        if not 0 < float(value) <= 100:  # noqa: PLR2004
            raise UsageError(f"--serial: a percentage must be in (0, 100], not {text!r}")
        return Serial(percent=float(value))
    if "." in value or int(value) < 1:
        raise UsageError(f"--serial: a count must be a whole number of at least 1, not {text!r}")
    return Serial(count=int(value))


def lab_context(
    enabled: bool, nr: Any, hosts: Sequence[str], err: Console
) -> AbstractContextManager[Any]:
    """The lab devices for ``hosts`` while the run lasts, or nothing."""
    if not enabled or not hosts:
        return nullcontext()
    from nornir_runbook.lab import Lab, devices_from_nornir  # noqa: PLC0415

    devices = devices_from_nornir(nr, hosts)
    err.print(f"lab: starting {len(devices)} fake devices", markup=False)
    return Lab(devices)


def collect_secrets(redactor: Redactor, nr: Any) -> None:
    redactor.add(inventory_secrets(nr))
