"""Inventories that would make ``nrb`` (or Nornir under it) hang, blow up or crash are located
input errors (exit 5), found before Nornir resolves anything; nesting within the bound works.

- a YAML alias bomb ("billion laughs") in the hosts file: expanded by ``inventory --list`` it
  grew past 2 GB;
- a chain of 3,000 groups: Nornir resolves inherited values recursively, with quadratic work
  at every level (a chain 900 deep took a minute a command; 3,000 deep was a RecursionError);
- a chain as deep as the bound allows, and a lattice of shared parents, list and run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from cli_kit import MakeProject, Nrb, WriteRunbook

from nornir_runbook.project.inventory import MAX_GROUP_DEPTH

pytestmark = pytest.mark.cli

LAUGHS = "\n".join(
    ["r1:", "  hostname: 127.0.0.1", "  data:", '    l0: &l0 ["lol", "lol", "lol", "lol", "lol"]']
    + [f"    l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
)
RUNBOOK = """
    name: Tags
    steps:
      - name: Where
        task: echo
        args: {groups: "{{ host.all_groups | length }}", tag: "{{ host.data.tags[0] }}"}
    """


def chain(depth: int) -> dict[str, dict[str, object]]:
    """Groups c0 (child) .. c<depth-1> (root, the one with data), each the parent of the last."""
    groups: dict[str, dict[str, object]] = {
        f"c{i}": {"groups": [f"c{i + 1}"]} for i in range(depth - 1)
    }
    groups[f"c{depth - 1}"] = {"data": {"tags": ["deep"]}}
    return groups


def lattice(levels: int, width: int) -> dict[str, dict[str, object]]:
    """Every group of a level the child of every group of the level above: width ** levels
    paths for Nornir, levels * width groups."""
    groups: dict[str, dict[str, object]] = {}
    for level in range(levels):
        parents = [f"l{level + 1}-{j}" for j in range(width)] if level < levels - 1 else []
        for i in range(width):
            groups[f"l{level}-{i}"] = {"groups": parents} if parents else {"data": {"tags": ["x"]}}
    return groups


def project_with(
    make_project: MakeProject, folder: str, groups: dict[str, dict[str, object]], first: str
) -> Path:
    """The lab project with ``groups`` added, ams-core-01 also in group ``first`` (and with no
    tags of its own, so that it inherits them)."""
    config = make_project(folder=folder)
    inventory = config.parent / "inventory"
    shipped = yaml.safe_load((inventory / "groups.yaml").read_text())
    (inventory / "groups.yaml").write_text(yaml.safe_dump({**shipped, **groups}, sort_keys=False))
    hosts = yaml.safe_load((inventory / "hosts.yaml").read_text())
    hosts["ams-core-01"]["groups"] = [*hosts["ams-core-01"]["groups"], first]
    hosts["ams-core-01"].setdefault("data", {}).pop("tags", None)
    (inventory / "hosts.yaml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    return config


def test_an_alias_bomb_is_a_located_input_error(nrb: Nrb, make_project: MakeProject) -> None:
    config = make_project()
    hosts = config.parent / "inventory" / "hosts.yaml"
    hosts.write_text(LAUGHS + "\n")

    for argv in (("inventory", "--list"), ("inventory", "--graph"), ("validate", "x.yaml")):
        ran = nrb(argv[0], "-c", config, *argv[1:])

        assert (ran.code, ran.out) == (5, ""), ran
        assert ran.err.startswith(
            f"{hosts}:2:3 r1: YAML aliases expand the file past 5000000 values"
        ), ran


def test_a_chain_of_3000_groups_is_a_located_input_error(
    nrb: Nrb, make_project: MakeProject, write_runbook: WriteRunbook
) -> None:
    config = project_with(make_project, "deep", chain(3000), "c0")
    write_runbook(RUNBOOK)

    listed = nrb.inventory("--list", config=config)
    ran = nrb.run("runbook.yaml", "--dry-run", "-l", "ams-core-01", config=config)

    groups = config.parent / "inventory" / "groups.yaml"
    for outcome in (listed, ran):
        assert (outcome.code, outcome.out) == (5, ""), outcome
        assert outcome.err.startswith(f"{groups}:"), outcome
        assert (
            f"c0.groups: groups nested 3000 deep through 'c0' (at most {MAX_GROUP_DEPTH}: "
            in outcome.err
        ), outcome
        assert "Traceback" not in outcome.err


def test_groups_as_deep_as_allowed_list_and_run(
    nrb: Nrb, make_project: MakeProject, write_runbook: WriteRunbook
) -> None:
    depth = MAX_GROUP_DEPTH - 3  # ams-core-01's own groups ams and core, ams's parent emea
    config = project_with(make_project, "deep", chain(depth), "c0")
    write_runbook(RUNBOOK)

    listed = nrb.inventory("--list", "-l", "ams-core-01", config=config)
    graph = nrb.inventory("--graph", "-l", "ams-core-01", config=config)
    ran = nrb.run("runbook.yaml", "--dry-run", "-l", "ams-core-01", "-o", "json", config=config)

    assert (listed.code, graph.code, ran.code) == (0, 0, 0), (listed, graph, ran)
    assert listed.json()["c0"] == {"hosts": ["ams-core-01"]}
    assert listed.json()[f"c{depth - 1}"] == {"children": [f"c{depth - 2}"]}
    assert len(re.findall(r"--@c\d+:", graph.out)) == depth
    args = ran.json()["hosts"]["ams-core-01"]["steps"][0]["result"]
    assert args == {"groups": 3 + depth, "tag": "deep"}  # one expression: its own type


def test_too_many_paths_through_shared_parents_is_a_located_input_error(
    nrb: Nrb, make_project: MakeProject
) -> None:
    config = project_with(make_project, "wide", lattice(levels=16, width=2), "l0-0")

    ran = nrb.inventory("--list", config=config)

    assert (ran.code, ran.out) == (5, ""), ran
    assert "l0-0.groups: group 'l0-0' reaches its parent groups through more than 10000" in ran.err
