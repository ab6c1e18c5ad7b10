"""Send the configuration lines a device lacks, as Ansible's ``ios_config`` ``lines`` and
``parents``: idempotent, with check mode and a diff."""

from __future__ import annotations

from typing import Any

from nornir.core.task import Result, Task

from nornir_runbook.netconfig import (
    Config,
    candidate,
    commands,
    keystrokes,
    missing,
    parse,
    unified,
)
from nornir_runbook.tasks._netmiko import REJECTED, CommandRejected, netmiko_connection

RUNNING_CONFIG = "show running-config"


def send_config(
    task: Task,
    config: list[str],
    parents: list[str] | None = None,
    *,
    check: bool = False,
    diff: bool = False,
) -> Result:
    """Enter enable mode (as ``netmiko_send_config`` does), read the running configuration,
    and send in config mode only the lines of ``config`` it lacks, under ``parents`` (the
    section lines they go in, outermost first), each after the section lines it goes under.
    A single string is taken as its lines (``config``) or as one section line (``parents``).

    A line may hold a whole section written with indentation; a ``no X`` line is sent only
    where ``X`` is there. ``result`` is the list of lines sent (``[]``: nothing was needed) and
    ``changed`` is True only when something was sent. ``check``: nothing is sent, ``result``
    is what would be. ``diff``: ``Result.diff`` is a unified diff of the running configuration
    before and after (read again; with ``check``: the lines applied to it here).
    """
    lines = config.splitlines() if isinstance(config, str) else list(config)
    sections = [parents] if isinstance(parents, str) else list(parents or ())
    if not any(line.strip() for line in lines):  # every line rendered away: nothing to do
        return Result(host=task.host, result=[], changed=False)
    wanted = candidate(lines, sections)
    connection = netmiko_connection(task)
    connection.enable()
    before = _running(connection)
    changes = missing(before, wanted)
    sent = commands(changes)
    if changes and not check:
        connection.send_config_set(
            config_commands=keystrokes(changes), error_pattern=REJECTED.pattern
        )
    result = Result(host=task.host, result=sent, changed=bool(changes))
    if diff:
        after = before.applied(changes) if check or not changes else _running(connection)
        result.diff = unified(before.render(), after.render())
    return result


def _running(connection: Any) -> Config:
    """The running configuration; a device that refuses to show it fails the step (read as a
    configuration, its error would make every line look missing, and all would be sent)."""
    output = str(connection.send_command(RUNNING_CONFIG))
    if REJECTED.search(output):
        raise CommandRejected(RUNNING_CONFIG, output)
    return parse(output)
