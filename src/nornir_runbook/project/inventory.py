"""The inventory files (SimpleInventory's, or YAMLInventory's, the same format), read once and
checked before Nornir's inventory is built from them: mappings of the types Nornir needs, groups
that exist, no group that is its own parent, no nesting or alias expansion that would take Nornir
minutes. Each problem names its file, line and column and the key (``r1.port``), and never shows
a value, which could be a password. Keys Nornir does not know are left alone, as Nornir does.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nornir_runbook.errors import InventoryError, Problem
from nornir_runbook.project.fastyaml import gc_paused
from nornir_runbook.project.inventoryfile import InventoryFile
from nornir_runbook.project.yamldepth import MAX_DEPTH, TOO_DEEP
from nornir_runbook.runner.options import is_whole
from nornir_runbook.text import described, kind_of, suggest

MAX_GROUP_DEPTH = 50  # levels of parent groups Nornir resolves in reasonable time
MAX_GROUP_PATHS = 10_000  # paths from a group to its ancestors (shared parents multiply them)
MAX_EXPANDED_VALUES = 5_000_000  # values an inventory file may hold once its aliases expand
_STRING_KEYS = ("hostname", "username", "password", "platform")
_FILES = (("host_file", "hosts"), ("group_file", "groups"), ("defaults_file", "defaults"))


@dataclass(frozen=True, slots=True)
class InventoryData:
    """What the three files hold, checked: ``hosts`` and ``groups`` map names to settings
    (empty when the file is empty, or not there); ``empty``: the files read that hold nothing,
    as ``(role, path)`` (SimpleInventory warns of them)."""

    hosts: dict[str, dict[str, Any]]
    groups: dict[str, dict[str, Any]]
    defaults: dict[str, Any]
    empty: tuple[tuple[str, Path], ...] = ()


def read_inventory(
    options: Mapping[str, Any], config_file: str | None, *, required: Collection[str] = ()
) -> InventoryData:
    """SimpleInventory's files named by ``options`` (its own options), each read and parsed
    once, then checked. The hosts file must be there; a groups or defaults file may be left out
    (as SimpleInventory allows) unless its option is in ``required``: a typo in config.yaml must
    not drop the defaults. InventoryError lists every problem, located (the files are read
    again, with positions, only then)."""
    with gc_paused():  # nothing to collect while the files become values
        files, problems = _files(options, config_file, located=False)
        data = _read(files, options, required)
    if problems:
        located = simple_inventory_problems(options, config_file, required=required)
        raise InventoryError(located or sorted(problems, key=_order))
    empty = tuple((files[key].role, files[key].path) for key, value in data.items() if value == {})
    return InventoryData(
        hosts=data["host_file"] or {},
        groups=data["group_file"] or {},
        defaults=data["defaults_file"] or {},
        empty=empty,
    )


def simple_inventory_problems(
    options: Mapping[str, Any], config_file: str | None, *, required: Collection[str] = ()
) -> list[Problem]:
    """Every problem of SimpleInventory's files that Nornir would crash on, or run with, each
    with its line and column (ruamel's round trip reads an alias inside its own anchor as null:
    then the problems of :func:`read_inventory`'s reading are the ones to trust)."""
    files, problems = _files(options, config_file, located=True)
    _read(files, options, required)
    return sorted(problems, key=_order)


def _order(problem: Problem) -> tuple[str, int, int]:
    return (problem.file or "", problem.line or 0, problem.column or 0)


def _files(
    options: Mapping[str, Any], config_file: str | None, *, located: bool
) -> tuple[dict[str, InventoryFile], list[Problem]]:
    problems: list[Problem] = []
    files: dict[str, InventoryFile] = {}
    where = f" in {config_file}" if config_file else ""
    for key, role in _FILES:
        value = options.get(key, f"{role}.yaml")
        if not isinstance(value, str) or not value or "\0" in value:
            where = f"inventory.options.{key}"
            problems.append(Problem(message="expected a file name", file=config_file, path=where))
            continue
        named_by = f"inventory.options.{key}{where}" if key in options else "default"
        path = Path(value).expanduser()  # as SimpleInventory
        files[key] = InventoryFile(path, role, problems, located=located, named_by=named_by)
    return files, problems


def _read(
    files: Mapping[str, InventoryFile], options: Mapping[str, Any], required: Collection[str]
) -> dict[str, Any]:
    """Each file's value (an empty mapping for one that is empty; None: not there, or not
    read), checked: the problems go to the files."""
    data: dict[str, Any] = dict.fromkeys(key for key, _ in _FILES)
    if len(files) < len(_FILES):
        return data
    encoding = options.get("encoding", "utf-8")
    if not isinstance(encoding, str):
        encoding = "utf-8"
    for key, file in files.items():
        if key == "host_file" or key in required or file.exists():
            value = file.load(encoding)
            data[key] = {} if value is None and not file.problems else value
    defaults = data["defaults_file"]
    if isinstance(defaults, dict):
        _check_element(files["defaults_file"], defaults, "", None)
    elif defaults is not None:
        message = f"expected a mapping of defaults, got {kind_of(defaults)}"
        files["defaults_file"].add(None, message)
    groups = _elements(files["group_file"], data["group_file"])
    hosts = _elements(files["host_file"], data["host_file"])
    known = set(groups)
    for name, group in groups.items():
        _check_element(files["group_file"], group, name, known)
    for name, host in hosts.items():
        _check_element(files["host_file"], host, name, known)
    _check_group_graph(files["group_file"], groups)
    for key, document in data.items():
        if files[key].aliased:
            _check_expanded_size(files[key], document, whole=key == "defaults_file")
    return data


def _elements(file: InventoryFile, value: Any) -> dict[str, Any]:
    """The hosts (or groups) of a file that are mappings; a problem for each that is not."""
    if value is None:
        return {}
    kind = file.role[:-1]  # host, group
    if not isinstance(value, dict):
        file.add(
            None, f"expected a mapping of {kind} names to their settings, got {kind_of(value)}"
        )
        return {}
    elements = {}
    for name, element in value.items():
        if not isinstance(name, str) or not name.strip():
            file.at(value, name, str(name), f"a {kind} name must be a non-empty string")
        elif not isinstance(element, dict):
            message = f"expected a mapping of {kind} settings, got {kind_of(element)}"
            file.at(value, name, name, message)
        else:
            elements[name] = element
    return elements


def _check_element(
    file: InventoryFile, element: dict[Any, Any], name: str, groups: set[str] | None
) -> None:
    """A host, a group or the defaults (``groups`` None): every value of the type Nornir needs."""
    prefix = f"{name}." if name else ""
    _check_fields(file, element, name)
    data = element.get("data")
    if data is not None and not isinstance(data, dict):
        file.at(element, "data", f"{prefix}data", f"expected a mapping, got {kind_of(data)}")
    elif data is not None and file.aliased and (problem := _data_problem(data)):
        file.at(element, "data", f"{prefix}data", problem)
    if groups is not None and element.get("groups") is not None:
        _check_parents(file, element, f"{prefix}groups", groups)
    if element.get("connection_options") is not None:
        _check_connections(file, element, f"{prefix}connection_options")


def _check_parents(
    file: InventoryFile, element: dict[Any, Any], path: str, groups: set[str]
) -> None:
    parents = element["groups"]
    if not isinstance(parents, list):
        file.at(element, "groups", path, f"expected a list of group names, got {kind_of(parents)}")
        return
    for index, parent in enumerate(parents):
        where = f"{path}[{index}]"
        if not isinstance(parent, str):
            file.at(parents, index, where, f"expected a group name, got {kind_of(parent)}")
        elif parent not in groups:
            close = suggest(parent, sorted(groups))
            hint = f" (did you mean '{close}'?)" if close else ""
            file.at(parents, index, where, f"unknown group '{parent}'{hint}")


def _check_connections(file: InventoryFile, element: dict[Any, Any], path: str) -> None:
    options = element["connection_options"]
    if not isinstance(options, dict):
        message = f"expected a mapping of connection names to options, got {kind_of(options)}"
        file.at(element, "connection_options", path, message)
        return
    for connection, settings in options.items():
        where = f"{path}.{connection}"
        if not isinstance(settings, dict):
            file.at(options, connection, where, f"expected a mapping, got {kind_of(settings)}")
            continue
        _check_fields(file, settings, where)
        extras = settings.get("extras")
        if extras is not None and not isinstance(extras, dict):
            message = f"expected a mapping, got {kind_of(extras)}"
            file.at(settings, "extras", f"{where}.extras", message)


def _check_fields(file: InventoryFile, element: dict[Any, Any], name: str) -> None:
    for key in _STRING_KEYS:
        value = element.get(key)
        if value is not None and not isinstance(value, str):
            where = f"{name}.{key}" if name else key
            # never the value itself: it may be a password
            file.at(element, key, where, f"expected a string, got {kind_of(value)} (quote it)")
    port = element.get("port")
    if port is not None and not (is_whole(port, 1) and port <= 65535):  # noqa: PLR2004
        where = f"{name}.port" if name else "port"
        message = f"expected a port number from 1 to 65535, got {described(port, text=False)}"
        file.at(element, "port", where, message)


def _data_problem(value: Any) -> str | None:
    """What makes ``data`` unusable: it holds itself (an alias inside its own anchor), or it
    nests deeper than anything that walks it can follow. Each container is walked once."""
    seen: dict[int, int] = {}  # id -> the deepest level it was walked at
    active: set[int] = set()

    def visit(item: Any, depth: int) -> str | None:
        if not isinstance(item, dict | list):
            return None
        if id(item) in active:
            return "recursive alias: this value contains itself"
        if depth > MAX_DEPTH:
            return TOO_DEEP
        if seen.get(id(item), -1) >= depth:
            return None
        seen[id(item)] = depth
        active.add(id(item))
        children = item.values() if isinstance(item, dict) else item
        found = next((p for c in children if (p := visit(c, depth + 1))), None)
        active.discard(id(item))
        return found

    try:
        return visit(value, 1)
    except RecursionError:
        return TOO_DEEP


def _check_group_graph(file: InventoryFile, groups: Mapping[str, Any]) -> None:
    """Groups that are their own parent (``a: {groups: [b]}``, ``b: {groups: [a]}``), and
    nesting beyond what Nornir resolves: Nornir walks a group's parents recursively, once per
    path and with quadratic list work at every level, for every attribute a host inherits (a
    chain 900 deep took a minute a command, 3,000 deep crashed it). One walk, linear in the
    number of groups and parent links."""

    def parents(name: str) -> list[str]:
        value = groups[name].get("groups")
        return (
            [g for g in value if isinstance(g, str) and g in groups]
            if isinstance(value, list)
            else []
        )

    depth: dict[str, int] = {}  # the longest parent chain from a group, itself included
    paths: dict[str, int] = {}  # how many groups Nornir visits resolving it (capped)
    active: dict[str, int] = {}  # groups on the walk's current path -> their place in it
    in_cycle: set[str] = set()
    for root in groups:
        if root in depth:
            continue
        trail: list[str] = [root]
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(parents(root)))]
        active[root] = 0
        while stack:
            name, pending = stack[-1]
            parent = next(pending, None)
            if parent is None:
                stack.pop()
                trail.pop()
                del active[name]
                above = [p for p in parents(name) if p in depth]
                depth[name] = 1 + max((depth[p] for p in above), default=0)
                paths[name] = min(1 + sum(paths[p] for p in above), MAX_GROUP_PATHS + 1)
            elif parent in active:
                cycle = [*trail[active[parent] :], parent]
                if in_cycle.isdisjoint(cycle):
                    message = f"group cycle: {' -> '.join(cycle)}"
                    file.at(groups[parent], "groups", f"{parent}.groups", message)
                in_cycle.update(cycle)
            elif parent not in depth:
                active[parent] = len(trail)
                trail.append(parent)
                stack.append((parent, iter(parents(parent))))
    _check_nesting(file, groups, depth, paths, in_cycle)


def _check_nesting(
    file: InventoryFile,
    groups: Mapping[str, Any],
    depth: Mapping[str, int],
    paths: Mapping[str, int],
    in_cycle: set[str],
) -> None:
    """One problem for the first group (in file order) nested deeper than Nornir can resolve."""
    for name in groups:
        if name in in_cycle:
            continue
        if depth[name] > MAX_GROUP_DEPTH:
            message = (
                f"groups nested {depth[name]} deep through '{name}' "
                f"(at most {MAX_GROUP_DEPTH}: Nornir resolves inherited values level by level)"
            )
        elif paths[name] > MAX_GROUP_PATHS:
            message = (
                f"group '{name}' reaches its parent groups through more than {MAX_GROUP_PATHS} "
                "paths (Nornir resolves inherited values once per path)"
            )
        else:
            continue
        file.at(groups[name], "groups", f"{name}.groups", message)
        return


def _check_expanded_size(file: InventoryFile, document: Any, *, whole: bool) -> None:
    """YAML aliases let a small file stand for a huge one ("billion laughs"): whatever expands
    it (``nrb inventory --list``, a report, a template over host data) would take it all. The
    first host or group (in file order) that takes the file past :data:`MAX_EXPANDED_VALUES`
    is named (with ``whole``, the file: the defaults)."""
    message = f"YAML aliases expand the file past {MAX_EXPANDED_VALUES} values (an alias bomb?)"
    sizes: dict[int, int] = {}  # id -> expanded size of that container (capped)
    if whole or not isinstance(document, dict):
        if _expanded_size(document, sizes) > MAX_EXPANDED_VALUES:
            file.add(None, message)
        return
    total = 0
    for name, element in document.items():
        total += _expanded_size(element, sizes)
        if total > MAX_EXPANDED_VALUES:
            file.at(document, name, str(name), message)
            return


def _expanded_size(value: Any, sizes: dict[int, int]) -> int:
    """How many values ``value`` holds once every alias is copied out (capped just past the
    limit); each container is walked once, without recursion."""
    if not isinstance(value, dict | list):
        return 1
    stack: list[tuple[Any, bool]] = [(value, False)]
    started: set[int] = set()  # an alias inside its own anchor counts once (reported elsewhere)
    while stack:
        item, children_done = stack.pop()
        if id(item) in sizes or (not children_done and id(item) in started):
            continue
        started.add(id(item))
        children = list(item.values() if isinstance(item, dict) else item)
        containers = [c for c in children if isinstance(c, dict | list)]
        if children_done:
            size = (
                1 + len(children) - len(containers) + sum(sizes.get(id(c), 0) for c in containers)
            )
            sizes[id(item)] = min(size, MAX_EXPANDED_VALUES + 1)
        else:
            stack.append((item, True))
            stack.extend((c, False) for c in containers if id(c) not in sizes)
    return sizes[id(value)]
