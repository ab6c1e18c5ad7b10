"""The ``nrb`` command: argument parsing and wiring only."""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import math
import os
import re
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext, suppress
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn, TextIO, cast

from rich.console import Console

from nornir_runbook.display import plural, printable
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


def _selection_args(p: argparse.ArgumentParser, verbose: str) -> None:
    _config_arg(p)
    p.add_argument(
        "-l",
        "--limit",
        metavar="PATTERN",
        help="Ansible host pattern over host and group names: a:b, a:&b, a:!b, r*, ~re, @file",
    )
    p.add_argument(
        "-t",
        "--tags",
        action="append",
        default=[],
        metavar="T1,T2",
        help="only hosts tagged with any of these (each a tag some host has)",
    )
    p.add_argument(
        "--skip-tags",
        action="append",
        default=[],
        metavar="T1,T2",
        help="drop hosts tagged with any of these (each a tag some host has)",
    )
    p.add_argument(
        "-F",
        "--filter",
        action="append",
        default=[],
        dest="filters",
        metavar="KEY=VALUE",
        help="only hosts whose attribute or (inherited) data KEY equals VALUE; repeatable",
    )
    p.add_argument("--ask-pass", action="store_true", help="prompt for the SSH password")
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help=verbose,
    )


def _config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-c",
        "--config",
        default="config.yaml",
        type=Path,
        help="Nornir config file (default: ./config.yaml)",
    )


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
    run.add_argument("runbook", type=Path, help="the runbook file (YAML)")
    _selection_args(
        run, "-v: step outputs and whole errors; -vv: durations and INFO logs; -vvv: debug logs"
    )
    run.add_argument("-w", "--workers", type=_whole(1), metavar="N", help="concurrent hosts")
    run.add_argument(
        "--strategy",
        choices=[s.value for s in Strategy],
        help="linear: every host finishes a step before the next; free: each host on its own",
    )
    run.add_argument(
        "--executor", choices=["thread", "process", "dask"], help="where hosts run (thread)"
    )
    run.add_argument(
        "--dask-address", metavar="ADDR", help="dask.distributed scheduler for --executor dask"
    )
    run.add_argument(
        "--task-timeout",
        type=_seconds,
        metavar="S",
        help="seconds; a host still running past it fails with a timeout",
    )
    run.add_argument(
        "--retries", type=_whole(0), metavar="N", help="re-run a host that could not connect"
    )
    run.add_argument(
        "--max-fail-percentage",
        type=_percentage,
        metavar="P",
        help="past P%% failed hosts, hosts not yet started are skipped",
    )
    run.add_argument(
        "--serial", metavar="N|P%", help="rolling batches: a count N or a percentage P%%"
    )
    run.add_argument("--dry-run", action="store_true", help="render commands, connect nowhere")
    run.add_argument("--list-hosts", action="store_true", help="print the selected hosts and stop")
    run.add_argument("--list-steps", action="store_true", help="print the steps and stop")
    run.add_argument(
        "-o",
        "--output",
        choices=["text", "json", "yaml", "jsonl"],
        help="output format (default: text on a terminal, else json)",
    )
    run.add_argument(
        "--save", type=Path, metavar="DIR", help="also write the report and outputs to DIR/<run id>"
    )
    run.add_argument("--lab", action="store_true", help="start the inventory's fake devices")
    run.add_argument(
        "--host-key-checking",
        choices=MODES,
        help="SSH host keys against ~/.ssh/known_hosts: accept-new (default) records a new "
        "host's key and refuses a changed one, strict refuses unknown keys too, off checks none",
    )

    validate = sub.add_parser("validate", help="check runbooks without connecting")
    validate.add_argument("runbooks", nargs="+", type=Path, help="runbook files (YAML)")
    _config_arg(validate)

    inventory = sub.add_parser("inventory", help="show the inventory")
    _selection_args(inventory, "-vv: INFO logs; -vvv: debug logs")
    view = inventory.add_mutually_exclusive_group()
    view.add_argument("--graph", action="store_true", help="groups and hosts as a tree (default)")
    view.add_argument("--list", action="store_true", help="JSON, as ansible-inventory --list")

    tasks = sub.add_parser("tasks", help="list available tasks")
    _config_arg(tasks)

    lab = sub.add_parser("lab", help="run the inventory's lab devices until Ctrl-C")
    _config_arg(lab)
    lab.add_argument("--processes", type=int, help="device processes (default: automatic)")
    return parser


class GuardedStdout:
    """stdout that never raises, so that what goes wrong with it never stops a run half-way.

    A write that fails (a reader that closed the pipe, ``nrb ... | head``; a full disk) is kept
    in ``failure``, and every later write is dropped: the run goes on to its end and ``--save``
    gets everything; :meth:`exit_code` then makes it 141 or 5. A character that stdout's
    encoding cannot show is written escaped (``\\xe9``, as json and yaml output write it), and
    ``escaped`` says so.

    Text is encoded here and written to the stream's binary buffer until all of it is taken:
    a ``TextIOWrapper`` ignores a short write (a pipe whose reader left during a long write) and
    would drop the rest unnoticed.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.encoding = stream.encoding
        self.failure: OSError | None = None
        self.escaped = False

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self.failure is None:
            try:
                self._write(text)
            except OSError as exc:
                self._fail(exc)
        return len(text)

    def _write(self, text: str) -> None:
        buffer = getattr(self._stream, "buffer", None)
        if buffer is None:  # a stream of text only
            self._stream.write(text)
            return
        try:
            data = text.encode(self.encoding, self._stream.errors or "strict")
        except UnicodeEncodeError:
            self.escaped = True
            data = text.encode(self.encoding, "backslashreplace")
        self._stream.flush()  # what was written to the stream itself goes first
        view = memoryview(data)
        while view:  # a pipe closed during a long write takes part of it and returns
            written = buffer.write(view)
            if not written:
                raise OSError(errno.EIO, "stdout takes nothing")
            view = view[written:]

    def flush(self) -> None:
        if self.failure is None:
            try:
                self._stream.flush()  # its buffer too
            except OSError as exc:
                self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        self.failure = exc
        # what is still buffered goes nowhere, also when Python flushes stdout at exit
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def exit_code(self, code: int, err: Console) -> int:
        """``code``, or 141 (stdout closed) or 5 (stdout failed) unless interrupted; says why on
        ``err``."""
        self.flush()
        if self.escaped:
            message = (
                f"nrb: note: stdout's encoding ({self.encoding}) cannot show some characters; "
                "they are written escaped (\\xe9)"
            )
            err.print(message, markup=False, highlight=False)
        if self.failure is None:
            return code
        if isinstance(self.failure, BrokenPipeError):
            err.print("nrb: stdout was closed; output after that went nowhere", markup=False)
            failed = ExitCode.BROKEN_PIPE
        else:
            reason = self.failure.strerror or str(self.failure)
            err.print(f"nrb: cannot write to stdout: {reason}", markup=False, highlight=False)
            failed = ExitCode.INVALID_INPUT
        return code if code in (ExitCode.INTERRUPTED, ExitCode.TERMINATED) else failed


def main(argv: Sequence[str] | None = None) -> int:
    """The ``nrb`` command: its exit code."""
    _signals.received = 0
    code = _main(argv)
    if _signals.received and _threads_left():
        # a host whose task does not read a session (a plugin's own wait) cannot be stopped
        # from here: once what finished is printed and saved, an interrupted nrb leaves it
        for stream in (sys.stdout, sys.stderr):
            with suppress(OSError):  # a closed pipe has nothing left to take
                stream.flush()
        os._exit(code)
    return code


def _threads_left() -> bool:
    """Whether a thread would keep the process from ending (a host still running)."""
    main_thread = threading.main_thread()
    return any(t is not main_thread and not t.daemon for t in threading.enumerate())


def _main(argv: Sequence[str] | None) -> int:
    stdout = GuardedStdout(sys.stdout)
    out = Console(file=cast(TextIO, stdout), soft_wrap=True, emoji=False)
    err = Console(stderr=True, soft_wrap=True, emoji=False)
    redactor = Redactor()
    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, _signals.handle)}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not if started ignored
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, _signals.handle)
    try:
        args = build_parser().parse_args(argv)
        _setup_logging(args.verbose if hasattr(args, "verbose") else 0, redactor)
        from nornir_runbook import commands  # noqa: PLC0415 -- keep `nrb --help` fast

        return stdout.exit_code(commands.dispatch(args, out, err, redactor), err)
    except InputError as exc:  # quotes runbooks and inventories: control characters escaped
        err.print(printable(redactor.scrub(str(exc))), markup=False, highlight=False)
        return ExitCode.INVALID_INPUT
    except LabError as exc:
        err.print(f"lab: {redactor.scrub(str(exc))}", markup=False, highlight=False)
        return ExitCode.INVALID_INPUT
    except MissingDependencyError as exc:
        err.print(str(exc), markup=False, highlight=False)
        return ExitCode.INVALID_INPUT
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
    err.print(f"lab: starting {plural(len(devices), 'fake device')}", markup=False)
    return Lab(devices)


def collect_secrets(redactor: Redactor, nr: Any) -> None:
    redactor.add(inventory_secrets(nr))
