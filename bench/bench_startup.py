"""Start-up cost of ``nrb``: ``nrb --help`` against a bare ``python -c pass``, medians of several
runs, and their ratio (the target is within 5x: ``--help`` loads no Nornir, no Netmiko).

``python bench/bench_startup.py [--src DIR]``: ``--src`` times the package found in DIR (a
``src`` folder of another checkout) instead of the installed one.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from common import describe, save

TARGET_RATIO = 5.0


def _time(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True, timeout=120)
    return time.perf_counter() - t0


def main(repeat: int = 15, src: str | None = None) -> dict[str, Any]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    commands = {
        "python_pass": [sys.executable, "-c", "pass"],
        "nrb_help": [sys.executable, "-m", "nornir_runbook", "--help"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for argv in commands.values():
        _time(argv, env)  # warm the file cache and the bytecode
    for _ in range(repeat):
        for name, argv in commands.items():  # interleaved: a busy moment hits both
            times[name].append(_time(argv, env))
    out: dict[str, Any] = {name: describe(done) for name, done in times.items()}
    ratio = out["nrb_help"]["median_s"] / out["python_pass"]["median_s"]
    out["ratio_help_over_python"] = round(ratio, 2)
    verdict = "within" if ratio <= TARGET_RATIO else "over"
    print(
        f"startup: nrb --help {out['nrb_help']['median_s']}s, python -c pass "
        f"{out['python_pass']['median_s']}s: ratio {out['ratio_help_over_python']} "
        f"({verdict} the {TARGET_RATIO:g}x target)"
    )
    if src is None:
        save("startup", out)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", help="time the package in this src folder instead")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    main(args.repeat, args.src)
