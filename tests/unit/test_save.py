"""--save DIR: report.json, one file per host, failed.txt; written whole; DIR checked up front."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from nornir_runbook.errors import UsageError
from nornir_runbook.files import atomic_write, safe_name
from nornir_runbook.redact import MASK, Redactor
from nornir_runbook.report.document import document
from nornir_runbook.report.render import Tee
from nornir_runbook.report.results import (
    HostDone,
    HostReport,
    RunReport,
    RunStarted,
    Status,
    StepResult,
)
from nornir_runbook.report.save import (
    SaveOutput,
    new_run_id,
    point_latest,
    prepare_save_dir,
    save_report,
)
from nornir_runbook.report.saved_files import host_filenames

GOLDEN = Path(__file__).parent / "golden"
SECRET = "s3cr3t-pass"
REDACTOR = Redactor([SECRET])


def step(name: str, status: Status = Status.OK, **kw: Any) -> StepResult:
    return StepResult(name=name, task="send_commands", status=status, duration_s=0.5, **kw)


HOSTS = (
    HostReport(
        name="r1",
        status=Status.OK,
        duration_s=1.25,
        steps=(
            step("Clock", result={"show clock": "*10:15:01 UTC", "show users": ""}),
            step("NTP", changed=True, result=f"ntp server 192.0.2.1 key {SECRET}\n"),
        ),
    ),
    HostReport(
        name="r2",
        status=Status.FAILED,
        duration_s=0.75,
        steps=(
            step("Clock", result={"show clock": "*10:15:02 UTC"}),
            step("NTP", Status.FAILED, error=f"% Invalid input, login {SECRET}\nsecond line"),
        ),
    ),
    HostReport(
        name="r3",
        status=Status.UNREACHABLE,
        steps=(
            step(
                "Clock",
                Status.UNREACHABLE,
                error="NetmikoTimeoutException: TCP connection to device failed",
            ),
        ),
    ),
    HostReport(name="site-a/r4", status=Status.SKIPPED),
)


def make_report(hosts: tuple[HostReport, ...] = HOSTS) -> RunReport:
    return RunReport(
        runbook="Health check",
        run_id="20261125T101500Z",
        started_at="2026-11-25T10:15:00Z",
        finished_at="2026-11-25T10:15:03Z",
        duration_s=3.2,
        hosts=hosts,
    )


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


def all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def modes(root: Path) -> dict[str, str]:
    """Every folder (``root`` too) and file under ``root`` -> its mode, symlinks left out."""
    paths = [root, *(p for p in root.rglob("*") if not p.is_symlink())]
    return {str(p.relative_to(root)): oct(stat.S_IMODE(p.stat().st_mode)) for p in paths}


def owner_only(root: Path) -> dict[str, str]:
    """What ``modes(root)`` should be: folders 0700, files 0600."""
    return {name: ("0o700" if (root / name).is_dir() else "0o600") for name in modes(root)}


def test_save_report_writes_every_file(tmp_path: Path, golden: Callable[[str, str], None]) -> None:
    target = save_report(make_report(), tmp_path / "out", redactor=REDACTOR)
    assert target == tmp_path / "out" / "20261125T101500Z"
    assert os.readlink(tmp_path / "out" / "latest") == "20261125T101500Z"
    assert modes(tmp_path / "out") == owner_only(tmp_path / "out")
    assert len(modes(tmp_path / "out")) == 19  # out, the run, hosts/, outputs/, 5 more, 10 files
    assert all_files(target) == [
        "failed.txt",
        "hosts/r1.txt",
        "hosts/r2.txt",
        "hosts/r3.txt",
        "hosts/site-a_r4.txt",
        "outputs/r1/01-Clock/show_clock.txt",
        "outputs/r1/01-Clock/show_users.txt",
        "outputs/r1/02-NTP/result.txt",
        "outputs/r2/01-Clock/show_clock.txt",
        "report.json",
    ]
    assert (target / "outputs/r1/01-Clock/show_clock.txt").read_text() == "*10:15:01 UTC\n"
    assert (target / "outputs/r1/01-Clock/show_users.txt").read_text() == ""
    assert (target / "outputs/r1/02-NTP/result.txt").read_text() == (
        f"ntp server 192.0.2.1 key {MASK}\n"
    )
    assert (target / "failed.txt").read_text() == "r2\nr3\n"
    report_json = json.loads((target / "report.json").read_text())
    assert report_json == document(make_report(), REDACTOR)
    assert (
        report_json["hosts"]["r2"]["steps"][1]["error"]
        == f"% Invalid input, login {MASK}\nsecond line"
    )
    golden("save_host_r1.txt", (target / "hosts" / "r1.txt").read_text())
    golden("save_host_r2.txt", (target / "hosts" / "r2.txt").read_text())
    assert "(no step ran on this host)" in (target / "hosts" / "site-a_r4.txt").read_text()
    for name in all_files(target):
        assert SECRET not in (target / name).read_text()


def test_failed_txt_is_empty_when_all_ok(tmp_path: Path) -> None:
    target = save_report(make_report(HOSTS[:1]), tmp_path, redactor=REDACTOR)
    assert (target / "failed.txt").read_bytes() == b""


def test_a_run_folder_is_never_reused(tmp_path: Path) -> None:
    target = save_report(make_report(), tmp_path, redactor=REDACTOR)
    with pytest.raises(FileExistsError, match="run folder exists already"):
        save_report(make_report(HOSTS[:1]), tmp_path, redactor=REDACTOR)
    assert (target / "failed.txt").read_text() == "r2\nr3\n"  # the first run's, untouched
    assert len(all_files(target)) == 10
    assert not list(tmp_path.rglob(".*"))  # no temporary file left


def test_run_ids_of_the_same_second_differ() -> None:
    now = datetime(2026, 11, 25, 10, 15, 0, 999, tzinfo=UTC)
    ids = {new_run_id(now) for _ in range(50)}
    assert len(ids) == 50
    for run_id in ids:
        assert re.fullmatch(r"20261125T101500Z-[0-9a-f]{6}", run_id)


def test_a_symlink_planted_at_the_run_folder_is_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "20261125T101500Z").symlink_to(victim)
    saver = SaveOutput(out, redactor=REDACTOR)
    tee = Tee(saver)
    names = tuple(h.name for h in HOSTS)
    tee.on_event(
        RunStarted(runbook="Health check", run_id="20261125T101500Z", hosts=names, steps=())
    )
    tee.on_event(HostDone(report=HOSTS[0]))
    tee.finish(make_report())
    assert isinstance(saver.error, FileExistsError)
    assert saver.saved_to is None
    assert os.listdir(victim) == []
    assert sorted(os.listdir(out)) == ["20261125T101500Z"]  # and no latest


def test_latest_is_replaced_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    out = tmp_path / "out"
    out.mkdir()
    (out / "latest").symlink_to(victim)
    first = save_report(make_report(), out, redactor=REDACTOR)
    assert os.readlink(out / "latest") == first.name
    second = save_report(
        replace(make_report(HOSTS[:1]), run_id="20261125T101501Z"), out, redactor=REDACTOR
    )
    assert os.readlink(out / "latest") == second.name
    assert (out / "latest" / "failed.txt").read_text() == ""
    assert os.listdir(victim) == ["keep.txt"]
    assert (victim / "keep.txt").read_text() == "mine"
    assert not list(out.glob(".*"))  # the temporary symlink was renamed, not left


def test_latest_that_is_a_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "latest").mkdir()
    target = tmp_path / "run"
    target.mkdir()
    with pytest.raises(OSError, match=r"cannot point .*latest at the run: Is a directory"):
        point_latest(tmp_path, target)
    assert sorted(os.listdir(tmp_path)) == ["latest", "run"]


def test_atomic_write_keeps_the_old_file_when_writing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "report.json"
    path.write_text("old")

    def fail(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", fail)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(path, "new")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["report.json"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("r1", "r1"), ("core/r1", "core_r1"), ("..", "_"), ("a b:c", "a_b_c"), ("fe80::1", "fe80__1")],
)
def test_safe_name(name: str, expected: str) -> None:
    assert safe_name(name) == expected


def test_host_filenames_are_unique() -> None:
    files = host_filenames(["a/b", "a_b", "A_B", SECRET], REDACTOR)
    assert files == {
        "a/b": "a_b.txt",
        "a_b": "a_b~2.txt",
        "A_B": "A_B~3.txt",
        SECRET: "________.txt",
    }


def test_save_output_writes_hosts_as_they_complete(tmp_path: Path) -> None:
    saver = SaveOutput(tmp_path, redactor=REDACTOR)
    tee = Tee(saver)
    names = tuple(h.name for h in HOSTS)
    tee.on_event(
        RunStarted(runbook="Health check", run_id="20261125T101500Z", hosts=names, steps=())
    )
    tee.on_event(HostDone(report=HOSTS[1]))
    target = tmp_path / "20261125T101500Z"
    assert all_files(target) == ["hosts/r2.txt", "outputs/r2/01-Clock/show_clock.txt"]
    written = (target / "hosts" / "r2.txt").stat().st_ino
    tee.finish(make_report())
    assert saver.saved_to == target
    assert len(all_files(target)) == 10
    assert os.readlink(tmp_path / "latest") == target.name
    # r2's file was not written a second time (a rewrite is a rename of a new file)
    assert (target / "hosts" / "r2.txt").stat().st_ino == written


# --- prepare_save_dir ------------------------------------------------------------------------


def test_prepare_creates_nested_directories(tmp_path: Path) -> None:
    directory = tmp_path / "a" / "b"
    prepare_save_dir(directory)
    assert directory.is_dir()
    assert modes(tmp_path / "a") == {".": "0o700", "b": "0o700"}
    assert os.listdir(directory) == []  # the write probe is gone
    prepare_save_dir(directory)  # an existing directory is fine


def test_prepare_rejects_a_file(tmp_path: Path) -> None:
    file = tmp_path / "out"
    file.write_text("")
    with pytest.raises(UsageError, match=r"out: exists and is not a directory") as info:
        prepare_save_dir(file)
    assert info.value.exit_code == 5


def test_prepare_rejects_a_file_as_parent(tmp_path: Path) -> None:
    file = tmp_path / "out"
    file.write_text("")
    with pytest.raises(
        UsageError, match=r"cannot be created: .*/out exists and is not a directory"
    ):
        prepare_save_dir(file / "runs" / "today")
    assert file.is_file()


def test_prepare_rejects_an_unwritable_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(**kw: Any) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", denied)
    with pytest.raises(UsageError, match="cannot create or write to it: Permission denied"):
        prepare_save_dir(tmp_path)


# --- outputs/: one file per command, nothing volatile ---------------------------------------

PARSED = [{"intf": "Ethernet0/0", "status": "up"}, {"intf": "Ethernet0/1", "status": "down"}]
OUTPUTS_HOST = HostReport(
    name="r1",
    status=Status.OK,
    duration_s=1.5,
    steps=(
        step(
            "Show: all/of it",
            result={
                "show ip int brief": PARSED,
                "Show Clock": "*10:15:01 UTC",
                "show clock": f"bell\x07 {SECRET}",
                "show run | include ntp": "ntp server 192.0.2.1",
            },
        ),
        StepResult(name="Facts", task="echo", status=Status.OK, result={"z": 1, "a": "x"}),
        StepResult(name="Skipped", task="echo", status=Status.SKIPPED),
    ),
)


def run_with(run_id: str, seconds: float) -> RunReport:
    """The same outcome at another time, under another run id, with other durations."""
    host = replace(
        OUTPUTS_HOST,
        duration_s=seconds,
        steps=tuple(replace(s, duration_s=seconds / 3) for s in OUTPUTS_HOST.steps),
    )
    return replace(make_report((host,)), run_id=run_id, duration_s=seconds)


def test_outputs_are_saved_one_file_per_command(tmp_path: Path) -> None:
    target = save_report(run_with("20261125T101500Z-aaaaaa", 1.0), tmp_path, redactor=REDACTOR)

    outputs = target / "outputs" / "r1"
    assert all_files(outputs) == [
        "01-Show__all_of_it/Show_Clock.txt",
        "01-Show__all_of_it/show_clock~2.txt",  # unique in any case
        "01-Show__all_of_it/show_ip_int_brief.json",
        "01-Show__all_of_it/show_run___include_ntp.txt",
        "02-Facts/result.json",
    ]
    step_dir = outputs / "01-Show__all_of_it"
    assert json.loads((step_dir / "show_ip_int_brief.json").read_text()) == PARSED
    assert (step_dir / "show_clock~2.txt").read_text() == f"bell\\x07 {MASK}\n"
    assert (step_dir / "show_run___include_ntp.txt").read_text() == "ntp server 192.0.2.1\n"
    assert (outputs / "02-Facts" / "result.json").read_text() == '{\n  "a": "x",\n  "z": 1\n}\n'
    assert modes(target) == owner_only(target)


def test_two_runs_with_the_same_outcome_differ_only_in_report_json(tmp_path: Path) -> None:
    first = save_report(run_with("20261125T101500Z-aaaaaa", 1.0), tmp_path, redactor=REDACTOR)
    second = save_report(run_with("20261125T111500Z-bbbbbb", 9.0), tmp_path, redactor=REDACTOR)

    assert all_files(first) == all_files(second)
    differing = [
        name
        for name in all_files(first)
        if (first / name).read_text() != (second / name).read_text()
    ]
    assert differing == ["report.json"]
