"""The process and dask executors against the thread executor, over SSH to the lab.

The dask cluster is real: a ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1,
started from the command line as a user would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import remote_tasks
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from distributed import Client
from netmiko.exceptions import NetmikoAuthenticationException
from nornir.core import Nornir
from nornir.core.task import AggregatedResult

from nornir_runbook import FuturesRunner, RunInterrupted
from nornir_runbook.errors import HostKeyError
from nornir_runbook.hostkeys import HostKeyChecking
from nornir_runbook.remote import RemoteTaskError
from nornir_runbook.results import connection_error, describe_exception
from nornir_runbook.tasks.send_commands import send_commands

if TYPE_CHECKING:
    from conftest import LabInventory

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
DASK = Path(sys.executable).with_name("dask")
SHOW = ["show version", "show ip interface brief", "show running-config"]


@pytest.fixture(scope="module")
def dask_address(free_ports: Callable[..., list[int]]) -> Iterator[str]:
    port = free_ports(1)[0]
    address = f"tcp://127.0.0.1:{port}"
    env = {
        **os.environ,
        # a task on a worker that dies is failed, never run a second time somewhere else
        "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
        # a device stays on its worker: no stealing its task for an idle worker (a new session)
        "DASK_DISTRIBUTED__SCHEDULER__WORK_STEALING": "False",
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    scheduler = subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet
    )
    workers = [
        subprocess.Popen(
            [DASK, "worker", address, "--host", "127.0.0.1", "--nthreads", "6", "--no-dashboard"],
            **quiet,
        )
        for _ in range(2)
    ]
    try:
        _wait_for_workers(address, 2)
        yield address
    finally:
        for proc in [*workers, scheduler]:
            proc.terminate()
        for proc in [*workers, scheduler]:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _wait_for_workers(address: str, count: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with Client(address, timeout=5) as client:
                client.wait_for_workers(count, timeout=max(1.0, deadline - time.monotonic()))
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


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
    assert all("Cisco IOS" in out["show version"] for out in _outputs(got).values())


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


def test_ctrl_c_cancels_queued_dask_work(
    make_nornir: Callable[..., Nornir],
    dask_address: str,
    tmp_path: Path,
    lab_inventory: LabInventory,
) -> None:
    """A Ctrl-C after the first host: hosts not started never run; finished ones are kept."""

    def interrupt(completion: object) -> None:
        raise KeyboardInterrupt

    nr = make_nornir()
    runner = FuturesRunner(
        num_workers=2,
        executor="dask",
        dask_address=dask_address,
        on_result=interrupt,
        grace_period=30,
    )
    try:
        with pytest.raises(RunInterrupted) as caught:
            nr.with_runner(runner).run(task=remote_tasks.mark_once, directory=str(tmp_path))
    finally:
        runner.close()
    finished, skipped = set(caught.value.result), set(caught.value.skipped)
    assert finished
    assert finished | skipped == set(lab_inventory.hosts)
    assert len(skipped) >= len(lab_inventory.hosts) - 2
    applied = {p.name.removesuffix(".applied") for p in tmp_path.glob("*.applied")}
    assert applied <= finished | (set(lab_inventory.hosts[:2]))
    assert not applied & (skipped - set(lab_inventory.hosts[:2]))
