"""The dask executor against raw dask on the same cluster, side by side in one run.

1,000 in-memory hosts x 50 ms sleep at 50 at once, on a local scheduler and 2 workers started
from the ``dask`` command line (``allowed-failures: 0``, no work stealing, as the README
advises). Raw dask is ``client.submit`` of a function sleeping 50 ms, 50 in flight, refilled
from ``as_completed``; nrb is FuturesRunner(executor="dask") running a Nornir task that sleeps
50 ms. The two alternate, so both see the same machine.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from distributed import Client, as_completed

from bench_executors import dask_cluster
from bench_runner import sleep_50ms
from common import describe, memory_nornir, save
from nornir_runbook.runner import FuturesRunner

HOSTS = 1000
AT_ONCE = 50
PORT = 8793


def sleep_50ms_plain(i: int) -> int:
    time.sleep(0.05)
    return i


def raw_dask(client: Client, hosts: int = HOSTS, at_once: int = AT_ONCE) -> float:
    t0 = time.perf_counter()
    pending = iter(range(hosts))
    first = [client.submit(sleep_50ms_plain, i, pure=False) for i, _ in zip(pending, range(at_once))]
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
        "ms_per_host": {"raw_dask": round(raw / hosts * 1000, 2), "nrb_dask": round(nrb / hosts * 1000, 2)},
    }


def main() -> None:
    with dask_cluster(threads_per_worker=AT_ONCE, port=PORT) as address:
        out = bench(address)
    print(
        f"dask {out['hosts']} x 50ms @ {out['at_once']}: nrb {out['nrb_dask']['median_s']}s, "
        f"raw dask {out['raw_dask']['median_s']}s: {out['nrb_over_raw']}x "
        f"({out['ms_per_host']['nrb_dask']} against {out['ms_per_host']['raw_dask']} ms a host)"
    )
    save("dask_vs_raw", out)


if __name__ == "__main__":
    main()
