"""Every runner option reaches the runner that runs the hosts, by every path that accepts it:
``config.yaml`` ``runner.options``, the runbook's ``options:`` and the command line, each
overriding the one before.

The ``runner_probe`` tasks (``runner_probe.py``, copied into the project) look from inside the
run: at the options of ``task.nornir.runner``, and with in-flight counters at how many hosts
set up a connection or run in a group at once. ``grace_period`` is also shown by Ctrl-C.
"""

from __future__ import annotations

import json
import shutil
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_kit import MakeProject, Nrb, Ran, copy_project, run_many, write_text
from interrupt_kit import FREE, HELD, HELD_LIMIT, Watched, hold_runbook, with_probe

pytestmark = pytest.mark.cli

PROBE = Path(__file__).with_name("runner_probe.py")
HOSTS = ("ams-core-01", "ams-core-02", "ams-edge-01", "ams-edge-02")  # four: see max_fail below
LIMIT = ":".join(HOSTS)

CONFIG = {
    "num_workers": 3,
    "task_timeout": 31,
    "retries": 1,
    "retry_backoff": 0.25,
    "max_fail_percentage": 50,
    "connect_limit": 2,
    "group_limits": {"core": 2},
    "grace_period": 7,
}
RUNBOOK = {
    "workers": 4,
    "task_timeout": 32,
    "retries": 2,
    "retry_backoff": 0.5,
    "max_fail_percentage": 25,
    "connect_limit": 3,
    "group_limits": {"edge": 3},
    "grace_period": 8,
}
FLAGS = {
    "num_workers": ["-w", "5"],
    "task_timeout": ["--task-timeout", "33"],
    "retries": ["--retries", "3"],
    "max_fail_percentage": ["--max-fail-percentage", "75"],
}


def runner_value(option: str, value: Any) -> Any:
    """What the runner holds for ``value``: the engine hands max_fail_percentage to it as the
    share of failures allowed in the step, a whole number of its four hosts."""
    if option == "max_fail_percentage":
        return (value * len(HOSTS) // 100) * 100 / len(HOSTS)
    return value


# (path, runner option, what the runner must hold): config only; config and runbook (the
# runbook wins); config, runbook and flags (the flags win)
EXPECTED = [
    *(("config", option, runner_value(option, v)) for option, v in CONFIG.items()),
    *(
        (
            "runbook",
            option,
            runner_value(option, RUNBOOK["workers" if option == "num_workers" else option]),
        )
        for option in CONFIG
    ),
    *(
        ("flags", option, runner_value(option, float(args[1]) if "." in args[1] else int(args[1])))
        for option, args in FLAGS.items()
    ),
]


def project(lab: Any, folder: Path, free_ports: Callable[..., list[int]], **options: Any) -> Path:
    """The lab project in ``folder`` with the probe tasks and these runner options."""
    config_file = copy_project(lab, folder, free_ports)
    shutil.copyfile(PROBE, folder / PROBE.name)
    config = yaml.safe_load(config_file.read_text())
    config["runner"]["options"].update(options)
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    return config_file


def runbook(
    folder: Path, name: str, task: str, options: dict[str, Any] | None = None, **args: Any
) -> Path:
    doc: dict[str, Any] = {"name": name, "steps": [{"name": "Probe", "task": task}]}
    if args:
        doc["steps"][0]["args"] = args
    if options:
        doc["options"] = options
    return write_text(folder, yaml.safe_dump(doc, sort_keys=False), f"{name}.yaml")


def results(ran: Ran) -> dict[str, Any]:
    """Each host's probe result; the run must have gone well."""
    assert ran.code == 0, ran
    return {name: host["steps"][0]["result"] for name, host in ran.json()["hosts"].items()}


@pytest.fixture(scope="module")
def probed(
    lab_inventory: Any,
    tmp_path_factory: pytest.TempPathFactory,
    free_ports: Callable[..., list[int]],
) -> dict[str, dict[str, Any]]:
    """The probe's findings on each host, per path."""
    folder = tmp_path_factory.mktemp("runner-options")
    plain = project(lab_inventory, folder / "plain", free_ports)
    configured = project(lab_inventory, folder / "configured", free_ports, **CONFIG)
    bare = runbook(folder, "bare", "runner_probe:options")
    optioned = runbook(folder, "optioned", "runner_probe:options", RUNBOOK)
    flags = [arg for args in FLAGS.values() for arg in args]
    base = ("run", "-o", "json", "-l", LIMIT)
    nrb = Nrb(config=plain, cwd=folder)
    runs = run_many(
        nrb,
        {
            "config": (*base, bare, "-c", configured),
            "runbook": (*base, optioned, "-c", configured),
            "flags": (*base, optioned, "-c", configured, *flags),
            "plain": (*base, bare, "-c", plain),
        },
    )
    return {path: results(ran) for path, ran in runs.items()}


@pytest.mark.parametrize(
    ("path", "option", "expected"), EXPECTED, ids=[f"{p}-{o}" for p, o, _ in EXPECTED]
)
def test_the_runner_gets_each_option_by_each_path(
    probed: dict[str, dict[str, Any]], path: str, option: str, expected: Any
) -> None:
    found = probed[path]
    assert sorted(found) == sorted(HOSTS)
    for host, seen in found.items():
        assert seen[option] == expected, (host, seen)
        assert seen[option] != probed["plain"][host][option]  # not what it is by default
        assert seen["process"] == "MainProcess"  # the thread executor, by default


# -- limits, seen by in-flight counters -------------------------------------------------------

PAIR = "ams-core-01:ams-core-02:ams-edge-01"  # two core hosts and an edge host
LIMITS = {  # case: (probe task and its args, the limit as an option)
    "connect_limit": ({"task": "runner_probe:meet_connect"}, {"connect_limit": 1}),
    "group_limits": (
        {"task": "runner_probe:meet_group", "args": {"group": "core"}},
        {"group_limits": {"core": 1}},
    ),
}


@pytest.fixture(scope="module")
def met(
    lab_inventory: Any,
    tmp_path_factory: pytest.TempPathFactory,
    free_ports: Callable[..., list[int]],
) -> dict[tuple[str, str], int]:
    """The most hosts inside at once, per (limit, where it was set)."""
    folder = tmp_path_factory.mktemp("runner-limits")
    commands = {}
    for limit, (step, option) in LIMITS.items():
        configured = project(lab_inventory, folder / f"{limit}-config", free_ports, **option)
        plain = project(lab_inventory, folder / f"{limit}-none", free_ports)
        for where, config, options in (
            ("config", configured, None),
            ("runbook", plain, option),
            ("none", plain, None),
        ):
            doc: dict[str, Any] = {"name": limit, "steps": [{"name": "Meet", **step}]}
            if options:
                doc["options"] = options
            book = write_text(folder, yaml.safe_dump(doc), f"{limit}-{where}.yaml")
            commands[limit, where] = ("run", book, "-c", config, "-o", "json", "-l", PAIR)
    runs = run_many(Nrb(config=folder, cwd=folder), commands, workers=len(commands))
    return {
        case: max(result["peak"] for result in results(ran).values()) for case, ran in runs.items()
    }


@pytest.mark.parametrize("where", ["config", "runbook"])
@pytest.mark.parametrize("limit", list(LIMITS))
def test_a_limit_of_one_keeps_hosts_apart(
    met: dict[tuple[str, str], int], limit: str, where: str
) -> None:
    assert met[limit, "none"] == 2  # without the limit, the two meet: the counter sees them
    assert met[limit, where] == 1


# -- where hosts run: executor and dask_address (config.yaml and flags; not runbooks) ---------


@pytest.fixture(scope="module")
def executed(
    lab_inventory: Any,
    tmp_path_factory: pytest.TempPathFactory,
    free_ports: Callable[..., list[int]],
) -> dict[str, Ran]:
    folder = tmp_path_factory.mktemp("runner-executors")
    nobody = f"127.0.0.1:{free_ports(1)[0]}"  # a dask scheduler address where nothing listens
    plain = project(lab_inventory, folder / "plain", free_ports, num_workers=2)
    process = project(lab_inventory, folder / "process", free_ports, executor="process")
    dask = project(lab_inventory, folder / "dask", free_ports, executor="dask", dask_address=nobody)
    book = runbook(folder, "where", "runner_probe:options")
    base = ("run", book, "-o", "json", "-l", "ams-core-01:ams-core-02")
    runs = run_many(
        Nrb(config=plain, cwd=folder),
        {
            "process-config": (*base, "-c", process, "-w", "2"),
            "process-flags": (*base, "-c", plain, "--executor", "process"),
            "dask-config": (*base, "-c", dask),
            "dask-flags": (*base, "-c", plain, "--executor", "dask", "--dask-address", nobody),
        },
    )
    return {"nobody": nobody, **runs}  # type: ignore[dict-item]


@pytest.mark.parametrize("where", ["config", "flags"])
def test_executor_process_runs_hosts_in_worker_processes(
    executed: dict[str, Any], where: str
) -> None:
    for seen in results(executed[f"process-{where}"]).values():
        assert seen["process"] != "MainProcess", seen


@pytest.mark.parametrize("where", ["config", "flags"])
def test_dask_address_is_where_nrb_looks_for_the_scheduler(
    executed: dict[str, Any], where: str
) -> None:
    ran = executed[f"dask-{where}"]
    assert ran.code == 5, ran
    assert f"cannot reach the dask scheduler at {executed['nobody']}" in ran.err, ran


# -- grace_period, seen by Ctrl-C -------------------------------------------------------------


@contextmanager
def interrupted(
    nrb: Nrb, make_project: MakeProject, where: str, grace: float, *, session: bool
) -> Iterator[tuple[Watched, Path]]:
    """nrb with its hosts held, just after one Ctrl-C; grace_period set in config.yaml or in
    the runbook. Yields the run and the project folder."""
    options = {"grace_period": grace}
    config = with_probe(make_project(), **(options if where == "config" else {}))
    folder = config.parent
    runbook = hold_runbook(folder, session=session, **(options if where == "runbook" else {}))
    with Watched(nrb, "run", runbook, "-c", config, "-o", "jsonl", "-l", HELD_LIMIT) as run:
        run.wait_for_line("out", f'"host": "{FREE}"')
        run.wait_for_files(*(folder / f"started-{h}" for h in HELD))
        run.signal(signal.SIGINT)
        yield run, folder


def _statuses(run: Watched) -> dict[str, str]:
    *hosts, _summary = [json.loads(line) for line in run.out]
    return {line["host"]: line["status"] for line in hosts}


@pytest.mark.parametrize("where", ["config", "runbook"])
def test_a_long_grace_period_waits_for_the_running_hosts(
    nrb: Nrb, make_project: MakeProject, where: str
) -> None:
    """After Ctrl-C, the held hosts are let go only once nrb says it waits for them: they
    finish within the grace period of an hour, not the default's few seconds."""
    with interrupted(nrb, make_project, where, 3600, session=False) as (run, folder):
        run.wait_for_line("err", "interrupted: waiting up to 3600s for 2 running hosts")
        (folder / "release").touch()
        code = run.finish()

    assert code == 130, run.err
    assert _statuses(run) == dict.fromkeys((FREE, *HELD), "ok")


@pytest.mark.parametrize("session", [True, False], ids=["in-a-session", "in-its-own-code"])
@pytest.mark.parametrize("where", ["config", "runbook"])
def test_a_grace_period_of_0_gives_up_on_running_hosts_at_once(
    nrb: Nrb, make_project: MakeProject, where: str, session: bool
) -> None:
    """The held hosts are never let go: with no grace period, one Ctrl-C ends the run, whether
    a host waits on its session (aborted) or in its task's own code (left behind)."""
    with interrupted(nrb, make_project, where, 0, session=session) as (run, _):
        code = run.finish()

    assert code == 130, run.err
    # cut short in their step: failed (their step says it was interrupted), not skipped
    assert _statuses(run) == {FREE: "ok", **dict.fromkeys(HELD, "failed")}
    assert "waiting up to" not in "".join(run.err)
