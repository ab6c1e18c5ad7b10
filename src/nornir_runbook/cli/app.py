"""The ``nrb`` command: its consoles, signals, logging and exit codes around one subcommand."""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any, TextIO, cast

from nornir_runbook.cli.parser import build_parser
from nornir_runbook.cli.signals import process_signals

if TYPE_CHECKING:
    import argparse

    from rich.console import Console

    from nornir_runbook.redact import Redactor

    Command = Callable[[argparse.Namespace, Console, Console, Redactor], int]


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
        from nornir_runbook.errors import ExitCode  # noqa: PLC0415 - not for nrb --help

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
    process_signals.received = 0
    code = _main(argv)
    if process_signals.received and _threads_left():
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
    err: Console | None = None
    redactor: Redactor | None = None  # from the command line on: nrb --help needs none

    def say(text: str, *, highlight: bool = False) -> None:
        (err or _console(stderr=True)).print(text, markup=False, highlight=highlight)

    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, process_signals.handle)}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not if started ignored
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, process_signals.handle)
    try:
        args = build_parser(lazy=True).parse_args(argv)
        from nornir_runbook.redact import Redactor  # noqa: PLC0415 - not for nrb --help

        redactor = Redactor()
        out = _console(file=cast(TextIO, stdout))
        err = _console(stderr=True)
        _setup_logging(args.verbose if hasattr(args, "verbose") else 0, redactor)
        return stdout.exit_code(_dispatch(args, out, err, redactor), err)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - each has its exit code
        return _failed(exc, say, redactor.scrub if redactor is not None else str)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _failed(exc: BaseException, say: Callable[..., None], scrub: Callable[[str], str]) -> int:
    """What ``exc`` out of a command says on stderr, and its exit code."""
    from nornir_runbook.cli.signals import Terminated, interrupted_code  # noqa: PLC0415
    from nornir_runbook.errors import (  # noqa: PLC0415 - not for nrb --help
        ExitCode,
        InputError,
        LabError,
        MissingDependencyError,
    )
    from nornir_runbook.text import printable  # noqa: PLC0415

    if isinstance(exc, InputError):  # quotes runbooks and inventories: control characters escaped
        say(printable(scrub(str(exc))))
        return exc.exit_code
    if isinstance(exc, LabError):
        say(f"lab: {scrub(str(exc))}")
        return exc.exit_code
    if isinstance(exc, MissingDependencyError):
        say(str(exc))
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        say("interrupted", highlight=True)
        return ExitCode.TERMINATED if isinstance(exc, Terminated) else interrupted_code()
    import traceback  # noqa: PLC0415 - exit 1 is "a bug in nrb"

    text = "".join(traceback.format_exception(exc))
    say(f"nrb: internal error\n{scrub(text)}")
    return ExitCode.BUG


def _console(**kwargs: Any) -> Console:
    """A rich Console as nrb writes with; rich is imported only now (``nrb --help`` needs none)."""
    from rich.console import Console  # noqa: PLC0415

    return Console(soft_wrap=True, emoji=False, **kwargs)


def _setup_logging(verbose: int, redactor: Redactor) -> None:
    import logging  # noqa: PLC0415 - not for nrb --help

    from nornir_runbook.redact import RedactingFilter  # noqa: PLC0415

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


def _dispatch(args: argparse.Namespace, out: Console, err: Console, redactor: Redactor) -> int:
    """Run the subcommand: ``nornir_runbook.cli.<command>.cmd_<command>``, imported only now, so
    that ``nrb --help`` and ``nrb validate`` load no more than they use."""
    module = importlib.import_module(f"nornir_runbook.cli.{args.command}")
    handler: Command = getattr(module, f"cmd_{args.command}")
    return handler(args, out, err, redactor)
