"""A runbook's YAML text as plain data, with where each value was written.

The YAML is composed into nodes (ruamel, which keeps line and column) and never constructed
into Python objects by a YAML constructor, so nothing a tag names is ever built or run. Only
plain values are allowed: strings, integers, floats, booleans, null, lists and mappings, with
anchors, aliases and ``<<`` merge keys. Any other tag (``!!python/object``, ``!!binary``,
``!!set``, ``!custom``...) is an error at its position; dates stay strings. Duplicate keys and
anchors defined twice are errors.

Lists and mappings nest at most :data:`MAX_DEPTH` (100) deep: every later step (templates,
the plan, the report) walks values recursively, and ruamel's own parser needs time quadratic
in the nesting of ``[[[[...]]]]``, so that is checked first, with libyaml.
"""

from __future__ import annotations

import contextlib
from typing import Any, NamedTuple

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from nornir_runbook.errors import Problem
from nornir_runbook.project.yamldepth import MAX_DEPTH, TOO_DEEP, too_deep
from nornir_runbook.runbook.model import Location
from nornir_runbook.runbook.templating import index_path, key_path, located_problem

__all__ = ["Document", "plain_scalar"]

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset(_CORE + t for t in ("str", "int", "float", "bool", "null"))
_MAX_VALUES = 100_000  # an alias bomb stops here
_TOO_DEEP = f"invalid YAML: {TOO_DEEP}"
_BAD_MERGE = "'<<' merges a mapping or a list of mappings (and not one that holds it)"


class _TooLarge(Exception):
    pass


class _Mark(NamedTuple):
    line: int  # 0-based, as ruamel's marks
    column: int


class Document:
    """One file being read: its lines, where each value was written, the problems found."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.text = text
        self.lines = text.splitlines()
        self.locations: dict[str, Location] = {}
        self.problems: list[Problem] = []
        self.bad_values: set[str] = set()  # paths of values converted to None after a problem
        self._anchors: dict[str, tuple[int, int]] = {}  # name -> (id of node, line)
        self._active: set[int] = set()  # nodes being converted, to find recursive aliases
        self._count = 0
        self._depth = 0  # lists and mappings being converted, one inside the other
        self._constructor = YAML(typ="safe", pure=True).constructor

    def location(self, mark: Any) -> Location:
        line, column = (mark.line, mark.column) if mark is not None else (0, 0)
        source = self.lines[line] if 0 <= line < len(self.lines) else None
        return Location(file=self.file, line=line + 1, column=column + 1, source_line=source)

    def add(self, path: str, message: str, *, key: bool = False) -> None:
        if path not in self.bad_values:  # one problem for a value that could not be read
            self.problems.append(located_problem(self.locations, path, message, key=key))

    def add_at(self, location: Location, path: str, message: str) -> None:
        self.problems.append(located_problem({path: location}, path, message))

    def bad_value(self, path: str, message: str) -> None:
        self.add(path, message)
        self.bad_values.add(path)

    def parse(self) -> Any:
        """The document as plain data (None when empty or unreadable)."""
        root = self._compose()
        if root is None:
            return None
        try:
            return self.value(root, "")
        except _TooLarge:
            self.add("", f"more than {_MAX_VALUES} values: is an alias used in a loop?")
            return None

    def _compose(self) -> Node | None:
        """The document's root node (None when empty, or after a problem)."""
        if (deep := too_deep(self.text)) is not None:
            self.add_at(self.location(deep), "", _TOO_DEEP)
            return None
        yaml = YAML(typ="rt")
        yaml.composer.warn_double_anchors = False  # reported as errors below
        try:
            root: Node | None = yaml.compose(self.text)
        except ReaderError as exc:  # a control character: located by its offset in the text
            before = self.text[: exc.position]
            mark = _Mark(before.count("\n"), len(before) - (before.rfind("\n") + 1))
            message = f"invalid YAML: character #x{exc.character:04x} is not allowed"
            self.add_at(self.location(mark), "", message)
            return None
        except YAMLError as exc:
            self.add_at(self.location(getattr(exc, "problem_mark", None)), "", _yaml_message(exc))
            return None
        except RecursionError:  # ruamel composes recursively; too_deep() needs libyaml
            self.add_at(self.location(None), "", _TOO_DEEP)
            return None
        return root

    def value(self, node: Node, path: str) -> Any:
        self._count += 1
        if self._count > _MAX_VALUES:
            raise _TooLarge
        self.locations[path] = self.location(node.start_mark)
        self._check_anchor(node, path)
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if id(node) in self._active:
            self.bad_value(path, "recursive alias: this value contains itself")
            return None
        expected = _CORE + ("seq" if isinstance(node, SequenceNode) else "map")
        if node.tag != expected:
            self._bad_tag(node, path)
            return None
        if self._depth >= MAX_DEPTH:
            self.bad_value(path, _TOO_DEEP)
            return None
        self._active.add(id(node))
        self._depth += 1
        try:
            if isinstance(node, SequenceNode):
                return [self.value(item, index_path(path, i)) for i, item in enumerate(node.value)]
            return self._mapping(node, path)
        finally:
            self._active.discard(id(node))
            self._depth -= 1

    def _check_anchor(self, node: Node, path: str) -> None:
        if node.anchor is None:
            return
        first = self._anchors.setdefault(node.anchor, (id(node), node.start_mark.line + 1))
        if first[0] != id(node):
            self.add(path, f"anchor '&{node.anchor}' defined again (first at line {first[1]})")
            self._anchors[node.anchor] = (id(node), node.start_mark.line + 1)

    def _bad_tag(self, node: Node, path: str) -> None:
        tag = str(node.tag).replace(_CORE, "!!")
        self.bad_value(
            path,
            f"YAML tag '{tag}' is not allowed: a runbook holds only strings, numbers, "
            "booleans, null, lists and mappings",
        )

    def _scalar(self, node: ScalarNode, path: str) -> Any:
        if node.tag == _CORE + "timestamp":
            return node.value
        if node.tag not in _SCALAR_TAGS:
            self._bad_tag(node, path)
            return None
        if node.style == ">":  # ruamel's composer marks where a folded scalar folds with \a
            node = ScalarNode(node.tag, node.value.replace("\a", ""), style=">")
        try:
            return self._constructor.construct_object(node, deep=True)
        except (YAMLError, ValueError, KeyError):  # KeyError: "!!bool maybe"
            tag = str(node.tag).replace(_CORE, "!!")
            self.bad_value(path, f"invalid {tag} value {node.value!r}")
            return None

    def _mapping(self, node: Node, path: str, into: dict[Any, Any] | None = None) -> dict[Any, Any]:
        """The mapping; with ``into`` (a ``<<`` merge), only keys ``into`` does not hold yet."""
        result: dict[Any, Any] = {} if into is None else into
        first_line: dict[Any, int] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _CORE + "merge":
                merges.append(value_node)
                continue
            key = self._key(key_node, path)
            where = self.location(key_node.start_mark)
            child = key_path(path, key)
            if key in first_line:
                message = f"duplicate key '{key}' (first at line {first_line[key]})"
                self.add_at(where, child, message)
            elif into is None or key not in result:
                self.locations[f"{child}:key"] = where
                result[key] = self.value(value_node, child)
            first_line.setdefault(key, where.line)
        for merged in merges:  # explicit keys win, then the first merged mapping
            sources = merged.value if isinstance(merged, SequenceNode) else [merged]
            if not all(isinstance(s, MappingNode) and id(s) not in self._active for s in sources):
                self.add_at(self.location(merged.start_mark), path, _BAD_MERGE)
                continue
            for source in sources:
                self._active.add(id(source))
                self._mapping(source, path, result)
                self._active.discard(id(source))
        return result

    def _key(self, node: Node, path: str) -> Any:
        if isinstance(node, ScalarNode) and node.tag in _SCALAR_TAGS:
            with contextlib.suppress(YAMLError, ValueError, KeyError):
                return self._constructor.construct_object(node, deep=True)
            return node.value
        self.add_at(self.location(node.start_mark), path, "a key must be a plain string or number")
        placeholder = f"<key at line {node.start_mark.line + 1}>"
        self.bad_values.add(key_path(path, placeholder))
        return placeholder


def plain_scalar(text: str) -> Any:
    """``text`` typed as the same text written unquoted as a runbook's value: ``3`` an integer,
    ``1.5`` a float, ``true`` a boolean, ``null`` or ``~`` None (YAML 1.2, so ``yes`` stays a
    string). Anything else is the text itself: no quotes, comments, tags, lists or mappings are
    read in it, and a date stays a string, as in runbooks."""
    safe = YAML(typ="safe", pure=True)
    tag = safe.resolver.resolve(ScalarNode, text, (True, False))
    if str(tag) not in _SCALAR_TAGS:
        return text
    try:
        return safe.constructor.construct_object(ScalarNode(tag, text), deep=True)
    except (YAMLError, ValueError):  # an integer of more than 4300 digits
        return text


def _yaml_message(exc: YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    if context and context_mark is not None:
        return f"invalid YAML: {problem} ({context} at line {context_mark.line + 1})"
    if context:
        return f"invalid YAML: {problem} ({context})"
    return f"invalid YAML: {problem}"
