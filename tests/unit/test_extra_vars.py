"""``-e/--extra-vars`` read into variables: typed as runbook values, later ones win, files and
inline mappings read as runbooks are, every mistake an input error that never quotes a value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nornir_runbook.cli.extravars import read_extra_vars, with_extra_vars
from nornir_runbook.cli.parser import build_parser
from nornir_runbook.errors import ExitCode, UsageError
from nornir_runbook.runbook.document import plain_scalar
from nornir_runbook.runbook.loader import parse_runbook


@pytest.mark.parametrize(
    ("item", "value"),
    [
        ("n=3", 3),
        ("n=-7", -7),
        ("n=0x1f", 31),
        ("f=1.5", 1.5),
        ("flag=true", True),
        ("flag=false", False),
        ("s=hello", "hello"),
        ("s=yes", "yes"),  # YAML 1.2, as runbooks are read: not a boolean
        ("x=", ""),
        ("x=null", None),
        ("x=~", None),
        ("cmd=show ip route", "show ip route"),
        ("eq=a=b=c", "a=b=c"),
        ("d=2026-11-25", "2026-11-25"),  # dates stay strings, as in runbooks
        ("q='3'", "'3'"),  # no quotes, comments or tags are read in a KEY=VALUE
        ("h=#ff0000", "#ff0000"),
        ("t=!secret", "!secret"),
        ("m=a: b", "a: b"),
        ("l=[1, 2]", "[1, 2]"),
        ("big=" + "9" * 5000, "9" * 5000),  # past Python's digit limit: the text itself
    ],
)
def test_a_key_value_is_typed_as_the_same_text_unquoted_in_a_runbook(item: str, value: Any) -> None:
    key = item.partition("=")[0]

    got = read_extra_vars([item])

    assert got == {key: value}
    assert type(got[key]) is type(value)


@pytest.mark.parametrize(
    "text", ["3", "-7", "0x1f", "017", "1.5", "1e3", ".inf", "true", "True", "no", "null", "~"]
)
def test_a_plain_scalar_is_what_a_runbook_value_written_so_is(text: str) -> None:
    runbook = parse_runbook(f"name: x\nvars: {{v: {text}}}\nsteps: [{{commands: [x]}}]")

    assert plain_scalar(text) == runbook.vars["v"]
    assert type(plain_scalar(text)) is type(runbook.vars["v"])


def test_later_ones_win_and_files_and_inline_mappings_mix(tmp_path: Path) -> None:
    (tmp_path / "vars.yaml").write_text("a: 1\nb: [x, y]\nc: {deep: true}\n")

    got = read_extra_vars(
        ["a=0", f"@{tmp_path / 'vars.yaml'}", "b=plain", '{"c": {"other": 2}, "d": null}', "a=9"]
    )

    assert got == {"a": 9, "b": "plain", "c": {"other": 2}, "d": None}


def test_the_runbook_vars_are_replaced_key_by_key() -> None:
    runbook = parse_runbook(
        "name: x\nvars: {keep: 1, over: 2, deep: {a: 1, b: 2}}\nsteps: [{commands: [x]}]"
    )

    changed = with_extra_vars(runbook, {"over": "new", "deep": {"a": 5}, "added": True})

    assert changed.vars == {"keep": 1, "over": "new", "deep": {"a": 5}, "added": True}
    assert runbook.vars == {"keep": 1, "over": 2, "deep": {"a": 1, "b": 2}}  # pure
    assert with_extra_vars(runbook, {}) is runbook


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("foo", "-e: expected KEY=VALUE or @FILE, got 'foo'"),
        ("", "-e: expected KEY=VALUE or @FILE, got ''"),
        ("x" * 60, f"-e: expected KEY=VALUE or @FILE, got '{'x' * 40}...'"),
        (
            "1x=3",
            "-e: '1x' is not a variable name (letters, digits and _, not starting with a digit)",
        ),
        ("=3", "-e: '' is not a variable name"),
        ("a.b=3", "-e: 'a.b' is not a variable name"),
        (" a=3", "-e: ' a' is not a variable name"),
        ("@", "-e @: expected a file name after '@'"),
        ("@missing.yaml", "-e @missing.yaml: cannot read: No such file or directory"),
    ],
)
def test_a_bad_item_is_a_usage_error(item: str, message: str) -> None:
    with pytest.raises(UsageError) as raised:
        read_extra_vars(["ok=1", item])

    assert str(raised.value).startswith(message)
    assert raised.value.exit_code == ExitCode.INVALID_INPUT


def test_a_bad_name_never_shows_the_value() -> None:
    with pytest.raises(UsageError) as raised:
        read_extra_vars(["bad key=hunter2"])

    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize(
    ("text", "located"),
    [
        ("- a\n- b\n", "vars.yaml:1:1: expected a mapping of variables, got a list"),
        ("just text\n", "vars.yaml:1:1: expected a mapping of variables, got a string"),
        ("# nothing\n", "vars.yaml:1:1: expected a mapping of variables, got nothing"),
        ("a: 1\nb: [1\n", "vars.yaml:3:1: invalid YAML: expected ',' or ']'"),
        ("a: 1\nb: !!python/object:os.system x\n", "vars.yaml:2:4 b: YAML tag"),
        ("a: 1\n1: 2\n", "vars.yaml:2:1 [1]: expected a string key, got 1"),
        ("a: 1\na: 2\n", "vars.yaml:2:1 a: duplicate key 'a' (first at line 1)"),
    ],
)
def test_a_bad_file_is_located(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, located: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "vars.yaml").write_text(text)

    with pytest.raises(UsageError) as raised:
        read_extra_vars(["@vars.yaml"])

    assert str(raised.value).startswith(located), str(raised.value)


def test_a_bad_inline_mapping_is_located_in_the_flag() -> None:
    with pytest.raises(UsageError) as raised:
        read_extra_vars(['{"a": [1}'])

    assert str(raised.value).startswith("-e:1:9: invalid YAML: expected ',' or ']'")


def test_a_file_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    (tmp_path / "vars.yaml").write_bytes(b"a: \xff\n")

    with pytest.raises(UsageError) as raised:
        read_extra_vars([f"@{tmp_path / 'vars.yaml'}"])

    assert f"-e @{tmp_path / 'vars.yaml'}: not UTF-8 text" in str(raised.value)


@pytest.mark.parametrize("command", [["run", "rb.yaml"], ["validate", "rb.yaml"]])
def test_the_flag_is_repeatable_on_run_and_validate(command: list[str]) -> None:
    argv = [*command, "-e", "a=1", "--extra-vars", "@v.yaml", "-eb=2"]
    args = build_parser().parse_args(argv)

    assert args.extra_vars == ["a=1", "@v.yaml", "b=2"]
    assert build_parser(lazy=True).parse_args(argv) == args
    assert build_parser().parse_args(command).extra_vars == []
