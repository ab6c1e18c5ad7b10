"""FuturesRunner, option by option, on an in-memory inventory with fake connections.

Concurrency is proven with Barriers, Events and in-flight counters, never with the clock.
Events and Barriers wait at most ``WAIT`` seconds: that bound is only reached when a test fails.
"""

from __future__ import annotations

import _thread
import itertools
import logging
import queue
import random
import signal
import sys
import threading
import time
import types
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException
from nornir import InitNornir
from nornir.core import Nornir
from nornir.core.exceptions import NornirSubTaskError
from nornir.core.inventory import Defaults, Group, Groups, Host, Hosts, Inventory, ParentGroups
from nornir.core.plugins.connections import ConnectionPluginRegister
from nornir.core.plugins.runners import RunnersPluginRegister
from nornir.core.processor import Processors
from nornir.core.task import AggregatedResult, MultiResult, Result, Task
from nornir.plugins.runners import ThreadedRunner

from nornir_runbook.errors import RunInterrupted, RunStopped, TaskTimeoutError
from nornir_runbook.runner import FuturesRunner, HostCompletion, RunArgs
from nornir_runbook.runner import futures as runner_mod

WAIT = 5.0
TIMEOUT = 2.0  # task_timeout where hosts other than the blocked one must never reach it
CONN = "runner_test_fakeconn"


# -- fake connections ------------------------------------------------------------------------


class ConnLab:
    """What the fake connection plugin saw: opens per host, opens in flight, scripted failures."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.opens: Counter[str] = Counter()
        self.closes: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.failures: dict[str, list[BaseException]] = {}  # per host, one popped per open
        self.during_open: Callable[[str], None] | None = None  # runs inside open(), unlocked
        self.open_times: dict[str, list[float]] = {}

    def plan(self, host: str, *excs: BaseException) -> None:
        self.failures[host] = list(excs)


class FakeConn:
    lab: ConnLab = ConnLab()

    def open(  # noqa: PLR0917 -- nornir's ConnectionPlugin.open signature
        self,
        hostname: str | None,
        username: str | None,
        password: str | None,
        port: int | None,
        platform: str | None,
        extras: dict[str, Any] | None = None,
        configuration: Any = None,
    ) -> None:
        lab = FakeConn.lab
        assert hostname is not None
        self.hostname = hostname
        with lab.lock:
            lab.opens[hostname] += 1
            lab.open_times.setdefault(hostname, []).append(time.monotonic())
            lab.in_flight += 1
            lab.max_in_flight = max(lab.max_in_flight, lab.in_flight)
            plan = lab.failures.get(hostname)
            exc = plan.pop(0) if plan else None
        try:
            if lab.during_open is not None:
                lab.during_open(hostname)
            if exc is not None:
                raise exc
        finally:
            with lab.lock:
                lab.in_flight -= 1
        self.connection = f"session-{hostname}-{lab.opens[hostname]}"

    def close(self) -> None:
        with FakeConn.lab.lock:
            FakeConn.lab.closes[self.hostname] += 1


@pytest.fixture(autouse=True)
def lab() -> Iterable[ConnLab]:
    ConnectionPluginRegister.register(CONN, FakeConn)
    FakeConn.lab = ConnLab()
    yield FakeConn.lab
    FakeConn.lab = ConnLab()


# -- inventory and tasks ---------------------------------------------------------------------


def build_nornir(
    hosts: list[str] | dict[str, list[str]],
    runner: Any,
    groups: dict[str, list[str]] | None = None,
    processors: list[Any] | None = None,
) -> Nornir:
    """``hosts``: names, or name -> group names; ``groups``: name -> parent group names."""
    defaults = Defaults()
    group_objs = Groups({name: Group(name, defaults=defaults) for name in groups or {}})
    for name, parents in (groups or {}).items():
        group_objs[name].groups = ParentGroups([group_objs[p] for p in parents])
    host_groups = hosts if isinstance(hosts, dict) else {h: [] for h in hosts}
    host_objs = Hosts(
        {
            name: Host(
                name,
                hostname=name,
                groups=ParentGroups([group_objs[g] for g in gs]),
                defaults=defaults,
            )
            for name, gs in host_groups.items()
        }
    )
    inventory = Inventory(hosts=host_objs, groups=group_objs, defaults=defaults)
    return Nornir(inventory=inventory, runner=runner, processors=Processors(processors or []))


def echo(task: Task, suffix: str = "") -> Result:
    return Result(host=task.host, result=f"{task.host.name}{suffix}")


def connect(task: Task) -> Result:
    session = task.host.get_connection(CONN, task.nornir.config)
    return Result(host=task.host, result=session)


class InFlight:
    """Counts tasks inside a ``with`` block and remembers the most seen at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.max = 0

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.max = max(self.max, self.now)

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.now -= 1


def must(event: threading.Event, what: str) -> None:
    if not event.wait(WAIT):
        raise AssertionError(f"timed out waiting for {what}")


def summarize(agg: AggregatedResult) -> dict[str, list[tuple[Any, ...]]]:
    return {
        host: [
            (
                r.name,
                r.result,
                r.failed,
                r.changed,
                r.severity_level,
                type(r.exception).__name__ if r.exception is not None else None,
            )
            for r in multi
        ]
        for host, multi in agg.items()
    }


HOSTS = ["r1", "r2", "r3", "r4", "r5"]


# == 1. drop-in for ThreadedRunner =============================================================


def test_results_keyed_in_host_order_even_when_hosts_finish_in_reverse() -> None:
    hosts = ["a", "b", "c", "d"]
    go = {h: threading.Event() for h in hosts}
    go["d"].set()
    completed: list[str] = []

    def chained(task: Task) -> Result:
        must(go[task.host.name], f"turn of {task.host.name}")
        return Result(host=task.host, result=task.host.name.upper())

    def on_result(done: HostCompletion) -> None:
        completed.append(done.host)
        i = hosts.index(done.host)
        if i > 0:
            go[hosts[i - 1]].set()

    nr = build_nornir(hosts, FuturesRunner(num_workers=4, on_result=on_result))
    result = nr.run(task=chained)

    assert completed == ["d", "c", "b", "a"]
    assert list(result) == hosts
    assert [result[h].result for h in hosts] == ["A", "B", "C", "D"]
    assert not result.failed


def grouped(task: Task) -> Result:
    task.run(echo, suffix="-1")
    if task.host.name == "r2":
        task.run(boom)
    if task.host.name == "r4":
        return Result(host=task.host, result="changed", changed=True)
    return Result(host=task.host, result="done")


def boom(task: Task) -> Result:
    raise ValueError(f"boom on {task.host.name}")


def test_same_results_as_threaded_runner() -> None:
    futures = build_nornir(HOSTS, FuturesRunner(num_workers=3))
    threaded = build_nornir(HOSTS, ThreadedRunner(num_workers=3))

    got = futures.run(task=grouped)
    expected = threaded.run(task=grouped)

    assert list(got) == list(expected) == HOSTS
    assert summarize(got) == summarize(expected)
    assert got.name == expected.name == "grouped"
    assert set(got.failed_hosts) == set(expected.failed_hosts) == {"r2"}
    assert futures.data.failed_hosts == threaded.data.failed_hosts == {"r2"}
    # nested subtasks: the grouped result, then each subtask's
    assert [r.name for r in got["r1"]] == ["grouped", "echo"]
    assert [r.result for r in got["r1"]] == ["done", "r1-1"]
    assert [r.name for r in got["r2"]] == ["grouped", "echo", "boom"]
    assert isinstance(got["r2"].exception, NornirSubTaskError)
    assert isinstance(got["r2"][2].exception, ValueError)
    assert got["r4"].changed


def test_raising_task_fails_its_host_only_and_nothing_reaches_the_caller() -> None:
    def flaky(task: Task) -> Result:
        if task.host.name == "r3":
            raise ValueError("r3 exploded")
        return Result(host=task.host, result="fine")

    nr = build_nornir(HOSTS, FuturesRunner(num_workers=5))
    result = nr.run(task=flaky)

    assert list(result) == HOSTS
    assert set(result.failed_hosts) == {"r3"}
    failed = result["r3"][0]
    assert failed.failed
    assert isinstance(failed.exception, ValueError)
    assert "r3 exploded" in failed.result
    assert "Traceback" in failed.result
    assert all(result[h].result == "fine" and not result[h].failed for h in HOSTS if h != "r3")


class Recorder:
    """A nornir Processor that records every call, per host in order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[tuple[Any, ...]] = []

    def _add(self, *call: Any) -> None:
        with self.lock:
            self.calls.append(call)

    def task_started(self, task: Task) -> None:
        self._add("task_started", task.name)

    def task_completed(self, task: Task, result: AggregatedResult) -> None:
        self._add("task_completed", task.name, tuple(result), tuple(sorted(result.failed_hosts)))

    def task_instance_started(self, task: Task, host: Host) -> None:
        self._add("task_instance_started", task.name, host.name)

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        self._add("task_instance_completed", task.name, host.name, result.failed, len(result))

    def subtask_instance_started(self, task: Task, host: Host) -> None:
        self._add("subtask_instance_started", task.name, host.name)

    def subtask_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        self._add("subtask_instance_completed", task.name, host.name, result.failed)

    def per_host(self) -> dict[str, list[tuple[Any, ...]]]:
        out: dict[str, list[tuple[Any, ...]]] = {}
        for call in self.calls:
            if len(call) > 2 and isinstance(call[2], str):
                out.setdefault(call[2], []).append(call)
        return out


def test_processors_get_the_same_calls_as_with_threaded_runner() -> None:
    with_futures, with_threads = Recorder(), Recorder()
    build_nornir(HOSTS, FuturesRunner(num_workers=3), processors=[with_futures]).run(task=grouped)
    build_nornir(HOSTS, ThreadedRunner(num_workers=3), processors=[with_threads]).run(task=grouped)

    assert Counter(with_futures.calls) == Counter(with_threads.calls)
    assert with_futures.per_host() == with_threads.per_host()
    assert with_futures.calls[0] == ("task_started", "grouped")
    assert with_futures.calls[-1] == ("task_completed", "grouped", tuple(HOSTS), ("r2",))
    assert with_futures.per_host()["r2"] == [
        ("task_instance_started", "grouped", "r2"),
        ("subtask_instance_started", "echo", "r2"),
        ("subtask_instance_completed", "echo", "r2", False),
        ("subtask_instance_started", "boom", "r2"),
        ("subtask_instance_completed", "boom", "r2", True),
        ("task_instance_completed", "grouped", "r2", True, 3),
    ]


OUTCOMES = st.sampled_from(["ok", "value_error", "auth_error", "subtask_error"])


def outcome_task(task: Task, plan: dict[str, str]) -> Result:
    what = plan[task.host.name]
    if what == "value_error":
        raise ValueError(task.host.name)
    if what == "auth_error":
        raise NetmikoAuthenticationException(f"auth failed on {task.host.name}")
    if what == "subtask_error":
        task.run(boom)
    return Result(host=task.host, result=task.host.name)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(outcomes=st.lists(OUTCOMES, min_size=0, max_size=8), workers=st.integers(1, 4))
def test_property_matches_threaded_runner(outcomes: list[str], workers: int) -> None:
    hosts = [f"h{i}" for i in range(len(outcomes))]
    plan = dict(zip(hosts, outcomes, strict=True))
    got = build_nornir(hosts, FuturesRunner(num_workers=workers)).run(task=outcome_task, plan=plan)
    expected = build_nornir(hosts, ThreadedRunner(num_workers=workers)).run(
        task=outcome_task, plan=plan
    )
    assert list(got) == hosts
    assert summarize(got) == summarize(expected)


def test_entry_point_futures_resolves_to_futures_runner() -> None:
    RunnersPluginRegister.auto_register()
    assert RunnersPluginRegister.get_plugin("futures") is FuturesRunner


def test_init_nornir_builds_the_runner_from_config(tmp_path: Any) -> None:
    (tmp_path / "hosts.yaml").write_text(
        "".join(f"{h}:\n  hostname: {h}\n  groups: [core]\n" for h in HOSTS)
    )
    (tmp_path / "groups.yaml").write_text("core: {}\n")
    (tmp_path / "defaults.yaml").write_text("{}\n")
    nr = InitNornir(
        runner={
            "plugin": "futures",
            "options": {"num_workers": 3, "retries": 2, "group_limits": {"core": 2}},
        },
        inventory={
            "plugin": "SimpleInventory",
            "options": {
                "host_file": str(tmp_path / "hosts.yaml"),
                "group_file": str(tmp_path / "groups.yaml"),
                "defaults_file": str(tmp_path / "defaults.yaml"),
            },
        },
        logging={"enabled": False},
    )
    assert isinstance(nr.runner, FuturesRunner)
    assert (nr.runner.num_workers, nr.runner.retries) == (3, 2)
    assert nr.runner.group_limits == {"core": 2}

    result = nr.run(task=echo, suffix="!")

    assert list(result) == HOSTS
    assert [result[h].result for h in HOSTS] == [f"{h}!" for h in HOSTS]


def test_num_workers_must_be_positive() -> None:
    with pytest.raises(ValueError, match="num_workers"):
        FuturesRunner(num_workers=0)


def test_no_hosts_gives_an_empty_result() -> None:
    runner = FuturesRunner()
    result = build_nornir([], runner).run(task=echo)
    assert isinstance(result, AggregatedResult)
    assert len(result) == 0
    assert runner.last_run.skipped == []
    assert not runner.last_run.aborted


# == 2. num_workers ============================================================================


@pytest.mark.parametrize("workers", [1, 4])
def test_num_workers_hosts_run_at_once_never_more(workers: int) -> None:
    hosts = [f"h{i:02}" for i in range(3 * workers)]
    together = threading.Barrier(workers, timeout=WAIT)
    inside = InFlight()
    arrivals = itertools.count()

    def task(task: Task) -> Result:
        with inside:
            first_round = next(arrivals) < workers
            together.wait()  # proves `workers` hosts are running at the same time
            if first_round:  # a moment in which a runner over its limit would start one more
                threading.Event().wait(0.05)
        return Result(host=task.host, result="ok")

    runner = FuturesRunner(num_workers=workers)
    result = build_nornir(hosts, runner).run(task=task)

    assert not result.failed, result.failed_hosts
    assert inside.max == workers
    assert runner.last_run.attempts == dict.fromkeys(hosts, 1)


# == 3. on_result ==============================================================================


def test_on_result_once_per_host_in_callers_thread_in_completion_order() -> None:
    hosts = ["a", "b", "c"]
    go = {h: threading.Event() for h in hosts}
    go["b"].set()
    order = ["b", "c", "a"]  # forced completion order
    seen: list[tuple[HostCompletion, int]] = []

    def task(task: Task) -> Result:
        must(go[task.host.name], task.host.name)
        return Result(host=task.host, result=task.host.name)

    def on_result(done: HostCompletion) -> None:
        seen.append((done, threading.get_ident()))
        i = order.index(done.host)
        if i + 1 < len(order):
            go[order[i + 1]].set()

    result = build_nornir(hosts, FuturesRunner(num_workers=3, on_result=on_result)).run(task=task)

    assert [d.host for d, _ in seen] == order
    assert {ident for _, ident in seen} == {threading.get_ident()}
    for done, _ in seen:
        assert done.result is result[done.host]
        assert done.attempts == 1
        assert done.timed_out is False
        assert isinstance(done.duration_s, float)
        assert done.duration_s >= 0
    assert list(result) == hosts


# == 4. task_timeout ===========================================================================


@pytest.mark.parametrize("workers", [3, 1])
def test_task_timeout_fails_the_blocked_host_and_the_run_goes_on(workers: int) -> None:
    """With one worker, the blocked thread must not starve the hosts after it. The other hosts
    return at once: TIMEOUT is far past what a busy machine can delay them by."""
    release, finished = threading.Event(), threading.Event()
    seen: dict[str, HostCompletion] = {}
    others = InFlight()

    def task(task: Task) -> Result:
        if task.host.name == "slow":
            try:
                release.wait(WAIT)
            finally:
                finished.set()
        else:
            with others:
                pass
        return Result(host=task.host, result="ok")

    runner = FuturesRunner(
        num_workers=workers, task_timeout=TIMEOUT, on_result=lambda d: seen.__setitem__(d.host, d)
    )
    try:
        result = build_nornir(["slow", "a", "b"], runner).run(task=task)
        still_blocked = not finished.is_set()
    finally:
        release.set()
    assert finished.wait(WAIT), "the timed-out thread should end once released"

    assert still_blocked, "run() should return while the timed-out host is still blocked"
    assert list(result) == ["slow", "a", "b"]
    exc = result["slow"].exception
    assert isinstance(exc, TaskTimeoutError)
    assert exc.host == "slow"
    assert exc.timeout == TIMEOUT
    assert "timed out after 2s" in str(exc)
    assert result["slow"].failed
    assert "timed out" in result["slow"][0].result
    assert not result["a"].failed
    assert not result["b"].failed
    assert runner.last_run.timed_out == ["slow"]
    assert seen["slow"].timed_out
    assert not seen["a"].timed_out
    assert others.max <= workers  # the stuck thread does not count, but num_workers still holds


# == 5. retries and retry_backoff ==============================================================


def test_connection_failures_are_retried_until_success(lab: ConnLab) -> None:
    lab.plan("r1", NetmikoAuthenticationException("auth"), NetmikoTimeoutException("slow tcp"))
    seen: dict[str, HostCompletion] = {}
    runner = FuturesRunner(
        num_workers=2,
        retries=2,
        retry_backoff=0.01,
        on_result=lambda d: seen.__setitem__(d.host, d),
    )

    result = build_nornir(["r1", "r2"], runner).run(task=connect)

    assert not result.failed, result["r1"].exception
    assert result["r1"].result == "session-r1-3"
    assert lab.opens == {"r1": 3, "r2": 1}
    assert runner.last_run.attempts == {"r1": 3, "r2": 1}
    assert (seen["r1"].attempts, seen["r2"].attempts) == (3, 1)


def test_connection_failure_inside_a_subtask_is_retried(lab: ConnLab) -> None:
    lab.plan("r1", NetmikoTimeoutException("tcp connect timed out"))

    def outer(task: Task) -> Result:
        task.run(connect)
        return Result(host=task.host, result="outer ok")

    runner = FuturesRunner(retries=1, retry_backoff=0.01)
    result = build_nornir(["r1"], runner).run(task=outer)

    assert not result.failed
    assert runner.last_run.attempts == {"r1": 2}


def test_any_failure_while_opening_the_connection_is_retried(lab: ConnLab) -> None:
    """A login that goes wrong in an unexpected way still counts as a connection failure."""
    lab.plan("r1", RuntimeError("pattern never detected: no login prompt"))
    runner = FuturesRunner(retries=1, retry_backoff=0.01)

    result = build_nornir(["r1"], runner).run(task=connect)

    assert not result.failed
    assert lab.opens == {"r1": 2}
    assert runner.last_run.attempts == {"r1": 2}


def test_non_connection_failure_is_not_retried() -> None:
    calls: Counter[str] = Counter()
    lock = threading.Lock()

    def task(task: Task) -> Result:
        with lock:
            calls[task.host.name] += 1
        raise ValueError("the device said no")

    runner = FuturesRunner(retries=3, retry_backoff=0.01)
    result = build_nornir(["r1"], runner).run(task=task)

    assert isinstance(result["r1"].exception, ValueError)
    assert calls == {"r1": 1}
    assert runner.last_run.attempts == {"r1": 1}


def test_retries_exhausted_fail_with_the_connection_error(lab: ConnLab) -> None:
    lab.plan("r1", *(NetmikoAuthenticationException(f"auth {i}") for i in range(3)))
    runner = FuturesRunner(retries=2, retry_backoff=0.01)

    result = build_nornir(["r1", "r2"], runner).run(task=connect)

    exc = result["r1"].exception
    assert isinstance(exc, NetmikoAuthenticationException)
    assert str(exc) == "auth 2"
    assert lab.opens["r1"] == 3
    assert runner.last_run.attempts == {"r1": 3, "r2": 1}
    assert not result["r2"].failed


def test_retry_closes_the_connection_the_failed_attempt_left_open(lab: ConnLab) -> None:
    attempts: list[str] = []

    def task(task: Task) -> Result:
        session = task.host.get_connection(CONN, task.nornir.config)
        attempts.append(session)
        if len(attempts) == 1:
            raise NetmikoTimeoutException("Unable to connect: session dropped")
        return Result(host=task.host, result=session)

    runner = FuturesRunner(retries=1, retry_backoff=0.01)
    result = build_nornir(["r1"], runner).run(task=task)

    assert not result.failed
    assert attempts == ["session-r1-1", "session-r1-2"]
    assert lab.closes == {"r1": 1}


def test_retry_backoff_doubles_with_jitter(
    lab: ConnLab, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    jitters = iter([1.5, 0.5, 1.0])
    uniform_calls: list[tuple[float, float]] = []

    def fake_uniform(a: float, b: float) -> float:
        uniform_calls.append((a, b))
        return next(jitters)

    monkeypatch.setattr(random, "uniform", fake_uniform)
    caplog.set_level(logging.INFO, logger="nornir_runbook.runner")
    lab.plan("r1", *(NetmikoAuthenticationException("aaa busy") for _ in range(3)))
    runner = FuturesRunner(retries=3, retry_backoff=0.01)

    result = build_nornir(["r1"], runner).run(task=connect)

    assert not result.failed
    assert uniform_calls == [(0.5, 1.5)] * 3
    delays = [float(r.args[2]) for r in caplog.records if "retry" in r.getMessage()]  # type: ignore[arg-type,index]
    assert delays == pytest.approx([0.01 * 1 * 1.5, 0.01 * 2 * 0.5, 0.01 * 4 * 1.0])
    # each attempt started no earlier than the previous one failed plus its delay
    opens = lab.open_times["r1"]
    assert len(opens) == 4
    for before, after, delay in zip(opens, opens[1:], delays, strict=False):
        assert after - before >= delay


def test_a_ready_retry_waiting_for_a_worker_does_not_spin(
    lab: ConnLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retry whose delay has passed while every worker is busy must not busy-wait the loop."""
    lab.plan("r1", NetmikoAuthenticationException("aaa busy"))
    monkeypatch.setattr(random, "uniform", lambda a, b: 1.0)
    loops = Counter[str]()
    original = runner_mod._Run._dispatch

    def counting_dispatch(self: Any, pool: Any) -> None:
        loops["dispatch"] += 1
        original(self, pool)

    monkeypatch.setattr(runner_mod._Run, "_dispatch", counting_dispatch)

    def task(task: Task) -> Result:
        if task.host.name == "busy":
            threading.Event().wait(0.3)  # holds the only worker while r1's retry becomes due
            return Result(host=task.host, result="busy done")
        return connect(task)

    runner = FuturesRunner(num_workers=1, retries=1, retry_backoff=0.02)
    result = build_nornir(["r1", "busy"], runner).run(task=task)

    assert not result.failed
    assert runner.last_run.attempts == {"r1": 2, "busy": 1}
    assert loops["dispatch"] < 20, f"the dispatch loop spun {loops['dispatch']} times"


# == 6. max_fail_percentage ====================================================================


def test_max_fail_percentage_skips_hosts_not_yet_started() -> None:
    hosts = [f"h{i}" for i in range(10)]
    ran: list[str] = []

    def task(task: Task) -> Result:
        ran.append(task.host.name)
        if task.host.name in ("h0", "h1", "h2"):
            raise ValueError("failed")
        return Result(host=task.host, result="ok")

    runner = FuturesRunner(num_workers=1, max_fail_percentage=20)
    result = build_nornir(hosts, runner).run(task=task)

    assert list(result) == ["h0", "h1", "h2"]
    assert all(result[h].failed for h in result)
    assert ran == ["h0", "h1", "h2"]
    assert runner.last_run.skipped == hosts[3:]
    assert runner.last_run.aborted is True


def test_max_fail_percentage_lets_running_hosts_finish() -> None:
    hosts = [f"h{i}" for i in range(10)]
    aborted, h4_started = threading.Event(), threading.Event()
    runner: FuturesRunner

    def task(task: Task) -> Result:
        name = task.host.name
        if name == "h3":
            must(h4_started, "h4")  # so the 3rd failure comes while h4 is running
        if name in ("h1", "h2", "h3"):
            raise ValueError("failed")
        if name == "h4":
            h4_started.set()
        must(aborted, "the abort")  # h0 and h4 are running when the run aborts
        return Result(host=task.host, result="finished after the abort")

    def on_result(done: HostCompletion) -> None:
        if runner.last_run.aborted:
            aborted.set()

    runner = FuturesRunner(num_workers=3, max_fail_percentage=20, on_result=on_result)
    result = build_nornir(hosts, runner).run(task=task)

    assert list(result) == ["h0", "h1", "h2", "h3", "h4"]
    assert result["h0"].result == result["h4"].result == "finished after the abort"
    assert set(result.failed_hosts) == {"h1", "h2", "h3"}
    assert runner.last_run.skipped == ["h5", "h6", "h7", "h8", "h9"]
    assert runner.last_run.aborted


def test_max_fail_percentage_at_the_limit_does_not_abort() -> None:
    hosts = [f"h{i}" for i in range(10)]

    def task(task: Task) -> Result:
        if task.host.name in ("h3", "h7"):
            raise ValueError("failed")
        return Result(host=task.host, result="ok")

    runner = FuturesRunner(num_workers=2, max_fail_percentage=20)
    result = build_nornir(hosts, runner).run(task=task)

    assert list(result) == hosts
    assert set(result.failed_hosts) == {"h3", "h7"}
    assert runner.last_run.skipped == []
    assert not runner.last_run.aborted


def test_counts_as_failure_decides_what_counts_toward_max_fail_percentage() -> None:
    """Failures it does not count (nrb: those of ``ignore_errors`` steps) never stop the run."""
    hosts = [f"h{i}" for i in range(10)]

    def task(task: Task) -> Result:
        if task.host.name in ("h0", "h1", "h2"):
            return Result(host=task.host, result="let through", failed=True)
        return Result(host=task.host, result="ok")

    def counts(result: MultiResult) -> bool:
        return result.failed and result[0].result != "let through"

    runner = FuturesRunner(num_workers=1, max_fail_percentage=0, counts_as_failure=counts)
    result = build_nornir(hosts, runner).run(task=task)

    assert list(result) == hosts
    assert set(result.failed_hosts) == {"h0", "h1", "h2"}
    assert runner.last_run.skipped == []
    assert not runner.last_run.aborted


def test_a_bound_run_gets_its_own_values_and_leaves_the_runners_attributes() -> None:
    """``with_args``: the engine gives each run its values without rewriting the runner."""
    hosts = [f"h{i}" for i in range(6)]
    seen: list[str] = []

    def task(task: Task) -> Result:
        if task.host.name in ("h0", "h1"):
            raise ValueError("failed")
        return Result(host=task.host, result="ok")

    def on_result(done: HostCompletion) -> None:
        seen.append(done.host)

    runner = FuturesRunner(num_workers=1, max_fail_percentage=90)
    args = RunArgs(max_fail_percentage=0, counts_as_failure=None, on_result=on_result)
    result = build_nornir(hosts, runner.with_args(args)).run(task=task)

    assert list(result) == ["h0"]  # the bound value: the first failure stops the run
    assert seen == ["h0"]
    assert runner.last_run.aborted
    assert runner.last_run.skipped == ["h1", "h2", "h3", "h4", "h5"]
    assert (runner.max_fail_percentage, runner.on_result) == (90, None)
    # a plain run reads the attributes again: 2 failures of 6 are within 90%
    result = build_nornir(hosts, runner).run(task=task)
    assert list(result) == hosts
    assert not runner.last_run.aborted
    assert seen == ["h0"]


# == 7. connect_limit ==========================================================================


def test_connect_limit_bounds_connection_setups(lab: ConnLab) -> None:
    hosts = [f"h{i}" for i in range(8)]
    started = InFlight()
    all_started = threading.Event()
    pairs = threading.Barrier(2, timeout=WAIT)
    opened = itertools.count()

    def during_open(host: str) -> None:
        first_pair = next(opened) < 2
        pairs.wait()  # proves 2 set-ups do overlap
        if first_pair:
            # hold the permits until every host wants one, plus a moment in which a runner
            # without the limit would let a third set-up in
            must(all_started, "every host to start")
            threading.Event().wait(0.05)

    lab.during_open = during_open
    all_connected = threading.Barrier(8, timeout=WAIT)

    def task(task: Task) -> Result:
        with started.lock:
            started.now += 1
            if started.now == len(hosts):
                all_started.set()
        session = task.host.get_connection(CONN, task.nornir.config)
        all_connected.wait()  # the limit is on set-ups, not on hosts running
        return Result(host=task.host, result=session)

    result = build_nornir(hosts, FuturesRunner(num_workers=8, connect_limit=2)).run(task=task)

    assert not result.failed, {h: str(result[h].exception) for h in result.failed_hosts}
    assert lab.max_in_flight == 2
    assert lab.opens == dict.fromkeys(hosts, 1)


# == 8. group_limits ===========================================================================


def test_group_limit_caps_its_hosts_and_others_run_freely() -> None:
    core = ["c0", "c1", "c2", "c3"]
    edge = ["e0", "e1", "e2", "e3"]
    hosts = {**{h: ["core"] for h in core}, **{h: ["edge"] for h in edge}}
    core_pairs = threading.Barrier(2, timeout=WAIT)
    edges_together = threading.Barrier(len(edge), timeout=WAIT)
    edges_done = threading.Event()
    in_core = InFlight()

    def task(task: Task) -> Result:
        if task.host.name in core:
            with in_core:
                core_pairs.wait()  # proves 2 core hosts run at once
                must(edges_done, "the edge hosts")  # core hosts stay blocked
        else:
            edges_together.wait()  # every edge host runs while 2 core hosts are blocked
            edges_done.set()
        return Result(host=task.host, result="ok")

    runner = FuturesRunner(num_workers=8, group_limits={"core": 2})
    result = build_nornir(hosts, runner, groups={"core": [], "edge": []}).run(task=task)

    assert not result.failed, {h: str(result[h].exception) for h in result.failed_hosts}
    assert in_core.max == 2
    assert list(result) == core + edge


def test_group_limits_count_parent_groups_and_several_groups_without_deadlock() -> None:
    # core's parent is region: region's limit counts core hosts; x hosts are in core and access.
    groups = {"region": [], "core": ["region"], "access": [], "other": []}
    hosts = {
        "x1": ["core", "access"],
        "x2": ["core", "access"],
        "y1": ["core"],
        "y2": ["core"],
        "free": ["other"],
    }
    counters = {"region": InFlight(), "access": InFlight()}
    pairs = threading.Barrier(2, timeout=WAIT)

    def task(task: Task) -> Result:
        if task.host.name == "free":
            return Result(host=task.host, result="ok")
        names = [g.name for g in task.host.extended_groups()]
        entered = [counters[g] for g in names if g in counters]
        for c in entered:
            c.__enter__()
        try:
            pairs.wait()  # two region hosts run at once: x1 with y1, then x2 with y2
            threading.Event().wait(0.05)  # room for a broken runner to start a third
        finally:
            for c in entered:
                c.__exit__()
        return Result(host=task.host, result=names)

    runner = FuturesRunner(num_workers=8, group_limits={"region": 2, "access": 1})
    result = build_nornir(hosts, runner, groups=groups).run(task=task)

    assert not result.failed, {h: str(result[h].exception) for h in result.failed_hosts}
    assert result["x1"].result == ["core", "region", "access"]
    assert counters["region"].max == 2
    assert counters["access"].max == 1


def test_a_retry_waits_for_its_group_permit(lab: ConnLab) -> None:
    lab.plan("c1", NetmikoAuthenticationException("aaa busy"))
    in_core = InFlight()

    def task(task: Task) -> Result:
        with in_core:
            if task.host.name == "c2":  # starts once c1 failed; c1's retry comes due meanwhile
                threading.Event().wait(0.1)
                return Result(host=task.host, result="c2 ok")
            return connect(task)

    runner = FuturesRunner(num_workers=4, retries=1, retry_backoff=0.01, group_limits={"core": 1})
    hosts = {"c1": ["core"], "c2": ["core"]}
    result = build_nornir(hosts, runner, groups={"core": []}).run(task=task)

    assert not result.failed, {h: str(result[h].exception) for h in result.failed_hosts}
    assert runner.last_run.attempts == {"c1": 2, "c2": 1}
    assert in_core.max == 1


@pytest.mark.parametrize("limit", [0, -1])
def test_group_limit_below_one_is_refused(limit: int) -> None:
    """A limit of 0 would leave its hosts pending forever: the run would never return."""
    with pytest.raises(ValueError, match="core"):
        FuturesRunner(group_limits={"core": limit})


# == 9. one connection per host (nornir#325) ===================================================


def test_concurrent_get_connection_on_one_host_opens_once(lab: ConnLab) -> None:
    FuturesRunner()  # installs the connection guard
    nr = build_nornir(["r1", "r2"], None)
    race = threading.Barrier(4, timeout=WAIT)  # two threads per host, all released at once

    def slow_open(host: str) -> None:
        threading.Event().wait(0.1)  # widen the race window

    lab.during_open = slow_open
    got: dict[str, list[Any]] = {"r1": [], "r2": []}

    def grab(name: str) -> None:
        host = nr.inventory.hosts[name]
        race.wait()
        got[name].append(host.get_connection(CONN, nr.config))

    threads = [threading.Thread(target=grab, args=(h,)) for h in ("r1", "r1", "r2", "r2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)

    assert lab.opens == {"r1": 1, "r2": 1}
    assert got == {"r1": ["session-r1-1"] * 2, "r2": ["session-r2-1"] * 2}
    for host in nr.inventory.hosts.values():
        host.close_connections()
    assert lab.closes == {"r1": 1, "r2": 1}


# == 10. Ctrl-C ================================================================================


@pytest.fixture
def interrupting(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set once the runner starts handling a KeyboardInterrupt."""
    event = threading.Event()
    original = runner_mod._Run._interrupt

    def spy(self: Any) -> None:
        event.set()
        original(self)

    monkeypatch.setattr(runner_mod._Run, "_interrupt", spy)
    return event


def test_ctrl_c_keeps_finished_hosts_and_skips_the_rest(interrupting: threading.Event) -> None:
    hosts = ["h0", "h1", "h2", "h3", "h4", "h5"]
    completed: list[str] = []

    def task(task: Task) -> Result:
        if task.host.name == "h0":
            must(interrupting, "the interrupt")  # running at Ctrl-C: gets the grace period
        return Result(host=task.host, result=f"{task.host.name} ok")

    def on_result(done: HostCompletion) -> None:
        completed.append(done.host)
        if len(completed) == 3:
            raise KeyboardInterrupt

    runner = FuturesRunner(num_workers=2, on_result=on_result, grace_period=WAIT)
    nr = build_nornir(hosts, runner)
    with pytest.raises(RunInterrupted) as info:
        nr.run(task=task)

    assert isinstance(info.value, KeyboardInterrupt)
    assert completed == ["h1", "h2", "h3", "h0"]
    assert list(info.value.result) == ["h0", "h1", "h2", "h3"]
    assert [info.value.result[h].result for h in info.value.result] == [
        "h0 ok",
        "h1 ok",
        "h2 ok",
        "h3 ok",
    ]
    assert info.value.skipped == ["h4", "h5"]
    assert runner.last_run.interrupted
    assert runner.last_run.skipped == ["h4", "h5"]


def _wait_until_the_caller_waits() -> None:
    """Until the caller's thread is in the dispatch loop itself (so: waiting for hosts)."""
    for _ in range(int(WAIT / 0.001)):
        frame = sys._current_frames().get(threading.main_thread().ident or 0)
        if frame is not None and frame.f_code.co_name == "_loop":
            return
        time.sleep(0.001)
    raise AssertionError("the caller never waited in the dispatch loop")


def _sigint() -> None:
    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)


@pytest.mark.parametrize(
    "press",
    [_sigint, _thread.interrupt_main],
    ids=["signal", "interrupt_main"],  # the second never wakes a blocked wait, like a Ctrl-C
)  # that lands just before the wait starts, or any Ctrl-C on Windows
def test_ctrl_c_while_the_caller_waits_returns_what_finished(
    interrupting: threading.Event, press: Callable[[], None]
) -> None:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    hosts = ["a", "b", "c", "d", "e"]

    def task(task: Task) -> Result:
        name = task.host.name
        if name == "a":
            return Result(host=task.host, result="a ok")
        if name == "c":  # b and c are running, d and e pending: press Ctrl-C
            _wait_until_the_caller_waits()
            press()
        must(interrupting, "the interrupt")
        return Result(host=task.host, result=f"{name} finished in the grace period")

    try:
        runner = FuturesRunner(num_workers=2, grace_period=WAIT)
        with pytest.raises(RunInterrupted) as info:
            build_nornir(hosts, runner).run(task=task)
    finally:
        signal.signal(signal.SIGINT, previous)

    assert list(info.value.result) == ["a", "b", "c"]
    assert not info.value.result.failed, {h: str(info.value.result[h].exception) for h in "bc"}
    assert info.value.skipped == ["d", "e"]
    assert runner.last_run.interrupted


def test_host_still_running_after_the_grace_period_is_reported_skipped(
    interrupting: threading.Event,
) -> None:
    release, finished = threading.Event(), threading.Event()

    def task(task: Task) -> Result:
        if task.host.name == "stuck":
            try:
                release.wait(WAIT)
            finally:
                finished.set()
        return Result(host=task.host, result="ok")

    def on_result(done: HostCompletion) -> None:
        raise KeyboardInterrupt

    runner = FuturesRunner(num_workers=2, on_result=on_result, grace_period=0.1)
    try:
        with pytest.raises(RunInterrupted) as info:
            build_nornir(["stuck", "quick", "later"], runner).run(task=task)
        still_blocked = not finished.is_set()
    finally:
        release.set()
    assert finished.wait(WAIT)

    assert still_blocked
    assert list(info.value.result) == ["quick"]
    assert sorted(info.value.skipped) == ["later", "stuck"]


def test_connection_failure_during_the_grace_period_is_kept_not_retried(
    lab: ConnLab, interrupting: threading.Event
) -> None:
    """A host that fails to connect while the run winds down must not vanish into a retry."""
    lab.plan("flaky", NetmikoAuthenticationException("aaa busy"))

    def task(task: Task) -> Result:
        if task.host.name == "flaky":
            must(interrupting, "the interrupt")
            return connect(task)
        return Result(host=task.host, result="ok")

    def on_result(done: HostCompletion) -> None:
        if done.host == "quick":
            raise KeyboardInterrupt

    runner = FuturesRunner(
        num_workers=2, retries=2, retry_backoff=0.01, on_result=on_result, grace_period=WAIT
    )
    with pytest.raises(RunInterrupted) as info:
        build_nornir(["flaky", "quick", "later"], runner).run(task=task)

    assert list(info.value.result) == ["flaky", "quick"]
    assert isinstance(info.value.result["flaky"].exception, NetmikoAuthenticationException)
    assert info.value.skipped == ["later"]
    assert lab.opens == {"flaky": 1}


class HeldSession:
    """A Netmiko-like session whose reader blocks until the session is aborted."""

    def __init__(self) -> None:
        self.aborted = threading.Event()
        self.channel = types.SimpleNamespace(remote_conn=object())

    def paramiko_cleanup(self) -> None:  # what abort_connections closes: the SSH transport
        self.aborted.set()


def _wait_until_the_caller_is_in(function: str) -> None:
    for _ in range(int(WAIT / 0.001)):
        frame = sys._current_frames().get(threading.main_thread().ident or 0)
        while frame is not None and frame.f_code.co_name != function:
            frame = frame.f_back
        if frame is not None:
            return
        time.sleep(0.001)
    raise AssertionError(f"the caller never got to {function}")


def test_a_second_ctrl_c_aborts_the_sessions_of_running_hosts(lab: ConnLab) -> None:
    """The grace period is long; the second Ctrl-C ends it, aborts the held host's session
    (its read ends) and refuses it a new one, and run() returns before the host finishes."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    session = HeldSession()
    seen: list[str] = []
    run_returned, held_done = threading.Event(), threading.Event()

    def task(task: Task) -> Result:
        if task.host.name != "held":
            return Result(host=task.host, result="ok")
        task.host.connections["netmiko"] = types.SimpleNamespace(connection=session)  # type: ignore[assignment]
        _wait_until_the_caller_is_in("_interrupt")  # the first Ctrl-C: its grace period
        _sigint()  # the second
        must(session.aborted, "the session's abort")
        seen.append(f"remote_conn {session.channel.remote_conn}")
        try:
            connect(task)
        except RunStopped:
            seen.append("no new session")
        must(run_returned, "run() to return")
        held_done.set()
        return Result(host=task.host, result="finished after all")

    def on_result(done: HostCompletion) -> None:
        if done.host == "quick":
            raise KeyboardInterrupt  # the first

    runner = FuturesRunner(num_workers=2, on_result=on_result, grace_period=3600)
    try:
        with pytest.raises(RunInterrupted) as info:
            build_nornir(["held", "quick", "later"], runner).run(task=task)
    finally:
        run_returned.set()
        signal.signal(signal.SIGINT, previous)

    must(held_done, "the held host to finish, once run() had returned")
    assert list(info.value.result) == ["quick"]
    assert sorted(info.value.skipped) == ["held", "later"]
    assert seen == ["remote_conn None", "no new session"]
    assert lab.opens == {}


def test_ctrl_c_right_after_a_host_was_dequeued_keeps_its_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C can land between taking a finished host off the queue and recording it."""

    class DropsThenInterrupts(queue.SimpleQueue):  # type: ignore[type-arg]
        armed = True

        def get(self, block: bool = True, timeout: float | None = None) -> Any:
            item = super().get(block, timeout)
            if DropsThenInterrupts.armed:
                DropsThenInterrupts.armed = False
                raise KeyboardInterrupt  # the future is off the queue, not yet completed
            return item

    original_init = runner_mod._Run.__init__

    def init(self: Any, *args: Any) -> None:
        original_init(self, *args)
        self.done = DropsThenInterrupts()

    monkeypatch.setattr(runner_mod._Run, "__init__", init)
    runner = FuturesRunner(num_workers=1, grace_period=1.0)
    with pytest.raises(RunInterrupted) as info:
        build_nornir(["first", "second"], runner).run(task=echo)

    assert list(info.value.result) == ["first"]
    assert info.value.skipped == ["second"]


@pytest.mark.parametrize(
    "exc", [KeyboardInterrupt(), SystemExit(3), GeneratorExit()], ids=lambda e: type(e).__name__
)
def test_base_exception_in_a_task_fails_that_host_only(exc: BaseException) -> None:
    def task(task: Task) -> Result:
        if task.host.name == "r2":
            raise exc
        return Result(host=task.host, result="ok")

    runner = FuturesRunner(num_workers=3)
    result = build_nornir(HOSTS, runner).run(task=task)

    assert list(result) == HOSTS
    assert set(result.failed_hosts) == {"r2"}
    assert result["r2"].exception is exc
    assert result["r2"][0].name == "task"
    assert runner.last_run.skipped == []
    assert not runner.last_run.interrupted


def test_base_exception_in_a_subtask_fails_that_host_only() -> None:
    def leaves(task: Task) -> Result:
        raise SystemExit("sub exit")

    def outer(task: Task) -> Result:
        if task.host.name == "r1":
            task.run(leaves)
        return Result(host=task.host, result="ok")

    result = build_nornir(HOSTS, FuturesRunner(num_workers=2)).run(task=outer)

    assert set(result.failed_hosts) == {"r1"}
    assert isinstance(result["r1"].exception, SystemExit)
    assert all(result[h].result == "ok" for h in HOSTS[1:])
