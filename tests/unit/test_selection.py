"""Host selection: Ansible host patterns, tags, -F filters and runbook targets."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nornir.core.inventory import Defaults, Group, Host, Hosts, Inventory, ParentGroups
from nornir.core.inventory import Groups as GroupsDict
from nornir.plugins.inventory.simple import SimpleInventory

from nornir_runbook.errors import InventoryError, UsageError
from nornir_runbook.project.hostdata import all_groups, host_tags, text_matches, value_matches
from nornir_runbook.project.patterns import match_pattern, split_pattern
from nornir_runbook.project.selection import (
    TargetProblem,
    narrow,
    select_hosts,
    target_problems,
    targets_predicate,
    why_no_host,
)
from nornir_runbook.project.targets import Targets

GROUPS_YAML = """
emea: {data: {region: emea, tags: [emea]}}
ams: {groups: [emea], data: {site: ams}}
lon: {groups: [emea], data: {site: lon}}
amer: {data: {region: amer}}
nyc: {groups: [amer], data: {site: nyc}}
core: {data: {role: core, tags: [core, prod]}}
edge: {data: {role: edge}}
lab: {data: {tags: [lab]}}
"""
DEFAULTS_YAML = """
username: admin
password: s3cret-pw
platform: cisco_ios
data: {tags: [default], managed: true, tier: 1}
"""
HOSTS_YAML = """
ams-core1: {hostname: 127.0.0.1, port: 2201, groups: [ams, core]}
ams-edge1: {hostname: 127.0.0.1, port: 2202, groups: [ams, edge]}
lon-core1: {hostname: 127.0.0.1, port: 2203, groups: [core, lon], data: {managed: false}}
nyc-core1: {hostname: 127.0.0.1, port: 2204, groups: [nyc, core], data: {tags: [prod, nyc]}}
nyc-edge1: {hostname: 127.0.0.1, port: 2205, groups: [nyc, edge], platform: cisco_xe}
lab1: {hostname: 127.0.0.1, port: 2206, groups: [lab], data: {tags: [], note: "a=b"}}
r1: {hostname: 127.0.0.1, port: 2207}
r2: {hostname: 10.0.0.2, port: 22}
"""
ALL_HOSTS = [
    "ams-core1",
    "ams-edge1",
    "lon-core1",
    "nyc-core1",
    "nyc-edge1",
    "lab1",
    "r1",
    "r2",
]
CORE = ["ams-core1", "lon-core1", "nyc-core1"]
EMEA = ["ams-core1", "ams-edge1", "lon-core1"]


def load_inventory(folder: Path) -> Inventory:
    for name, text in (
        ("hosts.yaml", HOSTS_YAML),
        ("groups.yaml", GROUPS_YAML),
        ("defaults.yaml", DEFAULTS_YAML),
    ):
        (folder / name).write_text(text, encoding="utf-8")
    return SimpleInventory(
        host_file=str(folder / "hosts.yaml"),
        group_file=str(folder / "groups.yaml"),
        defaults_file=str(folder / "defaults.yaml"),
    ).load()


@pytest.fixture(scope="module")
def inv(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    return load_inventory(tmp_path_factory.mktemp("inventory"))


# --- host patterns ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("all", ALL_HOSTS),
        ("*", ALL_HOSTS),
        ("core", CORE),
        ("emea", EMEA),  # through the child groups ams and lon
        ("amer", ["nyc-core1", "nyc-edge1"]),
        ("r1", ["r1"]),
        ("r*", ["r1", "r2"]),
        ("ams*", ["ams-core1", "ams-edge1"]),  # the group ams and the hosts ams-*
        ("*-edge?", ["ams-edge1", "nyc-edge1"]),
        ("r[12]", ["r1", "r2"]),
        ("~r[12]$", ["r1", "r2"]),
        ("~(lab|nyc)", ["nyc-core1", "nyc-edge1", "lab1"]),
        ("~core", CORE),  # the group core; no host name starts with "core"
        ("~core1", []),  # re.match, as Ansible: anchored at the start
        ("~.*core1", CORE),
        ("zz*", []),
        ("ungrouped", ["r1", "r2"]),
        ("r2:nyc-edge1", ["nyc-edge1", "r2"]),  # inventory order, not pattern order
        ("r2,nyc-edge1", ["nyc-edge1", "r2"]),
        ("r2, nyc-edge1", ["nyc-edge1", "r2"]),
        ("r[12]:lab", ["lab1", "r1", "r2"]),  # a bracket expression is not split at ':'
        ("emea:&core", ["ams-core1", "lon-core1"]),
        ("emea,&core", ["ams-core1", "lon-core1"]),
        ("core:!emea", ["nyc-core1"]),
        ("!core", ["ams-edge1", "nyc-edge1", "lab1", "r1", "r2"]),  # no plain term: all
        ("&core", CORE),
        ("core:!ams:nyc-edge1", ["lon-core1", "nyc-core1", "nyc-edge1"]),
        # Ansible order: unions, then intersections, then exclusions, wherever written
        ("!ams:emea:&core", ["lon-core1"]),
        ("&edge:!nyc:emea:amer", ["ams-edge1"]),
        ("core:&emea:&lon", ["lon-core1"]),
        ("all:!*", []),
    ],
)
def test_match_pattern(inv: Inventory, pattern: str, expected: list[str]) -> None:
    assert match_pattern(inv, pattern) == expected


def test_split_pattern_follows_ansible() -> None:
    assert split_pattern("a:&b:!c") == ["a", "&b", "!c"]
    assert split_pattern("a,b:c") == ["a", "b:c"]  # with commas, ':' is not a separator
    assert split_pattern("~r[1:2]:x") == ["~r[1:2]", "x"]
    assert split_pattern(" a : b ") == ["a", "b"]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("cor", "no host or group named 'cor' (did you mean 'core'?)"),
        ("all:!ams-cor1", "no host or group named 'ams-cor1' (did you mean 'ams-core1'?)"),
        ("core:&emae", "no host or group named 'emae' (did you mean 'emea'?)"),
        ("qqqq", "no host or group named 'qqqq'"),
        ("~(", "bad regex '('"),
        ("", "is empty"),
        (":", "is empty"),
        ("core:!", "need a name or pattern after them"),
    ],
)
def test_match_pattern_errors(inv: Inventory, pattern: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        match_pattern(inv, pattern)


def test_unknown_name_without_close_match_has_no_suggestion(inv: Inventory) -> None:
    with pytest.raises(UsageError) as info:
        match_pattern(inv, "qqqq")
    assert str(info.value) == "host pattern 'qqqq': no host or group named 'qqqq'"
    assert info.value.exit_code == 5


def test_limit_file(inv: Inventory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "failed.txt").write_text(
        "# failed last night\nr2\n\n  nyc-edge1  \nams-core1  # flaky\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    assert match_pattern(inv, "@failed.txt") == ["ams-core1", "nyc-edge1", "r2"]
    assert match_pattern(inv, "@failed.txt:!r2") == ["ams-core1", "nyc-edge1"]
    assert match_pattern(inv, "core:!@failed.txt") == ["lon-core1", "nyc-core1"]
    assert match_pattern(inv, "edge:&@failed.txt") == ["nyc-edge1"]
    assert match_pattern(inv, f"@{tmp_path / 'failed.txt'}") == ["ams-core1", "nyc-edge1", "r2"]


def test_limit_file_lines_may_be_groups_and_globs(
    inv: Inventory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "some.txt").write_text("lab\nr*\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert match_pattern(inv, "@some.txt") == ["lab1", "r1", "r2"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read 'missing.txt'"),
        ("r1\nr-9\n", "no host or group named 'r-9'"),
        ("@other.txt\n", "cannot include another"),
    ],
)
def test_limit_file_errors(
    inv: Inventory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    content: str | None,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    if content is not None:
        (tmp_path / "missing.txt").write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        match_pattern(inv, "@missing.txt")


def test_limit_file_that_is_a_directory(inv: Inventory, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        match_pattern(inv, f"@{tmp_path}")


def _tiny_inventory() -> Inventory:
    """A group and a host that share the name ``x``."""
    groups = GroupsDict({"x": Group("x")})
    hosts = Hosts(
        {
            "a": Host("a", groups=ParentGroups([groups["x"]])),
            "x": Host("x"),
        }
    )
    return Inventory(hosts=hosts, groups=groups)


def test_a_name_means_the_group_when_a_host_has_it_too() -> None:
    inventory = _tiny_inventory()
    assert match_pattern(inventory, "x") == ["a"]
    assert match_pattern(inventory, "ungrouped") == ["x"]


# --- host patterns: properties ----------------------------------------------------------------

GROUP_NAMES = ["emea", "ams", "lon", "amer", "nyc", "core", "edge", "lab"]
OTHER_TERMS = ["all", "*", "ungrouped", "r*", "*core*", "~nyc", "~.*edge", "zz*"]
TERMS = st.sampled_from([*ALL_HOSTS, *GROUP_NAMES, *OTHER_TERMS])


@settings(deadline=None)  # the machine may be busy; speed is bench/'s business
@given(a=TERMS)
def test_a_minus_a_is_empty(inv: Inventory, a: str) -> None:
    assert match_pattern(inv, f"{a}:!{a}") == []


@settings(deadline=None)  # the machine may be busy; speed is bench/'s business
@given(a=TERMS, b=TERMS)
def test_union_and_intersection_are_set_operations(inv: Inventory, a: str, b: str) -> None:
    set_a, set_b = set(match_pattern(inv, a)), set(match_pattern(inv, b))
    assert set(match_pattern(inv, f"{a}:{b}")) == set_a | set_b
    assert match_pattern(inv, f"{a}:{b}") == match_pattern(inv, f"{b},{a}")
    assert set(match_pattern(inv, f"{a}:&{b}")) == set_a & set_b
    assert set(match_pattern(inv, f"{a}:!{b}")) == set_a - set_b


@settings(deadline=None)  # the machine may be busy; speed is bench/'s business
@given(terms=st.lists(st.tuples(st.sampled_from(["", "&", "!"]), TERMS), min_size=1, max_size=6))
def test_any_pattern_is_unions_then_intersections_then_exclusions(
    inv: Inventory, terms: list[tuple[str, str]]
) -> None:
    got = match_pattern(inv, ":".join(op + term for op, term in terms))
    plain = [t for op, t in terms if not op] or ["all"]
    expected = set().union(*(match_pattern(inv, t) for t in plain))
    for op, term in terms:
        if op == "&":
            expected &= set(match_pattern(inv, term))
    for op, term in terms:
        if op == "!":
            expected -= set(match_pattern(inv, term))
    assert got == [name for name in ALL_HOSTS if name in expected]  # and in inventory order


# --- tags -------------------------------------------------------------------------------------


def test_host_tags_resolve_as_nornir_does(inv: Inventory) -> None:
    tags = {name: host_tags(host) for name, host in inv.hosts.items()}
    assert tags == {
        # groups are searched depth-first: ams, then its parent emea, and only then core
        "ams-core1": ("emea",),
        "ams-edge1": ("emea",),
        "lon-core1": ("core", "prod"),
        "nyc-core1": ("prod", "nyc"),  # the host's own list, not merged with its groups'
        "nyc-edge1": ("default",),  # no group has tags: the defaults'
        "lab1": (),  # an empty list of its own hides the group's and the defaults'
        "r1": ("default",),
        "r2": ("default",),
    }


def test_host_tags_edge_values() -> None:
    defaults = Defaults(data={"tags": None})
    group = Group("g", data={"tags": None}, defaults=defaults)
    assert host_tags(Host("own-null", data={"tags": None}, defaults=defaults)) == ()
    assert host_tags(Host("null-group", groups=ParentGroups([group]))) == ()
    assert host_tags(Host("no-tags", defaults=defaults)) == ()  # a None default is "missing"
    assert host_tags(Host("single", data={"tags": "core"})) == ("core",)
    assert host_tags(Host("numbers", data={"tags": [2024, "x"]})) == ("2024", "x")


@pytest.mark.parametrize(
    ("tags", "skip_tags", "expected"),
    [
        (["core"], [], ["lon-core1"]),  # ams-core1's tags come from emea, not core
        (["prod,emea"], [], ["ams-core1", "ams-edge1", "lon-core1", "nyc-core1"]),
        (["prod", "emea"], [], ["ams-core1", "ams-edge1", "lon-core1", "nyc-core1"]),
        ([], ["default"], ["ams-core1", "ams-edge1", "lon-core1", "nyc-core1", "lab1"]),
        (["prod"], ["nyc"], ["lon-core1"]),
        (["nyc"], ["prod"], []),
        ([" , "], [], ALL_HOSTS),  # nothing but separators: no tag filter
    ],
)
def test_select_by_tags(
    inv: Inventory, tags: list[str], skip_tags: list[str], expected: list[str]
) -> None:
    assert select_hosts(inv, tags=tags, skip_tags=skip_tags) == expected


# --- -F filters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (["port=2201"], ["ams-core1"]),
        (["port=22"], ["r2"]),
        (["platform=cisco_xe"], ["nyc-edge1"]),
        (["platform=cisco_ios"], [h for h in ALL_HOSTS if h != "nyc-edge1"]),  # from defaults
        (["hostname=10.0.0.2"], ["r2"]),
        (["username=admin"], ALL_HOSTS),
        (["name=r1"], ["r1"]),
        (["site=ams"], ["ams-core1", "ams-edge1"]),  # group data
        (["region=emea"], EMEA),  # the parent group's data
        (["managed=false"], ["lon-core1"]),
        (["managed=TRUE"], [h for h in ALL_HOSTS if h != "lon-core1"]),
        (["tier=1"], ALL_HOSTS),
        (["role=core", "region=emea"], ["ams-core1", "lon-core1"]),
        (["note=a=b"], ["lab1"]),
        (["note=x"], []),
        (["site="], []),  # a missing key matches nothing, not even the empty string
    ],
)
def test_select_by_filters(inv: Inventory, filters: list[str], expected: list[str]) -> None:
    assert select_hosts(inv, filters=filters) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("platform", "expected KEY=VALUE"),
        ("=cisco_ios", "expected KEY=VALUE"),
        ("password=s3cret-pw", "selecting hosts by 'password' is not allowed"),
    ],
)
def test_bad_filters(inv: Inventory, text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        select_hosts(inv, filters=["port=22", text])
    assert "s3cret-pw" not in str(info.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"skip_tags": ["nyc,prd"]},
            "--skip-tags: no host has the tag 'prd' (did you mean 'prod'?)",
        ),
        ({"tags": ["emea", "cor"]}, "--tags: no host has the tag 'cor' (did you mean 'core'?)"),
        ({"tags": ["zzzz"]}, "--tags: no host has the tag 'zzzz'"),
        ({"tags": ["lab"]}, "--tags: no host has the tag 'lab'"),  # lab1 overrides it with []
        ({"filters": ["sitee=ams"]}, "--filter: no host has a key 'sitee' (did you mean 'site'?)"),
        ({"filters": ["platfrom=x"]}, "did you mean 'platform'?"),  # an attribute
        ({"filters": ["regoin=emea"]}, "did you mean 'region'?"),  # a parent group's data
        ({"filters": ["passwrd=x"]}, "--filter: no host has a key 'passwrd'"),
    ],
)
def test_a_tag_or_filter_key_no_host_has_is_a_usage_error(
    inv: Inventory, options: dict[str, list[str]], message: str
) -> None:
    # a typo in --skip-tags once selected every host, the ones it meant to skip included
    with pytest.raises(UsageError) as info:
        select_hosts(inv, **options)  # type: ignore[arg-type]
    assert message in str(info.value)
    assert not str(info.value).endswith("'password'?)")  # never suggested: nobody selects by it


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"limit": "ams*", "targets": Targets(groups=("amer",))},
            "--limit 'ams*' matches 2 hosts and the runbook's targets match 2 hosts,"
            " but no host is in both",
        ),
        (
            {"limit": "emea", "tags": ["nyc"], "filters": ["platform=cisco_xe"]},
            "--limit 'emea' matches 3 hosts, --tags 'nyc' matches 1 host and"
            " --filter 'platform=cisco_xe' matches 1 host, but no host is in all of them",
        ),
        ({"limit": "zz*"}, "--limit 'zz*' matches no host"),
        ({"targets": Targets(filter={"port": 1})}, "the runbook's targets match no host"),
        (
            {"limit": "r1", "skip_tags": ["default"]},
            "--limit 'r1' matches 1 host and --skip-tags 'default' leaves 5 hosts,"
            " but no host is in both",
        ),
    ],
)
def test_why_no_host_names_the_part_that_left_none(
    inv: Inventory, options: dict[str, Any], message: str
) -> None:
    assert select_hosts(inv, **options) == []
    assert why_no_host(inv, **options) == f"no host matched the selection: {message}"


@pytest.mark.parametrize(
    ("actual", "text", "expected"),
    [
        (2201, "2201", True),
        ("2201", "2201", True),
        (True, "true", True),
        (True, "True", True),
        (False, "true", False),
        (1, "true", False),
        (None, "", True),
        (None, "null", True),
        (None, "~", True),
        (None, "None", False),
        ("", "", True),
        ("Core", "core", False),
        (1.5, "1.5", True),
    ],
)
def test_text_matches(actual: Any, text: str, expected: bool) -> None:
    assert text_matches(actual, text) is expected


@pytest.mark.parametrize(
    ("actual", "wanted", "expected"),
    [
        (2201, 2201, True),
        (2201, "2201", True),
        ("2201", 2201, True),
        (True, True, True),
        (True, "true", True),
        ("false", False, True),
        (1, True, False),
        (True, 1, False),
        (["a", "b"], ["a", "b"], True),
        (["a", "b"], "a", False),
        (None, None, True),
        (2201, 2202, False),
    ],
)
def test_value_matches(actual: Any, wanted: Any, expected: bool) -> None:
    assert value_matches(actual, wanted) is expected


# --- targets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        (Targets(), ALL_HOSTS),
        (Targets(groups=("core",), tags=("prod",)), ["lon-core1", "nyc-core1"]),
        (Targets(groups=("ams", "nyc")), ["ams-core1", "ams-edge1", "nyc-core1", "nyc-edge1"]),
        (Targets(groups=("emea",)), EMEA),
        (Targets(hosts=("r2", "r1"), filter={"port": 22}), ["r2"]),
        (Targets(filter={"port": "2201"}), ["ams-core1"]),
        (Targets(filter={"managed": False}), ["lon-core1"]),
        (Targets(filter={"tier": True}), []),  # 1 is not true
        (Targets(filter={"tags": ["prod", "nyc"]}), ["nyc-core1"]),
        (Targets(filter={"role": "edge", "site": "nyc"}), ["nyc-edge1"]),
        (Targets(tags=("default",), hosts=("r1", "lab1")), ["r1"]),
    ],
)
def test_select_by_targets(inv: Inventory, targets: Targets, expected: list[str]) -> None:
    assert select_hosts(inv, targets=targets) == expected
    assert list(inv.filter(filter_func=targets_predicate(targets)).hosts) == expected


def test_everything_is_anded(inv: Inventory) -> None:
    selected = select_hosts(
        inv,
        targets=Targets(groups=("core", "edge")),
        limit="!ams*",
        tags=["prod,default"],
        skip_tags=["nyc"],
        filters=["platform=cisco_xe"],
    )
    assert selected == ["nyc-edge1"]
    assert select_hosts(inv, targets=Targets(groups=("core",)), limit="edge") == []


def test_target_problems(inv: Inventory) -> None:
    targets = Targets(
        hosts=("r1", "ams-cor1", "core"),
        groups=("emae", "r1", "lab"),
        filter={"password": "x", "port": 22},
    )
    assert target_problems(inv, targets) == [
        TargetProblem(
            key="hosts",
            name="ams-cor1",
            suggestion="ams-core1",
            message="unknown host 'ams-cor1' (did you mean 'ams-core1'?)",
        ),
        TargetProblem(key="hosts", name="core", message="unknown host 'core': 'core' is a group"),
        TargetProblem(
            key="groups",
            name="emae",
            suggestion="emea",
            message="unknown group 'emae' (did you mean 'emea'?)",
        ),
        TargetProblem(key="groups", name="r1", message="unknown group 'r1': 'r1' is a host"),
        TargetProblem(
            key="filter", name="password", message="selecting hosts by 'password' is not allowed"
        ),
    ]
    assert target_problems(inv, Targets(groups=("core",), hosts=("r1",))) == []


def test_select_rejects_unknown_target_names(inv: Inventory) -> None:
    with pytest.raises(InventoryError) as info:
        select_hosts(inv, targets=Targets(groups=("cor", "edg")))
    assert [str(p) for p in info.value.problems] == [
        "targets.groups: unknown group 'cor' (did you mean 'core'?)",
        "targets.groups: unknown group 'edg' (did you mean 'edge'?)",
    ]


def test_narrow(inv: Inventory) -> None:
    hosts = ["ams-core1", "lon-core1", "nyc-edge1", "r1"]
    assert narrow(inv, hosts, Targets(groups=("emea",))) == ["ams-core1", "lon-core1"]
    assert narrow(inv, hosts, Targets(filter={"platform": "cisco_ios"}, tags=("default",))) == [
        "r1"
    ]
    assert narrow(inv, hosts, Targets()) == hosts
    with pytest.raises(InventoryError, match="unknown host 'r9'"):
        narrow(inv, hosts, Targets(hosts=("r9",)))


# --- all_groups: group resolution, linear -----------------------------------------------------


class CountingParents(ParentGroups):
    """A group's parent list that counts how often it is walked."""

    walks = 0

    def __iter__(self) -> Any:
        CountingParents.walks += 1
        return super().__iter__()


def _ladder(levels: int, width: int) -> Host:
    """A host under ``levels`` levels of ``width`` groups each, every group a child of every
    group of the level above (width 1: a chain). Nornir walks width ** levels paths."""
    defaults = Defaults()
    above: list[Group] = []
    for level in reversed(range(levels)):
        above = [
            Group(name=f"g{level}-{i}", groups=CountingParents(above), defaults=defaults)
            for i in range(width)
        ]
    return Host(name="h", groups=CountingParents(above), defaults=defaults)


@pytest.mark.parametrize(("levels", "width"), [(100, 1), (3000, 1), (20, 2), (8, 4)])
def test_all_groups_walks_each_group_once(levels: int, width: int) -> None:
    host = _ladder(levels, width)
    CountingParents.walks = 0

    groups = all_groups(host)

    assert len(groups) == levels * width
    # the host's parents, and each group's once (the top level's are Nornir's empty lists)
    assert CountingParents.walks == 1 + (levels - 1) * width


def test_all_groups_is_nornirs_extended_groups() -> None:
    for host in (_ladder(6, 2), _ladder(3, 3), *_inventory().hosts.values()):
        assert [g.name for g in all_groups(host)] == [g.name for g in host.extended_groups()]


def _inventory() -> Inventory:
    defaults = Defaults()
    a = Group(name="a", defaults=defaults)
    b = Group(name="b", groups=ParentGroups([a]), defaults=defaults)
    c = Group(name="c", groups=ParentGroups([a, b]), defaults=defaults)
    d = Group(name="d", groups=ParentGroups([c, b]), defaults=defaults)
    hosts = Hosts(
        {
            "h1": Host(name="h1", groups=ParentGroups([d, a]), defaults=defaults),
            "h2": Host(name="h2", groups=ParentGroups([b, d, c]), defaults=defaults),
        }
    )
    groups = GroupsDict({g.name: g for g in (a, b, c, d)})
    return Inventory(hosts=hosts, groups=groups, defaults=defaults)
