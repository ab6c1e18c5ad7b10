"""``cli.GuardedStdout``: a stdout that fails is remembered, never raised; exit 141 or 5."""

from __future__ import annotations

import contextlib
import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from nornir_runbook.cli.app import GuardedStdout


@pytest.fixture
def err() -> Console:
    return Console(file=io.StringIO(), width=100, color_system=None)


def said(err: Console) -> str:
    file = err.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


@pytest.fixture
def pipe() -> Iterator[tuple[int, io.TextIOWrapper]]:
    """A real pipe: its read end, and its write end as a text stream."""
    read, write = os.pipe()
    stream = io.TextIOWrapper(os.fdopen(write, "wb"), encoding="utf-8")
    yield read, stream
    with contextlib.suppress(OSError):  # a closed pipe: what is still buffered cannot go
        stream.close()
    with contextlib.suppress(OSError):  # the test closed it
        os.close(read)


def test_a_pipe_closed_by_its_reader_is_exit_141_and_drops_the_rest(
    pipe: tuple[int, io.TextIOWrapper], err: Console
) -> None:
    read, stream = pipe
    guard = GuardedStdout(stream)
    guard.write("first\n")
    guard.flush()
    assert os.read(read, 100) == b"first\n"
    os.close(read)  # no reader left

    assert guard.write("second\n") == len("second\n")  # no exception
    guard.flush()
    assert isinstance(guard.failure, BrokenPipeError)
    guard.write("third\n")

    assert guard.exit_code(2, err) == 141
    assert "nrb: stdout was closed" in said(err)


def test_a_reader_that_leaves_during_a_long_write_is_noticed(
    pipe: tuple[int, io.TextIOWrapper], err: Console
) -> None:
    """The reader takes a few bytes of a 1 MiB write and leaves: the pipe took part of it (at
    most 64 KiB more), the rest fails. (A short write that ``TextIOWrapper`` would drop
    unnoticed is in tests/cli/test_cli_stdout.py, json case.)"""
    read, stream = pipe
    guard = GuardedStdout(stream)

    def head() -> None:
        os.read(read, 10)
        os.close(read)

    reader = threading.Thread(target=head)
    reader.start()
    guard.write("x" * (1 << 20))  # blocks while the pipe is full, until the reader has gone
    reader.join()

    assert isinstance(guard.failure, BrokenPipeError)
    assert guard.exit_code(0, err) == 141


def test_a_full_device_is_exit_5_with_the_reason(err: Console) -> None:
    with Path("/dev/full").open("w", encoding="utf-8") as full:
        guard = GuardedStdout(full)
        guard.write("anything\n")
        guard.flush()
        assert guard.exit_code(0, err) == 5
    assert "nrb: cannot write to stdout: No space left on device" in said(err)


@pytest.mark.parametrize("code", [130, 143])
def test_an_interrupted_run_keeps_its_code(err: Console, code: int) -> None:
    with Path("/dev/full").open("w", encoding="utf-8") as full:
        guard = GuardedStdout(full)
        guard.write("anything\n")
        assert guard.exit_code(code, err) == code


def test_what_the_encoding_cannot_show_is_written_escaped(err: Console) -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii", errors="strict", write_through=True)
    guard = GuardedStdout(stream)

    guard.write("Santé, Zürich \udcff\n")
    guard.write("plain\n")
    guard.flush()

    assert raw.getvalue() == b"Sant\\xe9, Z\\xfcrich \\udcff\nplain\n"
    assert guard.exit_code(0, err) == 0
    assert "cannot show some characters; they are written escaped" in said(err)
