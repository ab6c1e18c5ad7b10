"""The everyday job as whole commands: enable, `show clock` and `show version` on 50 lab devices
at 50 workers, `nrb run` against a plain Nornir script doing the same.

- nrb: ``nrb run everyday.yaml -w 50 -o json`` (a runbook of one ``commands`` step, which runs
  in enable mode), with its own config.yaml and SimpleInventory of the 50 devices.
- plain Nornir: ``python bench/everyday_plain.py CONFIG`` (Netmiko as installed without its
  genie extra): InitNornir on the same config.yaml with the ThreadedRunner at 50 workers, one
  task that opens the Netmiko session, enables and sends both commands, the results dumped as
  json, sessions closed.

Both are started as new processes (start-up and imports included), alternated round by round
(A B, B A, ...) against the same lab, with a pause for the lab to drop closed sessions. Each
child is reaped with ``os.wait4``: its wall time, CPU time (user + sys) and peak RSS are its
own. nornir-runbook's bytecode is written first, as pip writes it when it installs a package.
``python bench/bench_everyday.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import nornir_runbook
from common import save
from nornir_runbook.lab import Device, Lab

HOSTS = 50
WORKERS = 50
FIRST_PORT = 64100
USERNAME, PASSWORD = "bench", "bench-Pa55"
NRB = (sys.executable, "-m", "nornir_runbook")
PLAIN = Path(__file__).resolve().with_name("everyday_plain.py")
SETTLE_S = 2.0  # the lab ends a closed session's threads within about a second

RUNBOOK = """\
name: Everyday
steps:
  - name: Clock and version
    commands: [show clock, show version]
"""
CONFIG = """\
inventory:
  plugin: SimpleInventory
  options:
    host_file: hosts.yaml
    group_file: groups.yaml
    defaults_file: defaults.yaml
runner:
  plugin: threaded
  options:
    num_workers: 50
logging:
  enabled: false
"""


def write_project(folder: Path) -> None:
    """config.yaml, the inventory of the lab devices and the runbook, in ``folder``."""
    (folder / "config.yaml").write_text(CONFIG)
    (folder / "groups.yaml").write_text("lab:\n  data:\n    site: lab\n")
    (folder / "defaults.yaml").write_text(
        f"platform: cisco_ios\nusername: {USERNAME}\npassword: {PASSWORD}\n"
    )
    hosts = "".join(
        f"r{i:03d}:\n  hostname: 127.0.0.1\n  port: {FIRST_PORT + i}\n  groups: [lab]\n"
        for i in range(HOSTS)
    )
    (folder / "hosts.yaml").write_text(hosts)
    (folder / "everyday.yaml").write_text(RUNBOOK)


def measured(argv: list[str], cwd: Path) -> dict[str, Any]:
    """Run ``argv`` to its end: wall time, CPU time and peak RSS of that child alone."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        child = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - t0
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        document = json.loads(out.read() or b"{}")
        if child.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{argv} failed ({child.returncode}): {err.read()[-600:]!r}")
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "peak_mb": round(usage.ru_maxrss / 1024, 1),  # kilobytes on Linux
        "hosts": len(document.get("hosts", document)),
    }


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        key: round(statistics.median(r[key] for r in runs), 3)
        for key in ("wall_s", "cpu_s", "peak_mb")
    } | {"runs": runs}


def main(rounds: int = 6) -> dict[str, Any]:
    # as pip installs a package: its bytecode written once (an editable install, under
    # PYTHONDONTWRITEBYTECODE, would compile nrb's modules from source in every run)
    compileall.compile_dir(Path(nornir_runbook.__file__).parent, quiet=1)

    devices = [
        Device(
            name=f"r{i:03d}",
            address="127.0.0.1",
            port=FIRST_PORT + i,
            username=USERNAME,
            password=PASSWORD,
        )
        for i in range(HOSTS)
    ]
    with tempfile.TemporaryDirectory(prefix="nrb-everyday-") as tmp:
        folder = Path(tmp)
        write_project(folder)
        commands = {
            "nrb": [*NRB, "run", "everyday.yaml", "-w", str(WORKERS), "-o", "json"],
            "plain_nornir": [sys.executable, str(PLAIN), str(folder / "config.yaml")],
        }
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in commands}
        with Lab(devices):
            time.sleep(SETTLE_S)
            for argv in commands.values():  # warm the file cache
                measured(argv, folder)
            for round_ in range(rounds):
                order = list(commands.items())
                for name, argv in order if round_ % 2 == 0 else reversed(order):
                    time.sleep(SETTLE_S)
                    runs[name].append(measured(argv, folder))
    out: dict[str, Any] = {"hosts": HOSTS, "workers": WORKERS}
    out |= {name: summary(done) for name, done in runs.items()}
    nrb, plain = out["nrb"], out["plain_nornir"]
    out["ratios_nrb_over_plain"] = {
        key: round(nrb[key] / plain[key], 3) for key in ("wall_s", "cpu_s", "peak_mb")
    }
    ratios = out["ratios_nrb_over_plain"]
    print(
        f"everyday ({HOSTS} hosts, {WORKERS} workers, medians of {rounds}): "
        f"nrb {nrb['wall_s']}s / {nrb['cpu_s']}s CPU / {nrb['peak_mb']} MB, "
        f"plain Nornir {plain['wall_s']}s / {plain['cpu_s']}s CPU / {plain['peak_mb']} MB; "
        f"ratios: time {ratios['wall_s']}, CPU {ratios['cpu_s']}, memory {ratios['peak_mb']}"
    )
    save("everyday", out)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    main(parser.parse_args().rounds)
