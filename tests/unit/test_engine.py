"""The engine in-process, on an in-memory inventory with tasks that never connect (``echo``,
``fail``): the events of serial batches and dry runs, max_fail_percentage and ignore_errors, and
Ctrl-C part-way through a rolling change."""

from __future__ import annotations

import pickle
import textwrap
from typing import Any

import pytest
from nornir.core import Nornir
from nornir.core.inventory import Defaults, Groups, Host, Hosts, Inventory
from nornir.core.processor import Processors

from nornir_runbook.redact import Redactor
from nornir_runbook.report.results import (
    Abort,
    BatchStarted,
    Event,
    HostDone,
    RunReport,
    RunStarted,
    Status,
    StepDone,
    StepResult,
    StepStarted,
)
from nornir_runbook.run.engine import INTERRUPTED, STRATEGIES, Engine
from nornir_runbook.run.free import Progress
from nornir_runbook.run.plan import make_plan, settings_from
from nornir_runbook.runbook.loader import parse_runbook
from nornir_runbook.runbook.model import Strategy
from nornir_runbook.runbook.registry import default_registry

HOSTS = ("h1", "h2", "h3", "h4")


def nornir() -> Nornir:
    defaults = Defaults()
    hosts = Hosts({name: Host(name, hostname=name, defaults=defaults) for name in HOSTS})
    inventory = Inventory(hosts=hosts, groups=Groups(), defaults=defaults)
    return Nornir(inventory=inventory, processors=Processors([]))


def run(text: str, sink: Any = None, **settings: Any) -> tuple[RunReport, list[Event]]:
    """``text`` (a runbook) on HOSTS; the report and every event, in order."""
    nr = nornir()
    runbook = parse_runbook(textwrap.dedent(text))
    plan = make_plan(nr, runbook, HOSTS, default_registry(), None)
    events: list[Event] = []

    def on_event(event: Event) -> None:
        events.append(event)
        if sink is not None:
            sink(event)

    merged = settings_from({}, runbook).merged(**settings)
    return Engine(nr, merged, Redactor()).run(plan, on_event), events


def shape(events: list[Event]) -> list[tuple[Any, ...]]:
    """Events as short tuples: ("batch", n), ("step", index), ("done", index, host), ("host",)."""
    shown: list[tuple[Any, ...]] = []
    for event in events:
        if isinstance(event, BatchStarted):
            shown.append(("batch", event.number, event.count, event.hosts))
        elif isinstance(event, StepStarted):
            shown.append(("step", event.index, event.hosts))
        elif isinstance(event, StepDone):
            shown.append(("done", event.index, event.host))
        elif isinstance(event, HostDone):
            shown.append(("host", event.report.name))
        else:
            assert isinstance(event, RunStarted)
    return shown


IGNORED = """
    name: Rolling
    options: {serial: 2, max_fail_percentage: 0, workers: 1}
    steps:
      - {name: Echo, task: echo, args: {who: "{{ host.name }}"}}
      - {name: May fail, targets: {hosts: [h1]}, task: fail, ignore_errors: true}
      - {name: After, task: echo, args: {x: "1"}}
    """


@pytest.mark.parametrize("strategy", ["linear", "free"])
def test_an_ignored_failure_does_not_stop_a_serial_run(strategy: str) -> None:
    report, events = run(IGNORED, strategy=strategy)

    assert report.abort is None
    assert [h.status.value for h in report.hosts] == ["ok"] * 4
    assert report.exit_code() == 0
    batches = [e for e in events if isinstance(e, BatchStarted)]
    assert batches == [
        BatchStarted(number=1, count=2, hosts=("h1", "h2")),
        BatchStarted(number=2, count=2, hosts=("h3", "h4")),
    ]


@pytest.mark.parametrize("strategy", ["linear", "free"])
def test_a_failure_that_counts_stops_the_run_and_says_where(strategy: str) -> None:
    report, _ = run(
        IGNORED.replace("ignore_errors: true", "ignore_errors: false"), strategy=strategy
    )

    assert report.abort == Abort(max_fail_percentage=0, batch=1, batches=2)
    assert report.aborted
    # h2 stopped before After (linear) or never started (free, one worker); batch 2 never ran
    assert [h.status.value for h in report.hosts] == ["failed", "skipped", "skipped", "skipped"]
    assert report.exit_code() == 2
    assert report.failed_hosts() == list(HOSTS)  # every host the run did not finish
    assert report.to_dict()["aborted"] is True


def test_a_linear_dry_run_has_the_events_of_a_real_run() -> None:
    text = """
        name: Dry
        options: {serial: 2}
        steps:
          - {name: A, task: echo, args: {x: "1"}}
          - {name: B, targets: {hosts: [h2, h3]}, task: echo, args: {x: "2"}}
        """
    report, events = run(text, dry_run=True)

    assert report.dry_run
    assert report.to_dict()["dry_run"] is True
    assert shape(events) == [
        ("batch", 1, 2, ("h1", "h2")),
        ("step", 0, ("h1", "h2")),
        ("done", 0, "h1"),
        ("host", "h1"),  # its last step
        ("done", 0, "h2"),
        ("step", 1, ("h2",)),
        ("done", 1, "h2"),
        ("host", "h2"),
        ("batch", 2, 2, ("h3", "h4")),
        ("step", 0, ("h3", "h4")),
        ("done", 0, "h3"),
        ("done", 0, "h4"),
        ("host", "h4"),
        ("step", 1, ("h3",)),
        ("done", 1, "h3"),
        ("host", "h3"),
    ]


def test_ctrl_c_part_way_fails_the_hosts_it_cut_short_and_skips_the_rest() -> None:
    """Ctrl-C as h1 finishes step B (one worker): h1 had not run C, h2 had not run B, the
    second batch never started."""
    text = """
        name: Cut
        options: {serial: 2, workers: 1}
        steps:
          - {name: A, task: echo, args: {x: "1"}}
          - {name: B, targets: {hosts: [h1, h2]}, task: echo, args: {x: "2"}}
          - {name: C, task: echo, args: {x: "3"}}
        """

    def interrupt(event: Event) -> None:
        if isinstance(event, StepDone) and (event.index, event.host) == (1, "h1"):
            raise KeyboardInterrupt

    report, _ = run(text, interrupt)

    assert report.interrupted
    assert report.to_dict()["interrupted"] is True
    got = {
        h.name: (h.status.value, [(s.name, s.status.value) for s in h.steps]) for h in report.hosts
    }
    assert got == {
        "h1": ("failed", [("A", "ok"), ("B", "ok"), ("C", "failed")]),
        "h2": ("failed", [("A", "ok"), ("B", "failed"), ("C", "skipped")]),
        "h3": ("skipped", [("A", "skipped"), ("C", "skipped")]),
        "h4": ("skipped", [("A", "skipped"), ("C", "skipped")]),
    }
    h1, h2 = report.hosts[0], report.hosts[1]
    assert h1.steps[1].result == {"x": "2"}  # what it got is kept
    assert h1.steps[2].error == h2.steps[1].error == INTERRUPTED
    assert report.failed_hosts() == list(HOSTS)
    assert report.exit_code() == 130


def test_every_strategy_has_its_module_and_each_run_gets_its_own() -> None:
    assert set(STRATEGIES) == set(Strategy)
    for make in STRATEGIES.values():
        assert make() is not make()


def test_free_progress_is_per_run_and_a_worker_keeps_its_own_copy() -> None:
    """A retried host resumes where its program stopped: with threads in the run's own
    Progress; sent to a worker process, in that process's Progress of the same run."""
    first, second = Progress(), Progress()
    step = StepResult(name="Echo", task="echo", status=Status.OK)
    first.here().of("h1").append((0, step))

    assert first.here() is first
    assert second.of("h1") == []  # another run's progress is its own
    sent = pickle.loads(pickle.dumps(first))
    assert sent.token == first.token
    assert sent.here() is not first
    assert sent.here().of("h1") == []  # the worker's copy starts empty ...
    sent.here().of("h1").append((0, step))
    again = pickle.loads(pickle.dumps(first))  # ... and the next attempt there finds it
    assert again.here().of("h1") == [(0, step)]
    assert pickle.loads(pickle.dumps(second)).here().of("h1") == []
    assert first.take("h1") == [(0, step)]
    assert first.take("h1") == []
