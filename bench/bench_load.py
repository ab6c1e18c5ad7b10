"""Load: 500 lab devices on five loopback addresses, `show clock` with connect_limit and retries.

The goal is zero hosts lost. Prints the time, failures and the client's peak memory (run it as
a process of its own, as bench/run.py does, for that figure to be the load run's alone).
"""

from __future__ import annotations

import logging
import resource
import time
from typing import Any

from nornir.core.task import Result, Task
from nornir_netmiko.tasks import netmiko_send_command

from bench_ssh import PASSWORD, USERNAME, lab_nornir
from common import save
from nornir_runbook.lab import Device, Lab
from nornir_runbook.runner import FuturesRunner

ADDRESSES = [f"127.0.0.{i}" for i in range(1, 6)]


def clock_and_close(task: Task) -> Result:
    """`show clock`, then log out: an idle FakeNOS session costs the lab CPU (it polls)."""
    try:
        return task.run(task=netmiko_send_command, command_string="show clock")[0]
    finally:
        task.host.close_connections()


def devices(n: int = 500) -> list[Device]:
    per = n // len(ADDRESSES)
    return [
        Device(
            name=f"load{a}-{i:03d}",
            address=address,
            port=64000 + i,
            username=USERNAME,
            password=PASSWORD,
        )
        for a, address in enumerate(ADDRESSES)
        for i in range(per)
    ]


def main(runs: int = 2) -> None:
    logging.getLogger("nornir.core.task").setLevel(logging.CRITICAL)
    devs = devices()
    out: dict[str, Any] = {"hosts": len(devs), "addresses": ADDRESSES, "runs": []}
    with Lab(devs) as lab:
        out["lab_processes"] = lab.processes
        for _ in range(runs):
            runner = FuturesRunner(num_workers=60, connect_limit=20, retries=3, retry_backoff=1.0)
            nr = lab_nornir(devs, runner)
            t0 = time.perf_counter()
            result = nr.run(task=clock_and_close)
            elapsed = time.perf_counter() - t0
            ok = sum(1 for m in result.values() if not m.failed and "UTC" in m[0].result)
            retried = sum(1 for a in runner.last_run.attempts.values() if a > 1)
            out["runs"].append(
                {"seconds": round(elapsed, 2), "ok": ok, "lost": len(devs) - ok, "retried": retried}
            )
            time.sleep(2)
    out["client_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    # the lab's child processes have ended with the Lab block: the largest of them
    out["lab_process_peak_rss_mb"] = round(
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
    )
    print(
        f"load {out['hosts']} hosts on {len(ADDRESSES)} addresses: {out['runs']}, "
        f"client peak RSS {out['client_peak_rss_mb']} MB, "
        f"largest lab process peak {out['lab_process_peak_rss_mb']} MB "
        f"({out['lab_processes']} lab processes)"
    )
    save("load500", out)


if __name__ == "__main__":
    main()
