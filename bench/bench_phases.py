"""The phases of ``nrb run`` at 1,000, 10,000 and 100,000 hosts: each should take about 10x the
time of the size before it (every phase linear in the hosts).

A SimpleInventory of N hosts in nested groups (sites in a region, roles with tags; every 7th
host has tags of its own) and a no-op runbook (the built-in ``echo``, one template per host)
are written to a temporary folder, then the phases run in-process through the entry points
``nrb run`` uses (``cli/run.py``), in its order, each timed:

- ``load``: config.yaml and the inventory read and checked (``load_project_for``);
- ``check``: the runbook read and checked against the tasks and the inventory (``load_checked``);
- ``select``: the hosts (``select_hosts``);
- ``plan``: every step rendered for every host (``make_plan``, ``settings_from``);
- ``run``: the engine (``Engine.run``) with the json output taking its events;
- ``report``: the json document built and written (``output.finish``, to /dev/null);
- ``save``: with ``--save``, ``SaveOutput``'s files too (4 fsyncs a host: bound by the disk).

Each phase's wall time is given with its CPU time (``time.process_time``: every thread of the
process), which another busy process on the machine changes far less. Each size runs in a
process of its own, whose peak RSS is the size's.
``python bench/bench_phases.py [--sizes 1000,10000,100000] [--save]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from common import save

SIZES = (1_000, 10_000, 100_000)
PHASES = ("load", "check", "select", "plan", "run", "report")
SITES, ROLES = 20, 4

RUNBOOK = """\
name: No-op
steps:
  - name: Echo
    task: echo
    args: {msg: "{{ host.name }}"}
"""


def write_project(folder: Path, n: int) -> Path:
    """config.yaml, inventory/ of ``n`` hosts and noop.yaml in ``folder``; the runbook's path."""
    inventory = folder / "inventory"
    inventory.mkdir(parents=True, exist_ok=True)
    with (inventory / "hosts.yaml").open("w") as hosts:
        hosts.write("---\n")
        for i in range(n):
            hosts.write(
                f"h{i:06d}:\n  hostname: 127.0.0.1\n  port: {20000 + i % 40000}\n"
                f"  groups: [site{i % SITES}, role{i % ROLES}]\n"
            )
            if i % 7 == 0:
                hosts.write("  data: {tags: [canary]}\n")
    groups = ["---\nemea:\n  data: {region: emea}\n"]
    groups += [f"site{s}:\n  groups: [emea]\n  data: {{site: s{s}}}\n" for s in range(SITES)]
    groups += [f"role{r}:\n  data: {{role: r{r}, tags: [prod, r{r}]}}\n" for r in range(ROLES)]
    (inventory / "groups.yaml").write_text("".join(groups))
    (inventory / "defaults.yaml").write_text(
        "---\nplatform: cisco_ios\nusername: nrb\npassword: bench-secret\ndata: {tags: [lab]}\n"
    )
    (folder / "config.yaml").write_text(
        "---\ninventory:\n  plugin: SimpleInventory\n  options:\n"
        "    host_file: inventory/hosts.yaml\n    group_file: inventory/groups.yaml\n"
        "    defaults_file: inventory/defaults.yaml\n"
        "runner: {plugin: futures, options: {num_workers: 20}}\nlogging: {enabled: false}\n"
    )
    runbook = folder / "noop.yaml"
    runbook.write_text(RUNBOOK)
    return runbook


def phases(folder: Path, *, with_save: bool) -> dict[str, Any]:
    """Every phase of ``nrb run noop.yaml -o json`` over the project in ``folder``, timed."""
    from rich.console import Console  # noqa: PLC0415 -- timed apart from the imports

    from nornir_runbook.cli.common import load_checked, load_project_for  # noqa: PLC0415
    from nornir_runbook.cli.parser import build_parser  # noqa: PLC0415
    from nornir_runbook.project.selection import select_hosts  # noqa: PLC0415
    from nornir_runbook.redact import Redactor  # noqa: PLC0415
    from nornir_runbook.report.render import make_output  # noqa: PLC0415
    from nornir_runbook.report.save import SaveOutput, prepare_save_dir  # noqa: PLC0415
    from nornir_runbook.run.engine import Engine  # noqa: PLC0415
    from nornir_runbook.run.plan import make_plan, settings_from  # noqa: PLC0415
    from nornir_runbook.runbook.registry import default_registry  # noqa: PLC0415

    argv = ["run", str(folder / "noop.yaml"), "-c", str(folder / "config.yaml"), "-o", "json"]
    args = build_parser().parse_args(argv)
    redactor = Redactor()
    times: dict[str, float] = {}
    cpu: dict[str, float] = {}

    @contextmanager
    def timed(phase: str) -> Iterator[None]:
        t0, c0 = time.perf_counter(), time.process_time()
        yield
        times[phase] = round(time.perf_counter() - t0, 3)
        cpu[phase] = round(time.process_time() - c0, 3)

    with timed("load"):
        project = load_project_for(args, redactor)
    with timed("check"):
        runbook = load_checked(args.runbook, project, {})
    with timed("select"):
        hosts = select_hosts(project.nr.inventory, targets=runbook.targets)
    with timed("plan"):
        registry = default_registry(project.directory)
        plan = make_plan(project.nr, runbook, hosts, registry, project.directory)
        settings = settings_from(project.runner_options, runbook)
    with open("/dev/null", "w") as devnull:
        output = make_output("json", Console(file=devnull), redactor=redactor)
        with timed("run"):
            report = Engine(project.nr, settings, redactor).run(plan, output.on_event)
        with timed("report"):
            output.finish(report)
    if with_save:
        saved = folder / "saved"
        prepare_save_dir(saved)
        saver = SaveOutput(saved, redactor=redactor)
        with timed("save"):
            for event in _replayed(report):
                saver.on_event(event)
            saver.finish(report)
    ok = sum(1 for h in report.hosts if h.status.value == "ok")
    return {"hosts": len(hosts), "ok": ok, "seconds": times, "cpu_seconds": cpu}


def _replayed(report: Any) -> Iterator[Any]:
    """The events SaveOutput gets during a run: the start, then each host done."""
    from nornir_runbook.report.results import HostDone, RunStarted  # noqa: PLC0415

    hosts = tuple(h.name for h in report.hosts)
    yield RunStarted(runbook=report.runbook, run_id=report.run_id, hosts=hosts, steps=("Echo",))
    for host in report.hosts:
        yield HostDone(report=host)


def one(n: int, *, with_save: bool) -> dict[str, Any]:
    """One size, in this process: the project written, the phases timed, the peak RSS."""
    with tempfile.TemporaryDirectory(prefix="nrb-phases-") as tmp:
        write_project(Path(tmp), n)
        out = phases(Path(tmp), with_save=with_save)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def main(sizes: tuple[int, ...] = SIZES, *, with_save: bool = False) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for n in sizes:  # a process each: its peak memory and its heap are that size's alone
        argv = [sys.executable, __file__, "--one", str(n)] + ["--save"] * with_save
        done = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=3600)
        results[str(n)] = json.loads(done.stdout.strip().splitlines()[-1])
        print(_line(n, results[str(n)]), flush=True)
    save("phases", results)
    return results


def _line(n: int, result: dict[str, Any]) -> str:
    seconds, cpu = result["seconds"], result["cpu_seconds"]
    done = [phase for phase in (*PHASES, "save") if phase in seconds]
    parts = "  ".join(f"{phase} {seconds[phase]:.2f} ({cpu[phase]:.2f})" for phase in done)
    return (
        f"phases, {n:,} hosts ({result['ok']} ok), wall (cpu) s: {parts}; "
        f"peak RSS {result['peak_rss_mb']} MB"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--save", action="store_true", help="time --save's files too")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.one is not None:
        print(json.dumps(one(options.one, with_save=options.save)))
    else:
        main(tuple(int(n) for n in options.sizes.split(",")), with_save=options.save)
