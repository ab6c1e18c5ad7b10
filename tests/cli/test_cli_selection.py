"""Host selection on the command line: -l patterns, -t/--skip-tags, -F, AND-ed with targets.

Mostly through ``nrb run --list-hosts`` (host names on stdout, one a line, inventory order,
nothing else) and ``nrb inventory --graph/--list``; nothing here connects to a device.

The lab: ams-* in group ams, fra-* in fra (both children of emea), *-core-* in core, *-edge-* in
edge, *-spine-* in spine and eos (platform arista_eos; the others are cisco_ios), the spines
last in inventory order. Tags: [prod] by default, [prod, pe] for edge, ams-edge-04 [lab, pe,
canary], fra-core-02 [prod, rr], fra-edge-04 [lab, pe]. Data: fra sets mgmt_vrf OOB over the
default MGMT.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_kit import MakeProject, Nrb, Ran, WriteRunbook, run_many, write_text

pytestmark = pytest.mark.cli

AMS_IOS = ("ams-core-01", "ams-core-02", "ams-edge-01", "ams-edge-02", "ams-edge-03", "ams-edge-04")
FRA_IOS = ("fra-core-01", "fra-core-02", "fra-edge-01", "fra-edge-02", "fra-edge-03", "fra-edge-04")
SPINES = ("ams-spine-01", "fra-spine-01")  # Arista EOS
EVERY = AMS_IOS + FRA_IOS + SPINES
FRA = (*FRA_IOS, "fra-spine-01")
CORE = ("ams-core-01", "ams-core-02", "fra-core-01", "fra-core-02")
FRA_EDGE = ("fra-edge-01", "fra-edge-02", "fra-edge-03", "fra-edge-04")

NO_TARGETS = """
    name: Anything
    steps:
      - name: Echo
        task: echo
        args: {who: "{{ host.name }}"}
    """


@pytest.fixture
def any_runbook(write_runbook: WriteRunbook) -> Path:
    return write_runbook(NO_TARGETS)


@pytest.fixture(scope="module")
def listed(lab_inventory: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ran]:
    """``nrb run --list-hosts OPTIONS`` of every LIST_CASES, run at once, by " ".join(OPTIONS)."""
    folder = tmp_path_factory.mktemp("listed")
    write_text(folder, NO_TARGETS, "any.yaml")
    nrb = Nrb(config=lab_inventory.config_file, cwd=folder)
    options: list[list[str]] = [case.values[0] for case in LIST_CASES]  # type: ignore[misc]
    commands: dict[str, tuple[str | Path, ...]] = {
        " ".join(opts): ("run", "any.yaml", "-c", nrb.config, "--list-hosts", *opts)
        for opts in options
    }
    return run_many(nrb, commands)


def test_lab_inventory_is_the_one_these_tests_describe(lab_inventory: Any) -> None:
    assert lab_inventory.hosts == EVERY


LIST_CASES = [
    pytest.param(["-l", "ams-core-02"], ("ams-core-02",), id="host"),
    pytest.param(["-l", "fra"], FRA, id="group"),
    pytest.param(["-l", "emea"], EVERY, id="parent-group"),
    pytest.param(
        ["-l", "*-01"],
        ("ams-core-01", "ams-edge-01", "fra-core-01", "fra-edge-01", *SPINES),
        id="glob",
    ),
    pytest.param(
        ["-l", "~fra-(core|edge)-0[12]$"],
        ("fra-core-01", "fra-core-02", "fra-edge-01", "fra-edge-02"),
        id="regex",
    ),
    pytest.param(
        ["-l", "fra-edge-02:ams-core-01"],
        ("ams-core-01", "fra-edge-02"),
        id="union-in-inventory-order",
    ),
    pytest.param(["-l", "edge:&fra"], FRA_EDGE, id="intersection"),
    pytest.param(["-l", "emea:!edge"], CORE + SPINES, id="exclusion"),
    pytest.param(["-l", "spine:&fra"], ("fra-spine-01",), id="intersection-of-role-and-site"),
    pytest.param(["-F", "platform=arista_eos"], SPINES, id="filter-platform-from-a-group"),
    pytest.param(["-F", "platform=cisco_ios"], AMS_IOS + FRA_IOS, id="filter-platform-defaults"),
    pytest.param(
        ["-l", "&core:ams:fra-core-01"],
        ("ams-core-01", "ams-core-02", "fra-core-01"),
        id="unions-before-intersections",
    ),
    pytest.param(["-t", "rr,canary"], ("ams-edge-04", "fra-core-02"), id="tags-csv"),
    pytest.param(
        ["-t", "prod", "--skip-tags", "rr"],
        (
            "ams-core-01",
            "ams-core-02",
            "ams-edge-01",
            "ams-edge-02",
            "ams-edge-03",
            "fra-core-01",
            "fra-edge-01",
            "fra-edge-02",
            "fra-edge-03",
            *SPINES,
        ),
        id="tags-and-skip-tags",
    ),
    pytest.param(["-F", "region=emea"], EVERY, id="filter-parent-group-data"),
    pytest.param(["-F", "mgmt_vrf=OOB"], FRA, id="filter-group-overrides-defaults"),
    pytest.param(["-F", "role=edge", "-F", "site_id=2"], FRA_EDGE, id="filters-anded"),
    pytest.param(
        ["-l", "fra", "-t", "pe", "--skip-tags", "lab"], FRA_EDGE[:3], id="everything-anded"
    ),
]


@pytest.mark.parametrize(("options", "expected"), LIST_CASES)
def test_list_hosts(listed: dict[str, Ran], options: list[str], expected: tuple[str, ...]) -> None:
    ran = listed[" ".join(options)]

    assert ran.code == 0, ran
    assert ran.out == "".join(f"{name}\n" for name in expected)


def test_list_hosts_filter_on_a_port(nrb: Nrb, any_runbook: Path, lab_inventory: Any) -> None:
    port = lab_inventory.ports["fra-edge-03"]

    ran = nrb.run(any_runbook, "--list-hosts", "-F", f"port={port}")

    assert (ran.code, ran.lines()) == (0, ["fra-edge-03"]), ran


@pytest.mark.parametrize(
    ("targets", "options", "expected"),
    [
        pytest.param(
            "{groups: [core]}", ["-l", "ams"], ("ams-core-01", "ams-core-02"), id="groups+limit"
        ),
        pytest.param("{tags: [pe]}", ["-F", "site=fra"], FRA_EDGE, id="tags+filter"),
        pytest.param(
            "{groups: [emea]}",
            ["--skip-tags", "prod"],
            ("ams-edge-04", "fra-edge-04"),
            id="parent-group+skip",
        ),
        pytest.param(
            "{hosts: [fra-core-01, ams-core-01, fra-edge-04], filter: {mgmt_vrf: OOB}}",
            [],
            ("fra-core-01", "fra-edge-04"),
            id="hosts+filter",
        ),
    ],
)
def test_list_hosts_ands_the_runbook_targets(
    nrb: Nrb,
    write_runbook: WriteRunbook,
    targets: str,
    options: list[str],
    expected: tuple[str, ...],
) -> None:
    runbook = write_runbook(NO_TARGETS.replace("steps:", f"targets: {targets}\n    steps:"))

    ran = nrb.run(runbook, "--list-hosts", *options)

    assert ran.code == 0, ran
    assert ran.lines() == list(expected)


def test_list_hosts_matching_nothing_exits_3_with_nothing_on_stdout(
    nrb: Nrb, any_runbook: Path
) -> None:
    for options in (["-l", "all:!emea"], ["-F", "site=ams", "-l", "fra"]):
        ran = nrb.run(any_runbook, "--list-hosts", *options)
        assert (ran.code, ran.out) == (3, ""), ran


def test_limit_from_a_file(nrb: Nrb, any_runbook: Path, tmp_path: Path) -> None:
    hosts = tmp_path / "hosts.txt"
    hosts.write_text("fra-edge-03\n# a comment\n\n  ams-core-02  \n~ams-edge-0[12]\n")

    listed = nrb.run(any_runbook, "--list-hosts", "-l", f"@{hosts}")
    narrowed = nrb.run(any_runbook, "--list-hosts", "-l", "@hosts.txt:&core")  # relative to cwd

    assert (listed.code, listed.lines()) == (
        0,
        ["ams-core-02", "ams-edge-01", "ams-edge-02", "fra-edge-03"],
    ), listed
    assert (narrowed.code, narrowed.lines()) == (0, ["ams-core-02"]), narrowed


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            ["-l", "amss"],
            "host pattern 'amss': no host or group named 'amss' (did you mean 'ams'?)",
            id="typo",
        ),
        pytest.param(["-l", "~fra-("], "bad regex", id="bad-regex"),
        pytest.param(["-l", "@missing.txt"], "cannot read 'missing.txt'", id="missing-file"),
        pytest.param(
            ["-F", "password=x"],
            "selecting hosts by 'password' is not allowed",
            id="filter-on-password",
        ),
        pytest.param(
            ["--skip-tags", "canry"],
            "--skip-tags: no host has the tag 'canry' (did you mean 'canary'?)",
            id="skip-tags-typo",
        ),
        pytest.param(
            ["-t", "pe,prdo"],
            "--tags: no host has the tag 'prdo' (did you mean 'prod'?)",
            id="tags-typo",
        ),
        pytest.param(
            ["-F", "mgmt_vfr=OOB"],
            "--filter: no host has a key 'mgmt_vfr' (did you mean 'mgmt_vrf'?)",
            id="filter-key-typo",
        ),
    ],
)
def test_bad_selection_is_invalid_input(
    nrb: Nrb, any_runbook: Path, options: list[str], message: str
) -> None:
    ran = nrb.run(any_runbook, "--list-hosts", *options)

    assert ran.code == 5, ran
    assert ran.out == ""
    assert message in ran.err
    assert "Traceback" not in ran.err


@pytest.mark.parametrize(
    "options",
    [["--skip-tags", "canry"], ["-t", "canry"], ["-F", "mgmt_vfr=OOB"]],
    ids=["skip-tags", "tags", "filter"],
)
def test_a_selection_typo_never_runs_or_lists_anything(
    nrb: Nrb, any_runbook: Path, options: list[str]
) -> None:
    # was: --skip-tags canry selected every host, the canary included
    ran = nrb.run(any_runbook, "--dry-run", "-o", "json", *options)
    listed = nrb.inventory(*options, "--list")

    for each in (ran, listed):
        assert (each.code, each.out) == (5, ""), each
        assert "did you mean" in each.err, each


def test_an_empty_intersection_says_what_each_part_matched(
    nrb: Nrb, write_runbook: WriteRunbook
) -> None:
    runbook = write_runbook(NO_TARGETS.replace("steps:", "targets: {groups: [core]}\n    steps:"))

    listed = nrb.run(runbook, "--list-hosts", "-l", "ams-edge-0[12]")
    ran = nrb.run(runbook, "--dry-run", "-o", "json", "-l", "ams-edge-0[12]")
    shown = nrb.inventory("-l", "ams", "-t", "rr")

    both = (
        "no host matched the selection: --limit 'ams-edge-0[12]' matches 2 hosts and the"
        " runbook's targets match 4 hosts, but no host is in both"
    )
    assert (listed.code, listed.out, listed.err.strip()) == (3, "", both), listed
    assert ran.code == 3, ran
    assert both in ran.err
    assert shown.code == 3, shown
    assert (
        "no host matched the selection: --limit 'ams' matches 7 hosts and --tags 'rr' matches"
        " 1 host, but no host is in both" in shown.err
    ), shown


def test_inventory_graph(nrb: Nrb) -> None:
    ran = nrb.inventory("-l", "fra:&core", "--graph")

    assert ran.code == 0, ran
    assert ran.out == (
        "@all:\n"
        "  |--@emea:\n"
        "  |  |--@fra:\n"
        "  |  |  |--fra-core-01\n"
        "  |  |  |--fra-core-02\n"
        "  |--@core:\n"
        "  |  |--fra-core-01\n"
        "  |  |--fra-core-02\n"
    )


def test_inventory_without_a_view_is_the_graph_of_every_host(nrb: Nrb) -> None:
    ran = nrb.inventory()

    assert ran.code == 0, ran
    lines = ran.lines()
    assert lines[:3] == ["@all:", "  |--@emea:", "  |  |--@ams:"]
    hosts = [line.rpartition("--")[2] for line in lines if not line.endswith(":")]
    assert hosts == [
        *AMS_IOS,
        "ams-spine-01",
        *FRA,
        *CORE,
        "ams-edge-01",
        "ams-edge-02",
        "ams-edge-03",
        "ams-edge-04",
        *FRA_EDGE,
        *SPINES,  # group spine
        *SPINES,  # group eos
    ]


def test_inventory_list(nrb: Nrb, lab_inventory: Any) -> None:
    ran = nrb.inventory("-l", "fra-core-02:ams-edge-04", "--list")

    assert ran.code == 0, ran
    data = json.loads(ran.out)
    assert list(data) == ["all", "emea", "ams", "fra", "core", "edge", "_meta"]
    assert data["all"] == {"children": ["emea", "core", "edge"]}
    assert data["emea"] == {"children": ["ams", "fra"]}
    assert data["ams"] == {"hosts": ["ams-edge-04"]}
    assert data["core"] == {"hosts": ["fra-core-02"]}
    hostvars = data["_meta"]["hostvars"]
    assert list(hostvars) == ["ams-edge-04", "fra-core-02"]  # inventory order
    rr = hostvars["fra-core-02"]
    assert rr["port"] == lab_inventory.ports["fra-core-02"]
    assert rr["groups"] == ["fra", "core"]
    assert rr["data"]["tags"] == ["prod", "rr"]
    assert rr["data"]["mgmt_vrf"] == "OOB"  # group fra over the defaults
    assert rr["data"]["region"] == "emea"  # from the parent group
    assert hostvars["ams-edge-04"]["data"]["mgmt_vrf"] == "MGMT"
    assert "password" not in ran.out
    assert lab_inventory.password not in ran.out


def test_inventory_selection_options(nrb: Nrb) -> None:
    ran = nrb.inventory("-F", "site=ams", "-t", "pe", "--skip-tags", "canary", "--list")
    empty = nrb.inventory("-t", "rr", "-l", "ams", "--list")

    assert ran.code == 0, ran
    assert list(json.loads(ran.out)["_meta"]["hostvars"]) == [
        "ams-edge-01",
        "ams-edge-02",
        "ams-edge-03",
    ]
    assert empty.code == 3, empty
    assert json.loads(empty.out)["_meta"]["hostvars"] == {}


def test_config_defaults_to_the_current_folder(nrb: Nrb, make_project: MakeProject) -> None:
    config = make_project(folder="site")
    write_text(config.parent, NO_TARGETS, "site.yaml")
    here = Nrb(config=config, cwd=config.parent, env=nrb.env)

    ran = here("run", "site.yaml", "--list-hosts", "-l", "edge:&fra")  # no -c
    elsewhere = nrb("run", "site/site.yaml", "--list-hosts", "-l", "fra-core-01")  # no config here

    assert (ran.code, ran.lines()) == (0, list(FRA_EDGE)), ran
    assert elsewhere.code == 5, elsewhere
    assert "config.yaml: config file not found" in elsewhere.err
