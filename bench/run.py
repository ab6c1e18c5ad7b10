"""All benchmarks in one command: ``python bench/run.py``; figures go to bench/results.json."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_dask
import bench_everyday
import bench_executors
import bench_health
import bench_inventory
import bench_phases
import bench_runner
import bench_ssh
import bench_startup
from common import RESULTS

if __name__ == "__main__":
    bench_startup.main()
    bench_runner.main()
    bench_ssh.main()
    bench_health.main()
    bench_everyday.main()
    bench_executors.main()
    bench_phases.main()  # a process per size: the peak memory of each is its own
    bench_inventory.main()  # whole commands: nrb and plain Nornir each in processes of their own
    bench_dask.main()
    # a process of its own, so that its peak memory is the load run's alone
    load = str(Path(__file__).with_name("bench_load.py"))
    subprocess.run([sys.executable, load], check=True, timeout=1800)
    print(f"figures written to {RESULTS}")
