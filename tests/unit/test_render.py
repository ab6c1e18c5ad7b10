"""Output formats: text (golden files), json, yaml, jsonl; secrets masked in all of them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from nornir_runbook.redact import MASK, Redactor
from nornir_runbook.report.gather import Gathered, collapse, mask_host
from nornir_runbook.report.render import Output, Tee, make_output
from nornir_runbook.report.results import (
    Abort,
    BatchStarted,
    Event,
    HostDone,
    HostReport,
    RunReport,
    RunStarted,
    Status,
    StepDone,
    StepResult,
    StepStarted,
)
from nornir_runbook.report.text_output import (
    TextOutput,
    abort_message,
    format_duration,
    recap_counts,
    step_positions,
)

GOLDEN = Path(__file__).parent / "golden"
SECRET = "hunter2-secret"
STEPS = ("Clock and version", "NTP", "Backup")
CLOCK = "*10:15:01.123 UTC Wed Nov 25 2026"
VERSION = "Cisco IOS Software, Version 15.2(4)M7\nr1 uptime is 1 day, 2 hours"
LONG = "x" * 150  # longer than the console: must not wrap


def step(name: str, status: Status = Status.OK, **kw: Any) -> StepResult:
    task = {"Clock and version": "send_commands", "NTP": "send_config"}.get(name, "backup_config")
    return StepResult(name=name, task=task, status=status, duration_s=0.25, **kw)


def commands(clock: str = CLOCK, version: str = VERSION) -> dict[str, str]:
    return {"show clock": clock, "show version": version}


HOSTS = (
    HostReport(
        name="r1",
        status=Status.OK,
        duration_s=0.8,
        steps=(
            step("Clock and version", result=commands()),
            step("NTP", changed=True, result=f"ntp server 192.0.2.1 key {SECRET}"),
            step("Backup", result={"path": "backups/r1.cfg", "bytes": 1200}),
        ),
    ),
    HostReport(
        name="r2",
        status=Status.OK,
        duration_s=0.9,
        steps=(
            step("Clock and version", result=commands()),
            step("NTP", changed=True, result="ntp server 192.0.2.1 key [bold]x[/bold]"),
            step("Backup", Status.FAILED, error="PermissionError: backups/r2.cfg\nline two"),
        ),
    ),
    HostReport(
        name="core-router-03",
        status=Status.FAILED,
        duration_s=0.5,
        steps=(
            step("Clock and version", result=commands(version=LONG)),
            step("NTP", Status.FAILED, error=f"% Invalid input: password {SECRET}\nat line 2"),
        ),
    ),
    HostReport(
        name="r4",
        status=Status.UNREACHABLE,
        duration_s=5.0,
        steps=(
            step(
                "Clock and version",
                Status.UNREACHABLE,
                error="NetmikoTimeoutException: TCP connection to device failed",
            ),
        ),
    ),
    HostReport(name="r5", status=Status.SKIPPED),
)
NAMES = tuple(h.name for h in HOSTS)


def make_report(hosts: tuple[HostReport, ...] = HOSTS, **kw: Any) -> RunReport:
    return RunReport(
        runbook="Health check",
        run_id="20261125T101500Z",
        started_at="2026-11-25T10:15:00Z",
        finished_at="2026-11-25T10:15:03Z",
        duration_s=3.2,
        hosts=hosts,
        **kw,
    )


def linear_events() -> list[Event]:
    """As the engine yields them under ``linear``: steps in order, hosts done at the end."""
    events: list[Event] = [
        RunStarted(runbook="Health check", run_id="20261125T101500Z", hosts=NAMES, steps=STEPS)
    ]
    for index, name in enumerate(STEPS):
        ran = [(h.name, s) for h in HOSTS for s in h.steps if s.name == name]
        events.append(StepStarted(index=index, name=name, hosts=tuple(n for n, _ in ran)))
        events += [StepDone(index=index, host=n, result=s) for n, s in reversed(ran)]
    events += [HostDone(report=h) for h in HOSTS]
    return events


def free_events() -> list[Event]:
    """As under ``free``: only HostDone, in completion order; r5 never started."""
    start = RunStarted(runbook="Health check", run_id="20261125T101500Z", hosts=NAMES, steps=STEPS)
    return [start, *(HostDone(report=HOSTS[i]) for i in (2, 0, 3, 1))]


def console(**kw: Any) -> Console:
    return Console(file=StringIO(), width=100, color_system=None, **kw)


def run(output: Output, events: Iterable[Event], report: RunReport) -> None:
    for event in events:
        output.on_event(event)
    output.finish(report)


def render(fmt: Any, events: Iterable[Event], report: RunReport | None = None, **kw: Any) -> str:
    out = console()
    run(make_output(fmt, out, redactor=Redactor([SECRET]), **kw), events, report or make_report())
    text = out.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(text, str)
    return text


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    update = request.config.getoption("--update-golden", default=False)

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if update:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
        assert path.exists(), f"{path} missing: run pytest --update-golden and review it"
        assert text == path.read_text()

    return check


# --- text ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "events", "verbose"),
    [
        ("text_linear.txt", linear_events, 0),
        ("text_linear_v.txt", linear_events, 1),
        ("text_free.txt", free_events, 0),
        ("text_free_vv.txt", free_events, 2),
        ("text_report_only.txt", list, 0),
    ],
)
def test_text_matches_golden(
    golden: Callable[[str, str], None], name: str, events: Callable[[], list[Event]], verbose: int
) -> None:
    text = render("text", events(), verbose=verbose)
    assert SECRET not in text
    golden(name, text)


def test_text_linear_lines() -> None:
    text = render("text", linear_events())
    lines = text.splitlines()
    assert "STEP 2/3 [NTP] " + "*" * 85 in lines
    assert "changed: [r1]" in lines
    assert f"failed: [core-router-03] % Invalid input: password {MASK}" in lines
    assert "unreachable: [r4] NetmikoTimeoutException: TCP connection to device failed" in lines
    assert "at line 2" not in text  # only the first line of an error without -v
    assert CLOCK not in text  # outputs only with -v
    recap = lines[lines.index("RECAP " + "*" * 94) + 1 :]
    counts = "ok=3    changed=1    failed=0    unreachable=0    skipped=0    ignored=0"
    assert recap[0] == f"r1             : {counts}"
    assert recap[1].startswith("r2             : ok=2    changed=1    failed=0    unreachable=0")
    assert recap[1].endswith("ignored=1")
    assert recap[4].endswith("(not run)")
    assert recap[6] == (
        "5 hosts: 2 ok (2 changed), 1 failed, 1 unreachable, 1 skipped in 3.20s "
        "(run 20261125T101500Z)"
    )


def test_verbose_collapses_identical_output_and_keeps_long_lines() -> None:
    text = render("text", linear_events(), verbose=1)
    assert f"    r1, r2, core-router-03 (3 hosts):\n      {CLOCK}\n" in text
    assert "    r1, r2 (2 hosts):\n      Cisco IOS Software" in text
    assert f"    core-router-03:\n      {LONG}\n" in text
    assert "ntp server 192.0.2.1 key [bold]x[/bold]" in text  # rich markup printed literally
    assert "    at line 2" in text  # -v: errors in full


def test_free_verbose_outputs_under_step_banners_before_recap() -> None:
    text = render("text", free_events(), verbose=1)
    assert text.index("changed: [r2]") < text.index("STEP 1/3 [Clock and version]")
    assert text.index("STEP 3/3 [Backup]") < text.index("RECAP")
    assert "failed: [core-router-03] NTP: % Invalid input" in text


def test_interrupted_run_says_so() -> None:
    report = make_report(interrupted=True)
    text = render("text", free_events()[:2], report)
    assert "skipped: [r5]" in text
    assert text.endswith(
        "Interrupted: hosts cut short are failed at the step they had not finished, "
        "hosts that had not started are skipped.\n"
    )


def test_linear_shows_a_host_an_interrupt_cut_short() -> None:
    """Its step lines were all ok: the failure the interrupt left gets a line of its own."""
    cut = HostReport(
        name="r1",
        status=Status.FAILED,
        steps=(
            step("Clock and version", result=commands()),
            step("NTP", Status.FAILED, error="interrupted: the run stopped"),
            step("Backup", Status.SKIPPED),
        ),
    )
    events: list[Event] = [
        RunStarted(runbook="Health check", run_id="x", hosts=("r1",), steps=STEPS),
        StepStarted(index=0, name="Clock and version", hosts=("r1",)),
        StepDone(index=0, host="r1", result=cut.steps[0]),
        HostDone(report=cut),
    ]
    text = render("text", events, make_report((cut,), interrupted=True))
    lines = text.splitlines()
    assert lines[lines.index("ok: [r1]") + 1] == "failed: [r1] NTP: interrupted: the run stopped"
    assert text.count("failed: [r1]") == 1


def serial_events() -> list[Event]:
    """``--serial 2`` under ``linear``, with per-step targets: batch 1 runs steps 1 and 3 (A),
    batch 2 steps 1, 2 and 3 (B)."""
    steps = ("Clock", "Core only", "Last")
    ran: list[tuple[int, tuple[tuple[str, int], ...]]] = [
        (0, (("a1", 0), ("a2", 0))),
        (2, (("a1", 2), ("a2", 2))),
    ]
    later = [(0, (("b1", 0), ("b2", 0))), (1, (("b1", 1),)), (2, (("b1", 2), ("b2", 2)))]
    events: list[Event] = [
        RunStarted(
            runbook="Serial", run_id="20261125T101500Z", hosts=("a1", "a2", "b1", "b2"), steps=steps
        )
    ]
    for number, (hosts, batch) in enumerate(((("a1", "a2"), ran), (("b1", "b2"), later)), 1):
        events.append(BatchStarted(number=number, count=2, hosts=hosts))
        for index, done in batch:
            events.append(
                StepStarted(index=index, name=steps[index], hosts=tuple(h for h, _ in done))
            )
            for host, _ in done:
                result = {"out": f"{steps[index]} of {host}"}
                events.append(
                    StepDone(index=index, host=host, result=step(steps[index], result=result))
                )
    return events


def test_serial_batches_have_a_banner_and_keep_their_outputs() -> None:
    """Each batch opens with its banner; -v outputs of a batch's last step come before the next
    batch's banner, so every banner and output shows in the order the steps ran."""
    text = render("text", serial_events(), make_report(()), verbose=1)
    lines = text.splitlines()
    banners = [line.split(" *")[0] for line in lines if line.endswith("***")]
    assert banners == [
        "RUNBOOK [Serial] 4 hosts, 3 steps",
        "BATCH 1/2 [a1, a2]",
        "STEP 1/3 [Clock]",
        "STEP 3/3 [Last]",
        "BATCH 2/2 [b1, b2]",
        "STEP 1/3 [Clock]",
        "STEP 2/3 [Core only]",
        "STEP 3/3 [Last]",
        "RECAP",
    ]
    assert text.index("Last of a2") < text.index("BATCH 2/2") < text.index("Clock of b1")
    assert text.index("Core only of b1") < text.index("Last of b1")


def test_a_big_batch_is_named_by_its_count() -> None:
    hosts = tuple(f"r{i}" for i in range(1, 41))
    start = RunStarted(runbook="Many", run_id="x", hosts=hosts, steps=("A",))
    text = render("text", [start, BatchStarted(number=3, count=5, hosts=hosts)], make_report(()))
    assert "BATCH 3/5 [40 hosts: r1 ... r40] ***" in text


def test_dry_run_says_so_at_the_start_and_in_the_recap() -> None:
    start = RunStarted(runbook="Health check", run_id="x", hosts=NAMES, steps=STEPS, dry_run=True)
    text = render("text", [start], make_report(dry_run=True))
    lines = text.splitlines()
    assert lines[1].startswith("DRY RUN: commands are rendered, nothing is sent to any device ***")
    assert lines[3].startswith("RUNBOOK [Health check]")
    assert lines[-1] == "DRY RUN: no device was contacted, nothing was sent."
    assert "DRY RUN" not in render("text", linear_events())


@pytest.mark.parametrize("fmt", ["json", "yaml", "jsonl"])
def test_machine_formats_always_carry_the_run_flags(fmt: str) -> None:
    """dry_run, interrupted and aborted are always there, true or false."""
    abort = Abort(max_fail_percentage=20, batch=1, batches=3)
    cases = [
        ({}, {"dry_run": False, "interrupted": False, "aborted": False}),
        ({"dry_run": True}, {"dry_run": True, "interrupted": False, "aborted": False}),
        ({"interrupted": True}, {"dry_run": False, "interrupted": True, "aborted": False}),
        ({"abort": abort}, {"dry_run": False, "interrupted": False, "aborted": True}),
    ]
    for kw, flags in cases:
        text = render(fmt, [], make_report(**kw))
        doc = {"json": json.loads, "yaml": yaml.safe_load}.get(
            fmt, lambda t: json.loads(t.splitlines()[-1])
        )(text)
        assert {k: doc[k] for k in flags} == flags, kw


def test_an_aborted_run_says_where_and_what_did_not_run() -> None:
    done = HostReport(
        name="a1", status=Status.FAILED, steps=(step("NTP", Status.FAILED, error="no"),)
    )
    part = HostReport(
        name="a2", status=Status.SKIPPED, steps=(step("NTP"), step("Backup", Status.SKIPPED))
    )
    never = tuple(
        HostReport(name=f"b{i}", status=Status.SKIPPED, steps=(step("NTP", Status.SKIPPED),))
        for i in (1, 2)
    )
    report = make_report(
        (done, part, *never), abort=Abort(max_fail_percentage=0, batch=1, batches=2)
    )
    assert abort_message(report) == (
        "max_fail_percentage 0 reached in batch 1/2: "
        "2 hosts not run, 1 stopped before its last step"
    )
    text = render("text", [], report)
    assert text.endswith(f"Aborted: {abort_message(report)}.\n")
    assert abort_message(make_report()) is None
    assert report.exit_code() == 2
    assert report.failed_hosts() == ["a1", "a2", "b1", "b2"]  # what --limit @failed.txt resumes


def test_no_live_line_when_not_a_terminal() -> None:
    out = console()
    output = make_output("text", out, redactor=Redactor())
    assert isinstance(output, TextOutput)
    run(output, linear_events(), make_report())
    assert "hosts  " not in out.file.getvalue()  # type: ignore[attr-defined]


def test_live_line_on_a_terminal() -> None:
    out = Console(file=StringIO(), width=100, force_terminal=True, color_system="standard")
    run(make_output("text", out, redactor=Redactor([SECRET])), linear_events(), make_report())
    text = out.file.getvalue()  # type: ignore[attr-defined]
    assert "step 2/3 NTP  3/3 hosts  2 failed" in text
    assert "step 1/3 Clock and version  4/4 hosts  1 failed" in text
    assert "\x1b[32mok: [r1]" in text  # colored outcome
    assert text.endswith("\x1b[0m\n")
    assert SECRET not in text


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        (HOSTS[0], {"ok": 3, "changed": 1}),
        (HOSTS[1], {"ok": 2, "changed": 1, "ignored": 1}),  # failed step, host ok: ignored
        (HOSTS[2], {"ok": 1, "failed": 1}),
        (HOSTS[3], {"unreachable": 1}),
        (HostReport(name="x", status=Status.UNREACHABLE), {"unreachable": 1}),
        (
            HostReport(name="x", status=Status.SKIPPED, steps=(step("NTP", Status.SKIPPED),)),
            {"skipped": 1},
        ),
    ],
)
def test_recap_counts(host: HostReport, expected: dict[str, int]) -> None:
    zero = dict.fromkeys(("ok", "changed", "failed", "unreachable", "skipped", "ignored"), 0)
    assert recap_counts(host) == zero | expected


def test_collapse_groups_in_inventory_order() -> None:
    results = {
        "b": step("NTP", result={"show x": "1"}),
        "a": step("NTP", result={"show x": "2"}),
        "c": step("NTP", result={"show x": "2", "show y": ""}),
    }
    assert collapse(results, ["a", "b", "c"]) == [
        ("show x", [Gathered(["a", "c"], "2", []), Gathered(["b"], "1", [])]),
        ("show y", [Gathered(["c"], "(no output)", [])]),
    ]


def show_version(name: str, release: str = "15.2(4)M7") -> str:
    return (
        f"Cisco IOS Software, Version {release}\n{name} uptime is 1 day, 2 hours\n"
        f'System image file is "flash:ios.bin"\n{name}#'
    )


GATHER_HOSTS = ("r1", "r2", "R3", "sw1", "sw2", "edge-1")
GATHER_VERSIONS = {
    "r1": show_version("r1"),
    "r2": show_version("r2"),
    "R3": show_version("r3"),  # the device's own hostname in lower case
    "sw1": show_version("sw1", "16.9.4"),
    "sw2": show_version("sw2", "16.9.4"),
    "edge-1": show_version("core-1"),  # a name that is not its own: not gathered
}


def gather_events() -> tuple[list[Event], RunReport]:
    steps = {
        name: step("Clock and version", result=commands(version=GATHER_VERSIONS[name]))
        for name in GATHER_HOSTS
    }
    hosts = tuple(HostReport(name=n, status=Status.OK, steps=(s,)) for n, s in steps.items())
    events: list[Event] = [
        RunStarted(runbook="Versions", run_id="1", hosts=GATHER_HOSTS, steps=(STEPS[0],)),
        StepStarted(index=0, name=STEPS[0], hosts=GATHER_HOSTS),
        *(StepDone(index=0, host=n, result=s) for n, s in steps.items()),
        *(HostDone(report=h) for h in hosts),
    ]
    return events, make_report(hosts)


def test_collapse_gathers_outputs_that_differ_only_by_the_host_name() -> None:
    _, report = gather_events()
    results = {h.name: h.steps[0] for h in report.hosts}
    groups = dict(collapse(results, GATHER_HOSTS))
    assert groups["show clock"] == [Gathered(list(GATHER_HOSTS), CLOCK, [])]
    routers, switches, edge = groups["show version"]
    assert routers == Gathered(
        ["r1", "r2", "R3"],
        show_version("{host}"),
        [
            (["r1"], ["r1 uptime is 1 day, 2 hours", "r1#"]),
            (["r2"], ["r2 uptime is 1 day, 2 hours", "r2#"]),
            (["R3"], ["r3 uptime is 1 day, 2 hours", "r3#"]),
        ],
    )
    assert switches.hosts == ["sw1", "sw2"]
    assert switches.text == show_version("{host}", "16.9.4")
    assert edge == Gathered(["edge-1"], show_version("core-1"), [])


def test_collapse_keeps_identical_outputs_together_even_when_they_name_a_host() -> None:
    results = {
        "r1": step("NTP", result={"show x": "peer r1"}),
        "r2": step("NTP", result={"show x": "peer r1"}),
        "r3": step("NTP", result={"show x": "peer r3"}),
    }
    assert collapse(results, ["r1", "r2", "r3"]) == [
        ("show x", [Gathered(["r1", "r2"], "peer r1", []), Gathered(["r3"], "peer r3", [])])
    ]


def test_verbose_gathers_outputs_that_differ_only_by_the_host_name(
    golden: Callable[[str, str], None],
) -> None:
    events, report = gather_events()
    text = render("text", events, report, verbose=1)
    assert "  show version (3 distinct outputs over 6 hosts)\n" in text
    assert "    r1, r2, R3 (3 hosts, {host} = its name):\n      Cisco IOS Software" in text
    assert "      {host} uptime is 1 day, 2 hours\n" in text
    assert "      sw2: sw2 uptime is 1 day, 2 hours\n      sw2: sw2#\n" in text
    assert text.count("Cisco IOS Software") == 3
    golden("text_gathered_v.txt", text)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("r1#", "{host}#"),
        ("hostname R1\nr1.lab.example.com", "hostname {host}\n{host}.lab.example.com"),
        ("r10 ar1 r1x", "r10 ar1 r1x"),  # only the whole name
        ("(r1)", "({host})"),
    ],
)
def test_mask_host(text: str, masked: str) -> None:
    assert mask_host(text, "r1") == masked


def test_step_positions_skip_untargeted_steps() -> None:
    names = ["A", "B", "A", "C"]
    assert step_positions(names, [step("A"), step("A"), step("C")]) == [0, 2, 3]
    assert step_positions(names, [step("Z")]) == [4]


@pytest.mark.parametrize(
    ("seconds", "text"), [(3.2, "3.20s"), (65, "1m 05s"), (3723.4, "1h 02m 03s")]
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


# --- machine formats ---------------------------------------------------------------------------


def expected_document() -> dict[str, Any]:
    doc = make_report().to_dict()
    doc["hosts"]["r1"]["steps"][1]["result"] = f"ntp server 192.0.2.1 key {MASK}"
    doc["hosts"]["core-router-03"]["steps"][1]["error"] = (
        f"% Invalid input: password {MASK}\nat line 2"
    )
    return json.loads(json.dumps(doc))  # type: ignore[no-any-return]


def test_json_is_the_spec_document() -> None:
    text = render("json", linear_events())
    doc = json.loads(text)
    assert doc == expected_document()
    assert list(doc) == [
        "runbook",
        "run_id",
        "started_at",
        "finished_at",
        "duration_s",
        "dry_run",
        "interrupted",
        "aborted",
        "summary",
        "hosts",
    ]
    assert list(doc["hosts"]) == list(NAMES)
    assert doc["summary"] == {
        "hosts": 5,
        "ok": 2,
        "changed": 2,
        "failed": 1,
        "unreachable": 1,
        "skipped": 1,
    }
    assert doc["hosts"]["r1"]["steps"][0] == {
        "name": "Clock and version", "task": "send_commands", "status": "ok", "changed": False,
        "duration_s": 0.25, "error": None, "result": {"show clock": CLOCK, "show version": VERSION},
    }  # fmt: skip
    assert SECRET not in text
    assert text.endswith("}\n")


def test_json_on_a_color_terminal_is_raw() -> None:
    out = Console(file=StringIO(), width=40, force_terminal=True, color_system="truecolor")
    run(make_output("json", out, redactor=Redactor([SECRET])), linear_events(), make_report())
    text = out.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b" not in text
    assert json.loads(text) == expected_document()


def test_yaml_is_the_same_document() -> None:
    text = render("yaml", linear_events())
    assert yaml.safe_load(text) == expected_document()
    assert text.startswith("runbook: Health check\nrun_id: 20261125T101500Z\n")
    assert "show version: |-\n" in text  # device output as a readable block
    assert SECRET not in text


def test_jsonl_streams_hosts_then_summary() -> None:
    out = console()
    output = make_output("jsonl", out, redactor=Redactor([SECRET]))
    events = free_events()
    for event in events[:2]:
        output.on_event(event)
    first = out.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert [json.loads(line)["host"] for line in first] == ["core-router-03"]  # as it completes
    for event in events[2:]:
        output.on_event(event)
    output.finish(make_report())
    lines = [json.loads(line) for line in out.file.getvalue().splitlines()]  # type: ignore[attr-defined]
    assert [line.get("host") for line in lines] == ["core-router-03", "r1", "r4", "r2", "r5", None]
    doc = expected_document()
    for line in lines[:-1]:
        assert line == {"host": line["host"], **doc["hosts"][line["host"]]}
    assert lines[-1] == {
        "summary": doc["summary"], "runbook": "Health check", "run_id": "20261125T101500Z",
        "started_at": "2026-11-25T10:15:00Z", "finished_at": "2026-11-25T10:15:03Z",
        "duration_s": 3.2, "dry_run": False, "interrupted": False, "aborted": False,
        "failed_hosts": ["core-router-03", "r4"],
    }  # fmt: skip


def test_jsonl_interrupted_run_lists_every_host_once() -> None:
    report = make_report(interrupted=True)
    text = render("jsonl", free_events()[:2], report)
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line.get("host") for line in lines] == ["core-router-03", "r1", "r2", "r4", "r5", None]
    assert lines[-1]["interrupted"] is True


def test_results_that_are_not_plain_data_still_serialize() -> None:
    class Thing:
        def __str__(self) -> str:
            return f"Thing({SECRET})"

    odd = {"set": {3, 1}, "obj": Thing(), "nan": float("nan"), "status": Status.OK, (1, 2): b"xy"}
    host = HostReport(name="r1", status=Status.OK, steps=(step("Backup", result=odd),))
    for fmt in ("json", "yaml"):
        text = render(fmt, [], make_report((host,)))
        doc = json.loads(text) if fmt == "json" else yaml.safe_load(text)
        assert doc["hosts"]["r1"]["steps"][0]["result"] == {
            "set": [1, 3], "obj": f"Thing({MASK})", "nan": "nan", "status": "ok", "(1, 2)": "xy"
        }  # fmt: skip


@pytest.mark.parametrize("fmt", ["text", "json", "yaml", "jsonl"])
def test_secrets_never_leave(fmt: str) -> None:
    for verbose in (0, 1, 2):
        text = render(fmt, linear_events(), verbose=verbose)
        assert SECRET not in text
        assert MASK in text


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown output format 'xml'"):
        make_output("xml", console(), redactor=Redactor())  # type: ignore[arg-type]


def test_tee_feeds_every_output() -> None:
    a, b = console(), console()
    tee = Tee(
        make_output("jsonl", a, redactor=Redactor()), make_output("json", b, redactor=Redactor())
    )
    run(tee, free_events(), make_report())
    assert len(a.file.getvalue().splitlines()) == 6  # type: ignore[attr-defined]
    assert json.loads(b.file.getvalue())["runbook"] == "Health check"  # type: ignore[attr-defined]


def test_live_line_starts_with_the_run_and_stops_at_finish() -> None:
    out = Console(file=StringIO(), width=100, force_terminal=True)
    output = make_output("text", out, redactor=Redactor())
    assert out.file.getvalue() == ""  # type: ignore[attr-defined]  # nothing before the run
    output.on_event(free_events()[0])
    assert "0/5 hosts  0 failed" in out.file.getvalue()  # type: ignore[attr-defined]
    output.finish(make_report())
    text = out.file.getvalue()  # type: ignore[attr-defined]
    assert text.count("\x1b[?25l") == text.count("\x1b[?25h") == 1  # cursor hidden, then shown
    assert "RECAP" in text.split("\x1b[?25h")[1]


def test_machine_formats_show_the_live_line_on_a_terminal_stderr_only() -> None:
    def terminal() -> Console:
        return Console(file=StringIO(), width=100, force_terminal=True)

    for fmt in ("json", "yaml", "jsonl"):
        out, err = console(), terminal()
        run(
            make_output(fmt, out, redactor=Redactor([SECRET]), progress=err),
            linear_events(),
            make_report(),
        )
        shown = err.file.getvalue()  # type: ignore[attr-defined]
        assert "step 2/3 NTP  3/3 hosts  2 failed" in shown
        assert shown.count("\x1b[?25l") == shown.count("\x1b[?25h") == 1  # started, stopped
        assert SECRET not in shown
        assert "\x1b" not in out.file.getvalue()  # type: ignore[attr-defined]
    out, err = console(), console()  # stderr not a terminal: nothing there
    run(make_output("json", out, redactor=Redactor(), progress=err), linear_events(), make_report())
    assert err.file.getvalue() == ""  # type: ignore[attr-defined]
    assert json.loads(out.file.getvalue())["runbook"] == "Health check"  # type: ignore[attr-defined]
    out, err = terminal(), terminal()  # jsonl on a terminal: its lines are the progress
    run(make_output("jsonl", out, redactor=Redactor(), progress=err), free_events(), make_report())
    assert err.file.getvalue() == ""  # type: ignore[attr-defined]
    assert len(out.file.getvalue().splitlines()) == 6  # type: ignore[attr-defined]
