"""Run show commands, one Netmiko ``send_command`` each."""

from __future__ import annotations

from nornir.core.task import Result, Task

from nornir_runbook.tasks._netmiko import (
    REJECTED,
    CommandRejected,
    privileged_connection,
    send_command,
)


def send_commands(task: Task, commands: list[str]) -> Result:
    """Send each command in turn, in enable mode where the device allows it.

    ``result`` maps each command to its output. A command the device refuses (``% Invalid
    input`` and the like) fails the step, as Ansible's ``ios_command`` does.

    A single string is one command.
    """
    if isinstance(commands, str):
        commands = [commands]
    outputs: dict[str, str] = {}
    if commands:
        connection = privileged_connection(task)
        for command in commands:
            output = send_command(connection, command)
            if REJECTED.search(output):
                raise CommandRejected(command, output)
            outputs[command] = output
    return Result(host=task.host, result=outputs)
