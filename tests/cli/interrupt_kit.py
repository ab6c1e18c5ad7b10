"""Interrupting ``nrb run`` on purpose: hosts held by ``runner_probe:hold`` and signals sent at
known points of the run.

- :func:`with_probe` puts ``runner_probe.py`` beside a project's config.yaml, and
  :func:`hold_runbook` writes a runbook whose one step holds every host of :data:`HELD_LIMIT`
  but :data:`FREE`: in a session read that only an aborted session ends, or until the test
  writes ``release``.
- :class:`Watched` is a running ``nrb`` whose stdout and stderr lines are read as they come, so
  that a test can wait for a line, a host's ``started-<host>`` file, then signal.

Every wait is bounded by ``cli_kit.TIMEOUT``: a hang fails the test, never the session.
"""

from __future__ import annotations

import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any

import yaml
from cli_kit import TIMEOUT, Nrb, write_text

PROBE = Path(__file__).with_name("runner_probe.py")
FREE = "ams-core-01"  # finishes at once
HELD = ("ams-core-02", "ams-edge-01")  # blocked until the test (or an abort) lets them go
HELD_LIMIT = ":".join((FREE, *HELD))


def with_probe(config_file: Path, **options: Any) -> Path:
    """A project (its config.yaml) given the probe tasks and these runner options."""
    shutil.copyfile(PROBE, config_file.parent / PROBE.name)
    if options:
        config = yaml.safe_load(config_file.read_text())
        config["runner"]["options"].update(options)
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    return config_file


def hold_runbook(folder: Path, *, session: bool, **options: Any) -> Path:
    doc = {
        "name": "Held",
        "options": {"workers": 3, **options},
        "steps": [
            {
                "name": "Hold",
                "task": "runner_probe:hold",
                "args": {"folder": str(folder), "free": [FREE], "session": session},
            }
        ],
    }
    return write_text(folder, yaml.safe_dump(doc, sort_keys=False), "held.yaml")


def _lines(stream: IO[bytes], into: queue.SimpleQueue[str | None]) -> None:
    for line in stream:
        into.put(line.decode())
    into.put(None)


class Watched:
    """``nrb ARGS`` started with SIGINT at its default, its output read line by line; used as
    a context manager, which kills it if it is still running and closes its pipes."""

    def __init__(self, nrb: Nrb, *args: str | Path) -> None:
        self.proc = nrb.popen(*args)
        self.out: list[str] = []
        self.err: list[str] = []
        self._queues: dict[str, queue.SimpleQueue[str | None]] = {}
        for name, stream in (("out", self.proc.stdout), ("err", self.proc.stderr)):
            lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
            self._queues[name] = lines
            assert stream is not None
            threading.Thread(target=_lines, args=(stream, lines), daemon=True).start()
        self._deadline = time.monotonic() + TIMEOUT

    def __enter__(self) -> Watched:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def _left(self) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            self.proc.kill()
            raise AssertionError(f"nrb hung: stdout {self.out!r}, stderr {''.join(self.err)!r}")
        return left

    def _take(self, name: str, timeout: float) -> bool:
        """One more line of ``name`` into self.out or self.err; False at its end."""
        try:
            line = self._queues[name].get(timeout=timeout)
        except queue.Empty:
            return True
        if line is None:
            self._queues[name].put(None)  # stays ended
            return False
        getattr(self, name).append(line)
        return True

    def wait_for_line(self, name: str, text: str) -> None:
        """Until a line of stdout (``out``) or stderr (``err``) holds ``text``."""
        while not any(text in line for line in getattr(self, name)):
            if not self._take(name, min(self._left(), 0.1)):
                raise AssertionError(f"no {text!r} in {''.join(getattr(self, name))!r}")

    def wait_for_files(self, *paths: Path) -> None:
        while not all(p.exists() for p in paths):
            self._left()
            time.sleep(0.05)

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def finish(self) -> int:
        """Every line up to the end; the exit code (an AssertionError if nrb hangs)."""
        try:
            code = self.proc.wait(timeout=self._left())
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"nrb hung: stderr {''.join(self.err)!r}") from None
        while self._take("out", TIMEOUT):
            pass
        while self._take("err", TIMEOUT):
            pass
        return code
