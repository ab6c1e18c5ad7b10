"""Thread, process and dask executors of FuturesRunner, in one run.

- sleep2000: 2,000 in-memory hosts x 50 ms sleep at 50 concurrent hosts (ideal 2.0 s).
- ssh100: 100 lab hosts, `show clock` over SSH.
- sessions: three runs of 200 lab hosts on dask (scheduler + 2 workers), then the number of
  established SSH sessions on the lab's ports: the goal is one per device, not one per worker.
The dask cluster is started here from the `dask` command line on 127.0.0.1.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from distributed import Client
from nornir_netmiko.tasks import netmiko_send_command

from bench_runner import sleep_50ms
from bench_ssh import SETTLE_S, USERNAME, lab_devices, lab_nornir
from common import describe, memory_nornir, save, timed
from nornir_runbook.lab import Lab
from nornir_runbook.runner import FuturesRunner

HERE = Path(__file__).resolve().parent
DASK = Path(sys.executable).with_name("dask")
PORT = 8791


@contextmanager
def dask_cluster(threads_per_worker: int, port: int = PORT) -> Iterator[str]:
    address = f"tcp://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
        "DASK_DISTRIBUTED__SCHEDULER__WORK_STEALING": "False",
    }
    quiet: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    procs = [
        subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            **quiet,
        )
    ]
    worker = [DASK, "worker", address, "--host", "127.0.0.1", "--no-dashboard"]
    procs += [
        subprocess.Popen([*worker, "--nthreads", str(threads_per_worker)], **quiet)
        for _ in range(2)
    ]
    try:
        time.sleep(2)
        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def runners(workers: int, address: str) -> dict[str, FuturesRunner]:
    return {
        "thread": FuturesRunner(num_workers=workers),
        "process": FuturesRunner(num_workers=min(workers, 16), executor="process"),
        "dask": FuturesRunner(num_workers=workers, executor="dask", dask_address=address),
    }


def bench_sleep(address: str, hosts: int = 2000, workers: int = 50) -> dict[str, Any]:
    ideal = math.ceil(hosts / workers) * 0.05
    out: dict[str, Any] = {"hosts": hosts, "workers": workers, "ideal_s": ideal}
    for name, runner in runners(workers, address).items():
        nr = memory_nornir(hosts, runner)
        nr.run(task=sleep_50ms)  # warm-up: starts worker processes, imports on workers
        out[name] = describe(timed(lambda nr=nr: nr.run(task=sleep_50ms), 3))
        runner.close()
    for name in ("process", "dask"):
        out[f"{name}_over_thread"] = round(out[name]["median_s"] / out["thread"]["median_s"], 3)
    out["process_workers"] = min(workers, 16)
    return out


def bench_ssh(address: str, hosts: int = 100) -> dict[str, Any]:
    devices = lab_devices(hosts)
    out: dict[str, Any] = {"hosts": hosts}
    with Lab(devices):
        for name, runner in runners(hosts, address).items():
            times, failed = [], []
            for _ in range(3):
                time.sleep(SETTLE_S)
                nr = lab_nornir(devices, runner)
                t0 = time.perf_counter()
                result = nr.run(task=netmiko_send_command, command_string="show clock")
                times.append(time.perf_counter() - t0)
                failed.append(len(result.failed_hosts))
                runner.close()  # fresh sessions each time, as for the thread executor
                for host in nr.inventory.hosts.values():
                    host.close_connections()
            out[name] = {**describe(times), "failed_per_run": failed}
    for name in ("process", "dask"):
        out[f"{name}_over_thread"] = round(out[name]["median_s"] / out["thread"]["median_s"], 3)
    return out


def established(first_port: int, count: int) -> int:
    """Established TCP sessions whose local port is one of the lab's."""
    lines = subprocess.run(
        ["ss", "-Htn", "state", "established"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.splitlines()
    ports = range(first_port, first_port + count)
    return sum(1 for line in lines if int(line.split()[2].rsplit(":", 1)[1]) in ports)


def bench_sessions(address: str, hosts: int = 200) -> dict[str, Any]:
    devices = lab_devices(hosts)
    runner = FuturesRunner(num_workers=100, executor="dask", dask_address=address)
    with Lab(devices):
        nr = lab_nornir(devices, runner)
        for _ in range(3):
            result = nr.run(task=netmiko_send_command, command_string="show clock", on_failed=True)
        sessions = established(devices[0].port, hosts)
        runner.close()
        time.sleep(1.0)
        after_close = established(devices[0].port, hosts)
    return {
        "hosts": hosts,
        "runs": 3,
        "failed_last_run": len(result.failed_hosts),
        "sessions_after_3_runs": sessions,
        "sessions_after_close": after_close,
        "user": USERNAME,
    }


def main() -> None:
    with dask_cluster(threads_per_worker=50) as address:
        sleep = bench_sleep(address)
        print(
            f"sleep {sleep['hosts']} x 50ms @ {sleep['workers']}: "
            + ", ".join(f"{n} {sleep[n]['median_s']}s" for n in ("thread", "process", "dask"))
            + f" (ideal {sleep['ideal_s']}s; process runs {sleep['process_workers']} processes)"
        )
        save("executors_sleep", sleep)
        ssh = bench_ssh(address)
        print(
            f"ssh {ssh['hosts']} show clock: "
            + ", ".join(
                f"{n} {ssh[n]['median_s']}s failed {ssh[n]['failed_per_run']}"
                for n in ("thread", "process", "dask")
            )
        )
        save("executors_ssh", ssh)
        sessions = bench_sessions(address)
        print(
            f"dask sessions after 3 runs of {sessions['hosts']} hosts: "
            f"{sessions['sessions_after_3_runs']} (after close: {sessions['sessions_after_close']})"
        )
        save("dask_sessions", sessions)


if __name__ == "__main__":
    main()
