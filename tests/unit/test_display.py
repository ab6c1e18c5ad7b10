"""Control characters from devices, runbooks and the inventory never reach a terminal or a text
file raw; counts agree with their noun."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path
from typing import Literal

import pytest
import yaml
from rich.console import Console

from nornir_runbook.redact import MASK, Redactor
from nornir_runbook.report.render import make_output
from nornir_runbook.report.results import (
    HostDone,
    HostReport,
    RunReport,
    RunStarted,
    Status,
    StepDone,
    StepResult,
    StepStarted,
)
from nornir_runbook.report.save import save_report
from nornir_runbook.text import has_control, plural, printable

# what a hostile banner or name can do to a terminal
TITLE = "\x1b]0;pwned\x07"  # OSC 0: the window title
CLEAR = "\x1b[2J\x1b[H"  # clear the screen, cursor home
CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4=\x07"  # OSC 52: write the clipboard
FORGED = "\x1b[1A\rok: [r9]\x1b[K"  # cursor up, carriage return, a forged outcome line
C1 = "\x9b2J"  # 8-bit CSI
HOSTILE = f"{TITLE}{CLEAR}banner{CLIPBOARD}\n{FORGED}\n\tindented{C1}\x00\x7f"
ESCAPED = (
    r"\x1b]0;pwned\x07\x1b[2J\x1b[Hbanner\x1b]52;c;cm0gLXJmIH4=\x07"
    "\n"
    r"\x1b[1A\rok: [r9]\x1b[K"
    "\n\tindented"
    r"\x9b2J\x00\x7f"
)
SECRET = "s3cr3t-pass"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # what must never be written raw


def test_printable_escapes_controls_but_newline_and_tab() -> None:
    assert printable(HOSTILE) == ESCAPED
    assert printable("plain text\n\twith a tab, é and ✓") == "plain text\n\twith a tab, é and ✓"
    assert printable(r"a literal \x1b stays") == r"a literal \x1b stays"
    assert not RAW.search(printable("".join(map(chr, range(0x100)))))


def test_has_control_counts_newline_and_tab() -> None:
    assert all(has_control(f"a{c}b") for c in "\x1b\n\t\r")
    assert not has_control("Health check: é ✓")


@pytest.mark.parametrize(
    ("count", "text"), [(0, "0 hosts"), (1, "1 host"), (2, "2 hosts"), (-1, "-1 hosts")]
)
def test_plural(count: int, text: str) -> None:
    assert plural(count, "host") == text


def test_plural_irregular() -> None:
    assert plural(1, "process", "processes") == "1 process"
    assert plural(3, "process", "processes") == "3 processes"


STEP = f"Banner{TITLE}"
HOST = f"r1{CLEAR}"


def hostile_report() -> tuple[list[object], RunReport]:
    good = StepResult(
        name=STEP,
        task="send_commands",
        status=Status.OK,
        result={f"show banner motd{CLEAR}": HOSTILE + f" key {SECRET}"},
    )
    bad = StepResult(
        name=STEP, task="send_commands", status=Status.FAILED, error=f"% refused{FORGED}\n{TITLE}"
    )
    hosts = (
        HostReport(name=HOST, status=Status.OK, steps=(good,)),
        HostReport(name="r2", status=Status.FAILED, steps=(bad,)),
    )
    report = RunReport(
        runbook=f"Hostile{CLIPBOARD}",
        run_id="1",
        started_at="",
        finished_at="",
        duration_s=1.0,
        hosts=hosts,
    )
    names = tuple(h.name for h in hosts)
    events: list[object] = [
        RunStarted(runbook=report.runbook, run_id="1", hosts=names, steps=(STEP,)),
        StepStarted(index=0, name=STEP, hosts=names),
        StepDone(index=0, host=HOST, result=good),
        StepDone(index=0, host="r2", result=bad),
        *(HostDone(report=h) for h in hosts),
    ]
    return events, report


@pytest.mark.parametrize("strategy", ["linear", "free"])
@pytest.mark.parametrize("verbose", [0, 1, 2])
def test_text_output_escapes_what_devices_and_runbooks_say(strategy: str, verbose: int) -> None:
    events, report = hostile_report()
    if strategy == "free":
        events = [e for e in events if isinstance(e, RunStarted | HostDone)]
    for terminal in (False, True):
        out = Console(file=StringIO(), width=100, force_terminal=terminal, color_system=None)
        output = make_output("text", out, verbose=verbose, redactor=Redactor([SECRET]))
        for event in events:
            output.on_event(event)  # type: ignore[arg-type]
        output.finish(report)
        text = out.file.getvalue()  # type: ignore[attr-defined]
        if terminal:  # the live line's own cursor control is rich's, not data: drop it first
            text = re.sub(r"\x1b\[\?25[lh]|\x1b\[2K|\x1b\[1A|\r", "", text)
        assert not RAW.search(text), repr(text)
        assert f"RUNBOOK [Hostile{printable(CLIPBOARD)}]" in text
        assert printable(STEP) in text
        assert "failed: [r2]" in text
        assert f"% refused{printable(FORGED)}\n" in text
        assert SECRET not in text
        if verbose:
            assert printable(HOSTILE).split("\n")[1] in text
            assert f"  show banner motd{printable(CLEAR)}" in text
            assert f"{printable(TITLE)}" in text.split("failed: [r2]")[1]  # the error's 2nd line
        assert f"{printable(HOST)} :" in text  # the recap


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_json_and_yaml_keep_the_exact_data(fmt: Literal["json", "yaml"]) -> None:
    _, report = hostile_report()
    out = Console(file=StringIO(), width=100)
    output = make_output(fmt, out, redactor=Redactor([SECRET]))
    output.finish(report)
    text = out.file.getvalue()  # type: ignore[attr-defined]
    assert not RAW.search(text)  # both write control characters as escapes of their own
    doc = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    assert doc["runbook"] == f"Hostile{CLIPBOARD}"
    [(label, value)] = doc["hosts"][HOST]["steps"][0]["result"].items()
    assert (label, value) == (f"show banner motd{CLEAR}", f"{HOSTILE} key {MASK}")
    assert doc["hosts"]["r2"]["steps"][0]["error"] == f"% refused{FORGED}\n{TITLE}"


def test_saved_text_files_are_escaped_and_report_json_is_exact(tmp_path: Path) -> None:
    _, report = hostile_report()
    target = save_report(report, tmp_path, redactor=Redactor([SECRET]))
    texts = {p.name: p.read_text() for p in target.rglob("*.txt")}
    assert len(texts) == 4  # two hosts, failed.txt and r1's banner under outputs/
    for name, text in texts.items():
        assert not RAW.search(text), (name, text)
    host1 = next(t for n, t in texts.items() if n.startswith("r1"))
    assert f"host:     {printable(HOST)}\n" in host1
    assert f"runbook:  Hostile{printable(CLIPBOARD)}\n" in host1
    assert f"{ESCAPED} key {MASK}\n" in host1
    assert texts["failed.txt"] == "r2\n"
    assert texts["show_banner_motd__2J__H.txt"] == f"{ESCAPED} key {MASK}\n"
    doc = json.loads((target / "report.json").read_text())
    assert doc["hosts"]["r2"]["steps"][0]["error"] == f"% refused{FORGED}\n{TITLE}"


def test_failed_txt_escapes_host_names(tmp_path: Path) -> None:
    host = HostReport(name=f"r9{FORGED}", status=Status.UNREACHABLE)
    report = RunReport(
        runbook="x", run_id="2", started_at="", finished_at="", duration_s=0, hosts=(host,)
    )
    target = save_report(report, tmp_path, redactor=Redactor())
    assert (target / "failed.txt").read_text() == f"r9{printable(FORGED)}\n"


def test_text_output_counts_agree_with_their_noun() -> None:
    done = StepResult(name="Clock", task="send_commands", status=Status.OK, result={"a": "b"})
    host = HostReport(name="r1", status=Status.OK, steps=(done,))
    report = RunReport(
        runbook="One", run_id="3", started_at="", finished_at="", duration_s=0, hosts=(host,)
    )
    out = Console(file=StringIO(), width=100, force_terminal=True, color_system=None)
    output = make_output("text", out, verbose=1, redactor=Redactor())
    for event in (
        RunStarted(runbook="One", run_id="3", hosts=("r1",), steps=("Clock",)),
        StepStarted(index=0, name="Clock", hosts=("r1",)),
        StepDone(index=0, host="r1", result=done),
        HostDone(report=host),
    ):
        output.on_event(event)
    output.finish(report)
    text = out.file.getvalue()  # type: ignore[attr-defined]
    assert "RUNBOOK [One] 1 host, 1 step " in text
    assert "step 1/1 Clock  1/1 host  0 failed" in text  # the live line
    assert "\n1 host: 1 ok (0 changed)" in text
    assert not re.search(r"\b1 (hosts|steps|outputs)\b", text)


DIFF = (
    "--- before\n+++ after\n@@ -1,3 +1,2 @@\n hostname r1\n---- old rule\n"
    "-snmp-server contact old\n"
    f"+snmp-server contact {CLEAR}{SECRET}"
)


@pytest.mark.parametrize("strategy", ["linear", "free"])
def test_text_output_shows_a_step_diff_coloured_on_a_terminal_escaped_and_masked(
    strategy: str,
) -> None:
    step = StepResult(
        name="Contact", task="send_config", status=Status.OK, changed=True, result=[], diff=DIFF
    )
    host = HostReport(name="r1", status=Status.OK, steps=(step,))
    report = RunReport(
        runbook="Diff", run_id="1", started_at="", finished_at="", duration_s=1.0, hosts=(host,)
    )
    events: list[object] = [
        RunStarted(runbook="Diff", run_id="1", hosts=("r1",), steps=("Contact",))
    ]
    if strategy == "linear":
        events += [
            StepStarted(index=0, name="Contact", hosts=("r1",)),
            StepDone(index=0, host="r1", result=step),
        ]
    events.append(HostDone(report=host))
    shown = {}
    for colour in (None, "standard"):
        out = Console(
            file=StringIO(), width=100, force_terminal=colour is not None, color_system=colour
        )  # type: ignore[arg-type]
        output = make_output("text", out, verbose=0, redactor=Redactor([SECRET]))
        for event in events:
            output.on_event(event)  # type: ignore[arg-type]
        output.finish(report)
        shown[colour] = out.file.getvalue()  # type: ignore[attr-defined]

    plain = shown[None].splitlines()
    at = plain.index("changed: [r1]") + (1 if strategy == "free" else 0)
    assert plain[at + 1 : at + 8] == [
        "    --- before",
        "    +++ after",
        "    @@ -1,3 +1,2 @@",
        "     hostname r1",
        "    ---- old rule",
        "    -snmp-server contact old",
        f"    +snmp-server contact {printable(CLEAR)}{MASK}",
    ]
    assert "\x1b[" not in shown[None]
    coloured = shown["standard"]
    assert "\x1b[32m    +snmp-server contact" in coloured  # green
    assert "\x1b[31m    -snmp-server contact old" in coloured  # red
    assert "\x1b[36m    @@ -1,3 +1,2 @@" in coloured  # cyan
    assert "\x1b[31m    ---- old rule" in coloured  # a removal, though it starts as a file line
    assert "\x1b[1m    --- before" in coloured  # the file lines: bold
    assert SECRET not in coloured
    assert CLEAR not in coloured
