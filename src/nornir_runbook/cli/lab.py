"""``nrb lab``: the inventory's fake devices, serving until Ctrl-C."""

from __future__ import annotations

import argparse

from rich.console import Console

from nornir_runbook.cli.common import load_project_for
from nornir_runbook.errors import ExitCode
from nornir_runbook.redact import Redactor
from nornir_runbook.runner.hostkeys import fingerprint, lab_host_key, lab_key_file
from nornir_runbook.text import plural


def cmd_lab(args: argparse.Namespace, out: Console, err: Console, redactor: Redactor) -> int:
    from nornir_runbook.lab import Lab, devices_from_nornir  # noqa: PLC0415

    project = load_project_for(args, redactor)
    devices = devices_from_nornir(project.nr)
    lab = Lab(devices, processes=args.processes)
    lab.start()  # every device listens before the line that says so
    ports = ", ".join(f"{d.name}={d.address}:{d.port}" for d in devices)
    try:
        err.print(f"lab: host key {fingerprint(lab_host_key())} ({lab_key_file()})", markup=False)
        err.print(f"lab: {plural(len(devices), 'device')} ({ports}); Ctrl-C to stop", markup=False)
        lab.serve_forever()
    finally:
        lab.stop()
    return ExitCode.OK
