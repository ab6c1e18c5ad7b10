"""Jinja2 expressions as values (runbook/expressions.py): ``when``, ``assert`` and arguments
written as one ``{{ expression }}``.

- :func:`evaluate` gives the expression's own type, raises on anything undefined, runs in the
  bounded immutable sandbox, and hands back a copy;
- :func:`explain` says what a false expression saw, in one short line, and never raises;
- :func:`single_expression` tells an argument that is one expression from any other template.
"""

from __future__ import annotations

from typing import Any

import pytest
from jinja2 import TemplateSyntaxError
from jinja2.exceptions import SecurityError, UndefinedError

from nornir_runbook.runbook.expressions import evaluate, explain, single_expression
from nornir_runbook.runbook.sandbox import MAX_OUTPUT
from nornir_runbook.runbook.templating import HostView, template_context

HOST = HostView(name="r1", platform="cisco_ios", port=2201, data={"site": "ams", "vlans": [10]})
BRIEF = "show ip interface brief"
INTERFACES = [
    {"interface": "Ethernet0/0", "status": "up"},
    {"interface": "Ethernet0/1", "status": "up"},
    {"interface": "Ethernet0/2", "status": "administratively down"},
]


def context(**vars: Any) -> dict[str, Any]:
    """What a step on HOST sees: ``vars``, and ``registered.intf`` (a parsed show command)."""
    return template_context(HOST, vars, {"intf": {BRIEF: [dict(i) for i in INTERFACES]}})


# --- evaluate --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("vars.n == 1", True),
        ("vars.n == 2", False),
        ("vars.n", 1),
        ("vars.n + 1", 2),
        ("vars.ratio * 2", 1.0),
        ("vars.name", "core"),
        ("host.port", 2201),
        ("host.data.vlans", [10]),
        ("[host.name, vars.n]", ["r1", 1]),
        ("{'a': vars.n}", {"a": 1}),
        ("none", None),
        ("registered.intf[BRIEF] | length".replace("BRIEF", repr(BRIEF)), 3),
        (
            "registered.intf['show ip interface brief'] | selectattr('status', 'equalto', 'up') "
            "| map(attribute='interface') | list",
            ["Ethernet0/0", "Ethernet0/1"],
        ),
    ],
)
def test_evaluate_keeps_the_type_of_the_value(source: str, expected: Any) -> None:
    value = evaluate(source, context(n=1, ratio=0.5, name="core"))

    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("vars.nope", "'dict object' has no attribute 'nope'"),
        ("vars.nope == 1", "'dict object' has no attribute 'nope'"),
        ("nope", "'nope' is undefined"),
        ("registered.intf['show ip interface brief'][0].mtu", "has no attribute 'mtu'"),
        ("registered.other", "'dict object' has no attribute 'other'"),
        ("host.data.missing", "has no attribute 'missing'"),
    ],
)
def test_evaluate_raises_on_anything_undefined(source: str, message: str) -> None:
    with pytest.raises(UndefinedError, match=message):
        evaluate(source, context())


def test_an_undefined_value_guarded_by_default_or_defined_is_fine() -> None:
    assert evaluate("vars.nope | default(3)", context()) == 3
    assert evaluate("vars.nope is defined", context()) is False
    assert evaluate("registered.other is defined", context()) is False


@pytest.mark.parametrize(
    "source",
    ["vars.n ==", "1 2", "x }} {{ y", "vars.n == 1 %}", "(", "[1, 2", ""],
)
def test_evaluate_takes_one_whole_expression(source: str) -> None:
    with pytest.raises(TemplateSyntaxError):
        evaluate(source, context(n=1))


def test_evaluate_runs_anything_the_expression_raises_out() -> None:
    with pytest.raises(ZeroDivisionError):
        evaluate("vars.n / 0", context(n=1))


# --- evaluate: the sandbox --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("7 ** 900000000", "power too large"),
        ("'a' * 10**9", "repetition too large"),
        ("[1] * 10**9", "repetition too large"),
        ("range(10**9) | list | length", "ranges too large"),
        ("'x'.center(10**9)", "too large"),
        ("'x' | center(10**9)", "too large"),
        ("vars.acl.append('0.0.0.0/0')", "unsafe"),
        ("vars.peers.update({'x': 1})", "unsafe"),
        ("host.data.vlans.pop()", "unsafe"),
        ("registered.intf.clear()", "unsafe"),
        ("''.__class__.__mro__", "unsafe"),
        ("vars.n.__class__", "unsafe"),
    ],
)
def test_evaluate_is_sandboxed_and_bounded(source: str, message: str) -> None:
    given = context(n=1, acl=["10.0.0.0/8"], peers={"a": 1})

    with pytest.raises(SecurityError, match=message):
        evaluate(source, given)
    assert given["vars"] == {"n": 1, "acl": ["10.0.0.0/8"], "peers": {"a": 1}}
    assert HOST.data == {"site": "ams", "vlans": [10]}
    assert given["registered"]["intf"][BRIEF] == INTERFACES


def test_a_value_too_large_for_a_template_is_too_large_for_an_expression() -> None:
    """``n: "{{ [s, s] | join }}"`` is an argument of one expression: its value must be bounded
    as ``"x{{ [s, s] | join }}"``, a template, is (rendered output past MAX_OUTPUT)."""
    half = "a" * (MAX_OUTPUT // 2 + 1)

    with pytest.raises(SecurityError, match="too large"):
        evaluate("[vars.s, vars.s] | join", context(s=half))


def test_the_replace_filter_is_bounded_as_the_replace_method_is() -> None:
    with pytest.raises(SecurityError, match="too large"):
        evaluate("('a' * 1000).replace('', 'b' * 20000) | length", context())
    with pytest.raises(SecurityError, match="too large"):
        evaluate("('a' * 1000) | replace('', 'b' * 20000) | length", context())


def test_lipsum_is_bounded() -> None:
    """``lipsum(10**9)`` would run for hours; one paragraph of 1.6 million words (some 12
    million characters, past MAX_OUTPUT) is enough to see whether it is bounded."""
    with pytest.raises(SecurityError, match="too large"):
        evaluate("lipsum(1, false, 1600000, 1600001) | length", context())


# --- evaluate: a copy --------------------------------------------------------------------------


def test_a_returned_value_is_a_copy() -> None:
    given = context(acl=["10.0.0.0/8"], nested={"peers": [{"ip": "192.0.2.1"}]})

    acl = evaluate("vars.acl", given)
    nested = evaluate("vars.nested", given)
    records = evaluate("registered.intf['show ip interface brief']", given)
    vlans = evaluate("host.data.vlans", given)
    acl.append("0.0.0.0/0")
    nested["peers"][0]["ip"] = "203.0.113.9"
    records[0]["status"] = "down"
    vlans.append(99)

    assert given["vars"] == {"acl": ["10.0.0.0/8"], "nested": {"peers": [{"ip": "192.0.2.1"}]}}
    assert given["registered"]["intf"][BRIEF] == INTERFACES
    assert HOST.data["vlans"] == [10]
    assert evaluate("vars.acl", given) == ["10.0.0.0/8"]


# --- explain ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "seen"),
    [
        ("vars.n >= 2", "saw 1 >= 2"),
        ("vars.n > 2", "saw 1 > 2"),
        ("vars.n != 1", "saw 1 != 1"),
        ("vars.state == 'up'", "saw 'down' == 'up'"),
        ("vars.n in [2, 3]", "saw 1 in [2, 3]"),
        ("vars.n not in [1]", "saw 1 not in [1]"),
        ("0 < vars.n < 1", "saw 0 < 1 < 1"),
        ("vars.flag", "saw False"),
        ("not vars.yes", "saw not True"),
        ("vars.n == 1 and vars.state == 'up'", "saw 'down' == 'up'"),
        ("vars.state == 'up' and vars.n == 1", "saw 'down' == 'up'"),
        ("vars.n is none", "saw 1, which is not none"),
        ("vars.nope is defined", "saw an undefined value, which is not defined"),
        (
            "registered.intf['show ip interface brief'] | selectattr('status', 'equalto', 'up') "
            "| list | length >= 3",
            "saw 2 >= 3",
        ),
    ],
)
def test_explain_says_what_a_false_expression_saw(source: str, seen: str) -> None:
    given = context(n=1, state="down", flag=False, yes=True)

    assert not evaluate(source, given)
    assert explain(source, given) == seen


def test_explain_shortens_long_values() -> None:
    seen = explain("vars.text == 'short'", context(text="x" * 500))

    assert seen.startswith("saw 'xxxx")
    assert seen.endswith(" == 'short'")
    assert "…" in seen
    assert len(seen) < 100


@pytest.mark.parametrize(
    "source", ["vars.n ==", "vars.nope > 1", "vars.n / 0 > 1", "7 ** 900000000 > 1"]
)
def test_explain_never_raises(source: str) -> None:
    assert explain(source, context(n=1)) == ""


# --- single_expression --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expression"),
    [
        ("{{ x == 1 }}", "x == 1"),
        ("{{x}}", "x"),
        ("  {{ host.port }}  ", "host.port"),
        ("{{ x }}\n", "x"),
        ("{{- x -}}", "x"),
        ("{{ [1, 2] | join(',') }}", "[1, 2] | join(',')"),
        ("{{ {'a': 1} }}", "{'a': 1}"),
    ],
)
def test_single_expression_finds_one_whole_expression(source: str, expression: str) -> None:
    assert single_expression(source) == expression


@pytest.mark.parametrize(
    "source",
    [
        "plain",
        "",
        "n={{ x }}",
        "{{ x }}/24",
        "{{ x }}{{ y }}",
        "{{ x }} {{ y }}",
        "{% if x %}{{ x }}{% endif %}",
        "{{ x }}{# note #}",
        "{# {{ x }} #}",
    ],
)
def test_single_expression_leaves_other_templates_alone(source: str) -> None:
    assert single_expression(source) is None
