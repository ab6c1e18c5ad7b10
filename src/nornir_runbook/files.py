"""Files written whole or not at all, lines appended whole, under names that are safe on any
file system."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import stat
import tempfile
from pathlib import Path


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, line endings as given) to a temporary file beside ``path`` (0600),
    sync it to disk, then rename it over ``path``: a reader sees the old file or the new one,
    never half of it, even after a crash. A symlink at ``path`` is replaced, not followed."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def safe_name(name: str) -> str:
    """A file name from a host name or run id: no separators, no leading dot."""
    cleaned = re.sub(r"[^A-Za-z0-9._@+-]", "_", name).lstrip(".")
    return cleaned or "_"


def open_for_append(path: Path) -> int:
    """A descriptor that appends to ``path``, created owner-only (0600) when new; an existing
    file keeps its content and its mode. OSError when it cannot be opened for writing."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a folder fails above; a fifo would block
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    return fd


def append_line(fd: int, line: str) -> None:
    """Append ``line`` (a newline added) to ``fd`` in one write under an exclusive lock, so
    that processes appending to the same file never interleave within a line."""
    data = (line.rstrip("\n") + "\n").encode("utf-8")
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
