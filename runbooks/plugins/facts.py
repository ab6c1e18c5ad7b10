"""A custom task for ``runbooks/custom_task.yaml``: facts parsed from ``show version``.

A runbook step names it ``task: runbooks.plugins.facts:version_facts``; nrb imports the module
from the project folder (the folder holding ``config.yaml``), as Python would from there.

A task is a plain Nornir task: ``f(task: Task, **args) -> Result``. Its keyword arguments come
from the step's ``args:`` (rendered per host with Jinja2, then checked against the signature by
``nrb validate``); what it puts in ``Result.result`` is the step's ``result`` in the report.
Return ``Result(..., failed=True)`` to fail the host; an exception fails it too.
"""

from __future__ import annotations

import re

from nornir.core.task import Result, Task

__all__ = ["parse_show_version", "version_facts"]

# The first match of each pattern is the fact; a fact the output does not hold is None.
_FACTS = {
    "hostname": re.compile(r"^(?P<value>\S+) uptime is ", re.MULTILINE),
    "version": re.compile(r"^Cisco IOS.*?, Version (?P<value>[^\s,]+)", re.MULTILINE),
    "uptime": re.compile(r"^\S+ uptime is (?P<value>.+?)\s*$", re.MULTILINE),
    "model": re.compile(r"^[Cc]isco (?P<value>\S+) \(.*\) processor", re.MULTILINE),
    "serial": re.compile(r"^Processor board ID (?P<value>\S+)", re.MULTILINE),
    "image": re.compile(r'^System image file is "(?P<value>[^"]+)"', re.MULTILINE),
    "config_register": re.compile(r"^Configuration register is (?P<value>\S+)", re.MULTILINE),
}


def parse_show_version(output: str) -> dict[str, str | None]:
    """The facts of a Cisco IOS / IOS XE ``show version`` output."""
    facts: dict[str, str | None] = {}
    for name, pattern in _FACTS.items():
        match = pattern.search(output)
        facts[name] = match["value"] if match else None
    return facts


def version_facts(task: Task, command: str = "show version") -> Result:
    """Run ``command`` on the host's Netmiko connection and return its facts as a dict.

    The connection is the one nrb's other steps use (opened on first use, kept open across the
    runbook's steps, closed by nrb when the host's batch ends), so this step costs no login.
    """
    connection = task.host.get_connection("netmiko", task.nornir.config)
    connection.enable()  # show version needs privileged mode on the lab devices
    output = connection.send_command(command)
    facts = parse_show_version(output)
    if facts["version"] is None:
        first = output.strip().splitlines()[0] if output.strip() else "(no output)"
        return Result(host=task.host, result=f"no version in {command!r}: {first}", failed=True)
    return Result(host=task.host, result=facts)
