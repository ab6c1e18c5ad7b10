"""FuturesRunner against Nornir's ThreadedRunner on in-memory hosts (no network).

- noop: 5,000 hosts, a task that returns at once: the per-host overhead of each runner.
- sleep: 10,000 hosts x 50 ms sleep at 1,000 workers, against the ideal
  ceil(hosts / workers) x 50 ms.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from nornir.core.task import Result, Task
from nornir.plugins.runners import ThreadedRunner

from common import describe, memory_nornir, save, timed
from nornir_runbook.runner import FuturesRunner


def noop(task: Task) -> Result:
    return Result(host=task.host)


def sleep_50ms(task: Task) -> Result:
    time.sleep(0.05)
    return Result(host=task.host)


def head_to_head(task: Callable[[Task], Result], hosts: int, workers: int, repeat: int) -> Any:
    """Both runners on the same hosts, runs interleaved so both see the same machine state."""
    threaded = memory_nornir(hosts, ThreadedRunner(num_workers=workers))
    futures = memory_nornir(hosts, FuturesRunner(num_workers=workers))
    t_times: list[float] = []
    f_times: list[float] = []
    for _ in range(repeat):
        t_times += timed(lambda: threaded.run(task=task), 1)
        f_times += timed(lambda: futures.run(task=task), 1)
    t, f = describe(t_times), describe(f_times)
    return {
        "hosts": hosts,
        "workers": workers,
        "threaded": t,
        "futures": f,
        "ratio_futures_over_threaded": round(f["median_s"] / t["median_s"], 3),
    }


def bench_noop(hosts: int = 5000, workers: int = 20, repeat: int = 7) -> dict[str, Any]:
    out = head_to_head(noop, hosts, workers, repeat)
    out["per_host_us"] = {
        name: round(out[name]["median_s"] / hosts * 1e6, 1) for name in ("threaded", "futures")
    }
    return out


def bench_sleep(hosts: int = 10000, workers: int = 1000, repeat: int = 3) -> dict[str, Any]:
    ideal = math.ceil(hosts / workers) * 0.05
    out = head_to_head(sleep_50ms, hosts, workers, repeat)
    out["ideal_s"] = ideal
    for name in ("threaded", "futures"):
        out[f"{name}_over_ideal"] = round(out[name]["median_s"] / ideal, 3)
    return out


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
        + ", ".join(
            f"{n} {sleep_result[n]['median_s']}s = {sleep_result[f'{n}_over_ideal']}x ideal"
            for n in ("futures", "threaded")
        )
    )
    save("sleep", sleep_result)


if __name__ == "__main__":
    main()
