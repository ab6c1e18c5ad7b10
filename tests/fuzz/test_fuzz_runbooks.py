"""Property: no runbook file, however wrong, is a bug in nrb.

Every generated file goes through ``nrb validate FILE`` and ``nrb run FILE --dry-run -o json``
in a fresh project folder, and:

- the exit code is 0 or 5 (``run`` may also say 3: the runbook's targets matched no host), never
  1 and never a traceback;
- on 5, stderr names the file, at a line and column unless the file could not be read at all;
- whatever ``validate`` rejects, ``run`` rejects too (5), before connecting anywhere;
- on 0 (or 3), ``validate`` printed ``ok: FILE`` and ``run`` printed one JSON document with every
  selected host ``ok`` (a dry run);
- a YAML tag never builds anything: ``!!python/object/apply:os.mkdir [SENTINEL]`` and friends
  leave no file behind, and a dry run never calls a task (``write_file``, or a task of the
  project's own that leaves a file when called).

Two generators: *structured* (a valid runbook, then mutated: wrong types, unknown and near-miss
keys, missing keys, several step kinds, bad targets, options, serial, templates, tasks and
arguments, odd strings, deep nesting; then dumped in a random YAML style and possibly damaged
as text) and *unstructured* (random text, YAML token soup, random bytes).
"""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
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
    located,
    write_plugin,
    write_project,
)

RUNBOOK = "fuzzbook.yaml"
SENTINEL = "@SENTINEL@"  # replaced by a path in the example's folder that must never exist

# -- pieces ---------------------------------------------------------------------------------------

TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=20)
ODD_TEXT = st.one_of(
    TEXT,
    st.sampled_from(
        [
            "",
            " ",
            "\t",
            "\u200b",
            "\u2028",
            "🙂",
            "ñandú",
            "x" * 5000,
            "{{",
            "}}",
            "{%",
            "%",
            "*",
            "&a",
            "*a",
            "!!python/name:os.system",
            "- a",
            "a: b",
            "~",
            "null",
            "yes",
            "0x1F",
            "1e3",
            ".inf",
            "2026-11-25",
            "\x00",
            "\x1c1",
            "²",
            "٣",
        ]
    ),
)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**30, max_value=10**40),
    st.floats(),
    ODD_TEXT,
)
JUNK = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(ODD_TEXT, st.integers(), st.booleans()), inner, max_size=3),
    ),
    max_leaves=6,
)

GOOD_TEMPLATES = [
    "show clock",
    "show version",
    "show ip interface brief | include {{ host.name }}",
    "ntp server {{ vars.ntp_server }}",
    "hostname {{ host.name }}.{{ host.data.domain }}",
    "{% for s in host.data.ntp_servers | default([]) %}ntp server {{ s }}\n{% endfor %}",
    "{{ host.data.site | default('none') }}",
    "{# a comment #}show running-config",
    "{% if 'core' in host.all_groups %}show ip ospf neighbor{% endif %}",
]
BAD_TEMPLATES = [
    "{{",
    "{{ }}",
    "{% for %}",
    "{% endfor %}",
    "{{ nope }}",
    "{{ vars.nope }}",
    "{{ vars['nope'] }}",
    "{{ host.nope }}",
    "{{ host.data.nope }}",
    "{{ name }}",
    "{{ 1/0 }}",
    "{{ host.name | nofilter }}",
    "{{ host.name is notatest }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ host.__class__ }}",
    "{{ range(10**9) | list }}",
    "{% include 'other.j2' %}",
    "{% extends 'base.j2' %}",
    "{% import 'm.j2' as m %}",
    "{{ lipsum() }}",
    "{{ cycler }}",
    "{{ host.name[0:] * 3 }}",
    "{{ vars.ntp_server.nope.deeper }}",
    "{{ {}.items() }}",
    "{% raw %}",
    "{#",
    "{{ 'a' ~ }}",
    "{% set x = 1 %}{{ x.y }}",
]
BUILTIN_TASKS = (
    "send_commands",
    "send_config",
    "backup_config",
    "echo",
    "fail",
    "echo_data",
    "netmiko_send_command",
    "netmiko_send_config",
    "netmiko_save_config",
    "netmiko_multiline",
    "netmiko_commit",
    "tcp_ping",
    "write_file",
    "load_yaml",
)
# (task, args) that validate
GOOD_TASKS: list[tuple[str, dict[str, Any]]] = [
    ("echo", {}),
    ("echo", {"who": "{{ host.name }}", "n": 3, "nested": {"a": ["{{ vars.ntp_server }}"]}}),
    ("send_commands", {"commands": ["show clock", "show version"]}),
    ("send_config", {"config": ["ntp server {{ vars.ntp_server }}"]}),
    ("backup_config", {"path": "backups/{{ host.name }}.cfg"}),
    ("fail", {"message": "on purpose"}),
    ("netmiko_send_command", {"command_string": "show clock", "use_timing": True}),
    ("netmiko_save_config", {}),
    ("tcp_ping", {"ports": [22], "timeout": 1}),
    ("write_file", {"filename": SENTINEL + "/written.txt", "content": "x"}),  # never written
    ("nornir_runbook.tasks.echo:echo", {"x": 1}),
    ("fuzzplugin.tasks:hello", {"who": "{{ host.name }}"}),  # would leave CALLED behind
]
BAD_TASK_NAMES = [
    "",
    " echo",
    "ec ho",
    "Echo",
    "ehco",
    "send_command",
    "netmiko_send_comand",
    "tasks",
    "a.b:c",
    "nrbfuzz_missing.module:task",
    "fuzzplugin.tasks:nope",
    "fuzzplugin.tasks:Path",
    "fuzzplugin:hello",
    "nornir_runbook:__version__",
    "nornir_runbook.tasks.echo:",
    ":echo",
    "os.path:",
    "1abc:def",
    "a..b:c",
    "json:loads",
    "x" * 300,
]
TAGGED = [
    f"!!python/object/apply:os.mkdir ['{SENTINEL}']",
    f"!!python/object/apply:builtins.open ['{SENTINEL}', 'w']",
    f"!!python/object/apply:subprocess.call [['touch', '{SENTINEL}']]",
    f"!!python/object/new:pathlib.Path ['{SENTINEL}']",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/tuple [1, 2]",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!!timestamp 2026-11-25",
    "!!str 1",
    "!!int '12'",
    "!!int 'x'",
    "!!float 'nope'",
    "!!bool maybe",
    "!!null ''",
    "!custom thing",
    "!<tag:example.com,2026:x> y",
    "!!map {a: 1}",
    "!!seq [1]",
]
KEYS = {
    "": ("name", "description", "targets", "vars", "options", "steps"),
    "step": ("name", "commands", "config", "task", "args", "targets", "ignore_errors"),
    "targets": ("hosts", "groups", "tags", "filter"),
    "options": ("strategy", "workers", "task_timeout", "retries", "max_fail_percentage", "serial"),
}
BAD_OPTIONS: dict[str, list[Any]] = {
    "strategy": ["Linear", "lienar", "free ", "", 1, None, ["linear"], "parallel"],
    "workers": [0, -1, 1.5, "10", True, 10**40, None, [], "ten"],
    "task_timeout": [0, -1, "60", float("nan"), float("inf"), True, {}, "1e3"],
    "retries": [-1, 1.0, "1", False, 10**40],
    "max_fail_percentage": [-0.1, 100.5, "20%", float("nan"), True, 10**400 if False else 1e308],
    "serial": [
        0,
        -1,
        "0",
        "0%",
        "101%",
        "-5%",
        "1.5",
        "25 %%",
        "²",
        "\x1c1",
        "1" * 5000,
        "1e3",
        "%",
        "abc",
        2.5,
        True,
        [1],
        "١٢",
        " 12 ",
        "12.5%",
    ],
}


def near_miss(key: str) -> st.SearchStrategy[str]:
    """A typo of ``key``: a letter dropped, doubled or swapped, a case or separator change."""
    edits: list[Callable[[str, int], str]] = [
        lambda k, i: k[:i] + k[i + 1 :],
        lambda k, i: k[:i] + k[i] + k[i:],
        lambda k, i: k[:i] + k[i + 1 : i + 2] + k[i : i + 1] + k[i + 2 :],
        lambda k, i: k.upper(),
        lambda k, i: k.replace("_", "-") + ("s" if i % 2 else ""),
        lambda k, i: f" {k}",
    ]
    return st.tuples(st.sampled_from(edits), st.integers(0, max(len(key) - 1, 0))).map(
        lambda pair: pair[0](key, pair[1])
    )


# -- valid runbooks -------------------------------------------------------------------------------

TEMPLATE = st.sampled_from(GOOD_TEMPLATES)
LINES = st.one_of(TEMPLATE, st.lists(TEMPLATE, min_size=1, max_size=3))


@st.composite
def targets(draw: st.DrawFn) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if draw(st.booleans()):
        found["groups"] = draw(st.lists(st.sampled_from(GROUPS), min_size=1, max_size=2))
    if draw(st.booleans()):
        found["tags"] = draw(st.lists(st.sampled_from(TAGS), min_size=1, max_size=2))
    if draw(st.integers(0, 4)) == 0:
        found["hosts"] = draw(st.lists(st.sampled_from(HOSTS), min_size=1, max_size=3))
    if draw(st.integers(0, 4)) == 0:
        found["filter"] = draw(
            st.sampled_from([{"platform": "cisco_ios"}, {"site": "ams"}, {"port": 62201}])
        )
    return found


@st.composite
def steps(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["commands", "config", "task"]))
    step: dict[str, Any] = {}
    if draw(st.booleans()):
        step["name"] = draw(st.sampled_from(["Clock", "NTP", "Backup", "Ünïcode step 🙂"]))
    if kind == "task":
        task, args = draw(st.sampled_from(GOOD_TASKS))
        step["task"] = task
        if args or draw(st.booleans()):
            step["args"] = dict(args)
    else:
        step[kind] = draw(LINES)
    if draw(st.integers(0, 3)) == 0:
        step["targets"] = draw(targets())
    if draw(st.integers(0, 3)) == 0:
        step["ignore_errors"] = draw(st.booleans())
    return step


@st.composite
def runbooks(draw: st.DrawFn) -> dict[str, Any]:
    book: dict[str, Any] = {"name": draw(st.sampled_from(["Health check", "t", "Nachtlauf ☾"]))}
    if draw(st.booleans()):
        book["description"] = "Daily checks"
    if draw(st.integers(0, 2)) == 0:
        book["targets"] = draw(targets())
    book["vars"] = {"ntp_server": "192.0.2.1", "list": [1, 2], "map": {"a": None}}
    if draw(st.booleans()):
        book["options"] = {
            "strategy": draw(st.sampled_from(["linear", "free"])),
            "workers": draw(st.integers(1, 50)),
            "task_timeout": draw(st.sampled_from([0.5, 60, 3600])),
            "retries": draw(st.integers(0, 3)),
            "max_fail_percentage": draw(st.sampled_from([0, 20, 100, 33.3])),
            "serial": draw(st.sampled_from([1, 3, "2", "25%", " 50 % ", "100%"])),
        }
    book["steps"] = draw(st.lists(steps(), min_size=1, max_size=4))
    return book


# -- mutations ------------------------------------------------------------------------------------


def _containers(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, Any]]:
    """Every (container, key) in ``value``: the places a mutation can write to."""
    found: list[tuple[Any, Any]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in list(items):
        found.append((value, key))
        if isinstance(item, dict | list) and item:
            found.extend(_containers(item, (*path, key)))
    return found


def _step_dicts(book: dict[str, Any]) -> list[dict[str, Any]]:
    listed = book.get("steps")
    return [s for s in listed if isinstance(s, dict)] if isinstance(listed, list) else []


Book = dict[str, Any]
Step = dict[str, Any]


def _junk_value(data: st.DataObject, book: Book, step: Step) -> None:
    container, key = data.draw(st.sampled_from(_containers(book)))
    container[key] = data.draw(JUNK, label="junk")


def _odd_string(data: st.DataObject, book: Book, step: Step) -> None:
    container, key = data.draw(st.sampled_from(_containers(book)))
    container[key] = data.draw(ODD_TEXT)


def _extra_key(near: bool) -> Callable[[st.DataObject, Book, Step], None]:
    def add(data: st.DataObject, book: Book, step: Step) -> None:
        where = data.draw(st.sampled_from(["", "step", "targets", "options"]))
        target = {"": book, "step": step}.get(where)
        if target is None:
            target = book.setdefault(where, {})
            if not isinstance(target, dict):
                target, where = book, ""
        real = data.draw(st.sampled_from(KEYS[where]))
        key = data.draw(near_miss(real) if near else ODD_TEXT)
        target[key] = data.draw(st.one_of(st.just("x"), JUNK))

    return add


def _missing_key(data: st.DataObject, book: Book, step: Step) -> None:
    key = data.draw(st.sampled_from(["name", "steps", "step name", "step kind"]))
    if key in ("name", "steps"):
        book.pop(key, None)
    elif key == "step name":
        step.pop("name", None)
    else:
        for kind in ("commands", "config", "task"):
            step.pop(kind, None)


def _several_kinds(data: st.DataObject, book: Book, step: Step) -> None:
    step["commands"] = ["show clock"]
    step[data.draw(st.sampled_from(["config", "task"]))] = "echo"


def _no_kind(data: st.DataObject, book: Book, step: Step) -> None:
    book["steps"] = data.draw(
        st.sampled_from([[], [{}], [{"name": "x"}], [None], ["show clock"], {"a": 1}])
    )


BAD_TARGETS = st.one_of(
    JUNK,
    st.fixed_dictionaries(
        {},
        optional={
            "hosts": st.one_of(JUNK, st.just(["nope", "ams-core-1"])),
            "groups": st.one_of(JUNK, st.just(["cor", "AMS", "all", "ungrouped"])),
            "tags": JUNK,
            "filter": st.one_of(JUNK, st.just({"password": "x"}), st.just({"data": {"a": 1}})),
        },
    ),
)


def _bad_targets(data: st.DataObject, book: Book, step: Step) -> None:
    data.draw(st.sampled_from([book, step]))["targets"] = data.draw(BAD_TARGETS)


def _bad_option(data: st.DataObject, book: Book, step: Step) -> None:
    option = data.draw(st.sampled_from(sorted(BAD_OPTIONS)))
    options = book.setdefault("options", {})
    if not isinstance(options, dict):
        options = book["options"] = {}
    options[option] = data.draw(st.sampled_from(BAD_OPTIONS[option]))


def _bad_template(data: st.DataObject, book: Book, step: Step) -> None:
    bad = data.draw(st.sampled_from(BAD_TEMPLATES))
    kind = data.draw(st.sampled_from(["commands", "config", "args"]))
    for other in ("commands", "config", "task", "args"):
        step.pop(other, None)
    if kind == "args":
        step["task"] = "echo"
        step["args"] = {"x": bad, "y": ["ok", {"z": bad}]}
    else:
        step[kind] = ["show clock", bad]


def _bad_task(data: st.DataObject, book: Book, step: Step) -> None:
    step.pop("commands", None)
    step.pop("config", None)
    step["task"] = data.draw(
        st.one_of(st.sampled_from(BAD_TASK_NAMES), near_miss("netmiko_send_command"))
    )


ARG_NAMES = st.sampled_from(["task", "commands", "config", "path", "x", "ports", "1"])


def _bad_args(data: st.DataObject, book: Book, step: Step) -> None:
    step.pop("commands", None)
    step.pop("config", None)
    step["task"] = data.draw(st.sampled_from(BUILTIN_TASKS))
    step["args"] = data.draw(st.one_of(JUNK, st.dictionaries(ARG_NAMES, JUNK, max_size=3)))


def _deep_nesting(data: st.DataObject, book: Book, step: Step) -> None:
    depth = data.draw(st.sampled_from([5, 60, 99, 100, 101, 150]))  # deeper: see damage()
    value: Any = "{{ host.name }}"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    container, key = data.draw(st.sampled_from(_containers(book)))
    container[key] = value


def _on_the_text(data: st.DataObject, book: Book, step: Step) -> None:
    """Done by damage(), on the YAML text."""


MUTATIONS: dict[str, Callable[[st.DataObject, Book, Step], None]] = {
    "junk value": _junk_value,
    "odd string": _odd_string,
    "unknown key": _extra_key(near=False),
    "near-miss key": _extra_key(near=True),
    "missing key": _missing_key,
    "several kinds": _several_kinds,
    "no kind": _no_kind,
    "bad targets": _bad_targets,
    "bad option": _bad_option,
    "bad template": _bad_template,
    "bad task": _bad_task,
    "bad args": _bad_args,
    "deep nesting": _deep_nesting,
    "tagged value": _on_the_text,
}


def mutate(data: st.DataObject, book: Book) -> str:
    """Damage ``book`` in place, one of many ways; returns which (for the statistics)."""
    how = data.draw(st.sampled_from(sorted(MUTATIONS)), label="mutation")
    steps_ = _step_dicts(book)
    step = data.draw(st.sampled_from(steps_)) if steps_ else book
    MUTATIONS[how](data, book, step)
    return how


def damage(data: st.DataObject, text: str, how: str) -> str:
    """Text-level damage that ``yaml.safe_dump`` cannot produce."""
    lines = text.splitlines()
    kinds = ["tag"] if how == "tagged value" else []
    kinds += data.draw(
        st.lists(
            st.sampled_from(
                ["bom", "tab", "duplicate line", "second document", "alias", "ctrl", "deep"]
            ),
            max_size=2,
        )
    )
    for kind in kinds:
        i = data.draw(st.integers(0, max(len(lines) - 1, 0)))
        if not lines:
            lines = [""]
        if kind == "tag":
            head, sep, _ = lines[i].partition(": ")
            tag = data.draw(st.sampled_from(TAGGED))
            lines[i] = f"{head}: {tag}" if sep else f"{lines[i]} {tag}"
        elif kind == "bom":
            lines[0] = "\ufeff" + lines[0]
        elif kind == "tab":
            lines[i] = "\t" + lines[i].lstrip(" ")
        elif kind == "duplicate line":
            lines.insert(i, lines[i])
        elif kind == "second document":
            lines += ["---", "name: again", "steps: [{commands: x}]"]
        elif kind == "alias":
            head, sep, _ = lines[i].partition(": ")
            anchor = data.draw(st.sampled_from(["*common", "*nowhere", "&common x", "*self"]))
            lines.insert(0, "x-common: &common {commands: [show clock]}")
            lines.insert(0, "recursive: &self [*self]")
            lines[min(i + 2, len(lines) - 1)] = f"{head}: {anchor}" if sep else lines[i]
        elif kind == "deep":  # deeper than yaml.safe_dump (or the loader) can recurse
            head, sep, _ = lines[i].partition(": ")
            depth = data.draw(st.sampled_from([300, 2000, 50000]))
            nested = "[" * depth + "]" * depth
            lines[i] = f"{head}: {nested}" if sep else f"{lines[i]}{nested}"
        elif kind == "ctrl":
            char = data.draw(st.sampled_from(["\x00", "\x07", "\x1b", "\x7f", "\ufffe", "\x85"]))
            cut = data.draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:cut] + char + lines[i][cut:]
    return "\n".join(lines) + "\n"


@st.composite
def structured(draw: st.DrawFn) -> str:
    """A valid runbook, mutated (or not, one time in ten), as YAML text."""
    data = draw(st.data())
    book = copy.deepcopy(draw(runbooks()))
    hows = []
    for _ in range(draw(st.integers(0, 3))):
        hows.append(mutate(data, book))
        book = copy.deepcopy(book)  # the next mutation must not write into a shared constant
    style = draw(st.sampled_from([False, None, True]))
    text = yaml.safe_dump(
        book,
        sort_keys=False,
        allow_unicode=draw(st.booleans()),
        default_flow_style=style,
        width=draw(st.sampled_from([80, 30, 10**6])),
    )
    if hows or draw(st.booleans()):
        text = damage(data, text, hows[-1] if hows else "")
    return text


# -- unstructured input ---------------------------------------------------------------------------

YAML_TOKENS = [
    "name:",
    "steps:",
    "- ",
    "commands:",
    "config:",
    "task:",
    "args:",
    "targets:",
    "options:",
    "serial:",
    "vars:",
    "echo",
    "show clock",
    "&a ",
    "*a",
    "<<: ",
    "? ",
    ": ",
    "{",
    "}",
    "[",
    "]",
    ", ",
    "|",
    ">-",
    "\n",
    "\n  ",
    "\n    ",
    "\t",
    "\ufeff",
    "%YAML 1.2\n",
    "%TAG ! tag:x,2026:\n",
    "---\n",
    "...\n",
    "# c",
    "'",
    '"',
    "\\",
    "{{ host.name }}",
    "{%",
    "\x00",
    "\x85",
    "\u2028",
    "yes",
    "~",
    "2026-11-25",
    "0x1F",
    ".nan",
    "-.inf",
    "1e999",
    "@",
    "`",
    *TAGGED,
]
UNSTRUCTURED_TEXT = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(YAML_TOKENS), max_size=40).map("".join),
    st.lists(st.one_of(st.sampled_from(YAML_TOKENS), st.text(max_size=5)), max_size=30).map(
        "".join
    ),
)
UNSTRUCTURED = st.one_of(
    UNSTRUCTURED_TEXT,
    st.binary(max_size=200),
    UNSTRUCTURED_TEXT.map(lambda t: t.encode("utf-16")),
    st.just("name: t\nsteps: [{commands: ç}]\n".encode("latin-1")),
)


# -- the property ---------------------------------------------------------------------------------


def _write(folder: Path, content: str | bytes) -> Path:
    sentinel = folder / "SENTINEL"
    path = folder / RUNBOOK
    if isinstance(content, str):
        try:
            path.write_text(content.replace(SENTINEL, str(sentinel)), encoding="utf-8")
        except UnicodeEncodeError:  # lone surrogates from st.text(): the bytes nrb would read
            path.write_bytes(content.encode("utf-8", errors="surrogatepass"))
    else:
        path.write_bytes(content.replace(SENTINEL.encode(), str(sentinel).encode()))
    return sentinel


def check_runbook_file(content: str | bytes, prop: str) -> None:
    with tempfile.TemporaryDirectory(prefix="nrb-fuzz-") as tmp:
        folder = Path(tmp)
        write_project(folder)
        called = write_plugin(folder)
        sentinel = _write(folder, content)
        checked = call(["validate", RUNBOOK], cwd=folder)
        ran = call(["run", RUNBOOK, "--dry-run", "-o", "json"], cwd=folder)
        assert not sentinel.exists(), "a YAML tag or a task ran during validate or a dry run"
        assert not called.exists(), "a dry run called a task"
    count(prop, f"validate {code(checked)}, run {code(ran)}")
    assert_no_bug(checked, allowed=(0, 5))
    assert_no_bug(ran, allowed=(0, 3, 5))
    if checked.code == 0:  # then a line per module:function task's module
        assert checked.out.startswith(f"ok: {RUNBOOK}\n"), checked
        assert all(line.startswith("  imports module ") for line in checked.out.splitlines()[1:]), (
            checked
        )
    else:
        _assert_says_where(checked)
        assert ran.code == 5, f"validate rejected the runbook, run did not\n{checked}\n{ran}"
    if ran.code == 5:
        _assert_says_where(ran)
    else:
        _assert_dry_run_report(ran)


def _assert_says_where(outcome: Outcome) -> None:
    assert RUNBOOK in outcome.err, outcome
    unreadable = ("not UTF-8", "cannot read")
    assert located(outcome, RUNBOOK) or any(u in outcome.err for u in unreadable), outcome


def _assert_dry_run_report(outcome: Outcome) -> None:
    report = json.loads(outcome.out)
    assert report["summary"]["hosts"] == len(report["hosts"]), outcome
    assert set(report["hosts"]) <= set(HOSTS), outcome
    assert all(h["status"] == "ok" for h in report["hosts"].values()), outcome
    assert (outcome.code == 3) == (not report["hosts"]), outcome


@fuzz_settings(300)
@given(text=structured())
def test_structured_runbooks_are_input_errors_or_run(text: str) -> None:
    check_runbook_file(text, "runbooks: structured")


@fuzz_settings(300)
@given(content=UNSTRUCTURED)
def test_unstructured_runbooks_are_input_errors(content: str | bytes) -> None:
    check_runbook_file(content, "runbooks: unstructured")
