"""A big SimpleInventory: `nrb run` of a no-op runbook against plain Nornir doing the same.

A site of 10,000 hosts (``--hosts N``) is written to a temporary folder as SimpleInventory files:
groups (a region, a site per 100 hosts, four roles), defaults (platform, credentials, data with
tags), hosts (address, port, site and role groups, data with tags, serial, model, rack). The
runbook is one step of the built-in ``echo`` task with one template per host. Both sides run as
whole commands, alternated, a few rounds, each in a new process:

- ``nrb run noop.yaml -c config.yaml -o json`` (start-up, loading and checking the inventory,
  validation, the run and the json document included);
- ``python bench/bench_inventory.py --plain config.yaml``: InitNornir with SimpleInventory,
  ThreadedRunner at the same number of workers, a task returning what ``echo`` returns, a json
  dump of the results.

Each command's time, CPU time (user and system: what the command itself used, whatever else
the machine runs) and peak memory (its own peak RSS), from ``os.wait4``; the medians, and the
ratios nrb over plain Nornir (goals: at most 0.6x the time, at most 1.1x the memory).
``python bench/bench_inventory.py [--hosts N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

WORKERS = 20
NRB = (sys.executable, "-m", "nornir_runbook")
ROLES = ("core", "edge", "access", "spine")
RUNBOOK = """\
name: No-op
steps:
  - name: Echo
    task: echo
    args: {greeting: "hello {{ host.name }}"}
"""
TIME_GOAL, MEMORY_GOAL = 0.6, 1.1


def write_site(folder: Path, hosts: int) -> Path:
    """The inventory files, config.yaml and the runbook in ``folder``; config.yaml's path."""
    sites = [f"site{i:04d}" for i in range(max(1, hosts // 100))]
    groups = ["emea:\n  data:\n    region: emea\n    ntp_servers: [192.0.2.1, 192.0.2.2]\n"]
    groups += [
        f"{site}:\n  groups: [emea]\n  data:\n    site: {site}\n    site_id: {i}\n"
        for i, site in enumerate(sites)
    ]
    groups += [
        f"{role}:\n  data:\n    role: {role}\n    bgp_asn: {64500 + i}\n"
        for i, role in enumerate(ROLES)
    ]
    lines = []
    for i in range(hosts):
        site, role = sites[i % len(sites)], ROLES[i % len(ROLES)]
        lines.append(
            f"{site}-{role}-{i:06d}:\n"
            f"  hostname: 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n"
            "  port: 22\n"
            f"  groups: [{site}, {role}]\n"
            "  data:\n"
            f"    tags: [prod, {role}, rack{i % 40}]\n"
            f"    serial: FTX{i:08d}\n"
            "    model: C9300-48P\n"
            f"    rack: R{i % 40:02d}\n"
        )
    inventory = folder / "inventory"
    inventory.mkdir(parents=True, exist_ok=True)
    (inventory / "groups.yaml").write_text("\n".join(groups))
    (inventory / "hosts.yaml").write_text("\n".join(lines))
    (inventory / "defaults.yaml").write_text(
        "platform: cisco_ios\nusername: admin\npassword: bench-pw\n"
        "data:\n  tags: [prod]\n  domain: example.net\n"
    )
    (folder / "noop.yaml").write_text(RUNBOOK)
    config = folder / "config.yaml"
    config.write_text(
        "inventory:\n  plugin: SimpleInventory\n  options:\n"
        "    host_file: inventory/hosts.yaml\n    group_file: inventory/groups.yaml\n"
        "    defaults_file: inventory/defaults.yaml\n"
        f"runner:\n  plugin: futures\n  options:\n    num_workers: {WORKERS}\n"
        "logging:\n  enabled: false\n"
    )
    return config


def plain_nornir(config: Path) -> None:
    """What the runbook does, with stock Nornir (inventory paths relative to the current
    directory, as Nornir reads them: run from ``config``'s folder)."""
    from nornir import InitNornir  # noqa: PLC0415 -- timed as part of the command
    from nornir.core.task import Result, Task  # noqa: PLC0415

    def echo(task: Task) -> Result:
        return Result(host=task.host, result={"greeting": f"hello {task.host.name}"})

    nr = InitNornir(
        config_file=str(config),
        runner={"plugin": "threaded", "options": {"num_workers": WORKERS}},
        logging={"enabled": False},
    )
    results = nr.run(task=echo)
    document = {
        name: {"failed": multi.failed, "result": multi[0].result} for name, multi in results.items()
    }
    json.dump(document, sys.stdout)


def measure(argv: list[str], cwd: Path) -> tuple[float, float, float, bytes]:
    """Seconds, CPU seconds, peak RSS in MB (the command's own: ``wait4`` reports that child
    alone), and its standard output."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.PIPE)
        stderr = process.stderr.read() if process.stderr else b""
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - t0
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        if process.returncode != 0:
            raise SystemExit(f"{argv[2:4]} failed ({process.returncode}): {stderr[-600:]!r}")
        out.seek(0)
        cpu = usage.ru_utime + usage.ru_stime
        return elapsed, cpu, usage.ru_maxrss / 1024, out.read()


def main(hosts: int = 10_000, rounds: int = 3) -> dict[str, Any]:
    from common import save  # noqa: PLC0415 -- and a HOME of its own for the commands

    with tempfile.TemporaryDirectory(prefix="nrb-bench-inventory-") as tmp:
        folder = Path(tmp)
        config = write_site(folder, hosts)
        commands = {
            "nrb": [*NRB, "run", "noop.yaml", "-c", str(config), "-o", "json"],
            "plain_nornir": [sys.executable, str(Path(__file__).resolve()), "--plain", str(config)],
        }
        figures: dict[str, dict[str, list[float]]] = {
            name: {"s": [], "cpu_s": [], "peak_rss_mb": []} for name in commands
        }
        for _ in range(rounds):
            for name, argv in commands.items():  # alternated: a busy moment hits both
                elapsed, cpu, peak, output = measure(argv, folder)
                document = json.loads(output)
                done = document["summary"]["ok"] if name == "nrb" else len(document)
                if done != hosts:
                    raise SystemExit(f"{name}: {done} hosts of {hosts} done")
                figures[name]["s"].append(elapsed)
                figures[name]["cpu_s"].append(cpu)
                figures[name]["peak_rss_mb"].append(peak)
    out: dict[str, Any] = {"hosts": hosts, "workers": WORKERS, "rounds": rounds}
    for name, measured in figures.items():
        out[name] = {key: round(statistics.median(v), 2) for key, v in measured.items()}
    for key in ("s", "cpu_s", "peak_rss_mb"):
        out[f"ratio_{key}"] = round(out["nrb"][key] / out["plain_nornir"][key], 2)
    nrb, plain = out["nrb"], out["plain_nornir"]
    print(
        f"{hosts} hosts, no-op runbook, whole commands ({rounds} rounds, medians): "
        f"nrb {nrb['s']} s ({nrb['cpu_s']} s CPU) {nrb['peak_rss_mb']} MB, plain Nornir "
        f"{plain['s']} s ({plain['cpu_s']} s CPU) {plain['peak_rss_mb']} MB: time "
        f"{out['ratio_s']}x (CPU {out['ratio_cpu_s']}x; goal {TIME_GOAL}x), memory "
        f"{out['ratio_peak_rss_mb']}x (goal {MEMORY_GOAL}x)"
    )
    save(f"inventory{hosts}", out)
    return out


if __name__ == "__main__":
    if sys.argv[1:2] == ["--plain"]:
        plain_nornir(Path(sys.argv[2]))
        raise SystemExit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    main(args.hosts, args.rounds)
