"""FuturesRunner against Nornir's ThreadedRunner on in-memory hosts (no network).

- noop: 5,000 hosts, a task that returns at once: the per-host overhead of each runner.
- sleep: 10,000 hosts x 50 ms sleep at 1,000 workers, against the ideal
  ceil(hosts / workers) x 50 ms.
"""

from __future__ import annotations

import math
import time

from nornir.core.task import Result, Task
from nornir.plugins.runners import ThreadedRunner

from common import describe, memory_nornir, save, timed
from nornir_runbook.runner import FuturesRunner


def noop(task: Task) -> Result:
    return Result(host=task.host)


def sleep_50ms(task: Task) -> Result:
    time.sleep(0.05)
    return Result(host=task.host)


def bench_noop(hosts: int = 5000, workers: int = 20, repeat: int = 7) -> dict[str, object]:
    threaded = memory_nornir(hosts, ThreadedRunner(num_workers=workers))
    futures = memory_nornir(hosts, FuturesRunner(num_workers=workers))
    # interleave the two so that both see the same machine state
    t_times: list[float] = []
    f_times: list[float] = []
    for _ in range(repeat):
        t_times += timed(lambda: threaded.run(task=noop), 1)
        f_times += timed(lambda: futures.run(task=noop), 1)
    t, f = describe(t_times), describe(f_times)
    return {
        "hosts": hosts,
        "workers": workers,
        "threaded": t,
        "futures": f,
        "per_host_us": {
            "threaded": round(t["median_s"] / hosts * 1e6, 1),
            "futures": round(f["median_s"] / hosts * 1e6, 1),
        },
        "ratio_futures_over_threaded": round(f["median_s"] / t["median_s"], 3),
    }


def bench_sleep(hosts: int = 10000, workers: int = 1000, repeat: int = 3) -> dict[str, object]:
    ideal = math.ceil(hosts / workers) * 0.05
    threaded = memory_nornir(hosts, ThreadedRunner(num_workers=workers))
    futures = memory_nornir(hosts, FuturesRunner(num_workers=workers))
    t_times: list[float] = []
    f_times: list[float] = []
    for _ in range(repeat):
        t_times += timed(lambda: threaded.run(task=sleep_50ms), 1)
        f_times += timed(lambda: futures.run(task=sleep_50ms), 1)
    t, f = describe(t_times), describe(f_times)
    return {
        "hosts": hosts,
        "workers": workers,
        "ideal_s": ideal,
        "threaded": t,
        "futures": f,
        "futures_over_ideal": round(f["median_s"] / ideal, 3),
        "threaded_over_ideal": round(t["median_s"] / ideal, 3),
        "ratio_futures_over_threaded": round(f["median_s"] / t["median_s"], 3),
    }


def main() -> None:
    noop_result = bench_noop()
    print(
        f"noop  {noop_result['hosts']} hosts: futures/threaded = "
        f"{noop_result['ratio_futures_over_threaded']} "
        f"(per host: {noop_result['per_host_us']})"
    )
    save("noop", noop_result)
    sleep_result = bench_sleep()
    print(
        f"sleep {sleep_result['hosts']} hosts x 50ms @ {sleep_result['workers']} workers: "
        f"futures {sleep_result['futures']['median_s']}s = {sleep_result['futures_over_ideal']}x ideal, "
        f"threaded {sleep_result['threaded']['median_s']}s = {sleep_result['threaded_over_ideal']}x ideal"
    )
    save("sleep", sleep_result)


if __name__ == "__main__":
    main()
