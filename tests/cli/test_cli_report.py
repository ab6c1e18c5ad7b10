"""``nrb report``: a saved run as an HTML page, read in a real headless browser, and as markdown.

The run under test is real, made once for the module: ``nrb run runbooks/checks.yaml --lab
--save runs`` in a lab project of its own (free ports), where fra-edge-04 fails on purpose (a
link down). The browser is Debian's chromium through its chromedriver (``browser_kit``), one for
the module; a missing browser fails these tests.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser_kit import WINDOW, open_page, read_png, requests_made, start_browser
from cli_kit import Nrb, Ran
from selenium.webdriver.common.by import By

from nornir_runbook.report.html import render_html
from nornir_runbook.report.page import Changes, Diff, HostChange, make_page
from nornir_runbook.report.runs import load_run

pytestmark = [pytest.mark.integration, pytest.mark.cli]

REPO = Path(__file__).resolve().parents[2]
FAILING = "fra-edge-04"  # its Ethernet0/1 is down in the lab: checks.yaml fails it
# the page's colour of a failed host (--failed in report.html.j2): what its header must show
FAILED_RGB = (0xC6, 0x28, 0x28)
WHITE = (255, 255, 255)


@dataclass(frozen=True, slots=True)
class Saved:
    nrb: Nrb
    folder: Path
    run: Path  # runs/latest
    doc: dict[str, Any]
    hosts: tuple[str, ...]  # inventory order


@pytest.fixture(scope="module")
def saved(
    lab_project_writer: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> Saved:
    folder = tmp_path_factory.mktemp("report")
    project = lab_project_writer(folder)  # devices stopped: --lab starts them
    shutil.copytree(REPO / "runbooks", folder / "runbooks")
    nrb = Nrb(config=project.config_file, cwd=folder)
    ran = nrb.run("runbooks/checks.yaml", "--lab", "--save", "runs", "-o", "json")
    assert ran.code == 2, ran
    doc = ran.json()
    assert [h for h, r in doc["hosts"].items() if r["status"] != "ok"] == [FAILING], ran
    return Saved(nrb, folder, folder / "runs" / "latest", doc, project.hosts)


@pytest.fixture(scope="module")
def page(saved: Saved) -> Path:
    path = saved.folder / "report.html"
    ran = saved.nrb("report", saved.run, "--html", path)
    assert (ran.code, ran.out) == (0, ""), ran
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with start_browser() as driver:
        yield driver


@pytest.fixture
def shown(browser: Any, page: Path) -> Any:
    """The browser showing the run's page, at its usual size."""
    browser.set_window_size(*WINDOW)
    open_page(browser, page)
    return browser


def reading_order(saved: Saved) -> list[str]:
    return [FAILING, *(h for h in saved.hosts if h != FAILING)]


def host_sections(driver: Any) -> list[Any]:
    return list(driver.find_elements(By.CSS_SELECTOR, "main section.host"))


# --- the HTML page in a browser ---------------------------------------------------------------


def test_the_page_shows_every_host_of_the_run(shown: Any, saved: Saved) -> None:
    sections = host_sections(shown)
    assert sorted(s.get_attribute("data-host") for s in sections) == sorted(saved.doc["hosts"])
    assert len(saved.doc["hosts"]) == len(saved.hosts) == 14
    for section in sections:
        head = section.find_element(By.CSS_SELECTOR, ".host-head")
        assert section.is_displayed()
        assert head.text.startswith(section.get_attribute("data-host"))
    assert shown.find_element(By.TAG_NAME, "h1").text == "Health checks"
    counts = shown.find_element(By.CSS_SELECTOR, "ul.counts").text.split("\n")
    assert counts == ["14 hosts", "13 ok", "0 changed", "1 failed", "0 unreachable", "0 skipped"]


def test_the_failed_host_comes_first_in_the_page_and_on_screen(shown: Any, saved: Saved) -> None:
    sections = host_sections(shown)
    assert [s.get_attribute("data-host") for s in sections] == reading_order(saved)
    tops = [s.rect["y"] for s in sections]
    assert tops == sorted(tops)
    assert tops[0] < min(tops[1:])
    first = sections[0]
    assert first.get_attribute("data-status") == "failed"
    assert "down on fra-edge-04: Ethernet0/1" in first.text
    # the index of hosts at the top lists it first too
    index = shown.find_elements(By.CSS_SELECTOR, "nav table.hosts tbody tr")
    assert [row.text.split()[0] for row in index] == reading_order(saved)


def test_outputs_are_folded_and_open_on_click(shown: Any) -> None:
    first = host_sections(shown)[0]
    folds = first.find_elements(By.CSS_SELECTOR, "details.output")
    assert [f.find_element(By.TAG_NAME, "summary").text for f in folds] == [
        "show ip interface brief",
        "show interfaces description",
    ]
    output = folds[1].find_element(By.TAG_NAME, "pre")
    assert not output.is_displayed()
    assert folds[1].get_attribute("open") is None
    folds[1].find_element(By.TAG_NAME, "summary").click()
    assert folds[1].get_attribute("open") is not None
    assert output.is_displayed()
    assert "UPLINK TO TULCCD3S01P" in output.text
    # parsed records (textfsm) show as a table
    table = folds[0].find_element(By.CSS_SELECTOR, "table.records")
    assert not table.is_displayed()
    folds[0].find_element(By.TAG_NAME, "summary").click()
    heads = [th.text for th in table.find_elements(By.TAG_NAME, "th")]
    assert heads == ["interface", "ip_address", "status", "proto"]
    rows = [r.text.split() for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert ["Ethernet0/1", "1.1.1.1", "down", "down"] in rows


def test_the_checks_show_what_they_saw(shown: Any) -> None:
    first = host_sections(shown)[0]
    failed = first.find_element(By.CSS_SELECTOR, "li.step.s-failed")
    assert failed.get_attribute("data-step") == "Interfaces up"
    [check] = failed.find_elements(By.CSS_SELECTOR, "ul.checks li")
    assert check.get_attribute("class") == "fail"
    assert check.text.startswith("✗registered.interfaces[")
    assert check.text.endswith("saw 1 == 0")


def test_the_page_asks_for_nothing_outside_itself(shown: Any, page: Path) -> None:
    assert requests_made(shown) == [page.resolve().as_uri()]
    assert shown.execute_script("return performance.getEntriesByType('resource').length") == 0
    # what the page's Content-Security-Policy refused would be in the console
    assert shown.get_log("browser") == []
    tags = "script, link, img, iframe, object, embed, svg, video, audio, source, [src]"
    assert shown.find_elements(By.CSS_SELECTOR, tags) == []


def test_the_request_probe_sees_what_a_page_asks_for(browser: Any, tmp_path: Path) -> None:
    """The probe of the test above: a page with an image from elsewhere is seen asking for it,
    and with the report's Content-Security-Policy, the browser says it refused."""
    image = '<img src="http://127.0.0.1:9/logo.png">'
    plain = tmp_path / "plain.html"
    plain.write_text(f"<!doctype html><title>t</title>{image}")
    open_page(browser, plain)
    assert "http://127.0.0.1:9/logo.png" in requests_made(browser)
    policy = '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'">'
    guarded = tmp_path / "guarded.html"
    guarded.write_text(f"<!doctype html><title>t</title>{policy}{image}")
    open_page(browser, guarded)
    assert "Content Security Policy" in json.dumps(browser.get_log("browser"))


def test_screenshot_the_first_host_is_shown_in_the_failure_colour(shown: Any) -> None:
    screen = read_png(shown.get_screenshot_as_png())
    pixels = [p for row in screen for p in row]
    assert len(set(pixels)) > 50, "the page looks blank"
    assert sum(p != WHITE for p in pixels) > len(pixels) // 20, "the page looks blank"
    head = host_sections(shown)[0].find_element(By.CSS_SELECTOR, ".host-head")
    shown.execute_script("arguments[0].scrollIntoView()", head)
    header = [p for row in read_png(head.screenshot_as_png) for p in row]
    assert sum(p == FAILED_RGB for p in header) > len(header) * 0.6
    ok_head = host_sections(shown)[1].find_element(By.CSS_SELECTOR, ".host-head")
    shown.execute_script("arguments[0].scrollIntoView()", ok_head)
    ok_header = [p for row in read_png(ok_head.screenshot_as_png) for p in row]
    assert sum(p == FAILED_RGB for p in ok_header) == 0


def test_on_a_phone_the_page_needs_no_sideways_scrolling(browser: Any, page: Path) -> None:
    browser.set_window_size(390, 844)
    try:
        open_page(browser, page)
        width = browser.execute_script("return window.innerWidth")
        assert width <= 500
        assert browser.execute_script("return document.documentElement.scrollWidth") <= width
        first = host_sections(browser)[0]
        assert first.get_attribute("data-host") == FAILING
        assert first.rect["width"] <= width
    finally:
        browser.set_window_size(*WINDOW)


HOSTILE = "<script>document.title='pwned'</script></details></pre><h1 id=injected>x</h1>&amp;"


def test_device_text_is_inert_on_the_page(saved: Saved, browser: Any, tmp_path: Path) -> None:
    doc = json.loads((saved.run / "report.json").read_text())
    steps = doc["hosts"][FAILING]["steps"]
    steps[0]["result"] = {"show <b>run</b>": HOSTILE}
    steps[0]["name"] = "</li></ol><script>document.title='pwned'</script>"
    steps[2]["checks"][0]["seen"] = HOSTILE
    doc["hosts"]["<i>r9</i>"] = doc["hosts"].pop("ams-core-01")
    (tmp_path / "report.json").write_text(json.dumps(doc))
    ran = saved.nrb("report", tmp_path, "--html", tmp_path / "page.html")
    assert ran.code == 0, ran
    open_page(browser, tmp_path / "page.html")
    assert browser.title.startswith("Health checks")
    assert browser.find_elements(By.CSS_SELECTOR, "#injected, script, i, main b") == []
    first = host_sections(browser)[0]
    fold = first.find_element(By.CSS_SELECTOR, "details.output")
    assert fold.find_element(By.TAG_NAME, "summary").text == "show <b>run</b>"
    pre = fold.find_element(By.TAG_NAME, "pre")
    assert pre.get_attribute("textContent") == HOSTILE
    assert len(first.find_elements(By.CSS_SELECTOR, "li.step")) == 6
    assert first.find_element(By.CSS_SELECTOR, "li.step strong").text == steps[0]["name"]
    assert HOSTILE in first.find_element(By.CSS_SELECTOR, "ul.checks .seen").text
    names = [s.get_attribute("data-host") for s in host_sections(browser)]
    assert "<i>r9</i>" in names


def test_changes_since_an_older_run_are_shown(saved: Saved, browser: Any, tmp_path: Path) -> None:
    diff = (
        "--- old\n+++ new\n@@ -1,2 +1,2 @@\n"
        " ntp server 192.0.2.1\n-ntp server 192.0.2.2\n+ntp server <x>"
    )
    changes = Changes(
        against="20261201T090000Z-aaaaaa",
        hosts=(
            HostChange(host=FAILING, old_status="ok", new_status="failed"),
            HostChange(
                host="ams-core-01",
                old_status="ok",
                new_status="ok",
                diffs=(Diff(title="show running-config | include ntp", text=diff),),
            ),
            HostChange(host="old-host", old_status="ok", new_status=None),
        ),
    )
    path = tmp_path / "changes.html"
    path.write_text(render_html(make_page(load_run(saved.run), changes)), encoding="utf-8")
    open_page(browser, path)
    section = browser.find_element(By.ID, "changes")
    assert section.find_element(By.TAG_NAME, "h2").text == "Changes since 20261201T090000Z-aaaaaa"
    [status, config, gone] = section.find_elements(By.CSS_SELECTOR, ".change")
    assert status.find_element(By.TAG_NAME, "h3").text == f"{FAILING} ok → failed"
    assert gone.find_element(By.TAG_NAME, "h3").text == (
        "old-host only in 20261201T090000Z-aaaaaa ok"
    )
    lines = config.find_elements(By.CSS_SELECTOR, "pre.diff span")
    assert [line.text for line in lines] == diff.splitlines()
    colours = {
        line.get_attribute("class"): line.value_of_css_property("background-color")
        for line in lines
    }
    assert colours["d-add"] == "rgba(218, 251, 225, 1)"  # green
    assert colours["d-del"] == "rgba(255, 235, 233, 1)"  # red
    # it comes before the hosts
    assert section.rect["y"] < host_sections(browser)[0].rect["y"]


# --- the command ------------------------------------------------------------------------------


def test_without_a_file_the_markdown_goes_to_stdout(saved: Saved) -> None:
    ran = saved.nrb("report", saved.run)
    assert (ran.code, ran.err) == (0, ""), ran
    lines = ran.lines()
    assert lines[0] == "# Health checks"
    headings = [line.removeprefix("## ").split(":")[0] for line in lines if line.startswith("## ")]
    assert headings == ["Hosts", *reading_order(saved)]
    assert "| fra-edge-04 | **failed** | no | down on fra-edge-04: Ethernet0/1 " in ran.out
    assert "- **failed** `registered.interfaces['show ip interface brief']" in ran.out
    assert ran.out == saved.nrb("report", saved.run / "report.json").out


def test_both_files_at_once_are_the_same_as_stdout(saved: Saved, tmp_path: Path) -> None:
    html, md = tmp_path / "r.html", tmp_path / "r.md"
    html.write_text("an old page")
    ran = saved.nrb("report", saved.run, "--html", html, "--markdown", md)
    assert (ran.code, ran.out) == (0, ""), ran
    assert ran.err.splitlines() == [f"wrote: {html}", f"wrote: {md}"]
    assert md.read_text() == saved.nrb("report", saved.run).out
    assert html.read_text() == saved.nrb("report", saved.run, "--html", "-").out
    assert html.read_text().startswith("<!doctype html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "r.md"]  # no temp file


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda d: d / "nothing", "not a saved run: no such file or folder"),
        (lambda d: d, "not a saved run: it has no report.json"),
        (lambda d: _write(d / "report.json", "{"), "not a saved run: invalid json"),
        (lambda d: _write(d / "report.json", '{"runbook": 1}'), "key 'runbook'"),
    ],
    ids=["missing", "no-report", "corrupt", "not-a-run"],
)
def test_a_run_that_is_not_there_is_exit_5_naming_it(
    saved: Saved, tmp_path: Path, make: Callable[[Path], Path], says: str
) -> None:
    run = make(tmp_path)
    ran = saved.nrb("report", run, "--html", tmp_path / "r.html")
    assert ran.code == 5, ran
    assert str(run) in ran.err
    assert says in ran.err
    assert not (tmp_path / "r.html").exists()


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_file_that_cannot_be_written_is_exit_5_naming_it(saved: Saved, tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    for target in (tmp_path / "no" / "such" / "r.html", folder):
        ran = saved.nrb("report", saved.run, "--html", target)
        assert ran.code == 5, ran
        assert ran.err.startswith(f"{target}: cannot write the report: "), ran
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-folder"]  # no temp file left
    assert list(folder.iterdir()) == []
    ran = saved.nrb("report", saved.run, "--markdown", tmp_path / "no" / "r.md")
    assert (ran.code, ran.out) == (5, ""), ran
    assert "r.md: cannot write the report: No such file or directory" in ran.err


def test_report_is_in_the_help(saved: Saved) -> None:
    ran: Ran = saved.nrb("--help")
    assert "report              a saved run as a report to read or share" in ran.out


def _older_run(saved: Saved, tmp_path: Path) -> Path:
    """The saved run as an older one: fra-edge-04 was ok then, with its Ethernet0/1 up."""
    older = tmp_path / "older"
    shutil.copytree(saved.run.resolve(), older)
    doc = json.loads((older / "report.json").read_text())
    doc["run_id"] = "20261201T000000Z-0ld0ld"
    host = doc["hosts"][FAILING]
    host["status"] = "ok"
    for step in host["steps"]:
        if step["name"] == "Interfaces":
            for record in step["result"]["show ip interface brief"]:
                record["status"] = record["proto"] = "up"
    (older / "report.json").write_text(json.dumps(doc))
    return older


def test_against_an_older_run_shows_what_changed_since(saved: Saved, tmp_path: Path) -> None:
    older = _older_run(saved, tmp_path)

    ran = saved.nrb("report", saved.run, "--against", older)

    assert ran.code == 0, ran
    changes = ran.out.split("## Changes since 20261201T000000Z-0ld0ld", 1)[1]
    assert FAILING in changes
    assert "ok" in changes.split(FAILING, 1)[1].splitlines()[0]  # ok -> failed
    assert "show ip interface brief" in changes
    assert '-    "status": "up"' in changes.splitlines()  # the record, as data
    assert '+    "status": "down"' in changes.splitlines()
    others = [h for h in saved.hosts if h != FAILING]
    assert not any(h in changes.split("\n## ", 1)[0] for h in others)  # only what changed


def test_against_the_same_run_shows_no_change_and_ignore_needs_against(saved: Saved) -> None:
    same = saved.nrb("report", saved.run, "--against", saved.run, "--ignore", "clock")
    alone = saved.nrb("report", saved.run, "--ignore", "clock")
    missing = saved.nrb("report", saved.run, "--against", saved.folder / "nope")

    assert same.code == 0, same
    changes = same.out.split("## Changes since", 1)[1].split("\n## ", 1)[0]
    assert not any(h in changes for h in saved.hosts)
    assert alone.code == 5
    assert "--ignore is for comparing: give --against OLD too" in alone.err
    assert missing.code == 5
    assert f"{saved.folder / 'nope'}: not a saved run" in missing.err
