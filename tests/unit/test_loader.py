"""Loading runbooks: every problem at once, each located; then the check of their meaning."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nornir.core.task import Result, Task

from nornir_runbook.errors import Problem, RunbookError, ShapeError
from nornir_runbook.project.targets import Targets
from nornir_runbook.runbook.checks import check_runbook
from nornir_runbook.runbook.loader import load_runbook, parse_runbook
from nornir_runbook.runbook.model import (
    Location,
    Options,
    Runbook,
    Serial,
    Step,
    StepKind,
    Strategy,
)
from nornir_runbook.runbook.registry import TaskRegistry, default_registry

DATA = Path(__file__).parent / "data"

Found = tuple[int | None, int | None, str | None, str]


def parse(text: str) -> Runbook:
    return parse_runbook(textwrap.dedent(text).lstrip("\n"), file="rb.yaml")


def problems(text: str) -> list[Found]:
    """(line, column, yaml path, message) of every problem loading ``text``."""
    with pytest.raises(RunbookError) as info:
        parse(text)
    return [(p.line, p.column, p.path, p.message) for p in info.value.problems]


def one_problem(text: str) -> Found:
    [found] = problems(text)
    return found


def minimal(**extra: str) -> str:
    """A valid runbook with ``extra`` top-level lines appended."""
    lines = ["name: t", "steps:", "  - commands: [show clock]"]
    return "\n".join(lines + list(extra.values())) + "\n"


# the good case -------------------------------------------------------------------------------


def test_spec_example_loads(tmp_path: Path) -> None:
    runbook = load_runbook(DATA / "health.yaml")
    assert runbook.name == "Health check"
    assert runbook.description == "Daily checks"
    assert runbook.targets == Targets(groups=("core",), tags=("prod",))
    assert runbook.vars == {"ntp_server": "192.0.2.1"}
    assert runbook.options == Options(
        strategy=Strategy.LINEAR,
        workers=50,
        task_timeout=60.0,
        retries=1,
        max_fail_percentage=20.0,
        serial=Serial(percent=25.0),
    )
    assert runbook.path == DATA / "health.yaml"
    file = str(DATA / "health.yaml")
    assert runbook.steps == (
        Step(
            name="Clock and version",
            kind=StepKind.COMMANDS,
            commands=("show clock", "show version"),
            location=Location(file=file, line=7, column=5),
            yaml_path="steps[0]",
        ),
        Step(
            name="Routing on core only",
            kind=StepKind.COMMANDS,
            commands=("show ip route summary",),
            targets=Targets(groups=("core",)),
            location=Location(file=file, line=9, column=5),
            yaml_path="steps[1]",
        ),
        Step(
            name="NTP",
            kind=StepKind.CONFIG,
            config=("ntp server {{ vars.ntp_server }}",),
            location=Location(file=file, line=12, column=5),
            yaml_path="steps[2]",
        ),
        Step(
            name="Backup",
            kind=StepKind.TASK,
            task="backup_config",
            args={"path": "backups/{{ host.name }}.cfg"},
            ignore_errors=True,
            location=Location(file=file, line=14, column=5),
            yaml_path="steps[3]",
        ),
    )


def test_locations_are_recorded_for_every_value_and_key() -> None:
    runbook = load_runbook(DATA / "health.yaml")
    file = str(DATA / "health.yaml")
    where = runbook.locations["steps[3].args.path"]
    assert (where.file, where.line, where.column) == (file, 16, 18)
    assert where.source_line == '    args: {path: "backups/{{ host.name }}.cfg"}'
    key = runbook.locations["steps[3].args.path:key"]
    assert (key.line, key.column) == (16, 12)
    assert runbook.steps[3].locations["steps[3].args.path"] == where
    assert runbook.locations["options.serial"].line == 5


def test_a_runbook_pickles_with_its_locations() -> None:
    """The process executor sends steps to other processes."""
    runbook = load_runbook(DATA / "health.yaml")
    copy = pickle.loads(pickle.dumps(runbook))
    assert copy == runbook
    assert copy.locations == runbook.locations
    assert copy.steps[3].locations["steps[3].args.path"].source_line == (
        '    args: {path: "backups/{{ host.name }}.cfg"}'
    )


def test_single_strings_and_defaults() -> None:
    runbook = parse("""
        name: t
        targets: {hosts: r1, groups: core, filter: {platform: cisco_ios}}
        steps:
          - commands: show clock
          - config: |
              interface Gi0/1
               description x
          - task: echo
          - commands: [show a, show b]
            targets: {tags: [prod, lab]}
    """)
    assert runbook.targets == Targets(
        hosts=("r1",), groups=("core",), filter={"platform": "cisco_ios"}
    )
    assert runbook.description == ""
    assert runbook.vars == {}
    assert runbook.options == Options()
    assert [s.name for s in runbook.steps] == [
        "show clock",
        "config: interface Gi0/1 description x",
        "echo",
        "show a, show b",
    ]
    assert runbook.steps[0].commands == ("show clock",)
    assert runbook.steps[1].config == ("interface Gi0/1\n description x\n",)
    assert runbook.steps[2].args == {}
    assert runbook.steps[3].targets == Targets(tags=("prod", "lab"))
    assert runbook.steps[0].targets is None
    # a single string is also item 0, where templates and problems point
    assert runbook.locations["steps[0].commands[0]"] == runbook.locations["steps[0].commands"]


def test_long_default_names_are_cut() -> None:
    runbook = parse(minimal(a="  - commands: [" + ", ".join(["show x"] * 20) + "]"))
    assert runbook.steps[1].name == ", ".join(["show x"] * 9)[:59] + "…"


def test_options_accept_every_form() -> None:
    runbook = parse(
        minimal(
            o="options: {strategy: free, workers: 1, task_timeout: 0.5, retries: 0, "
            "max_fail_percentage: 0, serial: '5'}"
        )
    )
    assert runbook.options == Options(
        strategy=Strategy.FREE,
        workers=1,
        task_timeout=0.5,
        retries=0,
        max_fail_percentage=0.0,
        serial=Serial(count=5),
    )
    assert parse(minimal(o="options: {serial: 3}")).options.serial == Serial(count=3)
    assert parse(minimal(o="options: {serial: ' 12.5 %'}")).options.serial == Serial(percent=12.5)
    assert parse(minimal(o="options: {workers: ~, retries: null}")).options == Options()


def test_options_take_the_runner_options_that_say_how_a_run_goes() -> None:
    runbook = parse(
        minimal(
            o="options: {retry_backoff: 0, connect_limit: 2, group_limits: {core: 1}, "
            "grace_period: 30}"
        )
    )
    assert runbook.options == Options(
        retry_backoff=0.0, connect_limit=2, group_limits={"core": 1}, grace_period=30.0
    )
    found = problems("name: t\noptions: {executor: process}\nsteps: [{task: echo}]\n")
    assert [(path, message.split(" (")[0]) for _, _, path, message in found] == [
        ("options.executor", "unknown key 'executor'")
    ]


def test_a_bad_group_limit_is_shown_at_its_group() -> None:
    assert one_problem(minimal(o="options: {group_limits: {core: 2, edge: 0}}")) == (
        4,
        41,
        "options.group_limits.edge",
        "expected an integer of 1 or more, got 0",
    )


def test_group_limits_name_groups_of_the_inventory() -> None:
    runbook = parse(minimal(o="options: {group_limits: {core: 1, edeg: 2}}"))
    found = check_runbook(runbook, default_registry(None), groups=["core", "edge"], hosts=[])
    assert [(p.path, p.message) for p in found] == [
        ("options.group_limits.edeg", "unknown group 'edeg' (did you mean 'edge'?)")
    ]


def test_plain_yaml_extras_work_anchors_merges_dates() -> None:
    runbook = parse("""
        name: t
        vars:
          common: &common {path: x, mode: a}
          day: 2026-11-25
          list: &l [1, 2]
        steps:
          - task: echo
            args:
              <<: *common
              mode: b
              again: *l
    """)
    assert runbook.vars == {
        "common": {"path": "x", "mode": "a"},
        "day": "2026-11-25",
        "list": [1, 2],
    }
    assert runbook.steps[0].args == {"mode": "b", "again": [1, 2], "path": "x"}
    # a merged value is located where it was written
    assert runbook.locations["steps[0].args.path"].line == 3
    assert runbook.locations["steps[0].args.mode"].line == 10


def test_merge_of_a_list_first_mapping_wins() -> None:
    runbook = parse("""
        name: t
        vars:
          a: &a {x: 1}
          b: &b {x: 2, y: 2}
          c: {<<: [*a, *b]}
        steps: [{commands: [x]}]
    """)
    assert runbook.vars["c"] == {"x": 1, "y": 2}


# reading the file ----------------------------------------------------------------------------


def test_missing_file() -> None:
    with pytest.raises(RunbookError) as info:
        load_runbook(Path("/nonexistent/rb.yaml"))
    assert str(info.value) == "/nonexistent/rb.yaml: cannot read: No such file or directory"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "rb.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(RunbookError) as info:
        load_runbook(path)
    [problem] = info.value.problems
    assert problem.file == str(path)
    assert problem.message.startswith("not UTF-8 text: 'utf-8' codec can't decode byte 0xe9")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
def test_empty_file(text: str) -> None:
    assert problems(text) == [
        (1, 1, None, "empty runbook: expected a mapping with 'name' and 'steps'")
    ]


@pytest.mark.parametrize(
    ("text", "got"),
    [("- a\n- b\n", "a list"), ("just text\n", "'just text'"), ("42\n", "42")],
)
def test_document_not_a_mapping(text: str, got: str) -> None:
    assert problems(text) == [
        (1, 1, None, f"expected a mapping with 'name' and 'steps', got {got}")
    ]


def test_yaml_syntax_error_is_located() -> None:
    text = "name: t\nsteps: [a, b\nc: d\n"
    with pytest.raises(RunbookError) as info:
        parse_runbook(text, file="rb.yaml")
    [problem] = info.value.problems
    assert (problem.line, problem.column, problem.path) == (3, 2, None)
    assert problem.message == (
        "invalid YAML: expected ',' or ']', but got ':' (while parsing a flow sequence at line 2)"
    )
    assert str(problem) == (
        "rb.yaml:3:2: invalid YAML: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence at line 2)\n    c: d\n     ^"
    )


def test_tab_indentation_and_two_documents_are_located() -> None:
    assert problems("name: t\n\tsteps: []\n")[0][:2] == (2, 1)
    [(line, column, path, message)] = problems("name: t\n---\nname: u\n")
    assert (line, column, path) == (2, 1, None)
    assert message.startswith("invalid YAML: but found another document")


# tags: refused, never constructed ------------------------------------------------------------


def test_python_tags_are_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = textwrap.dedent(f"""\
        name: t
        vars:
          a: !!python/object/apply:os.system ["touch {marker}"]
          b: !!python/name:os.system
          c: !!python/object:pathlib.Path {{}}
        steps: [{{commands: [x]}}]
    """)
    with pytest.raises(RunbookError) as info:
        parse_runbook(text, file="rb.yaml")
    assert not marker.exists()
    tail = (
        "is not allowed: a runbook holds only strings, numbers, booleans, null, lists and mappings"
    )
    assert [(p.line, p.column, p.path, p.message) for p in info.value.problems] == [
        (3, 6, "vars.a", f"YAML tag '!!python/object/apply:os.system' {tail}"),
        (4, 6, "vars.b", f"YAML tag '!!python/name:os.system' {tail}"),
        (5, 6, "vars.c", f"YAML tag '!!python/object:pathlib.Path' {tail}"),
    ]


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("!custom x", "!custom"),
        ("!!binary aGk=", "!!binary"),
        ("!!set {a: null}", "!!set"),
        ("!!omap [a: 1]", "!!omap"),
    ],
)
def test_other_tags_are_refused(value: str, tag: str) -> None:
    line, column, path, message = one_problem(minimal(v=f"vars: {{a: {value}}}"))
    assert (line, column, path) == (4, 11, "vars.a")
    assert message.startswith(f"YAML tag '{tag}' is not allowed")


def test_explicit_core_tags_are_fine_and_bad_values_located() -> None:
    runbook = parse(minimal(v="vars: {a: !!str 12, b: !!int '7', c: !!float 1}"))
    assert runbook.vars == {"a": "12", "b": 7, "c": 1.0}
    assert one_problem(minimal(v="vars: {a: !!int nope}")) == (
        4,
        11,
        "vars.a",
        "invalid !!int value 'nope'",
    )


def test_a_bad_tag_on_a_schema_key_is_reported_once() -> None:
    assert problems("name: !!python/name:os.system\nsteps: [{commands: [x]}]\n") == [
        (
            1,
            7,
            "name",
            "YAML tag '!!python/name:os.system' is not allowed: a runbook holds only strings, "
            "numbers, booleans, null, lists and mappings",
        )
    ]


# duplicates, anchors, aliases ----------------------------------------------------------------


def test_duplicate_keys_are_located_at_the_second() -> None:
    assert problems("""
        name: t
        steps:
          - commands: [a]
            name: x
            name: y
        name: u
    """) == [
        (5, 5, "steps[0].name", "duplicate key 'name' (first at line 4)"),
        (6, 1, "name", "duplicate key 'name' (first at line 1)"),
    ]


def test_an_anchor_defined_twice_is_an_error() -> None:
    assert problems("""
        name: t
        vars: {a: &x 1, b: &x 2, c: *x}
        steps: [{commands: [x]}]
    """) == [(2, 20, "vars.b", "anchor '&x' defined again (first at line 2)")]


def test_recursive_alias_is_an_error_not_a_hang() -> None:
    assert problems("""
        name: t
        vars: &v {self: *v}
        steps: [{commands: [x]}]
    """) == [(2, 7, "vars.self", "recursive alias: this value contains itself")]


def test_recursive_merge_is_an_error_not_a_hang() -> None:
    assert one_problem("""
        name: t
        vars: &v {a: 1, <<: *v}
        steps: [{commands: [x]}]
    """) == (
        2,
        7,
        "vars",
        "'<<' merges a mapping or a list of mappings (and not one that holds it)",
    )


def test_alias_bomb_stops() -> None:
    lines = ["name: t", "vars:", "  a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    lines.append("steps: [{commands: [x]}]")
    assert problems("\n".join(lines)) == [
        (1, 1, None, "more than 100000 values: is an alias used in a loop?")
    ]


def test_keys_must_be_plain() -> None:
    assert problems(minimal(v="vars: {[a, b]: 1}")) == [
        (4, 8, "vars", "a key must be a plain string or number")
    ]
    # reported once: not also as an unknown key
    assert problems(minimal(v="? [a]\n: b")) == [
        (4, 3, None, "a key must be a plain string or number")
    ]


def test_control_characters_are_located() -> None:
    assert problems("name: t\nsteps: [a\x00]\n") == [
        (2, 10, None, "invalid YAML: character #x0000 is not allowed")
    ]


# keys and shapes -----------------------------------------------------------------------------


def test_unknown_keys_with_and_without_suggestions() -> None:
    assert problems("""
        name: t
        step: []
        targets: {grups: [a], region: [b]}
        options: {worker: 3}
        steps:
          - comands: [show clock]
            commands: [show clock]
            ignore_error: true
            zzz: 1
    """) == [
        (2, 1, "step", "unknown key 'step' (did you mean 'steps'?)"),
        (3, 11, "targets.grups", "unknown key 'grups' (did you mean 'groups'?)"),
        (3, 23, "targets.region", "unknown key 'region' (expected hosts, groups, tags, filter)"),
        (4, 11, "options.worker", "unknown key 'worker' (did you mean 'workers'?)"),
        (6, 5, "steps[0].comands", "unknown key 'comands' (did you mean 'commands'?)"),
        (
            8,
            5,
            "steps[0].ignore_error",
            "unknown key 'ignore_error' (did you mean 'ignore_errors'?)",
        ),
        (
            9,
            5,
            "steps[0].zzz",
            "unknown key 'zzz' (expected name, commands, config, parents, task, args, targets, "
            "ignore_errors, when, register, assert, fail_msg, parse, parse_template)",
        ),
    ]


def test_ansible_top_level_keys_suggest_their_counterparts() -> None:
    # was: "hosts" suggested 'steps', a close spelling but not what an Ansible user means
    assert problems("""
        name: t
        hosts: core
        tasks: []
        steps:
          - commands: [show clock]
            hosts: [r1]
    """) == [
        (2, 1, "hosts", "unknown key 'hosts' (did you mean 'targets'?)"),
        (3, 1, "tasks", "unknown key 'tasks' (did you mean 'steps'?)"),
        (
            6,
            5,
            "steps[0].hosts",
            "unknown key 'hosts' (expected name, commands, config, parents, task, args, targets, "
            "ignore_errors, when, register, assert, fail_msg, parse, parse_template)",
        ),
    ]


def test_a_shape_error_keeps_the_steps_whose_shape_is_fine() -> None:
    text = textwrap.dedent("""\
        name: t
        vars: [not, a, mapping]
        steps:
          - commandz: [show clock]
          - task: echo_dat
          - commands: ["{{ vars.x }}"]
            ignore_errors: maybe
          - commands: ["{{ host.nmae }}"]
          - commands: [show clock]
          - commands: [show clock]
          - commands: [show clock]
          - commands: [show clock]
          - commands: [show clock]
          - commands: [show clock]
          - commands: [show clock]
            targets: {groups: 3}
    """)
    with pytest.raises(ShapeError) as info:
        parse_runbook(text, file="rb.yaml")
    kept = info.value.partial.steps
    # steps[2] and steps[10] have problems; steps[1] is not spared by steps[10]'s
    assert [step.yaml_path for step in kept] == [f"steps[{i}]" for i in (1, 3, 4, 5, 6, 7, 8, 9)]
    assert info.value.vars_known is False
    found = check_runbook(info.value.partial, default_registry(), vars_known=False)
    assert [(p.line, p.path) for p in found] == [(5, "steps[1].task"), (8, "steps[3].commands[0]")]


def test_required_keys() -> None:
    assert problems("description: x\n") == [
        (1, 1, None, "missing required key 'name'"),
        (1, 1, None, "missing required key 'steps'"),
    ]


@pytest.mark.parametrize(
    ("steps", "got"),
    [("[]", "a list"), ("~", "null"), ("{commands: [a]}", "a mapping"), ("x", "'x'")],
)
def test_steps_must_be_a_non_empty_list(steps: str, got: str) -> None:
    assert one_problem(f"name: t\nsteps: {steps}\n") == (
        2,
        8,
        "steps",
        f"expected a non-empty list of steps, got {got}",
    )


def test_exactly_one_kind_per_step() -> None:
    assert problems("""
        name: t
        steps:
          - name: nothing
          - commands: [a]
            task: echo
          - show clock
    """) == [
        (
            3,
            5,
            "steps[0]",
            "expected exactly one of 'commands', 'config' or 'task' (or 'assert' alone), got none",
        ),
        (
            4,
            5,
            "steps[1]",
            "expected exactly one of 'commands', 'config' or 'task' (or 'assert' alone), "
            "got 'commands' and 'task'",
        ),
        (
            6,
            5,
            "steps[2]",
            "expected a step (a mapping with commands, config or task), got 'show clock'",
        ),
    ]


def test_args_only_with_task() -> None:
    assert one_problem("""
        name: t
        steps:
          - commands: [a]
            args: {x: 1}
    """) == (4, 5, "steps[0].args", "'args' is only allowed with 'task'")


@pytest.mark.parametrize(
    ("name", "got"),
    [
        ("''", "an empty string"),
        ("'  '", "an empty string"),
        ("3", "3"),
        ("[a]", "a list"),
        ("~", "null"),
        ("true", "true"),
        ("{a: 1}", "a mapping"),
    ],
)
def test_name_is_a_non_empty_string(name: str, got: str) -> None:
    assert one_problem(f"name: {name}\nsteps: [{{commands: [a]}}]\n") == (
        1,
        7,
        "name",
        f"expected a non-empty string, got {got}",
    )


@pytest.mark.parametrize(
    ("written", "name"),
    [
        (r'"\e]0;owned\a"', "\x1b]0;owned\x07"),  # sets the terminal's window title
        (r'"ok\rfailed"', "ok\rfailed"),  # a carriage return rewrites the line
        (r'"a\x9bb"', "a\x9bb"),  # C1 CSI
        (r'"two\nlines"', "two\nlines"),
        ("'tab\there'", "tab\there"),
    ],
)
def test_names_with_control_characters_are_located_errors(written: str, name: str) -> None:
    expected = f"expected a name without control characters, got {name!r}"
    assert one_problem(f"name: {written}\nsteps: [{{commands: [a]}}]\n") == (1, 7, "name", expected)
    step = f"name: t\nsteps:\n  - commands: [a]\n    name: {written}\n"
    assert one_problem(step) == (4, 11, "steps[0].name", expected)


def test_commands_and_config_types() -> None:
    assert problems("""
        name: t
        steps:
          - commands: []
          - config: [ok, 3, '', {a: b}]
          - commands: {cisco_ios: 3}
          - commands: ~
          - name: 7
            commands: [a]
    """) == [
        (
            3,
            15,
            "steps[0].commands",
            "expected a non-empty list of strings or a string, got a list",
        ),
        (4, 18, "steps[1].config[1]", "expected a non-empty string, got 3"),
        (4, 21, "steps[1].config[2]", "expected a non-empty string, got an empty string"),
        (4, 25, "steps[1].config[3]", "expected a non-empty string, got a mapping"),
        (
            5,
            27,
            "steps[2].commands.cisco_ios",
            "expected a non-empty list of strings or a string, got 3",
        ),
        (6, 15, "steps[3].commands", "expected a non-empty list of strings or a string, got null"),
        (7, 11, "steps[4].name", "expected a non-empty string, got 7"),
    ]


def test_task_names() -> None:
    runbook = parse("name: t\nsteps: [{task: my_pkg.tasks:check_vlans}, {task: netmiko_commit}]\n")
    assert [s.task for s in runbook.steps] == ["my_pkg.tasks:check_vlans", "netmiko_commit"]
    assert problems("""
        name: t
        steps:
          - task: "a:b:c"
          - task: "two words"
          - task: ""
          - task: [echo]
    """) == [
        (3, 11, "steps[0].task", "expected a task name or 'package.module:function', got 'a:b:c'"),
        (4, 11, "steps[1].task", "expected a task name without spaces, got 'two words'"),
        (5, 11, "steps[2].task", "expected a non-empty string, got an empty string"),
        (6, 11, "steps[3].task", "expected a non-empty string, got a list"),
    ]


def test_targets_vars_args_types() -> None:
    assert problems("""
        name: t
        targets: [core]
        vars: [a]
        steps:
          - task: echo
            args: [x]
            targets: {hosts: [r1, 2], filter: [x], tags: {a: 1}}
          - task: echo
            args: {1: x}
            ignore_errors: yes
    """) == [
        (2, 10, "targets", "expected a mapping with hosts, groups, tags, filter, got a list"),
        (3, 7, "vars", "expected a mapping, got a list"),
        (6, 11, "steps[0].args", "expected a mapping, got a list"),
        (7, 27, "steps[0].targets.hosts[1]", "expected a non-empty string, got 2"),
        (7, 39, "steps[0].targets.filter", "expected a mapping, got a list"),
        (7, 50, "steps[0].targets.tags", "expected a list of strings or a string, got a mapping"),
        (9, 12, "steps[1].args[1]", "expected a string key, got 1"),
        (10, 20, "steps[1].ignore_errors", "expected true or false, got 'yes'"),
    ]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("strategy: lineer", "expected 'linear' or 'free', got 'lineer' (did you mean 'linear'?)"),
        ("strategy: 3", "expected 'linear' or 'free', got 3"),
        ("workers: 0", "expected an integer of 1 or more, got 0"),
        ("workers: true", "expected an integer of 1 or more, got true"),
        ("workers: 2.5", "expected an integer of 1 or more, got 2.5"),
        ("task_timeout: 0", "expected a number of seconds greater than 0, got 0"),
        ("task_timeout: .inf", "expected a number of seconds greater than 0, got inf"),
        ("task_timeout: '10'", "expected a number of seconds greater than 0, got '10'"),
        ("retries: -1", "expected an integer of 0 or more, got -1"),
        ("max_fail_percentage: 101", "expected a number from 0 to 100, got 101"),
        ("max_fail_percentage: -0.5", "expected a number from 0 to 100, got -0.5"),
        (
            "serial: 0",
            _serial := "expected a number of hosts of 1 or more, or a percentage "
            "such as '25%', got 0",
        ),
        ("serial: '0%'", _serial.replace("got 0", "got '0%'")),
        ("serial: '101%'", _serial.replace("got 0", "got '101%'")),
        ("serial: 'half'", _serial.replace("got 0", "got 'half'")),
        ("serial: true", _serial.replace("got 0", "got true")),
        ("retry_backoff: -1", "expected a number of seconds of 0 or more, got -1"),
        ("grace_period: .nan", "expected a number of seconds of 0 or more, got nan"),
        ("connect_limit: 0", "expected an integer of 1 or more, got 0"),
        (
            "group_limits: [core]",
            "expected a mapping of group names to integers of 1 or more, got a list",
        ),
    ],
)
def test_bad_options(option: str, message: str) -> None:
    key = option.split(":", maxsplit=1)[0]
    assert one_problem(minimal(o=f"options: {{{option}}}")) == (
        4,
        13 + len(key),
        f"options.{key}",
        message,
    )


def test_every_problem_at_once_in_file_order() -> None:
    found = problems("""
        name: ""
        options: {workers: 0}
        steps:
          - comands: [a]
          - task: echo
            ignore_errors: 1
    """)
    assert [(line, path) for line, _, path, _ in found] == [
        (1, "name"),
        (2, "options.workers"),
        (4, "steps[0].comands"),
        (4, "steps[0]"),
        (6, "steps[1].ignore_errors"),
    ]


def test_problem_text_has_the_caret() -> None:
    with pytest.raises(RunbookError) as info:
        parse_runbook("name: t\nsteps:\n  - comands: [a]\n    commands: [a]\n", file="site.yaml")
    assert str(info.value) == (
        "site.yaml:3:5 steps[0].comands: unknown key 'comands' (did you mean 'commands'?)\n"
        "      - comands: [a]\n"
        "        ^"
    )


# phase 2: check_runbook ----------------------------------------------------------------------


def show_clock(task: Task, detail: bool = False) -> Result:
    return Result(host=task.host, result=detail)


def set_ntp(task: Task, server: str, prefer: bool = False) -> Result:
    return Result(host=task.host, result=server)


@pytest.fixture
def registry() -> TaskRegistry:
    registry = TaskRegistry()
    registry.register("show_clock", show_clock, "test")
    registry.register("set_ntp", set_ntp, "test")
    return registry


def checked(text: str, registry: TaskRegistry, **inventory: Any) -> list[Found]:
    runbook = parse(text)
    return [
        (p.line, p.column, p.path, p.message) for p in check_runbook(runbook, registry, **inventory)
    ]


def test_a_good_runbook_has_no_problems(registry: TaskRegistry) -> None:
    assert (
        checked(
            """
        name: t
        vars: {ntp: 192.0.2.1}
        targets: {groups: [core], hosts: [r1]}
        steps:
          - task: show_clock
          - task: set_ntp
            args: {server: "{{ vars.ntp }}", prefer: true}
            targets: {groups: edge}
          - commands: ["show {{ host.name }}"]
    """,
            registry,
            groups=["core", "edge"],
            hosts=["r1", "r2"],
        )
        == []
    )


def test_the_spec_example_checks_clean_with_the_default_registry() -> None:
    runbook = load_runbook(DATA / "health.yaml")
    assert check_runbook(runbook, default_registry(), groups=["core"], hosts=[]) == []


def test_unknown_task_with_suggestion(registry: TaskRegistry) -> None:
    runbook = parse_runbook("name: t\nsteps:\n  - task: sho_clock\n", file="site.yaml")
    [problem] = check_runbook(runbook, registry)
    assert str(problem) == (
        "site.yaml:3:11 steps[0].task: unknown task 'sho_clock' (did you mean 'show_clock'?)\n"
        "      - task: sho_clock\n"
        "              ^"
    )


def test_args_are_bound_to_the_signature(registry: TaskRegistry) -> None:
    assert checked(
        """
        name: t
        steps:
          - task: set_ntp
            args: {servr: x}
          - task: set_ntp
          - task: set_ntp
            args: {server: x, colour: red}
          - task: show_clock
            args: {task: x}
    """,
        registry,
    ) == [
        (4, 12, "steps[0].args.servr", "unexpected argument 'servr' (did you mean 'server'?)"),
        (5, 11, "steps[1].task", "missing required argument 'server'"),
        (
            7,
            23,
            "steps[2].args.colour",
            "unexpected argument 'colour' (set_ntp takes: server, prefer)",
        ),
        (9, 12, "steps[3].args.task", "'task' is the Nornir task itself, not an argument"),
    ]


def test_templates_are_checked_with_the_runbook_vars(registry: TaskRegistry) -> None:
    assert checked(
        """
        name: t
        vars: {ntp_server: x}
        steps:
          - config: ["ntp server {{ vars.ntp_sever }}"]
          - task: set_ntp
            args:
              server: "{{ host.name "
    """,
        registry,
    ) == [
        (
            4,
            14,
            "steps[0].config[0]",
            "undefined variable 'vars.ntp_sever' (did you mean 'vars.ntp_server'?)",
        ),
        (
            7,
            15,
            "steps[1].args.server",
            "template syntax error: unexpected end of template, expected 'end of print statement'.",
        ),
    ]


def test_groups_and_hosts_must_exist(registry: TaskRegistry) -> None:
    text = """
        name: t
        targets: {groups: [cor, edge], hosts: r9}
        steps:
          - commands: [a]
            targets: {hosts: [r1, r2x]}
    """
    assert checked(text, registry, groups=["core", "edge"], hosts=["r1", "r2"]) == [
        (2, 20, "targets.groups[0]", "unknown group 'cor' (did you mean 'core'?)"),
        (2, 39, "targets.hosts[0]", "unknown host 'r9'"),
        (5, 27, "steps[0].targets.hosts[1]", "unknown host 'r2x' (did you mean 'r2'?)"),
    ]
    assert checked(text, registry) == []  # no inventory given: not checked


def test_module_function_from_the_project_folder(tmp_path: Path) -> None:
    package = tmp_path / "rb_loader_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "checks.py").write_text("def vlan_check(task, vlans):\n    return vlans\n")
    registry = TaskRegistry(project_dir=tmp_path)
    assert checked(
        """
        name: t
        steps:
          - task: rb_loader_pkg.checks:vlan_check
            args: {vlans: [1]}
          - task: rb_loader_pkg.checks:vlan_chek
          - task: rb_loader_pkg.nope:f
    """,
        registry,
    ) == [
        (
            5,
            11,
            "steps[1].task",
            "module 'rb_loader_pkg.checks' has no function 'vlan_chek' "
            "(did you mean 'rb_loader_pkg.checks:vlan_check'?)",
        ),
        (
            6,
            11,
            "steps[2].task",
            f"cannot import module 'rb_loader_pkg.nope' from {tmp_path}: "
            "ModuleNotFoundError: No module named 'rb_loader_pkg.nope'",
        ),
    ]


def test_problems_are_plain_problem_values(registry: TaskRegistry) -> None:
    runbook = parse("name: t\nsteps: [{task: nope}]\n")
    [problem] = check_runbook(runbook, registry)
    assert problem == Problem(
        message="unknown task 'nope'",
        file="rb.yaml",
        line=2,
        column=16,
        path="steps[0].task",
        source_line="steps: [{task: nope}]",
    )


# never a traceback ---------------------------------------------------------------------------

YAML_BITS = st.sampled_from(
    [
        "name: t\n",
        "steps:\n",
        "  - ",
        "commands: ",
        "task: echo\n",
        "[",
        "]",
        "{",
        "}",
        ": ",
        "&a ",
        "*a ",
        "<<: ",
        "!!python/object:os.system ",
        "'",
        '"',
        "\t",
        "\n",
        "- x\n",
        "~",
        "args:",
        "  ",
        "#",
        "---\n",
        "%YAML 1.1\n",
        "\x00",
        "{{ x }}",
        "é",
        "\ufeff",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.lists(YAML_BITS, max_size=30).map("".join)))
def test_any_text_gives_a_runbook_or_located_problems(text: str) -> None:
    try:
        parse_runbook(text, file="fuzz.yaml")
    except RunbookError as exc:
        found = exc.problems
    else:
        return
    assert found
    assert all(p.file == "fuzz.yaml" and p.line is not None for p in found)


def test_a_folded_scalar_is_its_text_without_fold_marks() -> None:
    # was: ruamel's composer marks each fold with \a, which reached templates as '\x07'
    runbook = parse("""
        name: >-
          Folded
          name
        steps:
          - commands: >-
              show ip
              interface brief
    """)
    assert runbook.name == "Folded name"
    assert runbook.steps[0].commands == ("show ip interface brief",)


def test_parents_take_a_string_or_a_list_with_config_only() -> None:
    book = parse("""
        name: t
        steps:
          - config: [description x]
            parents: interface Ethernet1
          - config: [neighbor 192.0.2.1 activate]
            parents: [router bgp 65000, address-family ipv4]
    """)

    assert [s.parents for s in book.steps] == [
        ("interface Ethernet1",),
        ("router bgp 65000", "address-family ipv4"),
    ]
    assert problems("""
        name: t
        steps:
          - commands: [show clock]
            parents: interface Ethernet1
          - config: [description x]
            parents: {interface: Ethernet1}
          - config: [description x]
            parents: ["interface Ethernet1", "interface Ethernet2\\n mtu 9000"]
    """) == [
        (4, 5, "steps[0].parents", "'parents' is only allowed with 'config'"),
        (
            6,
            14,
            "steps[1].parents",
            "expected a non-empty list of strings or a string, got a mapping",
        ),
        (
            8,
            38,
            "steps[2].parents[1]",
            "expected one section line, got 'interface Ethernet2\\n mtu 9000'",
        ),
    ]
