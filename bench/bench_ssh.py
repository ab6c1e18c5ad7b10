"""FuturesRunner against Nornir's ThreadedRunner over real SSH to lab devices on 127.0.0.1.

- ssh100: 100 hosts, `show clock`, 100 workers, each run opening fresh sessions.
- ssh200: 200 hosts at 200 workers: as the fake devices saturate the 2 cores, logins time out
  and fail. ThreadedRunner as stock Nornir runs it, against FuturesRunner with connect_limit and
  retries. Failure counts and times over several runs.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Sequence
from typing import Any

from nornir.core import Nornir
from nornir.core.inventory import Defaults, Groups, Host, Hosts, Inventory
from nornir.core.plugins.connections import ConnectionPluginRegister
from nornir.core.plugins.runners import RunnerPlugin
from nornir.core.task import Task
from nornir.plugins.runners import ThreadedRunner
from nornir_netmiko.tasks import netmiko_send_command

from common import save
from nornir_runbook.lab import Device, Lab
from nornir_runbook.runner import FuturesRunner

USERNAME, PASSWORD = "bench", "bench-Pa55"
SETTLE_S = 2.0  # the lab ends a closed session's threads within about a second


def lab_devices(n: int, first_port: int = 63000) -> list[Device]:
    return [
        Device(
            name=f"r{i:03d}",
            address="127.0.0.1",
            port=first_port + i,
            username=USERNAME,
            password=PASSWORD,
        )
        for i in range(n)
    ]


def lab_nornir(devices: Sequence[Device], runner: RunnerPlugin) -> Nornir:
    """A Nornir of the lab devices, built directly (no config file) with ``runner``."""
    ConnectionPluginRegister.auto_register()
    defaults = Defaults(username=USERNAME, password=PASSWORD, platform="cisco_ios")
    hosts = Hosts(
        {
            d.name: Host(name=d.name, hostname=d.address, port=d.port, defaults=defaults)
            for d in devices
        }
    )
    return Nornir(
        inventory=Inventory(hosts=hosts, groups=Groups(), defaults=defaults), runner=runner
    )


def close_all(nr: Nornir) -> None:
    def close(task: Task) -> None:
        task.host.close_connections()

    nr.with_runner(FuturesRunner(num_workers=50)).run(task=close, on_failed=True)


def one_run(nr: Nornir) -> dict[str, Any]:
    nr.data.reset_failed_hosts()
    t0 = time.perf_counter()
    result = nr.run(task=netmiko_send_command, command_string="show clock")
    elapsed = time.perf_counter() - t0
    ok = sum(1 for m in result.values() if not m.failed and "UTC" in m[0].result)
    close_all(nr)
    return {"seconds": round(elapsed, 3), "ok": ok, "failed": len(result) - ok}


def compare(
    n: int, runners: dict[str, RunnerPlugin], repeat: int, lab_processes: int | None = None
) -> dict[str, Any]:
    """Runs alternate between the runners, with a pause for the lab to drop closed sessions;
    each round reverses the order of the last (A B, B A, ...), so that neither runner always
    meets the lab right after the other's sessions closed."""
    devices = lab_devices(n)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in runners}
    with Lab(devices, processes=lab_processes):
        for round_ in range(repeat):
            order = list(runners.items())
            for name, runner in order if round_ % 2 == 0 else reversed(order):
                time.sleep(SETTLE_S)
                runs[name].append(one_run(lab_nornir(devices, runner)))
    out: dict[str, Any] = {"hosts": n, "lab_processes": lab_processes or "auto"}
    for name, done in runs.items():
        out[name] = {
            "runs": done,
            "median_s": round(statistics.median(r["seconds"] for r in done), 3),
            "failed_per_run": [r["failed"] for r in done],
        }
    return out


def main(repeat: int = 4) -> None:
    logging.getLogger("nornir.core.task").setLevel(logging.CRITICAL)  # failures are counted here
    ssh100 = compare(
        100,
        {"threaded": ThreadedRunner(num_workers=100), "futures": FuturesRunner(num_workers=100)},
        repeat,
    )
    ssh100["ratio_futures_over_threaded"] = round(
        ssh100["futures"]["median_s"] / ssh100["threaded"]["median_s"], 3
    )
    print(
        f"ssh100: threaded {ssh100['threaded']['median_s']}s "
        f"failed {ssh100['threaded']['failed_per_run']}, "
        f"futures {ssh100['futures']['median_s']}s failed {ssh100['futures']['failed_per_run']}, "
        f"ratio {ssh100['ratio_futures_over_threaded']}"
    )
    save("ssh100", ssh100)
    ssh200 = compare(
        200,
        {
            "threaded": ThreadedRunner(num_workers=200),
            "futures_limited": FuturesRunner(
                num_workers=200, connect_limit=20, retries=3, retry_backoff=0.5
            ),
        },
        repeat + 1,
        lab_processes=1,  # every device in one process, as stock FakeNOS runs them: it saturates
    )
    ssh200["ratio_futures_over_threaded"] = round(
        ssh200["futures_limited"]["median_s"] / ssh200["threaded"]["median_s"], 3
    )
    print(
        f"ssh200: threaded {ssh200['threaded']['median_s']}s "
        f"failed {ssh200['threaded']['failed_per_run']}, "
        f"futures(connect_limit=20, retries=3) {ssh200['futures_limited']['median_s']}s "
        f"failed {ssh200['futures_limited']['failed_per_run']}"
    )
    save("ssh200", ssh200)


if __name__ == "__main__":
    main()
