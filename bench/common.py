"""Shared pieces of the benchmarks: in-memory inventories, timing, and the results file."""

from __future__ import annotations

import atexit
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nornir.core import Nornir
from nornir.core.inventory import Defaults, Groups, Host, Hosts, Inventory
from nornir.core.plugins.runners import RunnerPlugin

RESULTS = Path(__file__).with_name("results.json")


def own_home() -> None:
    """Benchmarks run with a HOME of their own (inherited by the nrb and lab processes they
    start): the lab's SSH host keys, recorded as accept-new records them on a user's first
    run, never reach the real ~/.ssh/known_hosts."""
    if not os.environ.get("NRB_BENCH_HOME"):
        home = tempfile.mkdtemp(prefix="nrb-bench-home-")
        os.environ["NRB_BENCH_HOME"] = os.environ["HOME"] = home
        os.environ["XDG_STATE_HOME"] = str(Path(home) / ".local" / "state")
        atexit.register(shutil.rmtree, home, ignore_errors=True)


own_home()


def memory_nornir(n: int, runner: RunnerPlugin) -> Nornir:
    hosts = Hosts({f"h{i:05d}": Host(name=f"h{i:05d}") for i in range(n)})
    inventory = Inventory(hosts=hosts, groups=Groups(), defaults=Defaults())
    return Nornir(inventory=inventory, runner=runner)


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def describe(times: list[float]) -> dict[str, float]:
    return {
        "min_s": round(min(times), 4),
        "median_s": round(statistics.median(times), 4),
        "runs": len(times),
    }


def save(section: str, data: dict[str, Any]) -> None:
    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    existing[section] = data
    existing["machine"] = {
        "python": platform.python_version(),
        "cpus": __import__("os").cpu_count(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.write_text(json.dumps(existing, indent=2) + "\n")
