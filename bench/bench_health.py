"""The example health runbook through `nrb`, against the same commands with plain Nornir.

Both run against the shipped inventory's lab devices (started here), fresh sessions each time:
`nrb run runbooks/health.yaml -o json` as a user runs it (a new process: start-up, loading,
validation and report included), and a Python script that does the same steps with stock
Nornir: InitNornir, ThreadedRunner at 20 workers, one nr.run per command per step on the same
hosts, in enable mode (as the runbook's commands run), connections closed at the end. The
script is timed twice: as a command of its own (``python bench/bench_health.py --plain``,
start-up included, as for nrb) and inside this already running Python.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from nornir import InitNornir
from nornir.core.task import Task
from nornir_netmiko.tasks import netmiko_send_command

from common import describe, save
from nornir_runbook.lab import Lab, devices_from_nornir

REPO = Path(__file__).resolve().parents[1]
NRB = [sys.executable, "-m", "nornir_runbook"]
STEPS = [  # (groups the step is narrowed to, commands): runbooks/health.yaml
    (None, ["show clock", "show version"]),
    (None, ["show ip interface brief", "show interfaces description"]),
    ("core", ["show ip route summary", "show ip ospf neighbor"]),
    ("edge", ["show ip bgp summary"]),
    (None, ["show environment temperature"]),
]


def plain_nornir() -> int:
    nr = InitNornir(
        config_file=str(REPO / "config.yaml"),
        runner={"plugin": "threaded", "options": {"num_workers": 20}},
        logging={"enabled": False},
    )
    failed = 0
    for group, commands in STEPS:
        hosts = nr.filter(filter_func=lambda h, g=group: g is None or h.has_parent_group(g))
        for command in commands:
            result = hosts.run(task=netmiko_send_command, command_string=command, enable=True)
            failed += len(result.failed_hosts)

    def close(task: Task) -> None:
        task.host.close_connections()

    nr.run(task=close, on_failed=True)
    return failed


def with_nrb() -> int:
    ran = subprocess.run(
        [*NRB, "run", "runbooks/health.yaml", "-o", "json"],
        cwd=REPO,
        capture_output=True,
        check=False,
        timeout=600,
    )
    if ran.returncode != 0:
        raise SystemExit(f"nrb failed ({ran.returncode}): {ran.stderr.decode()[-400:]}")
    return 0


def plain_nornir_command() -> int:
    """``plain_nornir`` as a command of its own: Python start-up and imports included, as
    they are in ``with_nrb``."""
    ran = subprocess.run([sys.executable, __file__, "--plain"], cwd=REPO, check=False, timeout=600)
    return ran.returncode


def main(repeat: int = 5) -> None:
    config = InitNornir(config_file=str(REPO / "config.yaml"), logging={"enabled": False})
    ways = {
        "nrb": with_nrb,
        "plain_nornir_command": plain_nornir_command,
        "plain_nornir": plain_nornir,
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    failed: dict[str, int] = dict.fromkeys(ways, 0)
    with Lab(devices_from_nornir(config)):
        for _ in range(repeat):
            for name, run in ways.items():
                time.sleep(1.5)  # the lab drops the closed sessions
                t0 = time.perf_counter()
                failed[name] += run()
                times[name].append(time.perf_counter() - t0)
    out: dict[str, Any] = {"hosts": len(config.inventory.hosts), "failed": failed}
    out |= {name: describe(done) for name, done in times.items()}
    nrb = out["nrb"]["median_s"]
    out["ratio_nrb_over_plain_command"] = round(nrb / out["plain_nornir_command"]["median_s"], 3)
    out["ratio_nrb_over_plain"] = round(nrb / out["plain_nornir"]["median_s"], 3)
    print(
        f"health runbook on {out['hosts']} hosts: nrb {nrb}s (whole command), "
        f"plain Nornir + ThreadedRunner {out['plain_nornir_command']['median_s']}s as a command "
        f"(ratio {out['ratio_nrb_over_plain_command']}), "
        f"{out['plain_nornir']['median_s']}s in a running Python "
        f"(ratio {out['ratio_nrb_over_plain']})"
    )
    save("health", out)


if __name__ == "__main__":
    if sys.argv[1:] == ["--plain"]:
        raise SystemExit(plain_nornir())  # the number of failed host runs; 0 when all is well
    main()
