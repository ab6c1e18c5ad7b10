"""Steps that verify, below the command line: the loader's new keys, the checks before a run
(``registered.NAME``, expressions), typed arguments, and the plan (skips, deferred steps)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from nornir.core import Nornir
from nornir.core.inventory import Defaults, Groups, Host, Hosts, Inventory

from nornir_runbook.errors import RenderError, RunbookError
from nornir_runbook.run.plan import make_plan
from nornir_runbook.runbook.checks import check_runbook
from nornir_runbook.runbook.loader import parse_runbook
from nornir_runbook.runbook.model import Runbook, StepKind
from nornir_runbook.runbook.registry import default_registry
from nornir_runbook.runbook.templating import render_step

# what the message of an unknown name lists
SEEN = "templates see only 'host', 'vars', 'registered' and 'check_mode'"


def parse(text: str, path: Path | None = None) -> Runbook:
    return parse_runbook(textwrap.dedent(text).lstrip("\n"), file="rb.yaml", path=path)


def problems(text: str) -> list[tuple[int | None, str | None, str]]:
    with pytest.raises(RunbookError) as info:
        parse(text)
    return [(p.line, p.path, p.message) for p in info.value.problems]


def checked(text: str, path: Path | None = None) -> list[tuple[int | None, str | None, str]]:
    runbook = parse(text, path)
    found = check_runbook(runbook, default_registry(None))
    return [(p.line, p.path, p.message) for p in found]


def inventory() -> Nornir:
    defaults = Defaults(data={"role": "edge"})
    hosts = {
        "ios1": Host(name="ios1", platform="cisco_ios", data={"n": 1}, defaults=defaults),
        "eos1": Host(name="eos1", platform="arista_eos", data={"n": 2}, defaults=defaults),
        "junos1": Host(name="junos1", platform="juniper_junos", data={"n": 3}, defaults=defaults),
    }
    return Nornir(inventory=Inventory(hosts=Hosts(hosts), groups=Groups(), defaults=defaults))


def plan_of(text: str) -> Any:
    nr = inventory()
    return make_plan(nr, parse(text), list(nr.inventory.hosts), default_registry(None), None)


# loading -------------------------------------------------------------------------------------


def test_every_verifying_key_loads() -> None:
    runbook = parse("""
        name: t
        steps:
          - name: Interfaces
            commands: {cisco_ios: [show ip interface brief], arista_eos: show ip interface brief}
            parse: textfsm
            register: intf
            when: ["host.platform != 'x'", true]
            assert: "result | length > 0"
            fail_msg: "bad {{ host.name }}"
          - assert: ["{{ registered.intf is defined }}"]
    """)
    first, second = runbook.steps
    assert first.by_platform == {
        "cisco_ios": ("show ip interface brief",),
        "arista_eos": ("show ip interface brief",),
    }
    assert (first.parse, first.register, first.when) == (
        "textfsm",
        "intf",
        ("host.platform != 'x'", "true"),
    )
    assert (first.asserts, first.fail_msg) == (("result | length > 0",), "bad {{ host.name }}")
    assert first.lines_for("arista_eos") == ("show ip interface brief",)
    assert first.lines_for("juniper_junos") is None
    # an expression written as a whole template is the expression
    assert (second.kind, second.asserts) == (StepKind.ASSERT, ("registered.intf is defined",))
    assert second.name == "assert: registered.intf is defined"


def test_bad_verifying_keys_are_located() -> None:
    assert problems("""
        name: t
        steps:
          - config: [a]
            parse: textfm
            register: 1bad
            fail_msg: x
            when: 3
          - commands: {cisco_ios: []}
            parse: textfm
          - {}
    """) == [
        (4, "steps[0].parse", "'parse' is only allowed with 'commands'"),
        (
            4,
            "steps[0].parse",
            "expected one of 'textfsm', 'ttp', 'genie', got 'textfm' (did you mean 'textfsm'?)",
        ),
        (5, "steps[0].register", "expected a name of letters, digits and '_', got '1bad'"),
        (6, "steps[0].fail_msg", "'fail_msg' is only allowed with 'assert'"),
        (7, "steps[0].when", "expected an expression (a string) or true/false, got 3"),
        (
            8,
            "steps[1].commands.cisco_ios",
            "expected a non-empty list of strings or a string, got a list",
        ),
        (
            9,
            "steps[1].parse",
            "expected one of 'textfsm', 'ttp', 'genie', got 'textfm' (did you mean 'textfsm'?)",
        ),
        (
            10,
            "steps[2]",
            "expected exactly one of 'commands', 'config' or 'task' (or 'assert' alone), got none",
        ),
    ]


# checks before a run --------------------------------------------------------------------------


def test_registered_names_must_come_from_an_earlier_step() -> None:
    assert checked("""
        name: t
        steps:
          - commands: [show version]
            when: "registered.ver is defined"
          - commands: ["show {{ registered.vers }}"]
            register: ver
          - assert: "registered.ver['show version'] and registered.verr"
          - assert: "registered.later | default(1)"
          - commands: [show clock]
            register: later
    """) == [
        (
            5,
            "steps[1].commands[0]",
            "'registered.vers': no earlier step has 'register: vers'",
        ),
        (
            7,
            "steps[2].assert[0]",
            "'registered.verr': no earlier step has 'register: verr' "
            "(did you mean 'registered.ver'?)",
        ),
    ]


def test_expressions_are_checked_as_templates_are() -> None:
    assert checked("""
        name: t
        vars: {want: 2}
        steps:
          - commands: [show version]
            when: "host.platfrm == 'x'"
            assert: ["result | length >= vars.wnat", "result ==", "result == 1 }} {{ 2"]
            fail_msg: "{{ nothing }}"
    """) == [
        (
            5,
            "steps[0].when[0]",
            "undefined attribute 'host.platfrm' (did you mean 'host.platform'?)",
        ),
        (
            6,
            "steps[0].assert[0]",
            "undefined variable 'vars.wnat' (did you mean 'vars.want'?)",
        ),
        (6, "steps[0].assert[1]", "expression syntax error: unexpected 'end of template'"),
        (6, "steps[0].assert[2]", "expression syntax error: unexpected '}}' after the expression"),
        (
            7,
            "steps[0].fail_msg",
            "undefined name 'nothing': templates see only 'host', 'vars', 'registered', "
            "'check_mode' and 'result'",
        ),
    ]


def test_result_is_seen_only_by_assert_and_fail_msg() -> None:
    assert checked("""
        name: t
        steps:
          - commands: ["show {{ result }}"]
            when: "result"
    """) == [
        (
            3,
            "steps[0].commands[0]",
            f"undefined name 'result': {SEEN}",
        ),
        (
            4,
            "steps[0].when[0]",
            f"undefined name 'result': {SEEN}",
        ),
    ]


def test_a_parse_template_that_cannot_be_read_is_located(tmp_path: Path) -> None:
    (tmp_path / "mine.textfsm").write_text("Value X (\\S+)\n\nStart\n  ^${X} -> Record\n")
    found = checked(
        """
        name: t
        steps:
          - commands: [show x]
            parse_template: mine.textfsm
          - commands: [show y]
            parse_template: missing.textfsm
        """,
        tmp_path / "rb.yaml",
    )
    assert [(line, path) for line, path, _ in found] == [(6, "steps[1].parse_template")]
    assert "missing.textfsm" in found[0][2]


# typed arguments -----------------------------------------------------------------------------


def test_an_argument_of_one_expression_keeps_its_type() -> None:
    runbook = parse("""
        name: t
        vars: {n: 1, names: [a, b]}
        steps:
          - task: echo
            args:
              flag: "{{ vars.n == 2 }}"
              n: "{{ vars.n + 1 }}"
              names: " {{ vars.names }} "
              port: "{{ host.port }}"
              text: "n={{ vars.n }}"
              two: "{{ vars.n }}{{ vars.n }}"
              nested: {inner: ["{{ vars.n * 10 }}"]}
    """)
    host = Host(name="r1", port=2222)
    args = render_step(runbook.steps[0], host, runbook.vars).args
    assert args == {
        "flag": False,
        "n": 2,
        "names": ["a", "b"],
        "port": 2222,
        "text": "n=1",
        "two": "11",
        "nested": {"inner": [10]},
    }
    args["names"].append("c")  # a copy: the runbook's vars are not the task's to change
    assert runbook.vars["names"] == ["a", "b"]


# the plan ------------------------------------------------------------------------------------


def test_a_platform_without_lines_and_a_false_when_skip_the_step_there() -> None:
    plan = plan_of("""
        name: t
        steps:
          - commands: {cisco_ios: [show ip int brief], arista_eos: "show ip interface brief"}
          - commands: [show clock]
            when: "host.data.n >= 2"
          - config: {arista_eos: ["ntp server {{ host.data.n }}"]}
    """)
    by_platform, when, config = plan.steps
    assert by_platform.skipped == {"junos1"}
    assert by_platform.args["ios1"] == {"commands": ["show ip int brief"]}
    assert by_platform.args["eos1"] == {"commands": ["show ip interface brief"]}
    assert when.skipped == {"ios1"}
    assert config.skipped == {"ios1", "junos1"}
    assert config.args["eos1"] == {"config": ["ntp server 2"]}
    # a skipped step is still the host's step: its report says skipped
    assert [s.index for s in plan.steps_for("junos1")] == [0, 1, 2]
    call = when.call("ios1")
    assert call.skip
    assert call.step is not None


def test_steps_that_read_registered_are_rendered_on_the_host() -> None:
    plan = plan_of("""
        name: t
        steps:
          - commands: [show version]
            register: ver
          - commands: ["show {{ registered.ver | length }}"]
            when: "registered.ver is defined"
          - commands: [show clock]
    """)
    registers, deferred, plain = plan.steps
    assert (registers.deferred, deferred.deferred, plain.deferred) == (False, True, False)
    assert deferred.args["ios1"] == {}  # nothing rendered before the run
    assert registers.call("ios1").register == "ver"
    assert plain.call("ios1").step is None  # a plain step runs its task and nothing else


def test_a_when_that_fails_before_the_run_is_an_input_error_naming_the_hosts() -> None:
    with pytest.raises(RunbookError) as info:
        plan_of("""
            name: t
            steps:
              - commands: [show clock]
                when: "host.data.missing > 1"
        """)
    assert [(p.path, p.message) for p in info.value.problems] == [
        (
            "steps[0].when[0]",
            "cannot evaluate for 3 hosts (ios1, eos1, junos1): "
            "'dict object' has no attribute 'missing'",
        )
    ]


def test_a_missing_key_of_a_loop_variable_suggests_nothing_that_exists_already() -> None:
    # was: "'dict object' has no attribute 'intf' (did you mean 'registered.intf'?)", where
    # registered.intf was there and the loop variable's record had no 'intf'
    runbook = parse("""
        name: t
        steps:
          - commands: [show ip interface brief]
            register: intf
          - commands:
              - "{% for i in registered.intf['x'] %}show interfaces {{ i.intf }}{% endfor %}"
    """)
    registered = {"intf": {"x": [{"interface": "Ethernet0/1"}]}}
    with pytest.raises(RenderError) as info:
        render_step(runbook.steps[1], Host(name="r1"), {}, registered)
    assert [reason for _, reason in info.value.failures] == [
        "'dict object' has no attribute 'intf'"
    ]
