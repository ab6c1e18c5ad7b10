"""Per-host Jinja2 rendering of a step's strings, and the host-free compile check."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest
from nornir.core.inventory import Defaults, Group, Host, ParentGroups

from nornir_runbook.errors import RenderError, RunbookError
from nornir_runbook.runbook.loader import parse_runbook
from nornir_runbook.runbook.model import Location, Step, StepKind
from nornir_runbook.runbook.template_check import compile_check
from nornir_runbook.runbook.templating import (
    HostView,
    RenderedStep,
    index_path,
    key_path,
    located_problem,
    render_step,
)

# what the message of an unknown name lists
SEEN = "templates see only 'host', 'vars', 'registered' and 'check_mode'"


def make_host() -> Host:
    """r1 in edge (whose parent is site-a), with data at every level."""
    defaults = Defaults(data={"site": "default-site", "tags": ["prod"], "ntp": "10.0.0.1"})
    site = Group(name="site-a", data={"site": "a", "region": "eu"}, defaults=defaults)
    edge = Group(name="edge", data={"role": "edge"}, groups=ParentGroups([site]), defaults=defaults)
    return Host(
        name="r1",
        hostname="127.0.0.1",
        port=2201,
        username="admin",
        password="s3cret-pw",
        platform="cisco_ios",
        groups=ParentGroups([edge]),
        data={"role": "edge-router", "interfaces": ["Gi0/1", "Gi0/2"]},
        defaults=defaults,
    )


def step_of(yaml_text: str, index: int = 0) -> Step:
    """A step from a runbook with that step list, so it carries real locations."""
    text = "name: t\nvars: {ntp_server: 192.0.2.1, vlans: [10, 20]}\nsteps:\n" + textwrap.indent(
        textwrap.dedent(yaml_text), "  "
    )
    return parse_runbook(text, file="rb.yaml").steps[index]


VARS: dict[str, Any] = {"ntp_server": "192.0.2.1", "vlans": [10, 20]}


def test_renders_host_fields_and_vars() -> None:
    step = step_of("""
        - commands:
            - "ping {{ host.hostname }} port {{ host.port }} on {{ host.platform }}"
            - "ntp server {{ vars.ntp_server }} for {{ host.name }}"
    """)
    rendered = render_step(step, make_host(), VARS)
    assert rendered == RenderedStep(
        commands=(
            "ping 127.0.0.1 port 2201 on cisco_ios",
            "ntp server 192.0.2.1 for r1",
        )
    )


def test_data_is_resolved_host_over_groups_over_defaults() -> None:
    step = step_of("""
        - config:
            - "{{ host.data.role }} {{ host.data.site }} {{ host.data.region }}"
            - "{{ host.data.ntp }}"
    """)
    rendered = render_step(step, make_host(), VARS)
    assert rendered.config == ("edge-router a eu", "10.0.0.1")


def test_groups_are_the_hosts_own_and_all_groups_add_parents() -> None:
    step = step_of("""
        - commands: ["{{ host.groups | join(',') }} / {{ host.all_groups | join(',') }}"]
    """)
    assert render_step(step, make_host(), VARS).commands == ("edge / edge,site-a",)


def test_a_rendered_item_is_split_into_its_non_blank_lines() -> None:
    step = step_of("""
        - config:
            - |
              {% for vlan in vars.vlans %}
              vlan {{ vlan }}
               name v{{ vlan }}
              {% endfor %}
            - "{% if host.name == 'r9' %}only on r9{% endif %}"
            - end
    """)
    rendered = render_step(step, make_host(), VARS)
    assert rendered.config == ("vlan 10", " name v10", "vlan 20", " name v20", "end")


def test_args_are_rendered_recursively_keys_and_non_strings_untouched() -> None:
    step = step_of("""
        - task: echo
          args:
            path: "backups/{{ host.name }}.cfg"
            nested: {"{{ key }}": ["{{ host.data.site }}", 3, true, null]}
            count: 2
    """)
    rendered = render_step(step, make_host(), VARS)
    assert rendered.args == {
        "path": "backups/r1.cfg",
        "nested": {"{{ key }}": ["a", 3, True, None]},
        "count": 2,
    }


def test_strings_without_template_markers_are_left_alone() -> None:
    step = step_of("""
        - commands: ["show run | section { x }", "show {clock}"]
    """)
    assert render_step(step, make_host(), VARS).commands == (
        "show run | section { x }",
        "show {clock}",
    )


def test_undefined_variable_is_a_located_runbook_error_naming_the_host() -> None:
    step = step_of("""
        - name: Backup
          task: backup_config
          args: {path: "{{ host.data.nope }}/{{ host.name }}"}
    """)
    with pytest.raises(RunbookError) as info:
        render_step(step, make_host(), VARS)
    [problem] = info.value.problems
    assert (problem.file, problem.line, problem.column, problem.path) == (
        "rb.yaml",
        7,
        18,
        "steps[0].args.path",
    )
    assert problem.message == ("cannot render for host 'r1': 'dict object' has no attribute 'nope'")
    assert problem.source_line == '    args: {path: "{{ host.data.nope }}/{{ host.name }}"}'


def test_every_failing_string_of_a_step_is_reported() -> None:
    step = step_of("""
        - commands: ["{{ vars.missing }}", "ok", "{{ 1 / 0 }}"]
    """)
    with pytest.raises(RunbookError) as info:
        render_step(step, make_host(), VARS)
    assert [(p.path, p.message) for p in info.value.problems] == [
        (
            "steps[0].commands[0]",
            "cannot render for host 'r1': 'dict object' has no attribute 'missing'",
        ),
        (
            "steps[0].commands[2]",
            "cannot render for host 'r1': ZeroDivisionError: division by zero",
        ),
    ]


def test_sandbox_refuses_unsafe_attributes() -> None:
    step = step_of("""
        - commands: ["{{ host.name.__class__.__mro__ }}"]
    """)
    with pytest.raises(RunbookError) as info:
        render_step(step, make_host(), VARS)
    assert info.value.problems[0].message == (
        "cannot render for host 'r1': access to attribute '__class__' of 'str' object is unsafe."
    )


def test_templates_never_see_credentials() -> None:
    step = step_of("""
        - commands: ["{{ host.password }}"]
    """)
    with pytest.raises(RunbookError) as info:
        render_step(step, make_host(), VARS)
    message = info.value.problems[0].message
    assert message == (
        "cannot render for host 'r1': "
        "'nornir_runbook.runbook.templating.HostView object' has no attribute 'password'"
    )
    assert "s3cret-pw" not in str(info.value)


def test_host_view_has_no_secrets() -> None:
    view = HostView.from_host(make_host())
    assert view == HostView(
        name="r1",
        hostname="127.0.0.1",
        platform="cisco_ios",
        port=2201,
        groups=("edge",),
        all_groups=("edge", "site-a"),
        data={
            "role": "edge-router",
            "interfaces": ["Gi0/1", "Gi0/2"],
            "site": "a",
            "region": "eu",
            "tags": ["prod"],
            "ntp": "10.0.0.1",
        },
    )


# compile_check ------------------------------------------------------------------------------


def test_compile_check_accepts_good_templates() -> None:
    step = step_of("""
        - task: echo
          args:
            a: "{{ host.name }} {{ vars.ntp_server }} {{ vars['vlans'] | join(',') }}"
            b: "{% for i in range(3) %}{{ i }}{% endfor %}{% set x = 1 %}{{ x }}"
            c: "{{ vars.get('nope', 'dflt') }} {{ vars.later | default('x') }}"
            d: "{% if vars.maybe is defined %}{{ vars.maybe }}{% endif %}"
    """)
    assert compile_check(step, vars=VARS) == []


def test_compile_check_finds_syntax_errors_unknown_names_and_unknown_vars() -> None:
    step = step_of("""
        - commands:
            - "{% if host.name %}no end"
            - "{{ hostname }} {{ ntp_server }} {{ other }}"
            - "{{ vars.ntp_sever }}"
    """)
    assert compile_check(step, vars=VARS) == [
        (
            "steps[0].commands[0]",
            "template syntax error: Unexpected end of template. Jinja was looking for the "
            "following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be "
            "closed is 'if'.",
        ),
        (
            "steps[0].commands[1]",
            f"undefined name 'hostname': {SEEN} (did you mean 'host.hostname'?)",
        ),
        (
            "steps[0].commands[1]",
            f"undefined name 'ntp_server': {SEEN} (did you mean 'vars.ntp_server'?)",
        ),
        (
            "steps[0].commands[1]",
            f"undefined name 'other': {SEEN}",
        ),
        (
            "steps[0].commands[2]",
            "undefined variable 'vars.ntp_sever' (did you mean 'vars.ntp_server'?)",
        ),
    ]


def test_compile_check_finds_unknown_host_attributes_with_a_suggestion() -> None:
    # was: found per host at run time, one message for each host
    step = step_of("""
        - commands:
            - "{{ host.nmae }} {{ host['hostnme'] }} {{ host.data.anything }} {{ host.port }}"
            - "{{ host.nope is defined }} {{ host.nope2 | default('-') }}"
            - "{% for host in vars.vlans %}{{ host.real }}{% endfor %}"
            - "{{ nmae }} {{ ntp_srver }}"
    """)
    assert compile_check(step, vars=VARS) == [
        (
            "steps[0].commands[0]",
            "undefined attribute 'host.hostnme' (did you mean 'host.hostname'?)",
        ),
        ("steps[0].commands[0]", "undefined attribute 'host.nmae' (did you mean 'host.name'?)"),
        (
            "steps[0].commands[3]",
            f"undefined name 'nmae': {SEEN} (did you mean 'host.name'?)",
        ),
        (
            "steps[0].commands[3]",
            f"undefined name 'ntp_srver': {SEEN} (did you mean 'vars.ntp_server'?)",
        ),
    ]


def test_a_render_error_suggests_the_names_the_template_could_see() -> None:
    step = step_of("""
        - commands: ["{{ host.data.rol }}", "{{ host.data['interface'] }}", "{{ 1 / 0 }}"]
    """)
    with pytest.raises(RenderError) as info:
        render_step(step, make_host(), VARS)
    assert info.value.host == "r1"
    assert info.value.failures == [  # without the host, to be said once for every host
        (
            "steps[0].commands[0]",
            "'dict object' has no attribute 'rol' (did you mean 'host.data.role'?)",
        ),
        (
            "steps[0].commands[1]",
            "'dict object' has no attribute 'interface' (did you mean 'host.data.interfaces'?)",
        ),
        ("steps[0].commands[2]", "ZeroDivisionError: division by zero"),
    ]
    assert info.value.problems[0].message == (
        "cannot render for host 'r1': 'dict object' has no attribute 'rol'"
        " (did you mean 'host.data.role'?)"
    )


def test_compile_check_finds_unknown_filters_and_item_access() -> None:
    step = step_of("""
        - commands: ["{{ host.name | shout }}", "{{ vars['items'] }}", "{{ vars.items() }}"]
    """)
    assert compile_check(step, vars=VARS) == [
        ("steps[0].commands[0]", "template syntax error: No filter named 'shout'."),
        ("steps[0].commands[1]", "undefined variable 'vars.items'"),
    ]


def test_compile_check_without_vars_does_not_check_them() -> None:
    step = step_of("""
        - commands: ["{{ vars.anything }}"]
    """)
    assert compile_check(step) == []


def test_syntax_error_in_a_multi_line_template_gives_the_template_line() -> None:
    step = step_of("""
        - task: echo
          args:
            text: |
              line one
              {{ oops( }}
    """)
    [(path, message)] = compile_check(step, vars=VARS)
    assert path == "steps[0].args.text"
    assert message.endswith("(template line 2)")


# paths and locations -----------------------------------------------------------------------


def test_yaml_paths() -> None:
    assert key_path("", "steps") == "steps"
    assert index_path("steps", 2) == "steps[2]"
    assert key_path("steps[2].args", "path") == "steps[2].args.path"
    assert key_path("vars", "a b") == 'vars["a b"]'
    assert key_path("vars", 1) == "vars[1]"


def test_located_problem_uses_the_nearest_recorded_parent() -> None:
    where = Location(file="f.yaml", line=3, column=5, source_line="    x: 1")
    problem = located_problem({"steps[0]": where}, "steps[0].args.path", "bad")
    assert (problem.file, problem.line, problem.column, problem.path, problem.source_line) == (
        "f.yaml",
        3,
        5,
        "steps[0].args.path",
        "    x: 1",
    )
    unlocated = located_problem({}, "steps[0]", "bad")
    assert (unlocated.file, unlocated.line, unlocated.path) == (None, None, "steps[0]")


def test_a_step_built_by_hand_renders_without_locations() -> None:
    step = Step(name="x", kind=StepKind.COMMANDS, commands=("{{ nope }}",))
    with pytest.raises(RunbookError) as info:
        render_step(step, make_host(), {})
    [problem] = info.value.problems
    assert (problem.path, problem.line) == ("commands[0]", None)


# --- the sandbox: immutable and bounded ------------------------------------------------------


def test_templates_cannot_change_vars_or_inventory_data() -> None:
    host = make_host()
    variables: dict[str, Any] = {"acl": ["10.0.0.0/8"], "opts": {"a": 1}}
    step = step_of("""
        - commands:
            - "{{ vars.acl.append('0.0.0.0/0') or '' }}"
            - "{{ vars.opts.update({'b': 2}) or '' }}"
            - "{{ host.data.interfaces.append('Gi9/9') or '' }}"
            - "{{ host.data.pop('role') }}"
    """)
    for _ in range(2):  # as for one host after another
        with pytest.raises(RunbookError) as info:
            render_step(step, host, variables)
        assert [p.message.split(": ", 1)[1] for p in info.value.problems] == [
            "access to attribute 'append' of 'list' object is unsafe.",
            "access to attribute 'update' of 'dict' object is unsafe.",
            "access to attribute 'append' of 'list' object is unsafe.",
            "access to attribute 'pop' of 'dict' object is unsafe.",
        ]
    assert variables == {"acl": ["10.0.0.0/8"], "opts": {"a": 1}}
    assert host.data == {"role": "edge-router", "interfaces": ["Gi0/1", "Gi0/2"]}


BOMBS = {
    "power": ("{{ 7 ** 900000000 }}", "power too large: 7 ** 900000000"),
    "power of a variable": ("{{ 7 ** (host.port * 1000) }}", "power too large: 7 ** 2201000"),
    "repetition": ("{{ 'a' * 10**9 }}", "repetition too large: 1 items * 1000000000"),
    "list repetition": ("{{ ([1] * 10**8) | length }}", "repetition too large"),
    "range": ("{{ range(10**9) | list | length }}", "ranges too large"),
    "nested ranges": (
        "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
        "ranges too large: more than 1000000 items in all",
    ),
    "doubling": (
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}",
        "concatenation too large",
    ),
    "doubling with +": (
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}"
        "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}",
        "concatenation too large",
    ),
    "padding method": ("{{ 'a'.ljust(10**9) }}", "str.ljust: width 1000000000 too large"),
    "padding filter": ("{{ 'a' | center(10**9) }}", "center: width 1000000000 too large"),
    "format method": ("{{ '{:>1000000000}'.format(1) }}", "format width 1000000000 too large"),
    "printf": ("{{ '%1000000000d' % 1 }}", "format width 1000000000 too large"),
    "format filter": ("{{ '%.999999999f' | format(1.0) }}", "format width 999999999 too large"),
    "output": (
        "{% for i in range(5) %}{{ 'x' * 9000000 }}{% endfor %}",
        "rendered output too large",
    ),
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_a_huge_template_is_a_located_error_not_a_hang(name: str) -> None:
    source, message = BOMBS[name]
    step = step_of(f"""
        - name: Bomb
          commands: ["show clock", {source!r}]
    """)
    with pytest.raises(RunbookError) as info:
        render_step(step, make_host(), VARS)
    [problem] = info.value.problems
    assert (problem.file, problem.line, problem.path) == ("rb.yaml", 6, "steps[0].commands[1]")
    assert problem.message.startswith("cannot render for host 'r1': " + message), problem.message


def test_modest_templates_stay_within_the_bounds() -> None:
    step = step_of("""
        - commands:
            - "{{ 2 ** 64 }} {{ 'ab' * 3 }} {{ [0] * 2 }} {{ '%05d|%-4s|' % (7, 'x') }}"
            - "{{ '{:>6}'.format('x') }} {{ 'x' | center(5) }}{{ range(3) | list }} {{ 10 % 3 }}"
    """)
    assert render_step(step, make_host(), VARS).commands == (
        "18446744073709551616 ababab [0, 0] 00007|x   |",
        "     x   x  [0, 1, 2] 1",
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ 7 ** 900000000 }}", "power too large: 7 ** 900000000 (results of at most 16384 bits)"),
        (
            "{{ 'a' * 10**9 }}",
            "repetition too large: 1 items * 1000000000 (at most 10000000 in all)",
        ),
        ("{{ range(10**9) | list }}", "ranges too large: more than 1000000 items in all"),
        ("{{ 'x' ~ ('a' * 6000000 + 'b' * 6000000) }}", "concatenation too large: 12000000"),
    ],
)
def test_compile_check_finds_constant_bombs(source: str, message: str) -> None:
    step = step_of(f"""
        - commands: [{source!r}]
    """)
    [(path, found)] = compile_check(step, vars=VARS)
    assert path == "steps[0].commands[0]"
    assert found.startswith(message), found
