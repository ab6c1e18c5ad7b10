"""The dask executor against raw dask on the same cluster, and warm runs with keep_sessions.

1,000 in-memory hosts x 50 ms sleep at 50 at once, on a local scheduler and 2 workers started
from the ``dask`` command line (``allowed-failures: 0``, no work stealing, as the README
advises). Raw dask is ``client.submit`` of a function sleeping 50 ms, 50 in flight, refilled
from ``as_completed``; nrb is FuturesRunner(executor="dask") running a Nornir task that sleeps
50 ms. The two alternate, so both see the same machine.

warm: 50 lab devices, `show clock` + `show version`, each run with a runner (and dask client)
of its own as one `nrb` invocation: a cold run (no session on the workers), then the same
again with the sessions the first one kept (``keep_sessions``).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from distributed import Client, as_completed

from bench_executors import dask_cluster
from bench_runner import sleep_50ms
from bench_ssh import SETTLE_S, lab_devices, lab_nornir
from common import describe, memory_nornir, save
from nornir_runbook.lab import Lab
from nornir_runbook.runner import FuturesRunner
from nornir_runbook.runner.remote import close_on_worker
from nornir_runbook.tasks.send_commands import send_commands

HOSTS = 1000
AT_ONCE = 50
PORT = 8793


def sleep_50ms_plain(i: int) -> int:
    time.sleep(0.05)
    return i


def raw_dask(client: Client, hosts: int = HOSTS, at_once: int = AT_ONCE) -> float:
    t0 = time.perf_counter()
    pending = iter(range(hosts))
    first = [
        client.submit(sleep_50ms_plain, i, pure=False)
        for i, _ in zip(pending, range(at_once), strict=False)
    ]
    running = as_completed(first, loop=client.loop)
    for future in running:
        future.result()
        nxt = next(pending, None)
        if nxt is not None:
            running.add(client.submit(sleep_50ms_plain, nxt, pure=False))
    return time.perf_counter() - t0


def bench(address: str, hosts: int = HOSTS, repeat: int = 3) -> dict[str, Any]:
    runner = FuturesRunner(num_workers=AT_ONCE, executor="dask", dask_address=address)
    nr = memory_nornir(hosts, runner)
    raw_times: list[float] = []
    nrb_times: list[float] = []
    with Client(address, set_as_default=False) as client:
        raw_dask(client, 200)  # warm-up: imports on the workers
        nr.run(task=sleep_50ms)
        for _ in range(repeat):
            raw_times.append(raw_dask(client, hosts))
            t0 = time.perf_counter()
            result = nr.run(task=sleep_50ms)
            nrb_times.append(time.perf_counter() - t0)
            assert not result.failed, result.failed_hosts
    runner.close()
    raw, nrb = statistics.median(raw_times), statistics.median(nrb_times)
    return {
        "hosts": hosts,
        "at_once": AT_ONCE,
        "raw_dask": describe(raw_times),
        "nrb_dask": describe(nrb_times),
        "nrb_over_raw": round(nrb / raw, 3),
        "ms_per_host": {
            "raw_dask": round(raw / hosts * 1000, 2),
            "nrb_dask": round(nrb / hosts * 1000, 2),
        },
    }


def one_invocation(devices: Any, address: str) -> float:
    runner = FuturesRunner(num_workers=50, executor="dask", dask_address=address, keep_sessions=300)
    t0 = time.perf_counter()
    try:
        nr = lab_nornir(devices, runner)
        result = nr.run(task=send_commands, commands=["show clock", "show version"])
        assert not result.failed, result.failed_hosts
    finally:
        runner.close()
    return time.perf_counter() - t0


def bench_warm(address: str, hosts: int = 50, repeat: int = 3) -> dict[str, Any]:
    devices = lab_devices(hosts, first_port=63600)
    cold: list[float] = []
    warm: list[float] = []
    with Lab(devices), Client(address, set_as_default=False) as client:
        for _ in range(repeat):
            client.run(close_on_worker)  # nothing kept: the next run is cold
            time.sleep(SETTLE_S)
            cold.append(one_invocation(devices, address))
            warm.append(one_invocation(devices, address))
        client.run(close_on_worker)
    return {
        "hosts": hosts,
        "cold": describe(cold),
        "warm": describe(warm),
        "warm_over_cold": round(statistics.median(warm) / statistics.median(cold), 3),
    }


def main() -> None:
    with dask_cluster(threads_per_worker=AT_ONCE, port=PORT) as address:
        warm = bench_warm(address)
        out = bench(address)
    print(
        f"dask keep_sessions, {warm['hosts']} lab devices, show clock + show version: "
        f"cold {warm['cold']['median_s']}s, warm {warm['warm']['median_s']}s: "
        f"{warm['warm_over_cold']}x"
    )
    save("dask_warm_sessions", warm)
    print(
        f"dask {out['hosts']} x 50ms @ {out['at_once']}: nrb {out['nrb_dask']['median_s']}s, "
        f"raw dask {out['raw_dask']['median_s']}s: {out['nrb_over_raw']}x "
        f"({out['ms_per_host']['nrb_dask']} against {out['ms_per_host']['raw_dask']} ms a host)"
    )
    save("dask_vs_raw", out)


if __name__ == "__main__":
    main()
