"""The process and dask executors against the thread executor, over SSH to the lab.

The dask cluster is real: a ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1,
started from the command line as a user would.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import remote_tasks
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from netmiko.exceptions import NetmikoAuthenticationException
from nornir.core import Nornir
from nornir.core.task import AggregatedResult, Task

from dask_kit import dask_cluster
from nornir_runbook import FuturesRunner, RunInterrupted
from nornir_runbook.errors import HostKeyError
from nornir_runbook.runner.failures import connection_error, describe_exception
from nornir_runbook.runner.options import HostKeyChecking
from nornir_runbook.runner.remote import RemoteTaskError
from nornir_runbook.tasks.send_commands import send_commands

if TYPE_CHECKING:
    from conftest import LabInventory

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
SHOW = ["show version", "show ip interface brief", "show running-config"]


@pytest.fixture(scope="module")
def dask_address(free_ports: Callable[..., list[int]]) -> Iterator[str]:
    with dask_cluster(free_ports(1)[0], workers=2, nthreads=6, pythonpath=[HERE]) as address:
        yield address


@pytest.fixture(params=["process", "dask"])
def executor(request: pytest.FixtureRequest) -> dict[str, object]:
    if request.param == "dask":
        return {"executor": "dask", "dask_address": request.getfixturevalue("dask_address")}
    return {"executor": "process"}


def _outputs(result: AggregatedResult) -> dict[str, object]:
    return {host: multi[0].result for host, multi in result.items()}


def test_same_results_as_threads(
    make_nornir: Callable[..., Nornir], executor: dict[str, object], lab_inventory: LabInventory
) -> None:
    nr = make_nornir()
    threads = FuturesRunner(num_workers=6)
    remote = FuturesRunner(num_workers=4, **executor)
    try:
        expected = nr.with_runner(threads).run(task=send_commands, on_failed=True, commands=SHOW)
        got = nr.with_runner(remote).run(task=send_commands, on_failed=True, commands=SHOW)
    finally:
        remote.close()
    assert list(got) == list(lab_inventory.hosts)
    assert not got.failed
    assert _outputs(got) == _outputs(expected)
    vendor = {"cisco_ios": "Cisco IOS", "arista_eos": "Arista cEOSLab"}
    versions = {host: out["show version"] for host, out in _outputs(got).items()}
    assert all(vendor[lab_inventory.platforms[h]] in out for h, out in versions.items())


def test_failures_keep_their_type_and_message(
    make_nornir: Callable[..., Nornir], executor: dict[str, object], lab_inventory: LabInventory
) -> None:
    nr = make_nornir()
    bad = lab_inventory.hosts[2]
    nr.inventory.hosts[bad].password = "wrong-for-this-test"
    runner = FuturesRunner(num_workers=4, **executor)
    try:
        boom = nr.with_runner(runner).run(task=remote_tasks.raise_value_error, on_failed=True)
        login = nr.with_runner(runner).run(
            task=send_commands, on_failed=True, commands=["show clock"]
        )
    finally:
        runner.close()
    first = lab_inventory.hosts[0]
    assert isinstance(boom[first][0].exception, ValueError)
    assert str(boom[first][0].exception) == f"boom on {first}"
    assert list(login.failed_hosts) == [bad]
    assert isinstance(connection_error(login[bad]), NetmikoAuthenticationException)
    assert all("UTC" in login[h][0].result["show clock"] for h in lab_inventory.hosts if h != bad)


def test_workers_check_host_keys_as_the_runner_says(
    make_nornir: Callable[..., Nornir],
    executor: dict[str, object],
    lab_inventory: LabInventory,
    tmp_path: Path,
) -> None:
    """The host key setting travels to worker processes and dask workers."""
    victim, *others = lab_inventory.hosts
    port = lab_inventory.ports[victim]
    known = tmp_path / "known_hosts"
    other = Ed25519PrivateKey.generate().public_key()
    openssh = serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    wrong = f"[127.0.0.1]:{port} {other.public_bytes(*openssh).decode()}\n"
    known.write_text(wrong)
    strict_file = tmp_path / "empty_known_hosts"
    nr = make_nornir()
    accept_new = FuturesRunner(
        num_workers=4, host_key_checking=HostKeyChecking("accept-new", str(known)), **executor
    )
    strict = FuturesRunner(
        num_workers=4, host_key_checking=HostKeyChecking("strict", str(strict_file)), **executor
    )
    try:
        first = nr.with_runner(accept_new).run(task=send_commands, commands=["show clock"])
        second = nr.with_runner(strict).run(
            task=send_commands, commands=["show clock"], on_failed=True
        )
    finally:
        accept_new.close()
        strict.close()
    assert list(first.failed_hosts) == [victim]
    changed = connection_error(first[victim])
    assert isinstance(changed, HostKeyError)
    assert describe_exception(changed).startswith(f"host key changed: [127.0.0.1]:{port} sent")
    assert len(known.read_text().splitlines()) == 1 + len(others)
    assert set(second.failed_hosts) == set(lab_inventory.hosts)
    assert describe_exception(connection_error(second[victim])).startswith(  # type: ignore[arg-type]
        f"host key refused: [127.0.0.1]:{port} is not in {strict_file}"
    )
    assert not strict_file.exists()


def test_unpicklable_and_subtask_failures_do_not_break_the_pool(
    make_nornir: Callable[..., Nornir], executor: dict[str, object], lab_inventory: LabInventory
) -> None:
    nr = make_nornir()
    runner = FuturesRunner(num_workers=4, **executor)
    try:
        unpicklable = nr.with_runner(runner).run(
            task=remote_tasks.raise_unpicklable, on_failed=True
        )
        subtask = nr.with_runner(runner).run(task=remote_tasks.fail_through_subtask, on_failed=True)
        after = nr.with_runner(runner).run(
            task=send_commands, on_failed=True, commands=["show clock"]
        )
    finally:
        runner.close()
    host = lab_inventory.hosts[0]
    exc = unpicklable[host][0].exception
    assert isinstance(exc, RemoteTaskError)
    assert exc.type_name == "UnpicklableError"
    assert exc.message == f"cannot travel from {host}"
    sub = subtask[host][0].exception
    assert isinstance(sub, RemoteTaskError)
    assert (sub.type_name, sub.message) == ("RuntimeError", f"inner failure on {host}")
    assert len(unpicklable.failed_hosts) == len(lab_inventory.hosts)
    assert not after.failed


def test_each_device_keeps_one_session_in_one_worker_across_runs(
    make_nornir: Callable[..., Nornir], executor: dict[str, object]
) -> None:
    nr = make_nornir()
    runner = FuturesRunner(num_workers=4, **executor)
    try:
        first = _outputs(nr.with_runner(runner).run(task=remote_tasks.where, on_failed=True))
        second = _outputs(nr.with_runner(runner).run(task=remote_tasks.where, on_failed=True))
    finally:
        runner.close()
    assert first == second  # same worker process, same session object, for every host
    assert len({out["pid"] for out in first.values()}) > 1  # spread over several workers


def test_a_killed_dask_worker_fails_its_hosts_and_applies_nothing_twice(
    make_nornir: Callable[..., Nornir],
    dask_address: str,
    tmp_path: Path,
    lab_inventory: LabInventory,
) -> None:
    nr = make_nornir()
    victim = lab_inventory.hosts[0]
    runner = FuturesRunner(num_workers=4, executor="dask", dask_address=dask_address)
    try:
        result = nr.with_runner(runner).run(
            task=remote_tasks.mark_once, directory=str(tmp_path), kill=victim
        )
    finally:
        runner.close()
    assert list(result) == list(lab_inventory.hosts)
    assert result[victim].failed
    assert (
        "KilledWorker"
        in f"{type(result[victim][0].exception).__name__}{result[victim][0].exception}"
    )
    for host in lab_inventory.hosts:
        marker = tmp_path / f"{host}.applied"
        applied = marker.read_text().count("applied") if marker.exists() else 0
        assert applied == (0 if result[host].failed and applied == 0 else 1), host


@pytest.mark.parametrize("guard", ["scheduler plugin", "claims"])
def test_a_result_lost_with_its_dask_worker_is_not_applied_again(
    make_nornir: Callable[..., Nornir],
    free_ports: Callable[..., list[int]],
    tmp_path: Path,
    lab_inventory: LabInventory,
    guard: str,
) -> None:
    """The victim's task finishes, then its worker dies as it sends the result: dask computes
    the task again on another worker (whatever allowed-failures says), and that second run
    refuses to apply it again. Either guard: the scheduler's plugin (``rerun_guard``), or,
    where a scheduler refuses it, a claim per attempt. A cluster of its own: no worker of it
    has died before."""
    nr = make_nornir()
    victim = lab_inventory.hosts[0]
    with dask_cluster(free_ports(1)[0], workers=2, nthreads=6, pythonpath=[HERE]) as address:
        runner = FuturesRunner(num_workers=4, executor="dask", dask_address=address)
        try:
            executor = runner.pool()
            assert executor.rerun_guard  # type: ignore[attr-defined]  # the scheduler took it
            executor.rerun_guard = guard == "scheduler plugin"  # type: ignore[attr-defined]
            result = nr.with_runner(runner).run(
                task=remote_tasks.mark_then_lose_result, directory=str(tmp_path), lose=victim
            )
        finally:
            runner.close()
    assert list(result) == list(lab_inventory.hosts)
    assert "AlreadyRan" in str(result[victim][0].exception)
    applied = {p.stem: p.read_text().count("applied") for p in tmp_path.glob("*.applied")}
    assert applied[victim] == 1
    # other results the dead worker held are refused the same way; nothing ran twice
    assert all(n == 1 for n in applied.values()), applied
    assert all(applied.get(h) == 1 for h in lab_inventory.hosts if not result[h].failed)


def test_a_dead_worker_process_fails_its_host_only_and_is_replaced(
    make_nornir: Callable[..., Nornir], tmp_path: Path, lab_inventory: LabInventory
) -> None:
    """The process running the victim dies mid-task (BrokenProcessPool): the victim fails with
    that cause, every other host runs, and the next run gets a new process for its slot."""
    nr = make_nornir()
    victim = lab_inventory.hosts[0]
    runner = FuturesRunner(num_workers=4, executor="process")
    try:
        first = nr.with_runner(runner).run(
            task=remote_tasks.mark_once, directory=str(tmp_path), kill=victim
        )
        second = nr.with_runner(runner).run(task=remote_tasks.where, on_failed=True)
    finally:
        runner.close()
    assert list(first) == list(lab_inventory.hosts)
    failures = {h: repr(first[h][0].exception) for h in first.failed_hosts}
    assert set(failures) == {victim}, failures  # not the hosts queued behind it
    exc = first[victim][0].exception
    assert isinstance(exc, BrokenProcessPool), exc
    assert not second.failed, second.failed_hosts  # the victim's slot has a new process
    applied = {p.stem: p.read_text().count("applied") for p in tmp_path.glob("*.applied")}
    assert applied == dict.fromkeys(lab_inventory.hosts, 1)  # the victim wrote, then died


def test_processors_get_task_started_and_completed_under_remote_executors(
    make_nornir: Callable[..., Nornir], executor: dict[str, object], lab_inventory: LabInventory
) -> None:
    """As the README's table says: a remote executor calls the run's processors with
    task_started and task_completed only (the per-host calls happen on the workers)."""
    calls: list[tuple[str, ...]] = []

    class Recorder:
        def task_started(self, task: Task) -> None:
            calls.append(("task_started", task.name))

        def task_completed(self, task: Task, result: AggregatedResult) -> None:
            calls.append(("task_completed", task.name, *sorted(result)))

        def __getattr__(self, name: str) -> Callable[..., None]:  # every per-host call
            return lambda *args: calls.append((name,))

    nr = make_nornir().with_processors([Recorder()])
    runner = FuturesRunner(num_workers=4, **executor)
    try:
        result = nr.with_runner(runner).run(task=remote_tasks.where, name="where")
    finally:
        runner.close()
    assert not result.failed, result.failed_hosts
    assert calls == [
        ("task_started", "where"),
        ("task_completed", "where", *sorted(lab_inventory.hosts)),
    ]


def test_a_task_the_workers_cannot_import_fails_with_a_clear_message(
    make_nornir: Callable[..., Nornir],
    dask_address: str,
    tmp_path: Path,
    lab_inventory: LabInventory,
) -> None:
    """Only this process can import the task: its module lives in a folder the workers lack."""
    (tmp_path / "only_here.py").write_text(
        "from nornir.core.task import Result\n"
        "def local_task(task):\n"
        "    return Result(host=task.host, result='ran')\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        import only_here  # noqa: PLC0415 -- importable only once its folder is on the path

        nr = make_nornir()
        runner = FuturesRunner(num_workers=4, executor="dask", dask_address=dask_address)
        try:
            result = nr.with_runner(runner).run(task=only_here.local_task, on_failed=True)
        finally:
            runner.close()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("only_here", None)
    assert set(result.failed_hosts) == set(lab_inventory.hosts)
    message = str(result[lab_inventory.hosts[0]][0].exception)
    assert "cannot import task only_here:local_task" in message
    assert "PYTHONPATH" in message


def test_ctrl_c_cancels_the_work_queued_on_the_cluster(
    make_nornir: Callable[..., Nornir],
    free_ports: Callable[..., list[int]],
    tmp_path: Path,
    lab_inventory: LabInventory,
) -> None:
    """Every host is sent to a cluster of one single-threaded worker: one runs (held at a gate
    the test opens), the others wait in the cluster's queue. A real SIGINT while the first is
    held: the run ends, and the hosts still queued never run, even once the gate opens."""
    started = lambda: {p.stem for p in tmp_path.glob("*.started")}  # noqa: E731
    applied = lambda: {p.stem for p in tmp_path.glob("*.applied")}  # noqa: E731

    def ctrl_c_once_one_host_runs() -> None:
        if wait_for(lambda: bool(started())):
            os.kill(os.getpid(), signal.SIGINT)

    nr = make_nornir()
    with dask_cluster(free_ports(1)[0], workers=1, nthreads=1, pythonpath=[HERE]) as address:
        runner = FuturesRunner(
            num_workers=len(lab_inventory.hosts),  # all of them sent at once
            executor="dask",
            dask_address=address,
            grace_period=0,
        )
        pressing = threading.Thread(target=ctrl_c_once_one_host_runs)
        try:
            pressing.start()
            with pytest.raises(RunInterrupted) as caught:
                nr.with_runner(runner).run(task=remote_tasks.gated_mark, directory=str(tmp_path))
            pressing.join()
            (running,) = started()
            client = runner.pool().client  # type: ignore[attr-defined]

            def held() -> list[str]:  # what the worker holds of the run: running or queued
                return next(iter(client.run(remote_tasks.held_hosts).values()))  # type: ignore[no-any-return]

            assert wait_for(lambda: held() == [running]), f"still queued: {held()}"
            (tmp_path / "gate").touch()
            assert wait_for(lambda: applied() == {running})
            assert wait_for(lambda: not held())
        finally:
            (tmp_path / "gate").touch()
            runner.close()
    assert set(caught.value.skipped) == set(lab_inventory.hosts)  # none had finished
    assert started() == applied() == {running}  # the queued hosts never started


def wait_for(condition: Callable[[], bool], bound: float = 60.0) -> bool:
    """Poll ``condition`` until it holds (True) or ``bound`` seconds pass (False)."""
    deadline = time.monotonic() + bound
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
