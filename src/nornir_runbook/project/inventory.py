"""The inventory files (SimpleInventory's, or YAMLInventory's, the same format), checked before
Nornir reads them: mappings of the types Nornir needs, groups that exist, no group that is its
own parent, no nesting or alias expansion that would take Nornir minutes. Each problem names its
file, line and column and the key (``r1.port``), and never shows a value, which could be a
password. Keys Nornir does not know are left alone, as Nornir does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedBase
from ruamel.yaml.error import YAMLError

from nornir_runbook.errors import Problem
from nornir_runbook.project.yamldepth import MAX_DEPTH, TOO_DEEP, too_deep
from nornir_runbook.runner.options import is_whole
from nornir_runbook.text import described, kind_of, suggest

MAX_GROUP_DEPTH = 50  # levels of parent groups Nornir resolves in reasonable time
MAX_GROUP_PATHS = 10_000  # paths from a group to its ancestors (shared parents multiply them)
MAX_EXPANDED_VALUES = 5_000_000  # values an inventory file may hold once its aliases expand
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# what YAML loaders raise for a tagged value they cannot build: "!!float x", "!!bool maybe"
BAD_VALUE = (ValueError, TypeError, KeyError, OverflowError)
_STRING_KEYS = ("hostname", "username", "password", "platform")


class _InventoryFile:
    """One inventory file and the problems found in it.

    Read fast (libyaml, no positions) first; only when a problem is found is it read again as
    Nornir reads it (ruamel's safe loader), then with ruamel's round-trip loader, which keeps the
    line and column of every value. None builds anything but plain values, so a tag in the file
    cannot run anything.
    """

    def __init__(
        self, path: Path, role: str, problems: list[Problem], *, located: bool, named_by: str
    ) -> None:
        self.path = path
        self.role = role  # "hosts", "groups" or "defaults"
        self.problems = problems
        self.located = located
        self.named_by = named_by  # where its name comes from: "inventory.options.host_file in..."

    def load(self, encoding: str) -> Any:
        try:
            text = self.path.read_text(encoding=encoding)
        except (OSError, ValueError, LookupError) as exc:  # ValueError: not `encoding` text
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.add(None, f"cannot read the {self.role} file ({self.named_by}): {reason}")
            return None
        try:
            if not self.located:
                return yaml.load(text, Loader=_FAST_LOADER)  # noqa: S506 -- a safe loader
            if (deep := too_deep(text)) is not None:  # ruamel would take seconds, then crash
                self.add(None, f"invalid YAML: {TOO_DEEP}", deep.line, deep.column)
                return None
            YAML(typ="safe").load(text)  # the YAML errors exactly as Nornir will see them
            return YAML(typ="rt").load(text)
        except (YAMLError, yaml.YAMLError, *BAD_VALUE) as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            line, column = (mark.line, mark.column) if mark else (None, None)
            self.add(None, f"invalid YAML: {problem}", line, column)
            return None
        except RecursionError:
            self.add(None, f"invalid YAML: {TOO_DEEP}")
            return None

    def add(
        self,
        path: str | None,
        message: str,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.problems.append(
            Problem(
                message=message,
                file=str(self.path),
                line=None if line is None else line + 1,
                column=None if column is None else column + 1,
                path=path,
            )
        )

    def at(self, parent: Any, key: Any, path: str, message: str) -> None:
        """A problem with the value of ``parent[key]``, located where it was written."""
        line = column = None
        if isinstance(parent, CommentedBase):
            with contextlib.suppress(KeyError, IndexError, TypeError, AttributeError):
                line, column = (
                    parent.lc.value(key) if isinstance(parent, dict) else parent.lc.item(key)
                )
        self.add(path, message, line, column)


def simple_inventory_problems(
    options: Mapping[str, Any], config_file: str, *, located: bool = False
) -> list[Problem]:
    """Every problem of SimpleInventory's files that Nornir would crash on, or run with."""
    problems: list[Problem] = []
    encoding = options.get("encoding", "utf-8")
    if not isinstance(encoding, str):
        encoding = "utf-8"
    files: dict[str, _InventoryFile] = {}
    for key, role in (
        ("host_file", "hosts"),
        ("group_file", "groups"),
        ("defaults_file", "defaults"),
    ):
        value = options.get(key, f"{role}.yaml")
        if not isinstance(value, str) or not value or "\0" in value:
            where = f"inventory.options.{key}"
            problems.append(Problem(message="expected a file name", file=config_file, path=where))
            continue
        named_by = f"inventory.options.{key} in {config_file}" if key in options else "default"
        files[key] = _InventoryFile(Path(value), role, problems, located=located, named_by=named_by)
    if problems:
        return problems
    # the hosts file must exist; a groups or defaults file may be left out (as SimpleInventory
    # allows), but one that config.yaml names must be there: a typo must not drop the defaults
    data = {
        key: file.load(encoding)
        if key == "host_file" or key in options or _exists(file.path)
        else None
        for key, file in files.items()
    }
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
        _check_expanded_size(files[key], document, whole=key == "defaults_file")
    if problems and not located:
        # the same problems with their positions (ruamel's round trip reads an alias inside its
        # own anchor as null: then the first reading is the one to trust)
        return simple_inventory_problems(options, config_file, located=True) or problems
    return sorted(problems, key=lambda p: (p.file or "", p.line or 0, p.column or 0))


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long, say: reading it says why
        return True


def _elements(file: _InventoryFile, value: Any) -> dict[str, Any]:
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
    file: _InventoryFile, element: dict[Any, Any], name: str, groups: set[str] | None
) -> None:
    """A host, a group or the defaults (``groups`` None): every value of the type Nornir needs."""
    prefix = f"{name}." if name else ""
    _check_fields(file, element, name)
    data = element.get("data")
    if data is not None and not isinstance(data, dict):
        file.at(element, "data", f"{prefix}data", f"expected a mapping, got {kind_of(data)}")
    elif data is not None and (problem := _data_problem(data)):
        file.at(element, "data", f"{prefix}data", problem)
    if groups is not None and element.get("groups") is not None:
        _check_parents(file, element, f"{prefix}groups", groups)
    if element.get("connection_options") is not None:
        _check_connections(file, element, f"{prefix}connection_options")


def _check_parents(
    file: _InventoryFile, element: dict[Any, Any], path: str, groups: set[str]
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


def _check_connections(file: _InventoryFile, element: dict[Any, Any], path: str) -> None:
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


def _check_fields(file: _InventoryFile, element: dict[Any, Any], name: str) -> None:
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


def _check_group_graph(file: _InventoryFile, groups: Mapping[str, Any]) -> None:
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
    file: _InventoryFile,
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


def _check_expanded_size(file: _InventoryFile, document: Any, *, whole: bool) -> None:
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
