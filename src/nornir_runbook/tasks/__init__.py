"""nornir-runbook's built-in Nornir tasks, one per module (as ``nornir_netmiko.tasks``).

``commands:`` steps run :func:`send_commands` and ``config:`` steps :func:`send_config`;
:func:`echo` and :func:`fail` need no device (tests, dry runs of a runbook's logic).
"""

from nornir_runbook.tasks.backup_config import backup_config
from nornir_runbook.tasks.echo import echo
from nornir_runbook.tasks.fail import fail
from nornir_runbook.tasks.send_commands import send_commands
from nornir_runbook.tasks.send_config import send_config

__all__ = ["BUILTIN_TASKS", "backup_config", "echo", "fail", "send_commands", "send_config"]

BUILTIN_TASKS = (send_commands, send_config, backup_config, echo, fail)
