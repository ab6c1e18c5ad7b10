"""The everyday job as a Nornir user writes it (the plain side of ``bench_everyday.py``):
``python bench/everyday_plain.py CONFIG`` opens each host's Netmiko session, enables, sends
``show clock`` and ``show version``, prints the results as json, and closes the sessions.

Run as Nornir and Netmiko are installed without Netmiko's genie extra (pyATS is a dependency
of neither): netmiko imports Genie at import time when it is there, about 1.5 s of CPU and
60 MB that nrb does not pay (it imports Genie on first use).
"""

from __future__ import annotations

import json
import sys

sys.modules["genie"] = None  # type: ignore[assignment]  # import genie raises ImportError

from nornir import InitNornir  # noqa: E402 -- after Genie is held back
from nornir.core.task import Result, Task  # noqa: E402

COMMANDS = ("show clock", "show version")


def everyday(task: Task) -> Result:
    connection = task.host.get_connection("netmiko", task.nornir.config)
    connection.enable()
    outputs = {command: connection.send_command(command) for command in COMMANDS}
    return Result(host=task.host, result=outputs)


def main(config_file: str) -> int:
    """The number of hosts that failed."""
    nr = InitNornir(config_file=config_file)
    result = nr.run(task=everyday)
    nr.close_connections(on_failed=True)
    document = {
        name: {"failed": multi.failed, "result": multi[0].result} for name, multi in result.items()
    }
    json.dump(document, sys.stdout)
    return len(result.failed_hosts)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
