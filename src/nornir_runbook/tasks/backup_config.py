"""Save the running configuration to a file."""

from __future__ import annotations

from pathlib import Path

from nornir.core.task import Result, Task

from nornir_runbook.files import atomic_write, safe_name
from nornir_runbook.tasks._netmiko import netmiko_connection

COMMAND = "show running-config"


def backup_config(task: Task, path: str) -> Result:
    """Write the output of ``show running-config`` to ``path``.

    A relative path is relative to the current directory; missing parent folders are made.
    The host's name, where ``path`` holds it (``backups/{{ host.name }}.cfg``), is written as
    ``--save`` writes it in file names (``save.safe_name``: no ``/``, no leading dot), so that a
    host named ``../../x`` still gets ``backups/_.._x.cfg``, inside its folder.
    The file is written to a temporary file beside it and renamed, so a reader never sees half
    a configuration; it is readable by its owner only. ``changed`` is True when the content
    differs from what the file held (an identical file is left untouched).
    ``result`` is ``{"path": path, "bytes": size}``.
    """
    connection = netmiko_connection(task)
    connection.enable()
    text = connection.send_command(COMMAND)
    target = Path(host_path(path, task.host.name))
    changed = write_if_changed(target, text)
    size = len(text.encode("utf-8"))
    return Result(host=task.host, result={"path": str(target), "bytes": size}, changed=changed)


def host_path(path: str, host: str) -> str:
    """``path`` with every occurrence of the host's name in its file-name-safe form."""
    return path.replace(host, safe_name(host))


def write_if_changed(target: Path, text: str) -> bool:
    """Atomically replace ``target`` with ``text`` unless it holds exactly that already."""
    try:
        with target.open(encoding="utf-8", newline="") as existing:
            if existing.read() == text:
                return False
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, text)
    return True
