"""The plan: every step rendered for every host before anything connects."""

from __future__ import annotations

import pytest
from nornir.core import Nornir
from nornir.core.inventory import Defaults, Groups, Host, Hosts, Inventory

from nornir_runbook.errors import RunbookError
from nornir_runbook.run.plan import make_plan, with_modes
from nornir_runbook.runbook.loader import parse_runbook
from nornir_runbook.runbook.registry import default_registry

RUNBOOK = """\
name: t
steps:
  - commands: ["ntp server {{ host.data.ntp_srver }}"]
  - commands: ["{{ host.data.site_id * 2 }}"]
"""


def lab(count: int) -> Nornir:
    """``count`` hosts with ``ntp_server``; the even ones have a numeric ``site_id``."""
    defaults = Defaults(data={"ntp_server": "192.0.2.1"})
    hosts = {
        f"r{i}": Host(name=f"r{i}", data={"site_id": i if i % 2 == 0 else None}, defaults=defaults)
        for i in range(1, count + 1)
    }
    return Nornir(inventory=Inventory(hosts=Hosts(hosts), groups=Groups(), defaults=defaults))


def test_a_template_error_is_said_once_with_the_hosts_it_hit() -> None:
    # was: one message per host, 31 lines for one mistake
    nr = lab(12)
    runbook = parse_runbook(RUNBOOK, file="rb.yaml")
    with pytest.raises(RunbookError) as info:
        make_plan(nr, runbook, list(nr.inventory.hosts), default_registry(None), None)
    assert [(p.line, p.path, p.message) for p in info.value.problems] == [
        (
            3,
            "steps[0].commands[0]",
            "cannot render for 12 hosts (r1, r2, r3, r4, r5, r6, r7, r8, r9, r10 and 2 more):"
            " 'dict object' has no attribute 'ntp_srver' (did you mean 'host.data.ntp_server'?)",
        ),
        (
            4,
            "steps[1].commands[0]",
            "cannot render for 6 hosts (r1, r3, r5, r7, r9, r11):"
            " TypeError: unsupported operand type(s) for *: 'NoneType' and 'int'",
        ),
    ]


def test_a_template_error_on_one_host_names_it() -> None:
    nr = lab(2)
    runbook = parse_runbook(RUNBOOK.replace("ntp_srver", "ntp_server"), file="rb.yaml")
    with pytest.raises(RunbookError) as info:
        make_plan(nr, runbook, list(nr.inventory.hosts), default_registry(None), None)
    assert [p.message for p in info.value.problems] == [
        "cannot render for host 'r1':"
        " TypeError: unsupported operand type(s) for *: 'NoneType' and 'int'"
    ]


MODES = """\
name: t
steps:
  - commands: [show clock]
  - parents: "interface {{ host.name }}"
    config: [description x]
  - task: echo
  - task: backup_config
    args: {path: x.cfg}
  - assert: "true"
"""


def test_check_and_diff_reach_the_tasks_that_take_them_and_skip_the_others() -> None:
    nr = lab(1)
    runbook = parse_runbook(MODES, file="rb.yaml")
    plan = make_plan(nr, runbook, ["r1"], default_registry(None), None)

    checked = with_modes(plan, check=True, diff=True)
    diffed = with_modes(plan, check=False, diff=True)

    calls = [p.call("r1") for p in checked.steps]
    assert calls[1].args == {"config": ["description x"], "parents": ["interface r1"]}
    assert [c.modes for c in calls] == [{}, {"check": True, "diff": True}, {}, {}, {}]
    assert [c.check_skip is not None for c in calls] == [False, False, True, True, False]
    assert "--check: task 'echo' has no check mode" in str(calls[2].check_skip)
    assert [p.call("r1").modes for p in diffed.steps][1] == {"diff": True}
    assert all(p.call("r1").check_skip is None for p in diffed.steps)
    assert with_modes(plan, check=False, diff=False) is plan


CHECK_MODE = """\
name: modes
steps:
  - name: Only for real
    when: not check_mode
    commands: [show clock]
  - name: Says which
    commands: ["show {{ 'check' if check_mode else 'real' }}"]
  - name: Later, on the host
    when: "registered.x is defined or check_mode"
    commands: [show x]
    register: x
"""


@pytest.mark.parametrize("check", [False, True])
def test_templates_and_when_see_check_mode(check: bool) -> None:
    nr = lab(1)
    runbook = parse_runbook(CHECK_MODE, file="rb.yaml")

    plan = make_plan(nr, runbook, ["r1"], default_registry(None), None, check_mode=check)

    calls = [p.call("r1") for p in plan.steps]
    assert calls[0].skip is check
    assert calls[1].args == {"commands": ["show check" if check else "show real"]}
    assert calls[2].deferred  # reads registered: decided on the host, which is told the mode
    assert [c.check_mode for c in calls] == [check] * 3
