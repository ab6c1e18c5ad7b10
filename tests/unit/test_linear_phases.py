"""Every phase of ``nrb run`` is linear in the number of hosts, proven by counting work.

Each phase runs in-process at n and 4n hosts (the built-in ``echo`` task, no device) under
cProfile, and the work is the number of Python and built-in calls it makes in this thread: a
count, not a time, so a busy machine cannot change it. Host names are a ``str`` that counts as
a call each time it is compared or hashed (``h in batch`` over a tuple, a set lookup), which a
profile alone would not see. A linear phase does at most about 4x the work at 4x the hosts; one
that compares every host with every other does about 16x.
"""

from __future__ import annotations

import cProfile
import itertools
import json
import pstats
import re
from collections.abc import Callable
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from nornir.core import Nornir
from nornir.core.inventory import Defaults, Group, Groups, Host, Hosts, Inventory, ParentGroups
from nornir.core.processor import Processors
from rich.console import Console

from nornir_runbook.cli.common import load_checked
from nornir_runbook.project.config import Project, load_project
from nornir_runbook.project.selection import select_hosts
from nornir_runbook.redact import MASK, Redactor
from nornir_runbook.report.document import document, dump_json
from nornir_runbook.report.render import make_output
from nornir_runbook.report.results import Event, RunReport, Status
from nornir_runbook.report.saved_files import unique_names
from nornir_runbook.run.engine import Engine
from nornir_runbook.run.plan import Plan, make_plan, settings_from
from nornir_runbook.runbook.loader import parse_runbook
from nornir_runbook.runbook.model import Serial, Strategy
from nornir_runbook.runbook.registry import default_registry

N = 300  # hosts of the small run; the large one has 4x as many
MAX_RATIO = 4.5  # linear: 4x the work and a little; quadratic: about 16x
SITES, ROLES = 10, 4

RUNBOOK = """\
name: No-op
steps:
  - name: Echo
    task: echo
    args: {msg: "{{ host.name }} in {{ host.data.site }}"}
  - name: Core only
    targets: {groups: [role0]}
    task: echo
    args: {role: "{{ host.data.role }}"}
"""


class Name(str):
    """A host or group name that counts as a call each time it is compared or hashed."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return str.__ne__(self, other)

    def __hash__(self) -> int:
        return str.__hash__(self)


@dataclass(frozen=True)
class Work:
    calls: int  # every Python and built-in call in this thread
    names: int  # of them, host and group names compared or hashed


def work(fn: Callable[[], object]) -> Work:
    """The work ``fn`` does in this thread."""
    profile = cProfile.Profile()
    profile.enable()
    try:
        fn()
    finally:
        profile.disable()
    stats = pstats.Stats(profile)
    ours = {(__file__, f.__code__.co_firstlineno) for f in vars(Name).values() if callable(f)}
    by_name = sum(row[1] for key, row in stats.stats.items() if key[:2] in ours)  # type: ignore[attr-defined]
    return Work(calls=stats.total_calls, names=by_name)  # type: ignore[attr-defined]


def assert_linear(phase: Callable[[int], Callable[[], object]], n: int = N) -> None:
    """``phase(n)`` sets up a phase over n hosts and returns it to run; its work at 4n hosts is
    at most MAX_RATIO times its work at n, in calls and in names compared."""
    small, large = work(phase(n)), work(phase(4 * n))
    assert large.calls <= MAX_RATIO * small.calls, f"{large} at {4 * n} hosts, {small} at {n}"
    assert large.names <= MAX_RATIO * small.names, f"{large} at {4 * n} hosts, {small} at {n}"


_runs = itertools.count(1)


def fresh() -> str:
    """A host name prefix of its own, so that no cache (rich's, re's...) holds lines that an
    earlier run wrote with the same names: each size pays for its own work."""
    return f"r{next(_runs)}-"


def names(n: int, prefix: str) -> list[Name]:
    return [Name(f"{prefix}{i:05d}") for i in range(n)]


def nornir(n: int, prefix: str = "h") -> Nornir:
    """n hosts in nested groups (sites in a region, roles with tags), every 7th with own tags."""
    defaults = Defaults(data={"tags": ["lab"]})
    region = Group(Name("emea"), data={"region": "emea"}, defaults=defaults)
    sites = [
        Group(Name(f"site{s}"), groups=ParentGroups([region]), data={"site": s}, defaults=defaults)
        for s in range(SITES)
    ]
    roles = [
        Group(Name(f"role{r}"), data={"role": r, "tags": ["prod", f"r{r}"]}, defaults=defaults)
        for r in range(ROLES)
    ]
    groups = Groups({g.name: g for g in (region, *sites, *roles)})
    hosts = Hosts(
        {
            name: Host(
                name,
                hostname="127.0.0.1",
                platform="cisco_ios",
                groups=ParentGroups([sites[i % SITES], roles[i % ROLES]]),
                data={"tags": ["canary"]} if i % 7 == 0 else {},
                defaults=defaults,
            )
            for i, name in enumerate(names(n, prefix))
        }
    )
    inventory = Inventory(hosts=hosts, groups=groups, defaults=defaults)
    return Nornir(inventory=inventory, processors=Processors([]))


def planned(n: int, prefix: str = "h") -> tuple[Nornir, Plan]:
    nr = nornir(n, prefix)
    plan = make_plan(nr, parse_runbook(RUNBOOK), list(nr.inventory.hosts), default_registry(), None)
    return nr, plan


def finished(
    n: int,
    strategy: Strategy,
    events: Callable[[Event], None],
    serial: Serial | None = None,
    group_limits: dict[str, int] | None = None,
) -> RunReport:
    nr, plan = planned(n, fresh())
    runner = {"num_workers": 4, "group_limits": group_limits or {}}
    settings = settings_from(runner, plan.runbook).merged(strategy=strategy, serial=serial)
    return Engine(nr, settings, Redactor()).run(plan, events)


# --- the phases, in the order nrb run has them ---------------------------------------------------


def test_load_is_linear(tmp_path: Path) -> None:
    """config.yaml and a SimpleInventory of n hosts in nested groups, read and checked."""

    def phase(n: int) -> Callable[[], Any]:
        folder = tmp_path / str(n)
        folder.mkdir()
        hosts = "".join(
            f"h{i:05d}:\n  hostname: 127.0.0.1\n  groups: [site{i % SITES}, role{i % ROLES}]\n"
            + ("  data: {tags: [canary]}\n" if i % 7 == 0 else "")
            for i in range(n)
        )
        groups = "emea: {}\n" + "".join(f"site{s}: {{groups: [emea]}}\n" for s in range(SITES))
        groups += "".join(f"role{r}: {{data: {{tags: [prod]}}}}\n" for r in range(ROLES))
        (folder / "hosts.yaml").write_text(hosts)
        (folder / "groups.yaml").write_text(groups)
        (folder / "defaults.yaml").write_text("platform: cisco_ios\n")
        config = folder / "config.yaml"
        config.write_text(
            "inventory:\n  plugin: SimpleInventory\n  options: {host_file: hosts.yaml, "
            "group_file: groups.yaml, defaults_file: defaults.yaml}\n"
        )
        return lambda: load_project(config)

    assert_linear(phase)


def test_check_is_linear(tmp_path: Path) -> None:
    """A runbook whose targets name every host, checked against the inventory."""

    def phase(n: int) -> Callable[[], Any]:
        nr = nornir(n, fresh())
        path = tmp_path / f"{n}.yaml"
        listed = ", ".join(nr.inventory.hosts)
        path.write_text(RUNBOOK.replace("steps:", f"targets: {{hosts: [{listed}]}}\nsteps:", 1))
        project = Project(nr=nr, directory=tmp_path, runner_options={})
        return lambda: load_checked(path, project)

    assert_linear(phase)


def test_select_is_linear(tmp_path: Path) -> None:
    """--limit @file naming every other host, the runbook's targets naming every third,
    --tags and --skip-tags."""

    def phase(n: int) -> Callable[[], Any]:
        nr = nornir(n)
        every = list(nr.inventory.hosts)
        limit = tmp_path / f"limit-{n}.txt"
        limit.write_text("".join(f"{name}\n" for name in every[::2]))
        runbook = parse_runbook(
            RUNBOOK.replace("steps:", f"targets: {{hosts: [{', '.join(every[::3])}]}}\nsteps:")
        )

        def select() -> list[str]:
            return select_hosts(
                nr.inventory,
                targets=runbook.targets,
                limit=f"@{limit}:site1:site2:!h00000",
                tags=["prod", "canary"],
                skip_tags=["r3"],
            )

        return select

    assert_linear(phase)
    assert select_hosts(nornir(12).inventory, limit="h00003:site4", skip_tags=["r0"]) == [
        "h00003"
    ]  # h00004 (site4) is in role0


def test_plan_is_linear() -> None:
    """Every step rendered for every host (a step's targets narrowing it)."""
    assert_linear(lambda n: lambda: planned(n, fresh()))


@pytest.mark.parametrize("strategy", [Strategy.LINEAR, Strategy.FREE])
def test_run_is_linear(strategy: Strategy) -> None:
    """The engine over serial batches of 10, with the text output taking every event."""

    def phase(n: int) -> Callable[[], Any]:
        console = Console(file=StringIO(), width=100, color_system=None)
        output = make_output("text", console, verbose=1, redactor=Redactor(), live=False)
        return lambda: finished(n, strategy, output.on_event, Serial.parse(10))

    assert_linear(phase, n=100)  # batches of 10: 10 of them, then 40
    report = finished(30, strategy, lambda event: None, Serial.parse(10))
    assert [h.status for h in report.hosts] == [Status.OK] * 30
    assert [len(h.steps) for h in report.hosts[:5]] == [2, 1, 1, 1, 2]  # role0: every 4th


def test_run_with_group_limits_is_linear() -> None:
    """Hosts waiting for room in their groups (``group_limits``) are not each looked at again
    every time a host finishes."""

    def phase(n: int) -> Callable[[], Any]:
        limits = {"emea": 2, "role0": 1}  # every host is in emea
        return lambda: finished(n, Strategy.FREE, lambda event: None, group_limits=limits)

    assert_linear(phase, n=100)
    report = finished(40, Strategy.LINEAR, lambda event: None, group_limits={"role0": 1})
    assert [h.status for h in report.hosts] == [Status.OK] * 40


def test_report_is_linear(tmp_path: Path) -> None:
    """The json document, the text output's recap and the jsonl lines of a finished run."""

    def phase(n: int) -> Callable[[], Any]:
        report = finished(n, Strategy.LINEAR, lambda event: None)

        def outputs() -> None:
            redactor = Redactor()
            dump_json(document(report, redactor))
            for fmt in ("text", "jsonl"):
                console = Console(file=StringIO(), width=100, color_system=None)
                make_output(fmt, console, verbose=1, redactor=redactor, live=False).finish(report)

        return outputs

    assert_linear(phase, n=100)


def test_saved_file_names_are_linear() -> None:
    """Host names that clean up alike (``~2``, ``~3``...), as --save names their files."""

    def phase(n: int) -> Callable[[], Any]:
        alike = [f"r{chr(0x100 + i)}1" for i in range(n)]  # every one saved as r_1
        return lambda: unique_names(alike, Redactor())

    assert_linear(phase)
    shown = ["rĀ1", "rā1", "R_1", "r:1:2", "r_1", "r_1~3"]
    assert unique_names(shown, Redactor()) == ["r_1", "r_1~2", "R_1~3", "r_1_2", "r_1~4", "r_1_3"]


class Said(str):
    """Device output that counts as a call each time a secret is looked for in it."""

    __slots__ = ()

    def __contains__(self, part: object) -> bool:
        return str.__contains__(self, part)  # type: ignore[operator]


def test_redaction_is_linear_with_a_password_per_host() -> None:
    """Every host with a password of its own (sharing how they begin and end): masking one
    host's output does not search it for every host's password."""

    def phase(n: int) -> Callable[[], Any]:
        secret = "C'o\"rp-{:05d}-{}!".format  # quotes: 13 forms a password
        redactor = Redactor(secret(i, n) for i in range(3 * n))
        assert len(redactor.forms) >= 13 * 3 * n  # past the index threshold (4,096) at n=150
        said = [Said(f"h{i:05d}: login {secret(i, n)} ok") for i in range(n)]
        return lambda: [redactor.scrub(text) for text in said]

    assert_linear(phase, n=150)


def test_redaction_with_many_passwords_masks_as_with_few() -> None:
    """The index of many passwords' forms masks exactly what searching for each form masks:
    forms inside longer ones, short ones, and passwords with the mask's own character."""
    secrets = [f"pw-{i:04d}-x" for i in range(300)] + ["a*b", "*x*", "pw-0007-x-long", "abc"]
    redactor = Redactor(secrets)
    texts = [
        "pw-0007-x-long and pw-0007-x and pw-0299-xx, 'pw-0042-x' b'a*b' *x**x* a*b*x* abcd",
        "pw-00 nothing here, a*",
        "",
        repr("pw-0100-x") + json.dumps("pw-0101-x") + re.escape("pw-0102-x"),
    ]
    for text in texts:
        expected = text
        for form in redactor.forms:  # every form, longest first, as with few passwords
            if form in expected:
                expected = expected.replace(form, MASK)
        assert redactor.scrub(text) == expected
    assert "pw-" not in redactor.scrub(texts[0]) + redactor.scrub(texts[3])
    assert redactor.scrub(texts[0]).count(MASK) >= 8
