"""The report renderers in process: what a page holds (:mod:`nornir_runbook.report.page`), its
markdown read back by a CommonMark parser (markdown-it-py, as GitHub-style tables), and the
parts of the HTML page that only some runs have (flags, a step's ``diff``, changes since an
older run). The page in a browser, from a real run, is in ``tests/cli/test_cli_report.py``.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from nornir_runbook.report.html import render_html
from nornir_runbook.report.markdown import escape, fence, render_markdown
from nornir_runbook.report.page import Changes, Diff, HostChange, Page, make_page
from nornir_runbook.report.runs import SavedRun

MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def step(name: str = "Version", status: str = "ok", **more: Any) -> dict[str, Any]:
    found = {"name": name, "task": "send_commands", "status": status, "changed": False}
    found |= {"duration_s": 0.25, "error": None, "result": {"show version": "IOS 17.3"}}
    return found | more


def run_of(hosts: dict[str, dict[str, Any]], **doc: Any) -> SavedRun:
    document = {"runbook": "Checks", "run_id": "20261125T101500Z-3f9a1c", "hosts": hosts}
    return SavedRun(folder=Path("runs/x"), document=document | doc)


def host(status: str = "ok", *steps: dict[str, Any]) -> dict[str, Any]:
    changed = any(s["changed"] for s in steps)
    return {"status": status, "changed": changed, "duration_s": 1.0, "steps": list(steps)}


def page_of(hosts: dict[str, dict[str, Any]], **doc: Any) -> Page:
    return make_page(run_of(hosts, **doc))


def inline_tokens(markdown: str) -> list[Token]:
    return [c for t in MD.parse(markdown) if t.type == "inline" for c in t.children or []]


def fences(markdown: str) -> list[Token]:
    return [t for t in MD.parse(markdown) if t.type == "fence"]


# --- what a page holds ------------------------------------------------------------------------


def test_failed_and_unreachable_hosts_come_first_then_the_rest_in_inventory_order() -> None:
    statuses = {"r1": "ok", "r2": "unreachable", "r3": "skipped", "r4": "failed", "r5": "ok"}
    page = page_of({name: host(status, step()) for name, status in statuses.items()})
    assert [h.name for h in page.hosts] == ["r2", "r4", "r1", "r3", "r5"]
    markdown = render_markdown(page)
    headings = [line.split(":")[0] for line in markdown.splitlines() if line.startswith("## r")]
    assert headings == ["## r2", "## r4", "## r1", "## r3", "## r5"]


def test_counts_come_from_the_summary_or_from_the_hosts() -> None:
    hosts = {"r1": host("ok", step(changed=True)), "r2": host("failed", step(status="failed"))}
    counted = page_of(hosts).counts
    assert counted == (
        ("hosts", 2),
        ("ok", 1),
        ("changed", 1),
        ("failed", 1),
        ("unreachable", 0),
        ("skipped", 0),
    )
    summary = dict.fromkeys(["hosts", "ok", "changed", "failed", "unreachable", "skipped"], 7)
    assert dict(page_of(hosts, summary=summary).counts) == summary


def test_control_characters_from_devices_are_shown_escaped() -> None:
    output = "line\x1b[31m red\r\nnext\x07"
    page = page_of({"r1": host("ok", step(result={"show x": output}))})
    [output] = page.hosts[0].steps[0].outputs
    assert (output.label, output.text) == ("show x", "line\\x1b[31m red\\r\nnext\\x07")
    for rendered in (render_html(page), render_markdown(page)):
        assert "\x1b" not in rendered
        assert "\x07" not in rendered
        assert "line\\x1b[31m red\\r" in rendered


def test_parsed_records_show_as_a_table_and_other_data_as_text() -> None:
    records = [
        {"interface": "Ethernet0/1", "status": "down"},
        {"interface": "<b>Lo0</b>", "status": "up", "vrf": None},
    ]
    result = {"show ip int brief": records, "nested": [{"a": {"b": 1}}], "empty": []}
    page = page_of({"r1": host("ok", step(result=result))})
    [table, nested, empty] = page.hosts[0].steps[0].outputs
    assert table.table == (
        ("interface", "status", "vrf"),
        (("Ethernet0/1", "down", ""), ("<b>Lo0</b>", "up", "")),
    )
    assert (nested.table, empty.table) == (None, None)
    html = render_html(page)
    found = elements(html)
    assert [t for t, _ in found.tags].count("table") == 2  # the index of hosts, and this one
    assert "<td>&lt;b&gt;Lo0&lt;/b&gt;</td>" in html
    assert len(found.pre) == 2  # nested and empty as text
    markdown = render_markdown(page)  # markdown keeps the data as text, in code blocks
    assert next(b.content for b in fences(markdown)).startswith('[\n  {\n    "interface"')


# --- markdown --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "output", ["```\n# not a heading\n```", "a ```` b", "`", "~~~\nx\n~~~", "```python"]
)
def test_an_output_stays_in_one_code_block_whatever_its_backticks(output: str) -> None:
    page = page_of({"r1": host("ok", step(result={"show x": output}))})
    [block] = fences(render_markdown(page))
    assert block.content == output + "\n"


def test_the_fence_outruns_the_longest_backtick_run() -> None:
    assert fence("a `` b")[0] == "```"
    assert fence("a ```` b")[0] == "`````"
    assert fence("x", "diff")[0] == "```diff"


NAMES = [
    "r*1*_x_",
    "[a](http://x)",
    "![i](http://x/i.png)",
    "<b>bold</b>",
    "<http://x>",
    "# h | t",
    "`code`",
    "1. list",
    "a\nb",
    "&amp; ~~gone~~",
    "a\\*b*",
]


@pytest.mark.parametrize("name", NAMES)
def test_names_are_literal_text_in_markdown(name: str) -> None:
    hosts = {name: host("failed", step(name=name, status="failed", error=name))}
    markdown = render_markdown(page_of(hosts, runbook=name))
    tokens = inline_tokens(markdown)
    markup = {t.type for t in tokens} - {"text", "strong_open", "strong_close", "code_inline"}
    assert markup <= {"softbreak"}, markdown
    literal = " ".join(name.splitlines())
    texts = [t.content for t in tokens if t.type == "text"]
    assert literal in texts  # the title
    assert f"{literal}: failed in 1.00s" in texts  # the host's heading
    assert f"1. {literal}: failed" in texts  # its step's heading
    # the index table keeps its four columns, whatever the name holds
    rows = _table_rows(markdown)
    assert rows[1] == [literal, "failed", "no", literal]


def _table_rows(markdown: str) -> list[list[str]]:
    """The rows of the index of hosts (the second table), as the text of each cell."""
    tokens = MD.parse(markdown)
    tables = [i for i, t in enumerate(tokens) if t.type == "table_open"]
    rows: list[list[str]] = []
    for token in tokens[tables[1] :]:
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline":
            rows[-1].append("".join(c.content for c in token.children or []))
        elif token.type == "table_close":
            break
    return rows


def test_markdown_shows_checks_flags_and_a_diff() -> None:
    checks = [
        {"that": "x | length >= 2", "ok": False, "seen": "saw 1 >= 2", "error": None},
        {"that": "y", "ok": True, "seen": None, "error": None},
    ]
    diff = "--- running\n+++ new\n@@ -1 +1 @@\n-ntp server 1.1.1.1\n+ntp server 2.2.2.2"
    hosts = {"r1": host("failed", step(status="failed", checks=checks, diff=diff, result=None))}
    markdown = render_markdown(page_of(hosts, dry_run=True, aborted=True, interrupted=False))
    assert "> **dry run: nothing was sent to any device**" in markdown
    assert "> **aborted: max\\_fail\\_percentage stopped the run**" in markdown
    assert "interrupted" not in markdown
    assert "- **failed** `x | length >= 2`: saw 1 >= 2\n- ok `y`\n" in markdown
    [block] = fences(markdown)
    assert (block.info, block.content) == ("diff", diff + "\n")


def test_markdown_shows_the_changes_since_an_older_run() -> None:
    changes = Changes(
        against="old-run",
        hosts=(
            HostChange(host="r1", old_status="ok", new_status="failed"),
            HostChange(host="r2", old_status=None, new_status="ok"),
            HostChange(
                host="r_3",
                old_status="ok",
                new_status="ok",
                diffs=(Diff(title="show ntp", text="-a\n+```b"),),
            ),
        ),
    )
    page = make_page(run_of({"r1": host("failed", step(status="failed"))}), changes)
    markdown = render_markdown(page)
    section = markdown[markdown.index("## Changes since old-run") :]
    assert section.index("## Changes") < section.index("## r1: failed")
    assert "### r1: ok → failed\n" in section
    assert "### r2: only in this run (ok)\n" in section
    assert "### r\\_3\n\n**Diff of show ntp**\n\n````diff\n-a\n+```b\n````\n" in section
    empty = render_markdown(make_page(run_of({}), Changes(against="old")))
    assert "## Changes since old\n\nNo change.\n" in empty


def test_escape_keeps_plain_names_as_they_are() -> None:
    assert escape("fra-edge-04") == "fra-edge-04"
    assert escape("show ip route 10.0.0.0") == "show ip route 10.0.0.0"
    assert escape("a*b") == "a\\*b"


# --- HTML: the parts only some runs have -------------------------------------------------------


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text inside each ``pre``."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.pre: list[str] = []
        self._in_pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "pre":
            self._in_pre += 1
            self.pre.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self._in_pre -= 1

    def handle_data(self, data: str) -> None:
        if self._in_pre:
            self.pre[-1] += data


def elements(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    return parser


def test_a_steps_diff_is_shown_open_and_coloured_by_line() -> None:
    diff = "--- a\n+++ b\n@@ -1 +1 @@\n keep\n-gone\n+new <x>"
    hosts = {
        "r1": host("ok", step(changed=True, diff=diff, result=None)),
        "r2": host("ok", step(diff={"ios": "-x\n+y"}, result=None)),
        "r3": host("ok", step(result=None)),
    }
    found = elements(render_html(page_of(hosts)))
    kinds = [
        a["class"] for t, a in found.tags if t == "span" and (a["class"] or "").startswith("d-")
    ]
    assert kinds == ["d-file", "d-file", "d-hunk", "d-same", "d-del", "d-add", "d-del", "d-add"]
    assert found.pre == ["\n" + diff.replace("\n", ""), "\n-x+y"]
    diffs = [a for t, a in found.tags if t == "details" and a.get("class") == "diff"]
    assert len(diffs) == 2
    assert all("open" in a for a in diffs)


def test_only_a_diffs_first_two_lines_are_its_file_lines() -> None:
    """A device line starting with ``--`` or ``++`` is a removal or an addition like any other,
    coloured as one, on the page as in the text output and ``nrb diff``."""
    diff = "--- before\n+++ after\n@@ -1,2 +1,2 @@\n--- banner rule\n+++ banner rule +++\n x"
    found = elements(render_html(page_of({"r1": host("ok", step(diff=diff, result=None))})))
    kinds = [
        a["class"] for t, a in found.tags if t == "span" and (a["class"] or "").startswith("d-")
    ]
    assert kinds == ["d-file", "d-file", "d-hunk", "d-del", "d-add", "d-same"]
    # a diff that is not a unified diff (a task's own text) has no file lines at all
    assert [k for k, _ in Diff(title="", text="+++ x\n--- y").lines()] == ["add", "del"]


def test_the_page_says_when_a_run_was_dry_aborted_or_interrupted() -> None:
    hosts = {"r1": host("skipped")}
    plain = render_html(page_of(hosts, dry_run=False, aborted=False, interrupted=False))
    assert 'class="flag"' not in plain
    flagged = render_html(page_of(hosts, dry_run=True, aborted=True, interrupted=True))
    flags = [line for line in flagged.splitlines() if line.startswith('<p class="flag">')]
    assert flags == [
        '<p class="flag">dry run: nothing was sent to any device</p>',
        '<p class="flag">aborted: max_fail_percentage stopped the run</p>',
        '<p class="flag">interrupted: the run was cut short</p>',
    ]


def test_the_changes_section_escapes_and_colours_its_diffs() -> None:
    changes = Changes(
        against="<old>",
        hosts=(
            HostChange(
                host="r<1>",
                old_status="ok",
                new_status="failed",
                diffs=(Diff(title="show </details>", text="-a\n+</pre><script>x</script>"),),
            ),
            HostChange(host="r9", old_status="failed", new_status=None),
        ),
    )
    html = render_html(make_page(run_of({"r<1>": host("failed")}), changes))
    found = elements(html)
    assert "<h2>Changes since &lt;old&gt;</h2>" in html
    assert not [t for t, _ in found.tags if t == "script"]
    assert "\n-a+</pre><script>x</script>" in found.pre
    changed = [a for t, a in found.tags if t == "div" and a.get("class") == "change"]
    assert [a["data-host"] for a in changed] == ["r<1>", "r9"]
    assert "only in &lt;old&gt;" in html
    assert render_html(make_page(run_of({}))).count('id="changes"') == 0
    assert "No change." in render_html(make_page(run_of({}), Changes(against="x")))
