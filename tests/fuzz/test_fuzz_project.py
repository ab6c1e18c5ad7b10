"""Property: no config.yaml or inventory file, however wrong, is a bug in nrb.

The lab project (``config.yaml``, ``inventory/hosts.yaml``, ``groups.yaml``, ``defaults.yaml``) is
damaged one to three ways: a file left out or replaced by junk text, wrong types (the hosts as a
list, a port as a string, ``data`` not a mapping, a group that does not exist or is its own
parent), an unknown inventory plugin, bad or unknown runner options. Then ``nrb run RUNBOOK
--dry-run -o json``, ``nrb inventory --list`` and ``nrb validate RUNBOOK`` (a valid runbook):

- exit 0, 3 or 5, never 1, never a traceback, never a password on stdout or stderr;
- a damage that is invalid for sure (``must_fail``) exits 5 on every command that reads the
  project, and the message names a file it concerns;
- on 0 or 3 stdout is one JSON document.
"""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st
from nrb_fuzz_harness import (
    GROUPS,
    assert_no_bug,
    call,
    code,
    count,
    fuzz_settings,
    project_files,
    write_project,
)
from test_fuzz_runbooks import JUNK, ODD_TEXT, SENTINEL, TAGGED, near_miss

CONFIG, HOSTS_FILE, GROUPS_FILE, DEFAULTS_FILE = (
    "config.yaml",
    "inventory/hosts.yaml",
    "inventory/groups.yaml",
    "inventory/defaults.yaml",
)
RUNBOOK = "rb.yaml"
PROJECT = project_files()


@dataclass(frozen=True, slots=True)
class Damage:
    label: str
    must_fail: bool  # invalid whatever else happens to the project (but see `slots`)
    names: frozenset[str]  # file names a message about it may name
    # what it wrote, as "file/key/key": a later damage that writes there or above undoes it
    slots: tuple[str, ...]

    def undone_by(self, later: Damage) -> bool:
        return any(s == w or s.startswith(f"{w}/") for s in self.slots for w in later.slots)


def _damage(label: str, must_fail: bool, *names: str, at: str | tuple[str, ...]) -> Damage:
    slots = (at,) if isinstance(at, str) else at
    return Damage(label, must_fail, frozenset(Path(n).name for n in names), slots)


NOT_STRINGS = st.one_of(
    st.integers(), st.booleans(), st.floats(), st.lists(st.just("x"), max_size=2), st.just({})
)
BAD_PORTS = st.one_of(
    st.sampled_from(["22", "abc", 0, -1, 65536, 10**20, True, 1.5, [22], {"p": 22}, ""]),
    st.integers(max_value=0),
    st.integers(min_value=65536),
)
NOT_MAPPINGS = st.one_of(
    st.integers(), st.booleans(), st.floats(), ODD_TEXT, st.lists(JUNK, max_size=2)
)
BAD_RUNNER_OPTIONS: dict[str, list[Any]] = {
    "num_workers": [0, -3, "4", 1.5, True, [4]],
    "executor": ["threads", "", 1, "Thread"],
    "dask_address": [1, ["tcp://x:1"]],
    "task_timeout": [0, -1, "abc", float("nan"), float("inf"), True],
    "retries": [-1, "1", 0.5, False],
    "retry_backoff": [-1, "x", float("nan")],
    "max_fail_percentage": [101, -1, "20%", float("nan")],
    "connect_limit": [0, "x", -2, 1.5],
    "group_limits": [[1], {"core": 0}, {"core": "x"}, "core=1", {1: 2}],
    "grace_period": [-1, "x"],
}


def _hosts(files: dict[str, Any]) -> dict[str, Any] | None:
    hosts = files.get(HOSTS_FILE)
    return hosts if isinstance(hosts, dict) and hosts else None


def _groups(files: dict[str, Any]) -> dict[str, Any] | None:
    groups = files.get(GROUPS_FILE)
    return groups if isinstance(groups, dict) and groups else None


def _element(
    data: st.DataObject, files: dict[str, Any], which: str
) -> tuple[str, dict[str, Any]] | None:
    """A host's (or group's, or the defaults') name and settings mapping, if there is one."""
    if which == "defaults":
        defaults = files.get(DEFAULTS_FILE)
        return ("", defaults) if isinstance(defaults, dict) else None
    elements = _hosts(files) if which == "host" else _groups(files)
    if not elements:
        return None
    name = data.draw(st.sampled_from(sorted(elements, key=str)))
    element = elements[name]
    return (str(name), element) if isinstance(element, dict) else None


Files = dict[str, Any]
Config = dict[str, Any]


def _section(data: st.DataObject, config: Config) -> Damage | None:
    section = data.draw(st.sampled_from(["inventory", "runner", "logging", "user_defined"]))
    config[section] = data.draw(st.one_of(st.none(), NOT_MAPPINGS))
    return _damage(f"config: {section} not a mapping", True, CONFIG, at=f"{CONFIG}/{section}")


def _plugin(data: st.DataObject, config: Config) -> Damage | None:
    if not isinstance(inventory := config.get("inventory"), dict):
        return None
    inventory["plugin"] = data.draw(
        st.one_of(near_miss("SimpleInventory"), st.sampled_from(["", "NoInventory", 1]))
    )
    sure = inventory["plugin"] not in ("SimpleInventory", "YAMLInventory")
    return _damage(
        "config: unknown inventory plugin", sure, CONFIG, at=f"{CONFIG}/inventory/plugin"
    )


def _inventory_options(data: st.DataObject, config: Config) -> Damage | None:
    if not isinstance(inventory := config.get("inventory"), dict):
        return None
    inventory["options"] = data.draw(NOT_MAPPINGS)
    at = f"{CONFIG}/inventory/options"
    return _damage("config: inventory.options not a mapping", True, CONFIG, at=at)


FILE_OPTION_VALUES = st.one_of(
    NOT_STRINGS, st.sampled_from(["", "nowhere.yaml", "inventory", "/dev/null/x", "a" * 5000])
)


def _file_option(data: st.DataObject, config: Config) -> Damage | None:
    inventory = config.get("inventory")
    if not isinstance(inventory, dict) or not isinstance(inventory.get("options"), dict):
        return None
    key = data.draw(st.sampled_from(["host_file", "group_file", "defaults_file"]))
    value = inventory["options"][key] = data.draw(FILE_OPTION_VALUES)
    sure = key == "host_file" or not isinstance(value, str)
    at = f"{CONFIG}/inventory/options/{key}"
    return _damage(f"config: {key} damaged", sure, CONFIG, HOSTS_FILE, at=at)


def _runner_option(data: st.DataObject, config: Config) -> Damage | None:
    runner = config.setdefault("runner", {})
    if not isinstance(runner, dict) or not isinstance(runner.setdefault("options", {}), dict):
        return None
    option = data.draw(st.sampled_from(sorted(BAD_RUNNER_OPTIONS)))
    if data.draw(st.booleans()):
        runner["options"][option] = data.draw(st.sampled_from(BAD_RUNNER_OPTIONS[option]))
        at = f"{CONFIG}/runner/options/{option}"
        return _damage(f"config: runner option {option}", True, CONFIG, at=at)
    misspelt = data.draw(near_miss(option))
    runner["options"][misspelt] = 1
    at = f"{CONFIG}/runner/options/{misspelt}"
    return _damage("config: unknown runner option", misspelt != option, CONFIG, at=at)


def _unknown_section(data: st.DataObject, config: Config) -> Damage | None:
    key = data.draw(ODD_TEXT)
    config[key] = data.draw(JUNK)
    return _damage("config: unknown section", False, CONFIG, at=f"{CONFIG}/{key}")


CONFIG_DAMAGES: dict[str, Callable[[st.DataObject, Config], Damage | None]] = {
    "section": _section,
    "plugin": _plugin,
    "inventory options": _inventory_options,
    "file option": _file_option,
    "runner option": _runner_option,
    "unknown section": _unknown_section,
}


def damage_config(data: st.DataObject, files: Files) -> Damage | None:
    config = files.get(CONFIG)
    if not isinstance(config, dict):
        return None
    return CONFIG_DAMAGES[data.draw(st.sampled_from(sorted(CONFIG_DAMAGES)))](data, config)


# inventory: whole files --------------------------------------------------------------------------


def _hosts_not_a_mapping(data: st.DataObject, files: Files) -> Damage | None:
    hosts = data.draw(
        st.one_of(st.lists(st.sampled_from(["r1", "r2"]), min_size=1), st.integers(), ODD_TEXT)
    )
    files[HOSTS_FILE] = [hosts]  # dumped as a list: the YAML text is a list, never empty
    return _damage("hosts file not a mapping", True, HOSTS_FILE, at=HOSTS_FILE)


def _host_not_a_mapping(data: st.DataObject, files: Files) -> Damage | None:
    if not (hosts := _hosts(files)):
        return None
    name = data.draw(st.sampled_from(sorted(hosts, key=str)))
    hosts[name] = data.draw(st.one_of(st.none(), NOT_MAPPINGS))
    return _damage("a host not a mapping", True, HOSTS_FILE, at=f"{HOSTS_FILE}/{name}")


def _host_name(data: st.DataObject, files: Files) -> Damage | None:
    if not (hosts := _hosts(files)):
        return None
    name = data.draw(st.one_of(st.integers(), st.booleans(), st.none()))
    hosts[name] = {}
    return _damage("a host name not a string", True, HOSTS_FILE, at=f"{HOSTS_FILE}/{name}")


def _group_cycle(data: st.DataObject, files: Files) -> Damage | None:
    groups = _groups(files)
    first, second = data.draw(st.sampled_from([("emea", "ams"), ("core", "core")]))
    if not groups or not all(isinstance(groups.get(g), dict) for g in (first, second)):
        return None
    groups[first]["groups"] = [second]
    groups[second]["groups"] = [first]
    at = (f"{GROUPS_FILE}/{first}/groups", f"{GROUPS_FILE}/{second}/groups")
    return _damage("group cycle", True, GROUPS_FILE, at=at)


def _defaults_not_a_mapping(data: st.DataObject, files: Files) -> Damage | None:
    files[DEFAULTS_FILE] = data.draw(
        st.one_of(st.lists(JUNK, min_size=1, max_size=2), st.integers(), st.booleans())
    )
    return _damage("defaults not a mapping", True, DEFAULTS_FILE, at=DEFAULTS_FILE)


# inventory: one host, group or the defaults ------------------------------------------------------

Element = dict[str, Any]


def _port(data: st.DataObject, element: Element, which: str) -> tuple[str, bool, str]:
    element["port"] = data.draw(BAD_PORTS)
    return "port", True, "port"


def _string_field(data: st.DataObject, element: Element, which: str) -> tuple[str, bool, str]:
    field = data.draw(st.sampled_from(["hostname", "username", "password", "platform"]))
    element[field] = data.draw(NOT_STRINGS)
    return f"{field} not a string", True, field


def _data(data: st.DataObject, element: Element, which: str) -> tuple[str, bool, str]:
    element["data"] = data.draw(NOT_MAPPINGS)
    return "data not a mapping", True, "data"


def _parents(data: st.DataObject, element: Element, which: str) -> tuple[str, bool, str]:
    element["groups"] = data.draw(st.one_of(ODD_TEXT, st.integers(), st.just([1, None])))
    return "groups not a list of names", which != "defaults" and element["groups"] != "", "groups"


def _unknown_group(data: st.DataObject, element: Element, which: str) -> tuple[str, bool, str]:
    element["groups"] = [data.draw(st.one_of(near_miss("core"), st.just("nowhere")))]
    sure = which != "defaults" and element["groups"][0] not in GROUPS
    return "in an unknown group", sure, "groups"


CONNECTION_OPTIONS = st.one_of(
    NOT_MAPPINGS,
    st.sampled_from(
        [
            {"netmiko": None},
            {"netmiko": [1]},
            {"netmiko": {"extras": 5}},
            {"netmiko": {"port": "x"}},
            {"netmiko": {"password": 1234}},
        ]
    ),
)


def _connection_options(data: st.DataObject, element: Element, which: str) -> tuple[str, bool, str]:
    element["connection_options"] = copy.deepcopy(data.draw(CONNECTION_OPTIONS))
    return "connection_options", True, "connection_options"


def _near_miss_key(data: st.DataObject, element: Element, which: str) -> tuple[str, bool, str]:
    key = data.draw(st.sampled_from(["hostname", "port", "groups", "data", "platform"]))
    misspelt = data.draw(near_miss(key))
    element[misspelt] = "x"
    return "near-miss key (ignored, as Nornir does)", False, misspelt


ELEMENT_DAMAGES: dict[str, Callable[[st.DataObject, Element, str], tuple[str, bool, str]]] = {
    "port": _port,
    "string field": _string_field,
    "data": _data,
    "groups": _parents,
    "unknown group": _unknown_group,
    "connection options": _connection_options,
    "near-miss key": _near_miss_key,
}


def _element_damage(data: st.DataObject, files: Files) -> Damage | None:
    which = data.draw(st.sampled_from(["host", "group", "defaults"]))
    found = _element(data, files, which)
    if found is None:
        return None
    name, element = found
    how = data.draw(st.sampled_from(sorted(ELEMENT_DAMAGES)))
    label, sure, field = ELEMENT_DAMAGES[how](data, element, which)
    file = {"host": HOSTS_FILE, "group": GROUPS_FILE, "defaults": DEFAULTS_FILE}[which]
    return _damage(f"{which}: {label}", sure, file, at=f"{file}/{name}/{field}".replace("//", "/"))


INVENTORY_DAMAGES: dict[str, Callable[[st.DataObject, Files], Damage | None]] = {
    "hosts not a mapping": _hosts_not_a_mapping,
    "host not a mapping": _host_not_a_mapping,
    "host name": _host_name,
    "group cycle": _group_cycle,
    "defaults not a mapping": _defaults_not_a_mapping,
    "element": _element_damage,
}


def damage_inventory(data: st.DataObject, files: Files) -> Damage | None:
    kinds = [*sorted(INVENTORY_DAMAGES), *["element"] * 5]  # many ways to damage an element
    how = data.draw(st.sampled_from(kinds), label="inventory damage")
    return INVENTORY_DAMAGES[how](data, files)


def damage_file(data: st.DataObject, files: dict[str, Any]) -> Damage:
    name = data.draw(st.sampled_from([CONFIG, HOSTS_FILE, GROUPS_FILE, DEFAULTS_FILE]))
    how = data.draw(st.sampled_from(["missing", "junk text", "bytes", "tag", "bad yaml"]))
    if how == "missing":
        files[name] = None
        sure = name in (CONFIG, HOSTS_FILE)  # (groups: if no damage left the hosts groupless)
        return _damage(f"{name} missing", sure, name, HOSTS_FILE, at=name)
    if how == "junk text":
        files[name] = data.draw(st.text(max_size=200))
    elif how == "bytes":
        files[name] = data.draw(
            st.one_of(st.binary(max_size=100), st.just(b"\xff\xfe\x00a"), st.just(b"a: \x80"))
        )
    elif how == "tag":
        files[name] = "x: " + data.draw(st.sampled_from(TAGGED)) + "\n"
    else:
        files[name] = data.draw(
            st.sampled_from(["a: [", "\tr1: {}", "r1: {}\nr1: {}\n", "{", "a: b: c", "- a\nb: c"])
        )
    return _damage(f"{name} {how}", False, name, HOSTS_FILE, at=name)


@st.composite
def damaged_projects(draw: st.DrawFn) -> tuple[dict[str, Any], list[Damage]]:
    data = draw(st.data())
    files = copy.deepcopy(PROJECT)
    damages: list[Damage] = []
    kinds: list[Callable[[st.DataObject, dict[str, Any]], Damage | None]] = [
        damage_config,
        damage_inventory,
        damage_file,
    ]
    for _ in range(draw(st.integers(1, 3))):
        found = draw(st.sampled_from(kinds))(data, files)
        if found is None:
            continue
        # what was written there before is gone
        damages = [replace(d, must_fail=False) if d.undone_by(found) else d for d in damages]
        damages.append(found)
        files = copy.deepcopy(files)  # later damage must not write into shared constants
    return files, damages


def _texts(files: dict[str, Any], sentinel: Path) -> dict[str, Any]:
    """Data dumped as YAML; text, bytes and None (no file) as they are; SENTINEL in a YAML tag's
    arguments made ``sentinel``, a path that must never come to exist."""
    texts = {
        name: content
        if content is None or isinstance(content, str | bytes)
        else yaml.safe_dump(content, sort_keys=False, allow_unicode=True)
        for name, content in files.items()
    }
    return {
        name: text.replace(SENTINEL, str(sentinel)) if isinstance(text, str) else text
        for name, text in texts.items()
    }


def _assert_json(outcome: Any) -> None:
    try:
        json.loads(outcome.out)
    except ValueError as exc:
        raise AssertionError(f"stdout is not one JSON document: {exc}\n{outcome}") from None


@fuzz_settings(300)
@given(project=damaged_projects())
def test_damaged_projects_are_input_errors(project: tuple[dict[str, Any], list[Damage]]) -> None:
    files, damages = project
    with tempfile.TemporaryDirectory(prefix="nrb-fuzz-") as tmp:
        folder = Path(tmp)
        sentinel = folder / "SENTINEL"
        write_project(folder, _texts(files, sentinel))
        (folder / RUNBOOK).write_text("name: t\nsteps:\n  - commands: [show clock]\n")
        ran = call(["run", RUNBOOK, "--dry-run", "-o", "json"], cwd=folder)
        listed = call(["inventory", "--list"], cwd=folder)
        checked = call(["validate", RUNBOOK], cwd=folder)
        assert not sentinel.exists(), "a YAML tag in the project built something"
    must_fail = any(d.must_fail for d in damages)
    count("project: config and inventory", f"run {code(ran)}, must fail: {must_fail}")
    names = frozenset().union(*(d.names for d in damages)) if damages else frozenset()
    for outcome in (ran, listed, checked):
        assert_no_bug(outcome)
        if outcome.code == 5:
            said = [n for n in names if n in outcome.err]
            assert said, f"the message names no file it concerns ({sorted(names)})\n{outcome}"
    for outcome in (ran, listed):
        if must_fail:
            assert outcome.code == 5, f"{[d.label for d in damages]}\n{outcome}"
        elif outcome.code in (0, 3):
            _assert_json(outcome)
    if must_fail and files.get(CONFIG) is not None:
        assert checked.code == 5, f"{[d.label for d in damages]}\n{checked}"
