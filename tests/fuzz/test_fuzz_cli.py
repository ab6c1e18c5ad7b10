"""Property: no command line, however wrong, is a bug in nrb.

Random argument lists made of nrb's real flags, random values for them (host patterns with
malformed regexes such as ``~(``, ``a:&``, ``@missing-file``; ``-F`` without ``=``; junk for
``--serial``; negative ``-w``; ``--task-timeout -1``; unknown flags; a missing RUNBOOK; text that
is not valid UTF-8, as a shell passes it) in a project folder. A ``run`` always has ``--dry-run``,
``--list-hosts`` or ``--list-steps``, so nothing connects anywhere; ``lab`` and ``--ask-pass`` are
left out (they wait for Ctrl-C or a keyboard). Every call:

- exits 0, 3 or 5, never 1, never with a traceback, never shows a password;
- ``--list-hosts`` that exits 0 prints host names of the inventory, one a line, and nothing else;
- ``-o json`` that exits 0 or 3 prints one JSON document.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from nrb_fuzz_harness import (
    GROUPS,
    HOSTS,
    TAGS,
    Outcome,
    assert_no_bug,
    call,
    code,
    count,
    fuzz_settings,
    write_project,
)

from nornir_runbook.cli.parser import build_parser
from nornir_runbook.errors import UsageError

RUNBOOK_TEXT = """\
name: CLI fuzz
targets: {tags: [prod, lab]}
vars: {ntp_server: 192.0.2.1}
steps:
  - commands: [show clock]
  - name: NTP on core
    targets: {groups: [core]}
    config: ["ntp server {{ vars.ntp_server }}"]
  - task: echo
    args: {site: "{{ host.data.site }}"}
"""

# what a shell can pass that is not UTF-8: Python decodes it with surrogateescape
UNDECODABLE = st.sampled_from(["\udcff", "r\udce9seau", "\udc80\udc80"])
TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=12),
    UNDECODABLE,
)
NAMES = st.sampled_from([*HOSTS, *GROUPS, "all", "*", "ungrouped", "cor", "AMS", "ams-core-1"])
LIMIT_TERMS = st.one_of(
    NAMES,
    st.sampled_from(
        [
            "~fra",
            "~(",
            "~[",
            "~a{99999999999}",
            "~" + "(" * 3000,
            "~" + "(?:a+)+" * 3,
            "~",
            "r*",
            "[",
            "[!",
            "ams-*-0[1-2]",
            "@limit.txt",
            "@missing-file",
            "@bad.txt",
            "@nest.txt",
            "@adir",
            "@",
            "@" + "a" * 5000,
            "",
        ]
    ),
    TEXT,
)
LIMITS = st.one_of(
    st.lists(
        st.tuples(st.sampled_from(["", "&", "!"]), LIMIT_TERMS).map("".join), min_size=1, max_size=4
    ).flatmap(lambda terms: st.sampled_from([":", ","]).map(lambda sep: sep.join(terms))),
    st.sampled_from(["a:&", "a:!", "&", "!", ",", ":", "all:!all", "ams:&core:!ams-core-01"]),
)
TAG_VALUES = st.one_of(
    st.lists(st.sampled_from([*TAGS, "nope", ""]), max_size=3).map(",".join), TEXT
)
FILTERS = st.one_of(
    st.sampled_from(
        [
            "platform=cisco_ios",
            "site=ams",
            "port=62201",
            "tags=prod",
            "role=core",
            "abc",
            "=x",
            "password=x",
            " password =x",
            "data=x",
            "groups=x",
            "port=abc",
            "",
            "a=b=c",
            "site=",
            "mgmt_vrf=null",
        ]
    ),
    st.tuples(TEXT, st.sampled_from(["=", ""]), TEXT).map("".join),
)
WHOLE = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(["-1", "0", "x", "1e3", "", " 3", "٣", "1" * 5000, "0x10", "+2", "1_0"]),
)
NUMBER = st.one_of(
    st.floats(allow_nan=True).map(str),
    st.sampled_from(["nan", "inf", "-inf", "-1", "0", "1e308", "1e309", "0x10", "", "½", "50%"]),
)
SERIALS = st.one_of(
    st.sampled_from(
        [
            "abc",
            "0",
            "-1",
            "101%",
            "1e9999",
            "1" * 5000,
            "1" * 5000 + "%",
            "0.0000001%",
            "٣",
            "²",
            "25%",
            "3",
            " 50 % ",
            "%",
            "",
            "1.5",
        ]
    ),
    TEXT,
)
OPTION_VALUES = st.one_of(  # the real options, with values good and bad
    st.tuples(st.sampled_from(["-l", "--limit"]), LIMITS),
    st.tuples(st.sampled_from(["-t", "--tags", "--skip-tags"]), TAG_VALUES),
    st.tuples(st.sampled_from(["-F", "--filter"]), FILTERS),
    st.tuples(st.sampled_from(["-w", "--workers", "--retries"]), WHOLE),
    st.tuples(st.sampled_from(["--task-timeout", "--max-fail-percentage"]), NUMBER),
    st.tuples(st.just("--serial"), SERIALS),
    st.tuples(st.just("--strategy"), st.sampled_from(["linear", "free", "Linear", "", "x"])),
    st.tuples(st.just("--executor"), st.sampled_from(["thread", "process", "dask", "threads"])),
    st.tuples(st.just("--dask-address"), st.one_of(st.just("tcp://127.0.0.1:1"), TEXT)),
    st.tuples(
        st.sampled_from(["-o", "--output"]),
        st.sampled_from(["text", "json", "yaml", "jsonl", "xml", ""]),
    ),
    st.tuples(
        st.just("--save"),
        st.sampled_from(["out", "deep/er", "/dev/null/x", "rb.yaml", "", "adir", "a" * 5000]),
    ),
    st.tuples(
        st.sampled_from(["-c", "--config"]),
        st.sampled_from(
            [
                "config.yaml",
                "missing.yaml",
                "adir",
                "rb.yaml",
                "",
                "/dev/null",
                "bad.txt",
                "a" * 5000,
            ]
        ),
    ),
    st.tuples(st.sampled_from(["-v", "-vv", "-vvv", "--list-hosts", "--list-steps", "--dry-run"])),
)
ODD_OPTIONS = st.one_of(  # options of another command, unknown ones, stray words
    st.tuples(st.sampled_from(["--graph", "--list", "--lab", "--processes", "-h", "--help"])),
    st.tuples(
        st.sampled_from(
            ["--bogus", "-Z", "--dry", "--list-host", "--limit=ams", "-lams", "--", "-"]
        )
    ),
    st.tuples(TEXT),
)
NO_NETWORK = ("--dry-run", "--list-hosts", "--list-steps")
UNDECODABLE_NAME = "r\udce9seau.yaml"  # a valid runbook; its name was not UTF-8 (b"r\xe9seau")
ODD_RUNBOOKS = ["missing.yaml", "adir", "bad.txt", "-", "", "a" * 5000, "missing\udcff.yaml"]


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(["run"] * 6 + ["inventory"] * 2 + ["validate", "tasks", "x"]))
    argv = (
        [command]
        if command != "x"
        else [draw(st.sampled_from(["", "bogus", "-h", "--version", "Run"]))]
    )
    if command in ("run", "validate") and draw(st.integers(0, 9)):  # else: RUNBOOK left out
        argv.append(draw(st.sampled_from(["rb.yaml"] * 4 + [UNDECODABLE_NAME, *ODD_RUNBOOKS])))
    options = st.one_of(OPTION_VALUES, OPTION_VALUES, OPTION_VALUES, ODD_OPTIONS)
    for option in draw(st.lists(options, max_size=5)):
        argv.extend(option)
    if command == "run":  # (call() also refuses any connection, should a flag be eaten)
        argv.append(draw(st.sampled_from(NO_NETWORK)))
    if draw(st.integers(0, 9)) == 0:  # an option without its value, last
        argv.append(draw(st.sampled_from(["-l", "-F", "--serial", "-w", "-o", "-c"])))
    return argv


def _project(folder: Path) -> None:
    write_project(folder)
    (folder / "rb.yaml").write_text(RUNBOOK_TEXT)
    (folder / UNDECODABLE_NAME).write_text(RUNBOOK_TEXT)
    (folder / "limit.txt").write_text("ams-core-01\n# a comment\n~fra\n\nedge\n")
    (folder / "bad.txt").write_bytes(b"\xff\xfe\x00bad")
    (folder / "nest.txt").write_text("@limit.txt\n")
    (folder / "adir").mkdir()


@fuzz_settings(800)
@given(argv=command_lines())
def test_command_lines_are_usage_errors_or_work(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="nrb-fuzz-") as tmp:
        folder = Path(tmp)
        _project(folder)
        outcome = call(argv, cwd=folder)
    count("command line", f"{argv[0] if argv else '-'} {code(outcome)}")
    assert_no_bug(outcome)
    if outcome.out.startswith("usage:"):  # -h, --help
        return
    if outcome.code == 0 and "--list-hosts" in argv and argv[0] == "run":
        assert set(outcome.out.splitlines()) <= set(HOSTS), outcome
    if outcome.code in (0, 3) and document_format(argv) == "json":
        assert_one_json_document(outcome)


def document_format(argv: list[str]) -> str | None:
    """The format of the document a ``run`` prints on a pipe: its ``-o`` (json when there is
    none); None for a call that prints no document (a list flag, another command, bad flags).
    nrb's own parser reads the flags, abbreviations (``--list-host``) included."""
    if not argv or argv[0] != "run":
        return None
    try:
        args = build_parser().parse_args(argv)
    except (UsageError, SystemExit):  # SystemExit: -h
        return None
    if args.list_hosts or args.list_steps:
        return None
    return str(args.output or "json")


def assert_one_json_document(outcome: Outcome) -> None:
    """stdout is one JSON document and nothing else (a dry run's: every host, no connection)."""
    count("command line: json document checked", str(outcome.code))
    try:
        document = json.loads(outcome.out)
    except ValueError as exc:
        raise AssertionError(f"stdout is not one JSON document: {exc}\n{outcome}") from None
    assert isinstance(document, dict), outcome
    assert set(document["summary"]) >= {"hosts", "ok", "failed", "skipped"}, outcome
    assert set(document["hosts"]) <= set(HOSTS), outcome


GOOD_OPTIONS = st.one_of(  # options that a run accepts: it ends in exit 0 or 3, never 5
    st.tuples(st.sampled_from(["-l", "--limit"]), st.sampled_from([*HOSTS, *GROUPS, "all", "*"])),
    st.tuples(st.sampled_from(["-t", "--tags"]), st.sampled_from(TAGS)),
    st.tuples(st.sampled_from(["-w", "--workers"]), st.integers(1, 500).map(str)),
    st.tuples(st.just("--serial"), st.sampled_from(["1", "3", "25%", "100%"])),
    st.tuples(st.just("--strategy"), st.sampled_from(["linear", "free"])),
    st.tuples(st.sampled_from(["-o", "--output"]), st.sampled_from(["text", "json", "yaml"])),
    st.tuples(st.sampled_from(["-v", "-vv"])),
)


@fuzz_settings(60)
@given(
    options=st.lists(GOOD_OPTIONS, max_size=5),
    last=st.sampled_from([(), ("-o", "json"), ("--output", "json")]),
)
def test_dry_runs_print_one_json_document(
    options: list[tuple[str, ...]], last: tuple[str, ...]
) -> None:
    """The document check of the property above, on runs that reach it every time."""
    argv = ["run", "rb.yaml", *itertools.chain.from_iterable(options), *last, "--dry-run"]
    with tempfile.TemporaryDirectory(prefix="nrb-fuzz-") as tmp:
        folder = Path(tmp)
        _project(folder)
        outcome = call(argv, cwd=folder)
    assert_no_bug(outcome, allowed=(0, 3))
    if document_format(argv) == "json":
        assert_one_json_document(outcome)


def test_document_format_reads_the_last_output_flag() -> None:
    assert document_format(["run", "rb.yaml", "--dry-run"]) == "json"
    assert document_format(["run", "rb.yaml", "-o", "text", "--output", "json", "-v"]) == "json"
    assert document_format(["run", "rb.yaml", "-o", "json", "-o", "yaml", "--dry-run"]) == "yaml"
    assert document_format(["run", "rb.yaml", "-o", "json", "--list-hosts"]) is None
    assert document_format(["run", "rb.yaml", "--list-host", "--dry-run"]) is None
    assert document_format(["inventory", "-o", "json"]) is None
