"""YAML as Nornir's SimpleInventory reads it, at the speed of libyaml.

SimpleInventory reads its files with ruamel.yaml's safe loader: YAML 1.2 (``yes``, ``on`` and
``1:20`` are strings, ``0777`` is 777, ``1e3`` a float), duplicate keys refused unless the
mapping has a merge key (``<<``), anchors and aliases shared, not copied. It builds a tree of
nodes, then the values, one Python call per node: 8 s for a 10,000-host file.

Here libyaml's parser (pyyaml's C ``CParser``; pyyaml's pure Python parser when libyaml is
missing) hands its events to one loop that builds the values at once, with ruamel's rules: no
node tree (half the peak memory), no resolver or constructor call per value. The YAML 1.2 rules
are ruamel's, regular expressions included. Two pieces of nonsense are refused where ruamel
accepts them: a ``!!str`` (or any scalar tag) on a mapping that holds a ``=`` key, and a merge
of a ``!!set`` or of a mapping that contains the merging one.

Collections nested deeper than :data:`~nornir_runbook.project.yamldepth.MAX_DEPTH` are refused
while they are read (every later step may recurse).
"""

from __future__ import annotations

import base64
import binascii
import gc
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import yaml
from yaml import events

from nornir_runbook.project.yamldepth import MAX_DEPTH, TOO_DEEP

# libyaml's parser, else (pyyaml built without libyaml) pyyaml's own, the same events
_Parser: Callable[[str], Any] = getattr(yaml, "CBaseLoader", yaml.BaseLoader)

_TAG = "tag:yaml.org,2002:"


class YAMLLoadError(yaml.MarkedYAMLError):
    """Bad YAML: ``problem`` says what, ``problem_mark`` (0-based line and column) where."""


def _error(problem: str, mark: Any) -> YAMLLoadError:
    return YAMLLoadError(problem=problem, problem_mark=mark)


class _Special:
    """A plain ``<<`` (merge) or ``=`` (value) key: meaningful as a mapping key only."""

    __slots__ = ("tag", "text")

    def __init__(self, tag: str, text: str) -> None:
        self.tag = tag
        self.text = text


_MERGE = _TAG + "merge"
_VALUE = _TAG + "value"

# -- scalars ------------------------------------------------------------------------------------
# ruamel.yaml's YAML 1.2 implicit resolvers (ruamel/yaml/resolver.py), in its order: a plain
# scalar takes the tag of the first that matches, tried by its first character.
_RESOLVERS: list[tuple[str, re.Pattern[str], tuple[str, ...]]] = [
    ("bool", re.compile("^(?:true|True|TRUE|false|False|FALSE)$"), tuple("tTfF")),
    (
        "float",
        re.compile(
            r"""^(?:
             [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
            |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
            |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
            |[-+]?\.(?:inf|Inf|INF)
            |\.(?:nan|NaN|NAN))$""",
            re.X,
        ),
        tuple("-+0123456789."),
    ),
    (
        "int",
        re.compile(
            r"""^(?:[-+]?0b[0-1_]+
            |[-+]?0o?[0-7_]+
            |[-+]?[0-9_]+
            |[-+]?0x[0-9a-fA-F_]+)$""",
            re.X,
        ),
        tuple("-+0123456789"),
    ),
    ("merge", re.compile("^(?:<<)$"), ("<",)),
    ("null", re.compile("^(?:~|null|Null|NULL|)$"), ("~", "n", "N", "")),
    (
        "timestamp",
        re.compile(
            r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
            |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
            (?:[Tt]|[ \t]+)[0-9][0-9]?
            :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
            (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
            re.X,
        ),
        tuple("0123456789"),
    ),
    ("value", re.compile("^(?:=)$"), ("=",)),
]
_BY_FIRST: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
for _name, _pattern, _firsts in _RESOLVERS:
    for _first in _firsts:
        _BY_FIRST.setdefault(_first, []).append((_TAG + _name, _pattern))


_RESOLVED = frozenset(_BY_FIRST)  # a plain scalar that starts otherwise is a string


def _int(text: str) -> int:
    """ruamel's ``construct_yaml_int`` for YAML 1.2."""
    digits = text.replace("_", "")
    sign = -1 if digits[0] == "-" else 1
    if digits[0] in "+-":
        digits = digits[1:]
    if digits == "0":
        return 0
    for prefix, base in (("0b", 2), ("0x", 16), ("0o", 8)):
        if digits.startswith(prefix):
            return sign * int(digits[2:], base)
    return sign * int(digits)


def _float(text: str) -> float:
    """ruamel's ``construct_yaml_float`` for YAML 1.2."""
    digits = text.replace("_", "").lower()
    sign = -1 if digits[0] == "-" else 1
    if digits[0] in "+-":
        digits = digits[1:]
    if digits == ".inf":
        return sign * float("inf")
    if digits == ".nan":
        return float("nan")
    return sign * float(digits)


def _bool(text: str) -> bool:
    # ruamel's table: an explicit !!bool takes YAML 1.1's words too
    words = {"yes": True, "no": False, "y": True, "n": False, "on": True, "off": False}
    return {"true": True, "false": False, **words}[text.lower()]


def _timestamp(text: str) -> Any:
    from ruamel.yaml.util import create_timestamp, timestamp_regexp  # noqa: PLC0415 -- rare

    match = timestamp_regexp.match(text)
    if match is None:
        raise ValueError(f'failed to construct timestamp from "{text}"')
    return create_timestamp(**match.groupdict())


def _binary(text: str) -> bytes:
    try:
        return base64.decodebytes(text.encode("ascii"))
    except UnicodeEncodeError as exc:
        raise ValueError(f"failed to convert base64 data into ascii: {exc}") from None
    except binascii.Error as exc:
        raise ValueError(f"failed to decode base64 data: {exc}") from None


_SCALARS: dict[str, Callable[[str], Any]] = {
    _TAG + "str": str,
    _TAG + "int": _int,
    _TAG + "float": _float,
    _TAG + "bool": _bool,
    _TAG + "null": lambda _text: None,
    _TAG + "timestamp": _timestamp,
    _TAG + "binary": _binary,
    _MERGE: lambda text: _Special(_MERGE, text),
    _VALUE: lambda text: _Special(_VALUE, text),
}
_COLLECTIONS = {_TAG + name for name in ("map", "seq", "set", "omap", "pairs")}


def _plain(text: str) -> Any:
    """A plain (unquoted, untagged) scalar's value, as ruamel resolves and builds it."""
    for tag, pattern in _BY_FIRST.get(text[:1], ()):
        if pattern.match(text):
            return _SCALARS[tag](text)
    return text


def _tagged(tag: str, text: str, mark: Any) -> Any:
    build = _SCALARS.get(tag)
    if build is None:
        raise _expected(tag, _SCALAR, mark)
    try:
        return build(text)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError):
        # never the text itself, nor the exception's words about it: it may be a password
        raise _error(f"not a valid {tag.replace(_TAG, '!!')} value", mark) from None


# -- collections --------------------------------------------------------------------------------
_NO_KEY = object()
_MAP, _SEQ, _SCALAR = "mapping", "sequence", "scalar"
_KINDS = {_TAG + "map": _MAP, _TAG + "set": _MAP, _TAG + "seq": _SEQ}


def _expected(tag: str, found: str, mark: Any) -> YAMLLoadError:
    """A tag on the wrong kind of value (``!!int {}``), or a tag nobody knows (``!foo``)."""
    if tag in _SCALARS or tag in _COLLECTIONS:
        kind = _SCALAR if tag in _SCALARS else _KINDS.get(tag, _SEQ)
        return _error(f"expected a {kind} node, but found {found}", mark)
    return _error(f"could not determine a constructor for the tag {tag!r}", mark)


class _Open:
    """A mapping or sequence being read (or the document: a sequence of its one value)."""

    __slots__ = ("anchor", "duplicate", "items", "key", "key_mark", "kind", "mark", "merge", "tag")

    def __init__(self, kind: str, tag: str | None, anchor: str | None, mark: Any) -> None:
        self.kind = kind
        self.items: Any = {} if kind is _MAP else []  # the dict or list the values go to
        self.tag = tag  # an explicit !!set, !!omap or !!pairs, else None
        self.anchor = anchor
        self.mark = mark
        self.key: Any = _NO_KEY  # a mapping's key waiting for its value
        self.key_mark: Any = None
        self.merge: list[tuple[Any, Any]] | None = None  # what `<<` brings, in ruamel's order
        self.duplicate: tuple[Any, Any] | None = None  # refused at the end, unless `<<` is there


def _start(event: Any, kind: str) -> _Open:
    tag = event.tag
    if tag is None or tag == "!" or tag == _TAG + ("map" if kind is _MAP else "seq"):
        tag = None
    elif not ((kind is _MAP and tag == _TAG + "set") or (kind is _SEQ and tag in _PAIRS)):
        raise _expected(tag, kind, event.start_mark)
    return _Open(kind, tag, event.anchor, event.start_mark)


_PAIRS = (_TAG + "omap", _TAG + "pairs")


def _finish(node: _Open) -> Any:
    """The value of a mapping or sequence whose end was read."""
    items = node.items
    if node.kind is _MAP:
        if node.merge is not None:  # ruamel: the merged pairs first, then the mapping's own
            merged = dict(node.merge)
            merged.update(items)
            items.clear()
            items.update(merged)
        elif node.duplicate is not None:
            key, mark = node.duplicate
            raise _error(f"duplicate key {key!r}", mark)
        return items if node.tag is None else set(items)
    if node.tag is None:
        return items
    pairs = []
    for item in items:
        if type(item) is not dict or len(item) != 1:
            raise _error(f"expected a mapping of length 1 in {node.tag[len(_TAG) :]}", node.mark)
        pairs.append(next(iter(item.items())))
    if node.tag.endswith("pairs"):
        return pairs
    from ruamel.yaml.compat import ordereddict  # noqa: PLC0415 -- rare

    if len({key for key, _ in pairs}) != len(pairs):
        raise _error("found a duplicate key in an omap", node.mark)
    return ordereddict(pairs)


def _merged(value: Any, kind: str, mark: Any, stack: list[_Open]) -> list[tuple[Any, Any]]:
    """The pairs a ``<<`` brings: a mapping's, or those of a list of mappings (the first of the
    list wins, so it comes last)."""
    if kind is _SEQ and isinstance(value, list):
        mappings = list(reversed(value))
        if not all(type(item) is dict for item in mappings):
            raise _error("expected a mapping for merging", mark)
    elif kind is _MAP and type(value) is dict:
        mappings = [value]
    else:
        raise _error(f"expected a mapping or list of mappings for merging, but found {kind}", mark)
    if any(item is node.items for item in mappings for node in stack):
        raise _error("a mapping cannot merge a mapping that contains it", mark)
    return [pair for item in mappings for pair in item.items()]


def _add(stack: list[_Open], value: Any, kind: str, mark: Any) -> None:
    """``value`` (read at ``mark``) into the innermost open collection: an item, a key, or a
    key's value."""
    parent = stack[-1]
    special = isinstance(value, _Special)
    if parent.kind is _SEQ or (parent.key is not _NO_KEY and parent.key is not _MERGE):
        if special:  # `<<` or `=` anywhere but as a key
            raise _error(f"could not determine a constructor for the tag {value.tag!r}", mark)
        if parent.kind is _SEQ:
            parent.items.append(value)
            return
        if parent.duplicate is None and parent.key in parent.items:
            parent.duplicate = (parent.key, parent.key_mark)
        parent.items[parent.key] = value
        parent.key = _NO_KEY
    elif parent.key is _MERGE:
        parent.merge = _merged(value, kind, mark, stack)
        parent.key = _NO_KEY
    elif special and value.tag == _MERGE:
        if parent.merge is not None:
            raise _error('found duplicate merge key "<<"', mark)
        parent.merge = []
        parent.key = _MERGE
    else:
        if special:  # `=` as a key is the text itself
            value = value.text
        elif isinstance(value, list):  # as ruamel: lists are not hashable, tuples are
            value = tuple(value)
        try:
            hash(value)
        except TypeError:
            raise _error("found unhashable key", mark) from None
        parent.key = value
        parent.key_mark = mark


class _Builder:
    """The values of one document, event by event. Plain scalars, the bulk of a file, take
    the short way: a mapping's string key, a key's value, a list's item."""

    def __init__(self) -> None:
        self.document = _Open(_SEQ, None, None, None)  # its one value, once read
        self.stack = [self.document]
        self.anchors: dict[str, tuple[Any, str]] = {}
        self.aliased = False

    def scalar(self, event: Any) -> None:
        tag = event.tag
        if tag is not None and tag != "!":
            value = _tagged(tag, event.value, event.start_mark)
        else:
            value = event.value
            if event.implicit[0] and value[:1] in _RESOLVED:  # else a string, whatever it says
                value = _plain(value)
        if event.anchor is not None:
            self.anchor(event.anchor, value, _SCALAR, event.start_mark)
        top = self.stack[-1]
        key = top.key
        if type(value) is _Special or key is _MERGE:
            _add(self.stack, value, _SCALAR, event.start_mark)
        elif top.kind is _SEQ:
            top.items.append(value)
        elif key is not _NO_KEY:
            items = top.items
            if top.duplicate is None and key in items:
                top.duplicate = (key, top.key_mark)
            items[key] = value
            top.key = _NO_KEY
        elif type(value) is str:
            top.key = sys.intern(value)  # the same keys in every host: one string each
            top.key_mark = event.start_mark
        else:
            _add(self.stack, value, _SCALAR, event.start_mark)

    def start(self, event: Any) -> None:
        if len(self.stack) > MAX_DEPTH:
            raise _error(TOO_DEEP, event.start_mark)
        node = _start(event, _MAP if type(event) is events.MappingStartEvent else _SEQ)
        if node.anchor is not None:
            self.anchor(node.anchor, node.items, node.kind, node.mark)
        self.stack.append(node)

    def end(self, _event: Any) -> None:
        node = self.stack.pop()
        value = _finish(node)
        if node.anchor is not None:
            self.anchors[node.anchor] = (value, node.kind)  # a !!set is a set only now
        _add(self.stack, value, node.kind, node.mark)

    def alias(self, event: Any) -> None:
        if event.anchor not in self.anchors:
            raise _error(f"found undefined alias {event.anchor!r}", event.start_mark)
        value, kind = self.anchors[event.anchor]
        self.aliased = True
        _add(self.stack, value, kind, event.start_mark)

    def document_start(self, event: Any) -> None:
        if self.document.items:
            raise _error("expected a single document in the stream", event.start_mark)

    def anchor(self, name: str, value: Any, kind: str, mark: Any) -> None:
        if name in self.anchors:
            raise _error(f"found duplicate anchor {name!r}", mark)
        self.anchors[name] = (value, kind)


def load(text: str) -> Any:
    """The value of ``text``'s one document (None if it has none); YAMLError on bad YAML."""
    return parse(text)[0]


def parse(text: str) -> tuple[Any, bool]:
    """:func:`load`, and whether ``text`` has an alias: without one, no value is in two places,
    so none can contain itself or stand for more than the text holds (an alias bomb)."""
    parser = _Parser(text)
    builder = _Builder()
    handlers: dict[type, Callable[[Any], None]] = {
        events.ScalarEvent: builder.scalar,
        events.MappingStartEvent: builder.start,
        events.SequenceStartEvent: builder.start,
        events.MappingEndEvent: builder.end,
        events.SequenceEndEvent: builder.end,
        events.AliasEvent: builder.alias,
        events.DocumentStartEvent: builder.document_start,
    }
    skip = _skip
    try:
        while type(event := parser.get_event()) is not events.StreamEndEvent:
            handlers.get(type(event), skip)(event)
    except yaml.MarkedYAMLError as exc:  # libyaml's own limit, met while it looks ahead
        if "nesting depth" not in str(exc.problem):
            raise
        raise _error(TOO_DEEP, exc.problem_mark) from None
    finally:
        parser.dispose()
    items = builder.document.items
    return (items[0] if items else None), builder.aliased


def _skip(_event: Any) -> None:
    """Stream start, document end: nothing to build."""


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a big inventory is built: it would walk
    every object built so far, again and again (twice the loading time at 10,000 hosts), to
    find no garbage."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
