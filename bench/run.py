"""All benchmarks in one command: ``python bench/run.py``; figures go to bench/results.json."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_executors
import bench_health
import bench_load
import bench_runner
import bench_ssh

if __name__ == "__main__":
    bench_runner.main()
    bench_ssh.main()
    bench_health.main()
    bench_executors.main()
    bench_load.main()
    print(f"figures written to {bench_runner.save.__globals__['RESULTS']}")
