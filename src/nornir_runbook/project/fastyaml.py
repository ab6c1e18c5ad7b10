"""YAML as Nornir's SimpleInventory reads it, at the speed of libyaml.

SimpleInventory reads its files with ruamel.yaml's safe loader: YAML 1.2 (``yes``, ``on`` and
``1:20`` are strings, ``0777`` is 777, ``1e3`` a float), duplicate keys refused unless the
mapping has a merge key (``<<``), anchors and aliases shared, not copied. It builds a tree of
nodes, then the values, several Python calls per node: 7 to 8 s for a 10,000-host file.

Here libyaml's parser (pyyaml's C ``CParser``; pyyaml's pure Python parser when libyaml is
missing) hands its events to one loop that builds the values at once, with ruamel's rules
(:mod:`.yamlscalars`): no node tree (half the peak memory), no resolver or constructor call per
value; about 10 times faster. Where they differ: pyyaml's libyaml (0.2.6 here) accepts a ``:``
inside a plain scalar of a flow list (``[1:20]``), which ruamel's older one refuses; and two
pieces of nonsense are refused where ruamel accepts them: a ``!!str`` (or any scalar tag) on a
mapping that holds a ``=`` key, and a merge of a ``!!set`` or of a mapping that contains the
merging one.

Collections nested deeper than :data:`~nornir_runbook.project.yamldepth.MAX_DEPTH` are refused
while they are read (every later step may recurse).
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import yaml
from yaml import events

from nornir_runbook.project.yamldepth import MAX_DEPTH, TOO_DEEP
from nornir_runbook.project.yamlscalars import (
    MAP,
    MERGE,
    RESOLVED,
    SCALAR,
    SEQ,
    TAG,
    Special,
    error,
    expected,
    plain,
    tagged,
)

# libyaml's parser, else (pyyaml built without libyaml) pyyaml's own, the same events
_Parser: Callable[[str], Any] = getattr(yaml, "CBaseLoader", yaml.BaseLoader)

_NO_KEY = object()


class _Open:
    """A mapping or sequence being read (or the document: a sequence of its one value)."""

    __slots__ = ("anchor", "duplicate", "items", "key", "key_mark", "kind", "mark", "merge", "tag")

    def __init__(self, kind: str, tag: str | None, anchor: str | None, mark: Any) -> None:
        self.kind = kind
        self.items: Any = {} if kind is MAP else []  # the dict or list the values go to
        self.tag = tag  # an explicit !!set, !!omap or !!pairs, else None
        self.anchor = anchor
        self.mark = mark
        self.key: Any = _NO_KEY  # a mapping's key waiting for its value
        self.key_mark: Any = None
        self.merge: list[tuple[Any, Any]] | None = None  # what `<<` brings, in ruamel's order
        self.duplicate: tuple[Any, Any] | None = None  # refused at the end, unless `<<` is there


def _start(event: Any, kind: str) -> _Open:
    tag = event.tag
    if tag is None or tag == "!" or tag == TAG + ("map" if kind is MAP else "seq"):
        tag = None
    elif not ((kind is MAP and tag == TAG + "set") or (kind is SEQ and tag in _PAIRS)):
        raise expected(tag, kind, event.start_mark)
    return _Open(kind, tag, event.anchor, event.start_mark)


_PAIRS = (TAG + "omap", TAG + "pairs")


def _finish(node: _Open) -> Any:
    """The value of a mapping or sequence whose end was read."""
    items = node.items
    if node.kind is MAP:
        if node.merge is not None:  # ruamel: the merged pairs first, then the mapping's own
            merged = dict(node.merge)
            merged.update(items)
            items.clear()
            items.update(merged)
        elif node.duplicate is not None:
            key, mark = node.duplicate
            raise error(f"duplicate key {key!r}", mark)
        return items if node.tag is None else set(items)
    if node.tag is None:
        return items
    pairs = []
    for item in items:
        if type(item) is not dict or len(item) != 1:
            raise error(f"expected a mapping of length 1 in {node.tag[len(TAG) :]}", node.mark)
        pairs.append(next(iter(item.items())))
    if node.tag.endswith("pairs"):
        return pairs
    from ruamel.yaml.compat import ordereddict  # noqa: PLC0415 -- rare

    if len({key for key, _ in pairs}) != len(pairs):
        raise error("found a duplicate key in an omap", node.mark)
    return ordereddict(pairs)


def _merged(value: Any, kind: str, mark: Any, stack: list[_Open]) -> list[tuple[Any, Any]]:
    """The pairs a ``<<`` brings: a mapping's, or those of a list of mappings (the first of the
    list wins, so it comes last)."""
    if kind is SEQ and isinstance(value, list):
        mappings = list(reversed(value))
        if not all(type(item) is dict for item in mappings):
            raise error("expected a mapping for merging", mark)
    elif kind is MAP and type(value) is dict:
        mappings = [value]
    else:
        raise error(f"expected a mapping or list of mappings for merging, but found {kind}", mark)
    if any(item is node.items for item in mappings for node in stack):
        raise error("a mapping cannot merge a mapping that contains it", mark)
    return [pair for item in mappings for pair in item.items()]


def _add(stack: list[_Open], value: Any, kind: str, mark: Any) -> None:
    """``value`` (read at ``mark``) into the innermost open collection: an item, a key, or a
    key's value."""
    parent = stack[-1]
    special = isinstance(value, Special)
    if parent.kind is SEQ or (parent.key is not _NO_KEY and parent.key is not MERGE):
        if special:  # `<<` or `=` anywhere but as a key
            raise error(f"could not determine a constructor for the tag {value.tag!r}", mark)
        if parent.kind is SEQ:
            parent.items.append(value)
            return
        if parent.duplicate is None and parent.key in parent.items:
            parent.duplicate = (parent.key, parent.key_mark)
        parent.items[parent.key] = value
        parent.key = _NO_KEY
    elif parent.key is MERGE:
        parent.merge = _merged(value, kind, mark, stack)
        parent.key = _NO_KEY
    elif special and value.tag == MERGE:
        if parent.merge is not None:
            raise error('found duplicate merge key "<<"', mark)
        parent.merge = []
        parent.key = MERGE
    else:
        if special:  # `=` as a key is the text itself
            value = value.text
        elif isinstance(value, list):  # as ruamel: lists are not hashable, tuples are
            value = tuple(value)
        try:
            hash(value)
        except TypeError:
            raise error("found unhashable key", mark) from None
        parent.key = value
        parent.key_mark = mark


class _Builder:
    """The values of one document, event by event. Plain scalars, the bulk of a file, take
    the short way: a mapping's string key, a key's value, a list's item."""

    def __init__(self) -> None:
        self.document = _Open(SEQ, None, None, None)  # its one value, once read
        self.stack = [self.document]
        self.anchors: dict[str, tuple[Any, str]] = {}
        self.aliased = False

    def scalar(self, event: Any) -> None:
        tag = event.tag
        if tag is not None and tag != "!":
            value = tagged(tag, event.value, event.start_mark)
        else:
            value = event.value
            if event.implicit[0] and value[:1] in RESOLVED:  # else a string, whatever it says
                value = plain(value, event.start_mark)
        if event.anchor is not None:
            self.anchor(event.anchor, value, SCALAR, event.start_mark)
        top = self.stack[-1]
        key = top.key
        if type(value) is Special or key is MERGE:
            _add(self.stack, value, SCALAR, event.start_mark)
        elif top.kind is SEQ:
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
            _add(self.stack, value, SCALAR, event.start_mark)

    def start(self, event: Any) -> None:
        if len(self.stack) > MAX_DEPTH:
            raise error(TOO_DEEP, event.start_mark)
        node = _start(event, MAP if type(event) is events.MappingStartEvent else SEQ)
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
            raise error(f"found undefined alias {event.anchor!r}", event.start_mark)
        value, kind = self.anchors[event.anchor]
        self.aliased = True
        _add(self.stack, value, kind, event.start_mark)

    def document_start(self, event: Any) -> None:
        if self.document.items:
            raise error("expected a single document in the stream", event.start_mark)

    def anchor(self, name: str, value: Any, kind: str, mark: Any) -> None:
        if name in self.anchors:
            raise error(f"found duplicate anchor {name!r}", mark)
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
        raise error(TOO_DEEP, exc.problem_mark) from None
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
